package kernels

import (
	"errors"
	"math"
	"math/big"
	"math/rand"
	"slices"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testvec"
)

// Property tests of the s8/s16 kernels against naive references written
// directly from the arithmetic (int32 wrap-around accumulation, one output
// element at a time), on random shapes: odd channel counts and SIMD
// leftovers, padding on every side (top/left by the padding argument,
// bottom/right by an output larger than the VALID size), strides 1 and 2,
// dilation, groups, batches.

// randQuant makes per-channel multipliers in [2^30, 2^31) and shifts that
// keep outputs in a useful range for accumulators of about 2^accBits.
func randQuant(r *rand.Rand, n, accBits int) PerChannelQuantParams {
	q := PerChannelQuantParams{Multiplier: make([]int32, n), Shift: make([]int32, n)}
	for i := range q.Multiplier {
		q.Multiplier[i] = int32(1<<30 + r.Int63n(1<<30))
		q.Shift[i] = int32(7 - accBits + r.Intn(3) - 1)
	}
	return q
}

func randBias(r *rand.Rand, n int) []int32 {
	if r.Intn(5) == 0 {
		return nil
	}
	b := make([]int32, n)
	for i := range b {
		b[i] = int32(r.Intn(20001) - 10000)
	}
	return b
}

// randAxis picks kernel, stride, padding, dilation and an output size for
// one axis, with the output reaching padding on the far side at random.
func randAxis(r *rand.Rand, in, kmax int) (k, stride, pad, dil, out int) {
	k = 1 + r.Intn(kmax)
	stride = 1 + r.Intn(2)
	dil = 1
	if r.Intn(4) == 0 {
		dil = 2
	}
	pad = r.Intn(k)
	span := dil*(k-1) + 1
	valid := (in+pad-span)/stride + 1
	if in+pad < span {
		valid = 1
	}
	out = max(1, valid+r.Intn(2))
	// Keep the last window non-empty.
	for (out-1)*stride-pad >= in {
		out--
	}
	return
}

func refRequantClamp(acc, mult, shift, off int32, act Activation) int32 {
	return min(max(Requantize(acc, mult, shift)+off, act.Min), act.Max)
}

// refTaps visits the output elements of a convolution-like call in output
// order: tap(b, oc, ky, kx, iy, ix) for each in-bounds tap, then done(oc).
func refTaps(inD, fD, oD Dims, stride, pad, dil Tile, tap func(b, oc, ky, kx, iy, ix int), done func(oc int)) {
	for b := 0; b < oD.N; b++ {
		for oy := 0; oy < oD.H; oy++ {
			for ox := 0; ox < oD.W; ox++ {
				for oc := 0; oc < oD.C; oc++ {
					for ky := 0; ky < fD.H; ky++ {
						for kx := 0; kx < fD.W; kx++ {
							iy, ix := oy*stride.H-pad.H+ky*dil.H, ox*stride.W-pad.W+kx*dil.W
							if iy >= 0 && iy < inD.H && ix >= 0 && ix < inD.W {
								tap(b, oc, ky, kx, iy, ix)
							}
						}
					}
					done(oc)
				}
			}
		}
	}
}

func refConvS8(p ConvParams, q PerChannelQuantParams, inD Dims, in []int8, fD Dims, w []int8, bias []int32, oD Dims) []int8 {
	out := make([]int8, 0, oD.Size())
	perGroup := oD.C / (inD.C / fD.C)
	var acc int32
	refTaps(inD, fD, oD, p.Stride, p.Padding, p.Dilation, func(b, oc, ky, kx, iy, ix int) {
		for c := 0; c < fD.C; c++ {
			x := int32(in[((b*inD.H+iy)*inD.W+ix)*inD.C+(oc/perGroup)*fD.C+c])
			acc += (x + p.InputOffset) * int32(w[((oc*fD.H+ky)*fD.W+kx)*fD.C+c])
		}
	}, func(oc int) {
		if bias != nil {
			acc += bias[oc]
		}
		out = append(out, int8(refRequantClamp(acc, q.Multiplier[oc], q.Shift[oc], p.OutputOffset, p.Activation)))
		acc = 0
	})
	return out
}

func randAct(r *rand.Rand, lo, hi int32) Activation {
	switch r.Intn(3) {
	case 0:
		return Activation{lo, hi}
	case 1:
		return Activation{int32(r.Intn(10)) + lo/2, hi}
	}
	a := lo + int32(r.Int63n(int64(hi-lo)/2))
	return Activation{a, a + int32(r.Int63n(int64(hi-a)))}
}

