package crt

import (
	"fmt"
	"math/bits"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testvec"
	"github.com/nnq-toolkit/nnq/kernels"
)

// Random cases for the s8/s16 runtime in the vector record format, with the
// expected results computed by the Go kernels (themselves bit-exact with
// the library's vectors): odd channel counts and SIMD leftovers, padding on
// every side, strides 1 and 2, dilation, batches, all wrapper branches.

func f64(v int) float64 { return float64(v) }

func dimsArg(d kernels.Dims) map[string]any {
	return map[string]any{"n": f64(d.N), "h": f64(d.H), "w": f64(d.W), "c": f64(d.C)}
}

func tileArg(t kernels.Tile) map[string]any { return map[string]any{"w": f64(t.W), "h": f64(t.H)} }

func actArg(a kernels.Activation) map[string]any {
	return map[string]any{"min": float64(a.Min), "max": float64(a.Max)}
}

func ints[T int8 | int16 | int32 | int64](x []T) []int64 {
	if x == nil {
		return nil
	}
	r := make([]int64, len(x))
	for i, v := range x {
		r[i] = int64(v)
	}
	return r
}

var rndChannels = []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24}

// rndAxis: kernel, stride, padding, dilation and output size on one axis;
// the output may reach past the VALID size (bottom/right padding).
func rndAxis(r *rand.Rand, in, kmax int, dil bool) (k, s, pad, d, out int) {
	k, s, d = 1+r.Intn(kmax), 1+r.Intn(2), 1
	if dil && r.Intn(4) == 0 {
		d = 2
	}
	pad = r.Intn(k)
	span := d*(k-1) + 1
	out = 1
	if in+pad >= span {
		out = (in+pad-span)/s + 1
	}
	out += r.Intn(2)
	for out > 1 && (out-1)*s-pad >= in {
		out--
	}
	return
}

func rndQuant(r *rand.Rand, n, accBits int) kernels.PerChannelQuantParams {
	q := kernels.PerChannelQuantParams{Multiplier: make([]int32, n), Shift: make([]int32, n)}
	for i := range q.Multiplier {
		q.Multiplier[i] = int32(1<<30 + r.Int63n(1<<30))
		q.Shift[i] = int32(7 - accBits + r.Intn(3) - 1)
	}
	return q
}

// rndQuant16 maps an accumulator of about 2^accBits onto the s16 output
// range (to about 2^14, give or take a bit per channel), so that a few
// units of the accumulator move the output: a kernel that loses or
// misplaces a product shows.
func rndQuant16(r *rand.Rand, n, accBits int) kernels.PerChannelQuantParams {
	q := rndQuant(r, n, accBits)
	for i := range q.Shift {
		q.Shift[i] = int32(14 - accBits + r.Intn(3) - 1)
	}
	return q
}

// accBits16 is about log2 of an s16 sum of k random products (s16 inputs
// times s8 weights grow like sqrt(k)).
func accBits16(k int) int { return 21 + bits.Len(uint(k))/2 }

// rndBias64 is an s64 bias of about 2^accBits (a quarter of the channels
// far beyond int32, which saturate but take the 64-bit path).
func rndBias64(r *rand.Rand, n, accBits int) []int64 {
	b := make([]int64, n)
	for i := range b {
		b[i] = r.Int63n(1<<accBits) - 1<<(accBits-1)
		if r.Intn(4) == 0 {
			b[i] = r.Int63n(1<<36) - 1<<35
		}
	}
	return b
}

func rndAct(r *rand.Rand, lo, hi int32) kernels.Activation {
	if r.Intn(2) == 0 {
		return kernels.Activation{Min: lo, Max: hi}
	}
	a := lo + int32(r.Int63n(int64(hi-lo)/2))
	return kernels.Activation{Min: a, Max: a + int32(r.Int63n(int64(hi-a)))}
}

// synthCase builds a record; run computes the outputs for a target.
func synthCase(fn string, args map[string]any, types map[string]string, inputs map[string][]int64,
	scratch func(kernels.Target) int, run func(kernels.Target) (map[string][]int64, error)) (*testvec.Case, error) {
	c := &testvec.Case{ID: fn + "/random", Function: fn, Args: args, Types: types, Inputs: inputs}
	if scratch != nil {
		c.Scratch = map[string]*testvec.Scratch{"ctx.buf": {Host: scratch(kernels.CPath), M4: scratch(kernels.DSPPath)}}
	}
	zero := 0
	for _, tg := range []kernels.Target{kernels.CPath, kernels.DSPPath} {
		outs, err := run(tg)
		if err != nil {
			return nil, err
		}
		res := testvec.Result{Status: &zero, Outputs: outs}
		if fn == "arm_softmax_s8" || fn == "arm_nn_requantize" {
			res.Status = nil
		}
		if tg == kernels.CPath {
			c.Host = res
		} else {
			c.M4 = res
		}
	}
	return c, nil
}

