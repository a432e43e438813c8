package nnq

import (
	"fmt"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
)

// QLayer is one layer of a quantized model: its formats, shifts, quantized
// parameters (plain CMSIS order, never interleaved) and the kernel chosen
// for it on the model's target.
type QLayer struct {
	Name   string
	Op     Op
	Inputs []string // activation tensor names read
	Out    Act      // output shape
	In     []Act    // input shapes

	// InFrac holds the fractional bits of each input; OutFrac the output's.
	InFrac  []int
	OutFrac int
	// WantFrac is what the scheme asked for the output before the layer's
	// constraints were applied (equal to OutFrac when nothing interfered).
	WantFrac int

	// Conv, depthwise and dense: parameter formats and the two shifts of
	// the legacy API: BiasShift = InFrac+WeightFrac-BiasFrac and OutShift =
	// InFrac+WeightFrac-OutFrac.
	WeightFrac, BiasFrac int
	BiasShift, OutShift  int
	// Weights and Bias hold the quantized parameters as integers of the
	// model's word size (q7 values fit int8, q15 values int16). Weights are
	// in CMSIS order: conv OHWI, depthwise [kh][kw][C], dense [out][in].
	Weights []int16
	Bias    []int16

	// Sub holds the weight sets of a layer that runs several FC kernels:
	// a gru or lstm layer has "ih" (input to hidden) then "hh" (hidden to
	// hidden); its Weights and Bias stay nil.
	Sub []QParam
	// Internal maps a layer's internal tensors (recurrent: "x" the widened
	// input step, "gates", "h", "c") to their fractional bits (q15 words);
	// QModel.Frac holds them too, as "<layer>/<name>".
	Internal map[string]int

	// Shifts is the per-input left shift of nnq_add (then OutShift).
	Shifts []int
	// IntWidth is the integer bits of a sigmoid/tanh input (0..3).
	IntWidth int
	// PoolShift is the output left shift of an average pool (nnq's
	// kernel: sum << PoolShift / count in 64 bits, saturated): its output
	// has PoolShift more fractional bits than its input
	// (0..kernels.MaxPoolShift; 0 is the plain mean). Only nnq's average
	// pool kernel can shift; the library's is refused for such a layer.
	PoolShift int
	// ReLU is set when a ReLU layer reading this layer's output was fused
	// into its kernel (nnq runtime): the kernel clamps its output at 0 and
	// the ReLU layer is a view of the same buffer.
	ReLU bool

	// Geom is the kernel geometry of a conv, depthwise or pool layer.
	Geom kernels.ConvGeom
	// Kernel is the function that runs the layer (kernels.VarInvalid for a
	// flatten/reshape, which only renames a buffer, and for a ReLU fused
	// into the layer before it).
	Kernel kernels.Variant
	// Rejected says why faster variants were not chosen.
	Rejected []string

	// Notes records constraint adjustments (e.g. a format forced by the
	// layer, a bias format lowered to keep the shift non-negative).
	Notes []string
	// Reason says in a few words why the output has its format (the
	// report's reason column; Notes hold the details).
	Reason string

	// S8 holds everything of a layer of an s8/s16 network (the legacy
	// fields above then stay unset, Kernel is VarInvalid).
	S8 *S8Layer
}

// QParam is one weight set of a layer that runs several FC kernels. The
// fields mean what the QLayer fields of the same names mean for a dense
// layer: Weights [Rows][Cols] in CMSIS order, BiasShift = in + WeightFrac -
// BiasFrac, OutShift = in + WeightFrac - out fractional bits.
type QParam struct {
	Name       string  `json:"name"`
	Rows       int     `json:"rows"`
	Cols       int     `json:"cols"`
	WeightFrac int     `json:"weight_frac"`
	BiasFrac   int     `json:"bias_frac"`
	BiasShift  int     `json:"bias_shift"`
	OutShift   int     `json:"out_shift"`
	Weights    []int16 `json:"weights"`
	Bias       []int16 `json:"bias"`
}

