package kernels

import "math"

// Window2D is the geometry of a 2-D sliding-window layer (convolution,
// depthwise convolution, pooling) over HWC tensors, as the float kernels
// below take it. Output (oy, ox) reads input rows oy*SH-PadT … oy*SH-PadT+KH-1
// and columns ox*SW-PadL … ox*SW-PadL+KW-1; positions outside the input are
// skipped, exactly like the legacy CMSIS-NN kernels. Bottom/right padding is
// implied by OutH/OutW.
type Window2D struct {
	InH, InW, InC    int
	OutH, OutW, OutC int
	KH, KW           int
	SH, SW           int
	PadT, PadL       int
}

// rows returns the in-range input rows of output row oy: [lo, hi).
func (g *Window2D) rows(oy int) (lo, hi, k0 int) {
	start := oy*g.SH - g.PadT
	lo, hi = max(start, 0), min(start+g.KH, g.InH)
	return lo, hi, lo - start
}

func (g *Window2D) cols(ox int) (lo, hi, k0 int) {
	start := ox*g.SW - g.PadL
	lo, hi = max(start, 0), min(start+g.KW, g.InW)
	return lo, hi, lo - start
}

// ConvHWCFloat is the float twin of the legacy CMSIS-NN HWC convolutions:
// in is HWC, w is OHWI ([OutC][KH][KW][InC]), bias has OutC entries (or is
// nil), out is HWC. Accumulation is in float64.
func ConvHWCFloat(g Window2D, in, w, bias, out []float32) {
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, ky0 := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, kx0 := g.cols(ox)
			o := out[(oy*g.OutW+ox)*g.OutC:][:g.OutC]
			for f := range o {
				var acc float64
				if bias != nil {
					acc = float64(bias[f])
				}
				for y, ky := ylo, ky0; y < yhi; y, ky = y+1, ky+1 {
					for x, kx := xlo, kx0; x < xhi; x, kx = x+1, kx+1 {
						iv := in[(y*g.InW+x)*g.InC:][:g.InC]
						wv := w[((f*g.KH+ky)*g.KW+kx)*g.InC:][:g.InC]
						for c, v := range iv {
							acc += float64(v) * float64(wv[c])
						}
					}
				}
				o[f] = float32(acc)
			}
		}
	}
}

// DepthwiseConvHWCFloat is the float twin of the legacy depthwise
// convolution (multiplier 1): w is [KH][KW][C], OutC == InC.
func DepthwiseConvHWCFloat(g Window2D, in, w, bias, out []float32) {
	C := g.InC
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, ky0 := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, kx0 := g.cols(ox)
			o := out[(oy*g.OutW+ox)*C:][:C]
			for c := range o {
				var acc float64
				if bias != nil {
					acc = float64(bias[c])
				}
				for y, ky := ylo, ky0; y < yhi; y, ky = y+1, ky+1 {
					for x, kx := xlo, kx0; x < xhi; x, kx = x+1, kx+1 {
						acc += float64(in[(y*g.InW+x)*C+c]) * float64(w[(ky*g.KW+kx)*C+c])
					}
				}
				o[c] = float32(acc)
			}
		}
	}
}

// FullyConnectedFloat computes out[r] = bias[r] + Σ_j w[r*len(in)+j]·in[j]
// with w row-major [len(out)][len(in)], the legacy non-_opt layout.
func FullyConnectedFloat(in, w, bias, out []float32) {
	n := len(in)
	for r := range out {
		var acc float64
		if bias != nil {
			acc = float64(bias[r])
		}
		row := w[r*n:][:n]
		for j, v := range in {
			acc += float64(v) * float64(row[j])
		}
		out[r] = float32(acc)
	}
}

// MaxPoolHWCFloat takes the maximum over the in-range window positions
// (padding is ignored, not treated as zero). OutC must equal InC.
func MaxPoolHWCFloat(g Window2D, in, out []float32) {
	C := g.InC
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, _ := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, _ := g.cols(ox)
			o := out[(oy*g.OutW+ox)*C:][:C]
			for c := range o {
				m := float32(math.Inf(-1))
				for y := ylo; y < yhi; y++ {
					for x := xlo; x < xhi; x++ {
						m = max(m, in[(y*g.InW+x)*C+c])
					}
				}
				if ylo >= yhi || xlo >= xhi {
					m = 0
				}
				o[c] = m
			}
		}
	}
}

// AvgPoolHWCFloat averages over the in-range window positions only (the
// count excludes padding, like CMSIS-NN). An empty window gives 0.
func AvgPoolHWCFloat(g Window2D, in, out []float32) {
	C := g.InC
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, _ := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, _ := g.cols(ox)
			o := out[(oy*g.OutW+ox)*C:][:C]
			n := (yhi - ylo) * (xhi - xlo)
			for c := range o {
				var s float64
				for y := ylo; y < yhi; y++ {
					for x := xlo; x < xhi; x++ {
						s += float64(in[(y*g.InW+x)*C+c])
					}
				}
				if n > 0 {
					s /= float64(n)
				}
				o[c] = float32(s)
			}
		}
	}
}

// ReLUFloat sets negative values to zero, in place.
func ReLUFloat(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// SigmoidFloat applies the logistic function in place.
func SigmoidFloat(x []float32) {
	for i, v := range x {
		x[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// TanhFloat applies tanh in place.
func TanhFloat(x []float32) {
	for i, v := range x {
		x[i] = float32(math.Tanh(float64(v)))
	}
}

// SoftmaxFloat computes the natural-base softmax of in into out (the
// framework's softmax; the legacy q7/q15 kernels use base 2, which keeps the
// arg-max but not the values).
func SoftmaxFloat(in, out []float32) {
	if len(in) == 0 {
		return
	}
	m := in[0]
	for _, v := range in {
		m = max(m, v)
	}
	var s float64
	for i, v := range in {
		e := math.Exp(float64(v - m))
		out[i] = float32(e)
		s += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / s)
	}
}

// AddFloat computes out = a + b element-wise.
func AddFloat(a, b, out []float32) {
	for i := range out {
		out[i] = a[i] + b[i]
	}
}

// MulFloat computes out = a · b element-wise.
func MulFloat(a, b, out []float32) {
	for i := range out {
		out[i] = a[i] * b[i]
	}
}
