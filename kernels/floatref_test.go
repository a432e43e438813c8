package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Every kernel against a float reference on random inputs, within the
// quantisation error bound of its formats. Inputs are in Q.fin, weights
// Q.fw, bias Q.fb, output Q.fout, so bias_shift = fin+fw-fb and out_shift =
// fin+fw-fout (facts sheet §1.2). A requantised output may differ from the
// real value y (clamped to the output range) by at most half an LSB
// (round-half-up) or less than one LSB below it (truncate). Cases where the
// int32 accumulator wraps are skipped (counted by Stats). The float loops
// here are deliberately independent of float.go.

// frFormats draws fin, fw and the two shifts; returns the scale 2^fout of
// the output LSB relative to the real value and the real scale factors.
type frFmt struct {
	fin, fw, fb, fout int
	bs, os            int
}

func frDraw(r *rand.Rand, maxIn, maxW, maxBS, extraOS int) frFmt {
	f := frFmt{fin: r.IntN(maxIn + 1), fw: r.IntN(maxW + 1)}
	f.bs = r.IntN(min(f.fin+f.fw, maxBS) + 1)
	f.fb = f.fin + f.fw - f.bs
	f.os = min(r.IntN(f.fin+f.fw+1)+r.IntN(extraOS+1), 30)
	f.fout = f.fin + f.fw - f.os
	return f
}

func frVal[T qint](x T, frac int) float64 { return math.Ldexp(float64(x), -frac) }

// frCheck compares a requantised output q (in output LSBs) with the real
// value y (in output LSBs).
func frCheck(t *testing.T, what string, q int, y float64, lo, hi int, rd Rounding) {
	t.Helper()
	yc := math.Min(math.Max(y, float64(lo)), float64(hi))
	d := yc - float64(q)
	ok := math.Abs(d) <= 0.5+1e-9
	if rd == Truncate {
		ok = d > -1e-9 && d < 1
	}
	if !ok {
		t.Fatalf("%s: got %d, float reference %.6f (clamped %.6f), rounding %v", what, q, y, yc, rd)
	}
}

// frConv is a float convolution (depthwise when dw) in HWC/OHWI layout.
func frConv[T, W, B qint](g ConvGeom, in []T, wt []W, bias []B, f frFmt, dw bool) []float64 {
	out := make([]float64, g.OutSize())
	for oy := 0; oy < g.OutY; oy++ {
		for ox := 0; ox < g.OutX; ox++ {
			for o := 0; o < g.OutC; o++ {
				s := frVal(bias[o], f.fb)
				for ky := 0; ky < g.KY; ky++ {
					for kx := 0; kx < g.KX; kx++ {
						iy, ix := oy*g.StrideY-g.PadY+ky, ox*g.StrideX-g.PadX+kx
						if iy < 0 || ix < 0 || iy >= g.InY || ix >= g.InX {
							continue
						}
						for c := 0; c < g.InC; c++ {
							if dw && c != o {
								continue
							}
							wi := ((o*g.KY+ky)*g.KX+kx)*g.InC + c
							if dw {
								wi = (ky*g.KX+kx)*g.InC + c
							}
							s += frVal(in[(iy*g.InX+ix)*g.InC+c], f.fin) * frVal(wt[wi], f.fw)
						}
					}
				}
				out[(oy*g.OutX+ox)*g.OutC+o] = math.Ldexp(s, f.fout)
			}
		}
	}
	return out
}

