package kernels

import (
	"errors"
	"fmt"
)

// Types of the s8/s16 API (CMSIS-NN v7, the TFLite int8/int16 scheme). Each
// struct mirrors the C struct named in its comment member by member, so
// code generation can print them 1:1. Geometry fields are int, arithmetic
// values int32 as in C.

// Dims is cmsis_nn_dims {n, h, w, c}. For convolution weights N is the
// number of output channels; for fully connected weights N is the
// accumulation depth and C the number of outputs (see each kernel).
type Dims struct{ N, H, W, C int }

// Size is N*H*W*C.
func (d Dims) Size() int { return d.N * d.H * d.W * d.C }

// Tile is cmsis_nn_tile {w, h}.
type Tile struct{ W, H int }

// Activation is cmsis_nn_activation {min, max}: the output clamp.
type Activation struct{ Min, Max int32 }

// ConvParams is cmsis_nn_conv_params. InputOffset and OutputOffset are the
// negated zero points of input and output.
type ConvParams struct {
	InputOffset  int32
	OutputOffset int32
	Stride       Tile
	Padding      Tile
	Dilation     Tile
	Activation   Activation
}

// DwConvParams is cmsis_nn_dw_conv_params (ConvParams plus ChMult, the
// depth multiplier: output channels = input channels * ChMult).
type DwConvParams struct {
	InputOffset  int32
	OutputOffset int32
	ChMult       int
	Stride       Tile
	Padding      Tile
	Dilation     Tile
	Activation   Activation
}

// FCParams is cmsis_nn_fc_params.
type FCParams struct {
	InputOffset  int32
	FilterOffset int32
	OutputOffset int32
	Activation   Activation
}

// PoolParams is cmsis_nn_pool_params.
type PoolParams struct {
	Stride     Tile
	Padding    Tile
	Activation Activation
}

// PerChannelQuantParams is cmsis_nn_per_channel_quant_params: one Q31
// multiplier and one shift (positive = left) per output channel.
type PerChannelQuantParams struct {
	Multiplier []int32
	Shift      []int32
}

// PerTensorQuantParams is cmsis_nn_per_tensor_quant_params.
type PerTensorQuantParams struct {
	Multiplier int32
	Shift      int32
}

// SoftmaxLUTS16 is cmsis_nn_softmax_lut_s16: the two 513-entry tables of
// arm_softmax_s16 (exp(x) on [-10, 0] and 1/(1+x) on [0, 1]).
type SoftmaxLUTS16 struct {
	ExpLUT      []int16
	OneByOneLUT []int16
}

// BiasS16 is cmsis_nn_bias_data for the s16 convolutions: either Int32
// (IsInt32Bias, int32 accumulation and Requantize) or Int64 (RequantizeS64).
// A nil slice of the selected kind passes NULL (no bias).
type BiasS16 struct {
	Int32       []int32
	Int64       []int64
	IsInt32Bias bool
}

// NNStatus is arm_cmsis_nn_status, the return value of the s8/s16 API.
type NNStatus int

// The arm_cmsis_nn_status values.
const (
	NNSuccess     NNStatus = 0  // ARM_CMSIS_NN_SUCCESS
	NNArgError    NNStatus = -1 // ARM_CMSIS_NN_ARG_ERROR
	NNNoImplError NNStatus = -2 // ARM_CMSIS_NN_NO_IMPL_ERROR
	NNFailure     NNStatus = -3 // ARM_CMSIS_NN_FAILURE
)

// Error makes a non-zero NNStatus usable as an error.
func (s NNStatus) Error() string {
	switch s {
	case NNSuccess:
		return "ARM_CMSIS_NN_SUCCESS"
	case NNArgError:
		return "ARM_CMSIS_NN_ARG_ERROR"
	case NNNoImplError:
		return "ARM_CMSIS_NN_NO_IMPL_ERROR"
	case NNFailure:
		return "ARM_CMSIS_NN_FAILURE"
	}
	return fmt.Sprintf("arm_cmsis_nn_status(%d)", int(s))
}

// ErrArg: the s8/s16 library checks this constraint itself and returns
// ARM_CMSIS_NN_ARG_ERROR (-1). The Go kernel returns it before touching the
// output (the library may already have written part of it in the pooling
// kernels' empty-window case).
var ErrArg error = NNArgError

// NNStatusOf maps an error returned by an s8/s16 kernel to the
// arm_cmsis_nn_status the library returns: nil → NNSuccess, ErrArg →
// NNArgError. ok is false for the other classes (ErrInvalid,
// ErrShortBuffer), which the library does not report.
func NNStatusOf(err error) (s NNStatus, ok bool) {
	if err == nil {
		return NNSuccess, true
	}
	if errors.Is(err, ErrArg) {
		return NNArgError, true
	}
	return 0, false
}

// argErr and invalid build the two error classes with a reason.
func argErr(fn, reason string) error {
	return fmt.Errorf("%s: %w: %s", fn, ErrArg, reason)
}

