package kernels

import "math"

// nnq's own kernels for s8/s16 networks (C twins in codegen/crt/c/nnq_s8_nnq.c,
// always compiled, also next to the real CMSIS-NN library): layers today's
// CMSIS-NN API has no function for, in the API's style (zero points, real
// scales through multiplier/shift, activation clamps).

// NNQClampS8 is nnq_clamp_s8: out[i] = clamp(in[i], lo, hi) for n values;
// a ReLU that cannot be fused into its producer is the clamp at the zero
// point. out may alias in.
func NNQClampS8(o Opts, in []int8, lo, hi int32, out []int8, n int) error {
	return clampN("nnq_clamp_s8", o, in, lo, hi, out, n, s8Min, s8Max)
}

// NNQClampS16 is nnq_clamp_s16, NNQClampS8 for int16.
func NNQClampS16(o Opts, in []int16, lo, hi int32, out []int16, n int) error {
	return clampN("nnq_clamp_s16", o, in, lo, hi, out, n, s16Min, s16Max)
}

func clampN[T int8 | int16](fn string, o Opts, in []T, lo, hi int32, out []T, n int, tmin, tmax int32) error {
	if err := checkAct(fn, Activation{lo, hi}, tmin, tmax); err != nil {
		return err
	}
	if n < 0 || len(in) < n || len(out) < n {
		return invalid(fn, "size %d for buffers of %d and %d", n, len(in), len(out))
	}
	for i := 0; i < n; i++ {
		out[i] = T(clampAct(o.Stats, int32(in[i]), lo, hi, tmin, tmax))
	}
	if o.Stats != nil {
		o.Stats.Calls++
	}
	return nil
}

// NNQLUTS8 is nnq_lut_s8: out[i] = lut[in[i] + 128] (a 256-entry table, the
// int8 sigmoid and tanh). out may alias in.
func NNQLUTS8(o Opts, in []int8, lut []int8, out []int8, n int) error {
	const fn = "nnq_lut_s8"
	if len(lut) < 256 {
		return invalid(fn, "the table has %d entries, needs 256", len(lut))
	}
	if n < 0 || len(in) < n || len(out) < n {
		return invalid(fn, "size %d for buffers of %d and %d", n, len(in), len(out))
	}
	for i := 0; i < n; i++ {
		out[i] = lut[int(in[i])+128]
	}
	if o.Stats != nil {
		o.Stats.Calls++
		o.Stats.Values += int64(n)
	}
	return nil
}

// LUTS16 is the interpolating look-up of a 513-entry int16 table over the
// int16 range, the arithmetic of arm_softmax_s16's tables: i = 256 +
// (v >> 7), f = v & 0x7F, T[i] + ((T[i+1] − T[i])·f + 64) >> 7.
func LUTS16(t []int16, v int32) int16 { return lutS16(t, v) }

// NNQActS16 is nnq_act_s16, an int16 sigmoid or tanh: v = SAT16(
// Requantize(in[i], mult, shift)) brings the input to Q3.12 (the table's
// domain [-8, 8)), out[i] = LUTS16(lut, v) (Q0.15 for the tables of
// ActTableS16). out may alias in.
func NNQActS16(o Opts, in []int16, mult, shift int32, lut []int16, out []int16, n int) error {
	const fn = "nnq_act_s16"
	if len(lut) < 513 {
		return invalid(fn, "the table has %d entries, needs 513", len(lut))
	}
	if err := checkMultShift(fn, mult, shift); err != nil {
		return err
	}
	if n < 0 || len(in) < n || len(out) < n {
		return invalid(fn, "size %d for buffers of %d and %d", n, len(in), len(out))
	}
	for i := 0; i < n; i++ {
		v := o.Requant.Requantize(int32(in[i]), mult, shift)
		if o.Stats != nil {
			o.Stats.recordClamp(v, s16Min, s16Max, s16Min, s16Max)
		}
		out[i] = lutS16(lut, min(max(v, s16Min), s16Max))
	}
	if o.Stats != nil {
		o.Stats.Calls++
		o.Stats.Values += int64(n)
	}
	return nil
}

// ActTableS16 returns the 513-entry table of f over [-8, 8] for
// NNQActS16: entry k is f(−8 + k/32) in Q0.15, rounded and clamped to
// int16, with the midpoint correction of TFLite's table generator (each
// entry moves by half the error the linear interpolation makes at the
// middle of its interval, which halves the worst-case error).
func ActTableS16(f func(float64) float64) []int16 {
	return GenLUTS16(f, -8, 8)
}

