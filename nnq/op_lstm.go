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
// into the first), reporting its internal tensors to rec.

func lstmReference(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
	T, I, H := rnnSizes(m, l, in[0])
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	bih, bhh := m.Param(l, "bias_ih"), m.Param(l, "bias_hh")
	xt := make([]float64, I)
	h, c, nh := make([]float64, H), make([]float64, H), make([]float64, H)
	pre := func(row int) float64 { return rowDot(wih, bih, row, xt) + rowDot(whh, bhh, row, h) }
	for t := 0; t < T; t++ {
		rnnStep(m.Layout, in[0], x[0], t, xt)
		for k := 0; k < H; k++ {
			i, f := sigmoid64(pre(k)), sigmoid64(pre(H+k))
			g, o := math.Tanh(pre(2*H+k)), sigmoid64(pre(3*H+k))
			c[k] = f*c[k] + i*g
			nh[k] = o * math.Tanh(c[k])
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

func lstmTrace(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32, rec func(string, []float32)) {
	T, I, H := rnnSizes(m, l, in[0])
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	bx, bh := rnnBiases(m, l, H)
	gx, gh := make([]float32, 4*H), make([]float32, 4*H)
	h, c := make([]float32, H), make([]float32, H)
	seg := func(v []float32, a, b int) []float32 { return v[a*H : b*H] }
	gates, state, cell := l.Name+"/gates", l.Name+"/h", l.Name+"/c"
	for t := 0; t < T; t++ {
		kernels.FullyConnectedFloat(x[0][t*I:(t+1)*I], wih, bx, gx)
		kernels.FullyConnectedFloat(h, whh, bh, gh)
		if rec != nil {
			rec(gates, gx)
			rec(gates, gh)
		}
		kernels.AddFloat(gx, gh, gx)
		if rec != nil {
			rec(gates, gx)
		}
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
		if rec != nil {
			rec(cell, c)
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
