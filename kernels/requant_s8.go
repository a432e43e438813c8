package kernels

import (
	"fmt"
	"math/bits"
)

// Requantisation arithmetic of the s8/s16 API (CMSIS-NN v7). The default
// build rounds twice (TFLite's "double rounding": Requantize); a build with
// CMSIS_NN_USE_SINGLE_ROUNDING defined rounds the exact product once
// (RequantizeSingle). Opts.Requant picks one for every s8/s16 kernel.
// Every operation is on int32 with two's-complement wrap-around where the
// C code wraps, so the results are the library's for every input.

// Requant is the requantisation rounding an s8/s16 kernel call models.
type Requant int

const (
	// DoubleRounding is CMSIS-NN's default build (Requantize). It is the
	// zero value.
	DoubleRounding Requant = iota
	// SingleRounding is a build with CMSIS_NN_USE_SINGLE_ROUNDING defined
	// (RequantizeSingle).
	SingleRounding
)

// String returns "double" or "single".
func (r Requant) String() string {
	switch r {
	case DoubleRounding:
		return "double"
	case SingleRounding:
		return "single"
	}
	return fmt.Sprintf("Requant(%d)", int(r))
}

// Requantize is arm_nn_requantize(val, mult, shift) as built with rounding
// r: Requantize or RequantizeSingle.
func (r Requant) Requantize(val, mult, shift int32) int32 {
	if r == SingleRounding {
		return RequantizeSingle(val, mult, shift)
	}
	return Requantize(val, mult, shift)
}

// RequantizeSingle is arm_nn_requantize(val, mult, shift) in a build with
// CMSIS_NN_USE_SINGLE_ROUNDING: the exact 64-bit product val·mult is
// shifted right by 30-shift (arithmetic, i.e. floor) and truncated to
// int32, then (t+1)>>1 in int32 (wrapping like the compiled C). Where t
// does not wrap this is val·mult/2^(31-shift) rounded once, ties toward
// +infinity. shift must be in [-31, 30].
func RequantizeSingle(val, mult, shift int32) int32 {
	t := int32((int64(val) * int64(mult)) >> uint(30-shift))
	return (t + 1) >> 1
}

// Requantize is arm_nn_requantize(val, mult, shift): val·2^max(shift,0)
// (int32, wraps), then the doubling high multiply by mult rounding half
// toward +infinity, then a rounding right shift by max(-shift, 0) rounding
// half away from zero. For mult in [2^30, 2^31) this is TFLite's
// MultiplyByQuantizedMultiplier. shift must be in [-31, 30].
func Requantize(val, mult, shift int32) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	x := val << uint(left)
	h := int32((int64(x)*int64(mult) + 1<<30) >> 31)
	return divPOT(h, right)
}

// divPOT is arm_nn_divide_by_power_of_two (gemmlowp RoundingDivideByPOT):
// x / 2^exp rounded half away from zero, exp in [0, 31].
func divPOT(x, exp int32) int32 {
	mask := int32(uint32(1)<<uint(exp) - 1)
	rem := x & mask
	thr := mask >> 1
	q := x >> uint(exp)
	if q < 0 {
		thr++
	}
	if rem > thr {
		q++
	}
	return q
}

// ReduceMultiplier is REDUCE_MULTIPLIER: the 16-bit multiplier the s16
// layers use, (mult + 2^15) >> 16, or 0x7FFF for mult >= 0x7FFF0000.
func ReduceMultiplier(mult int32) int32 {
	if mult < 0x7FFF0000 {
		return (mult + 1<<15) >> 16
	}
	return 0x7FFF
}

// RequantizeS64 is arm_nn_requantize_s64(val, reducedMult, shift) as the
// s16 layers call it (reducedMult = ReduceMultiplier(mult)): t =
// floor(val·reducedMult / 2^(14-shift)) truncated to int32, result
// floor((t+1)/2). shift must be in [-31, 14]. For |result| >= 2^30 the
// int32 truncation of t wraps, exactly as in the library. It rounds once
// in every build: CMSIS_NN_USE_SINGLE_ROUNDING does not change it.
func RequantizeS64(val int64, reducedMult, shift int32) int32 {
	t := int32((val * int64(reducedMult)) >> uint(14-shift))
	return (t + 1) >> 1
}

// srdhm is gemmlowp's SaturatingRoundingDoublingHighMul (the library's
// arm_nn_doubling_high_mult): round(a·b / 2^31) with ties away from zero,
// and INT32_MAX for INT32_MIN·INT32_MIN.
func srdhm(a, b int32) int32 {
	if a == b && a == -1<<31 {
		return 1<<31 - 1
	}
	p := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if p < 0 {
		nudge = 1 - 1<<30
	}
	return int32((p + nudge) / (1 << 31)) // C division truncates toward zero
}

// satShl is gemmlowp's SaturatingRoundingMultiplyByPOT for exp > 0.
func satShl(x int32, exp uint) int32 {
	if x > (1<<31-1)>>exp {
		return 1<<31 - 1
	}
	if x < (-1<<31)>>exp {
		return -1 << 31
	}
	return x << exp
}

// expOnNegativeValues is gemmlowp's exp_on_negative_values for a
// FixedPoint<int32, 5> argument a <= 0 (Q5.26), result in Q0.31.
func expOnNegativeValues(a int32) int32 {
	const fracBits = 26
	const quarter = 1 << (fracBits - 2)
	aModQuarterMinusQuarter := (a & (quarter - 1)) - quarter
	// exp on [-1/4, 0): Taylor polynomial around -1/8 (Q0.31).
	x := aModQuarterMinusQuarter<<5 + 1<<28
	x2 := srdhm(x, x)
	x3 := srdhm(x2, x)
	x4 := srdhm(x2, x2)
	x4Over4 := divPOT(x4, 2)
	poly := divPOT(srdhm(x4Over4+x3, 715827883)+x2, 1)
	const c = 1895147668 // exp(-1/8) in Q0.31
	result := c + srdhm(c, x+poly)
	// Barrel shifter for the bits 2^-2 .. 2^4 of the remainder.
	rem := aModQuarterMinusQuarter - a
	for i, m := range [...]int32{1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242} {
		if rem&(1<<(fracBits-2+i)) != 0 {
			result = srdhm(result, m)
		}
	}
	if a == 0 {
		return 1<<31 - 1
	}
	return result
}

// oneOverOnePlusX is gemmlowp's one_over_one_plus_x_for_x_in_0_1 for a
// Q0.31 argument: 1/(1+a) in Q0.31 by three Newton-Raphson steps.
func oneOverOnePlusX(a int32) int32 {
	sum := int64(a) + (1<<31 - 1)
	sign := int64(1)
	if sum < 0 {
		sign = -1
	}
	halfDen := int32((sum + sign) / 2)
	x := 1515870810 + srdhm(halfDen, -1010580540)
	for i := 0; i < 3; i++ {
		hdx := srdhm(halfDen, x)
		x += satShl(srdhm(x, 1<<29-hdx), 2)
	}
	return satShl(x, 1)
}

// clz32 counts leading zero bits of x as an unsigned 32-bit value.
func clz32(x int32) int { return bits.LeadingZeros32(uint32(x)) }
