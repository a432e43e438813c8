package nnq

import (
	"fmt"
	"math"
	"strings"
)

// ReportS8Layer is the s8/s16 part of a report row: the Q-format step's
// counterpart (scales, zero points, effective multipliers and shifts).
type ReportS8Layer struct {
	// Function is the C function (and the kernel a wrapper runs).
	Function string   `json:"function"`
	Kernel   string   `json:"kernel,omitempty"`
	In       []Affine `json:"in"`
	Out      Affine   `json:"out"`
	// WeightScale, Multiplier: smallest and largest over the channels
	// (absent for layers without them); Shift likewise.
	WeightScale []float64 `json:"weight_scale,omitempty"`
	Multiplier  []float64 `json:"multiplier,omitempty"`
	Shift       []int32   `json:"shift,omitempty"`
	ActMin      int32     `json:"act_min"`
	ActMax      int32     `json:"act_max"`
	// Fused: a ReLU done by its producer; FusedReLU: the producer.
	Fused     bool `json:"fused,omitempty"`
	FusedReLU bool `json:"fused_relu,omitempty"`
	// Clamps counts outputs held by the activation clamp (a fused ReLU's
	// work, not an error); ScratchBytes is the ctx.buf the call needs.
	Clamps       int64 `json:"clamps"`
	ScratchBytes int   `json:"scratch_bytes,omitempty"`
}

// newReportS8 is NewReport for s8/s16 networks.
func newReportS8(q *QModel, ev *Evaluation) *Report {
	in, out := q.InputAffine(), q.OutputAffine()
	r := &Report{Model: q.Name, Target: q.Target, CodePath: q.Path.String(), Rounding: q.AffineRounding.Short(), Bits: q.Bits, Type: q.TypeName(),
		Scheme: q.Scheme, Patterns: ev.Patterns, FloatAccuracy: ev.Float, FixedAccuracy: ev.Fixed, Agreement: ev.Agreement,
		InputSaturated: ev.InputSaturated, Classes: q.Float.Classes, InputAffine: &in, OutputAffine: &out,
		Notes: append(append([]string(nil), q.Float.Notes...), q.Notes...), FloatConfusion: ev.FloatConfusion, FixedConfusion: ev.FixedConfusion}
	if !q.AffineRounding.IsDefault() {
		r.AffineRounding = q.AffineRounding.Describe()
	}
	for k, l := range q.Layers {
		s := l.S8
		rs := &ReportS8Layer{Function: s.Function, Kernel: s.Kernel, In: s.In, Out: s.Out, ActMin: s.ActMin, ActMax: s.ActMax,
			Fused: s.Fused, FusedReLU: s.FusedReLU, ScratchBytes: s.Scratch}
		if len(s.WeightScale) > 0 {
			lo, hi := minMax(s.WeightScale)
			rs.WeightScale = []float64{lo, hi}
		}
		if lo, hi, ok := l.MultiplierRange(); ok {
			a, b := l.ShiftRange()
			rs.Multiplier, rs.Shift = []float64{lo, hi}, []int32{a, b}
		}
		kernel := s.Function
		switch {
		case s.Fused:
			kernel = "(fused into " + l.Inputs[0] + ")"
		case kernel == "":
			kernel = "(buffer view)"
		}
		rl := ReportLayer{Name: l.Name, Op: l.Op, Kernel: kernel, Notes: l.Notes, S8: rs, NNQKernel: strings.HasPrefix(s.Function, "nnq_")}
		if k < len(ev.Layers) {
			le := ev.Layers[k]
			rl.SatHigh, rl.SatLow, rl.AccWraps = le.Kernel.SatHigh, le.Kernel.SatLow, le.Kernel.AccWraps
			rs.Clamps = le.Kernel.ClampHigh + le.Kernel.ClampLow
			if s.FusedReLU && s.ActMin == -128 {
				// The ReLU clamps at the zero point -128, the type's
				// minimum: those are the ReLU's clamps, not saturations.
				rs.Clamps += rl.SatLow
				rl.SatLow = 0
			}
			rl.Saturations = rl.SatHigh + rl.SatLow
			if !math.IsInf(le.SQNR, 0) && !math.IsNaN(le.SQNR) {
				v := math.Round(le.SQNR*100) / 100
				rl.SQNRdB = &v
			}
		}
		r.Layers = append(r.Layers, rl)
	}
	return r
}