func TestFloatRefConv(t *testing.T) {
	r := ptRand(10)
	for _, v := range Variants() {
		if v.Kind() != KindConv && v.Kind() != KindDepthwise {
			continue
		}
		for it := 0; it < 25; it++ {
			g := ptGeom(r, v)
			rd := Rounding(r.IntN(2))
			var st Stats
			o := Opts{Rounding: rd, Stats: &st, Target: Target(r.IntN(2))}
			dw := v.Kind() == KindDepthwise
			nw := g.WeightSize()
			if dw {
				nw = g.DepthwiseWeightSize()
			}
			if !v.Q15() {
				f := frDraw(r, 7, 7, 14, 4)
				in, wt, bias := ptSlice[int8](r, g.InSize(), -128, 127), ptSlice[int8](r, nw, -128, 127), ptSlice[int8](r, g.OutC, -128, 127)
				out := make([]int8, g.OutSize())
				var err error
				switch v {
				case VarConvolveHWCQ7Basic:
					err = ConvolveHWCQ7Basic(o, g, in, wt, bias, f.bs, f.os, out)
				case VarConvolveHWCQ7Fast:
					err = ConvolveHWCQ7Fast(o, g, in, wt, bias, f.bs, f.os, out)
				case VarConvolveHWCQ7RGB:
					err = ConvolveHWCQ7RGB(o, g, in, wt, bias, f.bs, f.os, out)
				case VarConvolveHWCQ7BasicNonsquare:
					err = ConvolveHWCQ7BasicNonsquare(o, g, in, wt, bias, f.bs, f.os, out)
				case VarConvolveHWCQ7FastNonsquare:
					err = ConvolveHWCQ7FastNonsquare(o, g, in, wt, bias, f.bs, f.os, out)
				case VarConvolve1x1HWCQ7FastNonsquare:
					err = Convolve1x1HWCQ7FastNonsquare(o, g, in, wt, bias, f.bs, f.os, out)
				case VarDepthwiseSeparableConvHWCQ7:
					err = DepthwiseSeparableConvHWCQ7(o, g, in, wt, bias, f.bs, f.os, out)
				case VarDepthwiseSeparableConvHWCQ7Nonsquare:
					err = DepthwiseSeparableConvHWCQ7Nonsquare(o, g, in, wt, bias, f.bs, f.os, out)
				case VarNNQConvQ7, VarNNQConvQ7Wide:
					err = NNQConv(o, g, in, wt, bias, f.bs, f.os, false, out)
				case VarNNQDWConvQ7:
					err = NNQDWConv(o, g, in, wt, bias, f.bs, f.os, false, out)
				default:
					t.Fatalf("no test runner for %s", v)
				}
				if err != nil {
					t.Fatal(err)
				}
				ref := frConv(g, in, wt, bias, f, dw)
				for i := range out {
					frCheck(t, v.String(), int(out[i]), ref[i], q7Min, q7Max, rd)
				}
			} else {
				f := frDraw(r, 15, 15, 15, 8)
				in, wt, bias := ptSlice[int16](r, g.InSize(), -32768, 32767), ptSlice[int16](r, nw, -4096, 4096), ptSlice[int16](r, g.OutC, -32768, 32767)
				out := make([]int16, g.OutSize())
				fn := map[Variant]func(Opts, ConvGeom, []int16, []int16, []int16, int, int, []int16) error{
					VarConvolveHWCQ15Basic: ConvolveHWCQ15Basic, VarConvolveHWCQ15Fast: ConvolveHWCQ15Fast,
					VarConvolveHWCQ15FastNonsquare: ConvolveHWCQ15FastNonsquare,
					VarNNQConvQ15: func(o Opts, g ConvGeom, in, wt, b []int16, bs, os int, out []int16) error {
						return NNQConv(o, g, in, wt, b, bs, os, false, out)
					},
					VarNNQDWConvQ15: func(o Opts, g ConvGeom, in, wt, b []int16, bs, os int, out []int16) error {
						return NNQDWConv(o, g, in, wt, b, bs, os, false, out)
					}}[v]
				if fn == nil {
					t.Fatalf("no test runner for %s", v)
				}
				if err := fn(o, g, in, wt, bias, f.bs, f.os, out); err != nil {
					t.Fatal(err)
				}
				if st.AccWraps+st.BiasWraps > 0 {
					continue
				}
				ref := frConv(g, in, wt, bias, f, dw)
				for i := range out {
					frCheck(t, v.String(), int(out[i]), ref[i], q15Min, q15Max, rd)
				}
			}
		}
	}
}

func frFC[V, W, B qint](v []V, m []W, bias []B, rows int, f frFmt) []float64 {
	out := make([]float64, rows)
	for r := range out {
		s := frVal(bias[r], f.fb)
		for j := range v {
			s += frVal(v[j], f.fin) * frVal(m[r*len(v)+j], f.fw)
		}
		out[r] = math.Ldexp(s, f.fout)
	}
	return out
}

