package nnq

import (
	"math"

	"github.com/nnq-toolkit/nnq/kernels"
)

// The LSTM (registered in recurrent.go). PyTorch's equations, gates i, f,
// g, o:
//
//	i  = σ(W_ii x + b_ii + W_hi h + b_hi)
//	f  = σ(W_if x + b_if + W_hf h + b_hf)
//	g  = tanh(W_ig x + b_ig + W_hg h + b_hg)
//	o  = σ(W_io x + b_io + W_ho h + b_ho)
//	c' = f ⊙ c + i ⊙ g
//	h' = o ⊙ tanh(c')
//
// lstmReference computes that in float64 on the framework-layout model;
// lstmTrace is the decomposed form of the fixed-point kernel (CMSIS layout,
// float32, one FC for all gates of x and one for h, b_ih + b_hh folded
// into the first), reporting its internal tensors to rec. The sequence
// loops around both are rnnReference and rnnTrace; the cell state c is
// the LSTM's own.

func lstmReference(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	var c []float64
	rnnReference(m, l, in, x, y, func(H int, px, ph func(row int) float64, h, nh []float64) {
		if c == nil {
			c = make([]float64, H)
		}
		pre := func(row int) float64 { return px(row) + ph(row) }
		for k := 0; k < H; k++ {
			i, f := sigmoid64(pre(k)), sigmoid64(pre(H+k))
			g, o := math.Tanh(pre(2*H+k)), sigmoid64(pre(3*H+k))
			c[k] = f*c[k] + i*g
			nh[k] = o * math.Tanh(c[k])
		}
	})
}

func lstmTrace(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32, rec func(string, []float32)) {
	gates, cell := l.Name+"/gates", l.Name+"/c"
	var c []float32
	rnnTrace(m, l, in, x, y, rec, func(gx, gh, h []float32, seg func(v []float32, a, b int) []float32, rec func(string, []float32)) {
		if c == nil {
			c = make([]float32, len(h))
		}
		kernels.AddFloat(gx, gh, gx)
		rec(gates, gx)
		i, f, g, o := seg(gx, 0, 1), seg(gx, 1, 2), seg(gx, 2, 3), seg(gx, 3, 4)
		kernels.SigmoidFloat(seg(gx, 0, 2))
		kernels.TanhFloat(g)
		kernels.SigmoidFloat(o)
		ig := seg(gh, 0, 1)
		kernels.MulFloat(f, c, c)
		kernels.MulFloat(i, g, ig)
		kernels.AddFloat(c, ig, c)
		tc := seg(gh, 1, 2)
		copy(tc, c)
		kernels.TanhFloat(tc)
		kernels.MulFloat(o, tc, h)
		rec(cell, c)
	})
}
