package kernels

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testvec"
)

// Ground truth of the CMSIS-NN v7.0.0 s8/s16 API: the full set is read
// from the shared vectors beside the checkout (testvec.Locate), a small
// hand-picked subset is committed in testdata/cmsis-nn-s8-subset.

const s8SubsetDir = "testdata/cmsis-nn-s8-subset"

const s8TotalCases = 1222

var (
	s8Once  sync.Once
	s8Dir   string
	s8Cases []*testvec.Case
	s8Err   error
)

// s8Full returns the full vector set, skipping (or failing with CI=true)
// when it is absent.
func s8Full(t *testing.T) []*testvec.Case {
	t.Helper()
	s8Once.Do(func() { s8Dir, s8Cases, s8Err = testvec.Full(".") })
	if s8Err == testvec.ErrAbsent {
		if os.Getenv("CI") == "true" {
			t.Fatal(s8Err)
		}
		t.Skip(s8Err.Error() + "; the committed subset runs in TestS8VectorsSubset")
	}
	if s8Err != nil {
		t.Fatal(s8Err)
	}
	return s8Cases
}

func vDims(c *testvec.Case, name string) Dims {
	return Dims{N: int(c.MustInt(name + ".n")), H: int(c.MustInt(name + ".h")), W: int(c.MustInt(name + ".w")), C: int(c.MustInt(name + ".c"))}
}

func vTile(c *testvec.Case, name string) Tile {
	return Tile{W: int(c.MustInt(name + ".w")), H: int(c.MustInt(name + ".h"))}
}

func vAct(c *testvec.Case, name string) Activation {
	return Activation{Min: int32(c.MustInt(name + ".min")), Max: int32(c.MustInt(name + ".max"))}
}

func vConvParams(c *testvec.Case) ConvParams {
	const p = "conv_params"
	return ConvParams{InputOffset: int32(c.MustInt(p + ".input_offset")), OutputOffset: int32(c.MustInt(p + ".output_offset")),
		Stride: vTile(c, p+".stride"), Padding: vTile(c, p+".padding"), Dilation: vTile(c, p+".dilation"), Activation: vAct(c, p+".activation")}
}

func vDwParams(c *testvec.Case) DwConvParams {
	const p = "dw_conv_params"
	return DwConvParams{InputOffset: int32(c.MustInt(p + ".input_offset")), OutputOffset: int32(c.MustInt(p + ".output_offset")),
		ChMult: int(c.MustInt(p + ".ch_mult")), Stride: vTile(c, p+".stride"), Padding: vTile(c, p+".padding"),
		Dilation: vTile(c, p+".dilation"), Activation: vAct(c, p+".activation")}
}

func vFCParams(c *testvec.Case) FCParams {
	const p = "fc_params"
	return FCParams{InputOffset: int32(c.MustInt(p + ".input_offset")), FilterOffset: int32(c.MustInt(p + ".filter_offset")),
		OutputOffset: int32(c.MustInt(p + ".output_offset")), Activation: vAct(c, p+".activation")}
}

func vPoolParams(c *testvec.Case) PoolParams {
	const p = "pool_params"
	return PoolParams{Stride: vTile(c, p+".stride"), Padding: vTile(c, p+".padding"), Activation: vAct(c, p+".activation")}
}

// vIs converts record values (nil stays nil, i.e. NULL).
func vIs[T int8 | int16 | int32](x []int64) []T {
	if x == nil {
		return nil
	}
	r := make([]T, len(x))
	for i, v := range x {
		r[i] = T(v)
	}
	return r
}

func vI64s[T int8 | int16 | int32](x []T) []int64 {
	r := make([]int64, len(x))
	for i, v := range x {
		r[i] = int64(v)
	}
	return r
}

func vQuant(c *testvec.Case) PerChannelQuantParams {
	return PerChannelQuantParams{Multiplier: vIs[int32](c.Inputs["output_mult"]), Shift: vIs[int32](c.Inputs["output_shift"])}
}

