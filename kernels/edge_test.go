package kernels

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Worked examples and edge cases of the facts sheet, pinned.

// fc1 runs a 1-row q7 FC: out = requant(bias<<bs + Σ v·w).
func fc1(t *testing.T, o Opts, v, w []int8, bias int8, bs, os int) int8 {
	t.Helper()
	out := []int8{99}
	if err := FullyConnectedQ7(o, v, w, len(v), 1, bs, os, []int8{bias}, out); err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func TestRequantEdges(t *testing.T) {
	trunc := Opts{Rounding: Truncate}
	for _, tc := range []struct {
		name       string
		o          Opts
		v, w       []int8
		bias       int8
		bs, os     int
		want       int8
		sh, sl, bw int64 // expected SatHigh, SatLow, BiasWraps
	}{
		// acc = 3, shift 1: 1.5 → 2 (tie toward +inf); -1.5 → -1.
		{"tie_pos", Opts{}, []int8{3}, []int8{1}, 0, 0, 1, 2, 0, 0, 0},
		{"tie_neg", Opts{}, []int8{-3}, []int8{1}, 0, 0, 1, -1, 0, 0, 0},
		{"tie_pos_trunc", trunc, []int8{3}, []int8{1}, 0, 0, 1, 1, 0, 0, 0},
		{"tie_neg_trunc", trunc, []int8{-3}, []int8{1}, 0, 0, 1, -2, 0, 0, 0},
		// 2.25 and 2.75 with shift 2 (acc 9, 11).
		{"below_half", Opts{}, []int8{9}, []int8{1}, 0, 0, 2, 2, 0, 0, 0},
		{"above_half", Opts{}, []int8{11}, []int8{1}, 0, 0, 2, 3, 0, 0, 0},
		// out_shift 0: no rounding term, plain saturation.
		{"shift0", Opts{}, []int8{5, 7}, []int8{3, -2}, 4, 0, 0, 5, 0, 0, 0},
		{"shift0_sat_hi", Opts{}, []int8{127, 127}, []int8{127, 1}, 0, 0, 0, 127, 1, 0, 0},
		{"shift0_sat_lo", Opts{}, []int8{-128}, []int8{127}, 0, 0, 0, -128, 0, 1, 0},
		// Saturation after the shift: 127*127*2 >> 7 = 252 → 127.
		{"sat_hi", Opts{}, []int8{127, 127}, []int8{127, 127}, 0, 0, 7, 127, 1, 0, 0},
		{"sat_lo", Opts{}, []int8{-128, -128}, []int8{127, 127}, 0, 0, 7, -128, 0, 1, 0},
		// Bias shift: 3<<4 = 48, >>2 = 12; bias 1<<31 wraps to -2^31.
		{"bias_shift", Opts{}, []int8{0}, []int8{0}, 3, 4, 2, 12, 0, 0, 0},
		{"bias_wrap", Opts{}, []int8{0}, []int8{0}, 1, 31, 24, -128, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st Stats
			tc.o.Stats = &st
			if got := fc1(t, tc.o, tc.v, tc.w, tc.bias, tc.bs, tc.os); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
			if st.SatHigh != tc.sh || st.SatLow != tc.sl || st.BiasWraps != tc.bw || st.Values != 1 || st.Calls != 1 {
				t.Errorf("stats %v", st)
			}
		})
	}
}

func TestAccWrapCounted(t *testing.T) {
	// q15 FC: 3 * 32767*32767 ≈ 3.2e9 leaves int32 and wraps mod 2^32.
	v := []int16{32767, 32767, 32767}
	var st Stats
	out := []int16{0}
	if err := FullyConnectedQ15(Opts{Stats: &st}, v, v, 3, 1, 0, 16, []int16{0}, out); err != nil {
		t.Fatal(err)
	}
	exact := int64(3*32767*32767) + 1<<15
	want := int16(max(min(int32(exact)>>16, 32767), -32768))
	if out[0] != want || st.AccWraps != 1 {
		t.Errorf("out %d (want %d), stats %v", out[0], want, st)
	}
	if want >= 0 {
		t.Errorf("test setup: wrapped value %d should be negative", want)
	}
}

