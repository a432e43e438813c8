package nnq

import (
	"fmt"
	"math"

	"github.com/nnq-toolkit/nnq/kernels"
)

// QConfig chooses how a model is quantized.
type QConfig struct {
	// Bits is the word size of the whole network: 8 (q7) or 16 (q15).
	Bits int
	// Format is q7, q15, s8 or s16 (empty: the legacy format of Bits). With
	// s8/s16 Bits may stay 0 or must agree (8, 16).
	Format Format
	// Scheme picks activation formats (default Auto).
	Scheme Scheme
	// Target is the core the code will run on: "cortex-m0", "cortex-m3",
	// "cortex-m4" (default), "cortex-m7", "cortex-m33", or "host" (the C
	// path). It decides the bit-exact semantics and the valid kernels.
	Target string
	// Truncate selects the ARM_NN_TRUNCATE build (floor instead of the
	// library's default round-half-up).
	Truncate bool
	// AffineRounding is the arithmetic of the s8/s16 formats: "" or
	// RoundingDouble (CMSIS-NN's default build), RoundingSingle
	// (CMSIS_NN_USE_SINGLE_ROUNDING) or RoundingONNX (single rounding and
	// ties-to-even average pools). Other values, and anything but the
	// default for q7/q15, are refused.
	AffineRounding AffineRounding
	// InputFrac, when set, fixes the network input format (e.g. the format
	// the sensor front end produces); it then propagates. It must lie in
	// InputFracRange(Bits).
	InputFrac *int
	// Runtime selects the C kernels: RuntimeNNQ (default, "") or
	// RuntimeCMSIS (the legacy CMSIS-NN functions).
	Runtime string
	// Optimize is OptimizeSpeed (default, "") or OptimizeSize (nnq runtime:
	// keep every weight in 8 bits).
	Optimize string
	// NoPoolShift keeps every average pool at its input format (the
	// legacy pools' behaviour) instead of letting nnq's pool shift its
	// output to the format the statistics want.
	NoPoolShift bool
	// Progress reports long steps (the accuracy search).
	Progress Progress
}

// InputFracRange is the range a fixed input format's fractional bits may
// take for a word size: from -bits (integer steps of 2^bits: raw 16-bit
// samples in a q7 word) to 2·bits-1 (values below 2^-bits). The layers
// reading the input may narrow it further.
func InputFracRange(bits int) (lo, hi int) { return -bits, 2*bits - 1 }

// DefaultTarget is the core most users deploy on.
const DefaultTarget = "cortex-m4"

// TargetPath maps a target name (one of kernels.CoreNames) to the
// CMSIS-NN code path it compiles.
func TargetPath(target string) (kernels.Target, error) {
	c, err := kernels.CoreByName(target)
	return c.Path, err
}

// qctx carries what the per-op Q-format rules need.
type qctx struct {
	q      *QModel
	m      *Model
	stats  *Stats
	scheme Scheme
	bits   int
	acts   map[string]Act
	// readers maps a tensor to the layers that read it.
	readers map[string][]*Layer
	// delta shifts the scheme's choice per tensor (the accuracy search).
	delta map[string]int
	// keptW and refusedW list the s8 layers whose imported (QDQ) weight
	// scales were kept or could not be.
	keptW, refusedW []string
	// noPoolShift is QConfig.NoPoolShift.
	noPoolShift bool
}

// want is the format the scheme asks for tensor name, looking through a
// lone relu reader (only the positive part of a conv output survives it).
func (c *qctx) want(name string) int {
	d := c.delta[name]
	if rs := c.readers[name]; len(rs) == 1 && rs[0].Op == OpReLU {
		name = rs[0].Name
	}
	s := c.stats.Tensor(name)
	if s == nil || s.Count == 0 {
		return c.bits - 1 + d
	}
	return c.scheme.Frac(s, c.bits) + d
}

// why says in a few words why the scheme wants its format for tensor
// name (the same look-through as want).
func (c *qctx) why(name string) string {
	if rs := c.readers[name]; len(rs) == 1 && rs[0].Op == OpReLU {
		name = rs[0].Name
	}
	s := c.stats.Tensor(name)
	if s == nil || s.Count == 0 {
		return "no calibration values"
	}
	if e, ok := c.scheme.(explainer); ok {
		return e.Why(s, c.bits)
	}
	return c.scheme.Name()
}

