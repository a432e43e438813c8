package codegen

import (
	"fmt"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq"
)

// Report renders the variant report: each layer's C function, why faster
// variants were refused, which layers run nnq's own kernels and the memory
// figures.
func (p *Project) Report() string {
	var b strings.Builder
	q := p.Model
	fmt.Fprintf(&b, "export %q: %s, target %s (%s path), %s runtime, %d layers -> %s\n", q.Name, q.TypeName(), q.Target, q.Path, q.Runtime, len(q.Layers), p.Dir)
	fmt.Fprintf(&b, "memory: weights %d B (flash); arena %d B (RAM) = activations %d + scratch %d; lower bound %d, naive %d (%s)\n",
		p.WeightBytes, p.Mem.ArenaBytes, p.Mem.ActivationBytes, p.Mem.ScratchBytes, p.Mem.LowerBound, p.Mem.Naive, p.Mem.Strategy)
	fmt.Fprintf(&b, "%-3s %-20s %-17s %-46s %s\n", "#", "layer", "op", "function", "notes")
	nnqCount := 0
	for _, k := range p.Kernels {
		fn := k.Function
		if fn == "" {
			fn = "(buffer view)"
		}
		var notes []string
		if k.ReLU {
			fn += " + relu"
		}
		if k.NNQ {
			nnqCount++
			notes = append(notes, "nnq kernel: "+k.Why)
		} else if k.Why != "" {
			notes = append(notes, k.Why)
		}
		if k.InPlace {
			notes = append(notes, "in place")
		}
		if k.Copy {
			notes = append(notes, "input copied first (still read later)")
		}
		fmt.Fprintf(&b, "%-3d %-20s %-17s %-46s %s\n", k.Layer, k.Name, k.Op, fn, strings.Join(notes, "; "))
		for _, r := range k.Rejected {
			fmt.Fprintf(&b, "      rejected %s\n", r)
		}
	}
	switch {
	case nnqCount == 0:
		b.WriteString("every layer runs a CMSIS-NN library function\n")
	case q.IsAffine():
		fmt.Fprintf(&b, "%d layer(s) run nnq's own kernels (codegen runtime nnq_s8_nnq.c, compiled with or without CMSIS-NN)\n", nnqCount)
	case q.Runtime == nnq.RuntimeCMSIS:
		fmt.Fprintf(&b, "%d layer(s) run nnq's own kernels (nnq_kernels.h, compiled with or without CMSIS)\n", nnqCount)
	default:
		fmt.Fprintf(&b, "every layer runs nnq's kernels (nnq_kernels.h); pre-expanded weights add %d flash bytes\n", p.WideBytes)
	}
	return b.String()
}

// FillReport copies the export's figures into a conversion report: the
// memory plan (arena with scratch, lower bound, naive plan), the weight
// bytes and the part pre-expanded to 16 bits (the flash cost of
// --optimize speed), and why each layer runs its kernel.
func (p *Project) FillReport(r *nnq.Report) {
	r.ArenaBytes, r.ArenaLowerBound, r.ArenaNaive = p.Mem.ArenaBytes, p.Mem.LowerBound, p.Mem.Naive
	r.WeightsBytes, r.ScratchBytes, r.ExpandedWeightBytes = p.WeightBytes, p.Mem.ScratchBytes, p.WideBytes
	for _, k := range p.Kernels {
		if k.Layer < len(r.Layers) && r.Layers[k.Layer].Name == k.Name {
			r.Layers[k.Layer].Why = k.Why
		}
	}
}
