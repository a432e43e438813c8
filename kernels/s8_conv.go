package kernels

// s8 convolutions (arm_convolve_*_s8) and the s16 convolution.
//
// All conv kernels of the library compute the same function on their valid
// geometries (README of the s8 vectors, §4.3): for every output pixel and
// channel acc = Σ (input + input_offset)·filter over the in-bounds taps,
// int32 with wrap-around, + bias, Requantize per channel, + output_offset,
// clamp. The Go functions share one core and differ in the argument checks
// the library makes (returned as ErrArg) and in the scratch sizes they
// report.

// convGeom is the internal geometry of a (possibly grouped, batched)
// convolution.
type convGeom struct {
	batches                int
	inH, inW, inC          int
	kH, kW, kC             int // kC = input channels per group
	outH, outW, outC       int
	strideH, strideW       int
	padH, padW, dilH, dilW int
	groups                 int
}

// checkConvArgs validates a conv call for fn and returns its geometry.
// nBias < 0 means no bias (NULL).
func checkConvArgs(fn string, p ConvParams, q PerChannelQuantParams, inDims Dims, nIn int, fDims Dims, nF int,
	nBias int, outDims Dims, nOut int, tmin, tmax int32) (convGeom, error) {
	var g convGeom
	if err := checkWindowArgs(fn, inDims, fDims, outDims, p.Stride, p.Padding, p.Dilation, p.Activation, tmin, tmax); err != nil {
		return g, err
	}
	if outDims.N != inDims.N {
		return g, invalid(fn, "output batches %d != input batches %d", outDims.N, inDims.N)
	}
	if fDims.N != outDims.C {
		return g, invalid(fn, "filter_dims.n %d != output channels %d", fDims.N, outDims.C)
	}
	if fDims.C > inDims.C || inDims.C%fDims.C != 0 {
		return g, invalid(fn, "filter channels %d must divide input channels %d", fDims.C, inDims.C)
	}
	groups := inDims.C / fDims.C
	if outDims.C%groups != 0 {
		return g, argErr(fn, "output channels not a multiple of the group count")
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
	if nF < fDims.Size() {
		return g, short(fn, "filter", nF, fDims.Size())
	}
	if nBias >= 0 && nBias < outDims.C {
		return g, short(fn, "bias", nBias, outDims.C)
	}
	if nOut < outDims.Size() {
		return g, short(fn, "output", nOut, outDims.Size())
	}
	g = convGeom{batches: inDims.N, inH: inDims.H, inW: inDims.W, inC: inDims.C,
		kH: fDims.H, kW: fDims.W, kC: fDims.C, outH: outDims.H, outW: outDims.W, outC: outDims.C,
		strideH: p.Stride.H, strideW: p.Stride.W, padH: p.Padding.H, padW: p.Padding.W,
		dilH: p.Dilation.H, dilW: p.Dilation.W, groups: groups}
	return g, nil
}

// convColMaxS8 bounds the im2col column kept on the stack; larger columns
// (and more than dwAccMax output channels) are allocated per call.
const convColMaxS8 = 4096

// convCoreS8 computes the exact accumulators (bias excluded) of every
// output pixel and passes them to fin(pixel index over all batches, acc)
// with acc[oc] for oc in [0, outC). Out-of-bounds taps contribute 0.
func convCoreS8[T int8 | int16](g *convGeom, in []T, inOff int32, filter []int8, fin func(pix int, acc []int64)) {
	k := g.kH * g.kW * g.kC
	var colBuf [convColMaxS8]int32
	var col []int32
	if k <= convColMaxS8 {
		col = colBuf[:k]
	} else {
		col = make([]int32, k)
	}
	var accBuf [dwAccMax]int64
	acc := accBuf[:0]
	if g.outC <= dwAccMax {
		acc = accBuf[:g.outC]
	} else {
		acc = make([]int64, g.outC)
	}
	ocPerGroup := g.outC / g.groups
	pix := 0
	for b := 0; b < g.batches; b++ {
		inB := in[b*g.inH*g.inW*g.inC : (b+1)*g.inH*g.inW*g.inC]
		for oy := 0; oy < g.outH; oy++ {
			iy0 := oy*g.strideH - g.padH
			for ox := 0; ox < g.outW; ox++ {
				ix0 := ox*g.strideW - g.padW
				for grp := 0; grp < g.groups; grp++ {
					c0 := grp * g.kC
					i := 0
					for ky := 0; ky < g.kH; ky++ {
						iy := iy0 + ky*g.dilH
						for kx := 0; kx < g.kW; kx++ {
							ix := ix0 + kx*g.dilW
							seg := col[i : i+g.kC]
							i += g.kC
							if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
								clear(seg)
								continue
							}
							src := inB[(iy*g.inW+ix)*g.inC+c0:]
							src = src[:len(seg)]
							for c, v := range src {
								seg[c] = int32(v) + inOff
							}
						}
					}
					oc := grp * ocPerGroup
					end := oc + ocPerGroup
					for ; oc+4 <= end; oc += 4 {
						acc[oc], acc[oc+1], acc[oc+2], acc[oc+3] = dot4(col, filter[oc*k:(oc+4)*k])
					}
					for ; oc < end; oc++ {
						acc[oc] = dots8(col, filter[oc*k:(oc+1)*k])
					}
				}
				fin(pix, acc)
				pix++
			}
		}
	}
}

