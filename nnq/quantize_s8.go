package nnq

import (
	"fmt"
	"math"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Quantization for today's CMSIS-NN API (formats s8 and s16, TFLite's int8
// and int16x8 schemes; docs/QUANTIZATION.md, "s8 and s16"):
//
//   - every activation tensor gets a scale and a zero point from the
//     scheme's clipping range of its statistics (SchemeRange): s8
//     asymmetric over [-128, 127], s16 symmetric (zero point 0);
//   - weights are int8, symmetric, one scale per output channel
//     (max |w|/127), one per tensor for fully connected layers (their C
//     function takes one multiplier);
//   - biases are int32 (s8) or int64 (s16) at scale input·weight;
//   - each layer requantizes with multiplier/shift = input·weight/output
//     scale per channel (QuantizeMultiplier);
//   - a ReLU that is the only reader of a conv, depthwise, dense, pooling,
//     add or mul output is fused into that layer's activation clamp (from
//     the output zero point up) and becomes a buffer view; the producer's
//     output then takes the ReLU output's statistics;
//   - pools, flatten, reshape and standalone ReLUs keep their input's
//     format; softmax, sigmoid and tanh outputs have TFLite's fixed formats.

// fusable lists the ops whose C function clamps its output, so a ReLU
// reading them alone can be fused.
var fusable = map[Op]bool{OpConv2D: true, OpDepthwiseConv2D: true, OpDense: true, OpMaxPool2D: true, OpAvgPool2D: true, OpAdd: true, OpMul: true}

// fusedReLUs returns the ReLU layers fused into their producer.
func fusedReLUs(m *Model, readers map[string][]*Layer) map[string]bool {
	fused := map[string]bool{}
	for i, l := range m.Layers {
		if l.Op != OpReLU {
			continue
		}
		in := m.inputsOf(i)[0]
		if p := m.Layer(in); p != nil && fusable[p.Op] && len(readers[in]) == 1 {
			fused[l.Name] = true
		}
	}
	return fused
}

// affineFor is the affine format the scheme gives tensor name (looking
// through a fused ReLU reader, whose statistics are the tensor's after the
// clamp), moved by the search's delta (d half-octaves: the range times
// 2^(-d/2)).
func (c *qctx) affineFor(name string, fused map[string]bool) Affine {
	src := name
	if rs := c.readers[name]; len(rs) == 1 && fused[rs[0].Name] {
		src = rs[0].Name
	}
	for _, n := range []string{src, name} {
		if a, ok := c.importedAffine(n); ok {
			return a
		}
	}
	lo, hi := SchemeRange(c.scheme, c.stats.Tensor(src), c.bits)
	if d := c.delta[name]; d != 0 {
		f := math.Exp2(-float64(d) / 2)
		lo, hi = lo*f, hi*f
	}
	return affineFromRange(lo, hi, c.bits)
}

func quantizeAffine(cm *Model, stats *Stats, cfg QConfig, delta map[string]int, path kernels.Target, acts map[string]Act) (*QModel, error) {
	if cfg.Truncate {
		return nil, fmt.Errorf("quantize %q: truncation (ARM_NN_TRUNCATE) is a legacy q7/q15 option; the %s API always rounds", cm.Name, cfg.Format)
	}
	q := &QModel{Name: cm.Name, Float: cm, Bits: cfg.Bits, Format: cfg.Format, Scheme: cfg.Scheme.Name(), Target: cfg.Target, Path: path,
		AffineRounding: cfg.AffineRounding, InputName: cm.inputName(), Frac: map[string]int{}, Affine: map[string]Affine{}}
	c := &qctx{q: q, m: cm, stats: stats, scheme: cfg.Scheme, bits: cfg.Bits, acts: acts, readers: map[string][]*Layer{}, delta: delta}
	for i, l := range cm.Layers {
		for _, n := range cm.inputsOf(i) {
			c.readers[n] = append(c.readers[n], l)
		}
	}
	fused := fusedReLUs(cm, c.readers)
	in := cm.inputName()
	if a, ok := c.importedAffine(in); ok && cfg.InputFrac == nil {
		q.Affine[in] = a
	} else if cfg.InputFrac != nil {
		q.Affine[in] = Affine{Scale: math.Exp2(-float64(*cfg.InputFrac))}
	} else {
		q.Affine[in] = c.affineFor(in, fused)
		if st := stats.Tensor(in); st.AbsMax() == 0 {
			q.Notes = append(q.Notes, fmt.Sprintf("the network input is constant zero on the calibration set: it gets scale %g", q.Affine[in].Scale))
		}
	}
	for i, l := range cm.Layers {
		names := cm.inputsOf(i)
		ql := &QLayer{Name: l.Name, Op: l.Op, Inputs: names, Out: acts[l.Name], S8: &S8Layer{}}
		s := ql.S8
		for _, n := range names {
			ql.In = append(ql.In, acts[n])
			s.In = append(s.In, q.Affine[n])
		}
		s.ActMin, s.ActMax = qRange(c.bits)
		fusedHere := false
		if rs := c.readers[l.Name]; len(rs) == 1 && fused[rs[0].Name] {
			fusedHere = true
		}
		if err := c.qformatS8(l, ql, fused, fusedHere); err != nil {
			return nil, err
		}
		if fusedHere {
			s.FusedReLU = true
			s.ActMin = max(s.ActMin, s.Out.Zero)
		}
		if s.Add != nil {
			s.Add.OutActivationMin, s.Add.OutActivationMax = s.ActMin, s.ActMax
		}
		if s.Mul != nil {
			s.Mul.OutActivationMin, s.Mul.OutActivationMax = s.ActMin, s.ActMax
		}
		if st := stats.Tensor(l.Name); st.Count > 0 && st.AbsMax() == 0 {
			ql.Notes = append(ql.Notes, "output is constant zero on the calibration set")
		}
		q.Affine[l.Name] = s.Out
		q.Layers = append(q.Layers, ql)
	}
	if err := q.chooseS8(); err != nil {
		return nil, err
	}
	q.Notes = append(q.Notes, qdqNotes(cm, q, c.keptW, c.refusedW)...)
	return q, nil
}

// qformatS8 sets layer l's output format and parameters.
func (c *qctx) qformatS8(l *Layer, ql *QLayer, fused map[string]bool, fusedHere bool) error {
	s := ql.S8
	in := s.In[0]
	switch l.Op {
	case OpConv2D, OpDepthwiseConv2D, OpDense:
		s.Out = c.affineFor(l.Name, fused)
		return c.weightedS8(l, ql)
	case OpReLU:
		s.Out = in
		if fused[l.Name] {
			s.Fused = true
			return nil
		}
		s.ActMin = max(s.ActMin, in.Zero)
	case OpMaxPool2D, OpAvgPool2D, OpFlatten, OpReshape:
		s.Out = in
	case OpSoftmax:
		return c.softmaxS8(l, ql)
	case OpSigmoid, OpTanh:
		return c.activationS8(l, ql)
	case OpAdd, OpMul:
		s.Out = c.affineFor(l.Name, fused)
		return c.elementwiseS8(l, ql)
	case OpGRU, OpLSTM:
		return c.recurrentS8(l, ql)
	default:
		return fmt.Errorf("layer %q: %s has no %s form (run Prepare before quantizing)", l.Name, l.Op, c.q.Format)
	}
	return nil
}

// multiplier quantizes a real requantization multiplier for layer l; s64
// marks one applied by arm_nn_requantize_s64 (the s16 conv, depthwise and
// fully connected layers), which needs shift <= 14.
func (c *qctx) multiplier(l *Layer, what string, m float64, s64 bool) (int32, int32, error) {
	mult, shift, ok := QuantizeMultiplier(m)
	if !ok || (s64 && shift > 14) {
		return 0, 0, fmt.Errorf("layer %q: the %s multiplier %g is too large for the %s API (input scale too coarse for the output's); check the statistics", l.Name, what, m, c.q.Format)
	}
	return mult, shift, nil
}

// quantizeWeights quantizes w symmetrically to int8 with one scale per
// channel (chan maps a weight index to its channel); an all-zero channel
// gets scale 1.
func quantizeWeights(w []float32, n int, chanOf func(i int) int) (q []int8, scales []float64) {
	scales = make([]float64, n)
	for i, v := range w {
		k := chanOf(i)
		scales[k] = math.Max(scales[k], math.Abs(float64(v)))
	}
	for k := range scales {
		if scales[k] == 0 {
			scales[k] = 127
		}
		scales[k] /= 127
	}
	q = make([]int8, len(w))
	for i, v := range w {
		r := math.Round(float64(v) / scales[chanOf(i)])
		q[i] = int8(math.Min(math.Max(r, -127), 127))
	}
	return q, scales
}

// weightedS8 is the rule of conv2d, depthwise_conv2d and dense.
func (c *qctx) weightedS8(l *Layer, ql *QLayer) error {
	s := ql.S8
	w := c.m.Param(l, "weight")
	nOut := ql.Out.Shape[len(ql.Out.Shape)-1]
	if l.Op == OpDense {
		nOut = ql.Out.Size()
	}
	var chanOf func(i int) int
	nScales := nOut
	switch l.Op {
	case OpConv2D:
		per := len(w.Data) / nOut
		chanOf = func(i int) int { return i / per }
	case OpDepthwiseConv2D:
		chanOf = func(i int) int { return i % nOut }
	default:
		nScales = 1
		chanOf = func(int) int { return 0 }
	}
	if qw, sc, ok := c.importedWeights(w, nScales, chanOf); ok {
		s.Weights, s.WeightScale = qw, sc
		c.keptW = append(c.keptW, l.Name)
	} else {
		if c.m.QDQ != nil && c.bits == 8 {
			if _, had := c.m.QDQ.Weight[w.Name]; had {
				c.refusedW = append(c.refusedW, fmt.Sprintf("layer %q (its C function takes %d scale(s), or the weights are off the imported grid)", l.Name, nScales))
			}
		}
		s.Weights, s.WeightScale = quantizeWeights(w.Data, nScales, chanOf)
	}
	bias := make([]float32, nOut)
	if b := c.m.Param(l, "bias"); b != nil {
		copy(bias, b.Data)
	}
	sIn := s.In[0].Scale
	clipped := 0
	for o, b := range bias {
		sw := s.WeightScale[min(o, nScales-1)]
		v := math.Round(float64(b) / (sIn * sw))
		if c.bits == 16 {
			s.Bias64 = append(s.Bias64, int64(math.Min(math.Max(v, -(1<<62)), 1<<62)))
			continue
		}
		if v > math.MaxInt32 || v < math.MinInt32 {
			clipped++
			v = math.Min(math.Max(v, math.MinInt32), math.MaxInt32)
		}
		s.Bias32 = append(s.Bias32, int32(v))
	}
	if clipped > 0 {
		ql.Notes = append(ql.Notes, fmt.Sprintf("%d bias value(s) beyond int32 at scale input·weight were clipped", clipped))
	}
	for k, sw := range s.WeightScale {
		m, sh, err := c.multiplier(l, "output", sIn*sw/s.Out.Scale, c.bits == 16)
		if err != nil {
			return fmt.Errorf("%w (channel %d)", err, k)
		}
		s.Mult, s.Shift = append(s.Mult, m), append(s.Shift, sh)
	}
	return nil
}

// softmaxS8: TFLite's int8 softmax (beta 1): output scale 1/256, zero
// point -128; the input difference is scaled into Q5.26 by
// input_beta_multiplier/left_shift and differences below diff_min
// (-input radius) give 0. s16: output 1/32768, zero point 0; the input
// multiplier maps a difference of 10.0 onto 65535 steps for the exp table.
func (c *qctx) softmaxS8(l *Layer, ql *QLayer) error {
	s := ql.S8
	sIn := s.In[0].Scale
	if c.bits == 16 {
		s.Out = Affine{Scale: 1.0 / 32768}
		m, sh, err := c.multiplier(l, "softmax input", sIn/(10.0/65535.0), false)
		if err != nil {
			return err
		}
		s.Mult, s.Shift = []int32{m}, []int32{sh}
		return nil
	}
	s.Out = Affine{Scale: 1.0 / 256, Zero: -128}
	const intBits = 5
	real := math.Min(sIn*float64(int64(1)<<(31-intBits)), float64(int64(1)<<31-1))
	m, sh, ok := QuantizeMultiplier(real)
	if !ok || real <= 1 || sh < 0 || sh > 31 {
		return fmt.Errorf("layer %q: softmax input scale %g is outside what arm_softmax_s8 can take", l.Name, sIn)
	}
	s.Mult, s.Shift = []int32{m}, []int32{sh}
	radius := float64(int64(1)<<intBits-1) * float64(int64(1)<<(31-intBits)) / float64(int64(1)<<sh)
	s.DiffMin = -int32(math.Floor(radius))
	return nil
}

// activationS8: sigmoid and tanh. s8: a 256-entry table from the input's
// format to TFLite's fixed output formats (sigmoid 1/256 @ -128, tanh
// 1/128 @ 0). s16: input requantized to Q3.12, interpolated table, output
// Q0.15 (scale 2^-15, zero point 0).
func (c *qctx) activationS8(l *Layer, ql *QLayer) error {
	s := ql.S8
	in := s.In[0]
	f := sigmoid64
	if l.Op == OpTanh {
		f = math.Tanh
	}
	if c.bits == 16 {
		s.Out = Affine{Scale: math.Exp2(-15)}
		m, sh, err := c.multiplier(l, "input", in.Scale*4096, false)
		if err != nil {
			return err
		}
		s.Mult, s.Shift = []int32{m}, []int32{sh}
		return nil
	}
	s.Out = Affine{Scale: 1.0 / 256, Zero: -128}
	if l.Op == OpTanh {
		s.Out = Affine{Scale: 1.0 / 128}
	}
	s.LUT = make([]int8, 256)
	for k := range s.LUT {
		y := math.Round(f(in.Real(int32(k-128)))/s.Out.Scale) + float64(s.Out.Zero)
		s.LUT[k] = int8(math.Min(math.Max(y, -128), 127))
	}
	return nil
}

// elementwiseS8: TFLite's ADD (both inputs rescaled to twice the larger
// input scale with left_shift bits of headroom — 20 for int8, 15 for int16
// — then to the output) and MUL (one multiplier input1·input2/output
// scale). s16 runs nnq's own nnq_add_s16 / nnq_mul_s16 (offsets 0).
func (c *qctx) elementwiseS8(l *Layer, ql *QLayer) error {
	s := ql.S8
	a, b, o := s.In[0], s.In[1], s.Out
	lo, hi := qRange(c.bits)
	if l.Op == OpMul {
		m, sh, err := c.multiplier(l, "output", a.Scale*b.Scale/o.Scale, false)
		if err != nil {
			return err
		}
		s.Mul = &kernels.ElementwiseMulS8Params{Input1Offset: -a.Zero, Input2Offset: -b.Zero, OutOffset: o.Zero, OutMult: m, OutShift: sh,
			OutActivationMin: lo, OutActivationMax: hi}
		return nil
	}
	leftShift := int32(20)
	if c.bits == 16 {
		leftShift = 15
	}
	twice := 2 * math.Max(a.Scale, b.Scale)
	m1, s1, _ := QuantizeMultiplier(a.Scale / twice)
	m2, s2, _ := QuantizeMultiplier(b.Scale / twice)
	mo, so, err := c.multiplier(l, "output", twice/(float64(int64(1)<<leftShift)*o.Scale), false)
	if err != nil {
		return err
	}
	s.Add = &kernels.ElementwiseAddS8Params{Input1Offset: -a.Zero, Input1Mult: m1, Input1Shift: s1, Input2Offset: -b.Zero, Input2Mult: m2,
		Input2Shift: s2, LeftShift: leftShift, OutOffset: o.Zero, OutMult: mo, OutShift: so, OutActivationMin: lo, OutActivationMax: hi}
	return nil
}
