package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/nnq-toolkit/nnq/nnq"
)

// perChannel reads a constant broadcast against activation dims as one
// value per channel (axis 1, or axis 0 of a batchless vector).
func perChannel(k *ctensor, dims []int) ([]float64, error) {
	if len(k.dims) > len(dims) {
		return nil, fmt.Errorf("constant of shape %v has more dimensions than the activation %v", k.dims, dims)
	}
	ch := 1
	if len(dims) == 1 {
		ch = 0
	}
	off := len(dims) - len(k.dims)
	for j, d := range k.dims {
		ax := j + off
		if d == 1 {
			continue
		}
		if d != dims[ax] {
			return nil, fmt.Errorf("constant of shape %v does not broadcast to the activation %v", k.dims, dims)
		}
		if ax != ch {
			return nil, fmt.Errorf("constant of shape %v varies along axis %d of the activation %v: only per-channel constants fold into CMSIS-NN layers", k.dims, ax, dims)
		}
	}
	C := dims[ch]
	out := make([]float64, C)
	for c := range out {
		if len(k.v) == 1 {
			out[c] = k.v[0]
		} else {
			out[c] = k.v[c]
		}
	}
	return out, nil
}

// onnxBinary maps Add, Sub, Mul and Div: folded over two constants, an
// add/mul layer over two activations, a per-channel affine otherwise.
func onnxBinary(kind string) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		n.attrInt("broadcast", 0)
		n.attrInt("axis", 0)
		if n.blocked() {
			return nil
		}
		p, q := n.in(0), n.in(1)
		switch {
		case p == nil || q == nil:
			n.failf("needs two inputs")
			return nil
		case p.c != nil && q.c != nil:
			t, err := binaryConst(p.c, q.c, constArith(kind, p.c.isInt()))
			return b.folded(n, t, err)
		case p.a != nil && q.a != nil:
			return actVal(b.binaryActs(n, kind))
		}
		return actVal(b.binaryAffine(n, kind, p.c == nil))
	}
}

// constArith is the arithmetic of kind on constants (integer division
// truncates).
func constArith(kind string, ints bool) func(x, y float64) float64 {
	return map[string]func(x, y float64) float64{
		"Add": func(x, y float64) float64 { return x + y },
		"Sub": func(x, y float64) float64 { return x - y },
		"Mul": func(x, y float64) float64 { return x * y },
		"Div": func(x, y float64) float64 {
			if ints && y != 0 {
				return math.Trunc(x / y)
			}
			return x / y
		},
	}[kind]
}

// binaryActs maps an Add or Mul of two activations of the same shape.
func (b *onnxImporter) binaryActs(n *onode, kind string) *oact {
	x, y := b.actIn(n, 0, false), b.actIn(n, 1, false)
	if x == nil || y == nil {
		return nil
	}
	op := map[string]nnq.Op{"Add": nnq.OpAdd, "Mul": nnq.OpMul}[kind]
	if op == "" {
		n.failf("%s of two activations: CMSIS-NN has no element-wise %s; rewrite it with add/mul (e.g. add a branch whose last layer has negated weights)", kind, map[string]string{"Sub": "subtract", "Div": "division"}[kind])
		return nil
	}
	if !slices.Equal(x.dims, y.dims) {
		n.failf("inputs have shapes %v and %v: nnq's %s takes two activations of the same shape (no broadcasting)", x.dims, y.dims, op)
		return nil
	}
	return b.emitSame(n, b.layer(n, "", op, nnq.Attrs{}), x, y)
}

// binaryAffine maps an activation combined with a per-channel constant
// (the activation first when actFirst) onto y = x*s + a.
func (b *onnxImporter) binaryAffine(n *onode, kind string, actFirst bool) *oact {
	xi, ki := 0, 1
	if !actFirst {
		xi, ki = 1, 0
	}
	x := b.actIn(n, xi, false)
	if x == nil {
		return nil
	}
	v, err := perChannel(n.in(ki).c, x.dims)
	if err != nil {
		n.failf("%v; nnq's %s takes two activations", err, map[string]string{"Add": "add", "Sub": "add", "Mul": "mul", "Div": "mul"}[kind])
		return nil
	}
	s, a := make([]float64, len(v)), make([]float64, len(v))
	for c := range v {
		s[c] = 1
		switch {
		case kind == "Add":
			a[c] = v[c]
		case kind == "Sub" && actFirst:
			a[c] = -v[c]
		case kind == "Sub":
			s[c], a[c] = -1, v[c]
		case kind == "Mul":
			s[c] = v[c]
		case kind == "Div" && actFirst && v[c] == 0:
			n.failf("division by a zero constant")
			return nil
		case kind == "Div" && actFirst:
			s[c] = 1 / v[c]
		default:
			n.failf("dividing a constant by an activation has no CMSIS-NN kernel")
			return nil
		}
	}
	return b.affine(n, x, s, a)
}

// affine applies y = x*s + a per channel: folded into the conv, depthwise,
// dense or batchnorm layer that makes x when nothing else reads it, else a
// 1x1 depthwise convolution on a feature map.
func (b *onnxImporter) affine(n *onode, x *oact, s, a []float64) *oact {
	if l := b.foldTarget(x); l != nil {
		switch l.Op {
		case nnq.OpBatchNorm:
			g, be := b.m.Param(l, "gamma"), b.m.Param(l, "beta")
			for c := range s {
				g.Data[c] = float32(float64(g.Data[c]) * s[c])
				be.Data[c] = float32(float64(be.Data[c])*s[c] + a[c])
			}
		default:
			w := b.m.Param(l, "weight")
			scaleRows(w.Data, w.Shape[0], s)
			bias := b.m.Param(l, "bias")
			if bias == nil {
				b.param(l, "bias", "", []int{len(s)}, make([]float32, len(s)))
				bias = b.m.Param(l, "bias")
			}
			for c := range s {
				bias.Data[c] = float32(float64(bias.Data[c])*s[c] + a[c])
			}
		}
		return x
	}
	if !x.act.Spatial() {
		n.failf("a per-channel constant on a vector that no dense layer makes: CMSIS-NN has no such kernel; fold it into the neighbouring dense layer offline")
		return nil
	}
	C := len(s)
	w, bias := make([]float32, C), make([]float32, C)
	for c := range s {
		w[c], bias[c] = float32(s[c]), float32(a[c])
	}
	l := b.layer(n, "", nnq.OpDepthwiseConv2D, nnq.Attrs{Kernel: []int{1, 1}})
	b.param(l, "weight", "", []int{C, 1, 1, 1}, w)
	b.param(l, "bias", "", []int{C}, bias)
	return b.emitSame(n, l, x)
}

// foldTarget returns the layer making x when a per-channel affine can be
// folded into it: a conv, depthwise, dense or batchnorm layer whose output
// only this node reads.
func (b *onnxImporter) foldTarget(x *oact) *nnq.Layer {
	l := b.m.Layer(x.name)
	if l == nil {
		return nil
	}
	switch l.Op {
	case nnq.OpConv2D, nnq.OpDepthwiseConv2D, nnq.OpDense, nnq.OpBatchNorm:
	default:
		return nil
	}
	if b.readers(x.name) != 1 {
		return nil
	}
	return l
}

// scaleRows multiplies row k of data (rows rows of equal length: the
// output channels of a weight tensor) by s[k].
func scaleRows(data []float32, rows int, s []float64) {
	stride := len(data) / rows
	for i := range data {
		data[i] = float32(float64(data[i]) * s[i/stride])
	}
}
