package kernels

import (
	"slices"
	"testing"
)

// TestNNQReLUFusedEqualsReLUAfter: nnq's conv and depthwise kernels with
// a ReLU give max(0, the kernel without it) whether the ReLU is the lower
// saturation bound (no counters) or a pass after the kernel (counters:
// they count only what the word cannot hold), for q7 and q15.
func TestNNQReLUFusedEqualsReLUAfter(t *testing.T) {
	r := ptRand(23)
	geoms := []ConvGeom{
		{InY: 5, InX: 7, InC: 3, OutC: 5, KY: 3, KX: 3, PadY: 1, PadX: 1, StrideY: 1, StrideX: 2, OutY: 5, OutX: 4},
		{InY: 4, InX: 4, InC: 8, OutC: 8, KY: 3, KX: 3, PadY: 1, PadX: 1, StrideY: 1, StrideX: 1, OutY: 4, OutX: 4},
		{InY: 25, InX: 5, InC: 16, OutC: 16, KY: 1, KX: 1, StrideY: 1, StrideX: 1, OutY: 25, OutX: 5},
	}
	check := func(name string, run func(o Opts, relu bool) ([]int64, Stats)) {
		plain, s0 := run(Opts{Stats: &Stats{}}, false)
		want := make([]int64, len(plain))
		for i, v := range plain {
			want[i] = max(v, 0)
		}
		fused, _ := run(Opts{}, true)
		var st Stats
		after, s1 := run(Opts{Stats: &st}, true)
		if !slices.Equal(fused, want) || !slices.Equal(after, want) {
			t.Errorf("%s: ReLU fused %v / after %v, want %v", name, fused, after, want)
		}
		if s0 != s1 {
			t.Errorf("%s: counters with ReLU %+v, without %+v", name, s1, s0)
		}
	}
	for gi, g := range geoms {
		dw := g
		dw.OutC = dw.InC
		for _, bs := range []int{0, 4} {
			in7, wt7 := ptSlice[int8](r, g.InSize(), -128, 127), ptSlice[int8](r, g.WeightSize(), -128, 127)
			b7 := ptSlice[int8](r, g.OutC, -128, 127)
			check("q7 conv", func(o Opts, relu bool) ([]int64, Stats) {
				var st Stats
				if o.Stats != nil {
					o.Stats = &st
				}
				out := make([]int8, g.OutSize())
				if err := NNQConv(o, g, in7, wt7, b7, bs, 7, relu, out); err != nil {
					t.Fatal(gi, err)
				}
				return reluInts(out), st
			})
			dwIn, dwW := ptSlice[int8](r, dw.InSize(), -128, 127), ptSlice[int8](r, dw.KY*dw.KX*dw.InC, -128, 127)
			dwB := ptSlice[int8](r, dw.OutC, -128, 127)
			check("q7 depthwise", func(o Opts, relu bool) ([]int64, Stats) {
				var st Stats
				if o.Stats != nil {
					o.Stats = &st
				}
				out := make([]int8, dw.OutSize())
				if err := NNQDWConv(o, dw, dwIn, dwW, dwB, bs, 5, relu, out); err != nil {
					t.Fatal(gi, err)
				}
				return reluInts(out), st
			})
			in15, wt15 := ptSlice[int16](r, g.InSize(), -32768, 32767), ptSlice[int16](r, g.WeightSize(), -32768, 32767)
			b15 := ptSlice[int16](r, g.OutC, -32768, 32767)
			check("q15 conv", func(o Opts, relu bool) ([]int64, Stats) {
				var st Stats
				if o.Stats != nil {
					o.Stats = &st
				}
				out := make([]int16, g.OutSize())
				if err := NNQConv(o, g, in15, wt15, b15, bs, 20, relu, out); err != nil {
					t.Fatal(gi, err)
				}
				return reluInts(out), st
			})
		}
	}
}

func reluInts[T qint](x []T) []int64 {
	r := make([]int64, len(x))
	for i, v := range x {
		r[i] = int64(v)
	}
	return r
}
