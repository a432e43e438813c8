package onnx

import (
	"fmt"
	"math"

	"github.com/nnq-toolkit/nnq/nnq"
)

// The operators that become nnq layers of their own: convolutions, pools,
// dense layers, batch normalization and activations.

func onnxConv(b *onnxImporter, n *onode) []*oval {
	w := n.windowAttrs(false)
	group := n.attrInt("group", 1)
	if n.blocked() {
		return nil
	}
	x := b.actIn(n, 0, true)
	wt := b.constIn(n, 1, "weight")
	bias := b.optConstIn(n, 2, "bias")
	if x == nil || wt == nil || len(n.why) > 0 || !convWeights(n, wt) || !need4D(n, x) {
		return nil
	}
	M, kh, kw := wt.dims[0], wt.dims[2], wt.dims[3]
	if len(w.kernel) == 2 && (w.kernel[0] != kh || w.kernel[1] != kw) {
		n.failf("kernel_shape %v disagrees with the weights %v", w.kernel, wt.dims)
		return nil
	}
	op, ok := convKind(n, x.dims[1], group, wt.dims)
	if !ok {
		return nil
	}
	attrs, _ := padAttrs(x, kh, kw, w)
	if op == nnq.OpConv2D {
		attrs.Filters = M
	}
	l := b.layer(n, "", op, attrs)
	b.param(l, "weight", n.inName(1), wt.dims, wt.float32s())
	b.keepWeightScales(l.Params["weight"], wt)
	if bias != nil {
		b.param(l, "bias", n.inName(2), bias.dims, bias.float32s())
	}
	return actVal(b.emit(n, l, x))
}

// convWeights accepts 2-D convolution weights [M, C/group, kh, kw].
func convWeights(n *onode, wt *ctensor) bool {
	switch len(wt.dims) {
	case 4:
		return true
	case 3:
		n.failf("1-D convolution: no CMSIS-NN kernel; rewrite it as %s", hint("conv1d"))
	default:
		n.failf("%d-D weights %v: only 2-D convolutions map onto CMSIS-NN", len(wt.dims), wt.dims)
	}
	return false
}

// convKind maps a Conv's group onto conv2d (group 1) or depthwise_conv2d
// (one filter per channel).
func convKind(n *onode, C int, group int64, wdims []int) (nnq.Op, bool) {
	M, cg := wdims[0], wdims[1]
	switch {
	case group == 1:
		return nnq.OpConv2D, true
	case int64(C) == group && cg == 1 && M == C:
		return nnq.OpDepthwiseConv2D, true
	case int64(C) == group && cg == 1 && M%C == 0:
		n.failf("depthwise convolution with depth multiplier %d: legacy CMSIS-NN depthwise kernels need multiplier 1; rewrite it as a depthwise convolution followed by a 1x1 conv2d", M/C)
	default:
		n.failf("grouped convolution (group=%d): CMSIS-NN has plain (group=1) and depthwise (group=channels) convolutions only; rewrite it as %s", group, hint("separableconv2d"))
	}
	return "", false
}

// onnxPool maps MaxPool (isMax) and AveragePool.
func onnxPool(isMax bool) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		w := n.windowAttrs(true)
		ceilMode := n.attrInt("ceil_mode", 0)
		var cip int64
		if isMax {
			n.attrInt("storage_order", 0) // only affects the Indices output
		} else {
			cip = n.attrInt("count_include_pad", 0)
			if cip != 0 && w.autoPad == "NOTSET" {
				checkNoPadding(n, w.pads)
			}
		}
		if n.blocked() {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil || !need4D(n, x) {
			return nil
		}
		kh, kw := w.kernel[0], w.kernel[1]
		attrs, p := padAttrs(x, kh, kw, w)
		if cip != 0 && !checkNoPadding(n, p) {
			return nil
		}
		if ceilMode != 0 && !checkCeil(n, x, kh, kw, w, p) {
			return nil
		}
		op := nnq.OpAvgPool2D
		if isMax {
			op = nnq.OpMaxPool2D
		}
		return actVal(b.emit(n, b.layer(n, "", op, attrs), x))
	}
}

