package onnx

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// onode is one node being converted.
type onode struct {
	p     *onnxpb.NodeProto
	name  string // display and layer name
	op    string
	attrs map[string]*onnxpb.AttributeProto
	ins   []*oval // nil for an absent optional input
	// ready is false when an input is unknown or was made by a failed
	// node: the operator then only checks its attributes.
	ready bool
	why   []string
}

func (n *onode) failf(format string, a ...any) { n.why = append(n.why, fmt.Sprintf(format, a...)) }

// blocked reports that the operator must stop after reading its
// attributes: an input is not ready or a problem is already recorded.
func (n *onode) blocked() bool { return !n.ready || len(n.why) > 0 }

func (n *onode) attr(name string, want onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
	a := n.attrs[name]
	if a == nil {
		return nil
	}
	if t := a.GetType(); t != want && t != onnxpb.AttributeProto_UNDEFINED {
		n.failf("attribute %q has type %s, want %s", name, t, want)
		return nil
	}
	return a
}

func (n *onode) attrInt(name string, def int64) int64 {
	if a := n.attr(name, onnxpb.AttributeProto_INT); a != nil {
		return a.GetI()
	}
	return def
}

func (n *onode) attrFloat(name string, def float32) float32 {
	if a := n.attr(name, onnxpb.AttributeProto_FLOAT); a != nil {
		return a.GetF()
	}
	return def
}

func (n *onode) attrString(name, def string) string {
	if a := n.attr(name, onnxpb.AttributeProto_STRING); a != nil {
		return string(a.GetS())
	}
	return def
}

// attrInts returns an INTS attribute (nil when absent) as ints within
// ±onnxMaxDim... except for axes-like values, which are small anyway.
func (n *onode) attrInts(name string) []int {
	a := n.attr(name, onnxpb.AttributeProto_INTS)
	if a == nil {
		return nil
	}
	out := make([]int, len(a.GetInts()))
	for i, v := range a.GetInts() {
		if v < -onnxMaxDim || v > onnxMaxDim {
			n.failf("attribute %q value %d is out of range", name, v)
			return nil
		}
		out[i] = int(v)
	}
	if out == nil {
		out = []int{}
	}
	return out
}

func (n *onode) in(i int) *oval {
	if i < len(n.ins) {
		return n.ins[i]
	}
	return nil
}

func (n *onode) inName(i int) string {
	if i < len(n.p.GetInput()) {
		return n.p.GetInput()[i]
	}
	return ""
}

// actIn returns input i as an activation. Only a Conv (allowPad) may read
// the output of a Pad node.
func (b *onnxImporter) actIn(n *onode, i int, allowPad bool) *oact {
	v := n.in(i)
	switch {
	case v == nil:
		n.failf("input %d is missing", i)
		return nil
	case v.c != nil:
		n.failf("input %d (%q) is a constant; nnq layers compute on activations (fold the operation into the constant offline)", i, n.inName(i))
		return nil
	case v.a.pads != nil && !allowPad:
		n.failf("reads the output of Pad node %q: only a Conv can absorb zero padding (into its pads); CMSIS-NN has no pad layer", v.a.padNode)
		return nil
	case v.a.view != nil:
		n.failf("%s", v.a.viewProblem(i, n.inName(i)))
		return nil
	}
	return v.a
}

// viewIn is actIn for the reshapes, which may also read a sequence view.
func (b *onnxImporter) viewIn(n *onode, i int) *oact {
	if v := n.in(i); v != nil && v.a != nil && v.a.view != nil {
		return v.a
	}
	return b.actIn(n, i, false)
}

// constIn returns input i as a constant.
func (b *onnxImporter) constIn(n *onode, i int, what string) *ctensor {
	v := n.in(i)
	switch {
	case v == nil:
		n.failf("%s (input %d) is missing", what, i)
		return nil
	case v.a != nil:
		n.failf("%s (input %d, %q) must be a constant (an initializer or Constant node), not an activation", what, i, n.inName(i))
		return nil
	}
	return v.c
}

func constVal(t *ctensor) []*oval { return []*oval{{c: t}} }

func actVal(a *oact) []*oval {
	if a == nil {
		return nil
	}
	return []*oval{{a: a}}
}

// alias is x seen with another ONNX shape.
func alias(x *oact, dims []int) *oact {
	c := *x
	c.dims = append([]int(nil), dims...)
	return &c
}