var leftoverChannels = []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17}

func TestS8PropertyConv(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	variants := 0
	for it := 0; it < 400; it++ {
		groups := 1
		if r.Intn(5) == 0 {
			groups = 2 + r.Intn(2)
		}
		kc := leftoverChannels[r.Intn(len(leftoverChannels))]
		inD := Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(7), W: 1 + r.Intn(9), C: kc * groups}
		if r.Intn(6) == 0 {
			inD.H = 1
		}
		var p ConvParams
		var fD Dims
		fD.N = groups * (1 + r.Intn(9))
		fD.C = kc
		var oH, oW int
		fD.H, p.Stride.H, p.Padding.H, p.Dilation.H, oH = randAxis(r, inD.H, 4)
		fD.W, p.Stride.W, p.Padding.W, p.Dilation.W, oW = randAxis(r, inD.W, 5)
		if r.Intn(4) == 0 { // 1x1 geometry
			fD.H, fD.W, p.Padding, p.Dilation = 1, 1, Tile{}, Tile{1, 1}
			oH, oW = (inD.H-1)/p.Stride.H+1, (inD.W-1)/p.Stride.W+1
		}
		oD := Dims{N: inD.N, H: oH, W: oW, C: fD.N}
		p.InputOffset = int32(r.Intn(256) - 127)
		p.OutputOffset = int32(r.Intn(256) - 128)
		p.Activation = randAct(r, -128, 127)
		q := randQuant(r, oD.C, 14+r.Intn(4))
		in, w, bias := testvec.RandS8(r, inD.Size()), testvec.RandS8(r, fD.Size()), randBias(r, oD.C)
		want := refConvS8(p, q, inD, in, fD, w, bias, oD)
		kernels := map[string]func(Opts, ConvParams, PerChannelQuantParams, Dims, []int8, Dims, []int8, []int32, Dims, []int8) error{
			"ConvolveS8": ConvolveS8, "Convolve1x1S8": Convolve1x1S8, "Convolve1x1S8Fast": Convolve1x1S8Fast,
			"Convolve1xNS8": Convolve1xNS8, "ConvolveWrapperS8": ConvolveWrapperS8}
		for name, k := range kernels {
			out := make([]int8, oD.Size())
			st := &Stats{}
			err := k(Opts{Stats: st}, p, q, inD, in, fD, w, bias, oD, out)
			if name == "ConvolveS8" || name == "ConvolveWrapperS8" {
				if err != nil && !(name == "ConvolveWrapperS8" && errors.Is(err, ErrInvalid)) {
					t.Fatalf("case %d %s: %v (dims %+v %+v %+v, params %+v)", it, name, err, inD, fD, oD, p)
				}
			}
			if err != nil {
				continue
			}
			variants++
			if !slices.Equal(out, want) {
				t.Fatalf("case %d %s differs from the reference (dims %+v %+v %+v, params %+v)", it, name, inD, fD, oD, p)
			}
			if st.Values != int64(oD.Size()) || st.Calls != 1 {
				t.Fatalf("case %d %s: stats %v", it, name, st)
			}
		}
	}
	t.Logf("%d kernel runs agreed with the reference", variants)
}

func refDwS8(p DwConvParams, q PerChannelQuantParams, inD Dims, in []int8, fD Dims, w []int8, bias []int32, oD Dims) []int8 {
	out := make([]int8, 0, oD.Size())
	var acc int32
	refTaps(inD, fD, oD, p.Stride, p.Padding, p.Dilation, func(b, oc, ky, kx, iy, ix int) {
		x := int32(in[((b*inD.H+iy)*inD.W+ix)*inD.C+oc/p.ChMult])
		acc += (x + p.InputOffset) * int32(w[(ky*fD.W+kx)*oD.C+oc])
	}, func(oc int) {
		if bias != nil {
			acc += bias[oc]
		}
		out = append(out, int8(refRequantClamp(acc, q.Multiplier[oc], q.Shift[oc], p.OutputOffset, p.Activation)))
		acc = 0
	})
	return out
}