func TestFloatRefFC(t *testing.T) {
	r := ptRand(11)
	for it := 0; it < 200; it++ {
		dv, rows := 1+r.IntN(40), 1+r.IntN(15)
		rd := Rounding(r.IntN(2))
		var st Stats
		o := Opts{Rounding: rd, Stats: &st}

		f := frDraw(r, 7, 7, 14, 4)
		v, m, b := ptSlice[int8](r, dv, -128, 127), ptSlice[int8](r, dv*rows, -128, 127), ptSlice[int8](r, rows, -128, 127)
		ref := frFC(v, m, b, rows, f)
		out, outOpt := make([]int8, rows), make([]int8, rows)
		_ = FullyConnectedQ7(o, v, m, dv, rows, f.bs, f.os, b, out)
		_ = FullyConnectedQ7Opt(o, v, InterleaveQ7Opt(m, rows, dv), dv, rows, f.bs, f.os, b, outOpt)
		for i := range out {
			frCheck(t, "fc_q7", int(out[i]), ref[i], q7Min, q7Max, rd)
			frCheck(t, "fc_q7_opt", int(outOpt[i]), ref[i], q7Min, q7Max, rd)
		}

		f = frDraw(r, 15, 15, 15, 8)
		v16, m16, b16 := ptSlice[int16](r, dv, -32768, 32767), ptSlice[int16](r, dv*rows, -4096, 4096), ptSlice[int16](r, rows, -32768, 32767)
		st = Stats{}
		o16, o16opt := make([]int16, rows), make([]int16, rows)
		_ = FullyConnectedQ15(o, v16, m16, dv, rows, f.bs, f.os, b16, o16)
		_ = FullyConnectedQ15Opt(o, v16, InterleaveQ15Opt(m16, rows, dv), dv, rows, f.bs, f.os, b16, o16opt)
		if st.AccWraps+st.BiasWraps == 0 {
			ref = frFC(v16, m16, b16, rows, f)
			for i := range o16 {
				frCheck(t, "fc_q15", int(o16[i]), ref[i], q15Min, q15Max, rd)
				frCheck(t, "fc_q15_opt", int(o16opt[i]), ref[i], q15Min, q15Max, rd)
			}
		}

		f = frDraw(r, 15, 7, 14, 8)
		ref = frFC(v16, m, b, rows, f)
		_ = FullyConnectedMatQ7VecQ15(o, v16, m, dv, rows, f.bs, f.os, b, o16)
		_ = FullyConnectedMatQ7VecQ15Opt(o, v16, InterleaveMatQ7VecQ15Opt(m, rows, dv), dv, rows, f.bs, f.os, b, o16opt)
		for i := range o16 {
			frCheck(t, "fc_mat_q7_vec_q15", int(o16[i]), ref[i], q15Min, q15Max, rd)
			frCheck(t, "fc_mat_q7_vec_q15_opt", int(o16opt[i]), ref[i], q15Min, q15Max, rd)
		}
	}
}

// frPool returns the float max and mean of every window (NaN if empty).
func frPool[T qint](g ConvGeom, in []T) (mx, mean []float64) {
	n := g.OutX * g.OutY * g.InC
	mx, mean = make([]float64, n), make([]float64, n)
	for oy := 0; oy < g.OutY; oy++ {
		for ox := 0; ox < g.OutX; ox++ {
			for c := 0; c < g.InC; c++ {
				m, s, cnt := math.Inf(-1), 0.0, 0
				for ky := 0; ky < g.KY; ky++ {
					for kx := 0; kx < g.KX; kx++ {
						iy, ix := oy*g.StrideY-g.PadY+ky, ox*g.StrideX-g.PadX+kx
						if iy < 0 || ix < 0 || iy >= g.InY || ix >= g.InX {
							continue
						}
						x := float64(in[(iy*g.InX+ix)*g.InC+c])
						m, s, cnt = math.Max(m, x), s+x, cnt+1
					}
				}
				i := (oy*g.OutX+ox)*g.InC + c
				if cnt == 0 {
					mx[i], mean[i] = math.NaN(), math.NaN()
				} else {
					mx[i], mean[i] = m, s/float64(cnt)
				}
			}
		}
	}
	return mx, mean
}