// spend charges a folded constant against the budget.
func (b *onnxImporter) spend(n *onode, t *ctensor) []*oval {
	b.budget -= t.size()
	if b.budget < 0 {
		n.failf("constant folding produces too many values")
		return nil
	}
	return constVal(t)
}

func need4D(n *onode, x *oact) bool {
	if len(x.dims) != 4 {
		n.failf("needs an [N,C,H,W] feature map, got shape %v", x.dims)
		return false
	}
	return true
}

// vectorIn returns input i as a vector activation ([1,N] or [N]).
func (b *onnxImporter) vectorIn(n *onode, i int) *oact {
	x := b.actIn(n, i, false)
	if x == nil {
		return nil
	}
	if x.act.Spatial() || len(x.dims) > 2 || (len(x.dims) == 2 && x.dims[0] != 1) {
		n.failf("needs a [1,N] vector input, got shape %v (flatten it first)", x.dims)
		return nil
	}
	return x
}

// dims is the ONNX shape of a value.
func (v *oval) dims() []int {
	switch {
	case v.c != nil:
		return v.c.dims
	case v.stack != nil:
		return v.stack.dims
	}
	return v.a.dims
}

// intsArg returns an integer list given by attribute attr (older opsets)
// or by constant input i (newer ones). When neither is there it returns
// nil, or fails if the list is required.
func (b *onnxImporter) intsArg(n *onode, attr []int, i int, what string, required bool) ([]int, bool) {
	if attr != nil {
		return attr, true
	}
	if n.in(i) == nil && !required {
		return nil, true
	}
	t := b.constIn(n, i, what)
	if t == nil {
		return nil, false
	}
	return n.ints(t, what)
}

// ints reads constant t as integers; what names it in the failure.
func (n *onode) ints(t *ctensor, what string) ([]int, bool) {
	v, err := t.ints()
	if err != nil {
		n.failf("%s: %v", what, err)
		return nil, false
	}
	return v, true
}

// axis normalizes an axis attribute for a value of shape dims (end allows
// the axis after the last, as Flatten does).
func (n *onode) axis(axis int64, dims []int, end bool) (int, bool) {
	r := int64(len(dims))
	if axis < -r || axis > r || (axis == r && !end) {
		n.failf("axis %d is out of range for shape %v", axis, dims)
		return 0, false
	}
	if axis < 0 {
		axis += r
	}
	return int(axis), true
}

// first returns input 0, failing when it is missing.
func (n *onode) first() *oval {
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
	}
	return v
}

// optConstIn returns optional input i as a constant (nil when absent).
func (b *onnxImporter) optConstIn(n *onode, i int, what string) *ctensor {
	if n.in(i) == nil {
		return nil
	}
	return b.constIn(n, i, what)
}

// folded returns the constant a folding step made, or records its error.
func (b *onnxImporter) folded(n *onode, t *ctensor, err error) []*oval {
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.spend(n, t)
}

// layer starts the nnq layer of node n, named after it (plus suffix).
func (b *onnxImporter) layer(n *onode, suffix string, op nnq.Op, attrs nnq.Attrs) *nnq.Layer {
	return &nnq.Layer{Name: b.layerName(n, suffix), Op: op, Attrs: attrs}
}

// param stores a parameter tensor of layer l for role, named hint (an
// initializer's name) when that is free, else <layer>.<role>.
func (b *onnxImporter) param(l *nnq.Layer, role, hint string, dims []int, data []float32) {
	if l.Params == nil {
		l.Params = map[string]string{}
	}
	l.Params[role] = b.tensor(hint, l.Name+"."+role, dims, data)
}

// dropParams removes the tensors of a layer that is not emitted.
func (b *onnxImporter) dropParams(l *nnq.Layer) {
	for _, t := range l.Params {
		delete(b.m.Tensors, t)
	}
}

// emitSame is emit for a layer whose output keeps the ONNX shape of its
// first input.
func (b *onnxImporter) emitSame(n *onode, l *nnq.Layer, ins ...*oact) *oact {
	out := b.emit(n, l, ins...)
	if out != nil {
		out.dims = append([]int(nil), ins[0].dims...)
	}
	return out
}

// constInputs returns every present input as a constant, or fails naming
// what the operator would do to an activation.
func (b *onnxImporter) constInputs(n *onode, onAct string) []*ctensor {
	out := make([]*ctensor, len(n.ins))
	for i, v := range n.ins {
		if v == nil {
			continue
		}
		if v.a != nil {
			n.failf("%s", onAct)
			return nil
		}
		out[i] = v.c
	}
	return out
}