var convFns = []string{"arm_convolve_wrapper_s8", "arm_convolve_s8", "arm_convolve_1x1_s8_fast", "arm_convolve_1x1_s8", "arm_convolve_1_x_n_s8"}

func rndConv(r *rand.Rand, rq kernels.Requant, s16 bool) (*testvec.Case, error) {
	fn := convFns[r.Intn(len(convFns))]
	kc := rndChannels[r.Intn(len(rndChannels))]
	in := kernels.Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(7), W: 1 + r.Intn(9), C: kc}
	var p kernels.ConvParams
	f := kernels.Dims{N: 1 + r.Intn(17), C: kc}
	var oh, ow int
	f.H, p.Stride.H, p.Padding.H, p.Dilation.H, oh = rndAxis(r, in.H, 4, true)
	f.W, p.Stride.W, p.Padding.W, p.Dilation.W, ow = rndAxis(r, in.W, 5, true)
	switch fn {
	case "arm_convolve_1x1_s8_fast", "arm_convolve_1x1_s8":
		f.H, f.W, p.Padding, p.Dilation = 1, 1, kernels.Tile{}, kernels.Tile{W: 1, H: 1}
		if fn == "arm_convolve_1x1_s8_fast" {
			p.Stride = kernels.Tile{W: 1, H: 1}
		}
		oh, ow = (in.H-1)/p.Stride.H+1, (in.W-1)/p.Stride.W+1
	case "arm_convolve_1_x_n_s8":
		in.H, in.N, f.H, p.Padding.H, p.Dilation, oh = 1, 1, 1, 0, kernels.Tile{W: 1, H: 1}, 1
		in.C, f.C = 4*(1+r.Intn(4)), 0
		f.C = in.C
		ow = 1
		if in.W+p.Padding.W >= f.W {
			ow = (in.W+p.Padding.W-f.W)/p.Stride.W + 1
		}
	case "arm_convolve_s8":
		if !s16 && r.Intn(5) == 0 { // grouped
			g := 2 + r.Intn(2)
			in.C = kc * g
			f.N = g * (1 + r.Intn(5))
		}
	}
	out := kernels.Dims{N: in.N, H: oh, W: ow, C: f.N}
	q := rndQuant(r, out.C, 14+r.Intn(4))
	filter := testvec.RandS8(r, f.Size())
	if s16 {
		fn = []string{"arm_convolve_s16", "arm_convolve_wrapper_s16"}[r.Intn(2)]
		p.Activation = rndAct(r, -32768, 32767)
		ab := accBits16(f.H * f.W * f.C)
		q = rndQuant16(r, out.C, ab)
		input := testvec.RandS16(r, in.Size())
		b := kernels.BiasS16{IsInt32Bias: r.Intn(2) == 0}
		btype := "s64"
		if b.IsInt32Bias {
			btype = "s32"
			b.Int32 = make([]int32, out.C)
			for i := range b.Int32 {
				b.Int32[i] = int32(r.Intn(1<<ab) - 1<<(ab-1))
			}
		} else {
			b.Int64 = rndBias64(r, out.C, ab)
		}
		args := map[string]any{"conv_params": map[string]any{"input_offset": 0.0, "output_offset": 0.0, "stride": tileArg(p.Stride),
			"padding": tileArg(p.Padding), "dilation": tileArg(p.Dilation), "activation": actArg(p.Activation)},
			"input_dims": dimsArg(in), "filter_dims": dimsArg(f), "bias_dims": dimsArg(kernels.Dims{N: 1, H: 1, W: 1, C: out.C}),
			"output_dims": dimsArg(out), "bias_data.is_int32_bias": b.IsInt32Bias}
		inputs := map[string][]int64{"input_data": ints(input), "filter_data": ints(filter), "bias_data": ints(b.Int64),
			"output_mult": ints(q.Multiplier), "output_shift": ints(q.Shift)}
		if b.IsInt32Bias {
			inputs["bias_data"] = ints(b.Int32)
		}
		types := map[string]string{"input_data": "s16", "filter_data": "s8", "bias_data": btype, "output_mult": "s32", "output_shift": "s32", "output_data": "s16"}
		return synthCase(fn, args, types, inputs, func(t kernels.Target) int { return kernels.ConvolveS16GetBufferSize(t, in, f) },
			func(t kernels.Target) (map[string][]int64, error) {
				o := make([]int16, out.Size())
				err := kernels.ConvolveS16(kernels.Opts{Target: t, Requant: rq}, p, q, in, input, f, filter, b, out, o)
				return map[string][]int64{"output_data": ints(o)}, err
			})
	}
	p.InputOffset, p.OutputOffset = int32(r.Intn(256)-127), int32(r.Intn(256)-128)
	p.Activation = rndAct(r, -128, 127)
	input := testvec.RandS8(r, in.Size())
	var bias []int32
	// CMSIS-NN v7.0.0 reads bias_data + group offset even when bias_data is
	// NULL (a crash on the host, garbage on Cortex-M): grouped cases always
	// have a bias so the same cases serve the cross-check with the library.
	if r.Intn(5) != 0 || f.C != in.C {
		bias = make([]int32, out.C)
		for i := range bias {
			bias[i] = int32(r.Intn(20001) - 10000)
		}
	}
	args := map[string]any{"conv_params": map[string]any{"input_offset": float64(p.InputOffset), "output_offset": float64(p.OutputOffset),
		"stride": tileArg(p.Stride), "padding": tileArg(p.Padding), "dilation": tileArg(p.Dilation), "activation": actArg(p.Activation)},
		"input_dims": dimsArg(in), "filter_dims": dimsArg(f), "bias_dims": dimsArg(kernels.Dims{N: 1, H: 1, W: 1, C: out.C}), "output_dims": dimsArg(out)}
	inputs := map[string][]int64{"input_data": ints(input), "filter_data": ints(filter), "bias_data": ints(bias),
		"output_mult": ints(q.Multiplier), "output_shift": ints(q.Shift)}
	types := map[string]string{"input_data": "s8", "filter_data": "s8", "bias_data": "s32", "output_mult": "s32", "output_shift": "s32", "output_data": "s8"}
	kern := map[string]func(kernels.Opts, kernels.ConvParams, kernels.PerChannelQuantParams, kernels.Dims, []int8, kernels.Dims, []int8, []int32, kernels.Dims, []int8) error{
		"arm_convolve_wrapper_s8": kernels.ConvolveWrapperS8, "arm_convolve_s8": kernels.ConvolveS8, "arm_convolve_1x1_s8_fast": kernels.Convolve1x1S8Fast,
		"arm_convolve_1x1_s8": kernels.Convolve1x1S8, "arm_convolve_1_x_n_s8": kernels.Convolve1xNS8}[fn]
	scratch := func(t kernels.Target) int {
		switch fn {
		case "arm_convolve_wrapper_s8":
			if kernels.ConvolveWrapperS8Kernel(p, in, f) == "arm_convolve_s8" {
				return kernels.ConvolveS8GetBufferSize(t, in, f) // grouped: see ConvolveWrapperS8GetBufferSize
			}
			return kernels.ConvolveWrapperS8GetBufferSize(t, p, in, f, out)
		case "arm_convolve_s8", "arm_convolve_1_x_n_s8":
			return kernels.ConvolveS8GetBufferSize(t, in, f)
		}
		return 0
	}
	return synthCase(fn, args, types, inputs, scratch, func(t kernels.Target) (map[string][]int64, error) {
		o := make([]int8, out.Size())
		err := kern(kernels.Opts{Target: t, Requant: rq}, p, q, in, input, f, filter, bias, out, o)
		return map[string][]int64{"output_data": ints(o)}, err
	})
}

