package crt

import (
	"fmt"
	"testing"
)

// Hand-computed unit tests of nnq's own pooling and add kernels
// (nnq_kernels.h) and of the ARM_NN_TRUNCATE switch; nnq_kernels_test.go
// checks every nnq kernel against its Go twin on random shapes.

type unitCase struct {
	name string
	c    dCase
	// expected content after the call of each array (nil = unchanged input)
	want [][]int64
	// expected status: "" for a void function, else the arm_status value
	status string
}

// pool builds a nnq_maxpool/avgpool case; geometry order is the
// nnq_conv_params order in_x in_y ch k_x k_y pad_x pad_y stride_x stride_y
// out_x out_y, then the average's shift.
func pool(fn string, bits int, in []int64, g [11]int64, want []int64, shift ...int64) dCase {
	n := int(g[9] * g[10] * g[2])
	if len(want) != n {
		panic(fmt.Sprintf("%s: want has %d values, output %d", fn, len(want), n))
	}
	a := dArray{bits: bits, mode: modeIn, data: in}
	o := dArray{bits: bits, mode: modeOut, n: n}
	sc := append(append([]int64{}, g[:]...), 0)
	if len(shift) > 0 {
		sc[11] = shift[0]
	}
	return dCase{fn: fn, scalars: sc, arrays: []dArray{a, o}}
}

// add builds a nnq_add_q7/q15 case; alias: 0 none, 1 out=a, 2 out=b.
func add(fn string, bits int, a, b []int64, aShift, bShift, outShift, alias int64) dCase {
	return dCase{fn: fn, scalars: []int64{int64(len(a)), aShift, bShift, outShift, alias},
		arrays: []dArray{{bits: bits, mode: modeIn, data: a}, {bits: bits, mode: modeIn, data: b}, {bits: bits, mode: modeOut, n: len(a)}}}
}

// wideWindow is a 256x257 image of two q15 channels: 328 pixels of
// (100, -100), the rest 0.
func wideWindow() []int64 {
	v := make([]int64, 2*256*257)
	for i := 0; i < 328; i++ {
		p := (i * 199) % (256 * 257) // spread over the window
		v[2*p], v[2*p+1] = 100, -100
	}
	return v
}

func fills(bits, n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = fillValue(bits)
	}
	return v
}