func TestS8PropertyDepthwise(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	runs := map[string]int{}
	for it := 0; it < 400; it++ {
		inD := Dims{N: 1 + r.Intn(2)/max(1, r.Intn(3)), H: 1 + r.Intn(8), W: 1 + r.Intn(8), C: leftoverChannels[r.Intn(len(leftoverChannels))]}
		var p DwConvParams
		p.ChMult = 1
		if r.Intn(4) == 0 {
			p.ChMult = 2 + r.Intn(2)
		}
		var fD Dims
		var oH, oW int
		fD.H, p.Stride.H, p.Padding.H, p.Dilation.H, oH = randAxis(r, inD.H, 4)
		fD.W, p.Stride.W, p.Padding.W, p.Dilation.W, oW = randAxis(r, inD.W, 4)
		if r.Intn(3) == 0 { // 3x3 SAME-like
			fD.H, fD.W, p.Dilation = 3, 3, Tile{1, 1}
			p.Padding = Tile{W: r.Intn(2), H: r.Intn(2)}
			oH, oW = (inD.H+2*p.Padding.H-3)/p.Stride.H+1, (inD.W+2*p.Padding.W-3)/p.Stride.W+1
			if oH < 1 || oW < 1 {
				continue
			}
		}
		oD := Dims{N: inD.N, H: oH, W: oW, C: inD.C * p.ChMult}
		fD.N, fD.C = 1, oD.C
		p.InputOffset = int32(r.Intn(256) - 127)
		p.OutputOffset = int32(r.Intn(256) - 128)
		p.Activation = randAct(r, -128, 127)
		q := randQuant(r, oD.C, 12)
		in, w, bias := testvec.RandS8(r, inD.Size()), testvec.RandS8(r, fD.H*fD.W*fD.C), randBias(r, oD.C)
		want := refDwS8(p, q, inD, in, fD, w, bias, oD)
		for name, k := range map[string]func(Opts, DwConvParams, PerChannelQuantParams, Dims, []int8, Dims, []int8, []int32, Dims, []int8) error{
			"DepthwiseConvS8": DepthwiseConvS8, "DepthwiseConvS8Opt": DepthwiseConvS8Opt, "DepthwiseConv3x3S8": DepthwiseConv3x3S8,
			"DepthwiseConvWrapperS8": DepthwiseConvWrapperS8} {
			out := make([]int8, oD.Size())
			if err := k(Opts{}, p, q, inD, in, fD, w, bias, oD, out); err != nil {
				if name == "DepthwiseConvS8" {
					t.Fatalf("case %d: %v", it, err)
				}
				continue
			}
			runs[name]++
			if !slices.Equal(out, want) {
				t.Fatalf("case %d %s differs from the reference (dims %+v %+v %+v, params %+v)", it, name, inD, fD, oD, p)
			}
		}
		// The s16 depthwise kernels on the same geometry (offsets 0).
		p16 := p
		p16.InputOffset, p16.OutputOffset = 0, 0
		p16.Activation = randAct(r, -32768, 32767)
		in16 := testvec.RandS16(r, inD.Size())
		q16 := randQuant(r, oD.C, 22)
		var b64 []int64
		if bias != nil {
			b64 = make([]int64, oD.C)
			for i := range b64 {
				b64[i] = int64(bias[i]) << r.Intn(20)
			}
		}
		want16 := refDwS16(p16, q16, inD, in16, fD, w, b64, oD)
		for _, tg := range []Target{CPath, DSPPath} {
			for name, k := range map[string]func(Opts, DwConvParams, PerChannelQuantParams, Dims, []int16, Dims, []int8, []int64, Dims, []int16) error{
				"DepthwiseConvS16": DepthwiseConvS16, "DepthwiseConvFastS16": DepthwiseConvFastS16, "DepthwiseConvWrapperS16": DepthwiseConvWrapperS16} {
				out := make([]int16, oD.Size())
				if err := k(Opts{Target: tg}, p16, q16, inD, in16, fD, w, b64, oD, out); err != nil {
					if name == "DepthwiseConvS16" {
						t.Fatalf("case %d: %v", it, err)
					}
					continue
				}
				runs[name]++
				if !slices.Equal(out, want16) {
					t.Fatalf("case %d %s/%v differs from the reference", it, name, tg)
				}
			}
		}
	}
	t.Logf("kernel runs that agreed with the reference: %v", runs)
}

