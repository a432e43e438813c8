package crt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testvec"
)

// Tests of the s8/s16 runtime (c/nnq_s8_*.c) against the CMSIS-NN v7.0.0
// vectors through c/testdriver/driver_s8.c. The driver protocol is the one
// of driver.c (encodeCases, runDriver and parseDriverOutput are shared) with
// element sizes of 8, 16, 32 and 64 bits.

// s8Sources are the runtime files of the s8/s16 API.
var s8Sources = []string{"nnq_s8_conv.c", "nnq_s8_dw.c", "nnq_s8_fc.c", "nnq_s8_pool.c", "nnq_s8_softmax.c"}

// s8DriverSources are the runtime files the s8 driver links: the library
// replacements and nnq's own kernels (the ties-to-even pools).
var s8DriverSources = append(append([]string{}, s8Sources...), "nnq_s8_nnq.c")

// s8Arg is a scalar argument: a dotted record path, or a constant.
type s8Arg struct {
	path  string
	value int64
}

func p(path string) s8Arg   { return s8Arg{path: path} }
func k(v int64) s8Arg       { return s8Arg{value: v} }
func dims(n string) []s8Arg { return []s8Arg{p(n + ".n"), p(n + ".h"), p(n + ".w"), p(n + ".c")} }

// s8Array roles.
const (
	s8In      = iota // input, must come back unchanged
	s8Out            // output compared with the record
	s8Scratch        // ctx.buf of the recorded size on the build
	s8GBS            // one int32 receiving *_get_buffer_size
)

type s8ArrSpec struct {
	name string
	role int
}

type s8Spec struct {
	scalars []s8Arg
	arrays  []s8ArrSpec
	hasGBS  bool // the function has a *_get_buffer_size
}

func convScalars(pre string, last s8Arg) []s8Arg {
	s := []s8Arg{p(pre + ".input_offset"), p(pre + ".output_offset"), p(pre + ".stride.w"), p(pre + ".stride.h"),
		p(pre + ".padding.w"), p(pre + ".padding.h"), p(pre + ".dilation.w"), p(pre + ".dilation.h"),
		p(pre + ".activation.min"), p(pre + ".activation.max")}
	for _, d := range []string{"input_dims", "filter_dims", "bias_dims", "output_dims"} {
		s = append(s, dims(d)...)
	}
	return append(s, last)
}

var (
	convArrays = []s8ArrSpec{{"input_data", s8In}, {"filter_data", s8In}, {"bias_data", s8In}, {"output_mult", s8In},
		{"output_shift", s8In}, {"output_data", s8Out}, {"ctx.buf", s8Scratch}, {"gbs", s8GBS}}
	convS8   = s8Spec{scalars: convScalars("conv_params", k(0)), arrays: convArrays, hasGBS: true}
	convS16  = s8Spec{scalars: convScalars("conv_params", p("bias_data.is_int32_bias")), arrays: convArrays, hasGBS: true}
	dwSpec   = s8Spec{scalars: convScalars("dw_conv_params", p("dw_conv_params.ch_mult")), arrays: convArrays}
	fcArrays = []s8ArrSpec{{"input_data", s8In}, {"filter_data", s8In}, {"bias_data", s8In}, {"output_data", s8Out},
		{"ctx.buf", s8Scratch}, {"gbs", s8GBS}}
	fcSpecS8 = s8Spec{scalars: append([]s8Arg{p("fc_params.input_offset"), p("fc_params.filter_offset"),
		p("fc_params.output_offset"), p("fc_params.activation.min"), p("fc_params.activation.max"),
		p("quant_params.multiplier"), p("quant_params.shift")},
		append(append(append(dims("input_dims"), dims("filter_dims")...), dims("bias_dims")...), dims("output_dims")...)...),
		arrays: fcArrays, hasGBS: true}
	poolSpecS8 = s8Spec{scalars: append([]s8Arg{p("pool_params.stride.w"), p("pool_params.stride.h"),
		p("pool_params.padding.w"), p("pool_params.padding.h"), p("pool_params.activation.min"),
		p("pool_params.activation.max")}, append(append(dims("input_dims"), dims("filter_dims")...), dims("output_dims")...)...),
		arrays: []s8ArrSpec{{"input_data", s8In}, {"output_data", s8Out}, {"ctx.buf", s8Scratch}, {"gbs", s8GBS}}}
)

