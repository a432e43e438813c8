package kernels

// Depthwise convolutions of the s8/s16 API. Output channel oc = ic·ChMult+m
// reads input channel ic; weights are 1HWC [1][KH][KW][C_OUT].

type dwGeom struct {
	batches                int
	inH, inW, inC          int
	kH, kW                 int
	outH, outW, outC       int
	chMult                 int
	strideH, strideW       int
	padH, padW, dilH, dilW int
}

func checkDwArgs(fn string, p DwConvParams, q PerChannelQuantParams, inDims Dims, nIn int, fDims Dims, nF int,
	nBias int, outDims Dims, nOut int, tmin, tmax int32) (dwGeom, error) {
	var g dwGeom
	if err := checkWindowArgs(fn, inDims, fDims, outDims, p.Stride, p.Padding, p.Dilation, p.Activation, tmin, tmax); err != nil {
		return g, err
	}
	if p.ChMult < 1 || outDims.C != inDims.C*p.ChMult {
		return g, invalid(fn, "output channels %d != input channels %d * ch_mult %d", outDims.C, inDims.C, p.ChMult)
	}
	if fDims.C != outDims.C {
		return g, invalid(fn, "filter_dims.c %d != output channels %d", fDims.C, outDims.C)
	}
	if outDims.N != inDims.N {
		return g, invalid(fn, "output batches %d != input batches %d", outDims.N, inDims.N)
	}
	if tmin == s8Min && (p.InputOffset < -127 || p.InputOffset > 128) {
		return g, invalid(fn, "input_offset %d outside [-127, 128]", p.InputOffset)
	}
	if err := checkQuant(fn, q, outDims.C); err != nil {
		return g, err
	}
	if nIn < inDims.Size() {
		return g, short(fn, "input", nIn, inDims.Size())
	}
	if want := fDims.H * fDims.W * fDims.C; nF < want {
		return g, short(fn, "filter", nF, want)
	}
	if nBias >= 0 && nBias < outDims.C {
		return g, short(fn, "bias", nBias, outDims.C)
	}
	if nOut < outDims.Size() {
		return g, short(fn, "output", nOut, outDims.Size())
	}
	g = dwGeom{batches: inDims.N, inH: inDims.H, inW: inDims.W, inC: inDims.C, kH: fDims.H, kW: fDims.W,
		outH: outDims.H, outW: outDims.W, outC: outDims.C, chMult: p.ChMult,
		strideH: p.Stride.H, strideW: p.Stride.W, padH: p.Padding.H, padW: p.Padding.W,
		dilH: p.Dilation.H, dilW: p.Dilation.W}
	return g, nil
}

// dwAccMax bounds the per-pixel accumulator array kept on the stack.
const dwAccMax = 512

// dwCore computes the exact accumulators (bias excluded) of every output
// pixel and passes them to fin(pixel index over all batches, acc).
func dwCore[T int8 | int16](g *dwGeom, in []T, inOff int32, filter []int8, fin func(pix int, acc []int64)) {
	var accBuf [dwAccMax]int64
	var acc []int64
	if g.outC <= dwAccMax {
		acc = accBuf[:g.outC]
	} else {
		acc = make([]int64, g.outC)
	}
	off := int64(inOff)
	pix := 0
	for b := 0; b < g.batches; b++ {
		inB := in[b*g.inH*g.inW*g.inC : (b+1)*g.inH*g.inW*g.inC]
		for oy := 0; oy < g.outH; oy++ {
			iy0 := oy*g.strideH - g.padH
			for ox := 0; ox < g.outW; ox++ {
				ix0 := ox*g.strideW - g.padW
				clear(acc)
				for ky := 0; ky < g.kH; ky++ {
					iy := iy0 + ky*g.dilH
					if iy < 0 || iy >= g.inH {
						continue
					}
					for kx := 0; kx < g.kW; kx++ {
						ix := ix0 + kx*g.dilW
						if ix < 0 || ix >= g.inW {
							continue
						}
						x := inB[(iy*g.inW+ix)*g.inC:]
						x = x[:g.inC]
						w := filter[(ky*g.kW+kx)*g.outC:]
						w = w[:len(acc)]
						if g.chMult == 1 {
							x = x[:len(acc)]
							for c := range acc {
								acc[c] += (int64(x[c]) + off) * int64(w[c])
							}
							continue
						}
						oc := 0
						for _, xv := range x {
							xo := int64(xv) + off
							for m := 0; m < g.chMult; m++ {
								acc[oc] += xo * int64(w[oc])
								oc++
							}
						}
					}
				}
				fin(pix, acc)
				pix++
			}
		}
	}
}