// allowed is the range of formats the readers of tensor name accept.
func (c *qctx) allowed(name string) (lo, hi int) {
	lo, hi = math.MinInt32, math.MaxInt32
	for _, r := range c.readers[name] {
		var l, h int
		switch r.Op {
		case OpSigmoid, OpTanh:
			l, h = c.bits-4, c.bits-1
		case OpReLU, OpMaxPool2D, OpAvgPool2D, OpFlatten, OpReshape:
			l, h = c.allowed(r.Name)
		default:
			continue
		}
		lo, hi = max(lo, l), min(hi, h)
	}
	return lo, hi
}

// Quantize derives every tensor's Q-format from the statistics, the scheme
// and the layers' constraints, computes bias and output shifts, quantizes
// the parameters and chooses each layer's kernel for the target. cm must be
// the CMSIS-layout model the statistics were collected on.
func Quantize(cm *Model, stats *Stats, cfg QConfig) (*QModel, error) {
	if cfg.Scheme == nil {
		cfg.Scheme = Auto{}
	}
	if f, err := cfg.format(); err == nil && f.Affine() {
		// Auto picks among Q-format candidates; s8/s16 ranges come from
		// MSE, the scheme their accuracy was measured with.
		if _, ok := cfg.Scheme.(Auto); ok {
			cfg.Scheme = MSE{}
		}
	}
	q, err := quantize(cm, stats, cfg, nil)
	if err != nil {
		return nil, err
	}
	if r, ok := cfg.Scheme.(refiner); ok {
		return r.refine(q, cm, stats, cfg)
	}
	return q, nil
}

// A refiner is a scheme that improves its statistics choice by simulating
// candidate formats (Auto, Search).
type refiner interface {
	refine(q *QModel, cm *Model, stats *Stats, cfg QConfig) (*QModel, error)
}

