package kernels

import (
	"errors"
	"fmt"
)

// Target selects which of the two bit-exact semantics of the legacy library
// a kernel call reproduces.
type Target int

const (
	// CPath is the plain C code path: Cortex-M0/M0+/M3, MVE cores (M55,
	// M85) with CMSIS 5.9.0, and any host build. It is the zero value.
	CPath Target = iota
	// DSPPath is the ARM_MATH_DSP (SIMD) code path of Cortex-M4/M7/M33-class
	// cores. It differs from CPath for pooling (separable algorithm that
	// clobbers the input) and is unsafe for some convolution geometries; see
	// Variant.Valid.
	DSPPath
)

// String returns "C" or "DSP".
func (t Target) String() string {
	switch t {
	case CPath:
		return "C"
	case DSPPath:
		return "DSP"
	}
	return fmt.Sprintf("Target(%d)", int(t))
}

// Rounding selects the requantisation rounding compiled into the library.
type Rounding int

const (
	// RoundHalfUp is the library default (NN_ROUND): 2^(s-1) is added
	// before every requantising right shift by s (nothing when s = 0), so
	// ties go toward +infinity. It is the zero value.
	RoundHalfUp Rounding = iota
	// Truncate models a build with ARM_NN_TRUNCATE defined: plain
	// arithmetic shift (floor).
	Truncate
)

// String returns "round-half-up" or "truncate".
func (r Rounding) String() string {
	switch r {
	case RoundHalfUp:
		return "round-half-up"
	case Truncate:
		return "truncate"
	}
	return fmt.Sprintf("Rounding(%d)", int(r))
}

// roundTerm is NN_ROUND(outShift), or 0 when truncating.
func (r Rounding) roundTerm(outShift int) int64 {
	if r == Truncate {
		return 0
	}
	return int64((1 << uint(outShift)) >> 1)
}

// Opts carries the per-call context of every kernel. The zero value models
// the library's default build on a C-path core without instrumentation.
type Opts struct {
	Target   Target
	Rounding Rounding
	// Requant selects the requantisation of the s8/s16 kernels:
	// DoubleRounding (the zero value, CMSIS-NN's default build) or
	// SingleRounding (a build with CMSIS_NN_USE_SINGLE_ROUNDING). The
	// legacy q7/q15 kernels ignore it.
	Requant Requant
	// Stats, when non-nil, receives counters for the call. Stats is not
	// safe for concurrent use; give each goroutine its own.
	Stats *Stats
}

// Stats accumulates instrumentation counters over kernel calls. All
// counters are per output value except Calls.
type Stats struct {
	Calls  int64 // kernel calls that ran (calls returning an error are not counted)
	Values int64 // output values computed
	// SatHigh / SatLow count outputs clamped by the final saturation to the
	// type's maximum / minimum (conv, FC, mult, softmax, nnq add).
	SatHigh int64
	SatLow  int64
	// AccWraps counts outputs whose exact accumulator left the range the C
	// code computes it in and wrapped: int32 for conv/FC/q15 mult/nnq add
	// (exact value = bias<<bias_shift + rounding term + Σ products, with the
	// unwrapped shifted bias), int16 for q7 mult (product + rounding term).
	AccWraps int64
	// BiasWraps counts outputs whose bias<<bias_shift overflowed int32.
	BiasWraps int64
	// ClampHigh / ClampLow (s8/s16 kernels) count outputs clamped to an
	// activation bound narrower than the type range while the value itself
	// was within the type range (e.g. ReLU at the zero point); values beyond
	// the type range count as SatHigh / SatLow.
	ClampHigh int64
	ClampLow  int64
}

// Add adds the counters of o to s.
func (s *Stats) Add(o Stats) {
	s.Calls += o.Calls
	s.Values += o.Values
	s.SatHigh += o.SatHigh
	s.SatLow += o.SatLow
	s.AccWraps += o.AccWraps
	s.BiasWraps += o.BiasWraps
	s.ClampHigh += o.ClampHigh
	s.ClampLow += o.ClampLow
}