// QModel is a quantized network: a CMSIS-layout float model plus, for every
// activation tensor, its Q-format, and for every layer its formats, shifts,
// integer parameters and kernel.
type QModel struct {
	Name string
	// Float is the CMSIS-layout float model the quantized one was made from.
	Float *Model
	// Bits is the activation word size: 8 (q7, s8) or 16 (q15, s16).
	Bits int
	// Format is q7, q15, s8 or s16 (empty: the legacy format of Bits).
	Format Format
	// Affine maps every activation tensor of an s8/s16 network to its
	// scale and zero point (Frac is unused then).
	Affine map[string]Affine
	// Scheme names the quantization scheme that chose the formats.
	Scheme string
	// Target is the core name ("cortex-m4", "host", ...) and Path the
	// CMSIS-NN code path it compiles (C or DSP).
	Target   string
	Path     kernels.Target
	Rounding kernels.Rounding
	// AffineRounding is an s8/s16 network's arithmetic (RoundingDouble,
	// "" meaning the same, RoundingSingle or RoundingONNX).
	AffineRounding AffineRounding
	// Runtime is RuntimeNNQ (nnq's kernels) or RuntimeCMSIS (the legacy
	// CMSIS-NN functions); Optimize is OptimizeSpeed or OptimizeSize.
	Runtime, Optimize string

	InputName string
	InputFrac int
	// InputReason says in a few words why the input has its format.
	InputReason string
	// Frac maps every activation tensor name to its fractional bits.
	Frac   map[string]int
	Layers []*QLayer
	Notes  []string
	// Search holds the rounds of the accuracy search (scheme search only;
	// not saved).
	Search []SearchRound
}

// Layer returns the quantized layer named name, or nil.
func (q *QModel) Layer(name string) *QLayer {
	for _, l := range q.Layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// Output is the network output tensor name.
func (q *QModel) Output() string { return q.Layers[len(q.Layers)-1].Name }

// OutputFrac is the fractional bits of the network output.
func (q *QModel) OutputFrac() int { return q.Frac[q.Output()] }

// TypeName is "q7", "q15", "s8" or "s16".
func (q *QModel) TypeName() string {
	if q.Format != "" {
		return string(q.Format)
	}
	if q.Bits == 16 {
		return "q15"
	}
	return "q7"
}

// Opts returns the kernel options that reproduce the model's target.
func (q *QModel) Opts(stats *kernels.Stats) kernels.Opts {
	return kernels.Opts{Target: q.Path, Rounding: q.Rounding, Requant: q.AffineRounding.Requant(), Stats: stats}
}

// QFormat renders fractional bits f of a word of bits bits as Qm.n.
func QFormat(bits, f int) string { return fmt.Sprintf("Q%d.%d", bits-1-f, f) }

// Table renders the formats, shifts and kernels as a text table.
func (q *QModel) Table() string {
	if q.IsAffine() {
		return q.tableS8()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "quantized %q: %s, scheme %s, target %s (%s path), %s runtime, input %s\n", q.Name, q.TypeName(), q.Scheme, q.Target, q.Path, q.Runtime, QFormat(q.Bits, q.InputFrac))
	fmt.Fprintf(&b, "%-20s %-17s %-9s %-9s %-9s %-9s %5s %5s  %s\n", "layer", "op", "in", "out", "weights", "bias", "bsh", "osh", "kernel")
	for _, l := range q.Layers {
		in := make([]string, len(l.InFrac))
		for i, f := range l.InFrac {
			in[i] = QFormat(q.Bits, f)
		}
		w, bi, bs, os := "-", "-", "-", "-"
		if l.Weights != nil {
			w, bi = QFormat(q.Bits, l.WeightFrac), QFormat(q.Bits, l.BiasFrac)
			bs, os = fmt.Sprint(l.BiasShift), fmt.Sprint(l.OutShift)
		} else if l.Op == OpAdd || l.Op == OpMul {
			os = fmt.Sprint(l.OutShift)
		}
		k := viewKernel
		if l.Kernel != kernels.VarInvalid {
			k = l.Kernel.String()
			if l.ReLU {
				k += " + relu"
			}
		} else if p := q.FusedInto(l); p != nil {
			k = fmt.Sprintf("(fused into %s)", p.Name)
		}
		fmt.Fprintf(&b, "%-20s %-17s %-9s %-9s %-9s %-9s %5s %5s  %s\n", l.Name, l.Op, strings.Join(in, ","), QFormat(q.Bits, l.OutFrac), w, bi, bs, os, k)
	}
	for _, l := range q.Layers {
		if len(l.Sub) > 0 {
			fmt.Fprintf(&b, "note: %s: %s\n", l.Name, l.RecurrentFormats(q.Bits))
		}
		for _, n := range l.Notes {
			fmt.Fprintf(&b, "note: %s: %s\n", l.Name, n)
		}
	}
	for _, n := range q.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