// GenLUTS16 returns a 513-entry int16 table of f on [lo, hi] (outputs in
// Q0.15, clamped), with TFLite's midpoint correction (gen_lut). arm_softmax_s16
// uses two of them: exp on [-10, 0] and 1/(1+x) on [0, 1]; GenLUTS16 gives
// exactly the tables recorded in the CMSIS-NN v7.0.0 vectors.
func GenLUTS16(f func(float64) float64, lo, hi float64) []int16 {
	const n = 513
	const scale = 32768.0
	step := (hi - lo) / (n - 1)
	clamp := func(v float64) int16 { return int16(math.Min(math.Max(v, -32768), 32767)) }
	t := make([]int16, n)
	for i := 0; i < n-1; i++ {
		x := lo + float64(i)*step
		sample := math.Round(f(x) * scale)
		interp := math.Round((f(lo+float64(i+1)*step)*scale + sample) / 2)
		mid := math.Round(f(x+step/2) * scale)
		bias := math.Round((interp - mid) / 2)
		t[i] = clamp(sample - bias)
	}
	t[n-1] = clamp(math.Round(f(hi) * scale))
	return t
}

// NNQSoftmaxS16Unwrap is nnq_softmax_s16_unwrap, run after arm_softmax_s16:
// the library does not clamp its result, so a value of 32768 (one element
// holding the whole probability) is stored as -32768; a softmax output is
// never negative otherwise, so every negative value becomes 32767, TFLite's
// clamped result.
func NNQSoftmaxS16Unwrap(v []int16, n int) {
	for i := 0; i < n && i < len(v); i++ {
		if v[i] < 0 {
			v[i] = 32767
		}
	}
}

// NNQAddS16 is nnq_add_s16, TFLite's int16 ADD in the form of
// arm_elementwise_add_s8 (offsets 0): a = Requantize(in1 << left_shift,
// m1, s1), b likewise, out = Requantize(a + b, out_mult, out_shift),
// clamped (int32 arithmetic, wrapping like the C code). left_shift must be
// in [0, 15]. out may alias an input.
func NNQAddS16(o Opts, in1, in2 []int16, p ElementwiseAddS8Params, out []int16, n int) error {
	const fn = "nnq_add_s16"
	if p.LeftShift < 0 || p.LeftShift > 15 || p.Input1Offset != 0 || p.Input2Offset != 0 || p.OutOffset != 0 {
		return invalid(fn, "left_shift %d outside [0, 15] or non-zero offsets", p.LeftShift)
	}
	if err := checkElementwise16(fn, n, len(in1), len(in2), len(out), p.OutActivationMin, p.OutActivationMax, p.Input1Shift, p.Input2Shift, p.OutShift); err != nil {
		return err
	}
	ls := uint(p.LeftShift)
	for i := 0; i < n; i++ {
		a := o.Requant.Requantize(int32(in1[i])<<ls, p.Input1Mult, p.Input1Shift)
		b := o.Requant.Requantize(int32(in2[i])<<ls, p.Input2Mult, p.Input2Shift)
		y := o.Requant.Requantize(a+b, p.OutMult, p.OutShift)
		out[i] = int16(clampAct(o.Stats, y, p.OutActivationMin, p.OutActivationMax, s16Min, s16Max))
	}
	if o.Stats != nil {
		o.Stats.Calls++
	}
	return nil
}

// NNQMulS16 is nnq_mul_s16, TFLite's int16 MUL (offsets 0): out =
// Requantize(in1·in2, out_mult, out_shift), clamped. out may alias an input.
func NNQMulS16(o Opts, in1, in2 []int16, p ElementwiseMulS8Params, out []int16, n int) error {
	const fn = "nnq_mul_s16"
	if p.Input1Offset != 0 || p.Input2Offset != 0 || p.OutOffset != 0 {
		return invalid(fn, "offsets must be 0")
	}
	if err := checkElementwise16(fn, n, len(in1), len(in2), len(out), p.OutActivationMin, p.OutActivationMax, p.OutShift); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		y := o.Requant.Requantize(int32(in1[i])*int32(in2[i]), p.OutMult, p.OutShift)
		out[i] = int16(clampAct(o.Stats, y, p.OutActivationMin, p.OutActivationMax, s16Min, s16Max))
	}
	if o.Stats != nil {
		o.Stats.Calls++
	}
	return nil
}

func checkElementwise16(fn string, n, n1, n2, nOut int, lo, hi int32, shifts ...int32) error {
	if err := checkAct(fn, Activation{lo, hi}, s16Min, s16Max); err != nil {
		return err
	}
	for _, s := range shifts {
		if err := checkMultShift(fn, 0, s); err != nil {
			return err
		}
	}
	if n < 0 || n1 < n || n2 < n || nOut < n {
		return invalid(fn, "size %d for buffers of %d, %d and %d", n, n1, n2, nOut)
	}
	return nil
}
