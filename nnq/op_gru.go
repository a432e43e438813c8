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

func gruReference(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	T, I, H := rnnSizes(m, l, in[0])
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	bih, bhh := m.Param(l, "bias_ih"), m.Param(l, "bias_hh")
	xt := make([]float64, I)
	h, nh := make([]float64, H), make([]float64, H)
	for t := 0; t < T; t++ {
		rnnStep(m.Layout, in[0], x[0], t, xt)
		for k := 0; k < H; k++ {
			r := sigmoid64(rowDot(wih, bih, k, xt) + rowDot(whh, bhh, k, h))
			z := sigmoid64(rowDot(wih, bih, H+k, xt) + rowDot(whh, bhh, H+k, h))
			n := math.Tanh(rowDot(wih, bih, 2*H+k, xt) + r*rowDot(whh, bhh, 2*H+k, h))
			nh[k] = (1-z)*n + z*h[k]
		}
		h, nh = nh, h
		if l.Attrs.ReturnSequences {
			for k, v := range h {
				y[t*H+k] = float32(v)
			}
		}
	}
	if !l.Attrs.ReturnSequences {
		for k, v := range h {
			y[k] = float32(v)
		}
	}
}

func gruTrace(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32, rec func(string, []float32)) {
	T, I, H := rnnSizes(m, l, in[0])
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	bx, bh := rnnBiases(m, l, H)
	gx, gh, h := make([]float32, 3*H), make([]float32, 3*H), make([]float32, H)
	seg := func(v []float32, a, b int) []float32 { return v[a*H : b*H] }
	gates, state := l.Name+"/gates", l.Name+"/h"
	for t := 0; t < T; t++ {
		kernels.FullyConnectedFloat(x[0][t*I:(t+1)*I], wih, bx, gx)
		kernels.FullyConnectedFloat(h, whh, bh, gh)
		if rec != nil {
			rec(gates, gx)
			rec(gates, gh)
		}
		rz := seg(gx, 0, 2)
		kernels.AddFloat(rz, seg(gh, 0, 2), rz)
		if rec != nil {
			rec(gates, rz)
		}
		kernels.SigmoidFloat(rz)
		r, z, n := seg(gx, 0, 1), seg(gx, 1, 2), seg(gx, 2, 3)
		hn := seg(gh, 2, 3)
		kernels.MulFloat(r, hn, hn)
		kernels.AddFloat(n, hn, n)
		if rec != nil {
			rec(gates, n)
		}
		kernels.TanhFloat(n)
		zn, zh := seg(gh, 0, 1), seg(gh, 1, 2)
		kernels.MulFloat(z, n, zn)
		kernels.MulFloat(z, h, zh)
		for k := range r {
			r[k] = n[k] - zn[k]
		}
		kernels.AddFloat(r, zh, h)
		if rec != nil {
			rec(state, h)
		}
		if l.Attrs.ReturnSequences {
			copy(y[t*H:(t+1)*H], h)
		}
	}
	if !l.Attrs.ReturnSequences {
		copy(y, h)
	}
}