func withGBS(s s8Spec) s8Spec { s.hasGBS = true; return s }

// s8Specs gives the driver's argument order per function.
var s8Specs = map[string]s8Spec{
	"arm_convolve_s8":                convS8,
	"arm_convolve_1x1_s8_fast":       convS8,
	"arm_convolve_1x1_s8":            {scalars: convS8.scalars, arrays: convArrays},
	"arm_convolve_1_x_n_s8":          convS8,
	"arm_convolve_wrapper_s8":        convS8,
	"arm_convolve_s16":               convS16,
	"arm_convolve_wrapper_s16":       convS16,
	"arm_depthwise_conv_s8":          dwSpec,
	"arm_depthwise_conv_s8_opt":      withGBS(dwSpec),
	"arm_depthwise_conv_3x3_s8":      dwSpec,
	"arm_depthwise_conv_wrapper_s8":  withGBS(dwSpec),
	"arm_depthwise_conv_s16":         dwSpec,
	"arm_depthwise_conv_wrapper_s16": withGBS(dwSpec),
	"arm_fully_connected_s8":         fcSpecS8,
	"arm_fully_connected_s16":        fcSpecS8,
	"arm_avgpool_s8":                 withGBS(poolSpecS8),
	"arm_avgpool_s16":                withGBS(poolSpecS8),
	"arm_max_pool_s8":                poolSpecS8,
	"arm_max_pool_s16":               poolSpecS8,
	"nnq_avgpool_s8_even":            withGBS(poolSpecS8),
	"nnq_avgpool_s16_even":           withGBS(poolSpecS8),
	"arm_softmax_s8": {scalars: []s8Arg{p("num_rows"), p("row_size"), p("mult"), p("shift"), p("diff_min")},
		arrays: []s8ArrSpec{{"input", s8In}, {"output", s8Out}}},
	"arm_softmax_s16": {scalars: []s8Arg{p("num_rows"), p("row_size"), p("mult"), p("shift")},
		arrays: []s8ArrSpec{{"input", s8In}, {"softmax_params.exp_lut", s8In}, {"softmax_params.one_by_one_lut", s8In}, {"output", s8Out}}},
	"arm_elementwise_add_s8": {scalars: []s8Arg{p("input_1_offset"), p("input_1_mult"), p("input_1_shift"), p("input_2_offset"),
		p("input_2_mult"), p("input_2_shift"), p("left_shift"), p("out_offset"), p("out_mult"), p("out_shift"),
		p("out_activation_min"), p("out_activation_max"), p("block_size")},
		arrays: []s8ArrSpec{{"input_1_vect", s8In}, {"input_2_vect", s8In}, {"output", s8Out}}},
	"arm_elementwise_mul_s8": {scalars: []s8Arg{p("input_1_offset"), p("input_2_offset"), p("out_offset"), p("out_mult"),
		p("out_shift"), p("out_activation_min"), p("out_activation_max"), p("block_size")},
		arrays: []s8ArrSpec{{"input_1_vect", s8In}, {"input_2_vect", s8In}, {"output", s8Out}}},
	"arm_nn_requantize": {scalars: []s8Arg{p("count")},
		arrays: []s8ArrSpec{{"val", s8In}, {"multiplier", s8In}, {"shift", s8In}, {"result", s8Out}}},
	"arm_nn_requantize_s64": {scalars: []s8Arg{p("count")},
		arrays: []s8ArrSpec{{"val", s8In}, {"reduced_multiplier", s8In}, {"shift", s8In}, {"result", s8Out}}},
}

func s8Bits(typ string) (int, error) {
	switch typ {
	case "s8":
		return 8, nil
	case "s16":
		return 16, nil
	case "s32":
		return 32, nil
	case "s64":
		return 64, nil
	}
	return 0, fmt.Errorf("unknown element type %q", typ)
}