func TestSizeMismatchLeavesOutput(t *testing.T) {
	g := SquareGeom(4, 3, 2, 3, 1, 1, 4) // ch_in 3: not a multiple of 4
	in := make([]int8, g.InSize())
	wt := make([]int8, g.WeightSize())
	out := slices.Repeat([]int8{42}, g.OutSize())
	err := ConvolveHWCQ7Fast(Opts{}, g, in, wt, []int8{1, 2}, 0, 0, out)
	if s, ok := StatusOf(err); !ok || s != StatusSizeMismatch {
		t.Fatalf("err %v, status %v", err, s)
	}
	if slices.ContainsFunc(out, func(x int8) bool { return x != 42 }) {
		t.Error("output modified")
	}
	var ge *GeomError
	if !errors.As(err, &ge) || ge.Variant != VarConvolveHWCQ7Fast {
		t.Errorf("want *GeomError, got %T %v", err, err)
	}
	// RGB and depthwise constraints; q15 fast odd output only on DSP.
	if !errors.Is(VarConvolveHWCQ7RGB.Valid(SquareGeom(4, 4, 2, 3, 1, 1, 4), CPath), ErrSizeMismatch) {
		t.Error("RGB ch_in 4 accepted")
	}
	if !errors.Is(VarDepthwiseSeparableConvHWCQ7.Valid(SquareGeom(4, 4, 8, 3, 1, 1, 4), CPath), ErrSizeMismatch) {
		t.Error("depthwise ch_in != ch_out accepted")
	}
	g15 := SquareGeom(5, 2, 2, 3, 1, 1, 5)
	if err := VarConvolveHWCQ15Fast.Valid(g15, CPath); err != nil {
		t.Errorf("q15 fast odd output on C path: %v", err)
	}
	if !errors.Is(VarConvolveHWCQ15Fast.Valid(g15, DSPPath), ErrSizeMismatch) {
		t.Error("q15 fast odd output accepted on DSP path")
	}
	if !errors.Is(VarConvolveHWCQ15FastNonsquare.Valid(g15, DSPPath), ErrDSPUnsafe) {
		t.Error("q15 fast_nonsquare odd out_x accepted on DSP path")
	}
	if !errors.Is(VarConvolve1x1HWCQ7FastNonsquare.Valid(SquareGeom(4, 4, 2, 1, 0, 2, 2), CPath), ErrSizeMismatch) {
		t.Error("1x1 stride 2 accepted")
	}
}

func TestValidDSPUnsafe(t *testing.T) {
	std := SquareGeom(8, 4, 2, 3, 1, 1, 8)
	big := SquareGeom(8, 4, 2, 3, 1, 1, 9) // larger than the standard output
	for _, v := range []Variant{VarConvolveHWCQ7Fast, VarConvolveHWCQ7FastNonsquare} {
		if err := v.Valid(std, DSPPath); err != nil {
			t.Errorf("%s std: %v", v, err)
		}
		if !errors.Is(v.Valid(big, DSPPath), ErrDSPUnsafe) || v.Valid(big, CPath) != nil {
			t.Errorf("%s larger output: DSP %v, C %v", v, v.Valid(big, DSPPath), v.Valid(big, CPath))
		}
		if !v.TargetDependent(big) || v.TargetDependent(std) {
			t.Errorf("%s TargetDependent wrong", v)
		}
	}
	if VarConvolveHWCQ7Basic.Valid(big, DSPPath) != nil {
		t.Error("basic must accept larger outputs on DSP")
	}
	// Write-past conditions: pad_y > out_y; out_y > 2 pad_y and pad_x > out_x.
	wp1 := ConvGeom{InX: 1, InY: 1, InC: 4, OutC: 2, KX: 5, KY: 5, PadX: 2, PadY: 2, StrideX: 4, StrideY: 4, OutX: 1, OutY: 1}
	wp2 := ConvGeom{InX: 1, InY: 9, InC: 4, OutC: 2, KX: 5, KY: 3, PadX: 2, PadY: 1, StrideX: 4, StrideY: 1, OutX: 1, OutY: 9}
	for _, g := range []ConvGeom{wp1, wp2} {
		if !errors.Is(VarConvolveHWCQ7FastNonsquare.Valid(g, DSPPath), ErrDSPUnsafe) {
			t.Errorf("write-past geometry %+v accepted", g)
		}
	}
	// Square variants refuse non-square geometries.
	ns := ConvGeom{InX: 8, InY: 6, InC: 4, OutC: 2, KX: 3, KY: 3, PadX: 1, PadY: 1, StrideX: 1, StrideY: 1, OutX: 8, OutY: 6}
	if !errors.Is(VarConvolveHWCQ7Basic.Valid(ns, CPath), ErrInvalid) || VarConvolveHWCQ7BasicNonsquare.Valid(ns, CPath) != nil {
		t.Error("squareness check")
	}
	// Pooling: out > in unsafe on DSP only; avepool empty window invalid.
	pg := SquareGeom(3, 2, 2, 2, 0, 1, 4)
	if VarMaxpoolQ7HWC.Valid(pg, CPath) != nil || !errors.Is(VarMaxpoolQ7HWC.Valid(pg, DSPPath), ErrDSPUnsafe) {
		t.Error("pool out > in")
	}
	empty := SquareGeom(3, 1, 1, 1, 1, 1, 5) // k 1, pad 1: corner windows empty
	if !errors.Is(VarAvepoolQ7HWC.Valid(empty, CPath), ErrInvalid) || VarMaxpoolQ7HWC.Valid(empty, CPath) != nil {
		t.Error("empty pooling window")
	}
	if VarNNQAvgpoolQ7.Valid(empty, DSPPath) != nil {
		t.Error("nnq avepool must accept empty windows")
	}
	// 3x3 s1 p1 "same" pooling is emulated on DSP, and target dependent.
	same := SquareGeom(5, 1, 1, 3, 1, 1, 5)
	if VarMaxpoolQ7HWC.Valid(same, DSPPath) != nil || !VarMaxpoolQ7HWC.TargetDependent(same) {
		t.Error("maxpool pad >= stride")
	}
	if VarMaxpoolQ7HWC.TargetDependent(SquareGeom(6, 1, 1, 2, 0, 2, 3)) {
		t.Error("maxpool pad < stride is target independent")
	}
}

