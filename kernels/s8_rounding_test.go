package kernels_test

import (
	"math"
	"math/big"
	"math/rand"
	"testing"

	"github.com/nnq-toolkit/nnq/kernels"
)

// singleRef is arm_nn_requantize of a CMSIS_NN_USE_SINGLE_ROUNDING build
// computed with big integers: t = floor(val·mult / 2^(30-shift)) reduced
// modulo 2^32 to int32, then (t+1) modulo 2^32, halved with floor. exact
// is val·mult/2^(31-shift) rounded once, ties toward +infinity, with no
// reduction; fits reports whether t needed none (then the two agree).
func singleRef(val, mult, shift int32) (lib int32, exact *big.Int, fits bool) {
	p := new(big.Int).Mul(big.NewInt(int64(val)), big.NewInt(int64(mult)))
	t := new(big.Int).Rsh(p, uint(30-shift)) // Rsh floors for negative values
	fits = t.IsInt64() && t.Int64() >= math.MinInt32 && t.Int64() < math.MaxInt32
	t32 := int32(uint32(new(big.Int).And(t, big.NewInt(0xFFFFFFFF)).Uint64()))
	lib = int32(uint32(t32)+1) >> 1
	half := new(big.Int).Lsh(big.NewInt(1), uint(30-shift))
	exact = new(big.Int).Rsh(new(big.Int).Add(p, half), uint(31-shift))
	return lib, exact, fits
}

func TestS8RequantizeSingleRounding(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	extremeMult := []int32{math.MinInt32 + 1, math.MaxInt32, 1 << 30, 1<<30 + 1, 1, -1, 0, 1<<31 - 2}
	extremeVal := []int32{math.MinInt32, math.MaxInt32, 0, 1, -1, 1 << 30, -(1 << 30)}
	ties, wraps, checked := 0, 0, 0
	check := func(val, mult, shift int32) {
		t.Helper()
		lib, exact, fits := singleRef(val, mult, shift)
		got := kernels.RequantizeSingle(val, mult, shift)
		if got != lib {
			t.Fatalf("RequantizeSingle(%d, %d, %d) = %d, the library's arithmetic gives %d", val, mult, shift, got, lib)
		}
		if via := kernels.SingleRounding.Requantize(val, mult, shift); via != got {
			t.Fatalf("SingleRounding.Requantize(%d, %d, %d) = %d, RequantizeSingle %d", val, mult, shift, via, got)
		}
		if fits {
			if exact.Int64() != int64(got) {
				t.Fatalf("RequantizeSingle(%d, %d, %d) = %d, exact rounding gives %s", val, mult, shift, got, exact)
			}
		} else {
			wraps++
		}
		checked++
	}
	for i := 0; i < 200000; i++ {
		shift := int32(r.Intn(62) - 31)
		val, mult := int32(r.Uint32()), int32(r.Uint32())
		switch r.Intn(4) {
		case 0:
			val = int32(r.Intn(1<<16) - 1<<15)
		case 1:
			mult = extremeMult[r.Intn(len(extremeMult))]
			val = extremeVal[r.Intn(len(extremeVal))] + int32(r.Intn(3)-1)
		case 2:
			// An exact tie: val·mult = (2k+1)·2^(30-shift).
			total := 30 - int(shift) // 0..61
			a := r.Intn(min(total, 20) + 1)
			b := total - a
			if b > 30 {
				a, b = total-30, 30
			}
			k := int64(r.Intn(1<<8) - 1<<7)
			v := (2*k + 1) << uint(a)
			if v < math.MinInt32 || v > math.MaxInt32 {
				continue
			}
			val, mult = int32(v), int32(1)<<uint(b)
			if b == 31 {
				continue
			}
			ties++
		}
		check(val, mult, shift)
		if d := kernels.DoubleRounding.Requantize(val, mult, shift); d != kernels.Requantize(val, mult, shift) {
			t.Fatalf("DoubleRounding.Requantize(%d, %d, %d) = %d, Requantize %d", val, mult, shift, d, kernels.Requantize(val, mult, shift))
		}
	}
	// Ties toward +infinity, once: 3/2 -> 2, -3/2 -> -1, 5/4 -> 1 (the
	// double rounding gives 2 for 0.625 rounded to 1/2 first, then 1/2 -> 1).
	for _, c := range []struct{ val, mult, shift, want int32 }{
		{3, 1 << 30, 0, 2}, {-3, 1 << 30, 0, -1}, {5, 1 << 30, -1, 1}, {-5, 1 << 30, -1, -1}, {1, 1 << 30, 0, 1}, {-1, 1 << 30, 0, 0},
	} {
		if got := kernels.RequantizeSingle(c.val, c.mult, c.shift); got != c.want {
			t.Errorf("RequantizeSingle(%d, %d, %d) = %d, want %d", c.val, c.mult, c.shift, got, c.want)
		}
	}
	if ties < 1000 || wraps == 0 {
		t.Fatalf("weak sample: %d ties, %d wrapped values of %d", ties, wraps, checked)
	}
	t.Logf("%d values, %d exact ties, %d with the int32 truncation wrapping", checked, ties, wraps)
}

