package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Property tests on random valid geometries: every conv variant equals an
// independent naive reference (and therefore _basic), every _opt FC equals
// its plain FC, C and DSP max pooling agree when padding < stride, the nnq
// pools equal the library's C path on square geometries.

func ptRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6e6e71)) }

func ptSlice[T qint](r *rand.Rand, n int, lo, hi int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(lo + r.IntN(hi-lo+1))
	}
	return s
}

// ptConvRef is the textbook definition: 6 nested loops, exact int64 sum,
// then the library's int32 wrap, shift and saturation.
func ptConvRef[T qint](g ConvGeom, in, wt, bias []T, bs, os int, r Rounding, depthwise bool, lo, hi int64) []int64 {
	out := make([]int64, g.OutX*g.OutY*g.OutC)
	for oy := 0; oy < g.OutY; oy++ {
		for ox := 0; ox < g.OutX; ox++ {
			for o := 0; o < g.OutC; o++ {
				sum := int64(int32(bias[o]) << uint(bs))
				sum += r.roundTerm(os)
				for ky := 0; ky < g.KY; ky++ {
					for kx := 0; kx < g.KX; kx++ {
						iy, ix := oy*g.StrideY-g.PadY+ky, ox*g.StrideX-g.PadX+kx
						if iy < 0 || iy >= g.InY || ix < 0 || ix >= g.InX {
							continue
						}
						if depthwise {
							sum += int64(in[(iy*g.InX+ix)*g.InC+o]) * int64(wt[(ky*g.KX+kx)*g.InC+o])
							continue
						}
						for c := 0; c < g.InC; c++ {
							sum += int64(in[(iy*g.InX+ix)*g.InC+c]) * int64(wt[((o*g.KY+ky)*g.KX+kx)*g.InC+c])
						}
					}
				}
				y := int64(int32(sum) >> uint(os))
				out[(oy*g.OutX+ox)*g.OutC+o] = min(max(y, lo), hi)
			}
		}
	}
	return out
}

// ptGeom draws a random geometry fitting variant v's constraints, valid on
// both targets (DSP-safe), with the standard output size, or a larger one
// for the bounds-checked variants.
func ptGeom(r *rand.Rand, v Variant) ConvGeom {
	for {
		var g ConvGeom
		g.InX, g.InY = 1+r.IntN(9), 1+r.IntN(9)
		g.KX, g.KY = 1+r.IntN(min(g.InX, 5)), 1+r.IntN(min(g.InY, 5))
		g.PadX, g.PadY = r.IntN(g.KX), r.IntN(g.KY)
		g.StrideX, g.StrideY = 1+r.IntN(3), 1+r.IntN(3)
		g.InC, g.OutC = 1+r.IntN(9), 1+r.IntN(9)
		switch v {
		case VarConvolveHWCQ7Fast, VarConvolveHWCQ7FastNonsquare, VarConvolve1x1HWCQ7FastNonsquare:
			g.InC, g.OutC = 4*(1+r.IntN(3)), 2*(1+r.IntN(4))
		case VarConvolveHWCQ15Fast, VarConvolveHWCQ15FastNonsquare:
			g.InC, g.OutC = 2*(1+r.IntN(4)), 2*(1+r.IntN(4))
		case VarConvolveHWCQ7RGB:
			g.InC = 3
		}
		if v.Kind() == KindDepthwise {
			g.InC = 1 + r.IntN(70) // crosses the 64-channel chunk
			g.OutC = g.InC
		}
		if v == VarConvolve1x1HWCQ7FastNonsquare {
			g.KX, g.KY, g.PadX, g.PadY, g.StrideX, g.StrideY = 1, 1, 0, 0, 1, 1
		}
		if v.Square() {
			g.InY, g.KY, g.PadY, g.StrideY = g.InX, g.KX, g.PadX, g.StrideX
		}
		g.OutX, g.OutY = g.StdOut()
		if r.IntN(4) == 0 { // larger output: extra bottom/right padding
			g.OutX += r.IntN(3)
			g.OutY += r.IntN(3)
			if v.Square() {
				g.OutY = g.OutX
			}
		}
		if v.Valid(g, CPath) == nil && v.Valid(g, DSPPath) == nil {
			return g
		}
	}
}