// checkNoPadding fails an average pool with count_include_pad=1 that pads.
func checkNoPadding(n *onode, pads []int) bool {
	for _, p := range pads {
		if p != 0 {
			n.failf("count_include_pad=1 with padding %v: CMSIS-NN average pooling skips the padding (divides by the in-range count, count_include_pad=0); export with count_include_pad=False or without padding", pads)
			return false
		}
	}
	return true
}

// onnxGlobalPool maps GlobalAveragePool and GlobalMaxPool.
func onnxGlobalPool(op nnq.Op) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		if n.blocked() {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil || !need4D(n, x) {
			return nil
		}
		return actVal(b.emit(n, b.layer(n, "", op, nnq.Attrs{Global: true}), x))
	}
}

// onnxReduce maps a ReduceMean/ReduceMax over the spatial axes onto a
// global pool (plus a flatten when the axes are dropped).
func onnxReduce(op nnq.Op) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		attr := n.attrInts("axes")
		keep := n.attrInt("keepdims", 1)
		n.attrInt("noop_with_empty_axes", 0)
		if n.blocked() {
			return nil
		}
		axes, ok := b.intsArg(n, attr, 1, "axes", false)
		if !ok {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil {
			return nil
		}
		spatial := len(x.dims) == 4 && len(axes) == 2
		if spatial {
			a0, e0 := normAxis(axes[0], 4)
			a1, e1 := normAxis(axes[1], 4)
			spatial = e0 == nil && e1 == nil && ((a0 == 2 && a1 == 3) || (a0 == 3 && a1 == 2))
		}
		if !spatial {
			n.failf("reduction over axes %v of a %v tensor: only the spatial axes 2,3 of an [N,C,H,W] map (global pooling) map onto CMSIS-NN", axes, x.dims)
			return nil
		}
		pool := b.emit(n, b.layer(n, "", op, nnq.Attrs{Global: true}), x)
		if pool == nil || keep != 0 {
			return actVal(pool)
		}
		return actVal(b.emit(n, b.layer(n, ".flatten", nnq.OpFlatten, nnq.Attrs{}), pool))
	}
}

func onnxGemm(b *onnxImporter, n *onode) []*oval {
	alpha := n.attrFloat("alpha", 1)
	beta := n.attrFloat("beta", 1)
	transA := n.attrInt("transA", 0)
	transB := n.attrInt("transB", 0)
	n.attrInt("broadcast", 1)
	if transA != 0 {
		n.failf("transA=1: the activation must be the [1,K] left operand")
	}
	if n.blocked() {
		return nil
	}
	x := b.vectorIn(n, 0)
	wt := b.constIn(n, 1, "B (weights)")
	c := b.optConstIn(n, 2, "C (bias)")
	if x == nil || wt == nil || len(n.why) > 0 {
		return nil
	}
	if len(wt.dims) != 2 {
		n.failf("B has shape %v, want 2 dimensions", wt.dims)
		return nil
	}
	w := wt
	if transB == 0 {
		var err error
		if w, err = transposeConst(wt, nil); err != nil {
			n.failf("B: %v", err)
			return nil
		}
	}
	// w is [out][in].
	units := w.dims[0]
	data := w.float32s()
	for i := range data {
		data[i] *= alpha
	}
	l := b.layer(n, "", nnq.OpDense, nnq.Attrs{Units: units})
	hint := n.inName(1)
	if transB == 0 || alpha != 1 {
		hint = ""
	}
	b.param(l, "weight", hint, w.dims, data)
	if hint != "" {
		b.keepWeightScales(l.Params["weight"], wt)
	}
	if c != nil && beta != 0 && !b.gemmBias(n, l, c, beta, units) {
		return nil
	}
	return actVal(b.emit(n, l, x))
}

// gemmBias sets the bias of Gemm layer l: beta × C broadcast to units.
func (b *onnxImporter) gemmBias(n *onode, l *nnq.Layer, c *ctensor, beta float32, units int) bool {
	bv, err := biasVector(c, units)
	if err != nil {
		n.failf("%v", err)
		b.dropParams(l)
		return false
	}
	hint := n.inName(2)
	if beta != 1 || len(c.dims) != 1 {
		hint = ""
		for i := range bv {
			bv[i] *= beta
		}
	}
	b.param(l, "bias", hint, []int{units}, bv)
	return true
}

