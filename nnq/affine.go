package nnq

import (
	"fmt"
	"math"
)

// Format is the arithmetic of a quantized network.
//
//   - q7 and q15 are the legacy CMSIS-NN API (CMSIS_5 <= 5.9.0): power-of-two
//     Q-formats, bias_shift and out_shift (QModel.Frac, QLayer.OutShift, ...).
//   - s8 and s16 are today's CMSIS-NN API (TFLite's int8 and int16x8
//     schemes): every activation tensor has a real scale and a zero point
//     (QModel.Affine; s16 is symmetric, zero point 0), weights are int8 with
//     one symmetric scale per output channel (per tensor for fully connected
//     layers, whose C function takes one multiplier), biases int32 (s8) or
//     int64 (s16) at scale input·weight, and each layer requantizes by a
//     32-bit fixed-point multiplier and a shift per output channel
//     (QLayer.S8).
type Format string

// The formats.
const (
	FormatQ7  Format = "q7"
	FormatQ15 Format = "q15"
	FormatS8  Format = "s8"
	FormatS16 Format = "s16"
)

// ParseFormat reads a format name as the CLI takes it (q7, q15, s8, s16).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatQ7, FormatQ15, FormatS8, FormatS16:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (q7, q15: legacy CMSIS-NN; s8, s16: today's CMSIS-NN API)", s)
}

// FormatOfBits is the legacy format of a word size (the --bits spelling).
func FormatOfBits(bits int) (Format, error) {
	switch bits {
	case 0, 8:
		return FormatQ7, nil
	case 16:
		return FormatQ15, nil
	}
	return "", fmt.Errorf("word size %d bits is not 8 (q7) or 16 (q15)", bits)
}

// Affine reports whether the format has real scales and zero points (s8,
// s16) rather than Q-formats.
func (f Format) Affine() bool { return f == FormatS8 || f == FormatS16 }

// Bits is the activation word size.
func (f Format) Bits() int {
	if f == FormatQ15 || f == FormatS16 {
		return 16
	}
	return 8
}

// Affine is the quantization of one activation tensor in an s8/s16 network:
// real = Scale·(q − Zero).
type Affine struct {
	Scale float64 `json:"scale"`
	Zero  int32   `json:"zero_point"`
}

// Real returns the real value of integer q.
func (a Affine) Real(q int32) float64 { return a.Scale * float64(q-a.Zero) }

// String renders the affine format for tables.
func (a Affine) String() string { return fmt.Sprintf("%.4g@%d", a.Scale, a.Zero) }

// qRange is the integer range of an activation word.
func qRange(bits int) (lo, hi int32) {
	if bits == 16 {
		return -32768, 32767
	}
	return -128, 127
}

// affineFromRange chooses scale and zero point so that [lo, hi] (widened to
// contain 0, so that zero padding and ReLU are exact) maps onto the word's
// integer range: s8 asymmetric (TFLite's rule: scale = (hi−lo)/255, zero
// point rounded from the low end and clamped), s16 symmetric (zero point 0,
// scale = max(|lo|, |hi|)/32767). An empty range gets scale 2^-(bits-1).
func affineFromRange(lo, hi float64, bits int) Affine {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	qlo, qhi := qRange(bits)
	if bits == 16 {
		r := math.Max(-lo, hi)
		if r <= 0 || math.IsNaN(r) {
			return Affine{Scale: math.Exp2(-15)}
		}
		return Affine{Scale: r / float64(qhi)}
	}
	if hi-lo <= 0 || math.IsNaN(hi-lo) {
		return Affine{Scale: math.Exp2(-7)}
	}
	scale := (hi - lo) / float64(qhi-qlo)
	zp := math.Round(float64(qlo) - lo/scale)
	zp = math.Min(math.Max(zp, float64(qlo)), float64(qhi))
	return Affine{Scale: scale, Zero: int32(zp)}
}

// QuantizeMultiplier splits a real multiplier m >= 0 into TFLite's Q31
// multiplier and shift: m ≈ mult·2^(shift−31), mult in [2^30, 2^31) (0 for
// m = 0 or m < 2^-32). ok is false when m needs a left shift beyond 30.
func QuantizeMultiplier(m float64) (mult, shift int32, ok bool) {
	if m <= 0 || math.IsNaN(m) {
		return 0, 0, m == 0
	}
	frac, exp := math.Frexp(m) // m = frac·2^exp, frac in [0.5, 1)
	q := math.Round(frac * (1 << 31))
	if q == 1<<31 {
		q /= 2
		exp++
	}
	if exp < -31 {
		return 0, 0, true
	}
	if exp > 30 {
		return 0, 0, false
	}
	return int32(q), int32(exp), true
}

// EffectiveMultiplier is the real value of a (mult, shift) pair.
func EffectiveMultiplier(mult, shift int32) float64 {
	return float64(mult) * math.Exp2(float64(shift)-31)
}