func dwS8(o *Opts, g *dwGeom, p *DwConvParams, q *PerChannelQuantParams, in, filter []int8, bias []int32, out []int8) {
	st := o.Stats
	dwCore(g, in, p.InputOffset, filter, func(pix int, acc []int64) {
		ob := out[pix*g.outC : (pix+1)*g.outC]
		for oc, a := range acc {
			ob[oc] = finishS8(st, o.Requant, a, bias, oc, q.Multiplier[oc], q.Shift[oc], p.OutputOffset, p.Activation)
		}
	})
	if st != nil {
		st.Calls++
	}
}

// DepthwiseConvS8 is arm_depthwise_conv_s8, the generic depthwise kernel:
// any ch_mult, dilation, padding, stride and batch count. in: NHWC with
// C_IN channels; filter: [KH][KW][C_OUT]; bias (nil = NULL), quant params:
// C_OUT; out: NHWC with C_OUT = C_IN·ch_mult. No scratch.
func DepthwiseConvS8(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_depthwise_conv_s8"
	g, err := checkDwArgs(fn, p, q, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s8Min, s8Max)
	if err != nil {
		return err
	}
	dwS8(&o, &g, &p, &q, in, filter, bias, out)
	return nil
}

// checkDwSingle checks the constraints of the depthwise kernels that the
// library does not check but that only hold for one batch and dilation 1
// (they ignore batches and dilation on the DSP path).
func checkDwSingle(fn string, p DwConvParams, inDims Dims) error {
	if inDims.N != 1 || p.Dilation.W != 1 || p.Dilation.H != 1 {
		return invalid(fn, "handles one batch with dilation 1 only (batches %d, dilation %+v)", inDims.N, p.Dilation)
	}
	return nil
}

