package nnq

import (
	"fmt"
	"math"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
)

// S8Layer is what a layer of an s8/s16 network (QModel.Format s8 or s16)
// holds instead of the legacy formats and shifts: the affine formats of its
// tensors, its int8 weights with their per-channel scales, its int32 (s8)
// or int64 (s16) bias, the per-channel multipliers and shifts, the output
// clamp, and the C function of today's CMSIS-NN API (or nnq's own) that
// runs it.
type S8Layer struct {
	// Function is the C function called ("arm_convolve_wrapper_s8", ...);
	// empty for a buffer view (flatten, reshape, a ReLU fused into its
	// producer). Kernel is the function a wrapper dispatches to (as
	// kernels.ConvolveWrapperS8Kernel names it), or Function.
	Function string `json:"function,omitempty"`
	Kernel   string `json:"kernel,omitempty"`
	// Fused marks a ReLU done by its producer's activation clamp.
	Fused bool `json:"fused,omitempty"`
	// FusedReLU marks a producer whose clamp performs the ReLU reading it.
	FusedReLU bool `json:"fused_relu,omitempty"`

	In  []Affine `json:"in"`
	Out Affine   `json:"out"`

	// WeightScale holds the weight scale of each output channel (one for
	// a fully connected layer); Weights the int8 weights in CMSIS order
	// (conv OHWI, depthwise [kh][kw][C], dense [out][in]).
	WeightScale []float64 `json:"weight_scale,omitempty"`
	Weights     []int8    `json:"weights,omitempty"`
	// Bias32 (s8) or Bias64 (s16): round(bias / (input scale · weight
	// scale)) per output channel, zeros when the layer has none.
	Bias32 []int32 `json:"bias32,omitempty"`
	Bias64 []int64 `json:"bias64,omitempty"`
	// Mult and Shift: the requantization multiplier (Q31) and shift
	// (positive = left) per output channel (one entry for fully connected
	// layers and softmax).
	Mult  []int32 `json:"mult,omitempty"`
	Shift []int32 `json:"shift,omitempty"`
	// ActMin, ActMax: the output clamp (the type range, or from the zero
	// point up for a fused ReLU).
	ActMin int32 `json:"act_min"`
	ActMax int32 `json:"act_max"`
	// DiffMin is arm_softmax_s8's diff_min.
	DiffMin int32 `json:"diff_min,omitempty"`
	// Add and Mul hold the element-wise layers' parameters.
	Add *kernels.ElementwiseAddS8Params `json:"add,omitempty"`
	Mul *kernels.ElementwiseMulS8Params `json:"mul,omitempty"`
	// LUT is the 256-entry table of an s8 sigmoid/tanh (nnq_lut_s8).
	LUT []int8 `json:"lut,omitempty"`
	// RNN holds a recurrent layer's parameters.
	RNN *S8RNN `json:"rnn,omitempty"`
	// Scratch is the ctx.buf size in bytes the function needs: the larger
	// of the library's C-path and DSP-path *_get_buffer_size values, so one
	// memory plan serves both builds.
	Scratch int `json:"scratch,omitempty"`
}

// IsAffine reports whether q is an s8/s16 network.
func (q *QModel) IsAffine() bool { return q.Format.Affine() }

// InputAffine is the affine format of an s8/s16 network's input.
func (q *QModel) InputAffine() Affine { return q.Affine[q.InputName] }

// OutputAffine is the affine format of an s8/s16 network's output.
func (q *QModel) OutputAffine() Affine { return q.Affine[q.Output()] }

// affineOut returns the affine format of layer l's output (its own, or
// the tensor it is a view of).
func (l *QLayer) affineOut() Affine { return l.S8.Out }

// channelsOf is the number of output channels (per-channel quantities) of
// a weighted layer.
func (l *QLayer) channelsOf() int {
	if l.Op == OpDense {
		return 1
	}
	return l.Out.Shape[len(l.Out.Shape)-1]
}

// MultiplierRange returns the smallest and largest effective multiplier
// (mult·2^(shift−31)) of a layer that requantizes, and ok = false for one
// that does not.
func (l *QLayer) MultiplierRange() (lo, hi float64, ok bool) {
	if l.S8 == nil || len(l.S8.Mult) == 0 {
		return 0, 0, false
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for i, m := range l.S8.Mult {
		e := EffectiveMultiplier(m, l.S8.Shift[i])
		lo, hi = math.Min(lo, e), math.Max(hi, e)
	}
	return lo, hi, true
}

// ShiftRange returns the smallest and largest shift of a layer that
// requantizes.
func (l *QLayer) ShiftRange() (lo, hi int32) {
	lo, hi = math.MaxInt32, math.MinInt32
	for _, s := range l.S8.Shift {
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo, hi
}

// tableS8 renders an s8/s16 model like Table: per layer the affine formats
// (scale@zero point), the weight scales, the effective multipliers and
// shifts, the clamp and the C function.
func (q *QModel) tableS8() string {
	var b strings.Builder
	fmt.Fprintf(&b, "quantized %q: %s, scheme %s, target %s (%s path), input %s\n", q.Name, q.TypeName(), q.Scheme, q.Target, q.Path, q.InputAffine())
	fmt.Fprintf(&b, "%-20s %-17s %-14s %-14s %-19s %-21s %-9s %-12s  %s\n", "layer", "op", "in", "out", "weight scale", "multiplier", "shift", "clamp", "function")
	for _, l := range q.Layers {
		s := l.S8
		in := make([]string, len(s.In))
		for i, a := range s.In {
			in[i] = a.String()
		}
		ws, mul, sh := "-", "-", "-"
		if len(s.WeightScale) > 0 {
			lo, hi := minMax(s.WeightScale)
			ws = rangeString(lo, hi)
		}
		if lo, hi, ok := l.MultiplierRange(); ok {
			mul = rangeString(lo, hi)
			a, c := l.ShiftRange()
			sh = fmt.Sprint(a)
			if a != c {
				sh = fmt.Sprintf("%d..%d", a, c)
			}
		}
		clamp := fmt.Sprintf("[%d,%d]", s.ActMin, s.ActMax)
		fn := s.Function
		switch {
		case s.Fused:
			fn, clamp = "(fused into "+l.Inputs[0]+")", "-"
		case fn == "":
			fn, clamp = "(buffer view)", "-"
		case s.Kernel != "" && s.Kernel != fn:
			fn += " -> " + s.Kernel
		}
		fmt.Fprintf(&b, "%-20s %-17s %-14s %-14s %-19s %-21s %-9s %-12s  %s\n", l.Name, l.Op, strings.Join(in, ","), s.Out, ws, mul, sh, clamp, fn)
	}
	for _, l := range q.Layers {
		for _, n := range l.Notes {
			fmt.Fprintf(&b, "note: %s: %s\n", l.Name, n)
		}
	}
	for _, n := range q.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func rangeString(lo, hi float64) string {
	if lo == hi {
		return fmt.Sprintf("%.4g", lo)
	}
	return fmt.Sprintf("%.3g..%.3g", lo, hi)
}