// biasVector broadcasts a Gemm/MatMul bias to [n].
func biasVector(t *ctensor, n int) ([]float32, error) {
	for i, d := range t.dims {
		if d != 1 && (i != len(t.dims)-1 || d != n) {
			return nil, fmt.Errorf("bias of shape %v does not broadcast to one row of %d outputs", t.dims, n)
		}
	}
	out := make([]float32, n)
	for i := range out {
		if len(t.v) == 1 {
			out[i] = float32(t.v[0])
		} else {
			out[i] = float32(t.v[i])
		}
	}
	return out, nil
}

func onnxMatMul(b *onnxImporter, n *onode) []*oval {
	if n.blocked() {
		return nil
	}
	if v := n.in(0); v != nil && v.c != nil {
		if w := n.in(1); w != nil && w.c != nil {
			t, err := matmulConst(v.c, w.c)
			return b.folded(n, t, err)
		}
		n.failf("constant × activation: nnq's dense layer computes activation × constant weights")
		return nil
	}
	if w := n.in(1); w != nil && w.a != nil {
		n.failf("MatMul of two activations: nnq's dense layer needs constant weights")
		return nil
	}
	x := b.vectorIn(n, 0)
	wt := b.constIn(n, 1, "weights")
	if x == nil || wt == nil {
		return nil
	}
	if len(wt.dims) != 2 {
		n.failf("weights of shape %v: only a [K,N] matrix makes a dense layer", wt.dims)
		return nil
	}
	w, err := transposeConst(wt, nil)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	l := b.layer(n, "", nnq.OpDense, nnq.Attrs{Units: w.dims[0]})
	b.param(l, "weight", "", w.dims, w.float32s())
	out := b.emit(n, l, x)
	if out != nil && len(x.dims) == 1 {
		out.dims = []int{out.dims[1]}
	}
	return actVal(out)
}

func onnxBatchNorm(b *onnxImporter, n *onode) []*oval {
	eps := n.attrFloat("epsilon", 1e-5)
	n.attrFloat("momentum", 0.9)
	if n.attrInt("spatial", 1) != 1 {
		n.failf("spatial=0 (per-element statistics) cannot be folded into CMSIS-NN layers")
	}
	if n.attrInt("training_mode", 0) != 0 {
		n.failf("training_mode=1: export the model in eval mode (model.eval())")
	}
	n.attrInt("is_test", 1)
	if n.blocked() {
		return nil
	}
	x := b.actIn(n, 0, false)
	if x == nil {
		return nil
	}
	if len(x.dims) != 4 && len(x.dims) != 2 {
		n.failf("input of shape %v: batch normalization maps onto [N,C,H,W] maps or [N,C] vectors", x.dims)
		return nil
	}
	attrs := nnq.Attrs{Epsilon: float64(eps)}
	if eps <= 0 {
		attrs.Epsilon = math.SmallestNonzeroFloat64
	}
	l := b.layer(n, "", nnq.OpBatchNorm, attrs)
	for i, role := range []string{"gamma", "beta", "mean", "var"} {
		t := b.constIn(n, i+1, role)
		if t == nil {
			b.dropParams(l)
			return nil
		}
		b.param(l, role, n.inName(i+1), t.dims, t.float32s())
	}
	return actVal(b.emit(n, l, x))
}

// onnxUnary maps Relu, Sigmoid and Tanh.
func onnxUnary(op nnq.Op) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		if n.blocked() {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil {
			return nil
		}
		return actVal(b.emitSame(n, b.layer(n, "", op, nnq.Attrs{}), x))
	}
}

func onnxSoftmax(b *onnxImporter, n *onode) []*oval {
	def := int64(-1)
	if b.opset < 13 {
		def = 1
	}
	axis := n.attrInt("axis", def)
	if n.blocked() {
		return nil
	}
	x := b.actIn(n, 0, false)
	if x == nil {
		return nil
	}
	a, ok := n.axis(axis, x.dims, false)
	if !ok {
		return nil
	}
	// The softmax must run over every element of the (batch-1) tensor.
	for i, d := range x.dims {
		over := i == a || (b.opset < 13 && i >= a)
		if d > 1 && !over {
			n.failf("softmax over axis %d of a %v tensor normalizes slices, not the whole vector; CMSIS-NN's softmax runs on one vector (flatten first)", axis, x.dims)
			return nil
		}
	}
	return actVal(b.emitSame(n, b.layer(n, "", nnq.OpSoftmax, nnq.Attrs{}), x))
}
