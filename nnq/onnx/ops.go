package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// ONNX operators and how they map onto nnq layers (NCHW layout):
//
//	Conv                 group=1 → conv2d; group=C with [C,1,kh,kw] weights → depthwise_conv2d
//	Gemm                 → dense (transB handled; alpha/beta folded into the weights/bias)
//	MatMul (+ Add const) → dense (the constant Add becomes its bias)
//	BatchNormalization   → batchnorm (nnq folds it when loading)
//	Relu, Sigmoid, Tanh, Softmax → the same activation
//	MaxPool, AveragePool → maxpool2d, avgpool2d (average: count_include_pad=0, or no padding)
//	GlobalAveragePool, GlobalMaxPool, ReduceMean/ReduceMax over axes 2,3 → global pools
//	Flatten, Reshape, Squeeze, Unsqueeze to a vector → flatten (a no-op reshape is dropped)
//	Add, Mul of two activations → add, mul
//	Add, Sub, Mul, Div by a per-channel constant → folded into the conv/dense/batchnorm before it,
//	                       else a 1x1 depthwise convolution
//	Pad (zeros) before a Conv → folded into the Conv's pads
//	GRU, LSTM            → gru, lstm (PyTorch gate order; see onnx_rnn.go), with the
//	                       Squeeze/Reshape/Transpose views around them, the last
//	                       step taken by Gather/Slice on the time axis, and h_n[-1]
//	                       of stacked layers (Gather from a Concat of their Y_h)
//	Dropout, Identity    → removed
//	Constant, Shape, Gather, Cast, Concat, Slice, Transpose, ConstantOfShape, ... on constants → folded
//
// Window attributes: kernel_shape, strides, pads ([top,left,bottom,right] =
// [x1_begin,x2_begin,x1_end,x2_end]), auto_pad (SAME_UPPER → "same",
// SAME_LOWER → explicit pads with the extra one on top/left, VALID), and
// dilations (must be 1); pools take ceil_mode=1 only when it gives the same
// output size as floor.

type onnxOpDef struct {
	attrs []string
	// constOnly marks a shape computation nnq folds over constants (not a
	// layer operator).
	constOnly bool
	conv      func(b *onnxImporter, n *onode, ready bool) []*oval
}

var onnxOps map[string]*onnxOpDef

func init() {
	win := []string{"auto_pad", "dilations", "kernel_shape", "pads", "strides"}
	onnxOps = map[string]*onnxOpDef{
		"Conv":               {attrs: append(win, "group"), conv: onnxConv},
		"MaxPool":            {attrs: append(win, "ceil_mode", "storage_order"), conv: onnxPool(true)},
		"AveragePool":        {attrs: append(win, "ceil_mode", "count_include_pad"), conv: onnxPool(false)},
		"GlobalAveragePool":  {conv: onnxGlobalPool(nnq.OpAvgPool2D)},
		"GlobalMaxPool":      {conv: onnxGlobalPool(nnq.OpMaxPool2D)},
		"ReduceMean":         {attrs: []string{"axes", "keepdims", "noop_with_empty_axes"}, conv: onnxReduce(nnq.OpAvgPool2D)},
		"ReduceMax":          {attrs: []string{"axes", "keepdims", "noop_with_empty_axes"}, conv: onnxReduce(nnq.OpMaxPool2D)},
		"Gemm":               {attrs: []string{"alpha", "beta", "transA", "transB", "broadcast"}, conv: onnxGemm},
		"MatMul":             {conv: onnxMatMul},
		"BatchNormalization": {attrs: []string{"epsilon", "momentum", "spatial", "training_mode", "is_test", "consumed_inputs"}, conv: onnxBatchNorm},
		"Relu":               {attrs: []string{"consumed_inputs"}, conv: onnxUnary(nnq.OpReLU)},
		"Sigmoid":            {attrs: []string{"consumed_inputs"}, conv: onnxUnary(nnq.OpSigmoid)},
		"Tanh":               {attrs: []string{"consumed_inputs"}, conv: onnxUnary(nnq.OpTanh)},
		"Softmax":            {attrs: []string{"axis"}, conv: onnxSoftmax},
		"Add":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Add")},
		"Sub":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Sub")},
		"Mul":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Mul")},
		"Div":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Div")},
		"Flatten":            {attrs: []string{"axis"}, conv: onnxFlatten},
		"Reshape":            {attrs: []string{"shape", "allowzero"}, conv: onnxReshape},
		"Squeeze":            {attrs: []string{"axes"}, conv: onnxSqueeze(false)},
		"Unsqueeze":          {attrs: []string{"axes"}, conv: onnxSqueeze(true)},
		"Dropout":            {attrs: []string{"ratio", "seed", "is_test", "consumed_inputs"}, conv: onnxDropout},
		"Identity":           {conv: onnxIdentity},
		"Pad":                {attrs: []string{"mode", "pads", "value"}, conv: onnxPad},
		"GRU":                {attrs: append(rnnAttrs, "linear_before_reset"), conv: onnxRecurrent(nnq.OpGRU)},
		"LSTM":               {attrs: append(rnnAttrs, "input_forget"), conv: onnxRecurrent(nnq.OpLSTM)},

		"Constant":        {attrs: []string{"value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value"}, constOnly: true, conv: onnxConstant},
		"Shape":           {attrs: []string{"start", "end"}, constOnly: true, conv: onnxShape},
		"Gather":          {attrs: []string{"axis"}, constOnly: true, conv: onnxGather},
		"Cast":            {attrs: []string{"to", "saturate"}, constOnly: true, conv: onnxCast},
		"Concat":          {attrs: []string{"axis"}, constOnly: true, conv: onnxConcat},
		"Slice":           {attrs: []string{"starts", "ends", "axes"}, constOnly: true, conv: onnxSlice},
		"Transpose":       {attrs: []string{"perm"}, constOnly: true, conv: onnxTranspose},
		"ConstantOfShape": {attrs: []string{"value"}, constOnly: true, conv: onnxConstantOfShape},
		"Expand":          {constOnly: true, conv: onnxExpand},
	}
}