// s8DriverCase encodes a record for the driver; dsp selects the m4 scratch size.
func s8DriverCase(c *testvec.Case, dsp bool) (dCase, error) {
	spec, ok := s8Specs[c.Function]
	if !ok {
		return dCase{}, fmt.Errorf("no driver spec for %s", c.Function)
	}
	dc := dCase{fn: c.Function}
	for _, a := range spec.scalars {
		v := a.value
		if a.path != "" {
			var ok bool
			if v, ok = c.Int(a.path); !ok {
				return dCase{}, fmt.Errorf("missing argument %s", a.path)
			}
		}
		dc.scalars = append(dc.scalars, v)
	}
	for _, a := range spec.arrays {
		switch a.role {
		case s8In:
			data, ok := c.Inputs[a.name]
			if !ok {
				return dCase{}, fmt.Errorf("missing input %s", a.name)
			}
			if data == nil {
				dc.arrays = append(dc.arrays, dArray{bits: 8, mode: modeNull})
				continue
			}
			bits, err := s8Bits(c.Types[a.name])
			if err != nil {
				return dCase{}, err
			}
			dc.arrays = append(dc.arrays, dArray{bits: bits, mode: modeIn, data: data})
		case s8Out:
			bits, err := s8Bits(c.Types[a.name])
			if err != nil {
				return dCase{}, err
			}
			dc.arrays = append(dc.arrays, dArray{bits: bits, mode: modeOut, n: len(c.Host.Outputs[a.name])})
		case s8Scratch:
			n := c.ScratchBytes(dsp)
			if n <= 0 {
				dc.arrays = append(dc.arrays, dArray{bits: 8, mode: modeNull})
			} else {
				dc.arrays = append(dc.arrays, dArray{bits: 8, mode: modeScratch, n: n})
			}
		case s8GBS:
			dc.arrays = append(dc.arrays, dArray{bits: 32, mode: modeOut, n: 1})
		}
	}
	return dc, nil
}

// s8CheckResult compares one driver result with the record.
func s8CheckResult(c *testvec.Case, dc dCase, got dResult, dsp bool) error {
	want := c.Want(dsp)
	ws := "v"
	if want.Status != nil {
		ws = fmt.Sprint(*want.Status)
	}
	if got.status != ws {
		return fmt.Errorf("status %s, want %s", got.status, ws)
	}
	spec := s8Specs[c.Function]
	for i, a := range spec.arrays {
		g := got.arrays[i]
		switch a.role {
		case s8In:
			if dc.arrays[i].mode == modeIn && !equalInts(g, dc.arrays[i].data) {
				return fmt.Errorf("input %s modified: %s", a.name, firstDiff(g, dc.arrays[i].data))
			}
		case s8Out:
			if w := want.Outputs[a.name]; !equalInts(g, w) {
				return fmt.Errorf("%s: %s", a.name, firstDiff(g, w))
			}
		case s8GBS:
			if spec.hasGBS && g[0] != int64(c.ScratchBytes(dsp)) {
				return fmt.Errorf("get_buffer_size %d, recorded %d", g[0], c.ScratchBytes(dsp))
			}
		}
	}
	return nil
}

var (
	s8VecOnce  sync.Once
	s8VecCases []*testvec.Case
	s8VecErr   error
)

// s8Vectors returns the full vector set, or the subset committed in
// package kernels when the full set is absent (CI=true requires the full
// set). full reports which one it is.
func s8Vectors(t *testing.T) (cases []*testvec.Case, full bool) {
	t.Helper()
	s8VecOnce.Do(func() {
		_, s8VecCases, s8VecErr = testvec.Full(".")
		if s8VecErr == testvec.ErrAbsent && os.Getenv("CI") != "true" {
			s8VecCases, s8VecErr = testvec.Load(filepath.Join("..", "..", "kernels", "testdata", "cmsis-nn-s8-subset"))
			s8VecErr = errSubset{s8VecErr}
		}
	})
	if e, ok := s8VecErr.(errSubset); ok {
		if e.err != nil {
			t.Fatal(e.err)
		}
		t.Logf("%v; running the committed subset of %d cases", testvec.ErrAbsent, len(s8VecCases))
		return s8VecCases, false
	}
	if s8VecErr != nil {
		t.Fatal(s8VecErr)
	}
	return s8VecCases, true
}

type errSubset struct{ err error }

func (e errSubset) Error() string { return fmt.Sprint(e.err) }