// quantize is Quantize with per-tensor format offsets (used by Search).
func quantize(cm *Model, stats *Stats, cfg QConfig, delta map[string]int) (*QModel, error) {
	if cm.Layout != CMSIS {
		return nil, fmt.Errorf("quantize %q: convert the model with ToCMSIS first", cm.Name)
	}
	f, err := cfg.format()
	if err != nil {
		return nil, fmt.Errorf("quantize %q: %w", cm.Name, err)
	}
	cfg.Format, cfg.Bits = f, f.Bits()
	if cfg.Scheme == nil {
		cfg.Scheme = Auto{}
	}
	if cfg.Target == "" {
		cfg.Target = DefaultTarget
	}
	core, err := kernels.CoreByName(cfg.Target)
	if err != nil {
		return nil, err
	}
	cfg.Target = core.Name
	path := core.Path
	runtime, err := ParseRuntime(cfg.Runtime)
	if err != nil {
		return nil, fmt.Errorf("quantize %q: %w", cm.Name, err)
	}
	optimize, err := ParseOptimize(cfg.Optimize)
	if err != nil {
		return nil, fmt.Errorf("quantize %q: %w", cm.Name, err)
	}
	if err := CheckAffineRounding(cfg.AffineRounding, f, cfg.Bits); err != nil {
		return nil, fmt.Errorf("quantize %q: %w", cm.Name, err)
	}
	cfg.AffineRounding, _ = ParseAffineRounding(string(cfg.AffineRounding))
	if stats == nil || stats.Tensor(cm.inputName()) == nil {
		return nil, fmt.Errorf("quantize %q: no calibration statistics for its input", cm.Name)
	}
	for _, l := range cm.Layers {
		if stats.Tensor(l.Name) == nil {
			return nil, fmt.Errorf("quantize %q: no statistics for layer %q (were they collected on another model?)", cm.Name, l.Name)
		}
	}
	acts, err := cm.Shapes()
	if err != nil {
		return nil, err
	}
	if f.Affine() {
		return quantizeAffine(cm, stats, cfg, delta, path, acts)
	}
	q := &QModel{Name: cm.Name, Float: cm, Bits: cfg.Bits, Format: f, Scheme: cfg.Scheme.Name(), Target: cfg.Target, Path: path,
		Runtime: runtime, Optimize: optimize, InputName: cm.inputName(), Frac: map[string]int{}}
	if cfg.Truncate {
		q.Rounding = kernels.Truncate
	}
	c := &qctx{q: q, m: cm, stats: stats, scheme: cfg.Scheme, bits: cfg.Bits, acts: acts, readers: map[string][]*Layer{}, delta: delta, noPoolShift: cfg.NoPoolShift}
	for i, l := range cm.Layers {
		for _, n := range cm.inputsOf(i) {
			c.readers[n] = append(c.readers[n], l)
		}
	}
	in := cm.inputName()
	lo, hi := c.allowed(in)
	if cfg.InputFrac != nil {
		q.InputFrac, q.InputReason = *cfg.InputFrac, "fixed by the caller (the sensor's format)"
		if flo, fhi := InputFracRange(cfg.Bits); q.InputFrac < flo || q.InputFrac > fhi {
			return nil, fmt.Errorf("quantize %q: the fixed input format has %d fractional bits; a %d-bit word takes %d..%d", cm.Name, q.InputFrac, cfg.Bits, flo, fhi)
		}
		if q.InputFrac < lo || q.InputFrac > hi {
			return nil, fmt.Errorf("quantize %q: the fixed input format %s does not suit the layers reading the input (they accept Q formats with %d..%d fractional bits)", cm.Name, QFormat(cfg.Bits, q.InputFrac), lo, hi)
		}
	} else {
		q.InputFrac, q.InputReason = min(max(c.want(in), lo), hi), c.why(in)
		if q.InputFrac != c.want(in) {
			q.InputReason = fmt.Sprintf("limited to %d..%d fractional bits by its readers", lo, hi)
		}
		if st := stats.Tensor(in); st.AbsMax() == 0 {
			q.Notes = append(q.Notes, fmt.Sprintf("the network input is constant zero on the calibration set: it gets %s", QFormat(cfg.Bits, q.InputFrac)))
		}
	}
	q.Frac[in] = q.InputFrac
	for i, l := range cm.Layers {
		names := cm.inputsOf(i)
		ql := &QLayer{Name: l.Name, Op: l.Op, Inputs: names, Out: acts[l.Name]}
		for _, n := range names {
			ql.In = append(ql.In, acts[n])
			ql.InFrac = append(ql.InFrac, q.Frac[n])
		}
		s := ops[l.Op]
		if s.qformat == nil {
			return nil, fmt.Errorf("layer %q: %s has no fixed-point form (run Prepare before quantizing)", l.Name, l.Op)
		}
		ql.WantFrac, ql.Reason = c.want(l.Name), c.why(l.Name)
		if err := s.qformat(c, l, ql); err != nil {
			return nil, err
		}
		if st := stats.Tensor(l.Name); st.Count > 0 && st.AbsMax() == 0 {
			ql.Notes = append(ql.Notes, "output is constant zero on the calibration set")
		}
		q.Frac[l.Name] = ql.OutFrac
		q.Layers = append(q.Layers, ql)
	}
	if err := q.chooseKernels(); err != nil {
		return nil, err
	}
	return q, nil
}

// format resolves the configured format: Format, or the legacy format of
// Bits; both given must agree.
func (cfg QConfig) format() (Format, error) {
	if cfg.Format == "" {
		return FormatOfBits(cfg.Bits)
	}
	if _, err := ParseFormat(string(cfg.Format)); err != nil {
		return "", err
	}
	if cfg.Bits != 0 && cfg.Bits != cfg.Format.Bits() {
		return "", fmt.Errorf("format %s has %d-bit activations, not %d", cfg.Format, cfg.Format.Bits(), cfg.Bits)
	}
	return cfg.Format, nil
}

// quantizeValues rounds v·2^frac to the nearest integer (ties away from
// zero) and saturates to the word size, counting saturated values.
func quantizeValues(v []float32, frac, bits int) (out []int16, saturated int) {
	out = make([]int16, len(v))
	return out, quantizeInto(v, frac, bits, out)
}

func absMax(v []float32) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	return m
}

