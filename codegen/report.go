package codegen

import (
	"fmt"
	"strings"
)

// Report renders the variant report: each layer's C function, why faster
// variants were refused, which layers run nnq's own kernels and the memory
// figures.
func (p *Project) Report() string {
	var b strings.Builder
	q := p.Model
	fmt.Fprintf(&b, "export %q: %s, target %s (%s path), %d layers -> %s\n", q.Name, q.TypeName(), q.Target, q.Path, len(q.Layers), p.Dir)
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
	if nnqCount == 0 {
		b.WriteString("every layer runs a CMSIS-NN library function\n")
	} else {
		files := "nnq_kernels.c, nnq_recurrent.c, nnq_dsp.c, compiled with or without CMSIS"
		if q.IsAffine() {
			files = "nnq_s8_nnq.c, compiled with or without CMSIS-NN"
		}
		fmt.Fprintf(&b, "%d layer(s) run nnq's own kernels (codegen runtime %s)\n", nnqCount, files)
	}
	return b.String()
}