// ---- attributes ----

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

// ---- inputs ----

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

// ---- windows (Conv, MaxPool, AveragePool) ----

type onnxWindow struct {
	kernel, strides, pads []int
	autoPad               string
}

func (n *onode) windowAttrs(needKernel bool) onnxWindow {
	w := onnxWindow{kernel: n.attrInts("kernel_shape"), strides: n.attrInts("strides"), pads: n.attrInts("pads")}
	w.autoPad = n.attrString("auto_pad", "NOTSET")
	switch w.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		n.failf("auto_pad %q is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", w.autoPad)
	}
	if w.kernel == nil && needKernel {
		n.failf("kernel_shape is missing")
	}
	if w.kernel != nil && len(w.kernel) != 2 {
		n.failf("%d-D window %v: only 2-D windows map onto CMSIS-NN (rewrite 1-D as 2-D with H=1)", len(w.kernel), w.kernel)
	}
	for _, k := range w.kernel {
		if k < 1 {
			n.failf("kernel_shape %v has a non-positive size", w.kernel)
			break
		}
	}
	if w.strides == nil {
		w.strides = []int{1, 1}
	}
	if len(w.strides) != 2 || w.strides[0] < 1 || w.strides[1] < 1 {
		n.failf("strides %v must be two positive numbers", w.strides)
	}
	if w.pads != nil {
		if len(w.pads) != 4 {
			n.failf("pads %v must be [top, left, bottom, right] (2-D)", w.pads)
		}
		for _, p := range w.pads {
			if p < 0 {
				n.failf("negative pads %v are not supported", w.pads)
				break
			}
		}
	}
	if d := n.attrInts("dilations"); d != nil {
		for _, v := range d {
			if v != 1 {
				n.failf("dilations %v: CMSIS-NN has no dilated kernels (only dilation 1); rewrite it with a larger kernel or strided layers", d)
				break
			}
		}
	}
	return w
}

// sameSplit is the ONNX SAME_* padding of one axis: total padding so that
// out = ceil(in/s), the odd pixel at the end (upper) or start (lower).
func sameSplit(in, k, s int, upper bool) (head, tail int) {
	out := (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	head = total / 2
	if !upper {
		head = total - total/2
	}
	return head, total - head
}

// padAttrs sets a layer's padding from the window attributes plus a
// pending Pad on x; it also returns the total pads [top,left,bottom,right].
func padAttrs(x *oact, kh, kw int, w onnxWindow) (nnq.Attrs, []int) {
	H, W := x.dims[2], x.dims[3] // after any pending Pad
	p := []int{0, 0, 0, 0}
	switch w.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		up := w.autoPad == "SAME_UPPER"
		p[0], p[2] = sameSplit(H, kh, w.strides[0], up)
		p[1], p[3] = sameSplit(W, kw, w.strides[1], up)
	case "VALID":
	default:
		if len(w.pads) == 4 {
			copy(p, w.pads)
		}
	}
	a := nnq.Attrs{Kernel: []int{kh, kw}, Strides: append([]int(nil), w.strides...)}
	if w.autoPad == "SAME_UPPER" && x.pads == nil {
		a.Padding = "same"
		return a, p
	}
	if x.pads != nil {
		for i := range p {
			p[i] += x.pads[i]
		}
	}
	if p[0]|p[1]|p[2]|p[3] != 0 {
		a.Padding, a.Pads = "explicit", append([]int(nil), p...)
	}
	return a, p
}

// checkCeil accepts ceil_mode=1 when it gives the floor output size.
func checkCeil(n *onode, x *oact, kh, kw int, w onnxWindow, p []int) {
	if w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER" {
		return // the output size is ceil(in/s) either way
	}
	H, W := x.dims[2]+p[0]+p[2], x.dims[3]+p[1]+p[3]
	fh, fw := (H-kh)/w.strides[0]+1, (W-kw)/w.strides[1]+1
	ceil := func(in, k, s, pad int, begin int) int {
		o := (in-k+s-1)/s + 1
		// The last window must start inside the input or the top/left padding.
		if (o-1)*s >= in-pad+begin {
			o--
		}
		return o
	}
	ch, cw := ceil(H, kh, w.strides[0], p[2], p[0]), ceil(W, kw, w.strides[1], p[3], p[1])
	if ch != fh || cw != fw {
		n.failf("ceil_mode=1 gives a %dx%d output where CMSIS-NN pools give %dx%d (floor); pad the input or export with ceil_mode=0", ch, cw, fh, fw)
	}
}