func TestPropertyConvVsReference(t *testing.T) {
	r := ptRand(1)
	q7 := map[Variant]func(Opts, ConvGeom, []int8, []int8, []int8, int, int, []int8) error{
		VarConvolveHWCQ7Basic:                   ConvolveHWCQ7Basic,
		VarConvolveHWCQ7Fast:                    ConvolveHWCQ7Fast,
		VarConvolveHWCQ7RGB:                     ConvolveHWCQ7RGB,
		VarConvolveHWCQ7BasicNonsquare:          ConvolveHWCQ7BasicNonsquare,
		VarConvolveHWCQ7FastNonsquare:           ConvolveHWCQ7FastNonsquare,
		VarConvolve1x1HWCQ7FastNonsquare:        Convolve1x1HWCQ7FastNonsquare,
		VarDepthwiseSeparableConvHWCQ7:          DepthwiseSeparableConvHWCQ7,
		VarDepthwiseSeparableConvHWCQ7Nonsquare: DepthwiseSeparableConvHWCQ7Nonsquare,
		// nnq's own kernels (nnq_kernels.go), without a fused ReLU; the
		// wide variant computes what nnq_conv_q7 computes.
		VarNNQConvQ7: func(o Opts, g ConvGeom, in, wt, b []int8, bs, os int, out []int8) error {
			return NNQConv(o, g, in, wt, b, bs, os, false, out)
		},
		VarNNQConvQ7Wide: func(o Opts, g ConvGeom, in, wt, b []int8, bs, os int, out []int8) error {
			return NNQConv(o, g, in, wt, b, bs, os, false, out)
		},
		VarNNQDWConvQ7: func(o Opts, g ConvGeom, in, wt, b []int8, bs, os int, out []int8) error {
			return NNQDWConv(o, g, in, wt, b, bs, os, false, out)
		},
	}
	q15 := map[Variant]func(Opts, ConvGeom, []int16, []int16, []int16, int, int, []int16) error{
		VarConvolveHWCQ15Basic:         ConvolveHWCQ15Basic,
		VarConvolveHWCQ15Fast:          ConvolveHWCQ15Fast,
		VarConvolveHWCQ15FastNonsquare: ConvolveHWCQ15FastNonsquare,
		// nnq's own q15 kernels (nnq_kernels.go).
		VarNNQConvQ15: func(o Opts, g ConvGeom, in, wt, b []int16, bs, os int, out []int16) error {
			return NNQConv(o, g, in, wt, b, bs, os, false, out)
		},
		VarNNQDWConvQ15: func(o Opts, g ConvGeom, in, wt, b []int16, bs, os int, out []int16) error {
			return NNQDWConv(o, g, in, wt, b, bs, os, false, out)
		},
	}
	for _, v := range Variants() {
		if v.Kind() != KindConv && v.Kind() != KindDepthwise {
			continue
		}
		if q7[v] == nil && q15[v] == nil {
			t.Errorf("no test runner for %s", v)
			continue
		}
		for it := 0; it < 40; it++ {
			g := ptGeom(r, v)
			dw := v.Kind() == KindDepthwise
			nw := g.WeightSize()
			if dw {
				nw = g.DepthwiseWeightSize()
			}
			os := r.IntN(12)
			bs := r.IntN(8)
			rd := Rounding(r.IntN(2))
			for _, tg := range []Target{CPath, DSPPath} {
				o := Opts{Target: tg, Rounding: rd}
				if f, ok := q7[v]; ok {
					in, wt, bias := ptSlice[int8](r, g.InSize(), -128, 127), ptSlice[int8](r, nw, -128, 127), ptSlice[int8](r, g.OutC, -128, 127)
					out := make([]int8, g.OutSize())
					if err := f(o, g, in, wt, bias, bs, os, out); err != nil {
						t.Fatalf("%s %+v: %v", v, g, err)
					}
					want := ptConvRef(g, in, wt, bias, bs, os, rd, dw, q7Min, q7Max)
					if !slices.Equal(tvInts(out), ptInts(want)) {
						t.Fatalf("%s %v %+v bs=%d os=%d: mismatch with reference", v, tg, g, bs, os)
					}
					if !dw && !v.Square() { // same call through _basic
						b := make([]int8, len(out))
						_ = ConvolveHWCQ7BasicNonsquare(o, g, in, wt, bias, bs, os, b)
						if !slices.Equal(b, out) {
							t.Fatalf("%s differs from basic", v)
						}
					}
				} else {
					f := q15[v]
					in, wt, bias := ptSlice[int16](r, g.InSize(), -32768, 32767), ptSlice[int16](r, nw, -32768, 32767), ptSlice[int16](r, g.OutC, -32768, 32767)
					out := make([]int16, g.OutSize())
					os += 10
					if err := f(o, g, in, wt, bias, bs, os, out); err != nil {
						t.Fatalf("%s %+v: %v", v, g, err)
					}
					want := ptConvRef(g, in, wt, bias, bs, os, rd, dw, q15Min, q15Max)
					if !slices.Equal(tvInts(out), ptInts(want)) {
						t.Fatalf("%s %v %+v: mismatch with reference", v, tg, g)
					}
					os -= 10
				}
			}
		}
	}
}