// TestS8RequantRoundingReachesKernels runs each requantising s8/s16 kernel
// with both roundings and checks every output against the scalar
// requantisation it must apply; the two builds must differ somewhere.
func TestS8RequantRoundingReachesKernels(t *testing.T) {
	r := rand.New(rand.NewSource(1818))
	type run struct {
		name string
		f    func(o kernels.Opts) (got, want []int32, err error)
	}
	// A multiplier in [2^30, 2^31) with a shift in [base, base+2]; half of
	// them 2^30 (0.5), where exact ties are frequent (the roundings differ
	// on negative ties and where the first of the two roundings crosses one).
	randMult := func(base int) (int32, int32) {
		m := int32(1 << 30)
		if r.Intn(2) == 0 {
			m += int32(r.Intn(1 << 30))
		}
		return m, int32(base + r.Intn(3))
	}
	n := 64
	in8 := func() []int8 {
		v := make([]int8, n)
		for i := range v {
			v[i] = int8(r.Intn(13) - 6) // small: ties at small shifts
		}
		return v
	}
	in16 := func() []int16 {
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(r.Intn(13) - 6)
		}
		return v
	}
	clamp := func(y, lo, hi int32) int32 { return min(max(y, lo), hi) }
	runs := []run{
		{"arm_convolve_wrapper_s8 (1x1)", func(o kernels.Opts) ([]int32, []int32, error) {
			x, w := in8(), in8()
			const oc = 8
			c := n / oc
			q := kernels.PerChannelQuantParams{Multiplier: make([]int32, oc), Shift: make([]int32, oc)}
			bias := make([]int32, oc)
			for i := range q.Multiplier {
				q.Multiplier[i], q.Shift[i] = randMult(-3)
				bias[i] = int32(r.Intn(41) - 20)
			}
			p := kernels.ConvParams{InputOffset: 3, OutputOffset: -5, Stride: kernels.Tile{W: 1, H: 1}, Dilation: kernels.Tile{W: 1, H: 1},
				Activation: kernels.Activation{Min: -128, Max: 127}}
			// A 1x1 input of oc*c... channels: one pixel of c channels per row.
			inD, fD, outD := kernels.Dims{N: 1, H: 1, W: oc, C: c}, kernels.Dims{N: oc, H: 1, W: 1, C: c}, kernels.Dims{N: 1, H: 1, W: oc, C: oc}
			out := make([]int8, outD.Size())
			err := kernels.ConvolveWrapperS8(o, p, q, inD, x, fD, w[:oc*c], bias, outD, out)
			var got, want []int32
			for px := 0; px < oc; px++ {
				for k := 0; k < oc; k++ {
					acc := bias[k]
					for j := 0; j < c; j++ {
						acc += (int32(x[px*c+j]) + 3) * int32(w[k*c+j])
					}
					want = append(want, clamp(o.Requant.Requantize(acc, q.Multiplier[k], q.Shift[k])-5, -128, 127))
					got = append(got, int32(out[px*oc+k]))
				}
			}
			return got, want, err
		}},
		{"arm_fully_connected_s8", func(o kernels.Opts) ([]int32, []int32, error) {
			x, w := in8(), in8()
			const rows, depth = 8, 8
			m, s := randMult(-3)
			q := kernels.PerTensorQuantParams{Multiplier: m, Shift: s}
			p := kernels.FCParams{InputOffset: -2, OutputOffset: 7, Activation: kernels.Activation{Min: -128, Max: 127}}
			out := make([]int8, rows)
			err := kernels.FullyConnectedS8(o, p, q, kernels.Dims{N: 1, H: 1, W: 1, C: depth}, x[:depth], kernels.Dims{N: depth, H: 1, W: 1, C: rows},
				w[:rows*depth], nil, kernels.Dims{N: 1, H: 1, W: 1, C: rows}, out)
			var got, want []int32
			for k := 0; k < rows; k++ {
				var acc int32
				for j := 0; j < depth; j++ {
					acc += (int32(x[j]) - 2) * int32(w[k*depth+j])
				}
				want = append(want, clamp(o.Requant.Requantize(acc, m, s)+7, -128, 127))
				got = append(got, int32(out[k]))
			}
			return got, want, err
		}},
		{"arm_elementwise_add_s8", func(o kernels.Opts) ([]int32, []int32, error) {
			a, b := in8(), in8()
			m1, s1 := randMult(-1)
			m2, s2 := randMult(-1)
			mo, so := randMult(-3)
			p := kernels.ElementwiseAddS8Params{Input1Offset: 1, Input1Mult: m1, Input1Shift: s1, Input2Offset: -4, Input2Mult: m2, Input2Shift: s2,
				LeftShift: 4, OutOffset: 2, OutMult: mo, OutShift: so, OutActivationMin: -128, OutActivationMax: 127}
			out := make([]int8, n)
			err := kernels.ElementwiseAddS8(o, a, b, p, out, n)
			var got, want []int32
			for i := range a {
				x := o.Requant.Requantize((int32(a[i])+1)<<4, p.Input1Mult, p.Input1Shift)
				y := o.Requant.Requantize((int32(b[i])-4)<<4, p.Input2Mult, p.Input2Shift)
				want = append(want, clamp(o.Requant.Requantize(x+y, p.OutMult, p.OutShift)+2, -128, 127))
				got = append(got, int32(out[i]))
			}
			return got, want, err
		}},
		{"arm_elementwise_mul_s8", func(o kernels.Opts) ([]int32, []int32, error) {
			a, b := in8(), in8()
			mo, so := randMult(-3)
			p := kernels.ElementwiseMulS8Params{Input1Offset: 1, Input2Offset: -4, OutOffset: 2, OutMult: mo, OutShift: so,
				OutActivationMin: -128, OutActivationMax: 127}
			out := make([]int8, n)
			err := kernels.ElementwiseMulS8(o, a, b, p, out, n)
			var got, want []int32
			for i := range a {
				want = append(want, clamp(o.Requant.Requantize((int32(a[i])+1)*(int32(b[i])-4), p.OutMult, p.OutShift)+2, -128, 127))
				got = append(got, int32(out[i]))
			}
			return got, want, err
		}},
		{"nnq_mul_s16", func(o kernels.Opts) ([]int32, []int32, error) {
			a, b := in16(), in16()
			mo, so := randMult(-2)
			p := kernels.ElementwiseMulS8Params{OutMult: mo, OutShift: so, OutActivationMin: -32768, OutActivationMax: 32767}
			out := make([]int16, n)
			err := kernels.NNQMulS16(o, a, b, p, out, n)
			var got, want []int32
			for i := range a {
				want = append(want, clamp(o.Requant.Requantize(int32(a[i])*int32(b[i]), p.OutMult, p.OutShift), -32768, 32767))
				got = append(got, int32(out[i]))
			}
			return got, want, err
		}},
		{"arm_convolve_wrapper_s16 (int32 bias)", func(o kernels.Opts) ([]int32, []int32, error) {
			x, w := in16(), in8()
			const oc, c = 4, 4
			q := kernels.PerChannelQuantParams{Multiplier: make([]int32, oc), Shift: make([]int32, oc)}
			for i := range q.Multiplier {
				q.Multiplier[i], q.Shift[i] = randMult(-3)
			}
			p := kernels.ConvParams{Stride: kernels.Tile{W: 1, H: 1}, Dilation: kernels.Tile{W: 1, H: 1}, Activation: kernels.Activation{Min: -32768, Max: 32767}}
			inD, fD, outD := kernels.Dims{N: 1, H: 1, W: 4, C: c}, kernels.Dims{N: oc, H: 1, W: 1, C: c}, kernels.Dims{N: 1, H: 1, W: 4, C: oc}
			out := make([]int16, outD.Size())
			err := kernels.ConvolveWrapperS16(o, p, q, inD, x[:16], fD, w[:oc*c], kernels.BiasS16{IsInt32Bias: true}, outD, out)
			var got, want []int32
			for px := 0; px < 4; px++ {
				for k := 0; k < oc; k++ {
					var acc int32
					for j := 0; j < c; j++ {
						acc += int32(x[px*c+j]) * int32(w[k*c+j])
					}
					want = append(want, clamp(o.Requant.Requantize(acc, q.Multiplier[k], q.Shift[k]), -32768, 32767))
					got = append(got, int32(out[px*oc+k]))
				}
			}
			return got, want, err
		}},
	}
	for _, ru := range runs {
		differ, inside := 0, 0
		for it := 0; it < 50; it++ {
			seed := r.Int63()
			var res [2][]int32
			for k, rq := range []kernels.Requant{kernels.DoubleRounding, kernels.SingleRounding} {
				r.Seed(seed)
				got, want, err := ru.f(kernels.Opts{Requant: rq})
				if err != nil {
					t.Fatalf("%s: %v", ru.name, err)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s, %s rounding: output %d is %d, want %d", ru.name, rq, i, got[i], want[i])
					}
				}
				res[k] = got
			}
			for i := range res[0] {
				if res[0][i] != res[1][i] {
					differ++
				}
				if v := res[0][i]; v > -128 && v < 127 {
					inside++
				}
			}
		}
		if differ == 0 {
			t.Errorf("%s: double and single rounding never differ: Opts.Requant does not reach the kernel", ru.name)
		}
		t.Logf("%s: %d values within the clamp, %d differ between the roundings", ru.name, inside, differ)
	}
}