func nnqKernelCases() []unitCase {
	// 3 wide x 2 high x 2 channels; pixel (y,x) = (c0, c1).
	// (0,0)=(1,-1) (0,1)=(2,-2) (0,2)=(3,-3) / (1,0)=(4,-4) (1,1)=(5,-5) (1,2)=(-7,7)
	in7a := []int64{1, -1, 2, -2, 3, -3, 4, -4, 5, -5, -7, 7}
	// k 2x2, pad_x 1, pad_y 0, stride 2x1, out 2x1: windows cols {0} and {1,2}, rows {0,1}.
	geoA := [11]int64{3, 2, 2, 2, 2, 1, 0, 2, 1, 2, 1}
	// q15 variant with non-exact divisions.
	in15a := []int64{1000, -1000, 2000, -2000, 3000, -3000, 4000, -4000, 5000, -5000, -7001, 7001}
	// Empty window: stride 3 over a 2-wide row; ox=1 starts at column 3.
	geoB := [11]int64{2, 1, 1, 1, 1, 0, 0, 3, 1, 2, 1}
	// Padding-only windows on both sides of a single pixel.
	geoC := [11]int64{1, 1, 1, 1, 1, 1, 0, 1, 1, 3, 1}
	// Taller window with vertical padding, non-square kernel 1x3, out 1x2.
	// Column of 3 pixels: -1, -2, -4; windows rows {-1,0,1} and {1,2,3}.
	geoD := [11]int64{1, 3, 1, 1, 3, 0, 1, 1, 2, 1, 2}

	return []unitCase{
		// (0,0): c0 (1+4)/2=2, c1 (-1-4)/2=-2 (toward zero, floor would be -3);
		// (0,1): c0 (2+3+5-7)/4=0, c1 (-2-3-5+7)/4=0 (floor would be -1).
		{"avepool_q7 asymmetric", pool("nnq_avgpool_q7", 7, in7a, geoA, []int64{2, -2, 0, 0}), [][]int64{in7a, {2, -2, 0, 0}}, ""},
		{"maxpool_q7 asymmetric", pool("nnq_maxpool_q7", 7, in7a, geoA, []int64{4, -1, 5, 7}), [][]int64{in7a, {4, -1, 5, 7}}, ""},
		// c0: 5000/2=2500, 2999/4=749; c1: -2500, -2999/4=-749 (floor would be -750).
		{"avepool_q15 asymmetric", pool("nnq_avgpool_q15", 15, in15a, geoA, []int64{2500, -2500, 749, -749}), [][]int64{in15a, {2500, -2500, 749, -749}}, ""},
		{"maxpool_q15 asymmetric", pool("nnq_maxpool_q15", 15, in15a, geoA, []int64{4000, -1000, 5000, 7001}), [][]int64{in15a, {4000, -1000, 5000, 7001}}, ""},
		{"avepool_q7 empty window", pool("nnq_avgpool_q7", 7, []int64{5, -6}, geoB, []int64{5, 0}), [][]int64{nil, {5, 0}}, ""},
		{"maxpool_q7 empty window", pool("nnq_maxpool_q7", 7, []int64{-5, -6}, geoB, []int64{-5, 0}), [][]int64{nil, {-5, 0}}, ""},
		{"avepool_q7 padding only", pool("nnq_avgpool_q7", 7, []int64{-6}, geoC, []int64{0, -6, 0}), [][]int64{nil, {0, -6, 0}}, ""},
		{"maxpool_q7 padding only", pool("nnq_maxpool_q7", 7, []int64{-6}, geoC, []int64{0, -6, 0}), [][]int64{nil, {0, -6, 0}}, ""},
		{"maxpool_q15 empty window", pool("nnq_maxpool_q15", 15, []int64{-32768, -32767}, geoB, []int64{-32768, 0}), [][]int64{nil, {-32768, 0}}, ""},
		{"avepool_q15 empty window", pool("nnq_avgpool_q15", 15, []int64{-3, 9}, geoB, []int64{-3, 0}), [][]int64{nil, {-3, 0}}, ""},
		// rows {0,1}: (-1-2)/2=-1; rows {1,2}: (-2-4)/2=-3; max -1, -2.
		{"avepool_q7 vertical padding", pool("nnq_avgpool_q7", 7, []int64{-1, -2, -4}, geoD, []int64{-1, -3}), [][]int64{nil, {-1, -3}}, ""},
		{"maxpool_q7 vertical padding", pool("nnq_maxpool_q7", 7, []int64{-1, -2, -4}, geoD, []int64{-1, -2}), [][]int64{nil, {-1, -2}}, ""},
		{"maxpool_q7 minimum values", pool("nnq_maxpool_q7", 7, []int64{-128, -128}, [11]int64{2, 1, 1, 2, 1, 0, 0, 1, 1, 1, 1}, []int64{-128}), [][]int64{nil, {-128}}, ""},
		{"avepool_q7 full-range sum", pool("nnq_avgpool_q7", 7, []int64{-128, -128, -128, 127}, [11]int64{4, 1, 1, 4, 1, 0, 0, 1, 1, 1, 1}, []int64{-64}), [][]int64{nil, {-64}}, ""},
		// The average's left shift: (sum << k) / count, truncating, saturating.
		// rows {0,1} of c0: 5 << 2 = 20 / 2 = 10, c1: -5 << 2 / 2 = -10;
		// the second window: (2+3+5-7) << 2 = 12 / 4 = 3, (-2-3-5+7) << 2 = -12 / 4 = -3.
		{"avgpool_q7 shift 2", pool("nnq_avgpool_q7", 7, in7a, geoA, []int64{10, -10, 3, -3}, 2), [][]int64{in7a, {10, -10, 3, -3}}, ""},
		// c0: (3+2+2) << 3 = 56 / 3 = 18 (toward zero); c1: -384 << 3 / 3 saturates.
		{"avgpool_q7 shift saturates", pool("nnq_avgpool_q7", 7, []int64{3, -128, 2, -128, 2, -128}, [11]int64{3, 1, 2, 3, 1, 0, 0, 1, 1, 1, 1}, []int64{18, -128}, 3),
			[][]int64{nil, {18, -128}}, ""},
		{"avgpool_q15 shift 1", pool("nnq_avgpool_q15", 15, in15a, geoA, []int64{5000, -5000, 1499, -1499}, 1), [][]int64{in15a, {5000, -5000, 1499, -1499}}, ""},
		// 5*32/2 = 80, -5*32/2 = -80, 3*32/4 = 24, -3*32/4 = -24.
		{"avgpool_q7 shift 5", pool("nnq_avgpool_q7", 7, in7a, geoA, []int64{80, -80, 24, -24}, 5), [][]int64{nil, {80, -80, 24, -24}}, ""},
		// Saturation: 5*64/2 = 160 -> 127, -160 -> -128; -3*64/4 = -48.
		{"avgpool_q7 shift 6 saturates", pool("nnq_avgpool_q7", 7, in7a, geoA, []int64{127, -128, 48, -48}, 6), [][]int64{nil, {127, -128, 48, -48}}, ""},
		// Truncation toward zero after the shift: (-1-2)*2/2 = -3, (-2-4)*2/2 = -6; a
		// 3-row window over -1,-2,-4 (pad 1 both ends) ...
		{"avgpool_q7 shift 1 vertical", pool("nnq_avgpool_q7", 7, []int64{-1, -2, -4}, geoD, []int64{-3, -6}, 1), [][]int64{nil, {-3, -6}}, ""},
		// -7*2/3 = -4 (toward zero; floor would be -5).
		{"avgpool_q7 shift truncates", pool("nnq_avgpool_q7", 7, []int64{-1, -2, -4}, [11]int64{1, 3, 1, 1, 3, 0, 0, 1, 1, 1, 1}, []int64{-4}, 1), [][]int64{nil, {-4}}, ""},
		{"avgpool_q7 empty window shifted", pool("nnq_avgpool_q7", 7, []int64{5, -6}, geoB, []int64{40, 0}, 3), [][]int64{nil, {40, 0}}, ""},
		// q15: c0 5000*8/2 = 20000, 2999*8/4 = 5998; c1 -20000, -5998; shift 4 saturates.
		{"avgpool_q15 shift 3", pool("nnq_avgpool_q15", 15, in15a, geoA, []int64{20000, -20000, 5998, -5998}, 3), [][]int64{nil, {20000, -20000, 5998, -5998}}, ""},
		{"avgpool_q15 shift saturates", pool("nnq_avgpool_q15", 15, in15a, geoA, []int64{32767, -32768, 11996, -11996}, 4), [][]int64{nil, {32767, -32768, 11996, -11996}}, ""},
		// 4 * 32767 * 2^16 needs 64 bits (an int32 product would wrap negative).
		{"avgpool_q15 shift 16 wide sum", pool("nnq_avgpool_q15", 15, []int64{32767, 32767, 32767, 32767}, [11]int64{4, 1, 1, 4, 1, 0, 0, 1, 1, 1, 1}, []int64{32767}, 16), [][]int64{nil, {32767}}, ""},
		// A wide sum that does not saturate: 328 positions of 100 (and -100)
		// in a 256x257 window: 32800 * 2^16 overflows int32, the quotient
		// 32800 * 65536 / 65792 = 32672.4 truncates to 32672 (-32672).
		{"avgpool_q15 shift 16 wide sum exact", pool("nnq_avgpool_q15", 15, wideWindow(), [11]int64{256, 257, 2, 256, 257, 0, 0, 1, 1, 1, 1}, []int64{32672, -32672}, 16), [][]int64{nil, {32672, -32672}}, ""},

		// out_shift 1, R=1: (100+100+1)>>1=100, (-200+1)>>1=-100, (3+1)>>1=2,
		// (-3+1)>>1=-1, (1+1)>>1=1, (254+1)>>1=127.
		{"add_q7 rounding", add("nnq_add_q7", 7, []int64{100, -100, 3, -3, 1, 127}, []int64{100, -100, 0, 0, 0, 127}, 0, 0, 1, 0),
			[][]int64{nil, nil, {100, -100, 2, -1, 1, 127}}, ""},
		{"add_q7 saturation", add("nnq_add_q7", 7, []int64{100, -100, 127, -128}, []int64{100, -100, 1, -1}, 0, 0, 0, 0),
			[][]int64{nil, nil, {127, -128, 127, -128}}, ""},
		// (5<<2)+(3<<1)+4=30 >>3 = 3; -20-14+4=-30 >>3 = -4 (floor).
		{"add_q7 shifts", add("nnq_add_q7", 7, []int64{5, -5}, []int64{3, -7}, 2, 1, 3, 0),
			[][]int64{nil, nil, {3, -4}}, ""},
		{"add_q7 out aliases a", add("nnq_add_q7", 7, []int64{100, -100, 127, -128}, []int64{100, -100, 1, -1}, 0, 0, 0, 1),
			[][]int64{{127, -128, 127, -128}, {100, -100, 1, -1}, fills(7, 4)}, ""},
		{"add_q7 out aliases b", add("nnq_add_q7", 7, []int64{5, -5}, []int64{3, -7}, 2, 1, 3, 2),
			[][]int64{{5, -5}, {3, -4}, fills(7, 2)}, ""},
		{"add_q15 saturation", add("nnq_add_q15", 15, []int64{30000, -30000, 5}, []int64{30000, -30000, -6}, 0, 0, 0, 0),
			[][]int64{nil, nil, {32767, -32768, -1}}, ""},
		// (1<<16) + 2^15 = 98304 >> 16 = 1; (-1<<16) + 2^15 >> 16 = -1 (floor of -0.5).
		{"add_q15 large shifts", add("nnq_add_q15", 15, []int64{1, -1}, []int64{0, 0}, 16, 0, 16, 0),
			[][]int64{nil, nil, {1, -1}}, ""},
		// 1<<31 wraps to -2^31 in int32 -> saturates low.
		{"add_q15 int32 wrap", add("nnq_add_q15", 15, []int64{1}, []int64{0}, 31, 0, 0, 0),
			[][]int64{nil, nil, {-32768}}, ""},
		{"add_q15 out aliases a", add("nnq_add_q15", 15, []int64{30000, 7}, []int64{30000, -8}, 0, 0, 0, 1),
			[][]int64{{32767, -1}, {30000, -8}, fills(15, 2)}, ""},
	}
}

