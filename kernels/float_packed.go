package kernels

// Prepared float convolutions: the same results as ConvHWCFloat,
// DepthwiseConvHWCFloat and FullyConnectedFloat, bit for bit, from weights
// packed once. On amd64 with AVX2 and FMA the packed kernels run four
// filters (or channels) per vector instruction, each lane one output's sum
// in the plain kernels' order: every product of two float32 values is exact
// in float64, so a fused multiply-add rounds exactly as the separate
// multiply and add do. Elsewhere Run calls the plain kernels.

// floatBlock is the number of filters (or channels) one packed pass
// computes.
const floatBlock = 16

// ConvFloat is a convolution (HWC input, OHWI weights, as ConvHWCFloat
// takes them) prepared for repeated runs. It keeps scratch space: one
// ConvFloat must not Run on two goroutines at once.
type ConvFloat struct {
	g         Window2D
	w, bias   []float32 // the weights as given (the plain path)
	ws        int       // filters rounded up to floatBlock
	wt        []float64 // [KH*KW*InC][ws]: filter f of weight k at k*ws+f
	b64       []float64 // ws biases (zero past OutC)
	x64       []float64 // the input in float64
	acc       [2 * floatBlock]float64
	fast      bool
	depthwise bool
}

// NewConvFloat packs a convolution's weights (OHWI) and bias (nil: none).
// A later change to w or bias is not seen.
func NewConvFloat(g Window2D, w, bias []float32) *ConvFloat {
	c := &ConvFloat{g: g, w: w, bias: bias, fast: haveFloatSIMD}
	if !c.fast {
		return c
	}
	K := g.KH * g.KW * g.InC
	c.ws = roundUp(g.OutC, floatBlock)
	c.wt = make([]float64, K*c.ws)
	for f := 0; f < g.OutC; f++ {
		for k, v := range w[f*K:][:K] {
			c.wt[k*c.ws+f] = float64(v)
		}
	}
	c.packBias(bias)
	c.x64 = make([]float64, g.InH*g.InW*g.InC)
	return c
}

// NewDepthwiseConvFloat packs a depthwise convolution's weights (as
// DepthwiseConvHWCFloat takes them, [KH][KW][C]) and bias (nil: none).
func NewDepthwiseConvFloat(g Window2D, w, bias []float32) *ConvFloat {
	c := &ConvFloat{g: g, w: w, bias: bias, fast: haveFloatSIMD, depthwise: true}
	if !c.fast {
		return c
	}
	C := g.InC
	c.ws = roundUp(C, floatBlock)
	c.wt = make([]float64, g.KH*g.KW*c.ws)
	for k := 0; k < g.KH*g.KW; k++ {
		for ch, v := range w[k*C:][:C] {
			c.wt[k*c.ws+ch] = float64(v)
		}
	}
	c.packBias(bias)
	c.x64 = make([]float64, g.InH*g.InW*c.ws)
	return c
}

// packBias sets the ws float64 biases (zero past the bias, or all zero
// without one).
func (c *ConvFloat) packBias(bias []float32) {
	c.b64 = make([]float64, c.ws)
	for f, v := range bias {
		c.b64[f] = float64(v)
	}
}

// NewFullyConnectedFloat packs a dense layer (w row-major
// [len(bias or out)][n], as FullyConnectedFloat takes it) with n inputs
// and outputs outputs.
func NewFullyConnectedFloat(n, outputs int, w, bias []float32) *ConvFloat {
	g := Window2D{InH: 1, InW: 1, InC: n, OutH: 1, OutW: 1, OutC: outputs, KH: 1, KW: 1, SH: 1, SW: 1}
	return NewConvFloat(g, w, bias)
}

func roundUp(n, k int) int { return (n + k - 1) / k * k }

// Run computes the layer on in, writing out.
func (c *ConvFloat) Run(in, out []float32) {
	g := c.g
	if !c.fast {
		if c.depthwise {
			DepthwiseConvHWCFloat(g, in, c.w, c.bias, out)
		} else {
			ConvHWCFloat(g, in, c.w, c.bias, out)
		}
		return
	}
	if c.depthwise {
		c.runDepthwise(in, out)
		return
	}
	in = in[:g.InH*g.InW*g.InC]
	for i, v := range in {
		c.x64[i] = float64(v)
	}
	C, ws := g.InC, c.ws
	out = out[:g.OutH*g.OutW*g.OutC]
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, ky0 := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, kx0 := g.cols(ox)
			n := (xhi - xlo) * C
			rows := yhi - ylo
			if n <= 0 || rows <= 0 {
				rows, n = 0, 0
			}
			pair, dx := false, 0
			if ox+1 < g.OutW && n > 0 {
				xlo1, xhi1, kx1 := g.cols(ox + 1)
				if kx1 == kx0 && xhi1-xlo1 == xhi-xlo {
					pair, dx = true, (xlo1-xlo)*C
				}
			}
			o0 := out[(oy*g.OutW+ox)*g.OutC:][:g.OutC]
			var o1 []float32
			if pair {
				o1 = out[(oy*g.OutW+ox+1)*g.OutC:][:g.OutC]
			}
			xoff := (ylo*g.InW + xlo) * C
			koff := (ky0*g.KW + kx0) * C
			for f := 0; f < g.OutC; f += floatBlock {
				a := &c.acc
				copy(a[:floatBlock], c.b64[f:f+floatBlock])
				if pair {
					copy(a[floatBlock:], c.b64[f:f+floatBlock])
				}
				switch {
				case rows == 0: // the bias alone
				case pair:
					convBlock2x16(a, &c.x64[xoff], dx, g.InW*C, &c.wt[koff*ws+f], ws, g.KW*C*ws, rows, n)
				default:
					convBlock1x16(a, &c.x64[xoff], g.InW*C, &c.wt[koff*ws+f], ws, g.KW*C*ws, rows, n)
				}
				m := min(floatBlock, g.OutC-f)
				for j, v := range a[:m] {
					o0[f+j] = float32(v)
				}
				if pair {
					for j, v := range a[floatBlock : floatBlock+m] {
						o1[f+j] = float32(v)
					}
				}
			}
			if pair {
				ox++
			}
		}
	}
}

func (c *ConvFloat) runDepthwise(in, out []float32) {
	g := c.g
	C, ws := g.InC, c.ws
	in = in[:g.InH*g.InW*C]
	for p := 0; p < g.InH*g.InW; p++ {
		x := c.x64[p*ws:][:C]
		for ch, v := range in[p*C:][:C] {
			x[ch] = float64(v)
		}
	}
	out = out[:g.OutH*g.OutW*C]
	for oy := 0; oy < g.OutH; oy++ {
		ylo, yhi, ky0 := g.rows(oy)
		for ox := 0; ox < g.OutW; ox++ {
			xlo, xhi, kx0 := g.cols(ox)
			rows, cols := yhi-ylo, xhi-xlo
			o := out[(oy*g.OutW+ox)*C:][:C]
			for ch := 0; ch < C; ch += floatBlock {
				a := (*[floatBlock]float64)(c.acc[:floatBlock])
				copy(a[:], c.b64[ch:ch+floatBlock])
				if rows > 0 && cols > 0 {
					depthwise16(a, &c.x64[(ylo*g.InW+xlo)*ws+ch], ws, g.InW*ws, &c.wt[(ky0*g.KW+kx0)*ws+ch], ws, g.KW*ws, rows, cols)
				}
				for j, v := range a[:min(floatBlock, C-ch)] {
					o[ch+j] = float32(v)
				}
			}
		}
	}
}