// s8Run runs one case through the Go kernel with target t. It returns the
// status (nil for void functions), the outputs, and the scratch size the
// GetBufferSize function reports (-1 for functions without a context).
func s8Run(c *testvec.Case, o Opts) (status *int, outs map[string][]int64, scratch int, err error) {
	in := c.Inputs
	outs = map[string][]int64{}
	scratch = 0
	st := func(e error) (*int, error) {
		s, ok := NNStatusOf(e)
		if !ok {
			return nil, e
		}
		v := int(s)
		return &v, nil
	}
	t := o.Target
	switch fn := c.Function; {
	case strings.HasPrefix(fn, "arm_convolve_") && !strings.Contains(fn, "s16"):
		p, q := vConvParams(c), vQuant(c)
		inD, fD, oD := vDims(c, "input_dims"), vDims(c, "filter_dims"), vDims(c, "output_dims")
		out := make([]int8, oD.Size())
		kern := map[string]func(Opts, ConvParams, PerChannelQuantParams, Dims, []int8, Dims, []int8, []int32, Dims, []int8) error{
			"arm_convolve_s8": ConvolveS8, "arm_convolve_1x1_s8_fast": Convolve1x1S8Fast, "arm_convolve_1x1_s8": Convolve1x1S8,
			"arm_convolve_1_x_n_s8": Convolve1xNS8, "arm_convolve_wrapper_s8": ConvolveWrapperS8}[fn]
		if kern == nil {
			return nil, nil, 0, fmt.Errorf("no Go kernel for %s", fn)
		}
		status, err = st(kern(o, p, q, inD, vIs[int8](in["input_data"]), fD, vIs[int8](in["filter_data"]), vIs[int32](in["bias_data"]), oD, out))
		outs["output_data"] = vI64s(out)
		switch fn {
		case "arm_convolve_s8":
			scratch = ConvolveS8GetBufferSize(t, inD, fD)
		case "arm_convolve_1x1_s8_fast":
			scratch = Convolve1x1S8FastGetBufferSize(t, inD)
		case "arm_convolve_1_x_n_s8":
			scratch = Convolve1xNS8GetBufferSize(t, p, inD, fD, oD)
		case "arm_convolve_wrapper_s8":
			scratch = ConvolveWrapperS8GetBufferSize(t, p, inD, fD, oD)
		}
	case strings.HasPrefix(fn, "arm_depthwise_conv_") && !strings.Contains(fn, "s16"):
		p, q := vDwParams(c), vQuant(c)
		inD, fD, oD := vDims(c, "input_dims"), vDims(c, "filter_dims"), vDims(c, "output_dims")
		out := make([]int8, oD.Size())
		kern := map[string]func(Opts, DwConvParams, PerChannelQuantParams, Dims, []int8, Dims, []int8, []int32, Dims, []int8) error{
			"arm_depthwise_conv_s8": DepthwiseConvS8, "arm_depthwise_conv_s8_opt": DepthwiseConvS8Opt,
			"arm_depthwise_conv_3x3_s8": DepthwiseConv3x3S8, "arm_depthwise_conv_wrapper_s8": DepthwiseConvWrapperS8}[fn]
		if kern == nil {
			return nil, nil, 0, fmt.Errorf("no Go kernel for %s", fn)
		}
		status, err = st(kern(o, p, q, inD, vIs[int8](in["input_data"]), fD, vIs[int8](in["filter_data"]), vIs[int32](in["bias_data"]), oD, out))
		outs["output_data"] = vI64s(out)
		switch fn {
		case "arm_depthwise_conv_s8_opt":
			scratch = DepthwiseConvS8OptGetBufferSize(t, inD, fD)
		case "arm_depthwise_conv_wrapper_s8":
			scratch = DepthwiseConvWrapperS8GetBufferSize(t, p, inD, fD, oD)
		}
	case fn == "arm_convolve_s16" || fn == "arm_convolve_wrapper_s16":
		p, q := vConvParams(c), vQuant(c)
		inD, fD, oD := vDims(c, "input_dims"), vDims(c, "filter_dims"), vDims(c, "output_dims")
		out := make([]int16, oD.Size())
		var b BiasS16
		b.IsInt32Bias = c.MustInt("bias_data.is_int32_bias") != 0
		if b.IsInt32Bias {
			b.Int32 = vIs[int32](in["bias_data"])
		} else {
			b.Int64 = in["bias_data"]
		}
		kern := ConvolveS16
		scratch = ConvolveS16GetBufferSize(t, inD, fD)
		if fn == "arm_convolve_wrapper_s16" {
			kern = ConvolveWrapperS16
			scratch = ConvolveWrapperS16GetBufferSize(t, p, inD, fD, oD)
		}
		status, err = st(kern(o, p, q, inD, vIs[int16](in["input_data"]), fD, vIs[int8](in["filter_data"]), b, oD, out))
		outs["output_data"] = vI64s(out)
	case fn == "arm_depthwise_conv_s16" || fn == "arm_depthwise_conv_wrapper_s16":
		p, q := vDwParams(c), vQuant(c)
		inD, fD, oD := vDims(c, "input_dims"), vDims(c, "filter_dims"), vDims(c, "output_dims")
		out := make([]int16, oD.Size())
		kern := DepthwiseConvS16
		if fn == "arm_depthwise_conv_wrapper_s16" {
			kern = DepthwiseConvWrapperS16
			scratch = DepthwiseConvWrapperS16GetBufferSize(t, p, inD, fD, oD)
		}
		status, err = st(kern(o, p, q, inD, vIs[int16](in["input_data"]), fD, vIs[int8](in["filter_data"]), in["bias_data"], oD, out))
		outs["output_data"] = vI64s(out)
	case fn == "arm_fully_connected_s8" || fn == "arm_fully_connected_s16":
		p := vFCParams(c)
		q := PerTensorQuantParams{Multiplier: int32(c.MustInt("quant_params.multiplier")), Shift: int32(c.MustInt("quant_params.shift"))}
		inD, fD, oD := vDims(c, "input_dims"), vDims(c, "filter_dims"), vDims(c, "output_dims")
		if fn == "arm_fully_connected_s8" {
			out := make([]int8, oD.Size())
			status, err = st(FullyConnectedS8(o, p, q, inD, vIs[int8](in["input_data"]), fD, vIs[int8](in["filter_data"]), vIs[int32](in["bias_data"]), oD, out))
			outs["output_data"] = vI64s(out)
			scratch = FullyConnectedS8GetBufferSize(t, fD)
		} else {
			out := make([]int16, oD.Size())
			status, err = st(FullyConnectedS16(o, p, q, inD, vIs[int16](in["input_data"]), fD, vIs[int8](in["filter_data"]), in["bias_data"], oD, out))
			outs["output_data"] = vI64s(out)
			scratch = FullyConnectedS16GetBufferSize(t, fD)
		}
	case strings.Contains(fn, "pool"):
		p := vPoolParams(c)
		inD, fD, oD := vDims(c, "input_dims"), vDims(c, "filter_dims"), vDims(c, "output_dims")
		if strings.HasSuffix(fn, "_s8") {
			out := make([]int8, oD.Size())
			kern := MaxPoolS8
			if fn == "arm_avgpool_s8" {
				kern = AvgpoolS8
				scratch = AvgpoolS8GetBufferSize(t, oD.W, inD.C)
			}
			status, err = st(kern(o, p, inD, vIs[int8](in["input_data"]), fD, oD, out))
			outs["output_data"] = vI64s(out)
		} else {
			out := make([]int16, oD.Size())
			kern := MaxPoolS16
			if fn == "arm_avgpool_s16" {
				kern = AvgpoolS16
				scratch = AvgpoolS16GetBufferSize(t, oD.W, inD.C)
			}
			status, err = st(kern(o, p, inD, vIs[int16](in["input_data"]), fD, oD, out))
			outs["output_data"] = vI64s(out)
		}
	case fn == "arm_softmax_s8":
		rows, size := int(c.MustInt("num_rows")), int(c.MustInt("row_size"))
		out := make([]int8, rows*size)
		err = SoftmaxS8(o, vIs[int8](in["input"]), rows, size, int32(c.MustInt("mult")), int32(c.MustInt("shift")), int32(c.MustInt("diff_min")), out)
		outs["output"] = vI64s(out)
		scratch = -1
	case fn == "arm_softmax_s16":
		rows, size := int(c.MustInt("num_rows")), int(c.MustInt("row_size"))
		out := make([]int16, rows*size)
		lut := SoftmaxLUTS16{ExpLUT: vIs[int16](in["softmax_params.exp_lut"]), OneByOneLUT: vIs[int16](in["softmax_params.one_by_one_lut"])}
		status, err = st(SoftmaxS16(o, vIs[int16](in["input"]), rows, size, int32(c.MustInt("mult")), int32(c.MustInt("shift")), lut, out))
		outs["output"] = vI64s(out)
		scratch = -1
	case fn == "arm_elementwise_add_s8":
		a := func(k string) int32 { return int32(c.MustInt(k)) }
		p := ElementwiseAddS8Params{Input1Offset: a("input_1_offset"), Input1Mult: a("input_1_mult"), Input1Shift: a("input_1_shift"),
			Input2Offset: a("input_2_offset"), Input2Mult: a("input_2_mult"), Input2Shift: a("input_2_shift"), LeftShift: a("left_shift"),
			OutOffset: a("out_offset"), OutMult: a("out_mult"), OutShift: a("out_shift"),
			OutActivationMin: a("out_activation_min"), OutActivationMax: a("out_activation_max")}
		n := int(a("block_size"))
		out := make([]int8, n)
		status, err = st(ElementwiseAddS8(o, vIs[int8](in["input_1_vect"]), vIs[int8](in["input_2_vect"]), p, out, n))
		outs["output"] = vI64s(out)
		scratch = -1
	case fn == "arm_elementwise_mul_s8":
		a := func(k string) int32 { return int32(c.MustInt(k)) }
		p := ElementwiseMulS8Params{Input1Offset: a("input_1_offset"), Input2Offset: a("input_2_offset"), OutOffset: a("out_offset"),
			OutMult: a("out_mult"), OutShift: a("out_shift"), OutActivationMin: a("out_activation_min"), OutActivationMax: a("out_activation_max")}
		n := int(a("block_size"))
		out := make([]int8, n)
		status, err = st(ElementwiseMulS8(o, vIs[int8](in["input_1_vect"]), vIs[int8](in["input_2_vect"]), p, out, n))
		outs["output"] = vI64s(out)
		scratch = -1
	case fn == "arm_nn_requantize":
		v, m, s := in["val"], in["multiplier"], in["shift"]
		r := make([]int64, len(v))
		for i := range v {
			r[i] = int64(Requantize(int32(v[i]), int32(m[i]), int32(s[i])))
		}
		outs["result"] = r
		scratch = -1
	case fn == "arm_nn_requantize_s64":
		v, m, rm, s := in["val"], in["multiplier"], in["reduced_multiplier"], in["shift"]
		r := make([]int64, len(v))
		for i := range v {
			if got := ReduceMultiplier(int32(m[i])); int64(got) != rm[i] {
				return nil, nil, 0, fmt.Errorf("ReduceMultiplier(%d) = %d, record has %d", m[i], got, rm[i])
			}
			r[i] = int64(RequantizeS64(v[i], int32(rm[i]), int32(s[i])))
		}
		outs["result"] = r
		scratch = -1
	default:
		return nil, nil, 0, fmt.Errorf("no Go kernel for %s", fn)
	}
	return status, outs, scratch, err
}