func TestMaxpoolEmptyWindow(t *testing.T) {
	g := SquareGeom(1, 1, 1, 1, 1, 1, 3) // only the centre window has data
	out := make([]int8, 9)
	if err := MaxpoolQ7HWC(Opts{}, g, []int8{-5}, out); err != nil {
		t.Fatal(err)
	}
	want := []int8{127, 127, 127, 127, -5, 127, 127, 127, 127} // library start -129 wraps to 127
	if !slices.Equal(out, want) {
		t.Errorf("CMSIS maxpool %v, want %v", out, want)
	}
	for _, ave := range []bool{false, true} {
		f := NNQMaxpool[int8]
		if ave {
			f = func(o Opts, g ConvGeom, in, out []int8) error { return NNQAvgpool(o, g, in, out, 0) }
		}
		out := make([]int8, 9)
		if err := f(Opts{}, g, []int8{-5}, out); err != nil {
			t.Fatal(err)
		}
		if want := []int8{0, 0, 0, 0, -5, 0, 0, 0, 0}; !slices.Equal(out, want) {
			t.Errorf("nnq pool ave=%v: %v, want %v", ave, out, want)
		}
	}
}

func TestAvepoolTruncation(t *testing.T) {
	// -7/2 = -3 and 7/2 = 3 (toward zero), two channels; 1x2 input, window 2.
	in := []int8{-4, 4, -3, 3}
	g := PoolGeom(2, 1, 2, 2, 1, 0, 0, 2, 1, 1, 1)
	for _, f := range []func(Opts, ConvGeom, []int8, []int8) error{func(o Opts, g ConvGeom, in, out []int8) error { return NNQAvgpool(o, g, in, out, 0) }} {
		out := make([]int8, 2)
		if err := f(Opts{}, g, in, out); err != nil {
			t.Fatal(err)
		}
		if out[0] != -3 || out[1] != 3 {
			t.Errorf("got %v, want [-3 3]", out)
		}
	}
	sq := SquareGeom(2, 1, 1, 2, 0, 2, 1)
	out := make([]int8, 1)
	if err := AvepoolQ7HWC(Opts{}, sq, []int8{-4, -3, -4, -3}, out); err != nil || out[0] != -3 {
		t.Errorf("avepool -14/4: %v %v, want -3", out, err)
	}
	in16 := []int16{-30001, 2}
	out16 := make([]int16, 1)
	g16 := PoolGeom(2, 1, 1, 2, 1, 0, 0, 2, 1, 1, 1)
	if err := NNQAvgpool(Opts{}, g16, in16, out16, 0); err != nil || out16[0] != -14999 {
		t.Errorf("q15 avepool: %v %v, want -14999", out16, err)
	}
	if err := NNQMaxpool(Opts{}, g16, in16, out16); err != nil || out16[0] != 2 {
		t.Errorf("q15 maxpool: %v %v, want 2", out16, err)
	}
}

