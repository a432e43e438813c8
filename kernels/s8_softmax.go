package kernels

// SoftmaxS8 is arm_softmax_s8 (TFLite int8 softmax, gemmlowp fixed point;
// the C function returns void): numRows rows of rowSize elements. mult and
// shift are TFLite's input_beta_multiplier / input_beta_left_shift for 5
// integer bits, diffMin = -input_radius. Per row with maximum m, each x
// with d = x-m >= diffMin contributes e = exp(SRDHM(d·2^shift, mult)) (Q5.26
// argument, Q0.31 result); the others output -128. sum = Σ round(e/2^12)
// (wrapping int32), out = round(SRDHM(1/sum scaled, e) / 2^(35-clz(sum)))
// - 128, clamped to [-128, 127]. Saturations are counted in Opts.Stats.
func SoftmaxS8(o Opts, in []int8, numRows, rowSize int, mult, shift, diffMin int32, out []int8) error {
	const fn = "arm_softmax_s8"
	if numRows < 0 || rowSize < 1 || numRows > 1<<24 || rowSize > 65535 {
		return invalid(fn, "num_rows %d, row_size %d", numRows, rowSize)
	}
	if shift < 0 || shift > 31 {
		return invalid(fn, "shift %d outside [0, 31]", shift)
	}
	if len(in) < numRows*rowSize {
		return short(fn, "input", len(in), numRows*rowSize)
	}
	if len(out) < numRows*rowSize {
		return short(fn, "output", len(out), numRows*rowSize)
	}
	rowSum := func(x []int8) (int8, int32) {
		m := x[0]
		for _, v := range x {
			m = max(m, v)
		}
		var sum int32
		for _, v := range x {
			if d := int32(v) - int32(m); d >= diffMin {
				sum += divPOT(expOnNegativeValues(srdhm(d<<uint(shift), mult)), 12)
			}
		}
		return m, sum
	}
	if rowSize > 511 {
		// A sum of 2^28 or more (512 or more elements near the maximum)
		// would need a right shift by 32 or more, which the library leaves
		// to the target's shifter. Refuse such rows before writing.
		for r := 0; r < numRows; r++ {
			if _, sum := rowSum(in[r*rowSize : (r+1)*rowSize]); clz32(sum) < 4 {
				return invalid(fn, "row %d: more than 511 elements within the input range of the maximum", r)
			}
		}
	}
	st := o.Stats
	for r := 0; r < numRows; r++ {
		x := in[r*rowSize : (r+1)*rowSize]
		y := out[r*rowSize : (r+1)*rowSize]
		m, sum := rowSum(x)
		hr := clz32(sum)
		scale := oneOverOnePlusX(int32(uint32(sum)<<uint(hr) - 1<<31))
		bitsOverUnit := int32(12 - hr + 23)
		for i, v := range x {
			d := int32(v) - int32(m)
			if d < diffMin {
				y[i] = s8Min
				if st != nil {
					st.Values++
				}
				continue
			}
			e := expOnNegativeValues(srdhm(d<<uint(shift), mult))
			res := divPOT(srdhm(scale, e), bitsOverUnit) + s8Min
			y[i] = int8(clampAct(st, res, s8Min, s8Max, s8Min, s8Max))
		}
	}
	if st != nil {
		st.Calls++
	}
	return nil
}

// lutS16 is the library's interpolating table look-up of arm_softmax_s16:
// i = 256 + (v >> 7), f = v & 0x7F, T[i] + ((T[i+1]-T[i])·f + 64) >> 7, in
// int16 arithmetic.
func lutS16(t []int16, v int32) int16 {
	i := 256 + (v >> 7)
	f := v & 0x7F
	base := int32(t[i])
	return int16(base + ((int32(t[i+1])-base)*f+64)>>7)
}

// SoftmaxS16 is arm_softmax_s16 (TFLite int16 softmax with the two LUTs of
// lut). Per row: s = clamp(Requantize(x - max, mult, shift) + 32767),
// e = LUT(exp, s), sum = Σ e, hr = clz(sum), rec = LUT(1/(1+x),
// int16(((sum << (hr-1)) + 2^13) >> 14 - 98304)), out = int16(((e·rec) >>
// (30-hr) + 1) >> 1). Like the library, and unlike TFLite, the result is
// not clamped to [0, 32767]: an unclamped 32768 (one dominant element)
// wraps to -32768 (counted as SatHigh). Returns ErrArg for missing LUTs,
// as the library.
func SoftmaxS16(o Opts, in []int16, numRows, rowSize int, mult, shift int32, lut SoftmaxLUTS16, out []int16) error {
	const fn = "arm_softmax_s16"
	if lut.ExpLUT == nil || lut.OneByOneLUT == nil {
		return argErr(fn, "exp_lut or one_by_one_lut is NULL")
	}
	if len(lut.ExpLUT) < 513 || len(lut.OneByOneLUT) < 513 {
		return invalid(fn, "LUTs need 513 entries, have %d and %d", len(lut.ExpLUT), len(lut.OneByOneLUT))
	}
	if numRows < 0 || rowSize < 1 || numRows > 1<<24 || rowSize > 65535 {
		return invalid(fn, "num_rows %d, row_size %d", numRows, rowSize)
	}
	if err := checkMultShift(fn, mult, shift); err != nil {
		return err
	}
	if len(in) < numRows*rowSize {
		return short(fn, "input", len(in), numRows*rowSize)
	}
	if len(out) < numRows*rowSize {
		return short(fn, "output", len(out), numRows*rowSize)
	}
	st := o.Stats
	expOf := func(d int32) int32 {
		s := min(max(o.Requant.Requantize(d, mult, shift)+s16Max, s16Min), s16Max)
		return int32(lutS16(lut.ExpLUT, s))
	}
	for r := 0; r < numRows; r++ {
		x := in[r*rowSize : (r+1)*rowSize]
		y := out[r*rowSize : (r+1)*rowSize]
		m := x[0]
		for _, v := range x {
			m = max(m, v)
		}
		var sum int32
		for _, v := range x {
			sum += expOf(int32(v) - int32(m))
		}
		hr := clz32(sum)
		ss := (int32(uint32(sum)<<uint(hr-1)) + 1<<13) >> 14
		rec := int32(lutS16(lut.OneByOneLUT, int32(int16(ss-98304))))
		for i, v := range x {
			e := expOf(int32(v) - int32(m))
			res := ((e*rec)>>uint(30-hr) + 1) >> 1
			if st != nil {
				st.Values++
				if res > s16Max {
					st.SatHigh++
				}
			}
			y[i] = int16(res)
		}
	}
	if st != nil {
		st.Calls++
	}
	return nil
}