// s8Check runs c on both targets and returns the first mismatch.
func s8Check(c *testvec.Case) error {
	for _, tg := range []struct {
		t    Target
		want testvec.Result
		name string
		dsp  bool
	}{{CPath, c.Host, "host", false}, {DSPPath, c.M4, "m4", true}} {
		status, outs, scratch, err := s8Run(c, Opts{Target: tg.t})
		if err != nil {
			return fmt.Errorf("[%s] %v", tg.name, err)
		}
		if (status == nil) != (tg.want.Status == nil) || status != nil && *status != *tg.want.Status {
			return fmt.Errorf("[%s] status %v, want %v", tg.name, fmtStatus(status), fmtStatus(tg.want.Status))
		}
		for name, w := range tg.want.Outputs {
			if d := diffInts(outs[name], w); d != "" {
				return fmt.Errorf("[%s] %s: %s", tg.name, name, d)
			}
		}
		if want := c.ScratchBytes(tg.dsp); scratch != want {
			return fmt.Errorf("[%s] scratch %d bytes, recorded %d", tg.name, scratch, want)
		}
	}
	if c.Dispatch != nil {
		var got string
		switch c.Function {
		case "arm_convolve_wrapper_s8":
			got = ConvolveWrapperS8Kernel(vConvParams(c), vDims(c, "input_dims"), vDims(c, "filter_dims"))
		case "arm_depthwise_conv_wrapper_s8":
			got = DepthwiseConvWrapperS8Kernel(vDwParams(c), vDims(c, "input_dims"), vDims(c, "filter_dims"))
		case "arm_depthwise_conv_wrapper_s16":
			got = DepthwiseConvWrapperS16Kernel(vDwParams(c), vDims(c, "input_dims"), vDims(c, "filter_dims"))
		case "arm_convolve_wrapper_s16":
			got = "arm_convolve_s16"
		}
		for b, want := range c.Dispatch {
			if got != want {
				return fmt.Errorf("dispatch %s, recorded %s on %s", got, want, b)
			}
		}
	}
	return nil
}

