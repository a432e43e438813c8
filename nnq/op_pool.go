package nnq

import (
	"fmt"
	"math"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Pooling windows skip out-of-range positions: max ignores padding and
// average divides by the in-range count (ONNX count_include_pad=0, Keras
// "same" pooling), exactly as the legacy CMSIS-NN pools do.

func poolShape(m *Model, l *Layer, in []Act) (Act, error) {
	if !in[0].Spatial() {
		return Act{}, fmt.Errorf("layer %q: %s needs a feature map input, got %v", l.Name, l.Op, in[0].Shape)
	}
	g, err := m.windowOf(l, in[0])
	if err != nil {
		return Act{}, err
	}
	return Act{Shape: []int{g.OutH, g.OutW, g.InC}}, nil
}

func poolReference(isMax bool) func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	return func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
		g, _ := m.windowOf(l, in[0])
		for c := 0; c < g.InC; c++ {
			for oy := 0; oy < g.OutH; oy++ {
				for ox := 0; ox < g.OutW; ox++ {
					best, sum, n := math.Inf(-1), 0.0, 0
					for ky := 0; ky < g.KH; ky++ {
						for kx := 0; kx < g.KW; kx++ {
							iy, ix := oy*g.SH-g.PadT+ky, ox*g.SW-g.PadL+kx
							if iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW {
								continue
							}
							v := float64(x[0][fwIndex(m.Layout, g.InH, g.InW, g.InC, iy, ix, c)])
							best = math.Max(best, v)
							sum += v
							n++
						}
					}
					r := 0.0
					if n > 0 {
						r = sum / float64(n)
						if isMax {
							r = best
						}
					}
					y[fwIndex(m.Layout, g.OutH, g.OutW, g.OutC, oy, ox, c)] = float32(r)
				}
			}
		}
	}
}

func init() {
	register(&opSpec{
		op: OpMaxPool2D, arity: 1, shape: poolShape, reference: poolReference(true),
		qformat: qformatKeep, fixed: fixedPool,
		forward: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			g, _ := m.windowOf(l, in[0])
			kernels.MaxPoolHWCFloat(g, x[0], y)
		},
	})
	register(&opSpec{
		op: OpAvgPool2D, arity: 1, shape: poolShape, reference: poolReference(false),
		qformat: qformatAvgPool, fixed: fixedPool,
		forward: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			g, _ := m.windowOf(l, in[0])
			kernels.AvgPoolHWCFloat(g, x[0], y)
		},
	})
}
