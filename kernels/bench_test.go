package kernels

import (
	"slices"
	"testing"
)

// Benchmarks on keyword-spotting-sized shapes (DS-CNN on 49×10 MFCC
// features). Run with: go test ./kernels -run '^$' -bench . -benchmem
// Stats variants (".../stats") measure the instrumentation overhead.

var (
	bkConv1 = ConvGeom{InX: 10, InY: 49, InC: 1, OutC: 64, KX: 4, KY: 10, PadX: 1, PadY: 4,
		StrideX: 2, StrideY: 2, OutX: 5, OutY: 25} // 49x10x1 → 25x5x64, SAME-style extra bottom row
	bkDW  = ConvGeom{InX: 5, InY: 25, InC: 64, OutC: 64, KX: 3, KY: 3, PadX: 1, PadY: 1, StrideX: 1, StrideY: 1, OutX: 5, OutY: 25}
	bkPW  = ConvGeom{InX: 5, InY: 25, InC: 64, OutC: 64, KX: 1, KY: 1, StrideX: 1, StrideY: 1, OutX: 5, OutY: 25}
	bkGAP = PoolGeom(5, 25, 64, 5, 25, 0, 0, 5, 25, 1, 1) // global average pool 25x5x64 → 1x1x64
	bkSqP = SquareGeom(10, 64, 64, 2, 0, 2, 5)            // square pooling for the CMSIS pools
)

// bkReportCPU reports process CPU time per op since c0 (see processCPU).
func bkReportCPU(b *testing.B, c0 int64) {
	if c := processCPU(); c > 0 && b.N > 0 {
		b.ReportMetric(float64(c-c0)/float64(b.N), "cpu-ns/op")
	}
}

func bkStats(b *testing.B, stats bool) Opts {
	if stats {
		return Opts{Stats: &Stats{}}
	}
	return Opts{}
}

func bkConvQ7(b *testing.B, g ConvGeom, f func(Opts, ConvGeom, []int8, []int8, []int8, int, int, []int8) error, dw bool) {
	r := ptRand(100)
	nw := g.WeightSize()
	if dw {
		nw = g.DepthwiseWeightSize()
	}
	in, wt, bias := ptSlice[int8](r, g.InSize(), -128, 127), ptSlice[int8](r, nw, -128, 127), ptSlice[int8](r, g.OutC, -128, 127)
	out := make([]int8, g.OutSize())
	for _, stats := range []bool{false, true} {
		name := "nostats"
		if stats {
			name = "stats"
		}
		b.Run(name, func(b *testing.B) {
			o := bkStats(b, stats)
			b.ReportAllocs()
			c0 := processCPU()
			for b.Loop() {
				if err := f(o, g, in, wt, bias, 2, 9, out); err != nil {
					b.Fatal(err)
				}
			}
			bkReportCPU(b, c0)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(g.OutSize()), "ns/out")
		})
	}
}

func BenchmarkConvQ7BasicNonsquare_KWSConv1(b *testing.B) {
	bkConvQ7(b, bkConv1, ConvolveHWCQ7BasicNonsquare, false)
}

func BenchmarkDepthwiseQ7Nonsquare_KWS(b *testing.B) {
	bkConvQ7(b, bkDW, DepthwiseSeparableConvHWCQ7Nonsquare, true)
}

func BenchmarkConv1x1Q7_KWS(b *testing.B) {
	bkConvQ7(b, bkPW, Convolve1x1HWCQ7FastNonsquare, false)
}

func BenchmarkConvQ15FastNonsquare_KWS1x1(b *testing.B) {
	r := ptRand(101)
	g := bkPW
	in, wt, bias := ptSlice[int16](r, g.InSize(), -32768, 32767), ptSlice[int16](r, g.WeightSize(), -32768, 32767), ptSlice[int16](r, g.OutC, -32768, 32767)
	out := make([]int16, g.OutSize())
	b.ReportAllocs()
	c0 := processCPU()
	for b.Loop() {
		_ = ConvolveHWCQ15FastNonsquare(Opts{}, g, in, wt, bias, 2, 15, out)
	}
	bkReportCPU(b, c0)
}

