package nnq

import (
	"math"

	"github.com/nnq-toolkit/nnq/kernels"
)

// The GRU (registered in recurrent.go). PyTorch's equations, gates r, z, n:
//
//	r  = σ(W_ir x + b_ir + W_hr h + b_hr)
//	z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//	n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//	h' = (1 - z) ⊙ n + z ⊙ h
//
// gruReference computes exactly that in float64 on the framework-layout
// model. gruTrace is the decomposed form the fixed-point kernel runs (in
// CMSIS layout, float32, one FC for all gates of x and one for h, folded
// biases, h' = n - z ⊙ n + z ⊙ h), reporting its internal tensors to rec.
// The sequence loops around both are rnnReference and rnnTrace.

func gruReference(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	rnnReference(m, l, in, x, y, func(H int, px, ph func(row int) float64, h, nh []float64) {
		for k := 0; k < H; k++ {
			r := sigmoid64(px(k) + ph(k))
			z := sigmoid64(px(H+k) + ph(H+k))
			n := math.Tanh(px(2*H+k) + r*ph(2*H+k))
			nh[k] = (1-z)*n + z*h[k]
		}
	})
}

func gruTrace(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32, rec func(string, []float32)) {
	gates := l.Name + "/gates"
	rnnTrace(m, l, in, x, y, rec, func(gx, gh, h []float32, seg func(v []float32, a, b int) []float32, rec func(string, []float32)) {
		rz := seg(gx, 0, 2)
		kernels.AddFloat(rz, seg(gh, 0, 2), rz)
		rec(gates, rz)
		kernels.SigmoidFloat(rz)
		r, z, n := seg(gx, 0, 1), seg(gx, 1, 2), seg(gx, 2, 3)
		hn := seg(gh, 2, 3)
		kernels.MulFloat(r, hn, hn)
		kernels.AddFloat(n, hn, n)
		rec(gates, n)
		kernels.TanhFloat(n)
		zn, zh := seg(gh, 0, 1), seg(gh, 1, 2)
		kernels.MulFloat(z, n, zn)
		kernels.MulFloat(z, h, zh)
		for k := range r {
			r[k] = n[k] - zn[k]
		}
		kernels.AddFloat(r, zh, h)
	})
}