func runUnitCases(t *testing.T, flavour string, cases []unitCase) {
	exe := driver(t, flavour)
	dc := make([]dCase, len(cases))
	for i, c := range cases {
		dc[i] = c.c
	}
	res := runDriver(t, exe, dc)
	for i, c := range cases {
		wantStatus := c.status
		if wantStatus == "" {
			wantStatus = "v"
		}
		if res[i].status != wantStatus {
			t.Errorf("%s [%s]: status %s, want %s", c.name, flavour, res[i].status, wantStatus)
		}
		for j, w := range c.want {
			if w == nil {
				w = c.c.arrays[j].data // const input: unchanged
			}
			if !equalInts(res[i].arrays[j], w) {
				t.Errorf("%s [%s]: array %d = %v, want %v", c.name, flavour, j, res[i].arrays[j], w)
			}
		}
	}
}

func TestNNQKernels(t *testing.T) {
	t.Parallel()
	runUnitCases(t, "c", nnqKernelCases())
}

func TestNNQKernelsDSPBuild(t *testing.T) {
	// nnq's kernels compute the same on every target: the legacy DSP
	// semantics switch does not touch them, and their SIMD paths (emulated
	// on the host) give the C results.
	t.Parallel()
	runUnitCases(t, "dsp", nnqKernelCases())
	runUnitCases(t, "emu", nnqKernelCases())
}

