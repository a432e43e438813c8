package kernels

import (
	"errors"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testvec"
)

// TestS8ConvS16Random checks ConvolveS16 with int32 and int64 bias against
// a reference, including the int32 wrap of the accumulator.
func TestS8ConvS16Random(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for it := 0; it < 200; it++ {
		inD := Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(6), W: 1 + r.Intn(6), C: leftoverChannels[r.Intn(len(leftoverChannels))]}
		var p ConvParams
		var fD Dims
		var oH, oW int
		fD.H, p.Stride.H, p.Padding.H, p.Dilation.H, oH = randAxis(r, inD.H, 3)
		fD.W, p.Stride.W, p.Padding.W, p.Dilation.W, oW = randAxis(r, inD.W, 3)
		fD.N, fD.C = 1+r.Intn(6), inD.C
		oD := Dims{N: inD.N, H: oH, W: oW, C: fD.N}
		p.Activation = randAct(r, -32768, 32767)
		q := randQuant(r, oD.C, 22)
		in, w := testvec.RandS16(r, inD.Size()), testvec.RandS8(r, fD.Size())
		var b BiasS16
		b.IsInt32Bias = r.Intn(2) == 0
		if r.Intn(4) != 0 {
			if b.IsInt32Bias {
				b.Int32 = make([]int32, oD.C)
				for i := range b.Int32 {
					b.Int32[i] = int32(r.Intn(1<<24) - 1<<23)
				}
			} else {
				b.Int64 = make([]int64, oD.C)
				for i := range b.Int64 {
					b.Int64[i] = r.Int63n(1<<40) - 1<<39
				}
			}
		}
		out := make([]int16, oD.Size())
		if err := ConvolveWrapperS16(Opts{}, p, q, inD, in, fD, w, b, oD, out); err != nil {
			t.Fatalf("case %d: %v", it, err)
		}
		i := 0
		var acc int32
		refTaps(inD, fD, oD, p.Stride, p.Padding, p.Dilation, func(bt, oc, ky, kx, iy, ix int) {
			for c := 0; c < inD.C; c++ {
				acc += int32(in[((bt*inD.H+iy)*inD.W+ix)*inD.C+c]) * int32(w[((oc*fD.H+ky)*fD.W+kx)*fD.C+c])
			}
		}, func(oc int) {
			var y int32
			if b.IsInt32Bias {
				if b.Int32 != nil {
					acc += b.Int32[oc]
				}
				y = Requantize(acc, q.Multiplier[oc], q.Shift[oc])
			} else {
				a64 := int64(acc)
				if b.Int64 != nil {
					a64 += b.Int64[oc]
				}
				y = RequantizeS64(a64, ReduceMultiplier(q.Multiplier[oc]), q.Shift[oc])
			}
			if want := int16(min(max(y, p.Activation.Min), p.Activation.Max)); out[i] != want {
				t.Fatalf("case %d: out[%d] = %d, want %d", it, i, out[i], want)
			}
			i++
			acc = 0
		})
	}
}

