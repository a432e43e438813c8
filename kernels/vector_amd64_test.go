package kernels

import (
	"slices"
	"testing"
)

// TestQ7VectorPathsEqualScalar runs the q7 convolution and depthwise
// convolution with the AVX2 paths and again with them switched off, on
// random geometries (channel and tap counts around the 16-lane blocks,
// padding, strides), extreme and random data, bias and output shifts that
// saturate both ways and (uninstrumented) fused ReLU bounds: outputs and
// every Stats counter must be identical.
func TestQ7VectorPathsEqualScalar(t *testing.T) {
	if !haveIntSIMD {
		t.Skip("no AVX2 on this machine: the vector paths do not run")
	}
	defer func(v bool) { haveIntSIMD = v }(haveIntSIMD)
	r := ptRand(31)
	for i := 0; i < 300; i++ {
		g := ConvGeom{InY: 1 + r.IntN(6), InX: 1 + r.IntN(6), InC: 1 + r.IntN(70), OutC: 1 + r.IntN(40),
			KY: 1 + r.IntN(3), KX: 1 + r.IntN(3), StrideY: 1 + r.IntN(2), StrideX: 1 + r.IntN(2)}
		g.PadY, g.PadX = r.IntN(g.KY), r.IntN(g.KX)
		g.OutY, g.OutX = (g.InY+2*g.PadY-g.KY)/g.StrideY+1, (g.InX+2*g.PadX-g.KX)/g.StrideX+1
		if g.OutY < 1 || g.OutX < 1 {
			continue
		}
		dw := i%2 == 1
		if dw {
			g.OutC = g.InC
		}
		lo, hi := int32(q7Min), int32(q7Max)
		instrumented := i%3 != 0
		if !instrumented && i%4 == 0 {
			lo = 0 // a fused ReLU
		}
		in := ptSlice[int8](r, g.InSize(), -128, 127)
		nw := g.WeightSize()
		if dw {
			nw = g.DepthwiseWeightSize()
		}
		wt := ptSlice[int8](r, nw, -128, 127)
		if i%5 == 0 { // the largest sums
			for j := range in {
				in[j] = -128
			}
			for j := range wt {
				wt[j] = -128
			}
		}
		bias := ptSlice[int8](r, g.OutC, -128, 127)
		bs, os := r.IntN(10), r.IntN(12)
		if i%7 == 0 {
			bs = 20 + r.IntN(12) // biases that may wrap: the scalar bookkeeping
		}
		run := func(vector bool) ([]int8, Stats) {
			haveIntSIMD = vector
			out := make([]int8, g.OutSize())
			var st Stats
			o := &Opts{}
			if instrumented {
				o.Stats = &st
			}
			if dw {
				depthwiseCore(o, g, in, wt, bias, bs, os, out, lo, hi)
			} else {
				convCoreQ7(o, g, in, wt, bias, bs, os, out, lo, hi)
			}
			return out, st
		}
		got, gst := run(true)
		want, wst := run(false)
		if !slices.Equal(got, want) || gst != wst {
			t.Fatalf("case %d (%+v, depthwise %v, bs %d, os %d, [%d,%d], instrumented %v): vector %v %+v, scalar %v %+v",
				i, g, dw, bs, os, lo, hi, instrumented, got, gst, want, wst)
		}
	}
}
