package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// dwDims reads kernel size and channels from a depthwise weight shape in
// layout l (NCHW: [C][1][kh][kw], NHWC: [kh][kw][C][1], CMSIS: [kh][kw][C]).
func dwDims(l Layout, s []int) (kh, kw, c int) {
	switch {
	case l == NCHW && len(s) == 4 && s[1] == 1:
		return s[2], s[3], s[0]
	case l == NHWC && len(s) == 4 && s[3] == 1:
		return s[0], s[1], s[2]
	case l == CMSIS && len(s) == 3:
		return s[0], s[1], s[2]
	}
	return 0, 0, 0
}

func init() {
	register(&opSpec{
		op: OpDepthwiseConv2D, arity: 1, params: []string{"weight"}, optParams: []string{"bias"},
		qformat: qformatWeighted, fixed: fixedWeighted,
		shape: func(m *Model, l *Layer, in []Act) (Act, error) {
			w := m.Param(l, "weight")
			kh, kw, c := dwDims(m.Layout, w.Shape)
			if c == 0 {
				return Act{}, fmt.Errorf("layer %q: depthwise weight %q has shape %v, want %s (depth multiplier 1)", l.Name, w.Name, w.Shape, weightOrder(m.Layout, OpDepthwiseConv2D))
			}
			if !in[0].Spatial() {
				return Act{}, fmt.Errorf("layer %q: depthwise_conv2d needs a feature map input, got %v", l.Name, in[0].Shape)
			}
			if c != in[0].Shape[2] {
				return Act{}, fmt.Errorf("layer %q: weight %q has %d channels, input has %d (only depth multiplier 1 is supported)", l.Name, w.Name, c, in[0].Shape[2])
			}
			return convShape(m, l, in[0], w, kh, kw, c)
		},
		forward: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			g, _ := m.windowOf(l, in[0])
			kernels.DepthwiseConvHWCFloat(g, x[0], m.Param(l, "weight").Data, biasData(m, l), y)
			applyFused(l, y)
		},
		prepare: func(m *Model, l *Layer, in []Act) preparedLayer {
			g, _ := m.windowOf(l, in[0])
			return kernels.NewDepthwiseConvFloat(g, m.Param(l, "weight").Data, biasData(m, l))
		},
		reference: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			convReference(m, l, in[0], x[0], y, true, func(g kernels.Window2D, f, c, ky, kx int) int {
				if m.Layout == NCHW {
					return (c*g.KH+ky)*g.KW + kx
				}
				return (ky*g.KW+kx)*g.InC + c
			})
		},
		toCMSIS: func(m, dst *Model, l *Layer, in []Act) error {
			w := m.Param(l, "weight")
			kh, kw, c := dwDims(m.Layout, w.Shape)
			nw := &Tensor{Name: w.Name, Shape: []int{kh, kw, c}, Data: make([]float32, w.Size())}
			for ch := 0; ch < c; ch++ {
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						src := (ky*kw+kx)*c + ch
						if m.Layout == NCHW {
							src = (ch*kh+ky)*kw + kx
						}
						nw.Data[(ky*kw+kx)*c+ch] = w.Data[src]
					}
				}
			}
			dst.Tensors[w.Name] = nw
			return nil
		},
	})
}