// dots8 is the exact dot product of col with the int8 row w.
func dots8(col []int32, w []int8) int64 {
	w = w[:len(col)]
	var s0, s1 int64
	i := 0
	for ; i+2 <= len(col); i += 2 {
		s0 += int64(col[i]) * int64(w[i])
		s1 += int64(col[i+1]) * int64(w[i+1])
	}
	if i < len(col) {
		s0 += int64(col[i]) * int64(w[i])
	}
	return s0 + s1
}

// finishS8 requantises one s8 conv/depthwise output: int32 accumulator
// with wrap-around, + bias, Requantize (rounding rq), + output offset, clamp.
func finishS8(st *Stats, rq Requant, exact int64, bias []int32, oc int, mult, shift, outOff int32, act Activation) int8 {
	acc := int32(exact)
	if bias != nil {
		acc += bias[oc]
		exact += int64(bias[oc])
	}
	y := rq.Requantize(acc, mult, shift) + outOff
	if st != nil {
		st.recordOut(exact, acc, y, act.Min, act.Max, s8Min, s8Max)
	}
	return int8(min(max(y, act.Min), act.Max))
}

// convS8 runs the common s8 convolution after the per-kernel checks.
func convS8(o *Opts, g *convGeom, p *ConvParams, q *PerChannelQuantParams, in, filter []int8, bias []int32, out []int8) {
	st := o.Stats
	convCoreS8(g, in, p.InputOffset, filter, func(pix int, acc []int64) {
		ob := out[pix*g.outC : (pix+1)*g.outC]
		for oc, a := range acc {
			ob[oc] = finishS8(st, o.Requant, a, bias, oc, q.Multiplier[oc], q.Shift[oc], p.OutputOffset, p.Activation)
		}
	})
	if st != nil {
		st.Calls++
	}
}

func nBias[T any](b []T) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// ConvolveS8 is arm_convolve_s8 (upscale_dims NULL): the generic im2col
// convolution for any kernel size, stride, padding and dilation, grouped
// convolution (filter_dims.c = input channels / groups; output channel o
// belongs to group o / (C_OUT/groups)) and batches. Layouts: input and
// output NHWC, filter OHWI [C_OUT][KH][KW][KC], bias (nil = NULL) and
// quant params per output channel. On the C API the call needs the scratch
// of ConvolveS8GetBufferSize; the Go kernel needs none.
func ConvolveS8(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_convolve_s8"
	g, err := checkConvArgs(fn, p, q, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s8Min, s8Max)
	if err != nil {
		return err
	}
	convS8(&o, &g, &p, &q, in, filter, bias, out)
	return nil
}