// qformatWeighted is the Q-format rule of conv2d, depthwise_conv2d and
// dense: the output format is free (set through out_shift), the weight and
// bias formats come from their values, and
//
//	bias_shift = fi + fw - fb,  out_shift = fi + fw - fo,
//
// both of which must be >= 0. A bias format finer than fi+fw is lowered to
// fi+fw; an output format finer than fi+fw is lowered to fi+fw; the weight
// format is lowered while the largest accumulator (from the float output
// range, or the bias) would not fit 31 bits.
func qformatWeighted(c *qctx, l *Layer, ql *QLayer) error {
	B := c.bits
	fi := ql.InFrac[0]
	w := c.m.Param(l, "weight")
	var bias []float32
	if b := c.m.Param(l, "bias"); b != nil {
		bias = b.Data
	} else {
		bias = make([]float32, ql.Out.Shape[len(ql.Out.Shape)-1])
	}
	fw := FracForRange(absMax(w.Data), B)
	fb := FracForRange(absMax(bias), B)
	accMax := math.Max(c.stats.Tensor(l.Name).AbsMax(), absMax(bias))
	for accMax*math.Exp2(float64(fi+fw)) >= math.Exp2(30) {
		fw--
		ql.Notes = append(ql.Notes, fmt.Sprintf("weight format lowered to %s so the accumulator (up to %.3g, %d fractional bits) keeps a bit of headroom in 32 bits", QFormat(B, fw), accMax, fi+fw))
	}
	if fb > fi+fw {
		ql.Notes = append(ql.Notes, fmt.Sprintf("bias format lowered from %s to %s so bias_shift stays >= 0", QFormat(B, fb), QFormat(B, fi+fw)))
		fb = fi + fw
	}
	fo := ql.WantFrac
	lo, hi := c.allowed(l.Name)
	if fo < lo || fo > hi {
		fo = min(max(fo, lo), hi)
		ql.Notes = append(ql.Notes, fmt.Sprintf("output format %s chosen for the layers reading it (they accept %d..%d fractional bits; the statistics wanted %s)", QFormat(B, fo), lo, hi, QFormat(B, ql.WantFrac)))
		ql.Reason = fmt.Sprintf("its readers accept only %d..%d fractional bits", lo, hi)
	}
	if fo > fi+fw {
		ql.Notes = append(ql.Notes, fmt.Sprintf("output format %s limited to %s = input + weight fractional bits (out_shift cannot be negative)", QFormat(B, fo), QFormat(B, fi+fw)))
		fo = fi + fw
		ql.Reason = "at most input + weight fractional bits (out_shift >= 0)"
	}
	if fi+fw-fo > 31 {
		fo = fi + fw - 31
		ql.Notes = append(ql.Notes, fmt.Sprintf("output format raised to %s to keep out_shift <= 31", QFormat(B, fo)))
		ql.Reason = "raised to keep out_shift <= 31"
	}
	if fo < lo {
		return fmt.Errorf("layer %q: its readers need an output format with at least %d fractional bits, but input (%s) and weights (%s) allow at most %d", l.Name, lo, QFormat(B, fi), QFormat(B, fw), fi+fw)
	}
	ql.WeightFrac, ql.BiasFrac, ql.OutFrac = fw, fb, fo
	ql.BiasShift, ql.OutShift = fi+fw-fb, fi+fw-fo
	var ns int
	ql.Weights, ns = quantizeValues(w.Data, fw, B)
	if ns > 0 {
		ql.Notes = append(ql.Notes, fmt.Sprintf("%d weight(s) equal to the range bound saturated by one step", ns))
	}
	ql.Bias, _ = quantizeValues(bias, fb, B)
	return nil
}

// qformatKeep is the rule of layers that cannot rescale (relu, max pool,
// flatten, reshape): the output keeps the input format.
func qformatKeep(c *qctx, l *Layer, ql *QLayer) error {
	ql.OutFrac = ql.InFrac[0]
	ql.Reason = fmt.Sprintf("%s keeps its input's format", l.Op)
	return nil
}

// qformatAvgPool: nnq's average pool shifts the window sum left by k bits
// before dividing, so its output may have k more fractional bits than its
// input: the mean of many values is known more finely than any one of
// them. k is what the statistics want for the output (never negative: the
// pool cannot drop bits), limited by the readers and kernels.MaxPoolShift.
func qformatAvgPool(c *qctx, l *Layer, ql *QLayer) error {
	B, fi := c.bits, ql.InFrac[0]
	ql.OutFrac, ql.PoolShift = fi, 0
	lo, hi := c.allowed(l.Name)
	want := min(max(ql.WantFrac, lo), hi)
	k := min(max(want-fi, 0), kernels.MaxPoolShift)
	ql.Reason = "keeps its input's format (a pool cannot drop bits)"
	switch {
	case c.noPoolShift:
		ql.Reason = "keeps its input's format (pool shift disabled)"
		if ql.WantFrac > fi {
			ql.Notes = append(ql.Notes, fmt.Sprintf("pool shift disabled: the output keeps the input format %s (the statistics wanted %s)", QFormat(B, fi), QFormat(B, ql.WantFrac)))
		}
	case k > 0:
		ql.OutFrac, ql.PoolShift = fi+k, k
		ql.Reason = fmt.Sprintf("input + %d bit(s) by the pool shift", k)
		ql.Notes = append(ql.Notes, fmt.Sprintf("the average pool shifts its sum left by %d bit(s) before dividing: output %s from input %s", k, QFormat(B, fi+k), QFormat(B, fi)))
	case ql.WantFrac < fi:
		ql.Notes = append(ql.Notes, fmt.Sprintf("the statistics wanted %s, coarser than the input %s; a pool cannot drop bits, so the output keeps the input format", QFormat(B, ql.WantFrac), QFormat(B, fi)))
	}
	return nil
}