func ptInts(x []int64) []int {
	r := make([]int, len(x))
	for i, v := range x {
		r[i] = int(v)
	}
	return r
}

func TestPropertyFCOptEqualsPlain(t *testing.T) {
	r := ptRand(2)
	for it := 0; it < 300; it++ {
		dv, rows := 1+r.IntN(23), 1+r.IntN(13)
		bs, os := r.IntN(10), r.IntN(16)
		o := Opts{Rounding: Rounding(r.IntN(2)), Target: Target(r.IntN(2))}
		v7, m7, b7 := ptSlice[int8](r, dv, -128, 127), ptSlice[int8](r, dv*rows, -128, 127), ptSlice[int8](r, rows, -128, 127)
		a, b := make([]int8, rows), make([]int8, rows)
		_ = FullyConnectedQ7(o, v7, m7, dv, rows, bs, os, b7, a)
		_ = FullyConnectedQ7Opt(o, v7, InterleaveQ7Opt(m7, rows, dv), dv, rows, bs, os, b7, b)
		if !slices.Equal(a, b) {
			t.Fatalf("q7_opt %dx%d", rows, dv)
		}
		v16, m16, b16 := ptSlice[int16](r, dv, -32768, 32767), ptSlice[int16](r, dv*rows, -32768, 32767), ptSlice[int16](r, rows, -32768, 32767)
		a16, b16o := make([]int16, rows), make([]int16, rows)
		_ = FullyConnectedQ15(o, v16, m16, dv, rows, bs, os+10, b16, a16)
		_ = FullyConnectedQ15Opt(o, v16, InterleaveQ15Opt(m16, rows, dv), dv, rows, bs, os+10, b16, b16o)
		if !slices.Equal(a16, b16o) {
			t.Fatalf("q15_opt %dx%d", rows, dv)
		}
		_ = FullyConnectedMatQ7VecQ15(o, v16, m7, dv, rows, bs, os, b7, a16)
		_ = FullyConnectedMatQ7VecQ15Opt(o, v16, InterleaveMatQ7VecQ15Opt(m7, rows, dv), dv, rows, bs, os, b7, b16o)
		if !slices.Equal(a16, b16o) {
			t.Fatalf("mat_q7_vec_q15_opt %dx%d", rows, dv)
		}
		// Round trips.
		if !slices.Equal(DeinterleaveQ7Opt(InterleaveQ7Opt(m7, rows, dv), rows, dv), m7) ||
			!slices.Equal(DeinterleaveQ15Opt(InterleaveQ15Opt(m16, rows, dv), rows, dv), m16) ||
			!slices.Equal(DeinterleaveMatQ7VecQ15Opt(InterleaveMatQ7VecQ15Opt(m7, rows, dv), rows, dv), m7) {
			t.Fatalf("round trip %dx%d", rows, dv)
		}
	}
}

// ptPoolGeom draws a square pooling geometry valid on both targets.
func ptPoolGeom(r *rand.Rand, v Variant) ConvGeom {
	for {
		dim := 1 + r.IntN(10)
		k := 1 + r.IntN(min(dim, 4))
		s := 1 + r.IntN(3)
		p := r.IntN(k)
		g := SquareGeom(dim, 1+r.IntN(70), 0, k, p, s, 0)
		o, _ := g.StdOut()
		g.OutX, g.OutY = o, o
		g.OutC = g.InC
		if v.Valid(g, CPath) == nil && v.Valid(g, DSPPath) == nil {
			return g
		}
	}
}

