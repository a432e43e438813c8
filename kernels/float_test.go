package kernels

import (
	"math"
	"testing"
)

func TestConvHWCFloatHandComputed(t *testing.T) {
	// 3x3x1 input, one 2x2 filter, stride 1, pad top/left 1 => 3x3 output
	// (extra bottom/right padding implied by the output size).
	in := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float32{1, 10, 100, 1000} // [o][ky][kx][c]
	g := Window2D{InH: 3, InW: 3, InC: 1, OutH: 3, OutW: 3, OutC: 1, KH: 2, KW: 2, SH: 1, SW: 1, PadT: 1, PadL: 1}
	out := make([]float32, 9)
	ConvHWCFloat(g, in, w, []float32{0.5}, out)
	// out(0,0) sees only in(0,0) at tap (1,1): 1*1000 + 0.5.
	// out(1,1) sees in(0,0),in(0,1),in(1,0),in(1,1): 1*1 + 2*10 + 4*100 + 5*1000.
	want := map[int]float32{0: 1000.5, 4: 1 + 20 + 400 + 5000 + 0.5, 8: 5 + 60 + 800 + 9000 + 0.5}
	for i, v := range want {
		if out[i] != v {
			t.Errorf("out[%d] = %v, want %v", i, out[i], v)
		}
	}
}

func TestDepthwiseAndDenseHandComputed(t *testing.T) {
	// 1x2x2 input (H=1, W=2, C=2), 1x2 kernel, valid.
	in := []float32{1, 2, 3, 4}
	w := []float32{1, 10, 100, 1000} // [ky][kx][c]
	g := Window2D{InH: 1, InW: 2, InC: 2, OutH: 1, OutW: 1, OutC: 2, KH: 1, KW: 2, SH: 1, SW: 1}
	out := make([]float32, 2)
	DepthwiseConvHWCFloat(g, in, w, nil, out)
	if out[0] != 1+300 || out[1] != 20+4000 {
		t.Fatalf("depthwise %v", out)
	}
	fc := make([]float32, 2)
	FullyConnectedFloat([]float32{1, 2}, []float32{1, 2, 3, 4}, []float32{10, 20}, fc)
	if fc[0] != 15 || fc[1] != 31 {
		t.Fatalf("dense %v", fc)
	}
}

func TestPoolsSkipPadding(t *testing.T) {
	in := []float32{-1, -2, -3, -4} // 2x2x1
	g := Window2D{InH: 2, InW: 2, InC: 1, OutH: 2, OutW: 2, OutC: 1, KH: 2, KW: 2, SH: 1, SW: 1, PadT: 1, PadL: 1}
	mx, av := make([]float32, 4), make([]float32, 4)
	MaxPoolHWCFloat(g, in, mx)
	AvgPoolHWCFloat(g, in, av)
	// out(0,0) window holds only in(0,0): padding is not a zero.
	if mx[0] != -1 || av[0] != -1 {
		t.Fatalf("corner: max %v ave %v", mx[0], av[0])
	}
	if mx[3] != -1 || av[3] != -2.5 {
		t.Fatalf("full window: max %v ave %v", mx[3], av[3])
	}
}

func TestActivationsAndSoftmax(t *testing.T) {
	x := []float32{-1, 0, 2, float32(math.Copysign(0, -1)), float32(math.Inf(-1)), float32(math.Inf(1))}
	to := make([]float32, len(x)+1)
	to[len(x)] = 7
	ReLUFloatTo(to, x)
	ReLUFloat(x)
	if x[0] != 0 || x[2] != 2 || math.Signbit(float64(x[3])) || x[4] != 0 || !math.IsInf(float64(x[5]), 1) {
		t.Fatal(x)
	}
	for i, v := range x { // the copying form writes the same bits, and no more
		if math.Float32bits(to[i]) != math.Float32bits(v) {
			t.Fatalf("ReLUFloatTo %v, ReLUFloat %v", to, x)
		}
	}
	if to[len(x)] != 7 {
		t.Fatalf("ReLUFloatTo wrote past its source: %v", to)
	}
	s := []float32{0}
	SigmoidFloat(s)
	if s[0] != 0.5 {
		t.Fatal(s)
	}
	th := []float32{1}
	TanhFloat(th)
	if math.Abs(float64(th[0])-math.Tanh(1)) > 1e-7 {
		t.Fatal(th)
	}
	out := make([]float32, 2)
	SoftmaxFloat([]float32{0, float32(math.Log(3))}, out)
	if math.Abs(float64(out[0])-0.25) > 1e-6 || math.Abs(float64(out[1])-0.75) > 1e-6 {
		t.Fatal(out)
	}
	a := make([]float32, 2)
	AddFloat([]float32{1, 2}, []float32{3, 4}, a)
	m := make([]float32, 2)
	MulFloat([]float32{1, 2}, []float32{3, 4}, m)
	if a[1] != 6 || m[1] != 8 {
		t.Fatal(a, m)
	}
}
