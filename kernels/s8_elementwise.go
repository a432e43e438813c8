package kernels

// ElementwiseAddS8Params holds the scalar arguments of
// arm_elementwise_add_s8 under their C names (TFLite int8 ADD).
type ElementwiseAddS8Params struct {
	Input1Offset, Input1Mult, Input1Shift int32
	Input2Offset, Input2Mult, Input2Shift int32
	LeftShift                             int32
	OutOffset, OutMult, OutShift          int32
	OutActivationMin, OutActivationMax    int32
}

// ElementwiseMulS8Params holds the scalar arguments of
// arm_elementwise_mul_s8 (TFLite int8 MUL).
type ElementwiseMulS8Params struct {
	Input1Offset, Input2Offset         int32
	OutOffset, OutMult, OutShift       int32
	OutActivationMin, OutActivationMax int32
}

func checkElementwise(fn string, n, n1, n2, nOut int, lo, hi int32, shifts ...int32) error {
	if n < 0 {
		return invalid(fn, "block_size %d", n)
	}
	if lo > hi || lo < s8Min || hi > s8Max {
		return invalid(fn, "activation [%d, %d] must be a non-empty range within [-128, 127]", lo, hi)
	}
	for _, s := range shifts {
		if err := checkMultShift(fn, 0, s); err != nil {
			return err
		}
	}
	switch {
	case n1 < n:
		return short(fn, "input_1_vect", n1, n)
	case n2 < n:
		return short(fn, "input_2_vect", n2, n)
	case nOut < n:
		return short(fn, "output", nOut, n)
	}
	return nil
}

// ElementwiseAddS8 is arm_elementwise_add_s8 on blockSize elements:
// a = (in1 + input_1_offset) << left_shift, b likewise, out =
// Requantize(Requantize(a, m1, s1) + Requantize(b, m2, s2), out_mult,
// out_shift) + out_offset, clamped. left_shift must be in [0, 30]. Output
// may alias an input.
func ElementwiseAddS8(o Opts, in1, in2 []int8, p ElementwiseAddS8Params, out []int8, blockSize int) error {
	const fn = "arm_elementwise_add_s8"
	if p.LeftShift < 0 || p.LeftShift > 30 {
		return invalid(fn, "left_shift %d outside [0, 30]", p.LeftShift)
	}
	if err := checkElementwise(fn, blockSize, len(in1), len(in2), len(out), p.OutActivationMin, p.OutActivationMax,
		p.Input1Shift, p.Input2Shift, p.OutShift); err != nil {
		return err
	}
	st := o.Stats
	ls := uint(p.LeftShift)
	for i := 0; i < blockSize; i++ {
		a := o.Requant.Requantize((int32(in1[i])+p.Input1Offset)<<ls, p.Input1Mult, p.Input1Shift)
		b := o.Requant.Requantize((int32(in2[i])+p.Input2Offset)<<ls, p.Input2Mult, p.Input2Shift)
		y := o.Requant.Requantize(a+b, p.OutMult, p.OutShift) + p.OutOffset
		out[i] = int8(clampAct(st, y, p.OutActivationMin, p.OutActivationMax, s8Min, s8Max))
	}
	if st != nil {
		st.Calls++
	}
	return nil
}

// ElementwiseMulS8 is arm_elementwise_mul_s8 on blockSize elements: out =
// Requantize((in1 + input_1_offset)·(in2 + input_2_offset), out_mult,
// out_shift) + out_offset, clamped. Output may alias an input.
func ElementwiseMulS8(o Opts, in1, in2 []int8, p ElementwiseMulS8Params, out []int8, blockSize int) error {
	const fn = "arm_elementwise_mul_s8"
	if err := checkElementwise(fn, blockSize, len(in1), len(in2), len(out), p.OutActivationMin, p.OutActivationMax, p.OutShift); err != nil {
		return err
	}
	st := o.Stats
	for i := 0; i < blockSize; i++ {
		prod := (int32(in1[i]) + p.Input1Offset) * (int32(in2[i]) + p.Input2Offset)
		y := o.Requant.Requantize(prod, p.OutMult, p.OutShift) + p.OutOffset
		out[i] = int8(clampAct(st, y, p.OutActivationMin, p.OutActivationMax, s8Min, s8Max))
	}
	if st != nil {
		st.Calls++
	}
	return nil
}