func TestFloatRefPool(t *testing.T) {
	r := ptRand(12)
	for it := 0; it < 100; it++ {
		g := ptPoolGeom(r, VarAvepoolQ7HWC)
		in := ptSlice[int8](r, g.InSize(), -128, 127)
		mx, mean := frPool(g, in)
		n := len(mx)
		for _, tg := range []Target{CPath, DSPPath} {
			a, m := make([]int8, n), make([]int8, n)
			_ = AvepoolQ7HWC(Opts{Target: tg}, g, slices.Clone(in), a)
			_ = MaxpoolQ7HWC(Opts{Target: tg}, g, slices.Clone(in), m)
			for i := range a {
				d := mean[i] - float64(a[i])
				// C: one truncation toward zero (|d| < 1, same sign as the
				// mean); DSP: two truncations, |d| < 2, but only when padding <
				// stride: otherwise the in-place row pass re-reads averaged
				// columns and no bound holds (the real library differs from
				// the C path by up to 73 in the vectors).
				if tg == CPath && (math.Abs(d) >= 1 || d*mean[i] < 0) || tg == DSPPath && g.PadX < g.StrideX && math.Abs(d) >= 2 {
					t.Fatalf("avepool %v %+v [%d]: %d vs mean %.3f", tg, g, i, a[i], mean[i])
				}
				if (tg == CPath || g.PadX < g.StrideX) && float64(m[i]) != mx[i] {
					t.Fatalf("maxpool %v %+v [%d]: %d vs %v", tg, g, i, m[i], mx[i])
				}
			}
		}
	}
	// nnq non-square pools, q7 and q15, including empty windows.
	for it := 0; it < 100; it++ {
		g := PoolGeom(1+r.IntN(8), 1+r.IntN(8), 1+r.IntN(5), 1+r.IntN(4), 1+r.IntN(4), r.IntN(4), r.IntN(4), 1+r.IntN(3), 1+r.IntN(3), 0, 0)
		g.OutX, g.OutY = g.StdOut()
		if g.OutX < 1 || g.OutY < 1 {
			continue
		}
		in := ptSlice[int16](r, g.InSize(), -32768, 32767)
		in8 := ptSlice[int8](r, g.InSize(), -128, 127)
		n := g.OutX * g.OutY * g.InC
		a, m := make([]int16, n), make([]int16, n)
		a8, m8 := make([]int8, n), make([]int8, n)
		_ = NNQAvgpool(Opts{}, g, in, a, 0)
		_ = NNQMaxpool(Opts{}, g, in, m)
		_ = NNQAvgpool(Opts{}, g, in8, a8, 0)
		_ = NNQMaxpool(Opts{}, g, in8, m8)
		mx, mean := frPool(g, in)
		mx8, mean8 := frPool(g, in8)
		for i := 0; i < n; i++ {
			for _, c := range []struct {
				q         int
				mean, max float64
				qm        int
			}{{int(a[i]), mean[i], mx[i], int(m[i])}, {int(a8[i]), mean8[i], mx8[i], int(m8[i])}} {
				if math.IsNaN(c.mean) {
					if c.q != 0 || c.qm != 0 {
						t.Fatalf("nnq pool empty window gives %d/%d", c.q, c.qm)
					}
					continue
				}
				if d := c.mean - float64(c.q); math.Abs(d) >= 1 || d*c.mean < 0 || float64(c.qm) != c.max {
					t.Fatalf("nnq pool %+v: ave %d vs %.3f, max %d vs %v", g, c.q, c.mean, c.qm, c.max)
				}
			}
		}
	}
}

func TestFloatRefActivations(t *testing.T) {
	r := ptRand(13)
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	// Lipschitz constants and max |f''| of sigmoid and tanh.
	fns := []struct {
		typ    ActivationType
		f      func(float64) float64
		l, dd2 float64
	}{{Sigmoid, sig, 0.25, 0.0963}, {Tanh, math.Tanh, 1, 0.770}}
	for _, fn := range fns {
		for iw := 0; iw <= 3; iw++ {
			x7 := make([]int8, 256)
			for i := range x7 {
				x7[i] = int8(i - 128)
			}
			y7 := slices.Clone(x7)
			_ = ActivationsDirectQ7(Opts{}, y7, iw, fn.typ)
			for i, x := range x7 {
				// Input truncated to the Q3.4 table grid, table rounded to Q0.7
				// and clamped at 127/128.
				bound := fn.l/16 + 1.0/128 + 1e-12
				if d := math.Abs(float64(y7[i])/128 - fn.f(frVal(x, 7-iw))); d > bound {
					t.Fatalf("%v q7 iw=%d x=%d: %d, error %.5f > %.5f", fn.typ, iw, x, y7[i], d, bound)
				}
			}
			x15 := ptSlice[int16](r, 2000, -32768, 32767)
			y15 := slices.Clone(x15)
			_ = ActivationsDirectQ15(Opts{}, y15, iw, fn.typ)
			for i, x := range x15 {
				// Linear interpolation on a 1/16 grid: h²/8·max|f''|, plus table
				// rounding/clamping and the final floor.
				bound := fn.dd2/(8*256) + 3.0/32768
				xr := frVal(x, 15-iw)
				if d := math.Abs(float64(y15[i])/32768 - fn.f(xr)); d > bound {
					t.Fatalf("%v q15 iw=%d x=%d: %d, error %.6f > %.6f", fn.typ, iw, x, y15[i], d, bound)
				}
			}
		}
	}
	// ReLU is exact.
	x := ptSlice[int16](r, 100, -32768, 32767)
	y := slices.Clone(x)
	ReluQ15(Opts{}, y)
	x8 := ptSlice[int8](r, 100, -128, 127)
	y8 := slices.Clone(x8)
	ReluQ7(Opts{}, y8)
	for i := range x {
		if float64(y[i]) != math.Max(float64(x[i]), 0) || float64(y8[i]) != math.Max(float64(x8[i]), 0) {
			t.Fatal("relu")
		}
	}
}

