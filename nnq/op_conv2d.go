package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// convDims reads kernel height/width, input and output channels from a conv
// weight shape in layout l (NCHW: OIHW, NHWC: HWIO, CMSIS: OHWI).
func convDims(l Layout, s []int) (kh, kw, cin, f int) {
	if len(s) != 4 {
		return 0, 0, 0, 0
	}
	switch l {
	case NCHW:
		return s[2], s[3], s[1], s[0]
	case NHWC:
		return s[0], s[1], s[2], s[3]
	}
	return s[1], s[2], s[3], s[0]
}

func checkFused(l *Layer) error {
	switch l.Attrs.Activation {
	case "", "relu":
		return nil
	}
	return fmt.Errorf("layer %q: fused activation %q is not supported (only relu)", l.Name, l.Attrs.Activation)
}

func init() {
	register(&opSpec{
		op: OpConv2D, arity: 1, params: []string{"weight"}, optParams: []string{"bias"},
		qformat: qformatWeighted, fixed: fixedWeighted,
		shape: func(m *Model, l *Layer, in []Act) (Act, error) {
			w := m.Param(l, "weight")
			if len(w.Shape) != 4 {
				return Act{}, fmt.Errorf("layer %q: conv2d weight %q has shape %v, want 4 dimensions (%s)", l.Name, w.Name, w.Shape, weightOrder(m.Layout, OpConv2D))
			}
			if !in[0].Spatial() {
				return Act{}, fmt.Errorf("layer %q: conv2d needs a feature map input, got %v", l.Name, in[0].Shape)
			}
			kh, kw, cin, f := convDims(m.Layout, w.Shape)
			if cin != in[0].Shape[2] {
				return Act{}, fmt.Errorf("layer %q: weight %q expects %d input channels (%s %v), input has %d", l.Name, w.Name, cin, weightOrder(m.Layout, OpConv2D), w.Shape, in[0].Shape[2])
			}
			return convShape(m, l, in[0], w, kh, kw, f)
		},
		forward: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			g, _ := m.windowOf(l, in[0])
			kernels.ConvHWCFloat(g, x[0], m.Param(l, "weight").Data, biasData(m, l), y)
			applyFused(l, y)
		},
		prepare: func(m *Model, l *Layer, in []Act) preparedLayer {
			g, _ := m.windowOf(l, in[0])
			return kernels.NewConvFloat(g, m.Param(l, "weight").Data, biasData(m, l))
		},
		reference: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			convReference(m, l, in[0], x[0], y, false, func(g kernels.Window2D, f, c, ky, kx int) int {
				if m.Layout == NCHW {
					return ((f*g.InC+c)*g.KH+ky)*g.KW + kx
				}
				return ((ky*g.KW+kx)*g.InC+c)*g.OutC + f
			})
		},
		toCMSIS: func(m, dst *Model, l *Layer, in []Act) error {
			w := m.Param(l, "weight")
			kh, kw, cin, f := convDims(m.Layout, w.Shape)
			nw := &Tensor{Name: w.Name, Shape: []int{f, kh, kw, cin}, Data: make([]float32, w.Size())}
			for o := 0; o < f; o++ {
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						for c := 0; c < cin; c++ {
							var src int
							switch m.Layout {
							case NCHW:
								src = ((o*cin+c)*kh+ky)*kw + kx
							case NHWC:
								src = ((ky*kw+kx)*cin+c)*f + o
							default:
								src = ((o*kh+ky)*kw+kx)*cin + c
							}
							nw.Data[((o*kh+ky)*kw+kx)*cin+c] = w.Data[src]
						}
					}
				}
			}
			dst.Tensors[w.Name] = nw
			return nil
		},
	})
}

