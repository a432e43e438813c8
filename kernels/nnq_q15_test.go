package kernels

import (
	"math/rand"
	"testing"
)

// The q15 nnq kernels must compute exactly what a naive loop with the
// legacy requantisation rule computes.
func TestNNQQ15ConvAndDepthwise(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for it := 0; it < 200; it++ {
		g := ConvGeom{InX: 1 + r.Intn(6), InY: 1 + r.Intn(6), InC: 1 + r.Intn(5), KX: 1 + r.Intn(3), KY: 1 + r.Intn(3),
			StrideX: 1 + r.Intn(2), StrideY: 1 + r.Intn(2)}
		g.PadX, g.PadY = r.Intn(g.KX), r.Intn(g.KY)
		g.OutX, g.OutY = g.StdOut()
		if g.OutX < 1 || g.OutY < 1 {
			continue
		}
		g.OutY += r.Intn(2) // larger-than-standard output acts as extra padding
		dw := it%2 == 1
		g.OutC = 1 + r.Intn(4)
		if dw {
			g.OutC = g.InC
		}
		in := make([]int16, g.InSize())
		for i := range in {
			in[i] = int16(r.Intn(65536) - 32768)
		}
		nw := g.WeightSize()
		if dw {
			nw = g.DepthwiseWeightSize()
		}
		wt := make([]int16, nw)
		for i := range wt {
			wt[i] = int16(r.Intn(2048) - 1024)
		}
		bias := make([]int16, g.OutC)
		for i := range bias {
			bias[i] = int16(r.Intn(65536) - 32768)
		}
		bs, os := r.Intn(8), 5+r.Intn(12)
		got := make([]int16, g.OutSize())
		var err error
		if dw {
			err = NNQDepthwiseConvHWCQ15Nonsquare(Opts{}, g, in, wt, bias, bs, os, got)
		} else {
			err = NNQConvolveHWCQ15BasicNonsquare(Opts{}, g, in, wt, bias, bs, os, got)
		}
		if err != nil {
			t.Fatalf("%+v: %v", g, err)
		}
		for oy := 0; oy < g.OutY; oy++ {
			for ox := 0; ox < g.OutX; ox++ {
				for o := 0; o < g.OutC; o++ {
					acc := int32(bias[o])<<bs + int32(1<<os>>1)
					for ky := 0; ky < g.KY; ky++ {
						for kx := 0; kx < g.KX; kx++ {
							iy, ix := oy*g.StrideY-g.PadY+ky, ox*g.StrideX-g.PadX+kx
							if iy < 0 || iy >= g.InY || ix < 0 || ix >= g.InX {
								continue
							}
							if dw {
								acc += int32(in[(iy*g.InX+ix)*g.InC+o]) * int32(wt[(ky*g.KX+kx)*g.InC+o])
								continue
							}
							for c := 0; c < g.InC; c++ {
								acc += int32(in[(iy*g.InX+ix)*g.InC+c]) * int32(wt[((o*g.KY+ky)*g.KX+kx)*g.InC+c])
							}
						}
					}
					want := min(max(acc>>os, -32768), 32767)
					if g := got[(oy*g.OutX+ox)*g.OutC+o]; int32(g) != want {
						t.Fatalf("it %d dw=%v out(%d,%d,%d) = %d, want %d", it, dw, oy, ox, o, g, want)
					}
				}
			}
		}
	}
	if err := VarNNQDepthwiseConvHWCQ15Nonsquare.Valid(ConvGeom{InX: 2, InY: 2, InC: 2, OutC: 3, KX: 1, KY: 1, StrideX: 1, StrideY: 1, OutX: 2, OutY: 2}, DSPPath); err == nil {
		t.Fatal("depthwise with ch_in != ch_out must be invalid")
	}
}