func need4D(n *onode, x *oact) bool {
	if len(x.dims) != 4 {
		n.failf("needs an [N,C,H,W] feature map, got shape %v", x.dims)
		return false
	}
	return true
}

// ---- operators ----

func onnxConv(b *onnxImporter, n *onode, ready bool) []*oval {
	w := n.windowAttrs(false)
	group := n.attrInt("group", 1)
	if !ready || len(n.why) > 0 {
		return nil
	}
	x := b.actIn(n, 0, true)
	wt := b.constIn(n, 1, "weight")
	var bias *ctensor
	if n.in(2) != nil {
		bias = b.constIn(n, 2, "bias")
	}
	if x == nil || wt == nil || len(n.why) > 0 {
		return nil
	}
	switch len(wt.dims) {
	case 4:
	case 3:
		n.failf("1-D convolution: no CMSIS-NN kernel; rewrite it as %s", hint("conv1d"))
		return nil
	default:
		n.failf("%d-D weights %v: only 2-D convolutions map onto CMSIS-NN", len(wt.dims), wt.dims)
		return nil
	}
	if !need4D(n, x) {
		return nil
	}
	M, cg, kh, kw := wt.dims[0], wt.dims[1], wt.dims[2], wt.dims[3]
	if w.kernel != nil && len(w.kernel) == 2 && (w.kernel[0] != kh || w.kernel[1] != kw) {
		n.failf("kernel_shape %v disagrees with the weights %v", w.kernel, wt.dims)
		return nil
	}
	C := x.dims[1]
	op := nnq.OpConv2D
	switch {
	case group == 1:
	case int64(C) == group && cg == 1 && M == C:
		op = nnq.OpDepthwiseConv2D
	case int64(C) == group && cg == 1 && M%C == 0:
		n.failf("depthwise convolution with depth multiplier %d: legacy CMSIS-NN depthwise kernels need multiplier 1; rewrite it as a depthwise convolution followed by a 1x1 conv2d", M/C)
		return nil
	default:
		n.failf("grouped convolution (group=%d): CMSIS-NN has plain (group=1) and depthwise (group=channels) convolutions only; rewrite it as %s", group, hint("separableconv2d"))
		return nil
	}
	attrs, _ := padAttrs(x, kh, kw, w)
	if op == nnq.OpConv2D {
		attrs.Filters = M
	}
	l := &nnq.Layer{Name: b.layerName(n, ""), Op: op, Attrs: attrs, Params: map[string]string{}}
	l.Params["weight"] = b.tensor(n.inName(1), l.Name+".weight", wt.dims, wt.float32s())
	if bias != nil {
		l.Params["bias"] = b.tensor(n.inName(2), l.Name+".bias", bias.dims, bias.float32s())
	}
	return actVal(b.emit(n, l, x))
}

func onnxPool(isMax bool) func(b *onnxImporter, n *onode, ready bool) []*oval {
	return func(b *onnxImporter, n *onode, ready bool) []*oval {
		w := n.windowAttrs(true)
		ceilMode := n.attrInt("ceil_mode", 0)
		var cip int64
		if isMax {
			n.attrInt("storage_order", 0) // only affects the Indices output
		} else {
			cip = n.attrInt("count_include_pad", 0)
			if cip != 0 && w.autoPad == "NOTSET" {
				for _, p := range w.pads {
					if p != 0 {
						n.failf("count_include_pad=1 with padding %v: CMSIS-NN average pooling skips the padding (divides by the in-range count, count_include_pad=0); export with count_include_pad=False or without padding", w.pads)
						break
					}
				}
			}
		}
		if !ready || len(n.why) > 0 {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil || !need4D(n, x) {
			return nil
		}
		kh, kw := w.kernel[0], w.kernel[1]
		attrs, p := padAttrs(x, kh, kw, w)
		if !isMax && cip != 0 && p[0]|p[1]|p[2]|p[3] != 0 {
			n.failf("count_include_pad=1 with padding %v: CMSIS-NN average pooling skips the padding (divides by the in-range count, count_include_pad=0); export with count_include_pad=False or without padding", p)
			return nil
		}
		if ceilMode != 0 {
			checkCeil(n, x, kh, kw, w, p)
			if len(n.why) > 0 {
				return nil
			}
		}
		op := nnq.OpAvgPool2D
		if isMax {
			op = nnq.OpMaxPool2D
		}
		return actVal(b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: op, Attrs: attrs}, x))
	}
}

func onnxGlobalPool(op nnq.Op) func(b *onnxImporter, n *onode, ready bool) []*oval {
	return func(b *onnxImporter, n *onode, ready bool) []*oval {
		if !ready {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil || !need4D(n, x) {
			return nil
		}
		return actVal(b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: op, Attrs: nnq.Attrs{Global: true}}, x))
	}
}