func BenchmarkFC_KWS64x12(b *testing.B) {
	r := ptRand(102)
	const dv, rows = 64, 12
	v, m, bias := ptSlice[int8](r, dv, -128, 127), ptSlice[int8](r, dv*rows, -128, 127), ptSlice[int8](r, rows, -128, 127)
	mo := InterleaveQ7Opt(m, rows, dv)
	v16, m16, b16 := ptSlice[int16](r, dv, -32768, 32767), ptSlice[int16](r, dv*rows, -32768, 32767), ptSlice[int16](r, rows, -32768, 32767)
	out, out16 := make([]int8, rows), make([]int16, rows)
	for _, stats := range []bool{false, true} {
		sfx := ""
		if stats {
			sfx = "/stats"
		}
		b.Run("q7"+sfx, func(b *testing.B) {
			o := bkStats(b, stats)
			b.ReportAllocs()
			c0 := processCPU()
			for b.Loop() {
				_ = FullyConnectedQ7(o, v, m, dv, rows, 2, 9, bias, out)
			}
			bkReportCPU(b, c0)
		})
		b.Run("q7_opt"+sfx, func(b *testing.B) {
			o := bkStats(b, stats)
			b.ReportAllocs()
			c0 := processCPU()
			for b.Loop() {
				_ = FullyConnectedQ7Opt(o, v, mo, dv, rows, 2, 9, bias, out)
			}
			bkReportCPU(b, c0)
		})
	}
	b.Run("q15", func(b *testing.B) {
		b.ReportAllocs()
		c0 := processCPU()
		for b.Loop() {
			_ = FullyConnectedQ15(Opts{}, v16, m16, dv, rows, 2, 15, b16, out16)
		}
		bkReportCPU(b, c0)
	})
	b.Run("mat_q7_vec_q15", func(b *testing.B) {
		b.ReportAllocs()
		c0 := processCPU()
		for b.Loop() {
			_ = FullyConnectedMatQ7VecQ15(Opts{}, v16, m, dv, rows, 2, 9, bias, out16)
		}
		bkReportCPU(b, c0)
	})
}

func BenchmarkPool_KWS(b *testing.B) {
	r := ptRand(103)
	in := ptSlice[int8](r, bkGAP.InSize(), -128, 127)
	out := make([]int8, 64)
	b.Run("nnq_avepool_q7_global25x5x64", func(b *testing.B) {
		b.ReportAllocs()
		c0 := processCPU()
		for b.Loop() {
			_ = NNQAvgpool(Opts{}, bkGAP, in, out, 0)
		}
		bkReportCPU(b, c0)
	})
	in16 := ptSlice[int16](r, bkGAP.InSize(), -32768, 32767)
	out16 := make([]int16, 64)
	b.Run("nnq_avepool_q15_global25x5x64", func(b *testing.B) {
		b.ReportAllocs()
		c0 := processCPU()
		for b.Loop() {
			_ = NNQAvgpool(Opts{}, bkGAP, in16, out16, 0)
		}
		bkReportCPU(b, c0)
	})
	sq := ptSlice[int8](r, bkSqP.InSize(), -128, 127)
	work := slices.Clone(sq)
	sqOut := make([]int8, bkSqP.OutX*bkSqP.OutY*bkSqP.InC)
	for _, tg := range []Target{CPath, DSPPath} {
		for _, ave := range []bool{false, true} {
			f, name := MaxpoolQ7HWC, "maxpool"
			if ave {
				f, name = AvepoolQ7HWC, "avepool"
			}
			b.Run(name+"_10x10x64_k2s2/"+tg.String(), func(b *testing.B) {
				o := Opts{Target: tg}
				b.ReportAllocs()
				c0 := processCPU()
				for b.Loop() {
					if tg == DSPPath { // the DSP path clobbers its input: the caller copies
						copy(work, sq)
					}
					_ = f(o, bkSqP, work, sqOut)
				}
				bkReportCPU(b, c0)
			})
		}
	}
}

func BenchmarkElementwise_KWS(b *testing.B) {
	r := ptRand(104)
	const n = 25 * 5 * 64
	x8, y8, z8 := ptSlice[int8](r, n, -128, 127), ptSlice[int8](r, n, -128, 127), make([]int8, n)
	x16 := ptSlice[int16](r, n, -32768, 32767)
	w16 := make([]int16, n)
	b.Run("relu_q7", func(b *testing.B) {
		c0 := processCPU()
		for b.Loop() {
			copy(z8, x8)
			ReluQ7(Opts{}, z8)
		}
		bkReportCPU(b, c0)
	})
	b.Run("sigmoid_q7", func(b *testing.B) {
		c0 := processCPU()
		for b.Loop() {
			copy(z8, x8)
			_ = ActivationsDirectQ7(Opts{}, z8, 2, Sigmoid)
		}
		bkReportCPU(b, c0)
	})
	b.Run("tanh_q15", func(b *testing.B) {
		c0 := processCPU()
		for b.Loop() {
			copy(w16, x16)
			_ = ActivationsDirectQ15(Opts{}, w16, 2, Tanh)
		}
		bkReportCPU(b, c0)
	})
	b.Run("mult_q7", func(b *testing.B) {
		c0 := processCPU()
		for b.Loop() {
			_ = NNMultQ7(Opts{}, x8, y8, z8, 7)
		}
		bkReportCPU(b, c0)
	})
	b.Run("nnq_add_q7", func(b *testing.B) {
		c0 := processCPU()
		for b.Loop() {
			_ = NNQAddQ7(Opts{}, x8, y8, z8, 1, 0, 1)
		}
		bkReportCPU(b, c0)
	})
	s := ptSlice[int8](r, 12, -128, 127)
	so := make([]int8, 12)
	b.Run("softmax_q7_12", func(b *testing.B) {
		b.ReportAllocs()
		c0 := processCPU()
		for b.Loop() {
			SoftmaxQ7(Opts{}, s, so)
		}
		bkReportCPU(b, c0)
	})
}
