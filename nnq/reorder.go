package nnq

import "fmt"

// Transpose permutes the dimensions of a row-major tensor: dimension i of the
// result is dimension perm[i] of x (NumPy's x.transpose(perm)). It returns
// the data and the new shape.
func Transpose(x []float32, shape, perm []int) ([]float32, []int, error) {
	if len(perm) != len(shape) {
		return nil, nil, fmt.Errorf("transpose: permutation %v does not fit shape %v", perm, shape)
	}
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, nil, fmt.Errorf("transpose: %v is not a permutation", perm)
		}
		seen[p] = true
	}
	if shapeSize(shape) != len(x) {
		return nil, nil, fmt.Errorf("transpose: %d values for shape %v", len(x), shape)
	}
	n := len(shape)
	strides := make([]int, n)
	s := 1
	for i := n - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	newShape := make([]int, n)
	newStrides := make([]int, n) // stride in x of each new dimension
	for i, p := range perm {
		newShape[i], newStrides[i] = shape[p], strides[p]
	}
	out := make([]float32, len(x))
	idx := make([]int, n)
	for k := range out {
		off := 0
		for i := range idx {
			off += idx[i] * newStrides[i]
		}
		out[k] = x[off]
		for i := n - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < newShape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, newShape, nil
}

// ReorderFCWeights reorders the weight matrix of a fully connected layer
// whose input is a flattened tensor of shape inShape, when that tensor is
// transposed by perm before flattening: it is the guide's
// w.reshape(out, *inShape).transpose(0, 1+perm...).reshape(out, -1). After
// it, newW · flatten(transpose(t, perm)) == w · flatten(t).
func ReorderFCWeights(w []float32, outDim int, inShape, perm []int) ([]float32, error) {
	full := append([]int{outDim}, inShape...)
	fp := []int{0}
	for _, p := range perm {
		fp = append(fp, p+1)
	}
	if len(w) != shapeSize(full) {
		return nil, fmt.Errorf("reorder: %d weights do not make a %d x %v matrix", len(w), outDim, inShape)
	}
	out, _, err := Transpose(w, full, fp)
	return out, err
}