func refDwS16(p DwConvParams, q PerChannelQuantParams, inD Dims, in []int16, fD Dims, w []int8, bias []int64, oD Dims) []int16 {
	out := make([]int16, 0, oD.Size())
	var acc int64
	refTaps(inD, fD, oD, p.Stride, p.Padding, p.Dilation, func(b, oc, ky, kx, iy, ix int) {
		acc += int64(in[((b*inD.H+iy)*inD.W+ix)*inD.C+oc/p.ChMult]) * int64(w[(ky*fD.W+kx)*oD.C+oc])
	}, func(oc int) {
		if bias != nil {
			acc += bias[oc]
		}
		y := RequantizeS64(acc, ReduceMultiplier(q.Multiplier[oc]), q.Shift[oc])
		out = append(out, int16(min(max(y, p.Activation.Min), p.Activation.Max)))
		acc = 0
	})
	return out
}

// TestS8PropertyFC checks FC s8 (with and without filter offset, batches)
// and s16 against a reference, and the DSP path's int32 accumulation of the
// s16 kernel at the int32 limit.
func TestS8PropertyFC(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for it := 0; it < 300; it++ {
		depth, rows, batches := 1+r.Intn(70), 1+r.Intn(20), 1+r.Intn(3)
		p := FCParams{InputOffset: int32(r.Intn(256) - 127), OutputOffset: int32(r.Intn(256) - 128), Activation: randAct(r, -128, 127)}
		if r.Intn(3) == 0 {
			p.FilterOffset = int32(r.Intn(21) - 10)
		}
		q := PerTensorQuantParams{Multiplier: int32(1<<30 + r.Int63n(1<<30)), Shift: int32(-6 - r.Intn(6))}
		inD, fD, oD := Dims{batches, 1, 1, depth}, Dims{depth, 1, 1, rows}, Dims{batches, 1, 1, rows}
		in, w, bias := testvec.RandS8(r, batches*depth), testvec.RandS8(r, depth*rows), randBias(r, rows)
		out := make([]int8, batches*rows)
		if err := FullyConnectedS8(Opts{}, p, q, inD, in, fD, w, bias, oD, out); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < batches; b++ {
			for o := 0; o < rows; o++ {
				var acc int32
				for k := 0; k < depth; k++ {
					acc += (int32(in[b*depth+k]) + p.InputOffset) * (int32(w[o*depth+k]) + p.FilterOffset)
				}
				if bias != nil {
					acc += bias[o]
				}
				if want := int8(refRequantClamp(acc, q.Multiplier, q.Shift, p.OutputOffset, p.Activation)); out[b*rows+o] != want {
					t.Fatalf("case %d: out[%d,%d] = %d, want %d", it, b, o, out[b*rows+o], want)
				}
			}
		}
	}
	// s16 at the int32 limit: 512 products of -32768·-128 = 2^31.
	depth := 520
	in := make([]int16, depth)
	w := make([]int8, depth)
	for i := range in {
		in[i], w[i] = -32768, -128
	}
	p := FCParams{Activation: Activation{-32768, 32767}}
	q := PerTensorQuantParams{Multiplier: 1 << 30, Shift: -20}
	outC, outD := make([]int16, 1), make([]int16, 1)
	dims := []Dims{{1, 1, 1, depth}, {depth, 1, 1, 1}, {1, 1, 1, 1}}
	stC, stD := &Stats{}, &Stats{}
	if err := FullyConnectedS16(Opts{Stats: stC}, p, q, dims[0], in, dims[1], w, nil, dims[2], outC); err != nil {
		t.Fatal(err)
	}
	if err := FullyConnectedS16(Opts{Target: DSPPath, Stats: stD}, p, q, dims[0], in, dims[1], w, nil, dims[2], outD); err != nil {
		t.Fatal(err)
	}
	exact := int64(depth) << 22
	if want := RequantizeS64(exact, ReduceMultiplier(1<<30), -20); int32(outC[0]) != min(want, 32767) {
		t.Errorf("C path: %d, want %d", outC[0], want)
	}
	head := int64(512) << 22
	wrapped := int64(int32(head)) + 8<<22
	if want := RequantizeS64(wrapped, ReduceMultiplier(1<<30), -20); int32(outD[0]) != max(want, -32768) {
		t.Errorf("DSP path: %d, want %d (int32 head wraps)", outD[0], want)
	}
	if stC.AccWraps != 0 || stD.AccWraps != 1 {
		t.Errorf("AccWraps C %d, DSP %d; want 0 and 1", stC.AccWraps, stD.AccWraps)
	}
}