var dwFns = []string{"arm_depthwise_conv_wrapper_s8", "arm_depthwise_conv_s8", "arm_depthwise_conv_s8_opt", "arm_depthwise_conv_3x3_s8"}

func rndDw(r *rand.Rand, rq kernels.Requant, s16 bool) (*testvec.Case, error) {
	fn := dwFns[r.Intn(len(dwFns))]
	if s16 {
		fn = []string{"arm_depthwise_conv_s16", "arm_depthwise_conv_wrapper_s16"}[r.Intn(2)]
	}
	in := kernels.Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(8), W: 1 + r.Intn(8), C: rndChannels[r.Intn(len(rndChannels))]}
	p := kernels.DwConvParams{ChMult: 1}
	if r.Intn(4) == 0 {
		p.ChMult = 2 + r.Intn(2)
	}
	var f kernels.Dims
	var oh, ow int
	f.H, p.Stride.H, p.Padding.H, p.Dilation.H, oh = rndAxis(r, in.H, 4, true)
	f.W, p.Stride.W, p.Padding.W, p.Dilation.W, ow = rndAxis(r, in.W, 4, true)
	if fn == "arm_depthwise_conv_s8_opt" || fn == "arm_depthwise_conv_3x3_s8" || r.Intn(3) == 0 {
		in.N, p.ChMult, p.Dilation = 1, 1, kernels.Tile{W: 1, H: 1}
	}
	if fn == "arm_depthwise_conv_3x3_s8" || r.Intn(3) == 0 { // 3x3, padding <= 1
		f.H, f.W = 3, 3
		p.Padding = kernels.Tile{W: r.Intn(2), H: r.Intn(2)}
		oh, ow = (in.H+2*p.Padding.H-3)/p.Stride.H+1, (in.W+2*p.Padding.W-3)/p.Stride.W+1
		if oh < 1 || ow < 1 {
			return nil, fmt.Errorf("too small")
		}
	}
	out := kernels.Dims{N: in.N, H: oh, W: ow, C: in.C * p.ChMult}
	f.N, f.C = 1, out.C
	filter := testvec.RandS8(r, f.H*f.W*f.C)
	dp := map[string]any{"ch_mult": f64(p.ChMult), "stride": tileArg(p.Stride), "padding": tileArg(p.Padding), "dilation": tileArg(p.Dilation)}
	args := map[string]any{"dw_conv_params": dp, "input_dims": dimsArg(in), "filter_dims": dimsArg(f),
		"bias_dims": dimsArg(kernels.Dims{N: 1, H: 1, W: 1, C: out.C}), "output_dims": dimsArg(out)}
	if s16 {
		p.Activation = rndAct(r, -32768, 32767)
		dp["input_offset"], dp["output_offset"], dp["activation"] = 0.0, 0.0, actArg(p.Activation)
		ab := accBits16(f.H * f.W)
		q := rndQuant16(r, out.C, ab)
		input := testvec.RandS16(r, in.Size())
		bias := rndBias64(r, out.C, ab)
		inputs := map[string][]int64{"input_data": ints(input), "filter_data": ints(filter), "bias_data": bias,
			"output_mult": ints(q.Multiplier), "output_shift": ints(q.Shift)}
		types := map[string]string{"input_data": "s16", "filter_data": "s8", "bias_data": "s64", "output_mult": "s32", "output_shift": "s32", "output_data": "s16"}
		kern := kernels.DepthwiseConvS16
		scratch := func(kernels.Target) int { return 0 }
		if fn == "arm_depthwise_conv_wrapper_s16" {
			kern = kernels.DepthwiseConvWrapperS16
			scratch = func(t kernels.Target) int { return kernels.DepthwiseConvWrapperS16GetBufferSize(t, p, in, f, out) }
		}
		return synthCase(fn, args, types, inputs, scratch, func(t kernels.Target) (map[string][]int64, error) {
			o := make([]int16, out.Size())
			err := kern(kernels.Opts{Target: t, Requant: rq}, p, q, in, input, f, filter, bias, out, o)
			return map[string][]int64{"output_data": ints(o)}, err
		})
	}
	p.InputOffset, p.OutputOffset = int32(r.Intn(256)-127), int32(r.Intn(256)-128)
	p.Activation = rndAct(r, -128, 127)
	dp["input_offset"], dp["output_offset"], dp["activation"] = float64(p.InputOffset), float64(p.OutputOffset), actArg(p.Activation)
	q := rndQuant(r, out.C, 12)
	input := testvec.RandS8(r, in.Size())
	bias := make([]int32, out.C)
	for i := range bias {
		bias[i] = int32(r.Intn(4001) - 2000)
	}
	inputs := map[string][]int64{"input_data": ints(input), "filter_data": ints(filter), "bias_data": ints(bias),
		"output_mult": ints(q.Multiplier), "output_shift": ints(q.Shift)}
	types := map[string]string{"input_data": "s8", "filter_data": "s8", "bias_data": "s32", "output_mult": "s32", "output_shift": "s32", "output_data": "s8"}
	kern := map[string]func(kernels.Opts, kernels.DwConvParams, kernels.PerChannelQuantParams, kernels.Dims, []int8, kernels.Dims, []int8, []int32, kernels.Dims, []int8) error{
		"arm_depthwise_conv_wrapper_s8": kernels.DepthwiseConvWrapperS8, "arm_depthwise_conv_s8": kernels.DepthwiseConvS8,
		"arm_depthwise_conv_s8_opt": kernels.DepthwiseConvS8Opt, "arm_depthwise_conv_3x3_s8": kernels.DepthwiseConv3x3S8}[fn]
	scratch := func(t kernels.Target) int {
		switch fn {
		case "arm_depthwise_conv_wrapper_s8":
			return kernels.DepthwiseConvWrapperS8GetBufferSize(t, p, in, f, out)
		case "arm_depthwise_conv_s8_opt":
			return kernels.DepthwiseConvS8OptGetBufferSize(t, in, f)
		}
		return 0
	}
	return synthCase(fn, args, types, inputs, scratch, func(t kernels.Target) (map[string][]int64, error) {
		o := make([]int8, out.Size())
		err := kern(kernels.Opts{Target: t, Requant: rq}, p, q, in, input, f, filter, bias, out, o)
		return map[string][]int64{"output_data": ints(o)}, err
	})
}

