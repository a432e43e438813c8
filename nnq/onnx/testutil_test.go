package onnx

import (
	"math"
	"math/rand"

	"github.com/nnq-toolkit/nnq/nnq"
)

// hwcToCHW copies an [H][W][C] map (what the CMSIS float pass computes)
// into ONNX's [C][H][W] order.
func hwcToCHW(H, W, C int, src, dst []float32) {
	for c := 0; c < C; c++ {
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				dst[(c*H+y)*W+x] = src[(y*W+x)*C+c]
			}
		}
	}
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func sigmoid64(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// randPatterns makes n standard-normal patterns for m's input with labels
// 0..2.
func randPatterns(r *rand.Rand, m *nnq.Model, n int) *nnq.Patterns {
	p := &nnq.Patterns{Shape: append([]int(nil), m.InputShape...), Layout: m.Layout}
	x := make([]float32, m.InputSize())
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		p.Append(x, r.Intn(3), "")
	}
	return p
}

// windowIf returns a layer's window, or nil for layers without one.
func windowIf(m *nnq.Model, l *nnq.Layer) (w any, err error) {
	switch l.Op {
	case nnq.OpConv2D, nnq.OpDepthwiseConv2D, nnq.OpMaxPool2D, nnq.OpAvgPool2D:
		return m.Window(l)
	}
	return nil, nil
}
