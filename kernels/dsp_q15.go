package kernels

import "fmt"

// Go twins of the CMSIS-DSP q15 element-wise functions nnq's recurrent
// kernels are built from. CMSIS-DSP is not vendored, so nnq's C runtime
// ships them under nnq_ names (codegen/crt/c/nnq_dsp.c). The semantics are
// CMSIS-DSP's documented ones (see docs/RECURRENT.md), identical on every
// core (the scalar, SIMD and Helium paths of CMSIS-DSP compute the same
// values):
//
//	nnq_mult_q15_dsp   arm_mult_q15       dst = SSAT((a*b) >> 15, 16), the product truncated (floor)
//	nnq_add_q15_sat    arm_add_q15        dst = SSAT(a + b, 16)
//	nnq_sub_q15_sat    arm_sub_q15        dst = SSAT(a - b, 16)
//	nnq_offset_q15_sat arm_offset_q15     dst = SSAT(a + offset, 16)
//	nnq_shift_q15      arm_shift_q15      dst = SSAT(a << s, 16) for s >= 0, a >> -s (floor) for s < 0
//	nnq_q7_to_q15      arm_q7_to_q15      dst = a << 8
//	nnq_q15_to_q7      arm_q15_to_q7      dst = a >> 8 (floor)
//
// Every function works element by element, so dst may alias a source. n is
// len(dst); sources must be at least as long (else ErrShortBuffer, dst
// untouched). Saturations are counted in Opts.Stats (SatHigh/SatLow).

// NNQMultQ15DSP is nnq_mult_q15_dsp (arm_mult_q15): dst[i] = SSAT((a[i]·b[i]) >> 15,
// 16). The shift floors (no rounding); only -32768·-32768 saturates.
func NNQMultQ15DSP(o Opts, a, b, dst []int16) error {
	if len(a) < len(dst) || len(b) < len(dst) {
		return ErrShortBuffer
	}
	multQ15(o.Stats, a, b, dst)
	return nil
}

func multQ15(st *Stats, a, b, dst []int16) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = int16(sat(st, (int32(a[i])*int32(b[i]))>>15, q15Min, q15Max))
	}
	st.countValues(len(dst))
}

// NNQAddQ15Sat is nnq_add_q15_sat (arm_add_q15): dst[i] = SSAT(a[i] + b[i], 16).
func NNQAddQ15Sat(o Opts, a, b, dst []int16) error {
	if len(a) < len(dst) || len(b) < len(dst) {
		return ErrShortBuffer
	}
	addSatQ15(o.Stats, a, b, dst)
	return nil
}

func addSatQ15(st *Stats, a, b, dst []int16) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = int16(sat(st, int32(a[i])+int32(b[i]), q15Min, q15Max))
	}
	st.countValues(len(dst))
}

// NNQSubQ15Sat is nnq_sub_q15_sat (arm_sub_q15): dst[i] = SSAT(a[i] - b[i], 16).
func NNQSubQ15Sat(o Opts, a, b, dst []int16) error {
	if len(a) < len(dst) || len(b) < len(dst) {
		return ErrShortBuffer
	}
	subSatQ15(o.Stats, a, b, dst)
	return nil
}

func subSatQ15(st *Stats, a, b, dst []int16) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = int16(sat(st, int32(a[i])-int32(b[i]), q15Min, q15Max))
	}
	st.countValues(len(dst))
}

// NNQOffsetQ15Sat is nnq_offset_q15_sat (arm_offset_q15): dst[i] =
// SSAT(a[i] + offset, 16).
func NNQOffsetQ15Sat(o Opts, a []int16, offset int16, dst []int16) error {
	if len(a) < len(dst) {
		return ErrShortBuffer
	}
	a = a[:len(dst)]
	st := o.Stats
	for i := range dst {
		dst[i] = int16(sat(st, int32(a[i])+int32(offset), q15Min, q15Max))
	}
	st.countValues(len(dst))
	return nil
}

var errShiftBits = fmt.Errorf("%w: nnq_shift_q15 shift must be in [-15, 15]", ErrInvalid)

// NNQShiftQ15 is nnq_shift_q15 (arm_shift_q15, shiftBits an int8): for
// shift >= 0, dst[i] = SSAT(a[i] << shift, 16) (computed in 32 bits); for
// shift < 0, dst[i] = a[i] >> -shift (arithmetic, floor). nnq restricts the
// shift to [-15, 15].
func NNQShiftQ15(o Opts, a []int16, shift int, dst []int16) error {
	if shift < -15 || shift > 15 {
		return errShiftBits
	}
	if len(a) < len(dst) {
		return ErrShortBuffer
	}
	shiftQ15(o.Stats, a, shift, dst)
	return nil
}

func shiftQ15(st *Stats, a []int16, shift int, dst []int16) {
	a = a[:len(dst)]
	if shift >= 0 {
		s := uint(shift)
		for i := range dst {
			dst[i] = int16(sat(st, int32(a[i])<<s, q15Min, q15Max))
		}
	} else {
		s := uint(-shift)
		for i := range dst {
			dst[i] = a[i] >> s
		}
	}
	st.countValues(len(dst))
}

// NNQQ7ToQ15 is nnq_q7_to_q15 (arm_q7_to_q15): dst[i] = a[i] << 8 (Q.7 →
// Q.15 with the same integer bits; exact).
func NNQQ7ToQ15(o Opts, a []int8, dst []int16) error {
	if len(a) < len(dst) {
		return ErrShortBuffer
	}
	q7ToQ15(o.Stats, a, dst)
	return nil
}

func q7ToQ15(st *Stats, a []int8, dst []int16) {
	for i := range dst {
		dst[i] = int16(a[i]) << 8
	}
	st.countValues(len(dst))
}

// NNQQ15ToQ7 is nnq_q15_to_q7 (arm_q15_to_q7): dst[i] = a[i] >> 8
// (arithmetic, floor; never saturates).
func NNQQ15ToQ7(o Opts, a []int16, dst []int8) error {
	if len(a) < len(dst) {
		return ErrShortBuffer
	}
	q15ToQ7(o.Stats, a, dst)
	return nil
}

func q15ToQ7(st *Stats, a []int16, dst []int8) {
	for i := range dst {
		dst[i] = int8(a[i] >> 8)
	}
	st.countValues(len(dst))
}
