package kernels

// ConvolveS16 is arm_convolve_s16: int16 activations (offsets must be 0),
// int8 OHWI weights (grouped convolution is not supported: filter_dims.c
// must equal the input channels), any kernel, stride, padding, dilation,
// batches. The sum of products is accumulated in int32 with wrap-around on
// both code paths. With bias.IsInt32Bias the int32 bias is added in int32
// and Requantize applied; otherwise the int64 bias is added in int64 and
// RequantizeS64 applied (the TFLite int16x8 scheme). Scratch on the C API:
// ConvolveS16GetBufferSize.
func ConvolveS16(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int16, fDims Dims, filter []int8,
	bias BiasS16, outDims Dims, out []int16) error {
	const fn = "arm_convolve_s16"
	if p.InputOffset != 0 || p.OutputOffset != 0 {
		return invalid(fn, "s16 offsets must be 0 (input %d, output %d)", p.InputOffset, p.OutputOffset)
	}
	if fDims.C != inDims.C {
		return invalid(fn, "filter channels %d != input channels %d (no grouped s16 convolution)", fDims.C, inDims.C)
	}
	nb := nBias(bias.Int64)
	if bias.IsInt32Bias {
		nb = nBias(bias.Int32)
	}
	g, err := checkConvArgs(fn, p, q, inDims, len(in), fDims, len(filter), nb, outDims, len(out), s16Min, s16Max)
	if err != nil {
		return err
	}
	if !bias.IsInt32Bias {
		if err := checkS16Shifts(fn, q, outDims.C); err != nil {
			return err
		}
	}
	st := o.Stats
	act := p.Activation
	convCoreS8(&g, in, 0, filter, func(pix int, acc []int64) {
		ob := out[pix*g.outC : (pix+1)*g.outC]
		for oc, a := range acc {
			held := int64(int32(a))
			if !bias.IsInt32Bias {
				ob[oc] = finishS16(st, a, held, bias.Int64, oc, q.Multiplier[oc], q.Shift[oc], act)
				continue
			}
			acc32 := int32(held)
			exact := a
			if bias.Int32 != nil {
				acc32 += bias.Int32[oc]
				exact += int64(bias.Int32[oc])
			}
			y := o.Requant.Requantize(acc32, q.Multiplier[oc], q.Shift[oc])
			if st != nil {
				st.recordOut(exact, acc32, y, act.Min, act.Max, s16Min, s16Max)
			}
			ob[oc] = int16(min(max(y, act.Min), act.Max))
		}
	})
	if st != nil {
		st.Calls++
	}
	return nil
}

// ConvolveWrapperS16 is arm_convolve_wrapper_s16, which in v7.0.0 always
// runs arm_convolve_s16.
func ConvolveWrapperS16(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int16, fDims Dims, filter []int8,
	bias BiasS16, outDims Dims, out []int16) error {
	return ConvolveS16(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// ConvolveS16GetBufferSize is arm_convolve_s16_get_buffer_size on the C and
// DSP paths: 4·C_IN·KH·KW bytes (two int16 im2col columns).
func ConvolveS16GetBufferSize(t Target, inDims, fDims Dims) int {
	_ = t
	return 4 * inDims.C * fDims.H * fDims.W
}

// ConvolveWrapperS16GetBufferSize is arm_convolve_wrapper_s16_get_buffer_size.
func ConvolveWrapperS16GetBufferSize(t Target, p ConvParams, inDims, fDims, outDims Dims) int {
	return ConvolveS16GetBufferSize(t, inDims, fDims)
}