// Reset zeroes all counters.
func (s *Stats) Reset() { *s = Stats{} }

// String formats the counters on one line.
func (s Stats) String() string {
	str := fmt.Sprintf("calls=%d values=%d sat_high=%d sat_low=%d acc_wraps=%d bias_wraps=%d",
		s.Calls, s.Values, s.SatHigh, s.SatLow, s.AccWraps, s.BiasWraps)
	if s.ClampHigh != 0 || s.ClampLow != 0 {
		str += fmt.Sprintf(" clamp_high=%d clamp_low=%d", s.ClampHigh, s.ClampLow)
	}
	return str
}

// Status is the library's arm_status return value.
type Status int

// The arm_status values the legacy kernels return.
const (
	StatusSuccess      Status = 0  // ARM_MATH_SUCCESS
	StatusSizeMismatch Status = -3 // ARM_MATH_SIZE_MISMATCH
)

// Error makes a non-zero Status usable as an error.
func (s Status) Error() string {
	switch s {
	case StatusSuccess:
		return "ARM_MATH_SUCCESS"
	case StatusSizeMismatch:
		return "ARM_MATH_SIZE_MISMATCH"
	}
	return fmt.Sprintf("arm_status(%d)", int(s))
}

// Error classes. Every error returned by this package wraps exactly one of
// them (test with errors.Is).
var (
	// ErrSizeMismatch: the library itself checks this constraint and
	// returns ARM_MATH_SIZE_MISMATCH (-3) leaving the output untouched. The
	// kernel did the same.
	ErrSizeMismatch error = StatusSizeMismatch
	// ErrDSPUnsafe: the library does not check this, but its DSP path gives
	// wrong or memory-dependent results (or writes out of bounds) for this
	// geometry. nnq does not emulate it: use another variant.
	ErrDSPUnsafe = errors.New("geometry unsafe on the DSP path")
	// ErrInvalid: not expressible in the C API (non-square geometry for a
	// square function, value outside uint16, shift out of range), or
	// undefined on every target (division by zero).
	ErrInvalid = errors.New("invalid arguments")
	// ErrShortBuffer: a slice is shorter than the geometry requires.
	ErrShortBuffer = errors.New("buffer too short for geometry")
)

// StatusOf maps an error returned by a kernel to the arm_status the library
// would return: nil → StatusSuccess, ErrSizeMismatch → StatusSizeMismatch.
// ok is false for the other error classes, which the library does not
// report (nnq refuses them).
func StatusOf(err error) (s Status, ok bool) {
	if err == nil {
		return StatusSuccess, true
	}
	if errors.Is(err, ErrSizeMismatch) {
		return StatusSizeMismatch, true
	}
	return 0, false
}

// GeomError explains why a variant cannot be used for a geometry on a
// target. It wraps ErrSizeMismatch, ErrDSPUnsafe or ErrInvalid.
type GeomError struct {
	Variant Variant
	Target  Target
	Class   error
	Reason  string
}

func (e *GeomError) Error() string {
	return fmt.Sprintf("%s on %s path: %s: %s", e.Variant, e.Target, e.Class.Error(), e.Reason)
}

// Unwrap returns the error class.
func (e *GeomError) Unwrap() error { return e.Class }

// Shift errors are static so the hot path never allocates.
var (
	errBiasShift = fmt.Errorf("%w: bias_shift must be in [0, 31]", ErrInvalid)
	errOutShift  = fmt.Errorf("%w: out_shift must be in [0, 30]", ErrInvalid)
)

// ValidShifts checks the shift arguments of the requantising kernels:
// 0 <= biasShift <= 31 and 0 <= outShift <= 30 (larger shifts are undefined
// in C; negative ones are not expressible as uint16_t).
func ValidShifts(biasShift, outShift int) error {
	if biasShift < 0 || biasShift > 31 {
		return errBiasShift
	}
	if outShift < 0 || outShift > 30 {
		return errOutShift
	}
	return nil
}