// onnxReduce maps a mean/max over the spatial axes onto a global pool (plus
// a flatten when the axes are dropped).
func onnxReduce(op nnq.Op) func(b *onnxImporter, n *onode, ready bool) []*oval {
	return func(b *onnxImporter, n *onode, ready bool) []*oval {
		axes := n.attrInts("axes")
		keep := n.attrInt("keepdims", 1)
		n.attrInt("noop_with_empty_axes", 0)
		if !ready || len(n.why) > 0 {
			return nil
		}
		if axes == nil && n.in(1) != nil {
			t := b.constIn(n, 1, "axes")
			if t == nil {
				return nil
			}
			var err error
			if axes, err = t.ints(); err != nil {
				n.failf("axes: %v", err)
				return nil
			}
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
		pool := b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: op, Attrs: nnq.Attrs{Global: true}}, x)
		if pool == nil || keep != 0 {
			return actVal(pool)
		}
		return actVal(b.emit(n, &nnq.Layer{Name: b.layerName(n, ".flatten"), Op: nnq.OpFlatten}, pool))
	}
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

func onnxGemm(b *onnxImporter, n *onode, ready bool) []*oval {
	alpha := n.attrFloat("alpha", 1)
	beta := n.attrFloat("beta", 1)
	transA := n.attrInt("transA", 0)
	transB := n.attrInt("transB", 0)
	n.attrInt("broadcast", 1)
	if transA != 0 {
		n.failf("transA=1: the activation must be the [1,K] left operand")
	}
	if !ready || len(n.why) > 0 {
		return nil
	}
	x := b.vectorIn(n, 0)
	wt := b.constIn(n, 1, "B (weights)")
	var c *ctensor
	if n.in(2) != nil {
		c = b.constIn(n, 2, "C (bias)")
	}
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
	if alpha != 1 {
		for i := range data {
			data[i] *= alpha
		}
	}
	l := &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpDense, Attrs: nnq.Attrs{Units: units}, Params: map[string]string{}}
	hint := n.inName(1)
	if transB == 0 || alpha != 1 {
		hint = ""
	}
	l.Params["weight"] = b.tensor(hint, l.Name+".weight", w.dims, data)
	if c != nil && beta != 0 {
		bv, err := biasVector(c, units)
		if err != nil {
			n.failf("%v", err)
			delete(b.m.Tensors, l.Params["weight"])
			return nil
		}
		hint := n.inName(2)
		if beta != 1 || len(c.dims) != 1 {
			hint = ""
			for i := range bv {
				bv[i] *= beta
			}
		}
		l.Params["bias"] = b.tensor(hint, l.Name+".bias", []int{units}, bv)
	}
	return actVal(b.emit(n, l, x))
}

func onnxMatMul(b *onnxImporter, n *onode, ready bool) []*oval {
	if !ready {
		return nil
	}
	if v := n.in(0); v != nil && v.c != nil {
		if w := n.in(1); w != nil && w.c != nil {
			t, err := matmulConst(v.c, w.c)
			if err != nil {
				n.failf("%v", err)
				return nil
			}
			return b.spend(n, t)
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
	l := &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpDense, Attrs: nnq.Attrs{Units: w.dims[0]}, Params: map[string]string{}}
	l.Params["weight"] = b.tensor("", l.Name+".weight", w.dims, w.float32s())
	out := b.emit(n, l, x)
	if out != nil && len(x.dims) == 1 {
		out.dims = []int{out.dims[1]}
	}
	return actVal(out)
}

func matmulConst(a, c *ctensor) (*ctensor, error) {
	if len(a.dims) != 2 || len(c.dims) != 2 || a.dims[1] != c.dims[0] {
		return nil, fmt.Errorf("constant MatMul of shapes %v and %v: only 2-D matrices are folded", a.dims, c.dims)
	}
	m, k, nn := a.dims[0], a.dims[1], c.dims[1]
	if _, err := dimsSize([]int{m, nn}, onnxMaxElems); err != nil {
		return nil, err
	}
	out := &ctensor{dims: []int{m, nn}, v: make([]float64, m*nn), dtype: a.dtype}
	for i := 0; i < m; i++ {
		for j := 0; j < nn; j++ {
			var s float64
			for t := 0; t < k; t++ {
				s += a.v[i*k+t] * c.v[t*nn+j]
			}
			out.v[i*nn+j] = s
		}
	}
	return out, nil
}

func onnxBatchNorm(b *onnxImporter, n *onode, ready bool) []*oval {
	eps := n.attrFloat("epsilon", 1e-5)
	n.attrFloat("momentum", 0.9)
	if n.attrInt("spatial", 1) != 1 {
		n.failf("spatial=0 (per-element statistics) cannot be folded into CMSIS-NN layers")
	}
	if n.attrInt("training_mode", 0) != 0 {
		n.failf("training_mode=1: export the model in eval mode (model.eval())")
	}
	n.attrInt("is_test", 1)
	if !ready || len(n.why) > 0 {
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
	l := &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpBatchNorm, Params: map[string]string{}}
	l.Attrs.Epsilon = float64(eps)
	if eps <= 0 {
		l.Attrs.Epsilon = math.SmallestNonzeroFloat64
	}
	for i, role := range []string{"gamma", "beta", "mean", "var"} {
		t := b.constIn(n, i+1, role)
		if t == nil {
			for _, name := range l.Params {
				delete(b.m.Tensors, name)
			}
			return nil
		}
		l.Params[role] = b.tensor(n.inName(i+1), l.Name+"."+role, t.dims, t.float32s())
	}
	return actVal(b.emit(n, l, x))
}

func onnxUnary(op nnq.Op) func(b *onnxImporter, n *onode, ready bool) []*oval {
	return func(b *onnxImporter, n *onode, ready bool) []*oval {
		if !ready {
			return nil
		}
		x := b.actIn(n, 0, false)
		if x == nil {
			return nil
		}
		out := b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: op}, x)
		if out != nil {
			out.dims = append([]int(nil), x.dims...)
		}
		return actVal(out)
	}
}