// markdownS8 writes the s8/s16 part of the markdown report.
func (r *Report) markdownS8(b *strings.Builder) {
	fmt.Fprintf(b, "Input %s, output %s (real = scale·(q − zero point)); %d input values saturated.\n\n", r.InputAffine, r.OutputAffine, r.InputSaturated)
	if r.AffineRounding != "" {
		fmt.Fprintf(b, "Arithmetic (rounding %s.\n\n", strings.Replace(r.AffineRounding, ":", "):", 1))
	}
	if r.ArenaBytes > 0 {
		fmt.Fprintf(b, "Memory: arena %d B including %d B of ctx scratch (lower bound %d B, naive plan %d B), weights %d B.\n\n",
			r.ArenaBytes, r.ScratchBytes, r.ArenaLowerBound, r.ArenaNaive, r.WeightsBytes)
	}
	if r.InstructionsPerInference > 0 {
		fmt.Fprintf(b, "Cortex-M: %d instructions per inference, flash %d B, RAM %d B.\n\n", r.InstructionsPerInference, r.FlashBytes, r.RAMBytes)
	}
	instr := r.InstructionsPerInference > 0
	b.WriteString("| layer | op | function | in (scale@zp) | out (scale@zp) | weight scale | effective multiplier | shift | clamp | saturations | SQNR dB |")
	if instr {
		b.WriteString(" instructions |")
	}
	b.WriteString("\n|---|---|---|---|---|---|---|---|---|---|---|")
	if instr {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	pair := func(v []float64) string {
		if len(v) != 2 {
			return "-"
		}
		return rangeString(v[0], v[1])
	}
	for _, l := range r.Layers {
		s := l.S8
		if s == nil {
			continue
		}
		var ins []string
		for _, a := range s.In {
			ins = append(ins, a.String())
		}
		fn := l.Kernel
		if s.Kernel != "" && s.Kernel != s.Function {
			fn += "` → `" + s.Kernel
		}
		sh, clamp := "-", "-"
		if len(s.Shift) == 2 {
			sh = fmt.Sprint(s.Shift[0])
			if s.Shift[0] != s.Shift[1] {
				sh = fmt.Sprintf("%d..%d", s.Shift[0], s.Shift[1])
			}
		}
		if s.Function != "" {
			clamp = fmt.Sprintf("[%d, %d]", s.ActMin, s.ActMax)
			if s.FusedReLU {
				clamp += " (ReLU)"
			}
		}
		sq := "exact"
		if l.SQNRdB != nil {
			sq = fmt.Sprintf("%.1f", *l.SQNRdB)
		}
		fmt.Fprintf(b, "| %s | %s | `%s` | %s | %s | %s | %s | %s | %s | %d | %s |", l.Name, l.Op, fn, strings.Join(ins, ", "), s.Out,
			pair(s.WeightScale), pair(s.Multiplier), sh, clamp, l.Saturations, sq)
		if instr {
			fmt.Fprintf(b, " %d |", l.Instructions)
		}
		b.WriteString("\n")
	}
	var nnqK []string
	for _, l := range r.Layers {
		if l.NNQKernel {
			nnqK = append(nnqK, fmt.Sprintf("%s (`%s`)", l.Name, l.S8.Function))
		}
	}
	if len(nnqK) > 0 {
		fmt.Fprintf(b, "\nLayers CMSIS-NN has no function for, run by nnq's own C kernels: %s.\n", strings.Join(nnqK, ", "))
	}
	b.WriteString("\n")
	for _, l := range r.Layers {
		for _, n := range l.Notes {
			fmt.Fprintf(b, "- %s: %s\n", l.Name, n)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
}