func rndFC(r *rand.Rand, rq kernels.Requant, s16 bool) (*testvec.Case, error) {
	depth, rows, batches := 1+r.Intn(90), 1+r.Intn(20), 1+r.Intn(3)
	if r.Intn(8) == 0 {
		depth = 300 + r.Intn(300) // longer than the DSP stack buffer
	}
	in, f, out := kernels.Dims{N: batches, H: 1, W: 1, C: depth}, kernels.Dims{N: depth, H: 1, W: 1, C: rows}, kernels.Dims{N: batches, H: 1, W: 1, C: rows}
	q := kernels.PerTensorQuantParams{Multiplier: int32(1<<30 + r.Int63n(1<<30)), Shift: int32(-7 - r.Intn(5))}
	filter := testvec.RandS8(r, depth*rows)
	var p kernels.FCParams
	args := map[string]any{"input_dims": dimsArg(in), "filter_dims": dimsArg(f), "bias_dims": dimsArg(kernels.Dims{N: 1, H: 1, W: 1, C: rows}),
		"output_dims": dimsArg(out), "quant_params": map[string]any{"multiplier": float64(q.Multiplier), "shift": float64(q.Shift)}}
	scratch := func(kernels.Target) int { return 0 }
	if s16 {
		p.Activation = rndAct(r, -32768, 32767)
		q.Shift -= 8
		args["quant_params"] = map[string]any{"multiplier": float64(q.Multiplier), "shift": float64(q.Shift)}
		args["fc_params"] = map[string]any{"input_offset": 0.0, "filter_offset": 0.0, "output_offset": 0.0, "activation": actArg(p.Activation)}
		input := testvec.RandS16(r, batches*depth)
		bias := make([]int64, rows)
		for i := range bias {
			bias[i] = r.Int63n(1<<34) - 1<<33
		}
		inputs := map[string][]int64{"input_data": ints(input), "filter_data": ints(filter), "bias_data": bias}
		types := map[string]string{"input_data": "s16", "filter_data": "s8", "bias_data": "s64", "output_data": "s16"}
		return synthCase("arm_fully_connected_s16", args, types, inputs, scratch, func(t kernels.Target) (map[string][]int64, error) {
			o := make([]int16, out.Size())
			err := kernels.FullyConnectedS16(kernels.Opts{Target: t, Requant: rq}, p, q, in, input, f, filter, bias, out, o)
			return map[string][]int64{"output_data": ints(o)}, err
		})
	}
	p = kernels.FCParams{InputOffset: int32(r.Intn(256) - 127), OutputOffset: int32(r.Intn(256) - 128), Activation: rndAct(r, -128, 127)}
	if r.Intn(4) == 0 {
		p.FilterOffset = int32(r.Intn(11) - 5)
	}
	args["fc_params"] = map[string]any{"input_offset": float64(p.InputOffset), "filter_offset": float64(p.FilterOffset),
		"output_offset": float64(p.OutputOffset), "activation": actArg(p.Activation)}
	input := testvec.RandS8(r, batches*depth)
	bias := make([]int32, rows)
	for i := range bias {
		bias[i] = int32(r.Intn(20001) - 10000)
	}
	inputs := map[string][]int64{"input_data": ints(input), "filter_data": ints(filter), "bias_data": ints(bias)}
	types := map[string]string{"input_data": "s8", "filter_data": "s8", "bias_data": "s32", "output_data": "s8"}
	return synthCase("arm_fully_connected_s8", args, types, inputs, scratch, func(t kernels.Target) (map[string][]int64, error) {
		o := make([]int8, out.Size())
		err := kernels.FullyConnectedS8(kernels.Opts{Target: t, Requant: rq}, p, q, in, input, f, filter, bias, out, o)
		return map[string][]int64{"output_data": ints(o)}, err
	})
}