// qformatTable is the rule of the table-driven sigmoid and tanh: the input
// must be Q(w).(B-1-w) with w = int_width in 0..3, the output is Q0.(B-1).
func qformatTable(c *qctx, l *Layer, ql *QLayer) error {
	ql.IntWidth = c.bits - 1 - ql.InFrac[0]
	if ql.IntWidth < 0 || ql.IntWidth > 3 {
		return fmt.Errorf("layer %q: %s reads %s, but the CMSIS-NN table kernel takes only inputs with 0..3 integer bits (Q0.%d..Q3.%d); put it right after a conv or dense layer so nnq can choose that layer's output format", l.Name, l.Op, QFormat(c.bits, ql.InFrac[0]), c.bits-1, c.bits-4)
	}
	ql.OutFrac = c.bits - 1
	ql.Reason = "fixed by the table kernel"
	return nil
}

// qformatSoftmax: the legacy softmax outputs Q0.7 (q7) or Q0.15 (q15). It
// is base 2 on the integer inputs, so its values differ from the float
// softmax; the arg-max is preserved up to ties.
func qformatSoftmax(c *qctx, l *Layer, ql *QLayer) error {
	ql.OutFrac = c.bits - 1
	ql.Reason = "fixed by the softmax kernel"
	return nil
}

// qformatAdd: nnq_add aligns both inputs to F = max(fa, fb, fo) fractional
// bits with left shifts, adds in 32 bits and shifts right to fo.
func qformatAdd(c *qctx, l *Layer, ql *QLayer) error {
	B := c.bits
	fo := ql.WantFrac
	lo, hi := c.allowed(l.Name)
	fo = min(max(fo, lo), hi)
	if fo != ql.WantFrac {
		ql.Reason = fmt.Sprintf("its readers accept only %d..%d fractional bits", lo, hi)
	}
	fa, fb := ql.InFrac[0], ql.InFrac[1]
	F := max(fa, fb, fo)
	// A left shift must keep a word's extreme inside 31 bits.
	if limit := min(fa, fb) + 31 - B; F > limit {
		F = limit
		if fo > F {
			fo = F
			ql.Notes = append(ql.Notes, fmt.Sprintf("output format limited to %s: the inputs' formats are too far apart to align it more finely", QFormat(B, fo)))
			ql.Reason = "limited by aligning its inputs"
		}
	}
	ql.OutFrac = fo
	ql.Shifts = []int{F - fa, F - fb}
	ql.OutShift = F - fo
	return nil
}

// qformatMul: arm_nn_mult computes (a·b + round) >> out_shift with
// out_shift = fa + fb - fo >= 0.
func qformatMul(c *qctx, l *Layer, ql *QLayer) error {
	B := c.bits
	fo := ql.WantFrac
	lo, hi := c.allowed(l.Name)
	fo = min(max(fo, lo), hi)
	if fo != ql.WantFrac {
		ql.Reason = fmt.Sprintf("its readers accept only %d..%d fractional bits", lo, hi)
	}
	sum := ql.InFrac[0] + ql.InFrac[1]
	if fo > sum {
		ql.Notes = append(ql.Notes, fmt.Sprintf("output format limited to %s = the sum of the input fractional bits", QFormat(B, sum)))
		fo = sum
		ql.Reason = "at most the sum of its inputs' fractional bits"
	}
	if sum-fo > 31 {
		fo = sum - 31
	}
	if fo < lo {
		return fmt.Errorf("layer %q: its readers need at least %d fractional bits, the product has %d", l.Name, lo, sum)
	}
	ql.OutFrac = fo
	ql.OutShift = sum - fo
	return nil
}