func fmtStatus(s *int) string {
	if s == nil {
		return "void"
	}
	return fmt.Sprint(*s)
}

func diffInts(got, want []int64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	n, first := 0, -1
	for i := range got {
		if got[i] != want[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d differ, first [%d] = %d, want %d", n, len(got), first, got[first], want[first])
}

func s8RunAll(t *testing.T, cases []*testvec.Case) map[string]int {
	pass := map[string]int{}
	failed := 0
	for _, c := range cases {
		if err := s8Check(c); err != nil {
			failed++
			if failed <= 25 {
				t.Errorf("%s: %v", c.ID, err)
			}
			continue
		}
		pass[c.Function]++
	}
	if failed > 25 {
		t.Errorf("... %d failing cases in total", failed)
	}
	return pass
}

func logPass(t *testing.T, pass map[string]int, total int) {
	names := make([]string, 0, len(pass))
	n := 0
	for k, v := range pass {
		names = append(names, fmt.Sprintf("%s %d", k, v))
		n += v
	}
	sort.Strings(names)
	t.Logf("%d/%d cases bit-exact on host (C path) and m4 (DSP path): %s", n, total, strings.Join(names, ", "))
}

// TestS8Vectors runs every case of the full set on both targets: outputs,
// status, scratch sizes and wrapper dispatch.
func TestS8Vectors(t *testing.T) {
	cases := s8Full(t)
	if len(cases) != s8TotalCases {
		t.Errorf("loaded %d cases from %s, want %d", len(cases), s8Dir, s8TotalCases)
	}
	pass := s8RunAll(t, cases)
	if len(pass) != 25 {
		t.Errorf("%d functions fully or partly passing, want 25", len(pass))
	}
	logPass(t, pass, len(cases))
}

// TestS8VectorsSubset runs the committed subset (always available).
func TestS8VectorsSubset(t *testing.T) {
	cases, err := testvec.Load(s8SubsetDir)
	if err != nil {
		t.Fatal(err)
	}
	pass := s8RunAll(t, cases)
	logPass(t, pass, len(cases))
}
