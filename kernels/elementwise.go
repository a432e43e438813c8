package kernels

import "fmt"

// NNMultQ7 is arm_nn_mult_q7: dst[i] = SSAT(int16(a[i]*b[i] + R) >> outShift,
// 8), where the product plus rounding term is truncated to 16 bits first
// (e.g. -128*-128 + 2^14 with outShift 15 wraps to -32768 → -1; counted in
// Stats.AccWraps). n = len(dst); a and b must be at least as long.
func NNMultQ7(o Opts, a, b, dst []int8, outShift int) error {
	if outShift < 0 || outShift > 30 {
		return errOutShift
	}
	a, b = a[:len(dst)], b[:len(dst)]
	rt := int32(o.Rounding.roundTerm(outShift))
	os := uint(outShift)
	st := o.Stats
	if st == nil {
		for i := range dst {
			dst[i] = int8(min(max(int32(int16(int32(a[i])*int32(b[i])+rt))>>os, q7Min), q7Max))
		}
		return nil
	}
	for i := range dst {
		p := int32(a[i])*int32(b[i]) + rt
		p16 := int32(int16(p))
		if st != nil && p16 != p {
			st.AccWraps++
		}
		dst[i] = int8(sat(st, p16>>os, q7Min, q7Max))
	}
	st.countValues(len(dst))
	return nil
}

// NNMultQ15 is arm_nn_mult_q15: dst[i] = SSAT((a[i]*b[i] + R) >> outShift,
// 16) in int32.
func NNMultQ15(o Opts, a, b, dst []int16, outShift int) error {
	if outShift < 0 || outShift > 30 {
		return errOutShift
	}
	a, b = a[:len(dst)], b[:len(dst)]
	rt := o.Rounding.roundTerm(outShift)
	os := uint(outShift)
	st := o.Stats
	if st == nil {
		for i := range dst {
			dst[i] = int16(min(max(int32(int64(a[i])*int64(b[i])+rt)>>os, q15Min), q15Max))
		}
		return nil
	}
	for i := range dst {
		p := int64(a[i])*int64(b[i]) + rt
		p32 := int32(p)
		if st != nil && int64(p32) != p {
			st.AccWraps++
		}
		dst[i] = int16(sat(st, p32>>os, q15Min, q15Max))
	}
	st.countValues(len(dst))
	return nil
}

var errAddShift = fmt.Errorf("%w: nnq_add shifts must be in [0, 30]", ErrInvalid)

// NNQAddQ7 is the Go twin of nnq's own C kernel nnq_add_q7 (an element-wise
// add of two q7 tensors with format alignment; CMSIS has none):
// acc = (int32(a) << aShift) + (int32(b) << bShift) + R(outShift) (int32),
// out = SSAT(acc >> outShift, 8). R is NN_ROUND, 0 with Truncate. n =
// len(out); a and b must be at least as long. Shifts must be in [0, 30].
func NNQAddQ7(o Opts, a, b, out []int8, aShift, bShift, outShift int) error {
	return nnqAdd(&o, a, b, out, aShift, bShift, outShift, q7Min, q7Max)
}

// NNQAddQ15 is the q15 twin (nnq_add_q15): SSAT to 16 bits.
func NNQAddQ15(o Opts, a, b, out []int16, aShift, bShift, outShift int) error {
	return nnqAdd(&o, a, b, out, aShift, bShift, outShift, q15Min, q15Max)
}

func nnqAdd[T qint](o *Opts, a, b, out []T, aShift, bShift, outShift int, lo, hi int32) error {
	for _, s := range [3]int{aShift, bShift, outShift} {
		if s < 0 || s > 30 {
			return errAddShift
		}
	}
	if len(a) < len(out) || len(b) < len(out) {
		return ErrShortBuffer
	}
	a, b = a[:len(out)], b[:len(out)]
	rt := o.Rounding.roundTerm(outShift)
	as, bs, os := uint(aShift), uint(bShift), uint(outShift)
	st := o.Stats
	if st == nil {
		for i := range out {
			out[i] = T(min(max(int32(int64(a[i])<<as+int64(b[i])<<bs+rt)>>os, lo), hi))
		}
		return nil
	}
	for i := range out {
		acc := int64(a[i])<<as + int64(b[i])<<bs + rt
		acc32 := int32(acc)
		if st != nil && int64(acc32) != acc {
			st.AccWraps++
		}
		out[i] = T(sat(st, acc32>>os, lo, hi))
	}
	st.countValues(len(out))
	return nil
}