// DepthwiseConvS8Opt is arm_depthwise_conv_s8_opt: ch_mult 1 (input
// channels == output channels, else ErrArg), one batch, dilation 1. Scratch
// on the C API: DepthwiseConvS8OptGetBufferSize.
func DepthwiseConvS8Opt(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_depthwise_conv_s8_opt"
	if inDims.C != outDims.C {
		return argErr(fn, "input channels != output channels")
	}
	if err := checkDwSingle(fn, p, inDims); err != nil {
		return err
	}
	return DepthwiseConvS8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// DepthwiseConv3x3S8 is arm_depthwise_conv_3x3_s8: 3×3 kernel, ch_mult 1,
// padding.w <= 1 (else ErrArg), one batch, dilation 1. The library always
// reads the middle kernel column, so every output's middle column must lie
// inside the input (true for VALID and SAME geometries).
func DepthwiseConv3x3S8(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_depthwise_conv_3x3_s8"
	if inDims.C != outDims.C {
		return argErr(fn, "input channels != output channels")
	}
	if p.Padding.W > 1 || fDims.W != 3 || fDims.H != 3 {
		return argErr(fn, "needs a 3x3 kernel and padding.w <= 1")
	}
	if err := checkDwSingle(fn, p, inDims); err != nil {
		return err
	}
	if (outDims.W-1)*p.Stride.W-p.Padding.W+1 >= inDims.W {
		return invalid(fn, "output column %d would read the middle kernel column beyond the input width %d", outDims.W-1, inDims.W)
	}
	return DepthwiseConvS8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// DepthwiseConvWrapperS8Kernel returns the C function
// arm_depthwise_conv_wrapper_s8 dispatches to (the same on C and DSP
// builds): arm_depthwise_conv_3x3_s8, arm_depthwise_conv_s8_opt or
// arm_depthwise_conv_s8.
func DepthwiseConvWrapperS8Kernel(p DwConvParams, inDims, fDims Dims) string {
	if p.ChMult == 1 && inDims.N == 1 && p.Dilation.W == 1 && p.Dilation.H == 1 {
		if fDims.W == 3 && fDims.H == 3 && p.Padding.H <= 1 && p.Padding.W <= 1 {
			return "arm_depthwise_conv_3x3_s8"
		}
		return "arm_depthwise_conv_s8_opt"
	}
	return "arm_depthwise_conv_s8"
}

// DepthwiseConvWrapperS8 is arm_depthwise_conv_wrapper_s8. Scratch on the C
// API: DepthwiseConvWrapperS8GetBufferSize. Where the wrapper would run
// arm_depthwise_conv_3x3_s8 on an output wider than that kernel can read
// (see DepthwiseConv3x3S8) it returns ErrInvalid; call DepthwiseConvS8.
func DepthwiseConvWrapperS8(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	switch DepthwiseConvWrapperS8Kernel(p, inDims, fDims) {
	case "arm_depthwise_conv_3x3_s8":
		return DepthwiseConv3x3S8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
	case "arm_depthwise_conv_s8_opt":
		return DepthwiseConvS8Opt(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
	}
	return DepthwiseConvS8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// DepthwiseConvS8OptGetBufferSize is arm_depthwise_conv_s8_opt_get_buffer_size:
// 0 on the C path (which forwards to arm_depthwise_conv_s8), 2·C_IN·KH·KW
// bytes on the DSP path.
func DepthwiseConvS8OptGetBufferSize(t Target, inDims, fDims Dims) int {
	if t == DSPPath {
		return 2 * inDims.C * fDims.H * fDims.W
	}
	return 0
}

// DepthwiseConvWrapperS8GetBufferSize is
// arm_depthwise_conv_wrapper_s8_get_buffer_size: the _opt size when the
// wrapper runs arm_depthwise_conv_s8_opt, else 0.
func DepthwiseConvWrapperS8GetBufferSize(t Target, p DwConvParams, inDims, fDims, outDims Dims) int {
	if inDims.C == outDims.C && inDims.N == 1 && p.Dilation.W == 1 && p.Dilation.H == 1 {
		if fDims.W == 3 && fDims.H == 3 && p.Padding.H <= 1 && p.Padding.W <= 1 {
			return 0
		}
		return DepthwiseConvS8OptGetBufferSize(t, inDims, fDims)
	}
	return 0
}

// finishS16 requantises one s16 output from its accumulator: acc is the
// value the C code holds (int32-wrapped where it accumulates in int32),
// exact the exact sum; bias64 is added in int64 and RequantizeS64 applied.
func finishS16(st *Stats, exact, acc int64, bias []int64, oc int, mult, shift int32, act Activation) int16 {
	if bias != nil {
		acc += bias[oc]
		exact += bias[oc]
	}
	y := RequantizeS64(acc, ReduceMultiplier(mult), shift)
	if st != nil {
		st.Values++
		if exact != acc {
			st.AccWraps++
		}
		st.recordClamp(y, act.Min, act.Max, s16Min, s16Max)
	}
	return int16(min(max(y, act.Min), act.Max))
}

func checkS16Shifts(fn string, q PerChannelQuantParams, n int) error {
	for i := 0; i < n && i < len(q.Shift); i++ {
		if q.Shift[i] > 14 {
			return invalid(fn, "shift %d of channel %d above 14 (arm_nn_requantize_s64)", q.Shift[i], i)
		}
	}
	return nil
}

// DepthwiseConvS16 is arm_depthwise_conv_s16 (offsets must be 0; bias int64,
// nil = NULL): generic kernel, int64 accumulation, RequantizeS64.
func DepthwiseConvS16(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int16, fDims Dims, filter []int8,
	bias []int64, outDims Dims, out []int16) error {
	return dwS16("arm_depthwise_conv_s16", &o, false, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// DepthwiseConvFastS16 is arm_depthwise_conv_fast_s16: ch_mult 1 and
// KH·KW < 512 (else ErrArg), dilation 1. On the DSP path it accumulates
// the products in int32 (wrapping), on the C path it forwards to
// arm_depthwise_conv_s16 (int64). Scratch on the C API:
// DepthwiseConvFastS16GetBufferSize.
func DepthwiseConvFastS16(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int16, fDims Dims, filter []int8,
	bias []int64, outDims Dims, out []int16) error {
	const fn = "arm_depthwise_conv_fast_s16"
	if inDims.C != outDims.C {
		return argErr(fn, "input channels != output channels")
	}
	if fDims.W*fDims.H >= 512 {
		return argErr(fn, "kernel has 512 or more taps")
	}
	if p.Dilation.W != 1 || p.Dilation.H != 1 {
		return invalid(fn, "handles dilation 1 only, got %+v", p.Dilation)
	}
	return dwS16(fn, &o, o.Target == DSPPath, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

func dwS16(fn string, o *Opts, acc32 bool, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int16, fDims Dims,
	filter []int8, bias []int64, outDims Dims, out []int16) error {
	if p.InputOffset != 0 || p.OutputOffset != 0 {
		return invalid(fn, "s16 offsets must be 0 (input %d, output %d)", p.InputOffset, p.OutputOffset)
	}
	g, err := checkDwArgs(fn, p, q, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s16Min, s16Max)
	if err != nil {
		return err
	}
	if err := checkS16Shifts(fn, q, outDims.C); err != nil {
		return err
	}
	st := o.Stats
	dwCore(&g, in, 0, filter, func(pix int, acc []int64) {
		ob := out[pix*g.outC : (pix+1)*g.outC]
		for oc, a := range acc {
			held := a
			if acc32 {
				held = int64(int32(a))
			}
			ob[oc] = finishS16(st, a, held, bias, oc, q.Multiplier[oc], q.Shift[oc], p.Activation)
		}
	})
	if st != nil {
		st.Calls++
	}
	return nil
}

// DepthwiseConvWrapperS16Kernel returns the C function
// arm_depthwise_conv_wrapper_s16 dispatches to: arm_depthwise_conv_fast_s16
// (ch_mult 1, dilation 1, KH·KW < 512) or arm_depthwise_conv_s16.
func DepthwiseConvWrapperS16Kernel(p DwConvParams, inDims, fDims Dims) string {
	if p.ChMult == 1 && p.Dilation.W == 1 && p.Dilation.H == 1 && fDims.W*fDims.H < 512 {
		return "arm_depthwise_conv_fast_s16"
	}
	return "arm_depthwise_conv_s16"
}

// DepthwiseConvWrapperS16 is arm_depthwise_conv_wrapper_s16.
func DepthwiseConvWrapperS16(o Opts, p DwConvParams, q PerChannelQuantParams, inDims Dims, in []int16, fDims Dims, filter []int8,
	bias []int64, outDims Dims, out []int16) error {
	if DepthwiseConvWrapperS16Kernel(p, inDims, fDims) == "arm_depthwise_conv_fast_s16" {
		return DepthwiseConvFastS16(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
	}
	return DepthwiseConvS16(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// DepthwiseConvFastS16GetBufferSize is
// arm_depthwise_conv_fast_s16_get_buffer_size: 0 on the C path, 2·C_IN·KH·KW
// bytes on the DSP path.
func DepthwiseConvFastS16GetBufferSize(t Target, inDims, fDims Dims) int {
	return DepthwiseConvS8OptGetBufferSize(t, inDims, fDims) // same formula
}

// DepthwiseConvWrapperS16GetBufferSize is
// arm_depthwise_conv_wrapper_s16_get_buffer_size.
func DepthwiseConvWrapperS16GetBufferSize(t Target, p DwConvParams, inDims, fDims, outDims Dims) int {
	if DepthwiseConvWrapperS16Kernel(p, inDims, fDims) == "arm_depthwise_conv_fast_s16" {
		return DepthwiseConvFastS16GetBufferSize(t, inDims, fDims)
	}
	return 0
}
