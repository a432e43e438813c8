package onnx

import (
	"math"

	"github.com/nnq-toolkit/nnq/nnq"
)

// QDQ models (already quantized, the form PyTorch and ONNX Runtime write):
//
//   - QuantizeLinear then DequantizeLinear on an activation is a fake
//     quantization: the float graph passes the activation through
//     unchanged and the model records its int8 format (nnq.QDQ.Act; a
//     uint8 format becomes int8 with zero point − 128, the same real
//     values). Only a DequantizeLinear may read a QuantizeLinear's output.
//   - DequantizeLinear of a constant (int8 weights, int32 biases) folds to
//     the float constant (x − zero point)·scale; a Conv or Gemm that takes it
//     as its weights unchanged records the scales (nnq.QDQ.Weight): one per
//     output channel (axis 0) or one per tensor, symmetric (zero point 0).
//
// Quantizing the imported model for s8 keeps these formats.

// qmark is the int8 format a QuantizeLinear gave an activation.
type qmark struct {
	a    nnq.Affine
	node string
}

// qdqOf returns the model's QDQ record, creating it.
func (b *onnxImporter) qdqOf() *nnq.QDQ {
	if b.m.QDQ == nil {
		b.m.QDQ = &nnq.QDQ{Act: map[string]nnq.Affine{}, Weight: map[string][]float64{}}
	}
	return b.m.QDQ
}

// qparams reads the scale and zero point inputs of a QuantizeLinear or
// DequantizeLinear node: n values along axis (1 for per-tensor).
func qparams(n *onode, x []int) (scale, zp []float64, axis int, zpType int32, ok bool) {
	s, z := n.in(1), n.in(2)
	if s == nil || s.c == nil || (z != nil && z.c == nil) {
		n.failf("the scale and zero point must be constants")
		return nil, nil, 0, 0, false
	}
	axis = int(n.attrInt("axis", 1))
	if axis < 0 {
		axis += len(x)
	}
	scale = s.c.v
	zp = make([]float64, len(scale))
	zpType = onnxUint8
	if z != nil {
		zpType = z.c.dtype
		if len(z.c.v) != len(scale) {
			n.failf("%d scales but %d zero points", len(scale), len(z.c.v))
			return nil, nil, 0, 0, false
		}
		copy(zp, z.c.v)
	}
	if len(scale) > 1 && (axis < 0 || axis >= len(x) || x[axis] != len(scale)) {
		n.failf("%d scales do not fit axis %d of shape %v", len(scale), axis, x)
		return nil, nil, 0, 0, false
	}
	for _, v := range scale {
		if !(v > 0) || math.IsInf(v, 0) {
			n.failf("scale %g is not a positive number", float32(v))
			return nil, nil, 0, 0, false
		}
	}
	return scale, zp, axis, zpType, true
}

func onnxQuantizeLinear(b *onnxImporter, n *onode) []*oval {
	n.attrInt("axis", 1)
	n.attrInt("saturate", 1)
	if n.blocked() {
		return nil
	}
	x := b.actIn(n, 0, false)
	if x == nil {
		return nil
	}
	scale, zp, _, zt, ok := qparams(n, x.dims)
	if !ok {
		return nil
	}
	if len(scale) != 1 {
		n.failf("a per-channel quantization of an activation: nnq's activations have one scale and zero point")
		return nil
	}
	var a nnq.Affine
	switch zt {
	case onnxUint8:
		a = nnq.Affine{Scale: scale[0], Zero: int32(zp[0]) - 128}
	case onnxInt8:
		a = nnq.Affine{Scale: scale[0], Zero: int32(zp[0])}
	default:
		n.failf("zero point of type %d: nnq imports int8 and uint8 quantization", zt)
		return nil
	}
	q := b.qdqOf()
	if old, dup := q.Act[x.name]; dup && old != a {
		n.failf("tensor %q is quantized twice with different formats (%v and %v)", x.name, old, a)
		return nil
	}
	q.Act[x.name] = a
	out := *x
	out.quant = &qmark{a: a, node: n.name}
	return actVal(&out)
}

func onnxDequantizeLinear(b *onnxImporter, n *onode) []*oval {
	n.attrInt("axis", 1)
	if n.blocked() {
		return nil
	}
	v := n.in(0)
	if v == nil || (v.c == nil && v.a == nil) {
		n.failf("input 0 is missing")
		return nil
	}
	if v.a != nil {
		if v.a.quant == nil {
			n.failf("dequantizes activation %q, which no QuantizeLinear made: nnq reads int8 activations only as QuantizeLinear/DequantizeLinear pairs", n.inName(0))
			return nil
		}
		out := *v.a
		out.quant = nil
		return actVal(&out)
	}
	x := v.c
	if !x.isInt() {
		n.failf("dequantizes a float constant")
		return nil
	}
	scale, zp, axis, _, ok := qparams(n, x.dims)
	if !ok {
		return nil
	}
	inner := 1
	if len(scale) > 1 {
		for _, d := range x.dims[axis+1:] {
			inner *= d
		}
	}
	out := &ctensor{dims: append([]int(nil), x.dims...), v: make([]float64, len(x.v)), dtype: onnxFloat}
	sym := true
	for i, q := range x.v {
		k := 0
		if len(scale) > 1 {
			k = i / inner % len(scale)
		}
		out.v[i] = float64(float32((q - zp[k]) * scale[k]))
		sym = sym && zp[k] == 0
	}
	if sym && (len(scale) == 1 || axis == 0) && (x.dtype == onnxInt8 || x.dtype == onnxUint8) {
		out.qscale = append([]float64(nil), scale...)
	}
	return constVal(out)
}

// keepWeightScales records the int8 scales of the weight tensor name when
// the layer took the DequantizeLinear output ct unchanged.
func (b *onnxImporter) keepWeightScales(name string, ct *ctensor) {
	if ct != nil && ct.qscale != nil {
		b.qdqOf().Weight[name] = ct.qscale
	}
}