func TestDSPPoolWorkedExamples(t *testing.T) {
	// Average, 2x2 s2 p0 on [[1,2],[3,2]]: C 8/4 = 2; DSP rows 3/2=1,
	// 5/2=2, then (1+2)/2 = 1. Im_in keeps the row-pass results in column 0.
	g := SquareGeom(2, 1, 1, 2, 0, 2, 1)
	in := []int8{1, 2, 3, 2}
	out := []int8{0}
	if err := AvepoolQ7HWC(Opts{}, g, slices.Clone(in), out); err != nil || out[0] != 2 {
		t.Errorf("C avepool %v %v", out, err)
	}
	work := slices.Clone(in)
	if err := AvepoolQ7HWC(Opts{Target: DSPPath}, g, work, out); err != nil || out[0] != 1 {
		t.Errorf("DSP avepool %v %v", out, err)
	}
	if want := []int8{1, 2, 2, 2}; !slices.Equal(work, want) {
		t.Errorf("DSP avepool Im_in %v, want %v", work, want)
	}
	// Max, 3x3 s1 p1 "same" pooling: a row [5 1 2] becomes [5 5 5] after
	// the DSP row pass (C: [5 5 2]) because column 2 starts from the already
	// overwritten column 1.
	g = SquareGeom(3, 1, 1, 3, 1, 1, 3)
	in = []int8{5, 1, 2, 5, 1, 2, 5, 1, 2}
	outC, outD := make([]int8, 9), make([]int8, 9)
	if err := MaxpoolQ7HWC(Opts{}, g, slices.Clone(in), outC); err != nil {
		t.Fatal(err)
	}
	work = slices.Clone(in)
	if err := MaxpoolQ7HWC(Opts{Target: DSPPath}, g, work, outD); err != nil {
		t.Fatal(err)
	}
	if want := []int8{5, 5, 2, 5, 5, 2, 5, 5, 2}; !slices.Equal(outC, want) {
		t.Errorf("C maxpool %v, want %v", outC, want)
	}
	if want := slices.Repeat([]int8{5}, 9); !slices.Equal(outD, want) || !slices.Equal(work, want) {
		t.Errorf("DSP maxpool %v, Im_in %v, want all 5", outD, work)
	}
}

func TestSoftmaxEdges(t *testing.T) {
	out := []int8{0}
	var lone Stats
	SoftmaxQ7(Opts{Stats: &lone}, []int8{-7}, out)
	if out[0] != 127 || lone.SatHigh != 1 { // 8192 >> 5 = 256 → 127
		t.Errorf("q7 lone element %d, %v", out[0], lone)
	}
	out = make([]int8, 4)
	var st Stats
	SoftmaxQ7(Opts{Stats: &st}, []int8{10, 9, 2, -100}, out)
	// sum = 128+128+1+1 = 258, ob = 4064; shifts 5, 6, 13, 31 (4064>>5 = 127
	// exactly: no saturation).
	if want := []int8{127, 63, 0, 0}; !slices.Equal(out, want) || st.SatHigh != 0 || st.Values != 4 {
		t.Errorf("q7 softmax %v (want %v), %v", out, want, st)
	}
	o16 := []int16{0}
	SoftmaxQ15(Opts{}, []int16{-32768}, o16)
	if o16[0] != 32767 {
		t.Errorf("q15 lone element %d", o16[0])
	}
	o16 = make([]int16, 3)
	// base = 84: 100 → 2^16, 99 → 2^15, 84 excluded → 0; ob = 2^32/98304 = 43690.
	SoftmaxQ15(Opts{}, []int16{100, 99, 84}, o16)
	if want := []int16{21845, 10922, 0}; !slices.Equal(o16, want) {
		t.Errorf("q15 softmax %v, want %v", o16, want)
	}
	b := make([]int8, 4)
	SoftmaxWithBatchQ7(Opts{}, []int8{10, 9, 3, 3}, 2, 2, b)
	if want := []int8{127, 64, 127, 127}; !slices.Equal(b, want) {
		t.Errorf("batch softmax %v, want %v", b, want)
	}
}