func onnxSoftmax(b *onnxImporter, n *onode, ready bool) []*oval {
	def := int64(-1)
	if b.opset < 13 {
		def = 1
	}
	axis := n.attrInt("axis", def)
	if !ready || len(n.why) > 0 {
		return nil
	}
	x := b.actIn(n, 0, false)
	if x == nil {
		return nil
	}
	r := len(x.dims)
	if axis < int64(-r) || axis >= int64(r) {
		n.failf("axis %d is out of range for shape %v", axis, x.dims)
		return nil
	}
	a := int(axis)
	if a < 0 {
		a += r
	}
	// The softmax must run over every element of the (batch-1) tensor.
	for i, d := range x.dims {
		over := i == a || (b.opset < 13 && i >= a)
		if d > 1 && !over {
			n.failf("softmax over axis %d of a %v tensor normalizes slices, not the whole vector; CMSIS-NN's softmax runs on one vector (flatten first)", axis, x.dims)
			return nil
		}
	}
	out := b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpSoftmax}, x)
	if out != nil {
		out.dims = append([]int(nil), x.dims...)
	}
	return actVal(out)
}

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

func onnxBinary(kind string) func(b *onnxImporter, n *onode, ready bool) []*oval {
	return func(b *onnxImporter, n *onode, ready bool) []*oval {
		n.attrInt("broadcast", 0)
		n.attrInt("axis", 0)
		if !ready || len(n.why) > 0 {
			return nil
		}
		p, q := n.in(0), n.in(1)
		if p == nil || q == nil {
			n.failf("needs two inputs")
			return nil
		}
		if p.c != nil && q.c != nil {
			f := map[string]func(x, y float64) float64{
				"Add": func(x, y float64) float64 { return x + y },
				"Sub": func(x, y float64) float64 { return x - y },
				"Mul": func(x, y float64) float64 { return x * y },
				"Div": func(x, y float64) float64 {
					if p.c.isInt() && y != 0 {
						return math.Trunc(x / y)
					}
					return x / y
				},
			}[kind]
			t, err := binaryConst(p.c, q.c, f)
			if err != nil {
				n.failf("%v", err)
				return nil
			}
			return b.spend(n, t)
		}
		if p.a != nil && q.a != nil {
			x, y := b.actIn(n, 0, false), b.actIn(n, 1, false)
			if x == nil || y == nil {
				return nil
			}
			var op nnq.Op
			switch kind {
			case "Add":
				op = nnq.OpAdd
			case "Mul":
				op = nnq.OpMul
			default:
				n.failf("%s of two activations: CMSIS-NN has no element-wise %s; rewrite it with add/mul (e.g. add a branch whose last layer has negated weights)", kind, map[string]string{"Sub": "subtract", "Div": "division"}[kind])
				return nil
			}
			if !slices.Equal(x.dims, y.dims) {
				n.failf("inputs have shapes %v and %v: nnq's %s takes two activations of the same shape (no broadcasting)", x.dims, y.dims, op)
				return nil
			}
			out := b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: op}, x, y)
			if out != nil {
				out.dims = append([]int(nil), x.dims...)
			}
			return actVal(out)
		}
		// One activation, one constant: a per-channel affine y = x*s + a.
		xi, k := 0, q.c
		if p.c != nil {
			xi, k = 1, p.c
		}
		x := b.actIn(n, xi, false)
		if x == nil {
			return nil
		}
		v, err := perChannel(k, x.dims)
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
			case kind == "Sub" && xi == 0:
				a[c] = -v[c]
			case kind == "Sub":
				s[c], a[c] = -1, v[c]
			case kind == "Mul":
				s[c] = v[c]
			case kind == "Div" && xi == 0:
				if v[c] == 0 {
					n.failf("division by a zero constant")
					return nil
				}
				s[c] = 1 / v[c]
			default:
				n.failf("dividing a constant by an activation has no CMSIS-NN kernel")
				return nil
			}
		}
		return actVal(b.affine(n, x, s, a))
	}
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
				l.Params["bias"] = b.tensor("", l.Name+".bias", []int{len(s)}, make([]float32, len(s)))
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
	l := &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpDepthwiseConv2D, Attrs: nnq.Attrs{Kernel: []int{1, 1}}, Params: map[string]string{}}
	l.Params["weight"] = b.tensor("", l.Name+".weight", []int{C, 1, 1, 1}, w)
	l.Params["bias"] = b.tensor("", l.Name+".bias", []int{C}, bias)
	out := b.emit(n, l, x)
	if out != nil {
		out.dims = append([]int(nil), x.dims...)
	}
	return out
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
	out := b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpFlatten}, x)
	if out != nil {
		out.dims = append([]int(nil), target...)
	}
	return actVal(out)
}

