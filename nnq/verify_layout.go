package nnq

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// LayerDiff is the largest absolute difference seen at one layer's output
// between the framework-layout reference pass and the CMSIS-layout pass.
type LayerDiff struct {
	Layer  string
	Op     Op
	Shape  []int
	MaxAbs float64
	// MaxRef is the largest absolute reference value (for scale).
	MaxRef float64
}

// LayoutReport is the result of VerifyLayout.
type LayoutReport struct {
	Model    string
	From     Layout
	Patterns int
	Layers   []LayerDiff
}

// MaxAbs is the largest difference over all layers.
func (r *LayoutReport) MaxAbs() float64 {
	m := 0.0
	for _, l := range r.Layers {
		m = math.Max(m, l.MaxAbs)
	}
	return m
}

// String renders the report as a table.
func (r *LayoutReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "layout check of %q: %s reference pass vs CMSIS float kernels on %d patterns\n", r.Model, r.From, r.Patterns)
	fmt.Fprintf(&b, "%-24s %-18s %-14s %12s %12s\n", "layer", "op", "shape", "max |diff|", "max |ref|")
	for _, l := range r.Layers {
		fmt.Fprintf(&b, "%-24s %-18s %-14s %12.3g %12.3g\n", l.Layer, l.Op, shapeString(l.Shape), l.MaxAbs, l.MaxRef)
	}
	return b.String()
}

// VerifyLayout runs the naive framework-layout pass of fw and the CMSIS float
// pass of cm (fw converted with ToCMSIS, possibly edited) on every pattern
// and reports, per layer, the largest absolute difference between the two
// activations once the reference one is put in CMSIS order.
func VerifyLayout(fw, cm *Model, p *Patterns) (*LayoutReport, error) {
	if len(fw.Layers) != len(cm.Layers) {
		return nil, fmt.Errorf("models %q and %q have different layer counts (%d, %d)", fw.Name, cm.Name, len(fw.Layers), len(cm.Layers))
	}
	for i := range fw.Layers {
		if fw.Layers[i].Name != cm.Layers[i].Name {
			return nil, fmt.Errorf("layer %d is %q in the framework model and %q in the CMSIS model", i, fw.Layers[i].Name, cm.Layers[i].Name)
		}
	}
	if err := fw.CheckPatterns(p); err != nil {
		return nil, err
	}
	if p.Len() == 0 {
		return nil, fmt.Errorf("no patterns to verify the layout of %q with", fw.Name)
	}
	rep := &LayoutReport{Model: fw.Name, From: fw.Layout, Patterns: p.Len()}
	for _, l := range fw.Layers {
		rep.Layers = append(rep.Layers, LayerDiff{Layer: l.Name, Op: l.Op})
	}
	type acc struct{ diff, ref []float64 }
	var parts []acc
	var mu sync.Mutex
	err := parallel(p.Len(), func() (func(int), error) {
		rr, err := fw.newReferenceRunner()
		if err != nil {
			return nil, err
		}
		cr, err := cm.NewRunner()
		if err != nil {
			return nil, err
		}
		a := acc{make([]float64, len(fw.Layers)), make([]float64, len(fw.Layers))}
		mu.Lock()
		parts = append(parts, a) // read after all workers finish
		mu.Unlock()
		scratch := make([][]float32, len(fw.Layers))
		perms := make([][]int, len(fw.Layers))
		for i := range fw.Layers {
			scratch[i] = make([]float32, rr.Act(i).Size())
			perms[i] = flatOrder(fw.Layout, rr.Act(i).Flat)
		}
		return func(k int) {
			rr.Run(p.Input(k))
			cr.Run(p.Input(k))
			for i := range fw.Layers {
				ref, got, act := rr.Output(i), cr.Output(i), rr.Act(i)
				conv := scratch[i]
				switch {
				case act.Spatial():
					toHWC(fw.Layout, act.Shape[0], act.Shape[1], act.Shape[2], ref, conv)
				case perms[i] != nil:
					for j, src := range perms[i] {
						conv[j] = ref[src]
					}
				default:
					copy(conv, ref)
				}
				for j, v := range conv {
					a.diff[i] = math.Max(a.diff[i], math.Abs(float64(v)-float64(got[j])))
					a.ref[i] = math.Max(a.ref[i], math.Abs(float64(v)))
				}
			}
		}, nil
	})
	if err != nil {
		return nil, err
	}
	acts, _ := cm.Shapes()
	for i := range rep.Layers {
		rep.Layers[i].Shape = acts[cm.Layers[i].Name].Shape
		for _, a := range parts {
			rep.Layers[i].MaxAbs = math.Max(rep.Layers[i].MaxAbs, a.diff[i])
			rep.Layers[i].MaxRef = math.Max(rep.Layers[i].MaxRef, a.ref[i])
		}
	}
	return rep, nil
}
