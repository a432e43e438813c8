package kernels

import (
	"math/rand"
	"testing"
)

// Float twins on the DS-CNN shapes (the calibration and evaluation float
// pass): go test ./kernels -run '^$' -bench FloatKWS
func bkWindow(g ConvGeom) Window2D {
	return Window2D{InH: g.InY, InW: g.InX, InC: g.InC, OutH: g.OutY, OutW: g.OutX, OutC: g.OutC, KH: g.KY, KW: g.KX,
		SH: g.StrideY, SW: g.StrideX, PadT: g.PadY, PadL: g.PadX}
}

func bkFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func BenchmarkConvFloatKWS(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, c := range []struct {
		name string
		g    ConvGeom
		dw   bool
	}{{"conv1", bkConv1, false}, {"pw", bkPW, false}, {"dw", bkDW, true}} {
		w := bkWindow(c.g)
		nw := c.g.WeightSize()
		if c.dw {
			nw = c.g.DepthwiseWeightSize()
		}
		in, wt, bias := bkFloats(r, c.g.InSize()), bkFloats(r, nw), bkFloats(r, c.g.OutC)
		out := make([]float32, c.g.OutSize())
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if c.dw {
					DepthwiseConvHWCFloat(w, in, wt, bias, out)
				} else {
					ConvHWCFloat(w, in, wt, bias, out)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.g.OutSize()), "ns/out")
		})
		// The packed kernels (ConvFloat) beside the plain ones, in one run.
		var packed *ConvFloat
		if c.dw {
			packed = NewDepthwiseConvFloat(w, wt, bias)
		} else {
			packed = NewConvFloat(w, wt, bias)
		}
		b.Run(c.name+"-packed", func(b *testing.B) {
			for b.Loop() {
				packed.Run(in, out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.g.OutSize()), "ns/out")
		})
	}
}

// naiveConv and naiveDepthwise are the plain definitions (one float64 sum
// per output, window order); the blocked kernels must equal them bit for
// bit.
func naiveConv(g Window2D, in, w, bias, out []float32, dw bool) {
	for oy := 0; oy < g.OutH; oy++ {
		for ox := 0; ox < g.OutW; ox++ {
			for f := 0; f < g.OutC; f++ {
				var acc float64
				if bias != nil {
					acc = float64(bias[f])
				}
				for ky := 0; ky < g.KH; ky++ {
					for kx := 0; kx < g.KW; kx++ {
						y, x := oy*g.SH-g.PadT+ky, ox*g.SW-g.PadL+kx
						if y < 0 || y >= g.InH || x < 0 || x >= g.InW {
							continue
						}
						if dw {
							acc += float64(in[(y*g.InW+x)*g.InC+f]) * float64(w[(ky*g.KW+kx)*g.InC+f])
							continue
						}
						for c := 0; c < g.InC; c++ {
							acc += float64(in[(y*g.InW+x)*g.InC+c]) * float64(w[((f*g.KH+ky)*g.KW+kx)*g.InC+c])
						}
					}
				}
				out[(oy*g.OutW+ox)*g.OutC+f] = float32(acc)
			}
		}
	}
}

func TestFloatConvBlockedEqualsNaive(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 200; i++ {
		g := Window2D{InH: 1 + r.Intn(7), InW: 1 + r.Intn(7), InC: 1 + r.Intn(9), KH: 1 + r.Intn(4), KW: 1 + r.Intn(4),
			SH: 1 + r.Intn(2), SW: 1 + r.Intn(3), PadT: r.Intn(3), PadL: r.Intn(3)}
		g.OutH, g.OutW = 1+r.Intn(5), 1+r.Intn(5)
		dw := i%3 == 0
		g.OutC = 1 + r.Intn(11)
		if i%5 == 1 {
			// Several blocks of the packed kernels, and their tails.
			g.InC, g.OutC = 1+r.Intn(40), 1+r.Intn(40)
		}
		nw := g.OutC * g.KH * g.KW * g.InC
		if dw {
			g.OutC, nw = g.InC, g.KH*g.KW*g.InC
		}
		in, w := bkFloats(r, g.InH*g.InW*g.InC), bkFloats(r, nw)
		var bias []float32
		if i%2 == 0 {
			bias = bkFloats(r, g.OutC)
		}
		got, want := make([]float32, g.OutH*g.OutW*g.OutC), make([]float32, g.OutH*g.OutW*g.OutC)
		if dw {
			DepthwiseConvHWCFloat(g, in, w, bias, got)
		} else {
			ConvHWCFloat(g, in, w, bias, got)
		}
		naiveConv(g, in, w, bias, want, dw)
		packed := make([]float32, len(got))
		var c *ConvFloat
		if dw {
			c = NewDepthwiseConvFloat(g, w, bias)
		} else {
			c = NewConvFloat(g, w, bias)
		}
		for run := 0; run < 2; run++ { // the scratch of one run must not leak into the next
			c.Run(in, packed)
			for j := range got {
				if got[j] != want[j] || packed[j] != want[j] {
					t.Fatalf("case %d (%+v, dw %v, run %d): output %d = %v, packed %v, want %v", i, g, dw, run, j, got[j], packed[j], want[j])
				}
			}
			in = bkFloats(r, len(in))
			naiveConv(g, in, w, bias, want, dw)
			if dw {
				DepthwiseConvHWCFloat(g, in, w, bias, got)
			} else {
				ConvHWCFloat(g, in, w, bias, got)
			}
		}
	}
}

// TestFullyConnectedFloatPackedEqualsPlain: the packed dense layer equals
// FullyConnectedFloat bit for bit (input lengths and output counts around
// the 16-filter blocks).
func TestFullyConnectedFloatPackedEqualsPlain(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for i := 0; i < 100; i++ {
		n, m := 1+r.Intn(70), 1+r.Intn(70)
		in, w := bkFloats(r, n), bkFloats(r, n*m)
		var bias []float32
		if i%2 == 0 {
			bias = bkFloats(r, m)
		}
		want, got := make([]float32, m), make([]float32, m)
		FullyConnectedFloat(in, w, bias, want)
		NewFullyConnectedFloat(n, m, w, bias).Run(in, got)
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("case %d (%d inputs, %d outputs): output %d = %v, want %v", i, n, m, j, got[j], want[j])
			}
		}
	}
}

func BenchmarkReLUFloatKWS(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	x := bkFloats(r, bkPW.OutSize())
	y := make([]float32, len(x))
	for b.Loop() {
		copy(y, x)
		ReLUFloat(y)
	}
}