func TestTables(t *testing.T) {
	sq7, tq7 := TableQ7(Sigmoid), TableQ7(Tanh)
	sq15, tq15 := TableQ15(Sigmoid), TableQ15(Tanh)
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"sigmoid_q7[0]", int(sq7[0]), 64}, {"sigmoid_q7[1]", int(sq7[1]), 66},
		{"sigmoid_q7[127]", int(sq7[127]), 127}, {"sigmoid_q7[128]", int(sq7[128]), 0},
		{"tanh_q7[0]", int(tq7[0]), 0}, {"tanh_q7[127]", int(tq7[127]), 127}, {"tanh_q7[128]", int(tq7[128]), -128},
		{"tanh_q15[1]", int(tq15[1]), 2045}, {"tanh_q15[127]", int(tq15[127]), 32767},
		{"tanh_q15[128]", int(tq15[128]), -32768}, {"tanh_q15[255]", int(tq15[255]), -2045},
		{"sigmoid_q15[0]", int(sq15[0]), 16384}, {"sigmoid_q15[127]", int(sq15[127]), 32756},
		{"sigmoid_q15[255]", int(sq15[255]), 15872}, {"sigmoid_q15[128]", int(sq15[128]), 11},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestActivationsDirectEdges(t *testing.T) {
	// q15, int_width 3 (sh 8): idx 127 returns table[127] without
	// interpolation; idx -1 interpolates between table[255] and table[0].
	d := []int16{32767, 127 * 256, -128, -1, 0}
	if err := ActivationsDirectQ15(Opts{}, d, 3, Sigmoid); err != nil {
		t.Fatal(err)
	}
	// -128: (128*15872 + 128*16384) >> 8 = 16128; -1: (15872 + 255*16384) >> 8 = 16382.
	if want := []int16{32756, 32756, 16128, 16382, 16384}; !slices.Equal(d, want) {
		t.Errorf("q15 sigmoid %v, want %v", d, want)
	}
	// q7: int_width 0 shifts by 3: 127 >> 3 = 15 → t = 15/16.
	d7 := []int8{127, -128, 0}
	if err := ActivationsDirectQ7(Opts{}, d7, 0, Tanh); err != nil {
		t.Fatal(err)
	}
	tq7 := TableQ7(Tanh)
	if want := []int8{tq7[15], tq7[240], 0}; !slices.Equal(d7, want) {
		t.Errorf("q7 tanh %v, want %v", d7, want)
	}
	if err := ActivationsDirectQ7(Opts{}, d7, 4, Tanh); !errors.Is(err, ErrInvalid) {
		t.Errorf("int_width 4: %v", err)
	}
	// Any type other than sigmoid behaves as tanh.
	a, b := []int8{40}, []int8{40}
	_ = ActivationsDirectQ7(Opts{}, a, 2, ActivationType(7))
	_ = ActivationsDirectQ7(Opts{}, b, 2, Tanh)
	if a[0] != b[0] {
		t.Error("type 7 differs from tanh")
	}
}

func TestMultEdges(t *testing.T) {
	// q7: -128*-128 + 2^14 = 32768 wraps to -32768 in int16, >> 15 = -1.
	var st Stats
	out := []int8{0, 0, 0}
	if err := NNMultQ7(Opts{Stats: &st}, []int8{-128, 3, 127}, []int8{-128, 1, 127}, out, 15); err != nil {
		t.Fatal(err)
	}
	if want := []int8{-1, 0, 0}; !slices.Equal(out, want) || st.AccWraps != 1 {
		t.Errorf("mult q7 %v (want %v), %v", out, want, st)
	}
	// Rounding tie: 3*1 with shift 1 → 2 (round), 1 (truncate); saturation.
	for _, tc := range []struct {
		r    Rounding
		want []int8
	}{{RoundHalfUp, []int8{2, 127, -1}}, {Truncate, []int8{1, 127, -2}}} {
		out := make([]int8, 3)
		_ = NNMultQ7(Opts{Rounding: tc.r}, []int8{3, 127, -3}, []int8{1, 127, 1}, out, 1)
		if !slices.Equal(out, tc.want) {
			t.Errorf("mult q7 %v: %v, want %v", tc.r, out, tc.want)
		}
	}
	o16 := []int16{0, 0}
	if err := NNMultQ15(Opts{}, []int16{-32768, -32768}, []int16{-32768, 3}, o16, 15); err != nil {
		t.Fatal(err)
	}
	if want := []int16{32767, -3}; !slices.Equal(o16, want) {
		t.Errorf("mult q15 %v, want %v", o16, want)
	}
}

