package nnq

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// costliest returns the names of up to n layers whose quantization alone
// costs the most accuracy (largest sensitivity drop; ties: lower SQNR
// first), costliest first.
func costliest(ls []ReportLayer, n int) []string {
	var c []ReportLayer
	for _, l := range ls {
		if l.SensitivityDrop != nil {
			c = append(c, l)
		}
	}
	sq := func(l ReportLayer) float64 {
		if l.SQNRdB == nil {
			return math.Inf(1)
		}
		return *l.SQNRdB
	}
	sort.SliceStable(c, func(i, j int) bool {
		if *c[i].SensitivityDrop != *c[j].SensitivityDrop {
			return *c[i].SensitivityDrop > *c[j].SensitivityDrop
		}
		return sq(c[i]) < sq(c[j])
	})
	var out []string
	for _, l := range c[:min(n, len(c))] {
		out = append(out, l.Name)
	}
	return out
}

// ExplainQFormat says in words what a Q format means: its range and step,
// and for a format with negative fractional bits (Q8.-1) or negative
// integer bits why it still holds a word.
func ExplainQFormat(bits, frac int) string {
	name := QFormat(bits, frac)
	lo := -math.Exp2(float64(bits - 1 - frac))
	step := math.Exp2(-float64(frac))
	hi := -lo - step
	switch {
	case frac < 0:
		return fmt.Sprintf("%s has %d fractional bits: each integer step is worth %g (2^%d), so the %d-bit word spans %g..%g in steps of %g; the lowest %d bit(s) of the value's integer part are not stored",
			name, frac, step, -frac, bits, lo, hi, step, -frac)
	case frac > bits-1:
		return fmt.Sprintf("%s has %d integer bits: with %d fractional bits in a %d-bit word, every value is below 2^%d = %g in magnitude (%g..%g in steps of 2^-%d)",
			name, bits-1-frac, frac, bits, bits-1-frac, -lo, lo, hi, frac)
	}
	return fmt.Sprintf("%s: %g..%g in steps of 2^-%d", name, lo, hi, frac)
}

// explainFormats explains every Q format of the model's activations
// whose integer or fractional part is negative.
func explainFormats(q *QModel) []string {
	seen := map[int]bool{}
	var out []string
	add := func(f int) {
		if seen[f] || (f >= 0 && f <= q.Bits-1) {
			return
		}
		seen[f] = true
		out = append(out, ExplainQFormat(q.Bits, f))
	}
	add(q.InputFrac)
	for _, l := range q.Layers {
		add(l.OutFrac)
	}
	return out
}

// markdownCosts renders the ranking of the costliest layers.
func (r *Report) markdownCosts(b *strings.Builder) {
	if len(r.Costliest) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Where accuracy goes\n\nEach layer alone in fixed point, the rest of the network in float, on %d test patterns (float accuracy on them %.2f%%). The three costliest:\n\n",
		r.SensitivityPatterns, 100*r.SensitivityFloat)
	for i, name := range r.Costliest {
		for _, l := range r.Layers {
			if l.Name != name {
				continue
			}
			fmt.Fprintf(b, "%d. **%s** (%s, output %s): %.2f%% alone, %s; SQNR %s, %s of its outputs saturated, headroom %s. Format: %s.\n",
				i+1, l.Name, l.Op, l.OutFormat, *l.SensitivityAcc, dropWords(*l.SensitivityDrop), sqnrText(l.SQNRdB), pctText(l.SaturationPct), headroomText(l.HeadroomBits), l.Reason)
		}
	}
}

func dropWords(d float64) string {
	switch {
	case d > 0:
		return fmt.Sprintf("%.2f points below float", d)
	case d < 0:
		return fmt.Sprintf("%.2f points above float", -d)
	}
	return "the float accuracy"
}

func sqnrText(v *float64) string {
	if v == nil {
		return "exact"
	}
	return fmt.Sprintf("%.1f dB", *v)
}

func pctText(p float64) string {
	if p == 0 {
		return "0%"
	}
	if p < 0.01 {
		return fmt.Sprintf("%.4f%%", p)
	}
	return fmt.Sprintf("%.2f%%", p)
}

func headroomText(h *float64) string {
	switch {
	case h == nil:
		return "-"
	case *h < 0:
		return fmt.Sprintf("%.1f bits (clips)", *h)
	}
	return fmt.Sprintf("%.1f bits", *h)
}