func TestS8PropertyPool(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for it := 0; it < 300; it++ {
		inD := Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(8), W: 1 + r.Intn(8), C: leftoverChannels[r.Intn(len(leftoverChannels))]}
		var p PoolParams
		var fD Dims
		var oH, oW, dh, dw int
		fD.H, p.Stride.H, p.Padding.H, dh, oH = randAxis(r, inD.H, 4)
		fD.W, p.Stride.W, p.Padding.W, dw, oW = randAxis(r, inD.W, 4)
		if dh != 1 || dw != 1 {
			continue // pooling has no dilation
		}
		oD := Dims{N: inD.N, H: oH, W: oW, C: inD.C}
		p.Activation = randAct(r, -128, 127)
		in := testvec.RandS8(r, inD.Size())
		avg, mx := make([]int8, oD.Size()), make([]int8, oD.Size())
		if err := AvgpoolS8(Opts{}, p, inD, in, fD, oD, avg); err != nil {
			t.Fatalf("case %d: %v", it, err)
		}
		if err := MaxPoolS8(Opts{}, p, inD, in, fD, oD, mx); err != nil {
			t.Fatal(err)
		}
		i := 0
		for b := 0; b < oD.N; b++ {
			for oy := 0; oy < oH; oy++ {
				for ox := 0; ox < oW; ox++ {
					for c := 0; c < inD.C; c++ {
						sum, n, m := 0, 0, -129
						for ky := 0; ky < fD.H; ky++ {
							for kx := 0; kx < fD.W; kx++ {
								iy, ix := oy*p.Stride.H-p.Padding.H+ky, ox*p.Stride.W-p.Padding.W+kx
								if iy >= 0 && iy < inD.H && ix >= 0 && ix < inD.W {
									v := int(in[((b*inD.H+iy)*inD.W+ix)*inD.C+c])
									sum, n, m = sum+v, n+1, max(m, v)
								}
							}
						}
						// Round half away from zero.
						a := int32(math.Round(float64(sum) / float64(n)))
						wantAvg := min(max(a, p.Activation.Min), p.Activation.Max)
						wantMax := min(max(int32(m), p.Activation.Min), p.Activation.Max)
						if int32(avg[i]) != wantAvg || int32(mx[i]) != wantMax {
							t.Fatalf("case %d: [%d] avg %d max %d, want %d %d", it, i, avg[i], mx[i], wantAvg, wantMax)
						}
						i++
					}
				}
			}
		}
	}
}

// TestRequantizeBig checks Requantize and RequantizeS64 against exact
// big-integer arithmetic of their definitions (TFLite double rounding).
func TestRequantizeBig(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	two := func(e int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(e)) }
	// roundDiv rounds x/2^e half away from zero (e >= 1) or returns x.
	roundDiv := func(x *big.Int, e int, awayFromZero bool) *big.Int {
		if e == 0 {
			return x
		}
		q, m := new(big.Int).DivMod(x, two(e), new(big.Int)) // floor division (Euclidean for positive divisor)
		half := two(e - 1)
		c := m.Cmp(half)
		if c > 0 || c == 0 && (!awayFromZero || x.Sign() >= 0) {
			q.Add(q, big.NewInt(1))
		}
		return q
	}
	for i := 0; i < 200000; i++ {
		shift := int32(r.Intn(62) - 31)
		mult := int32(1<<30 + r.Int63n(1<<30))
		lim := int64(1 << 31)
		if shift > 0 {
			lim >>= uint(shift)
		}
		val := int32(r.Int63n(2*lim) - lim)
		if i%7 == 0 {
			val = int32(max(min(int64(r.Intn(9)-4), lim-1), -lim))
		}
		x := new(big.Int).Mul(big.NewInt(int64(val)<<uint(max(shift, 0))), big.NewInt(int64(mult)))
		h := roundDiv(x, 31, false)
		want := roundDiv(h, int(max(-shift, 0)), true)
		if got := Requantize(val, mult, shift); int64(got) != want.Int64() {
			t.Fatalf("Requantize(%d, %d, %d) = %d, want %d", val, mult, shift, got, want)
		}
		s64 := int32(r.Intn(22) - 15)
		v64 := r.Int63n(1<<40) - 1<<39
		rm := ReduceMultiplier(mult)
		want64 := roundDiv(new(big.Int).Mul(big.NewInt(v64), big.NewInt(int64(rm))), int(15-s64), false)
		if want64.IsInt64() && want64.Int64() > -(1<<30) && want64.Int64() < 1<<30 {
			if got := RequantizeS64(v64, rm, s64); int64(got) != want64.Int64() {
				t.Fatalf("RequantizeS64(%d, %d, %d) = %d, want %d", v64, rm, s64, got, want64)
			}
		}
	}
}
