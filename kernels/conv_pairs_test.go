package kernels

import (
	"slices"
	"testing"
)

// TestConvPairsEqualsOnePixelLoop checks the two-pixel q7 conv against the
// one-pixel loop (and the textbook reference) on odd and even pixel
// counts, padded windows, the largest column (convColMax taps) and the
// extreme words, where the packed sums are largest: outputs and every
// kernel counter must be identical.
func TestConvPairsEqualsOnePixelLoop(t *testing.T) {
	r := ptRand(17)
	geoms := []ConvGeom{
		{InY: 5, InX: 5, InC: 4, OutC: 6, KY: 3, KX: 3, PadY: 1, PadX: 1, StrideY: 1, StrideX: 1, OutY: 5, OutX: 5}, // 25 pixels (odd), padding
		{InY: 25, InX: 5, InC: 64, OutC: 64, KY: 1, KX: 1, StrideY: 1, StrideX: 1, OutY: 25, OutX: 5},               // KWS 1x1
		{InY: 1, InX: 1, InC: 2048, OutC: 5, KY: 1, KX: 1, StrideY: 1, StrideX: 1, OutY: 1, OutX: 1},                // one pixel, convColMax taps
		{InY: 2, InX: 16, InC: 128, OutC: 3, KY: 1, KX: 16, StrideY: 1, StrideX: 1, OutY: 2, OutX: 1},               // 2048 taps, two pixels
		{InY: 9, InX: 7, InC: 3, OutC: 7, KY: 4, KX: 3, PadY: 2, PadX: 1, StrideY: 2, StrideX: 2, OutY: 5, OutX: 4}, // strides, odd OutC
		{InY: 3, InX: 6, InC: 17, OutC: 9, KY: 1, KX: 1, StrideY: 1, StrideX: 1, OutY: 3, OutX: 6},                  // 17 taps: one vector block and a tap left over
		{InY: 4, InX: 4, InC: 15, OutC: 4, KY: 1, KX: 1, StrideY: 1, StrideX: 1, OutY: 4, OutX: 4},                  // 15 taps: below one vector block
	}
	for _, g := range geoms {
		for _, fill := range []string{"random", "min", "minmax"} {
			in := ptSlice[int8](r, g.InSize(), -128, 127)
			wt := ptSlice[int8](r, g.WeightSize(), -128, 127)
			bias := ptSlice[int8](r, g.OutC, -128, 127)
			switch fill {
			case "min": // every product +16384: the largest positive sums
				for i := range in {
					in[i] = -128
				}
				for i := range wt {
					wt[i] = -128
				}
			case "minmax": // every product -16256: the largest negative sums
				for i := range in {
					in[i] = -128
				}
				for i := range wt {
					wt[i] = 127
				}
			}
			for _, bs := range []int{0, 7} {
				os := 9
				var s1, s2 Stats
				got, want := make([]int8, g.OutSize()), make([]int8, g.OutSize())
				convCoreQ7(&Opts{Stats: &s1}, g, in, wt, bias, bs, os, got, q7Min, q7Max)
				convCoreOne(&Opts{Stats: &s2}, g, in, wt, bias, bs, os, want, q7Min, q7Max)
				if !slices.Equal(got, want) || s1 != s2 {
					t.Fatalf("%+v %s bs=%d: pairs differ from the one-pixel loop (stats %+v vs %+v)", g, fill, bs, s1, s2)
				}
				ref := ptConvRef(g, in, wt, bias, bs, os, RoundHalfUp, false, q7Min, q7Max)
				if !slices.Equal(tvInts(got), ptInts(ref)) {
					t.Fatalf("%+v %s: differs from the reference", g, fill)
				}
				fast := make([]int8, g.OutSize())
				convCoreQ7(&Opts{}, g, in, wt, bias, bs, os, fast, q7Min, q7Max)
				if !slices.Equal(fast, got) {
					t.Fatalf("%+v %s: the uninstrumented path differs", g, fill)
				}
			}
		}
	}
}