// TestS8Softmax compares both softmax kernels with the float softmax (the
// s16 one with the LUTs of a committed vector) and checks row sums.
func TestS8Softmax(t *testing.T) {
	cases, err := testvec.Load(s8SubsetDir)
	if err != nil {
		t.Fatal(err)
	}
	var lut SoftmaxLUTS16
	for _, c := range cases {
		if c.Function == "arm_softmax_s16" {
			lut = SoftmaxLUTS16{ExpLUT: vIs[int16](c.Inputs["softmax_params.exp_lut"]), OneByOneLUT: vIs[int16](c.Inputs["softmax_params.one_by_one_lut"])}
			break
		}
	}
	r := rand.New(rand.NewSource(7))
	for it := 0; it < 200; it++ {
		n := 1 + r.Intn(40)
		scale := 0.02 + r.Float64()*0.1
		// TFLite's preparation for beta = 1, 5 integer bits.
		realMult := math.Min(scale*(1<<(31-5)), float64(1<<31-1))
		mult, shift := quantizeMultiplier(realMult)
		diffMin := -int32(math.Floor(float64((1<<5-1)<<(31-5)) / float64(int64(1)<<shift)))
		in := testvec.RandS8(r, n)
		out := make([]int8, n)
		st := &Stats{}
		if err := SoftmaxS8(Opts{Stats: st}, in, 1, n, mult, int32(shift), diffMin, out); err != nil {
			t.Fatal(err)
		}
		want := floatSoftmax(in, scale)
		sum := 0.0
		for i := range out {
			got := (float64(out[i]) + 128) / 256
			sum += got
			if math.Abs(got-want[i]) > 1.5/256 {
				t.Fatalf("case %d: s8 softmax[%d] = %.4f, float %.4f", it, i, got, want[i])
			}
		}
		if math.Abs(sum-1) > float64(n)/256+0.01 {
			t.Fatalf("case %d: s8 row sum %.3f", it, sum)
		}
		if st.Values != int64(n) || st.Calls != 1 {
			t.Fatalf("stats %v", st)
		}
		// s16: input scale s, mult/shift quantise s·beta/(10/65535).
		in16 := testvec.RandS16(r, n)
		s16 := 0.0002 + r.Float64()*0.0005
		m16, sh16 := quantizeMultiplier(s16 / (10.0 / 65535))
		out16 := make([]int16, n)
		if err := SoftmaxS16(Opts{}, in16, 1, n, m16, int32(sh16), lut, out16); err != nil {
			t.Fatal(err)
		}
		want16 := floatSoftmax16(in16, s16)
		for i := range out16 {
			got := float64(uint16(out16[i])) / 32768
			if math.Abs(got-want16[i]) > 0.002 {
				t.Fatalf("case %d: s16 softmax[%d] = %.5f, float %.5f", it, i, got, want16[i])
			}
		}
	}
	// A single-element row gives the unclamped 32768, stored as -32768.
	out := make([]int16, 1)
	st := &Stats{}
	if err := SoftmaxS16(Opts{Stats: st}, []int16{5}, 1, 1, 1<<30, 0, lut, out); err != nil {
		t.Fatal(err)
	}
	if out[0] != -32768 || st.SatHigh != 1 {
		t.Errorf("lone element: %d (SatHigh %d), want the library's wrapped -32768", out[0], st.SatHigh)
	}
	if err := SoftmaxS16(Opts{}, []int16{5}, 1, 1, 1<<30, 0, SoftmaxLUTS16{}, out); !errors.Is(err, ErrArg) {
		t.Errorf("missing LUT: %v, want ErrArg", err)
	}
	// 600 equal elements: the exp sum reaches 2^28 and the library's final
	// shift would be 32 or more; refused before any output is written.
	big := make([]int8, 600)
	bigOut := make([]int8, 600)
	if err := SoftmaxS8(Opts{}, big, 1, 600, 1<<30, 20, -3968, bigOut); !errors.Is(err, ErrInvalid) {
		t.Errorf("600 equal elements: %v, want ErrInvalid", err)
	}
	big[0] = 127 // a clear maximum: the sum stays small
	if err := SoftmaxS8(Opts{}, big, 1, 600, 1<<30, 20, -3968, bigOut); err != nil || bigOut[0] == 0 {
		t.Errorf("600 elements with one maximum: %v, out[0] %d", err, bigOut[0])
	}
}

// quantizeMultiplier is TFLite's QuantizeMultiplier for x > 0.
func quantizeMultiplier(x float64) (int32, int) {
	frac, exp := math.Frexp(x)
	q := int64(math.Round(frac * (1 << 31)))
	if q == 1<<31 {
		q /= 2
		exp++
	}
	return int32(q), exp
}