func rndPool(r *rand.Rand, rq kernels.Requant, s16 bool) (*testvec.Case, error) {
	in := kernels.Dims{N: 1 + r.Intn(2), H: 1 + r.Intn(9), W: 1 + r.Intn(9), C: rndChannels[r.Intn(len(rndChannels))]}
	if r.Intn(6) == 0 { // large global window (more than 256 taps)
		in = kernels.Dims{N: 1, H: 17 + r.Intn(4), W: 16, C: 4 + r.Intn(13)}
	}
	var p kernels.PoolParams
	var f kernels.Dims
	var oh, ow int
	f.H, p.Stride.H, p.Padding.H, _, oh = rndAxis(r, in.H, 4, false)
	f.W, p.Stride.W, p.Padding.W, _, ow = rndAxis(r, in.W, 4, false)
	if in.H > 16 {
		f.H, f.W, p.Stride, p.Padding, oh, ow = in.H, in.W, kernels.Tile{W: 1, H: 1}, kernels.Tile{}, 1, 1
	}
	f.N, f.C = 1, 1
	out := kernels.Dims{N: in.N, H: oh, W: ow, C: in.C}
	lo, hi, typ := int32(-128), int32(127), "s8"
	if s16 {
		lo, hi, typ = -32768, 32767, "s16"
	}
	p.Activation = rndAct(r, lo, hi)
	kind := r.Intn(3) // max, the library's average, nnq's ties-to-even average
	avg, even := kind > 0, kind == 2
	fn := [3]string{"arm_max_pool_", "arm_avgpool_", "nnq_avgpool_"}[kind] + typ
	if even {
		fn += "_even"
		// Small inputs and windows of 2 or 4 positions make ties frequent.
		p.Activation = kernels.Activation{Min: lo, Max: hi}
	}
	args := map[string]any{"pool_params": map[string]any{"stride": tileArg(p.Stride), "padding": tileArg(p.Padding), "activation": actArg(p.Activation)},
		"input_dims": dimsArg(in), "filter_dims": dimsArg(f), "output_dims": dimsArg(out)}
	types := map[string]string{"input_data": typ, "output_data": typ}
	scratch := func(t kernels.Target) int {
		if avg && !even {
			return kernels.AvgpoolS8GetBufferSize(t, out.W, in.C)
		}
		return 0
	}
	if s16 {
		input := testvec.RandS16(r, in.Size())
		if even {
			for i := range input {
				input[i] = int16(r.Intn(9) - 4)
			}
		}
		return synthCase(fn, args, types, map[string][]int64{"input_data": ints(input)}, scratch, func(t kernels.Target) (map[string][]int64, error) {
			o := make([]int16, out.Size())
			k := kernels.MaxPoolS16
			if even {
				k = kernels.NNQAvgpoolS16Even
			} else if avg {
				k = kernels.AvgpoolS16
			}
			err := k(kernels.Opts{Target: t, Requant: rq}, p, in, input, f, out, o)
			return map[string][]int64{"output_data": ints(o)}, err
		})
	}
	input := testvec.RandS8(r, in.Size())
	if even && r.Intn(2) == 0 {
		for i := range input {
			input[i] = int8(r.Intn(9) - 4)
		}
	}
	return synthCase(fn, args, types, map[string][]int64{"input_data": ints(input)}, scratch, func(t kernels.Target) (map[string][]int64, error) {
		o := make([]int8, out.Size())
		k := kernels.MaxPoolS8
		if even {
			k = kernels.NNQAvgpoolS8Even
		} else if avg {
			k = kernels.AvgpoolS8
		}
		err := k(kernels.Opts{Target: t, Requant: rq}, p, in, input, f, out, o)
		return map[string][]int64{"output_data": ints(o)}, err
	})
}

