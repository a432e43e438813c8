package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// AffineRounding is the arithmetic of an s8/s16 network's requantisations
// and average pools (QConfig.AffineRounding, nnq convert --rounding):
//
//   - RoundingDouble (the default, also ""): CMSIS-NN's default build.
//     arm_nn_requantize rounds twice (the rounded Q31 doubling high
//     multiply, then a rounding right shift: TFLite's reference), average
//     pools round the mean's ties away from zero.
//   - RoundingSingle: CMSIS-NN built with CMSIS_NN_USE_SINGLE_ROUNDING:
//     arm_nn_requantize rounds the exact product once (ties toward
//     +infinity). The exported project defines the macro for nnq's runtime
//     and for the library alike.
//   - RoundingONNX: single rounding, and average pools whose mean rounds
//     half to even, as ONNX QuantizeLinear and PyTorch's quantized average
//     pool do. CMSIS-NN has no such pool: those layers run nnq's own
//     nnq_avgpool_s8_even / nnq_avgpool_s16_even, also in builds linked
//     with the library. With it an imported QDQ model reproduces the
//     framework's int8 results.
//
// The legacy q7/q15 formats have no such choice (they have Truncate).
type AffineRounding string

// The three arithmetic choices of the s8/s16 formats.
const (
	RoundingDouble AffineRounding = "double"
	RoundingSingle AffineRounding = "single"
	RoundingONNX   AffineRounding = "onnx"
)

// SingleRoundingMacro is the CMSIS-NN compile-time macro of single rounding.
const SingleRoundingMacro = "CMSIS_NN_USE_SINGLE_ROUNDING"

// ParseAffineRounding checks a rounding name ("" is RoundingDouble).
func ParseAffineRounding(s string) (AffineRounding, error) {
	switch r := AffineRounding(s); r {
	case "", RoundingDouble:
		return RoundingDouble, nil
	case RoundingSingle, RoundingONNX:
		return r, nil
	}
	return "", fmt.Errorf("unknown rounding %q (double, single or onnx)", s)
}

// IsDefault reports whether r is CMSIS-NN's default arithmetic ("" or
// RoundingDouble).
func (r AffineRounding) IsDefault() bool { return r == "" || r == RoundingDouble }

// Requant is the requantisation the Go kernels run for r.
func (r AffineRounding) Requant() kernels.Requant {
	if r == RoundingSingle || r == RoundingONNX {
		return kernels.SingleRounding
	}
	return kernels.DoubleRounding
}

// EvenPool reports whether average pools round ties to even (nnq's own
// pool kernel) instead of away from zero (the library's).
func (r AffineRounding) EvenPool() bool { return r == RoundingONNX }

// Macro is the compiler definition a build of r needs (empty for the
// default).
func (r AffineRounding) Macro() string {
	if r.Requant() == kernels.SingleRounding {
		return SingleRoundingMacro
	}
	return ""
}

// Describe says in a sentence what r computes.
func (r AffineRounding) Describe() string {
	switch {
	case r == RoundingONNX:
		return "onnx: requantization rounds once (CMSIS-NN built with " + SingleRoundingMacro + "), average pools round the mean half to even (nnq's pool kernel), as ONNX QuantizeLinear and PyTorch"
	case r == RoundingSingle:
		return "single: requantization rounds once (CMSIS-NN built with " + SingleRoundingMacro + "); average pools round ties away from zero (the library's)"
	}
	return "double: CMSIS-NN's default build (requantization rounds twice, TFLite's reference; average pools round ties away from zero)"
}

// Name is r's option value ("double" for "").
func (r AffineRounding) Name() string {
	if r.IsDefault() {
		return string(RoundingDouble)
	}
	return string(r)
}

// CheckAffineRounding checks a rounding choice against the format (or the
// legacy word size bits when format is empty) before any slow work:
// unknown names, and anything but the default for q7/q15, are refused.
func CheckAffineRounding(r AffineRounding, format Format, bits int) error {
	rr, err := ParseAffineRounding(string(r))
	if err != nil {
		return err
	}
	if rr.IsDefault() {
		return nil
	}
	if format == "" {
		if format, err = FormatOfBits(bits); err != nil {
			return nil // left to the format check
		}
	}
	if !format.Affine() {
		return fmt.Errorf("rounding %s is an option of the s8/s16 formats (CMSIS-NN's s8/s16 API); the legacy %s API has no such choice", rr, format)
	}
	return nil
}

// Short names r in the report's header line.
func (r AffineRounding) Short() string {
	switch {
	case r == RoundingONNX:
		return "ONNX rounding: single rounding (" + SingleRoundingMacro + "), average pools round half to even"
	case r == RoundingSingle:
		return "single rounding (" + SingleRoundingMacro + ")"
	}
	return "TFLite double rounding"
}
