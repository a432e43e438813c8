package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// denseIn returns the input length of a dense layer and, when its input is
// a flattened (or implicitly flattened) feature map, the map's [H,W,C].
func denseIn(a Act) (n int, hwc []int) {
	if a.Spatial() {
		return a.Size(), a.Shape
	}
	return a.Size(), a.Flat
}

func init() {
	register(&opSpec{
		op: OpDense, arity: 1, params: []string{"weight"}, optParams: []string{"bias"},
		qformat: qformatWeighted, fixed: fixedWeighted,
		shape: func(m *Model, l *Layer, in []Act) (Act, error) {
			w := m.Param(l, "weight")
			n, _ := denseIn(in[0])
			if len(w.Shape) != 2 {
				return Act{}, fmt.Errorf("layer %q: dense weight %q has shape %v, want 2 dimensions %s", l.Name, w.Name, w.Shape, weightOrder(m.Layout, OpDense))
			}
			units, nin := w.Shape[0], w.Shape[1]
			if m.Layout == NHWC {
				units, nin = nin, units
			}
			if nin != n {
				return Act{}, fmt.Errorf("layer %q: weight %q %v (%s) expects %d inputs, the input has %d (%v)", l.Name, w.Name, w.Shape, weightOrder(m.Layout, OpDense), nin, n, in[0].Shape)
			}
			if l.Attrs.Units != 0 && l.Attrs.Units != units {
				return Act{}, fmt.Errorf("layer %q: units %d disagrees with weight %q %v", l.Name, l.Attrs.Units, w.Name, w.Shape)
			}
			if b := m.Param(l, "bias"); b != nil {
				if err := wantShape(l, "bias", b, units); err != nil {
					return Act{}, err
				}
			}
			if err := checkFused(l); err != nil {
				return Act{}, err
			}
			return Act{Shape: []int{units}}, nil
		},
		forward: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			kernels.FullyConnectedFloat(x[0], m.Param(l, "weight").Data, biasData(m, l), y)
			applyFused(l, y)
		},
		prepare: func(m *Model, l *Layer, in []Act) preparedLayer {
			w := m.Param(l, "weight")
			return kernels.NewFullyConnectedFloat(in[0].Size(), len(w.Data)/max(in[0].Size(), 1), w.Data, biasData(m, l))
		},
		reference: func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			w := m.Param(l, "weight").Data
			b := biasData(m, l)
			n, u := len(x[0]), len(y)
			for r := 0; r < u; r++ {
				var acc float64
				if b != nil {
					acc = float64(b[r])
				}
				for j := 0; j < n; j++ {
					wi := r*n + j
					if m.Layout == NHWC {
						wi = j*u + r
					}
					acc += float64(x[0][j]) * float64(w[wi])
				}
				y[r] = float32(acc)
			}
			applyFused(l, y)
		},
		toCMSIS: func(m, dst *Model, l *Layer, in []Act) error {
			w := m.Param(l, "weight")
			n, hwc := denseIn(in[0])
			units := w.Size() / n
			perm := flatOrder(m.Layout, hwc)
			nw := &Tensor{Name: w.Name, Shape: []int{units, n}, Data: make([]float32, w.Size())}
			for r := 0; r < units; r++ {
				for j := 0; j < n; j++ {
					src := j // framework input index of CMSIS input j
					if perm != nil {
						src = perm[j]
					}
					if m.Layout == NHWC {
						nw.Data[r*n+j] = w.Data[src*units+r]
					} else {
						nw.Data[r*n+j] = w.Data[r*n+src]
					}
				}
			}
			dst.Tensors[w.Name] = nw
			return nil
		},
	})
}