func rndElementwise(r *rand.Rand, rq kernels.Requant) (*testvec.Case, error) {
	n := r.Intn(70)
	a, b := testvec.RandS8(r, n), testvec.RandS8(r, n)
	args := map[string]any{"block_size": f64(n), "input_1_offset": float64(r.Intn(256) - 127), "input_2_offset": float64(r.Intn(256) - 127),
		"out_offset": float64(r.Intn(256) - 128), "out_mult": float64(1<<30 + r.Int63n(1<<30)), "out_activation_min": -128.0, "out_activation_max": 127.0}
	inputs := map[string][]int64{"input_1_vect": ints(a), "input_2_vect": ints(b)}
	types := map[string]string{"input_1_vect": "s8", "input_2_vect": "s8", "output": "s8"}
	i32 := func(k string) int32 { return int32(args[k].(float64)) }
	if r.Intn(2) == 0 {
		args["out_shift"] = float64(-6 - r.Intn(4))
		return synthCase("arm_elementwise_mul_s8", args, types, inputs, nil, func(t kernels.Target) (map[string][]int64, error) {
			o := make([]int8, n)
			err := kernels.ElementwiseMulS8(kernels.Opts{Target: t, Requant: rq}, a, b, kernels.ElementwiseMulS8Params{Input1Offset: i32("input_1_offset"),
				Input2Offset: i32("input_2_offset"), OutOffset: i32("out_offset"), OutMult: i32("out_mult"), OutShift: i32("out_shift"),
				OutActivationMin: -128, OutActivationMax: 127}, o, n)
			return map[string][]int64{"output": ints(o)}, err
		})
	}
	args["input_1_mult"], args["input_2_mult"] = float64(1<<30+r.Int63n(1<<30)), float64(1<<30+r.Int63n(1<<30))
	args["input_1_shift"], args["input_2_shift"], args["left_shift"] = float64(-r.Intn(3)), float64(-r.Intn(3)), 20.0
	args["out_shift"] = float64(-18 - r.Intn(3))
	return synthCase("arm_elementwise_add_s8", args, types, inputs, nil, func(t kernels.Target) (map[string][]int64, error) {
		o := make([]int8, n)
		err := kernels.ElementwiseAddS8(kernels.Opts{Target: t, Requant: rq}, a, b, kernels.ElementwiseAddS8Params{Input1Offset: i32("input_1_offset"),
			Input1Mult: i32("input_1_mult"), Input1Shift: i32("input_1_shift"), Input2Offset: i32("input_2_offset"),
			Input2Mult: i32("input_2_mult"), Input2Shift: i32("input_2_shift"), LeftShift: 20, OutOffset: i32("out_offset"),
			OutMult: i32("out_mult"), OutShift: i32("out_shift"), OutActivationMin: -128, OutActivationMax: 127}, o, n)
		return map[string][]int64{"output": ints(o)}, err
	})
}