// TestS8AvgpoolEven checks nnq's ties-to-even average pool against a
// float64 reference on random windows (padding, negative sums, ties) and
// the library's pool, which may differ from it only on ties.
func TestS8AvgpoolEven(t *testing.T) {
	r := rand.New(rand.NewSource(1819))
	ties, negTies := 0, 0
	for it := 0; it < 400; it++ {
		s16 := it%3 == 2
		inD := kernels.Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(7), W: 1 + r.Intn(7), C: 1 + r.Intn(9)}
		kh, kw := 1+r.Intn(min(inD.H, 4)), 1+r.Intn(min(inD.W, 4))
		p := kernels.PoolParams{Stride: kernels.Tile{W: 1 + r.Intn(2), H: 1 + r.Intn(2)}, Padding: kernels.Tile{W: r.Intn(kw), H: r.Intn(kh)}}
		lo, hi := int32(-128), int32(127)
		if s16 {
			lo, hi = -32768, 32767
		}
		if r.Intn(4) == 0 {
			lo, hi = lo/2, hi/2
		}
		p.Activation = kernels.Activation{Min: lo, Max: hi}
		outH, outW := (inD.H+2*p.Padding.H-kh)/p.Stride.H+1, (inD.W+2*p.Padding.W-kw)/p.Stride.W+1
		outD := kernels.Dims{N: inD.N, H: outH, W: outW, C: inD.C}
		fD := kernels.Dims{N: 1, H: kh, W: kw, C: 1}
		x := make([]int32, inD.Size())
		span := 256
		if s16 {
			span = 65536
		}
		for i := range x {
			x[i] = int32(r.Intn(span) - span/2)
			if r.Intn(3) == 0 { // small values make ties frequent
				x[i] = int32(r.Intn(7) - 4)
			}
		}
		var got, lib []int32
		var err, errLib error
		if s16 {
			in := make([]int16, len(x))
			for i, v := range x {
				in[i] = int16(v)
			}
			o, ol := make([]int16, outD.Size()), make([]int16, outD.Size())
			err = kernels.NNQAvgpoolS16Even(kernels.Opts{}, p, inD, in, fD, outD, o)
			errLib = kernels.AvgpoolS16(kernels.Opts{}, p, inD, in, fD, outD, ol)
			for i := range o {
				got, lib = append(got, int32(o[i])), append(lib, int32(ol[i]))
			}
		} else {
			in := make([]int8, len(x))
			for i, v := range x {
				in[i] = int8(v)
			}
			o, ol := make([]int8, outD.Size()), make([]int8, outD.Size())
			err = kernels.NNQAvgpoolS8Even(kernels.Opts{}, p, inD, in, fD, outD, o)
			errLib = kernels.AvgpoolS8(kernels.Opts{}, p, inD, in, fD, outD, ol)
			for i := range o {
				got, lib = append(got, int32(o[i])), append(lib, int32(ol[i]))
			}
		}
		if (err == nil) != (errLib == nil) {
			t.Fatalf("geometry %+v %+v: nnq_avgpool_even error %v, arm_avgpool %v", inD, p, err, errLib)
		}
		if err != nil {
			continue
		}
		i := 0
		for b := 0; b < outD.N; b++ {
			for oy := 0; oy < outH; oy++ {
				for ox := 0; ox < outW; ox++ {
					for c := 0; c < inD.C; c++ {
						var sum, cnt int64
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := oy*p.Stride.H-p.Padding.H+ky, ox*p.Stride.W-p.Padding.W+kx
								if iy < 0 || iy >= inD.H || ix < 0 || ix >= inD.W {
									continue
								}
								sum += int64(x[((b*inD.H+iy)*inD.W+ix)*inD.C+c])
								cnt++
							}
						}
						mean := float64(sum) / float64(cnt)
						want := min(max(int32(math.RoundToEven(mean)), lo), hi)
						if got[i] != want {
							t.Fatalf("it %d: output %d: mean %d/%d gave %d, want %d", it, i, sum, cnt, got[i], want)
						}
						tie := 2*(sum%cnt) == cnt || 2*(sum%cnt) == -cnt
						if tie {
							ties++
							if sum < 0 {
								negTies++
							}
						}
						if !tie && lib[i] != got[i] {
							t.Fatalf("it %d: output %d: no tie (%d/%d) but the library's pool gives %d, nnq's %d", it, i, sum, cnt, lib[i], got[i])
						}
						i++
					}
				}
			}
		}
	}
	if ties < 100 || negTies < 20 {
		t.Fatalf("weak sample: %d ties (%d negative)", ties, negTies)
	}
	t.Logf("%d ties, %d of them negative", ties, negTies)
}
