package nnq

import "fmt"

// Flatten and reshape only change how a buffer is viewed. In the framework
// layout the flattened order is the layout's memory order (CHW for NCHW);
// in CMSIS layout it is HWC, which is why a dense layer after a flatten
// needs its weight columns reordered (see op_dense.go).

func flattenShape(m *Model, l *Layer, in []Act) (Act, error) {
	a := in[0]
	if a.Spatial() {
		return Act{Shape: []int{a.Size()}, Flat: a.Shape}, nil
	}
	return Act{Shape: []int{a.Size()}, Flat: a.Flat}, nil
}

func copyForward(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	copy(y, x[0])
}

func init() {
	register(&opSpec{op: OpFlatten, arity: 1, shape: flattenShape, forward: copyForward, reference: copyForward, inPlace: true,
		qformat: qformatKeep, fixed: fixedView})
	register(&opSpec{
		op: OpReshape, arity: 1, inPlace: true, qformat: qformatKeep, fixed: fixedView,
		shape: func(m *Model, l *Layer, in []Act) (Act, error) {
			t := l.Attrs.Shape
			n := in[0].Size()
			// A -1 takes the remaining size, as in the frameworks.
			known, free := 1, -1
			for i, d := range t {
				switch {
				case d == -1 && free < 0:
					free = i
				case d > 0:
					known *= d
				default:
					return Act{}, fmt.Errorf("layer %q: reshape target %v has an invalid dimension", l.Name, t)
				}
			}
			if free >= 0 {
				if known == 0 || n%known != 0 {
					return Act{}, fmt.Errorf("layer %q: cannot reshape %d elements to %v", l.Name, n, t)
				}
				t = append([]int(nil), t...)
				t[free] = n / known
			}
			if shapeSize(t) != n {
				return Act{}, fmt.Errorf("layer %q: cannot reshape %v (%d elements) to %v", l.Name, in[0].Shape, n, t)
			}
			nonUnit := 0
			for _, d := range t {
				if d != 1 {
					nonUnit++
				}
			}
			if nonUnit <= 1 {
				return flattenShape(m, l, in)
			}
			if len(t) == 3 && in[0].Spatial() {
				logical := t
				if m.Layout == NCHW {
					logical = []int{t[1], t[2], t[0]}
				}
				if equalInts(logical, in[0].Shape) {
					return in[0], nil
				}
			}
			return Act{}, fmt.Errorf("layer %q: reshape from %v to %v moves elements between axes; only flattening to a vector (or a no-op) maps onto CMSIS-NN layouts", l.Name, in[0].Shape, l.Attrs.Shape)
		},
		forward: copyForward, reference: copyForward,
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