func TestNNQKernelsSanitized(t *testing.T) {
	if testing.Short() {
		t.Skip("sanitizer build skipped in -short mode")
	}
	t.Parallel()
	runUnitCases(t, "c-san", nnqKernelCases())
	runUnitCases(t, "emu-san", nnqKernelCases())
}

// TestTruncate checks ARM_NN_TRUNCATE (R = 0) against the default rounding.
func TestTruncate(t *testing.T) {
	t.Parallel()
	fc := func() dCase {
		// out[r] = (bias<<0 + R + 1*W[r][0]) >> 1 with W = {3, -3}.
		return dCase{fn: "arm_fully_connected_q7", scalars: []int64{1, 2, 0, 1},
			arrays: []dArray{in7(1), in7(3, -3), in7(0, 0), out7(2), {bits: 15, mode: modeScratch, n: 1}}}
	}
	// A -3 status leaves the output untouched (q7 _fast needs ch_im_in % 4 == 0).
	reject := dCase{fn: "arm_convolve_HWC_q7_fast", scalars: []int64{1, 3, 2, 1, 0, 1, 0, 0, 1},
		arrays: []dArray{in7(1, 2, 3), in7(1, 1, 1, 1, 1, 1), in7(0, 0), out7(2), {bits: 15, mode: modeScratch, n: 12}, {bits: 7, mode: modeNull}}}
	mult := dCase{fn: "arm_nn_mult_q7", scalars: []int64{1, 2},
		arrays: []dArray{in7(3, -3), in7(1, 1), out7(2)}}
	mult15 := dCase{fn: "arm_nn_mult_q15", scalars: []int64{2, 2},
		arrays: []dArray{in15(6, -6), in15(1, 1), out15(2)}}
	addc := add("nnq_add_q7", 7, []int64{100, -100, 3, -3, 1, 127}, []int64{100, -100, 0, 0, 0, 127}, 0, 0, 1, 0)
	conv := dCase{fn: "arm_convolve_HWC_q15_basic", scalars: []int64{1, 1, 1, 1, 0, 1, 0, 2, 1},
		arrays: []dArray{in15(-6), in15(1), in15(0), out15(1), {bits: 15, mode: modeScratch, n: 1}, {bits: 7, mode: modeNull}}}

	rounding := []unitCase{
		{"fc_q7 round", fc(), [][]int64{nil, nil, nil, {2, -1}}, "0"},
		{"mult_q7 round", mult, [][]int64{nil, nil, {2, -1}}, ""},
		{"mult_q15 round", mult15, [][]int64{nil, nil, {2, -1}}, ""}, // (6+2)>>2=2, (-6+2)>>2=-1
		{"add_q7 round", addc, [][]int64{nil, nil, {100, -100, 2, -1, 1, 127}}, ""},
		{"conv_q7_fast reject", reject, [][]int64{nil, nil, nil, fills(7, 2)}, "-3"},
		{"conv_q15 round", conv, [][]int64{nil, nil, nil, {-1}}, "0"}, // (-6+2)>>2 = -1
	}
	truncating := []unitCase{
		{"fc_q7 trunc", fc(), [][]int64{nil, nil, nil, {1, -2}}, "0"},
		{"mult_q7 trunc", mult, [][]int64{nil, nil, {1, -2}}, ""},
		{"mult_q15 trunc", mult15, [][]int64{nil, nil, {1, -2}}, ""},
		{"add_q7 trunc", addc, [][]int64{nil, nil, {100, -100, 1, -2, 0, 127}}, ""},
		{"conv_q15 trunc", conv, [][]int64{nil, nil, nil, {-2}}, "0"},
	}
	runUnitCases(t, "c", rounding)
	runUnitCases(t, "truncate", truncating)
}
