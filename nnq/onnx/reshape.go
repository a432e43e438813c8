package onnx

import (
	"slices"

	"github.com/nnq-toolkit/nnq/nnq"
)

// view maps a reshape of activation x to ONNX shape target: a no-op, or a
// flatten to a vector.
func (b *onnxImporter) view(n *onode, x *oact, target []int) []*oval {
	if b.seqViews(n, x) {
		return actVal(b.reshapeView(n, x, target))
	}
	if slices.Equal(target, x.dims) {
		return actVal(x)
	}
	vector := len(target) >= 1
	for _, d := range target[:max(len(target)-1, 0)] {
		if d != 1 {
			vector = false
		}
	}
	if len(target) > 2 {
		vector = false
	}
	if !vector {
		n.failf("reshape from %v to %v moves elements between axes; only flattening to a [1,N] vector (or a no-op) maps onto CMSIS-NN's HWC layout", x.dims, target)
		return nil
	}
	if !x.act.Spatial() {
		return actVal(alias(x, target))
	}
	out := b.emit(n, b.layer(n, "", nnq.OpFlatten, nnq.Attrs{}), x)
	if out != nil {
		out.dims = append([]int(nil), target...)
	}
	return actVal(out)
}

// reshaped is value v seen with ONNX shape target: a constant with new
// dims, or a view of an activation.
func (b *onnxImporter) reshaped(n *onode, v *oval, target []int) []*oval {
	if v.c != nil {
		t := *v.c
		t.dims = target
		return constVal(&t)
	}
	x := b.viewIn(n, 0)
	if x == nil {
		return nil
	}
	return b.view(n, x, target)
}

func onnxFlatten(b *onnxImporter, n *onode) []*oval {
	axis := n.attrInt("axis", 1)
	if n.blocked() {
		return nil
	}
	v := n.first()
	if v == nil {
		return nil
	}
	dims := v.dims()
	a, ok := n.axis(axis, dims, true)
	if !ok {
		return nil
	}
	outer, inner := 1, 1
	for i, d := range dims {
		if i < a {
			outer *= d
		} else {
			inner *= d
		}
	}
	if v.c == nil && outer != 1 && (v.a == nil || !b.seqViews(n, v.a)) {
		n.failf("flattening %v at axis %d gives [%d,%d]: only flattening everything after the batch maps onto CMSIS-NN", dims, axis, outer, inner)
		return nil
	}
	return b.reshaped(n, v, []int{outer, inner})
}

func onnxReshape(b *onnxImporter, n *onode) []*oval {
	shapeAttr := n.attrInts("shape")
	allowzero := n.attrInt("allowzero", 0) != 0
	if n.blocked() {
		return nil
	}
	v := n.first()
	if v == nil {
		return nil
	}
	shape, ok := b.intsArg(n, shapeAttr, 1, "shape", true)
	if !ok {
		return nil
	}
	target, err := reshapeTarget(v.dims(), shape, allowzero)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.reshaped(n, v, target)
}

// onnxSqueeze maps Squeeze and Unsqueeze.
func onnxSqueeze(unsqueeze bool) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		attr := n.attrInts("axes")
		if n.blocked() {
			return nil
		}
		v := n.first()
		if v == nil {
			return nil
		}
		axes, ok := b.intsArg(n, attr, 1, "axes", false)
		if !ok {
			return nil
		}
		squeeze := squeezeDims
		if unsqueeze {
			squeeze = unsqueezeDims
		}
		target, err := squeeze(v.dims(), axes)
		if err != nil {
			n.failf("%v", err)
			return nil
		}
		return b.reshaped(n, v, target)
	}
}

func onnxDropout(b *onnxImporter, n *onode) []*oval {
	n.attrFloat("ratio", 0.5)
	n.attrInt("seed", 0)
	n.attrInt("is_test", 0)
	if n.blocked() {
		return nil
	}
	if n.in(2) != nil {
		t := b.constIn(n, 2, "training_mode")
		if t == nil {
			return nil
		}
		if _, zero := t.allZero(); !zero {
			n.failf("training_mode is true: export the model in eval mode")
			return nil
		}
	}
	return onnxIdentity(b, n)
}

func onnxIdentity(b *onnxImporter, n *onode) []*oval {
	if n.blocked() {
		return nil
	}
	if v := n.first(); v != nil {
		return []*oval{v}
	}
	return nil
}

func onnxPad(b *onnxImporter, n *onode) []*oval {
	mode := n.attrString("mode", "constant")
	padsAttr := n.attrInts("pads")
	value := n.attrFloat("value", 0)
	if mode != "constant" {
		n.failf("mode %q: only zero (constant) padding folds into CMSIS-NN convolutions", mode)
	}
	if value != 0 {
		n.failf("padding value %v: only zero padding folds into CMSIS-NN convolutions", value)
	}
	if n.blocked() {
		return nil
	}
	x := b.actIn(n, 0, true)
	if x == nil {
		return nil
	}
	pads, ok := b.intsArg(n, padsAttr, 1, "pads", true)
	if !ok {
		return nil
	}
	if n.in(2) != nil {
		t := b.constIn(n, 2, "constant_value")
		if t == nil {
			return nil
		}
		if v, zero := t.allZero(); !zero {
			n.failf("padding value %v: only zero padding folds into CMSIS-NN convolutions", v)
			return nil
		}
	}
	if n.in(3) != nil {
		if pads, ok = b.padAxes(n, pads, len(x.dims)); !ok {
			return nil
		}
	}
	if !spatialPads(n, pads, x.dims) {
		return nil
	}
	t, l, bo, ri := pads[2], pads[3], pads[6], pads[7]
	if t|l|bo|ri == 0 {
		return actVal(x)
	}
	out := alias(x, []int{1, x.dims[1], x.dims[2] + t + bo, x.dims[3] + l + ri})
	prev := []int{0, 0, 0, 0}
	if x.pads != nil {
		prev = x.pads
	}
	out.pads = []int{prev[0] + t, prev[1] + l, prev[2] + bo, prev[3] + ri}
	out.padNode = n.name
	return actVal(out)
}

// padAxes expands the pads of the axes Pad names (input 3, opset 18) to
// all r axes.
func (b *onnxImporter) padAxes(n *onode, pads []int, r int) ([]int, bool) {
	axes, ok := b.intsArg(n, nil, 3, "axes", false)
	if !ok {
		return nil, false
	}
	if len(pads) != 2*len(axes) {
		n.failf("pads %v do not fit axes %v", pads, axes)
		return nil, false
	}
	full := make([]int, 2*r)
	for i, a := range axes {
		a, err := normAxis(a, r)
		if err != nil {
			n.failf("axes: %v", err)
			return nil, false
		}
		full[a], full[a+r] = pads[i], pads[i+len(axes)]
	}
	return full, true
}

// spatialPads accepts the ONNX pads [x1_begin..x4_begin, x1_end..x4_end]
// of a [N,C,H,W] map that pad H and W only, by non-negative amounts.
func spatialPads(n *onode, pads, dims []int) bool {
	if len(dims) != 4 || len(pads) != 8 {
		n.failf("pads %v of a %v tensor: only spatial zero padding of an [N,C,H,W] map folds into a following Conv", pads, dims)
		return false
	}
	for _, p := range pads {
		if p < 0 || p > onnxMaxDim {
			n.failf("pads %v: negative padding (cropping) has no CMSIS-NN equivalent", pads)
			return false
		}
	}
	if pads[0]|pads[1]|pads[4]|pads[5] != 0 {
		n.failf("pads %v pad the batch or channel axis; only spatial padding folds into a following Conv", pads)
		return false
	}
	return true
}