func floatSoftmax(in []int8, scale float64) []float64 {
	m := in[0]
	for _, v := range in {
		m = max(m, v)
	}
	out := make([]float64, len(in))
	sum := 0.0
	for i, v := range in {
		out[i] = math.Exp(float64(int(v)-int(m)) * scale)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func floatSoftmax16(in []int16, scale float64) []float64 {
	m := in[0]
	for _, v := range in {
		m = max(m, v)
	}
	out := make([]float64, len(in))
	sum := 0.0
	for i, v := range in {
		out[i] = math.Exp(math.Max(float64(int(v)-int(m))*scale, -10))
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestS8Elementwise(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	for it := 0; it < 200; it++ {
		n := r.Intn(40)
		a, b := testvec.RandS8(r, n), testvec.RandS8(r, n)
		s1, s2, so := 0.01+r.Float64()*0.05, 0.01+r.Float64()*0.05, 0.02+r.Float64()*0.08
		// TFLite ADD preparation with left_shift 20.
		twice := 2 * math.Max(s1, s2)
		m1, e1 := quantizeMultiplier(s1 / twice)
		m2, e2 := quantizeMultiplier(s2 / twice)
		mo, eo := quantizeMultiplier(twice / (float64(int(1)<<20) * so))
		p := ElementwiseAddS8Params{Input1Offset: int32(r.Intn(256) - 127), Input1Mult: m1, Input1Shift: int32(e1),
			Input2Offset: int32(r.Intn(256) - 127), Input2Mult: m2, Input2Shift: int32(e2), LeftShift: 20,
			OutOffset: int32(r.Intn(256) - 128), OutMult: mo, OutShift: int32(eo), OutActivationMin: -128, OutActivationMax: 127}
		out := make([]int8, n)
		if err := ElementwiseAddS8(Opts{}, a, b, p, out, n); err != nil {
			t.Fatal(err)
		}
		for i := range out {
			real := (float64(int32(a[i])+p.Input1Offset)*s1 + float64(int32(b[i])+p.Input2Offset)*s2) / so
			want := math.Max(-128, math.Min(127, math.Round(real)+float64(p.OutOffset)))
			if math.Abs(float64(out[i])-want) > 1 {
				t.Fatalf("add case %d [%d]: %d, float %.1f", it, i, out[i], want)
			}
		}
		mm, em := quantizeMultiplier(s1 * s2 / so)
		pm := ElementwiseMulS8Params{Input1Offset: p.Input1Offset, Input2Offset: p.Input2Offset, OutOffset: p.OutOffset,
			OutMult: mm, OutShift: int32(em), OutActivationMin: -100, OutActivationMax: 100}
		st := &Stats{}
		// In place: the output aliases the first input.
		c := append([]int8(nil), a...)
		if err := ElementwiseMulS8(Opts{Stats: st}, c, b, pm, c, n); err != nil {
			t.Fatal(err)
		}
		for i := range c {
			prod := (int32(a[i]) + pm.Input1Offset) * (int32(b[i]) + pm.Input2Offset)
			want := min(max(Requantize(prod, mm, int32(em))+pm.OutOffset, -100), 100)
			if int32(c[i]) != want {
				t.Fatalf("mul case %d [%d]: %d, want %d", it, i, c[i], want)
			}
		}
		if st.Values != int64(n) {
			t.Fatalf("stats %v", st)
		}
	}
}

type errCheck struct {
	name string
	err  error
	out  []int8
	want error
}

// TestS8StatsAndErrors checks the clamp/saturation counters, the argument
// checks that mirror the library's ARM_CMSIS_NN_ARG_ERROR, and that a
// refused call leaves the output untouched.
func TestS8StatsAndErrors(t *testing.T) {
	// 1x1 conv of one pixel, 4 output channels with hand-picked results:
	// acc = 2·w (input 1 + offset 1), mult 2^30 / shift 0 halves: y = w.
	p := ConvParams{InputOffset: 1, OutputOffset: 0, Stride: Tile{1, 1}, Dilation: Tile{1, 1}, Activation: Activation{-100, 127}}
	q := PerChannelQuantParams{Multiplier: []int32{1 << 30, 1 << 30, 1 << 30, 1 << 30}, Shift: []int32{1, 1, 1, 0}}
	inD, fD, oD := Dims{1, 1, 1, 1}, Dims{4, 1, 1, 1}, Dims{1, 1, 1, 4}
	in := []int8{1}
	w := []int8{100, -60, -127, 127}
	// y = 2·w·2^shift/2: 200 (sat high), -120 (clamp low at -100), -254 (sat low), 127.
	out := make([]int8, 4)
	st := &Stats{}
	if err := ConvolveWrapperS8(Opts{Stats: st}, p, q, inD, in, fD, w, nil, oD, out); err != nil {
		t.Fatal(err)
	}
	if want := []int8{127, -100, -100, 127}; !slices.Equal(out, want) {
		t.Fatalf("out %v, want %v", out, want)
	}
	if st.SatHigh != 1 || st.ClampLow != 1 || st.SatLow != 1 || st.ClampHigh != 0 || st.Values != 4 {
		t.Errorf("stats %v, want sat_high 1, clamp_low 1, sat_low 1", st)
	}
	// Accumulator wrap: 1x1 conv over 70000 channels? Use a large bias instead.
	st.Reset()
	big := []int32{1<<31 - 1, 0, 0, 0}
	if err := ConvolveS8(Opts{Stats: st}, p, q, inD, in, fD, w, big, oD, out); err != nil {
		t.Fatal(err)
	}
	if st.AccWraps != 1 {
		t.Errorf("AccWraps %d, want 1", st.AccWraps)
	}

	sentinel := func() []int8 { return []int8{9, 9, 9, 9} }
	checks := []errCheck{}
	o := sentinel()
	p2 := p
	p2.Stride = Tile{2, 1}
	checks = append(checks, errCheck{"1x1 fast stride 2", Convolve1x1S8Fast(Opts{}, p2, q, inD, in, fD, w, nil, oD, o), o, ErrArg})
	o = sentinel()
	p3 := p
	p3.Padding = Tile{1, 0}
	checks = append(checks, errCheck{"1x1 padded", Convolve1x1S8(Opts{}, p3, q, inD, in, fD, w, nil, oD, o), o, ErrArg})
	o = sentinel()
	checks = append(checks, errCheck{"short filter", ConvolveS8(Opts{}, p, q, inD, in, fD, w[:3], nil, oD, o), o, ErrShortBuffer})
	o = sentinel()
	p4 := p
	p4.InputOffset = 200
	checks = append(checks, errCheck{"input offset", ConvolveS8(Opts{}, p4, q, inD, in, fD, w, nil, oD, o), o, ErrInvalid})
	o = sentinel()
	dp := DwConvParams{ChMult: 1, Stride: Tile{1, 1}, Dilation: Tile{1, 1}, Padding: Tile{2, 0}, Activation: Activation{-128, 127}}
	checks = append(checks, errCheck{"3x3 pad 2", DepthwiseConv3x3S8(Opts{}, dp, q, Dims{1, 3, 3, 4}, make([]int8, 36), Dims{1, 3, 3, 4}, make([]int8, 36), nil,
		Dims{1, 1, 1, 4}, o), o, ErrArg})
	o = sentinel()
	pp := PoolParams{Stride: Tile{1, 1}, Padding: Tile{3, 0}, Activation: Activation{-128, 127}}
	checks = append(checks, errCheck{"empty avg window", AvgpoolS8(Opts{}, pp, Dims{1, 1, 2, 1}, []int8{1, 2}, Dims{1, 1, 2, 1}, Dims{1, 1, 4, 1}, o), o, ErrArg})
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, c.err, c.want)
		}
		if !slices.Equal(c.out, sentinel()) {
			t.Errorf("%s: output modified: %v", c.name, c.out)
		}
		if s, ok := NNStatusOf(c.err); c.want == ErrArg && (!ok || s != NNArgError) {
			t.Errorf("%s: NNStatusOf = %v %v", c.name, s, ok)
		}
	}
}