func TestNNQAdd(t *testing.T) {
	var st Stats
	out := make([]int8, 4)
	// (a<<1 + b<<0 + 1) >> 1: (10+3+1)>>1 = 7; (-2-1+1)>>1 = -1; saturation both ways.
	err := NNQAddQ7(Opts{Stats: &st}, []int8{5, -1, 127, -128}, []int8{3, -1, 127, -128}, out, 1, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int8{7, -1, 127, -128}; !slices.Equal(out, want) || st.SatHigh != 1 || st.SatLow != 1 || st.Values != 4 {
		t.Errorf("add q7 %v (want %v), %v", out, want, st)
	}
	_ = NNQAddQ7(Opts{Rounding: Truncate}, []int8{5, -1}, []int8{3, -1}, out[:2], 1, 0, 1)
	if want := []int8{6, -2}; !slices.Equal(out[:2], want) {
		t.Errorf("add q7 truncate %v, want %v", out[:2], want)
	}
	o16 := make([]int16, 2)
	if err := NNQAddQ15(Opts{}, []int16{1000, -32768}, []int16{1000, -32768}, o16, 4, 4, 0); err != nil {
		t.Fatal(err)
	}
	if want := []int16{32000, -32768}; !slices.Equal(o16, want) {
		t.Errorf("add q15 %v, want %v", o16, want)
	}
	if err := NNQAddQ7(Opts{}, out, out, out, 31, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("shift 31: %v", err)
	}
}

func TestInterleaveLeftovers(t *testing.T) {
	// 5 rows × 5 columns, W[r][c] = 10r+c: one row group, one 4-column block
	// (q7) or two column pairs (q15/mat), leftover column 4, leftover row 4.
	w := make([]int8, 25)
	w16 := make([]int16, 25)
	for r := 0; r < 5; r++ {
		for c := 0; c < 5; c++ {
			w[r*5+c], w16[r*5+c] = int8(10*r+c), int16(10*r+c)
		}
	}
	tail := []int{4, 14, 24, 34, 40, 41, 42, 43, 44}
	wantQ7 := append([]int{0, 10, 2, 12, 20, 30, 22, 32, 1, 11, 3, 13, 21, 31, 23, 33}, tail...)
	wantQ15 := append([]int{0, 1, 10, 11, 20, 21, 30, 31, 2, 3, 12, 13, 22, 23, 32, 33}, tail...)
	wantMat := append([]int{0, 10, 1, 11, 20, 30, 21, 31, 2, 12, 3, 13, 22, 32, 23, 33}, tail...)
	if got := tvInts(InterleaveQ7Opt(w, 5, 5)); !slices.Equal(got, wantQ7) {
		t.Errorf("q7_opt %v", got)
	}
	if got := tvInts(InterleaveQ15Opt(w16, 5, 5)); !slices.Equal(got, wantQ15) {
		t.Errorf("q15_opt %v", got)
	}
	if got := tvInts(InterleaveMatQ7VecQ15Opt(w, 5, 5)); !slices.Equal(got, wantMat) {
		t.Errorf("mat_q7_vec_q15_opt %v", got)
	}
	// Fewer than 4 rows: unchanged.
	if got := InterleaveQ7Opt(w[:15], 3, 5); !slices.Equal(got, w[:15]) {
		t.Errorf("3 rows changed: %v", got)
	}
}

func TestCoreByName(t *testing.T) {
	for name, want := range map[string]Core{"host": {"host", CPath}, "cortex-m0": {"cortex-m0", CPath}, " M3": {"cortex-m3", CPath},
		"cortex-m4": {"cortex-m4", DSPPath}, "M7": {"cortex-m7", DSPPath}, "Cortex-M33": {"cortex-m33", DSPPath}} {
		if got, err := CoreByName(name); err != nil || got != want {
			t.Errorf("%q: %v %v", name, got, err)
		}
	}
	for _, bad := range []string{"cortex-a53", "cortex-m55", "m", ""} {
		_, err := CoreByName(bad)
		if err == nil || !strings.Contains(err.Error(), strings.Join(CoreNames(), ", ")) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if n := CoreNames(); len(n) != len(Cores()) || n[0] != "host" {
		t.Errorf("names %v", n)
	}
}

func TestVariantNames(t *testing.T) {
	for _, v := range Variants() {
		p, ok := ParseVariant(v.String())
		if !ok || p != v || v.Kind() == KindInvalid {
			t.Errorf("%d %s", int(v), v)
		}
	}
	if VarConvolveHWCQ7Fast.String() != "arm_convolve_HWC_q7_fast" || VarNNQAddQ15.String() != "nnq_add_q15" {
		t.Error("names")
	}
}
