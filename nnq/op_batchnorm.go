package nnq

import (
	"fmt"
	"math"
)

// Batchnorm is never run on the target: Prepare folds it into the conv,
// depthwise conv or dense layer before it, or turns a lone batchnorm on a
// feature map into a 1x1 depthwise convolution. Its float passes exist so
// folding can be checked.

func bnEpsilon(l *Layer) float64 {
	if l.Attrs.Epsilon > 0 {
		return l.Attrs.Epsilon
	}
	return 1e-5
}

// bnScaleShift returns per-channel scale and shift: y = x*scale + shift.
func bnScaleShift(m *Model, l *Layer) (scale, shift []float64) {
	g, b, mu, v := m.Param(l, "gamma").Data, m.Param(l, "beta").Data, m.Param(l, "mean").Data, m.Param(l, "var").Data
	eps := bnEpsilon(l)
	scale, shift = make([]float64, len(g)), make([]float64, len(g))
	for c := range g {
		scale[c] = float64(g[c]) / math.Sqrt(float64(v[c])+eps)
		shift[c] = float64(b[c]) - float64(mu[c])*scale[c]
	}
	return scale, shift
}

func init() {
	register(&opSpec{
		op: OpBatchNorm, arity: 1, params: []string{"gamma", "beta", "mean", "var"},
		shape: func(m *Model, l *Layer, in []Act) (Act, error) {
			c := in[0].Shape[len(in[0].Shape)-1]
			for _, role := range []string{"gamma", "beta", "mean", "var"} {
				if err := wantShape(l, role, m.Param(l, role), c); err != nil {
					return Act{}, err
				}
			}
			for i, v := range m.Param(l, "var").Data {
				if float64(v)+bnEpsilon(l) <= 0 {
					return Act{}, fmt.Errorf("layer %q: variance %v of channel %d is not positive", l.Name, v, i)
				}
			}
			return in[0], nil
		},
		forward: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			scale, shift := bnScaleShift(m, l)
			C := len(scale)
			for i, v := range x[0] {
				c := i % C
				y[i] = float32(float64(v)*scale[c] + shift[c])
			}
		},
		reference: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			scale, shift := bnScaleShift(m, l)
			C := len(scale)
			n := len(x[0]) / C
			for i, v := range x[0] {
				c := i % C
				if m.Layout == NCHW && in[0].Spatial() {
					c = i / n
				}
				y[i] = float32(float64(v)*scale[c] + shift[c])
			}
		},
	})
}