func TestFloatRefSoftmax(t *testing.T) {
	r := ptRand(14)
	for it := 0; it < 300; it++ {
		n := 1 + r.IntN(20)
		spread := 1 + r.IntN(40)
		x := ptSlice[int8](r, n, -128, -128+spread)
		if r.IntN(2) == 0 {
			x = ptSlice[int8](r, n, 127-spread, 127)
		}
		y := make([]int8, n)
		SoftmaxQ7(Opts{}, x, y)
		// The library's base-2 softmax: p_i = 2^(x_i-b) / Σ 2^clamp(x_j-b, 0, 7),
		// b = max-8, in Q0.7; computed with two floors ⇒ error in [0, 1) LSB.
		m := float64(slices.Max(x))
		den := 0.0
		for _, v := range x {
			den += math.Exp2(math.Min(math.Max(float64(v)-(m-8), 0), 7))
		}
		for i, v := range x {
			p := math.Min(math.Exp2(float64(v)-(m-8))/den*128, 127)
			if d := p - float64(y[i]); d < -1e-9 || d >= 1 {
				t.Fatalf("softmax q7 %v: y[%d] = %d, float %.4f", x, i, y[i], p)
			}
		}
		x16 := ptSlice[int16](r, n, -32768, -32768+spread)
		if r.IntN(2) == 0 {
			x16 = ptSlice[int16](r, n, 32767-spread, 32767)
		}
		y16 := make([]int16, n)
		SoftmaxQ15(Opts{}, x16, y16)
		// q15: elements more than 15 below the max are dropped, b = max-16.
		m = float64(slices.Max(x16))
		den = 0
		for _, v := range x16 {
			if float64(v) > m-16 {
				den += math.Exp2(float64(v) - (m - 16))
			}
		}
		for i, v := range x16 {
			p := 0.0
			if float64(v) > m-16 {
				p = math.Min(math.Exp2(float64(v)-(m-16))/den*32768, 32767)
			}
			if d := p - float64(y16[i]); d < -1e-9 || d >= 1 {
				t.Fatalf("softmax q15 %v: y[%d] = %d, float %.4f", x16, i, y16[i], p)
			}
		}
	}
}

func TestFloatRefElementwise(t *testing.T) {
	r := ptRand(15)
	for it := 0; it < 200; it++ {
		rd := Rounding(r.IntN(2))
		var st Stats
		o := Opts{Rounding: rd, Stats: &st}
		n := 1 + r.IntN(30)
		os := r.IntN(16)
		a, b := ptSlice[int8](r, n, -128, 127), ptSlice[int8](r, n, -128, 127)
		y := make([]int8, n)
		_ = NNMultQ7(o, a, b, y, os)
		if st.AccWraps == 0 {
			for i := range y {
				frCheck(t, "mult_q7", int(y[i]), math.Ldexp(float64(a[i])*float64(b[i]), -os), q7Min, q7Max, rd)
			}
		}
		a16, b16 := ptSlice[int16](r, n, -32768, 32767), ptSlice[int16](r, n, -32768, 32767)
		y16 := make([]int16, n)
		_ = NNMultQ15(o, a16, b16, y16, os+5)
		for i := range y16 {
			frCheck(t, "mult_q15", int(y16[i]), math.Ldexp(float64(a16[i])*float64(b16[i]), -(os+5)), q15Min, q15Max, rd)
		}
		// nnq add: operands in Q.fa and Q.fb aligned to a common Q.(f) by left
		// shifts, then shifted to the output format.
		as, bs, osa := r.IntN(8), r.IntN(8), r.IntN(9)
		_ = NNQAddQ7(o, a, b, y, as, bs, osa)
		_ = NNQAddQ15(o, a16, b16, y16, as, bs, osa)
		for i := range y {
			frCheck(t, "nnq_add_q7", int(y[i]), math.Ldexp(math.Ldexp(float64(a[i]), as)+math.Ldexp(float64(b[i]), bs), -osa), q7Min, q7Max, rd)
			frCheck(t, "nnq_add_q15", int(y16[i]), math.Ldexp(math.Ldexp(float64(a16[i]), as)+math.Ldexp(float64(b16[i]), bs), -osa), q15Min, q15Max, rd)
		}
	}
}