// s8RunCases runs cases through a driver invocation run(cases) and checks
// them against the host or m4 results; it returns the pass count per function.
func s8RunCases(t *testing.T, label string, cases []*testvec.Case, dsp bool, run func([]dCase) []dResult) map[string]int {
	t.Helper()
	var dcs []dCase
	for _, c := range cases {
		dc, err := s8DriverCase(c, dsp)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		dcs = append(dcs, dc)
	}
	res := run(dcs)
	pass := map[string]int{}
	failed := 0
	for i, c := range cases {
		if err := s8CheckResult(c, dcs[i], res[i], dsp); err != nil {
			failed++
			if failed <= 20 {
				t.Errorf("%s [%s]: %v", c.ID, label, err)
			}
			continue
		}
		pass[c.Function]++
	}
	if failed > 20 {
		t.Errorf("... %d failing cases in total [%s]", failed, label)
	}
	names := make([]string, 0, len(pass))
	for f, n := range pass {
		names = append(names, fmt.Sprintf("%s %d", strings.TrimPrefix(f, "arm_"), n))
	}
	sort.Strings(names)
	t.Logf("%s: %d/%d cases bit-exact (%s)", label, len(cases)-failed, len(cases), strings.Join(names, ", "))
	return pass
}

// s8Flavours: host builds of the s8 driver. The dsp ones compile the DSP
// kernels with portable versions of the SIMD intrinsics.
var s8Flavours = map[string][]string{
	"s8-c":       append(append([]string{}, strictFlags...), "-Wpedantic"),
	"s8-dsp":     append(append([]string{}, strictFlags...), "-Wpedantic", "-DNNQ_S8_DSP_EMULATE"),
	"s8-c-san":   sanFlags,
	"s8-dsp-san": append(append([]string{}, sanFlags...), "-DNNQ_S8_DSP_EMULATE"),
	// CMSIS_NN_USE_SINGLE_ROUNDING builds (requantisation rounds once).
	"s8-c-single":       append(append([]string{}, strictFlags...), "-Wpedantic", "-DCMSIS_NN_USE_SINGLE_ROUNDING"),
	"s8-dsp-single":     append(append([]string{}, strictFlags...), "-Wpedantic", "-DNNQ_S8_DSP_EMULATE", "-DCMSIS_NN_USE_SINGLE_ROUNDING"),
	"s8-dsp-single-san": append(append([]string{}, sanFlags...), "-DNNQ_S8_DSP_EMULATE", "-DCMSIS_NN_USE_SINGLE_ROUNDING"),
}

// s8HostDriver builds driver_s8.c with the s8 runtime for a flavour (once).
func s8HostDriver(t *testing.T, flavour string) string {
	t.Helper()
	cc := requireCC(t)
	rt := runtimeDir(t)
	b := driverBuildFor(flavour)
	b.once.Do(func() {
		if strings.HasSuffix(flavour, "-san") {
			if reason := sanitizerUnavailable(cc); reason != "" {
				b.skip = reason
				return
			}
		}
		out := filepath.Join(buildRoot, "driver-"+flavour)
		args := append(append([]string{}, s8Flavours[flavour]...), "-I", rt, "-o", out, filepath.Join("c", "testdriver", "driver_s8.c"))
		for _, f := range s8DriverSources {
			args = append(args, filepath.Join(rt, f))
		}
		if msg, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building s8 driver (%s): %v\n%s", flavour, err, msg)
			return
		}
		b.path = out
	})
	return b.result(t)
}

func s8HostVectors(t *testing.T, flavour string, dsp bool) {
	exe := s8HostDriver(t, flavour)
	cases, full := s8Vectors(t)
	pass := s8RunCases(t, flavour, cases, dsp, func(dcs []dCase) []dResult { return runDriver(t, exe, dcs) })
	if full && len(pass) != librarySpecs() {
		t.Errorf("%d functions pass, want %d", len(pass), librarySpecs())
	}
}

// librarySpecs counts the driver's functions of the library (the vectors
// cover those, not nnq's own kernels).
func librarySpecs() int {
	n := 0
	for f := range s8Specs {
		if strings.HasPrefix(f, "arm_") {
			n++
		}
	}
	return n
}

func TestS8VectorsCPath(t *testing.T) {
	t.Parallel()
	s8HostVectors(t, "s8-c", false)
}

func TestS8VectorsDSPEmulated(t *testing.T) {
	t.Parallel()
	s8HostVectors(t, "s8-dsp", true)
}

func TestS8VectorsSanitized(t *testing.T) {
	if testing.Short() {
		t.Skip("sanitizer builds skipped in -short mode")
	}
	t.Parallel()
	s8HostVectors(t, "s8-c-san", false)
	s8HostVectors(t, "s8-dsp-san", true)
}