func onnxFlatten(b *onnxImporter, n *onode, ready bool) []*oval {
	axis := n.attrInt("axis", 1)
	if !ready || len(n.why) > 0 {
		return nil
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	dims := v.dims()
	r := len(dims)
	if axis < int64(-r) || axis > int64(r) {
		n.failf("axis %d is out of range for shape %v", axis, dims)
		return nil
	}
	a := int(axis)
	if a < 0 {
		a += r
	}
	outer, inner := 1, 1
	for i, d := range dims {
		if i < a {
			outer *= d
		} else {
			inner *= d
		}
	}
	target := []int{outer, inner}
	if v.c != nil {
		t := *v.c
		t.dims = target
		return constVal(&t)
	}
	if outer != 1 && (v.a == nil || !b.seqViews(n, v.a)) {
		n.failf("flattening %v at axis %d gives [%d,%d]: only flattening everything after the batch maps onto CMSIS-NN", dims, axis, outer, inner)
		return nil
	}
	x := b.viewIn(n, 0)
	if x == nil {
		return nil
	}
	return b.view(n, x, target)
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

// axesArg reads axes from an attribute (older opsets) or input 1.
func (b *onnxImporter) axesArg(n *onode, attr []int) ([]int, bool) {
	if attr != nil {
		return attr, true
	}
	if n.in(1) == nil {
		return nil, true
	}
	t := b.constIn(n, 1, "axes")
	if t == nil {
		return nil, false
	}
	axes, err := t.ints()
	if err != nil {
		n.failf("axes: %v", err)
		return nil, false
	}
	return axes, true
}

func onnxReshape(b *onnxImporter, n *onode, ready bool) []*oval {
	shapeAttr := n.attrInts("shape")
	allowzero := n.attrInt("allowzero", 0) != 0
	if !ready || len(n.why) > 0 {
		return nil
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	shape := shapeAttr
	if shape == nil {
		t := b.constIn(n, 1, "shape")
		if t == nil {
			return nil
		}
		var err error
		if shape, err = t.ints(); err != nil {
			n.failf("shape: %v", err)
			return nil
		}
	}
	target, err := reshapeTarget(v.dims(), shape, allowzero)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
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

func onnxSqueeze(unsqueeze bool) func(b *onnxImporter, n *onode, ready bool) []*oval {
	return func(b *onnxImporter, n *onode, ready bool) []*oval {
		attr := n.attrInts("axes")
		if !ready || len(n.why) > 0 {
			return nil
		}
		v := n.in(0)
		if v == nil {
			n.failf("input is missing")
			return nil
		}
		axes, ok := b.axesArg(n, attr)
		if !ok {
			return nil
		}
		var target []int
		var err error
		if unsqueeze {
			target, err = unsqueezeDims(v.dims(), axes)
		} else {
			target, err = squeezeDims(v.dims(), axes)
		}
		if err != nil {
			n.failf("%v", err)
			return nil
		}
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
}

func onnxDropout(b *onnxImporter, n *onode, ready bool) []*oval {
	n.attrFloat("ratio", 0.5)
	n.attrInt("seed", 0)
	n.attrInt("is_test", 0)
	if !ready || len(n.why) > 0 {
		return nil
	}
	if tm := n.in(2); tm != nil {
		t := b.constIn(n, 2, "training_mode")
		if t == nil {
			return nil
		}
		for _, v := range t.v {
			if v != 0 {
				n.failf("training_mode is true: export the model in eval mode")
				return nil
			}
		}
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	return []*oval{v}
}

func onnxIdentity(b *onnxImporter, n *onode, ready bool) []*oval {
	if !ready {
		return nil
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	return []*oval{v}
}

func onnxPad(b *onnxImporter, n *onode, ready bool) []*oval {
	mode := n.attrString("mode", "constant")
	padsAttr := n.attrInts("pads")
	value := n.attrFloat("value", 0)
	if mode != "constant" {
		n.failf("mode %q: only zero (constant) padding folds into CMSIS-NN convolutions", mode)
	}
	if value != 0 {
		n.failf("padding value %v: only zero padding folds into CMSIS-NN convolutions", value)
	}
	if !ready || len(n.why) > 0 {
		return nil
	}
	x := b.actIn(n, 0, true)
	if x == nil {
		return nil
	}
	pads := padsAttr
	if pads == nil {
		t := b.constIn(n, 1, "pads")
		if t == nil {
			return nil
		}
		var err error
		if pads, err = t.ints(); err != nil {
			n.failf("pads: %v", err)
			return nil
		}
	}
	if cv := n.in(2); cv != nil {
		t := b.constIn(n, 2, "constant_value")
		if t == nil {
			return nil
		}
		for _, v := range t.v {
			if v != 0 {
				n.failf("padding value %v: only zero padding folds into CMSIS-NN convolutions", v)
				return nil
			}
		}
	}
	r := len(x.dims)
	if n.in(3) != nil {
		axes, ok := b.axesArg(n, nil)
		if !ok {
			return nil
		}
		// Padding only some axes: expand to all.
		if len(pads) != 2*len(axes) {
			n.failf("pads %v do not fit axes %v", pads, axes)
			return nil
		}
		full := make([]int, 2*r)
		for i, a := range axes {
			a, err := normAxis(a, r)
			if err != nil {
				n.failf("axes: %v", err)
				return nil
			}
			full[a], full[a+r] = pads[i], pads[i+len(axes)]
		}
		pads = full
	}
	if r != 4 || len(pads) != 8 {
		n.failf("pads %v of a %v tensor: only spatial zero padding of an [N,C,H,W] map folds into a following Conv", pads, x.dims)
		return nil
	}
	for _, p := range pads {
		if p < 0 || p > onnxMaxDim {
			n.failf("pads %v: negative padding (cropping) has no CMSIS-NN equivalent", pads)
			return nil
		}
	}
	if pads[0]|pads[1]|pads[4]|pads[5] != 0 {
		n.failf("pads %v pad the batch or channel axis; only spatial padding folds into a following Conv", pads)
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

// ---- constant folding ----

func onnxConstant(b *onnxImporter, n *onode, ready bool) []*oval {
	var t *ctensor
	set := 0
	if a := n.attr("value", onnxpb.AttributeProto_TENSOR); a != nil {
		ct, err := decodeTensor(a.GetT())
		if err != nil {
			n.failf("value: %v", err)
			return nil
		}
		t, set = ct, set+1
	}
	if a := n.attr("value_float", onnxpb.AttributeProto_FLOAT); a != nil {
		t, set = &ctensor{v: []float64{float64(a.GetF())}, dtype: onnxFloat}, set+1
	}
	if a := n.attr("value_floats", onnxpb.AttributeProto_FLOATS); a != nil {
		v := make([]float64, len(a.GetFloats()))
		for i, f := range a.GetFloats() {
			v[i] = float64(f)
		}
		t, set = &ctensor{dims: []int{len(v)}, v: v, dtype: onnxFloat}, set+1
	}
	if a := n.attr("value_int", onnxpb.AttributeProto_INT); a != nil {
		t, set = &ctensor{v: []float64{float64(a.GetI())}, dtype: onnxInt64}, set+1
	}
	if a := n.attr("value_ints", onnxpb.AttributeProto_INTS); a != nil {
		v := make([]float64, len(a.GetInts()))
		for i, x := range a.GetInts() {
			v[i] = float64(x)
		}
		t, set = &ctensor{dims: []int{len(v)}, v: v, dtype: onnxInt64}, set+1
	}
	for _, s := range []string{"value_string", "value_strings", "sparse_value"} {
		if n.attrs[s] != nil {
			n.failf("%s constants are not supported", s)
			return nil
		}
	}
	if len(n.why) > 0 {
		return nil
	}
	if set != 1 {
		n.failf("needs exactly one value attribute, has %d", set)
		return nil
	}
	return b.spend(n, t)
}

func onnxShape(b *onnxImporter, n *onode, ready bool) []*oval {
	start := n.attrInt("start", 0)
	end, hasEnd := int64(0), n.attrs["end"] != nil
	end = n.attrInt("end", 0)
	if !ready || len(n.why) > 0 {
		return nil
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	dims := v.dims()
	r := int64(len(dims))
	clamp := func(i int64) int64 {
		if i < 0 {
			i += r
		}
		return min(max(i, 0), r)
	}
	s, e := clamp(start), r
	if hasEnd {
		e = clamp(end)
	}
	t := &ctensor{dims: []int{0}, dtype: onnxInt64}
	for i := s; i < e; i++ {
		t.v = append(t.v, float64(dims[i]))
	}
	t.dims[0] = len(t.v)
	return constVal(t)
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

func onnxGather(b *onnxImporter, n *onode, ready bool) []*oval {
	axis := n.attrInt("axis", 0)
	if !ready || len(n.why) > 0 {
		return nil
	}
	if v := n.in(0); v != nil && v.stack != nil {
		return actVal(b.gatherStack(n, v.stack, int(axis)))
	}
	if v := n.in(0); v != nil && v.a != nil && b.seqViews(n, v.a) {
		return actVal(b.gatherView(n, v.a, int(axis)))
	}
	in := b.constInputs(n, "gathering from activations has no CMSIS-NN equivalent (only shape computations over constants are folded)")
	if in == nil {
		return nil
	}
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		n.failf("needs data and indices")
		return nil
	}
	t, err := gatherConst(in[0], in[1], int(axis))
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.spend(n, t)
}

func onnxCast(b *onnxImporter, n *onode, ready bool) []*oval {
	to := n.attrInt("to", 0)
	n.attrInt("saturate", 1)
	if !ready || len(n.why) > 0 {
		return nil
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	if v.a != nil {
		if int32(to) == onnxFloat {
			return []*oval{v}
		}
		n.failf("cast of an activation to %s: nnq networks compute in float (then fixed point)", onnxpb.TensorProto_DataType(to))
		return nil
	}
	t := &ctensor{dims: v.c.dims, v: make([]float64, len(v.c.v)), dtype: int32(to)}
	for i, x := range v.c.v {
		t.v[i] = castValue(x, int32(to))
	}
	return b.spend(n, t)
}

func onnxConcat(b *onnxImporter, n *onode, ready bool) []*oval {
	axis := n.attrInt("axis", 0)
	if !ready || len(n.why) > 0 {
		return nil
	}
	if st, ok := b.stackActs(n, int(axis)); ok {
		if st == nil {
			return nil
		}
		return []*oval{{stack: st}}
	}
	in := b.constInputs(n, "concatenating activations: no CMSIS-NN kernel; rewrite it as "+hint("concat"))
	if in == nil {
		return nil
	}
	var ts []*ctensor
	for _, t := range in {
		if t != nil {
			ts = append(ts, t)
		}
	}
	t, err := concatConst(ts, int(axis))
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.spend(n, t)
}

func onnxSlice(b *onnxImporter, n *onode, ready bool) []*oval {
	sa, ea, aa := n.attrInts("starts"), n.attrInts("ends"), n.attrInts("axes")
	if !ready || len(n.why) > 0 {
		return nil
	}
	if v := n.in(0); v != nil && v.a != nil && b.seqViews(n, v.a) {
		return actVal(b.sliceView(n, v.a, sa, ea, aa))
	}
	in := b.constInputs(n, "slicing activations has no CMSIS-NN equivalent (only shape computations over constants are folded)")
	if in == nil {
		return nil
	}
	if len(in) == 0 || in[0] == nil {
		n.failf("input is missing")
		return nil
	}
	starts, ends, axes := sa, ea, aa
	var steps []int
	if starts == nil {
		args := make([][]int, 4)
		for i := 1; i <= 4; i++ {
			if i < len(in) && in[i] != nil {
				v, err := in[i].ints()
				if err != nil {
					n.failf("input %d: %v", i, err)
					return nil
				}
				args[i-1] = v
			}
		}
		starts, ends, axes, steps = args[0], args[1], args[2], args[3]
	}
	t, err := sliceConst(in[0], starts, ends, axes, steps)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.spend(n, t)
}

func onnxTranspose(b *onnxImporter, n *onode, ready bool) []*oval {
	perm := n.attrInts("perm")
	if !ready || len(n.why) > 0 {
		return nil
	}
	v := n.in(0)
	if v == nil {
		n.failf("input is missing")
		return nil
	}
	if v.a != nil && b.seqViews(n, v.a) {
		return actVal(b.transposeView(n, v.a, perm))
	}
	if v.a != nil {
		identity := true
		for i, p := range perm {
			if p != i {
				identity = false
			}
		}
		if identity && perm != nil && len(perm) == len(v.a.dims) {
			return []*oval{v}
		}
		n.failf("transposing activations: CMSIS-NN keeps one HWC order; remove the transpose from the exported graph or fold it into the next layer's weights")
		return nil
	}
	t, err := transposeConst(v.c, perm)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.spend(n, t)
}

func onnxConstantOfShape(b *onnxImporter, n *onode, ready bool) []*oval {
	val := &ctensor{v: []float64{0}, dtype: onnxFloat}
	if a := n.attr("value", onnxpb.AttributeProto_TENSOR); a != nil {
		t, err := decodeTensor(a.GetT())
		if err != nil || len(t.v) != 1 {
			n.failf("value must be a one-element tensor")
			return nil
		}
		val = t
	}
	if !ready || len(n.why) > 0 {
		return nil
	}
	in := b.constInputs(n, "shape must be a constant")
	if in == nil || len(in) == 0 || in[0] == nil {
		if len(n.why) == 0 {
			n.failf("input is missing")
		}
		return nil
	}
	dims, err := in[0].ints()
	if err != nil {
		n.failf("shape: %v", err)
		return nil
	}
	size, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	t := &ctensor{dims: dims, v: make([]float64, size), dtype: val.dtype}
	for i := range t.v {
		t.v[i] = val.v[0]
	}
	return b.spend(n, t)
}

func onnxExpand(b *onnxImporter, n *onode, ready bool) []*oval {
	if !ready {
		return nil
	}
	in := b.constInputs(n, "broadcasting activations has no CMSIS-NN equivalent (only constants are expanded)")
	if in == nil {
		return nil
	}
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		n.failf("needs input and shape")
		return nil
	}
	shape, err := in[1].ints()
	if err != nil {
		n.failf("shape: %v", err)
		return nil
	}
	t, err := expandConst(in[0], shape)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	return b.spend(n, t)
}

// scaleRows multiplies row k of data (rows rows of equal length: the
// output channels of a weight tensor) by s[k].
func scaleRows(data []float32, rows int, s []float64) {
	stride := len(data) / rows
	for i := range data {
		data[i] = float32(float64(data[i]) * s[i/stride])
	}
}