func invalid(fn, format string, a ...any) error {
	return fmt.Errorf("%s: %w: %s", fn, ErrInvalid, fmt.Sprintf(format, a...))
}

func short(fn, what string, got, want int) error {
	return fmt.Errorf("%s: %w: %s has %d elements, needs %d", fn, ErrShortBuffer, what, got, want)
}

// maxDim bounds every dimension, stride, padding and dilation: the library
// keeps several of them in int16_t/uint16_t locals, and nnq stays in the
// range where every code path agrees.
const maxDim = 32767

func checkDims(fn, name string, d Dims) error {
	if d.N < 1 || d.H < 1 || d.W < 1 || d.C < 1 || d.N > maxDim || d.H > maxDim || d.W > maxDim || d.C > maxDim {
		return invalid(fn, "%s %+v: every dimension must be in [1, %d]", name, d, maxDim)
	}
	if int64(d.N)*int64(d.H)*int64(d.W)*int64(d.C) > 1<<31-1 {
		return invalid(fn, "%s %+v has more than 2^31-1 elements", name, d)
	}
	return nil
}

func checkTile(fn, name string, t Tile, lo int) error {
	if t.W < lo || t.H < lo || t.W > maxDim || t.H > maxDim {
		return invalid(fn, "%s %+v: must be in [%d, %d]", name, t, lo, maxDim)
	}
	return nil
}

// checkWindowArgs checks the dims, stride, padding, dilation and activation
// of a convolution-like call.
func checkWindowArgs(fn string, inDims, fDims, outDims Dims, stride, pad, dil Tile, act Activation, tmin, tmax int32) error {
	for i, d := range []Dims{inDims, fDims, outDims} {
		if err := checkDims(fn, [...]string{"input_dims", "filter_dims", "output_dims"}[i], d); err != nil {
			return err
		}
	}
	if err := checkTile(fn, "stride", stride, 1); err != nil {
		return err
	}
	if err := checkTile(fn, "dilation", dil, 1); err != nil {
		return err
	}
	if err := checkTile(fn, "padding", pad, 0); err != nil {
		return err
	}
	return checkAct(fn, act, tmin, tmax)
}

// checkAct checks an activation range against the element type's range.
func checkAct(fn string, a Activation, tmin, tmax int32) error {
	if a.Min > a.Max || a.Min < tmin || a.Max > tmax {
		return invalid(fn, "activation [%d, %d] must be a non-empty range within [%d, %d]", a.Min, a.Max, tmin, tmax)
	}
	return nil
}

// checkQuant checks per-channel quantisation parameters for n channels.
func checkQuant(fn string, q PerChannelQuantParams, n int) error {
	if len(q.Multiplier) < n || len(q.Shift) < n {
		return fmt.Errorf("%s: %w: quant params have %d multipliers and %d shifts, need %d", fn, ErrShortBuffer,
			len(q.Multiplier), len(q.Shift), n)
	}
	for i := 0; i < n; i++ {
		if err := checkMultShift(fn, q.Multiplier[i], q.Shift[i]); err != nil {
			return fmt.Errorf("%w (channel %d)", err, i)
		}
	}
	return nil
}

// checkMultShift accepts the range in which arm_nn_requantize is defined:
// shift in [-31, 30]. Any multiplier is accepted (the arithmetic is
// defined for all of them).
func checkMultShift(fn string, mult, shift int32) error {
	if shift < -31 || shift > 30 {
		return invalid(fn, "shift %d outside [-31, 30]", shift)
	}
	_ = mult
	return nil
}

// s8 and s16 type bounds.
const (
	s8Min  = -128
	s8Max  = 127
	s16Min = -32768
	s16Max = 32767
)

// recordOut counts one output value: y is the requantised value (with
// offset) before the activation clamp to [lo, hi] within the type range
// [tmin, tmax]; exact is the exact accumulator (bias included) of the
// value, acc the int32 the C code computed (wrapped).
func (st *Stats) recordOut(exact int64, acc int32, y, lo, hi, tmin, tmax int32) {
	st.Values++
	if exact != int64(acc) {
		st.AccWraps++
	}
	st.recordClamp(y, lo, hi, tmin, tmax)
}

// recordClamp classifies y against the activation range [lo, hi] and the
// type range [tmin, tmax]: beyond the type range is a saturation (SatHigh,
// SatLow), beyond a narrower activation bound only a clamp (ClampHigh,
// ClampLow).
func (st *Stats) recordClamp(y, lo, hi, tmin, tmax int32) {
	if y > hi {
		if y > tmax {
			st.SatHigh++
		} else {
			st.ClampHigh++
		}
	} else if y < lo {
		if y < tmin {
			st.SatLow++
		} else {
			st.ClampLow++
		}
	}
}

// clampAct clamps y into [lo, hi], counting when st is non-nil.
func clampAct(st *Stats, y, lo, hi, tmin, tmax int32) int32 {
	if st != nil {
		st.Values++
		st.recordClamp(y, lo, hi, tmin, tmax)
	}
	return min(max(y, lo), hi)
}