func TestPropertyMaxpoolCEqualsDSPWhenPadLtStride(t *testing.T) {
	r := ptRand(3)
	n := 0
	for n < 150 {
		g := ptPoolGeom(r, VarMaxpoolQ7HWC)
		if g.PadX >= g.StrideX {
			continue
		}
		n++
		in := ptSlice[int8](r, g.InSize(), -128, 127)
		a, b := make([]int8, g.OutX*g.OutY*g.InC), make([]int8, g.OutX*g.OutY*g.InC)
		_ = MaxpoolQ7HWC(Opts{}, g, slices.Clone(in), a)
		_ = MaxpoolQ7HWC(Opts{Target: DSPPath}, g, slices.Clone(in), b)
		if !slices.Equal(a, b) {
			t.Fatalf("%+v: C %v DSP %v", g, a, b)
		}
		if VarMaxpoolQ7HWC.TargetDependent(g) {
			t.Fatalf("%+v reported target dependent", g)
		}
	}
}

func TestPropertyNNQPoolsEqualCMSISCPath(t *testing.T) {
	r := ptRand(4)
	for it := 0; it < 150; it++ {
		g := ptPoolGeom(r, VarAvepoolQ7HWC)
		in := ptSlice[int8](r, g.InSize(), -128, 127)
		n := g.OutX * g.OutY * g.InC
		for _, ave := range []bool{false, true} {
			f, fn := MaxpoolQ7HWC, NNQMaxpool[int8]
			if ave {
				f, fn = AvepoolQ7HWC, func(o Opts, g ConvGeom, in, out []int8) error { return NNQAvgpool(o, g, in, out, 0) }
			}
			a, b := make([]int8, n), make([]int8, n)
			_ = f(Opts{}, g, in, a)
			keep := slices.Clone(in)
			_ = fn(Opts{Target: DSPPath}, g, in, b) // nnq pools: same on every target
			if !slices.Equal(a, b) || !slices.Equal(in, keep) {
				t.Fatalf("ave=%v %+v: CMSIS %v nnq %v", ave, g, a, b)
			}
			// q15 twin on the sign-extended input agrees too.
			in16 := make([]int16, len(in))
			for i, x := range in {
				in16[i] = int16(x)
			}
			c := make([]int16, n)
			if ave {
				_ = NNQAvgpool(Opts{}, g, in16, c, 0)
			} else {
				_ = NNQMaxpool(Opts{}, g, in16, c)
			}
			if !slices.Equal(tvInts(c), tvInts(a)) {
				t.Fatalf("q15 twin ave=%v %+v", ave, g)
			}
		}
	}
}

// TestPropertyConvLargeKernel covers the scratch-free path for kernels with
// more than convColMax taps.
func TestPropertyConvLargeKernel(t *testing.T) {
	r := ptRand(5)
	for _, g := range []ConvGeom{
		SquareGeom(4, 256, 4, 3, 1, 1, 5),
		{InX: 5, InY: 3, InC: 100, OutC: 6, KX: 5, KY: 5, PadX: 2, PadY: 1, StrideX: 2, StrideY: 1, OutX: 3, OutY: 3},
	} {
		if g.KX*g.KY*g.InC <= convColMax {
			t.Fatalf("geometry %+v does not exercise the large-kernel path", g)
		}
		in, wt, bias := ptSlice[int8](r, g.InSize(), -128, 127), ptSlice[int8](r, g.WeightSize(), -128, 127), ptSlice[int8](r, g.OutC, -128, 127)
		out := make([]int8, g.OutSize())
		if err := ConvolveHWCQ7BasicNonsquare(Opts{}, g, in, wt, bias, 3, 12, out); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tvInts(out), ptInts(ptConvRef(g, in, wt, bias, 3, 12, RoundHalfUp, false, q7Min, q7Max))) {
			t.Errorf("q7 %+v mismatch", g)
		}
		in16, wt16, b16 := ptSlice[int16](r, g.InSize(), -32768, 32767), ptSlice[int16](r, g.WeightSize(), -32768, 32767), ptSlice[int16](r, g.OutC, -32768, 32767)
		out16 := make([]int16, g.OutSize())
		if err := ConvolveHWCQ15FastNonsquare(Opts{Rounding: Truncate}, g, in16, wt16, b16, 3, 20, out16); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tvInts(out16), ptInts(ptConvRef(g, in16, wt16, b16, 3, 20, Truncate, false, q15Min, q15Max))) {
			t.Errorf("q15 %+v mismatch", g)
		}
	}
}
