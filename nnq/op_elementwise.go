package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Add and mul combine two tensors of the same shape element by element (no
// broadcasting). Both tensors are in the same layout, so they need no
// reordering.

func twoSame(m *Model, l *Layer, in []Act) (Act, error) {
	if !equalInts(in[0].Shape, in[1].Shape) {
		return Act{}, fmt.Errorf("layer %q: %s inputs have shapes %v and %v; they must match (no broadcasting)", l.Name, l.Op, in[0].Shape, in[1].Shape)
	}
	return in[0], nil
}

func init() {
	add := func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
		kernels.AddFloat(x[0], x[1], y)
	}
	mul := func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
		kernels.MulFloat(x[0], x[1], y)
	}
	register(&opSpec{op: OpAdd, arity: 2, shape: twoSame, forward: add, reference: add, inPlace: true, qformat: qformatAdd, fixed: fixedAdd})
	register(&opSpec{op: OpMul, arity: 2, shape: twoSame, forward: mul, reference: mul, qformat: qformatMul, fixed: fixedMul})
}