func rndSoftmax(r *rand.Rand, rq kernels.Requant) (*testvec.Case, error) {
	rows, size := 1+r.Intn(3), 1+r.Intn(60)
	in := testvec.RandS8(r, rows*size)
	shift := int32(18 + r.Intn(6))
	mult := int32(1<<30 + r.Int63n(1<<30))
	diffMin := -int32(int64(31<<26) >> uint(shift))
	args := map[string]any{"num_rows": f64(rows), "row_size": f64(size), "mult": float64(mult), "shift": float64(shift), "diff_min": float64(diffMin)}
	return synthCase("arm_softmax_s8", args, map[string]string{"input": "s8", "output": "s8"}, map[string][]int64{"input": ints(in)}, nil,
		func(t kernels.Target) (map[string][]int64, error) {
			o := make([]int8, rows*size)
			err := kernels.SoftmaxS8(kernels.Opts{Target: t, Requant: rq}, in, rows, size, mult, shift, diffMin, o)
			return map[string][]int64{"output": ints(o)}, err
		})
}

// rndRequantize: arm_nn_requantize on random values, multipliers and
// shifts, a third of them extreme (int32 limits, shifts at both ends, exact
// ties), where the two roundings and the int32 truncation of the single
// rounding's intermediate show.
func rndRequantize(r *rand.Rand, rq kernels.Requant) (*testvec.Case, error) {
	n := 64
	val, mult, shift := make([]int32, n), make([]int32, n), make([]int32, n)
	for i := range val {
		val[i], mult[i], shift[i] = int32(r.Uint32()), int32(r.Uint32())|1<<30, int32(r.Intn(62)-31)
		switch r.Intn(6) {
		case 0:
			val[i] = [...]int32{-1 << 31, 1<<31 - 1, 0, 1, -1}[r.Intn(5)]
		case 1:
			mult[i] = [...]int32{1<<31 - 1, 1 << 30, -1<<31 + 1}[r.Intn(3)]
			shift[i] = [...]int32{-31, 30, 0, -1}[r.Intn(4)]
		case 2: // a tie: val = odd multiple of 2^(right-1), mult = 2^30
			right := r.Intn(20) + 1
			val[i], mult[i], shift[i] = int32((2*r.Intn(1000)-999)<<uint(right-1)), 1<<30, int32(-right)
		}
	}
	res := make([]int32, n)
	for i := range val {
		res[i] = rq.Requantize(val[i], mult[i], shift[i])
	}
	types := map[string]string{"val": "s32", "multiplier": "s32", "shift": "s32", "result": "s32"}
	inputs := map[string][]int64{"val": ints(val), "multiplier": ints(mult), "shift": ints(shift)}
	return synthCase("arm_nn_requantize", map[string]any{"count": f64(n)}, types, inputs, nil, func(kernels.Target) (map[string][]int64, error) {
		return map[string][]int64{"result": ints(res)}, nil
	})
}