// convShape finishes the shape rule of conv2d and depthwise_conv2d, whose
// weight w gives a kh×kw kernel and outC output channels: the kernel
// attribute, conv2d's filters, the bias, the fused activation and the
// window.
func convShape(m *Model, l *Layer, in Act, w *Tensor, kh, kw, outC int) (Act, error) {
	if k := l.Attrs.Kernel; len(k) > 0 && (len(k) != 2 || k[0] != kh || k[1] != kw) {
		return Act{}, fmt.Errorf("layer %q: kernel attribute %v disagrees with weight %q %v", l.Name, k, w.Name, w.Shape)
	}
	if l.Op == OpConv2D && l.Attrs.Filters != 0 && l.Attrs.Filters != outC {
		return Act{}, fmt.Errorf("layer %q: filters %d disagrees with weight %q %v", l.Name, l.Attrs.Filters, w.Name, w.Shape)
	}
	if b := m.Param(l, "bias"); b != nil {
		if err := wantShape(l, "bias", b, outC); err != nil {
			return Act{}, err
		}
	}
	if err := checkFused(l); err != nil {
		return Act{}, err
	}
	g, err := window(l, in.Shape, kh, kw, outC, 1)
	if err != nil {
		return Act{}, err
	}
	return Act{Shape: []int{g.OutH, g.OutW, outC}}, nil
}

// convReference is the naive framework-layout pass of conv2d and (with
// depthwise set: output channel f reads input channel f only)
// depthwise_conv2d; wi gives the framework-layout index of the weight of
// output channel f, input channel c and kernel tap (ky, kx).
func convReference(m *Model, l *Layer, in Act, x, y []float32, depthwise bool, wi func(g kernels.Window2D, f, c, ky, kx int) int) {
	g, _ := m.windowOf(l, in)
	w := m.Param(l, "weight").Data
	b := biasData(m, l)
	lay := m.Layout
	// The framework-layout indexers gather the input as [iy][ix][c] and
	// each filter's weights as [ky][kx][c] once, so the sums below read
	// contiguous values (each in the order ky, kx, c).
	xh := make([]float32, g.InH*g.InW*g.InC)
	for iy := 0; iy < g.InH; iy++ {
		for ix := 0; ix < g.InW; ix++ {
			for c := 0; c < g.InC; c++ {
				xh[(iy*g.InW+ix)*g.InC+c] = x[fwIndex(lay, g.InH, g.InW, g.InC, iy, ix, c)]
			}
		}
	}
	nc := g.InC
	if depthwise {
		nc = 1
	}
	wf := make([]float32, g.KH*g.KW*nc)
	for f := 0; f < g.OutC; f++ {
		c0 := 0
		if depthwise {
			c0 = f
		}
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				for c := 0; c < nc; c++ {
					wf[(ky*g.KW+kx)*nc+c] = w[wi(g, f, c0+c, ky, kx)]
				}
			}
		}
		for oy := 0; oy < g.OutH; oy++ {
			for ox := 0; ox < g.OutW; ox++ {
				var acc float64
				if b != nil {
					acc = float64(b[f])
				}
				for ky := 0; ky < g.KH; ky++ {
					iy := oy*g.SH - g.PadT + ky
					for kx := 0; kx < g.KW; kx++ {
						ix := ox*g.SW - g.PadL + kx
						if iy < 0 || iy >= g.InH || ix < 0 || ix >= g.InW {
							continue
						}
						xv := xh[(iy*g.InW+ix)*g.InC+c0:][:nc]
						wv := wf[(ky*g.KW+kx)*nc:][:nc]
						for c, v := range xv {
							acc += float64(v) * float64(wv[c])
						}
					}
				}
				y[fwIndex(lay, g.OutH, g.OutW, g.OutC, oy, ox, f)] = float32(acc)
			}
		}
	}
	applyFused(l, y)
}

func biasData(m *Model, l *Layer) []float32 {
	if b := m.Param(l, "bias"); b != nil {
		return b.Data
	}
	return nil
}

// weightOrder names the weight layout an op expects in layout l.
func weightOrder(l Layout, op Op) string {
	switch op {
	case OpConv2D:
		return map[Layout]string{NCHW: "OIHW [out][in][kh][kw]", NHWC: "HWIO [kh][kw][in][out]", CMSIS: "OHWI [out][kh][kw][in]"}[l]
	case OpDepthwiseConv2D:
		return map[Layout]string{NCHW: "[C][1][kh][kw]", NHWC: "[kh][kw][C][1]", CMSIS: "[kh][kw][C]"}[l]
	case OpDense:
		return map[Layout]string{NCHW: "[out][in]", NHWC: "[in][out]", CMSIS: "[out][in]"}[l]
	}
	return ""
}