// Convolve1x1S8Fast is arm_convolve_1x1_s8_fast: 1×1 kernel, stride 1, no
// padding (else ErrArg, as the library); filter_dims.c == input channels.
func Convolve1x1S8Fast(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_convolve_1x1_s8_fast"
	if p.Padding.W != 0 || p.Padding.H != 0 || p.Stride.W != 1 || p.Stride.H != 1 {
		return argErr(fn, "needs padding 0 and stride 1")
	}
	if outDims.H != inDims.H || outDims.W != inDims.W {
		return invalid(fn, "output %dx%d must equal the input %dx%d", outDims.H, outDims.W, inDims.H, inDims.W)
	}
	return conv1x1(fn, &o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

// Convolve1x1S8 is arm_convolve_1x1_s8: 1×1 kernel, no padding (else
// ErrArg), any stride.
func Convolve1x1S8(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_convolve_1x1_s8"
	if p.Padding.W != 0 || p.Padding.H != 0 {
		return argErr(fn, "needs padding 0")
	}
	return conv1x1(fn, &o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

func conv1x1(fn string, o *Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	if fDims.H != 1 || fDims.W != 1 || fDims.C != inDims.C {
		return invalid(fn, "needs a 1x1 kernel over all %d input channels, got filter_dims %+v", inDims.C, fDims)
	}
	// The library ignores dilation for 1×1 kernels, and reads the input
	// without bounds checks: the output must not reach beyond it.
	p.Dilation = Tile{1, 1}
	if p.Stride.W >= 1 && p.Stride.H >= 1 && ((outDims.H-1)*p.Stride.H >= inDims.H || (outDims.W-1)*p.Stride.W >= inDims.W) {
		return invalid(fn, "output %dx%d reads beyond the %dx%d input with stride %+v", outDims.H, outDims.W, inDims.H, inDims.W, p.Stride)
	}
	g, err := checkConvArgs(fn, p, q, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s8Min, s8Max)
	if err != nil {
		return err
	}
	convS8(o, &g, &p, &q, in, filter, bias, out)
	return nil
}

// Convolve1xNS8 is arm_convolve_1_x_n_s8: input and kernel of height 1,
// dilation.w 1, (stride.w · input channels) % 4 == 0 (else ErrArg). The
// documented output_dims.w % 4 == 0 is not checked by the library and not
// needed here.
func Convolve1xNS8(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_convolve_1_x_n_s8"
	if inDims.H != 1 || p.Dilation.W != 1 || p.Stride.W == 0 || (p.Stride.W*inDims.C)%4 != 0 {
		return argErr(fn, "needs input height 1, dilation.w 1 and (stride.w*input channels)%4 == 0")
	}
	if fDims.H != 1 || fDims.C != inDims.C {
		return invalid(fn, "needs a 1xN kernel over all input channels, got filter_dims %+v", fDims)
	}
	g, err := checkConvArgs(fn, p, q, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s8Min, s8Max)
	if err != nil {
		return err
	}
	convS8(&o, &g, &p, &q, in, filter, bias, out)
	return nil
}

// ConvolveWrapperS8Kernel returns the C function arm_convolve_wrapper_s8
// dispatches to for these arguments (the same on C and DSP builds):
// arm_convolve_1x1_s8_fast, arm_convolve_1x1_s8, arm_convolve_1_x_n_s8 or
// arm_convolve_s8.
func ConvolveWrapperS8Kernel(p ConvParams, inDims, fDims Dims) string {
	if p.Padding.W == 0 && p.Padding.H == 0 && fDims.W == 1 && fDims.H == 1 &&
		p.Dilation.W == 1 && p.Dilation.H == 1 && inDims.C == fDims.C {
		if p.Stride.W == 1 && p.Stride.H == 1 {
			return "arm_convolve_1x1_s8_fast"
		}
		return "arm_convolve_1x1_s8"
	}
	if inDims.H == 1 && p.Dilation.W == 1 && fDims.H == 1 && (p.Stride.W*inDims.C)%4 == 0 && inDims.C == fDims.C {
		return "arm_convolve_1_x_n_s8"
	}
	return "arm_convolve_s8"
}

// ConvolveWrapperS8 is arm_convolve_wrapper_s8: it runs the kernel
// ConvolveWrapperS8Kernel names. Scratch: ConvolveWrapperS8GetBufferSize.
func ConvolveWrapperS8(o Opts, p ConvParams, q PerChannelQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	switch ConvolveWrapperS8Kernel(p, inDims, fDims) {
	case "arm_convolve_1x1_s8_fast":
		return Convolve1x1S8Fast(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
	case "arm_convolve_1x1_s8":
		return Convolve1x1S8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
	case "arm_convolve_1_x_n_s8":
		return Convolve1xNS8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
	}
	return ConvolveS8(o, p, q, inDims, in, fDims, filter, bias, outDims, out)
}

func ceil4(n int) int { return (n + 3) &^ 3 }

// ConvolveS8GetBufferSize is arm_convolve_s8_get_buffer_size on the C and
// DSP paths: 4·ceil4(KH·KW·C_IN) bytes (two int16 im2col columns).
func ConvolveS8GetBufferSize(t Target, inDims, fDims Dims) int {
	_ = t
	return 4 * ceil4(fDims.H*fDims.W*inDims.C)
}

// Convolve1xNS8GetBufferSize is arm_convolve_1_x_n_s8_get_buffer_size
// (non-MVE builds: the same as ConvolveS8GetBufferSize).
func Convolve1xNS8GetBufferSize(t Target, p ConvParams, inDims, fDims, outDims Dims) int {
	return ConvolveS8GetBufferSize(t, inDims, fDims)
}

// Convolve1x1S8FastGetBufferSize is arm_convolve_1x1_s8_fast_get_buffer_size:
// 0 on the C path and on the DSP path built with gcc.
func Convolve1x1S8FastGetBufferSize(t Target, inDims Dims) int { return 0 }

// ConvolveWrapperS8GetBufferSize is arm_convolve_wrapper_s8_get_buffer_size.
// Like the library it selects the kernel without the wrapper's
// input_dims.c == filter_dims.c test, so for a grouped convolution with a
// 1×1 kernel and no padding it returns 0 although the wrapper then runs
// arm_convolve_s8, which needs ConvolveS8GetBufferSize (the library returns
// ARM_CMSIS_NN_ARG_ERROR without it): call ConvolveS8 directly for grouped
// convolutions.
func ConvolveWrapperS8GetBufferSize(t Target, p ConvParams, inDims, fDims, outDims Dims) int {
	if p.Padding.W == 0 && p.Padding.H == 0 && fDims.W == 1 && fDims.H == 1 && p.Dilation.W == 1 && p.Dilation.H == 1 {
		if p.Stride.W == 1 && p.Stride.H == 1 {
			return Convolve1x1S8FastGetBufferSize(t, inDims)
		}
		return 0
	}
	if inDims.H == 1 && p.Dilation.W == 1 && fDims.H == 1 && (p.Stride.W*inDims.C)%4 == 0 {
		return Convolve1xNS8GetBufferSize(t, p, inDims, fDims, outDims)
	}
	return ConvolveS8GetBufferSize(t, inDims, fDims)
}
