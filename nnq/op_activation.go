package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Element-wise activations keep their input's shape and run in place.

func sameShape(m *Model, l *Layer, in []Act) (Act, error) { return in[0], nil }

func elementwise(f func([]float32)) func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	return func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
		copy(y, x[0])
		f(y)
	}
}

func init() {
	fw := func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
		kernels.ReLUFloatTo(y, x[0]) // ReLUFloat without the copy
	}
	register(&opSpec{op: OpReLU, arity: 1, shape: sameShape, forward: fw, reference: fw, inPlace: true,
		qformat: qformatKeep, fixed: fixedActivation})
	for op, f := range map[Op]func([]float32){OpSigmoid: kernels.SigmoidFloat, OpTanh: kernels.TanhFloat} {
		fw := elementwise(f)
		register(&opSpec{op: op, arity: 1, shape: sameShape, forward: fw, reference: fw, inPlace: true,
			qformat: qformatTable, fixed: fixedActivation})
	}
	softmax := func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
		kernels.SoftmaxFloat(x[0], y)
	}
	register(&opSpec{
		op: OpSoftmax, arity: 1, forward: softmax, reference: softmax,
		qformat: qformatSoftmax, fixed: fixedSoftmax,
		shape: func(m *Model, l *Layer, in []Act) (Act, error) {
			s := in[0].Shape
			if len(s) == 3 && s[0]*s[1] != 1 {
				return Act{}, fmt.Errorf("layer %q: softmax over a %v feature map is not supported; flatten or pool it to a vector first", l.Name, s)
			}
			return in[0], nil
		},
	})
	// Dropout and identity compute nothing at inference; Prepare removes them.
	for _, op := range []Op{OpDropout, OpIdentity} {
		register(&opSpec{op: op, arity: 1, shape: sameShape, forward: copyForward, reference: copyForward, inPlace: true})
	}
}