// randomS8Cases makes n random cases (fixed seed) over all kernel families
// for the library's default build (double rounding).
func randomS8Cases(t *testing.T, seed int64, n int) []*testvec.Case {
	t.Helper()
	return randomS8CasesWith(t, seed, n, kernels.DoubleRounding)
}

// randomS8CasesWith makes n random cases whose expected results follow the
// requantisation rq (SingleRounding: a build with
// CMSIS_NN_USE_SINGLE_ROUNDING).
func randomS8CasesWith(t *testing.T, seed int64, n int, rq kernels.Requant) []*testvec.Case {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	gens := []func() (*testvec.Case, error){
		func() (*testvec.Case, error) { return rndConv(r, rq, false) },
		func() (*testvec.Case, error) { return rndConv(r, rq, false) },
		func() (*testvec.Case, error) { return rndConv(r, rq, true) },
		func() (*testvec.Case, error) { return rndDw(r, rq, false) },
		func() (*testvec.Case, error) { return rndDw(r, rq, false) },
		func() (*testvec.Case, error) { return rndDw(r, rq, true) },
		func() (*testvec.Case, error) { return rndFC(r, rq, false) },
		func() (*testvec.Case, error) { return rndFC(r, rq, true) },
		func() (*testvec.Case, error) { return rndPool(r, rq, false) },
		func() (*testvec.Case, error) { return rndPool(r, rq, true) },
		func() (*testvec.Case, error) { return rndElementwise(r, rq) },
		func() (*testvec.Case, error) { return rndSoftmax(r, rq) },
		func() (*testvec.Case, error) { return rndRequantize(r, rq) },
	}
	var cases []*testvec.Case
	for tries := 0; len(cases) < n; tries++ {
		if tries > 20*n {
			t.Fatalf("could only make %d of %d random cases", len(cases), n)
		}
		c, err := gens[len(cases)%len(gens)]()
		if err != nil {
			continue // the Go kernel refuses this geometry for this variant
		}
		c.ID = fmt.Sprintf("%s/%d", c.ID, len(cases))
		cases = append(cases, c)
	}
	return cases
}

// TestS8RandomVsGo runs random cases through the C runtime (C path, DSP
// kernels emulated on the host, both under the sanitizers unless -short)
// and compares with the Go kernels; the "-single" builds define
// CMSIS_NN_USE_SINGLE_ROUNDING and run cases expecting single rounding.
func TestS8RandomVsGo(t *testing.T) {
	cases := randomS8Cases(t, 11, 600)
	single := randomS8CasesWith(t, 13, 600, kernels.SingleRounding)
	flavours := []string{"s8-c", "s8-dsp", "s8-c-single", "s8-dsp-single"}
	if !testing.Short() {
		flavours = append(flavours, "s8-c-san", "s8-dsp-san", "s8-dsp-single-san")
	}
	for _, fl := range flavours {
		exe := s8HostDriver(t, fl)
		cs := cases
		if strings.Contains(fl, "-single") {
			cs = single
		}
		s8RunCases(t, fl, cs, strings.HasPrefix(fl, "s8-dsp"), func(dcs []dCase) []dResult { return runDriver(t, exe, dcs) })
	}
}

// TestS8RandomQEMU runs the random cases on Cortex-M4 (DSP kernels).
func TestS8RandomQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	rt := runtimeDir(t)
	srcs := []string{filepath.Join("c", "testdriver", "driver_s8.c")}
	for _, f := range s8DriverSources {
		srcs = append(srcs, filepath.Join(rt, f))
	}
	for _, run := range []struct {
		name  string
		cases []*testvec.Case
		defs  []string
	}{
		{"cortex-m4", randomS8Cases(t, 12, 600), nil},
		// Single rounding: a smaller sample (its own build).
		{"cortex-m4-single", randomS8CasesWith(t, 14, 300, kernels.SingleRounding), []string{"-DCMSIS_NN_USE_SINGLE_ROUNDING"}},
	} {
		dir := t.TempDir()
		elf := cmBuild(t, cortexM4, dir, []string{rt}, run.defs, srcs)
		s8RunCases(t, run.name, run.cases, true, func(dcs []dCase) []dResult { return cmRun(t, cortexM4, dir, elf, dcs) })
	}
}
