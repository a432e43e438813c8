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
	// Each filter's sum runs in the original order (bias, then rows, then
	// the contiguous columns x channels span of each row), so results do
	// not depend on the blocking; four filters share every input load and
	// give the CPU four independent chains.
	C, KW := g.InC, g.KW
	rowW := g.KH * KW * C // one filter's weights
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, ky0 := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, kx0 := g.cols(ox)
			n := (xhi - xlo) * C
			rlo, rhi := ylo, yhi
			if n <= 0 {
				rhi = rlo // no column of the window is inside the input
			}
			o := out[(oy*g.OutW+ox)*g.OutC:][:g.OutC]
			if ox+1 < g.OutW && n > 0 {
				// Two pixels whose windows cover the same kernel columns
				// share every weight load (the same sums, in the same order).
				xlo1, xhi1, kx1 := g.cols(ox + 1)
				if kx1 == kx0 && xhi1-xlo1 == xhi-xlo {
					o1 := out[(oy*g.OutW+ox+1)*g.OutC:][:g.OutC]
					convFloatPair(g, in, w, bias, o, o1, rlo, rhi, ky0, kx0, xlo, xlo1, n)
					ox++
					continue
				}
			}
			f := 0
			for ; f+4 <= len(o); f += 4 {
				var a0, a1, a2, a3 float64
				if bias != nil {
					a0, a1, a2, a3 = float64(bias[f]), float64(bias[f+1]), float64(bias[f+2]), float64(bias[f+3])
				}
				for y, ky := rlo, ky0; y < rhi; y, ky = y+1, ky+1 {
					iv := in[(y*g.InW+xlo)*C:][:n]
					w0, w1, w2, w3 := filterRows4(w, f, rowW, (ky*KW+kx0)*C, n)
					for j, v := range iv {
						x := float64(v)
						a0 += x * float64(w0[j])
						a1 += x * float64(w1[j])
						a2 += x * float64(w2[j])
						a3 += x * float64(w3[j])
					}
				}
				o[f], o[f+1], o[f+2], o[f+3] = float32(a0), float32(a1), float32(a2), float32(a3)
			}
			for ; f < len(o); f++ {
				var acc float64
				if bias != nil {
					acc = float64(bias[f])
				}
				for y, ky := rlo, ky0; y < rhi; y, ky = y+1, ky+1 {
					iv := in[(y*g.InW+xlo)*C:][:n]
					wv := w[f*rowW+(ky*KW+kx0)*C:][:n]
					for j, v := range iv {
						acc += float64(v) * float64(wv[j])
					}
				}
				o[f] = float32(acc)
			}
		}
	}
}

// filterRows4 returns n weights from offset off of filters f..f+3 (each
// rowW long).
func filterRows4(w []float32, f, rowW, off, n int) (w0, w1, w2, w3 []float32) {
	return w[f*rowW+off:][:n], w[(f+1)*rowW+off:][:n], w[(f+2)*rowW+off:][:n], w[(f+3)*rowW+off:][:n]
}

// convFloatPair is ConvHWCFloat for two output pixels whose windows span
// the same kernel rows [rlo, rhi) (from ky0) and columns (from kx0, n
// values per row), starting at input columns xlo0 and xlo1: four filters
// times two pixels per pass, every sum in ConvHWCFloat's order.
func convFloatPair(g Window2D, in, w, bias, o0, o1 []float32, rlo, rhi, ky0, kx0, xlo0, xlo1, n int) {
	C, KW := g.InC, g.KW
	rowW := g.KH * KW * C
	f := 0
	for ; f+4 <= len(o0); f += 4 {
		var a0, a1, a2, a3 float64
		if bias != nil {
			a0, a1, a2, a3 = float64(bias[f]), float64(bias[f+1]), float64(bias[f+2]), float64(bias[f+3])
		}
		b0, b1, b2, b3 := a0, a1, a2, a3
		for y, ky := rlo, ky0; y < rhi; y, ky = y+1, ky+1 {
			iv := in[(y*g.InW+xlo0)*C:][:n]
			jv := in[(y*g.InW+xlo1)*C:][:n]
			w0, w1, w2, w3 := filterRows4(w, f, rowW, (ky*KW+kx0)*C, n)
			for j, v := range iv {
				x, z := float64(v), float64(jv[j])
				c0, c1, c2, c3 := float64(w0[j]), float64(w1[j]), float64(w2[j]), float64(w3[j])
				a0 += x * c0
				a1 += x * c1
				a2 += x * c2
				a3 += x * c3
				b0 += z * c0
				b1 += z * c1
				b2 += z * c2
				b3 += z * c3
			}
		}
		o0[f], o0[f+1], o0[f+2], o0[f+3] = float32(a0), float32(a1), float32(a2), float32(a3)
		o1[f], o1[f+1], o1[f+2], o1[f+3] = float32(b0), float32(b1), float32(b2), float32(b3)
	}
	for ; f < len(o0); f++ {
		var a, b float64
		if bias != nil {
			a = float64(bias[f])
		}
		b = a
		for y, ky := rlo, ky0; y < rhi; y, ky = y+1, ky+1 {
			iv := in[(y*g.InW+xlo0)*C:][:n]
			jv := in[(y*g.InW+xlo1)*C:][:n]
			wv := w[f*rowW+(ky*KW+kx0)*C:][:n]
			for j, v := range iv {
				c := float64(wv[j])
				a += float64(v) * c
				b += float64(jv[j]) * c
			}
		}
		o0[f], o1[f] = float32(a), float32(b)
	}
}

// DepthwiseConvHWCFloat is the float twin of the legacy depthwise
// convolution (multiplier 1): w is [KH][KW][C], OutC == InC. Every
// channel's sum runs in window order; the channels accumulate side by side
// (independent chains) in a float64 buffer.
func DepthwiseConvHWCFloat(g Window2D, in, w, bias, out []float32) {
	C := g.InC
	var stack [256]float64
	acc := stack[:0]
	if C <= len(stack) {
		acc = stack[:C]
	} else {
		acc = make([]float64, C)
	}
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, ky0 := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, kx0 := g.cols(ox)
			if bias != nil {
				for c, b := range bias[:C] {
					acc[c] = float64(b)
				}
			} else {
				clear(acc)
			}
			for y, ky := ylo, ky0; y < yhi; y, ky = y+1, ky+1 {
				for x, kx := xlo, kx0; x < xhi; x, kx = x+1, kx+1 {
					iv := in[(y*g.InW+x)*C:][:C]
					wv := w[(ky*g.KW+kx)*C:][:C]
					for c, v := range iv {
						acc[c] += float64(v) * float64(wv[c])
					}
				}
			}
			o := out[(oy*g.OutW+ox)*C:][:C]
			for c, a := range acc {
				o[c] = float32(a)
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

// ReLUFloatTo writes ReLUFloat of src to dst (len(src) values) in one
// pass.
func ReLUFloatTo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		b := math.Float32bits(v)
		dst[i] = math.Float32frombits(b &^ uint32(int32(b)>>31))
	}
}

// ReLUFloat sets negative values to zero, in place.
func ReLUFloat(x []float32) {
	// Branch-free: clear every value whose sign bit is set (half the
	// values of a typical pre-activation are negative, which a branch
	// mispredicts). -0 becomes +0, which compares equal.
	for i, v := range x {
		b := math.Float32bits(v)
		x[i] = math.Float32frombits(b &^ uint32(int32(b)>>31))
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
