package kernels

// nnq's own q15 convolutions. The legacy library has no q15 depthwise
// convolution and no q15 non-square basic convolution (its q15 fast
// non-square kernel needs even channel counts), so a q15 network with such
// layers runs these, compiled from codegen/crt on every target. They follow
// the legacy requantisation rule exactly (facts sheet §1.1, q15 bias).

// NNQConvolveHWCQ15BasicNonsquare is nnq_convolve_HWC_q15_basic_nonsquare:
// a q15 convolution with non-square geometry and no channel constraints.
// Same argument order and semantics as arm_convolve_HWC_q7_basic_nonsquare
// with q15 data, weights and bias.
func NNQConvolveHWCQ15BasicNonsquare(o Opts, g ConvGeom, in, wt, bias []int16, biasShift, outShift int, out []int16) error {
	return convQ15(VarNNQConvolveHWCQ15BasicNonsquare, &o, g, in, wt, bias, biasShift, outShift, out)
}

// NNQDepthwiseConvHWCQ15Nonsquare is nnq_depthwise_conv_HWC_q15_nonsquare:
// the q15 twin of arm_depthwise_separable_conv_HWC_q7_nonsquare (depth
// multiplier 1, weights [ky][kx][ch], ch_in == ch_out).
func NNQDepthwiseConvHWCQ15Nonsquare(o Opts, g ConvGeom, in, wt, bias []int16, biasShift, outShift int, out []int16) error {
	if err := checkConv(VarNNQDepthwiseConvHWCQ15Nonsquare, &o, g, len(in), len(wt), len(bias), len(out), biasShift, outShift); err != nil {
		return err
	}
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	ch := g.InC
	for oy := 0; oy < g.OutY; oy++ {
		iy0 := oy*g.StrideY - g.PadY
		ky0, ky1 := axisRange(iy0, g.KY, g.InY)
		for ox := 0; ox < g.OutX; ox++ {
			ix0 := ox*g.StrideX - g.PadX
			kx0, kx1 := axisRange(ix0, g.KX, g.InX)
			ob := out[(oy*g.OutX+ox)*ch:][:ch]
			for c := range ob {
				var acc int64
				for ky := ky0; ky < ky1; ky++ {
					for kx := kx0; kx < kx1; kx++ {
						acc += int64(in[((iy0+ky)*g.InX+ix0+kx)*ch+c]) * int64(wt[(ky*g.KX+kx)*ch+c])
					}
				}
				ob[c] = int16(requant(st, acc, int32(bias[c]), bs, os, rt, q15Min, q15Max))
			}
		}
	}
	if st != nil {
		st.Calls++
	}
	return nil
}
