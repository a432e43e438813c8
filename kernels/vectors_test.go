package kernels

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
)

// Loader and runner for the CMSIS-NN 5.9.0 ground-truth vectors in
// testdata/cmsis-nn-5.9.0 (format: README.md there).

type tvResult struct {
	Status  *int             `json:"status"`
	Outputs map[string][]int `json:"outputs"`
}

type tvCase struct {
	ID        string           `json:"id"`
	Function  string           `json:"function"`
	Tags      []string         `json:"tags"`
	DSPUnsafe bool             `json:"dsp_unsafe"`
	Args      map[string]int   `json:"args"`
	Inputs    map[string][]int `json:"inputs"`
	PMPlain   []int            `json:"pM_plain"`
	Scratch   map[string]*struct {
		Type     string `json:"type"`
		Elements int    `json:"elements"`
	} `json:"scratch"`
	Host        tvResult `json:"host"`
	M4          tvResult `json:"m4"`
	Equal       bool     `json:"host_equals_m4"`
	DiffClasses []string `json:"diff_classes"`
}

func (c *tvCase) hasTag(t string) bool { return slices.Contains(c.Tags, t) }

const tvDir = "testdata/cmsis-nn-5.9.0"

var (
	tvOnce  sync.Once
	tvCases []*tvCase
	tvErr   error
)

// tvLoad reads every *.jsonl file once per test binary.
func tvLoad(t testing.TB) []*tvCase {
	t.Helper()
	tvOnce.Do(func() {
		files, err := filepath.Glob(filepath.Join(tvDir, "*.jsonl"))
		if err != nil {
			tvErr = err
			return
		}
		sort.Strings(files)
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				tvErr = err
				return
			}
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for sc.Scan() {
				c := new(tvCase)
				if err := json.Unmarshal(sc.Bytes(), c); err != nil {
					tvErr = fmt.Errorf("%s: %v", f, err)
					fh.Close()
					return
				}
				tvCases = append(tvCases, c)
			}
			fh.Close()
			if err := sc.Err(); err != nil {
				tvErr = err
				return
			}
		}
	})
	if tvErr != nil {
		t.Fatal(tvErr)
	}
	return tvCases
}

func tvI8(x []int) []int8 {
	r := make([]int8, len(x))
	for i, v := range x {
		r[i] = int8(v)
	}
	return r
}

func tvI16(x []int) []int16 {
	r := make([]int16, len(x))
	for i, v := range x {
		r[i] = int16(v)
	}
	return r
}

func tvInts[T qint](x []T) []int {
	r := make([]int, len(x))
	for i, v := range x {
		r[i] = int(v)
	}
	return r
}

// tvGeom builds the geometry from the square or non-square argument list.
func tvGeom(a map[string]int) ConvGeom {
	if _, ok := a["dim_im_in"]; ok {
		chOut := a["ch_im_out"]
		if _, ok := a["ch_im_out"]; !ok { // pooling
			chOut = a["ch_im_in"]
		}
		return SquareGeom(a["dim_im_in"], a["ch_im_in"], chOut, a["dim_kernel"], a["padding"], a["stride"], a["dim_im_out"])
	}
	return ConvGeom{InX: a["dim_im_in_x"], InY: a["dim_im_in_y"], InC: a["ch_im_in"], OutC: a["ch_im_out"],
		KX: a["dim_kernel_x"], KY: a["dim_kernel_y"], PadX: a["padding_x"], PadY: a["padding_y"],
		StrideX: a["stride_x"], StrideY: a["stride_y"], OutX: a["dim_im_out_x"], OutY: a["dim_im_out_y"]}
}

type tvOut struct {
	status  *int // nil for void functions
	outputs map[string][]int
}

// tvRun runs one case through the Go kernel. A non-nil error means the Go
// kernel refused the call with something other than a library status.
func tvRun(c *tvCase, o Opts) (tvOut, error) {
	a, in := c.Args, c.Inputs
	res := tvOut{outputs: map[string][]int{}}
	setStatus := func(err error, name string, out []int) error {
		s, ok := StatusOf(err)
		if !ok {
			return err
		}
		st := int(s)
		res.status = &st
		if err == nil {
			res.outputs[name] = out
		} else {
			res.outputs[name] = nil
		}
		return nil
	}
	v, ok := ParseVariant(c.Function)
	if !ok {
		return res, fmt.Errorf("unknown function %q", c.Function)
	}
	switch v.Kind() {
	case KindConv, KindDepthwise:
		g := tvGeom(a)
		bs, os := a["bias_shift"], a["out_shift"]
		if v.Q15() {
			out := make([]int16, g.OutSize())
			var f func(Opts, ConvGeom, []int16, []int16, []int16, int, int, []int16) error
			switch v {
			case VarConvolveHWCQ15Basic:
				f = ConvolveHWCQ15Basic
			case VarConvolveHWCQ15Fast:
				f = ConvolveHWCQ15Fast
			case VarConvolveHWCQ15FastNonsquare:
				f = ConvolveHWCQ15FastNonsquare
			}
			err := f(o, g, tvI16(in["Im_in"]), tvI16(in["wt"]), tvI16(in["bias"]), bs, os, out)
			return res, setStatus(err, "Im_out", tvInts(out))
		}
		out := make([]int8, g.OutSize())
		f := map[Variant]func(Opts, ConvGeom, []int8, []int8, []int8, int, int, []int8) error{
			VarConvolveHWCQ7Basic:                   ConvolveHWCQ7Basic,
			VarConvolveHWCQ7Fast:                    ConvolveHWCQ7Fast,
			VarConvolveHWCQ7RGB:                     ConvolveHWCQ7RGB,
			VarConvolveHWCQ7BasicNonsquare:          ConvolveHWCQ7BasicNonsquare,
			VarConvolveHWCQ7FastNonsquare:           ConvolveHWCQ7FastNonsquare,
			VarConvolve1x1HWCQ7FastNonsquare:        Convolve1x1HWCQ7FastNonsquare,
			VarDepthwiseSeparableConvHWCQ7:          DepthwiseSeparableConvHWCQ7,
			VarDepthwiseSeparableConvHWCQ7Nonsquare: DepthwiseSeparableConvHWCQ7Nonsquare,
		}[v]
		err := f(o, g, tvI8(in["Im_in"]), tvI8(in["wt"]), tvI8(in["bias"]), bs, os, out)
		return res, setStatus(err, "Im_out", tvInts(out))
	case KindFC:
		dv, rows, bs, os := a["dim_vec"], a["num_of_rows"], a["bias_shift"], a["out_shift"]
		var err error
		var out []int
		switch v {
		case VarFullyConnectedQ7, VarFullyConnectedQ7Opt:
			o8 := make([]int8, rows)
			f := FullyConnectedQ7
			if v == VarFullyConnectedQ7Opt {
				f = FullyConnectedQ7Opt
			}
			err = f(o, tvI8(in["pV"]), tvI8(in["pM"]), dv, rows, bs, os, tvI8(in["bias"]), o8)
			out = tvInts(o8)
		case VarFullyConnectedQ15, VarFullyConnectedQ15Opt:
			o16 := make([]int16, rows)
			f := FullyConnectedQ15
			if v == VarFullyConnectedQ15Opt {
				f = FullyConnectedQ15Opt
			}
			err = f(o, tvI16(in["pV"]), tvI16(in["pM"]), dv, rows, bs, os, tvI16(in["bias"]), o16)
			out = tvInts(o16)
		default:
			o16 := make([]int16, rows)
			f := FullyConnectedMatQ7VecQ15
			if v == VarFullyConnectedMatQ7VecQ15Opt {
				f = FullyConnectedMatQ7VecQ15Opt
			}
			err = f(o, tvI16(in["pV"]), tvI8(in["pM"]), dv, rows, bs, os, tvI8(in["bias"]), o16)
			out = tvInts(o16)
		}
		return res, setStatus(err, "pOut", out)
	case KindPool:
		g := tvGeom(a)
		imIn := tvI8(in["Im_in"])
		out := make([]int8, g.OutX*g.OutY*g.InC)
		f := MaxpoolQ7HWC
		if v == VarAvepoolQ7HWC {
			f = AvepoolQ7HWC
		}
		if err := f(o, g, imIn, out); err != nil {
			return res, err
		}
		res.outputs["Im_in"] = tvInts(imIn)
		res.outputs["Im_out"] = tvInts(out)
		return res, nil
	}
	switch v {
	case VarReluQ7:
		d := tvI8(in["data"])
		ReluQ7(o, d)
		res.outputs["data"] = tvInts(d)
	case VarReluQ15:
		d := tvI16(in["data"])
		ReluQ15(o, d)
		res.outputs["data"] = tvInts(d)
	case VarActivationsDirectQ7:
		d := tvI8(in["data"])
		if err := ActivationsDirectQ7(o, d, a["int_width"], ActivationType(a["type"])); err != nil {
			return res, err
		}
		res.outputs["data"] = tvInts(d)
	case VarActivationsDirectQ15:
		d := tvI16(in["data"])
		if err := ActivationsDirectQ15(o, d, a["int_width"], ActivationType(a["type"])); err != nil {
			return res, err
		}
		res.outputs["data"] = tvInts(d)
	case VarSoftmaxQ7:
		out := make([]int8, a["dim_vec"])
		SoftmaxQ7(o, tvI8(in["vec_in"])[:a["dim_vec"]], out)
		res.outputs["p_out"] = tvInts(out)
	case VarSoftmaxQ15:
		out := make([]int16, a["dim_vec"])
		SoftmaxQ15(o, tvI16(in["vec_in"])[:a["dim_vec"]], out)
		res.outputs["p_out"] = tvInts(out)
	case VarNNMultQ7:
		out := make([]int8, a["blockSize"])
		if err := NNMultQ7(o, tvI8(in["pSrcA"]), tvI8(in["pSrcB"]), out, a["out_shift"]); err != nil {
			return res, err
		}
		res.outputs["pDst"] = tvInts(out)
	case VarNNMultQ15:
		out := make([]int16, a["blockSize"])
		if err := NNMultQ15(o, tvI16(in["pSrcA"]), tvI16(in["pSrcB"]), out, a["out_shift"]); err != nil {
			return res, err
		}
		res.outputs["pDst"] = tvInts(out)
	default:
		return res, fmt.Errorf("no runner for %s", v)
	}
	return res, nil
}

// tvCompare reports the first difference between a Go result and a
// recorded one.
func tvCompare(got tvOut, want tvResult) string {
	if (got.status == nil) != (want.Status == nil) || (got.status != nil && *got.status != *want.Status) {
		return fmt.Sprintf("status: got %v, want %v", ptrStr(got.status), ptrStr(want.Status))
	}
	for name, w := range want.Outputs {
		g, ok := got.outputs[name]
		if !ok {
			return fmt.Sprintf("output %s missing", name)
		}
		if (g == nil) != (w == nil) {
			return fmt.Sprintf("output %s: got nil=%v, want nil=%v", name, g == nil, w == nil)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("output %s: len %d, want %d", name, len(g), len(w))
		}
		for i := range w {
			if g[i] != w[i] {
				return fmt.Sprintf("output %s[%d] = %d, want %d (first of %d diffs)", name, i, g[i], w[i], countDiffs(g, w))
			}
		}
	}
	return ""
}

func countDiffs(a, b []int) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func ptrStr(p *int) string {
	if p == nil {
		return "void"
	}
	return fmt.Sprint(*p)
}

// TestVectors runs every ground-truth case: the host result on CPath and
// the m4 result on DSPPath. dsp_unsafe cases must be refused on DSPPath by
// Variant.Valid and by the kernel (a library -3 where the library refuses,
// otherwise ErrDSPUnsafe) instead of being emulated.
func TestVectors(t *testing.T) {
	cases := tvLoad(t)
	if len(cases) != 1202 {
		t.Fatalf("loaded %d cases, want 1202", len(cases))
	}
	perFunc := map[string]int{}
	dspUnsafe := 0
	for _, c := range cases {
		perFunc[c.Function]++
		got, err := tvRun(c, Opts{Target: CPath})
		if err != nil {
			t.Errorf("%s host: kernel refused: %v", c.ID, err)
		} else if d := tvCompare(got, c.Host); d != "" {
			t.Errorf("%s host: %s", c.ID, d)
		}

		v, _ := ParseVariant(c.Function)
		g := tvGeom(c.Args)
		if _, ok := c.Args["dim_vec"]; ok && v.Kind() == KindFC {
			g = FCGeom(c.Args["dim_vec"], c.Args["num_of_rows"])
		}
		if c.DSPUnsafe {
			dspUnsafe++
			verr := v.Valid(g, DSPPath)
			if verr == nil {
				t.Errorf("%s: dsp_unsafe case accepted by Valid on DSPPath", c.ID)
				continue
			}
			if err := v.Valid(g, CPath); err != nil {
				t.Errorf("%s: dsp_unsafe case rejected on CPath: %v", c.ID, err)
			}
			_, kerr := tvRun(c, Opts{Target: DSPPath})
			if c.M4.Status != nil && *c.M4.Status == -3 {
				if !errors.Is(verr, ErrSizeMismatch) {
					t.Errorf("%s: library returns -3 on DSP, Valid says %v", c.ID, verr)
				}
				if got, err := tvRun(c, Opts{Target: DSPPath}); err != nil {
					t.Errorf("%s m4: %v", c.ID, err)
				} else if d := tvCompare(got, c.M4); d != "" {
					t.Errorf("%s m4: %s", c.ID, d)
				}
			} else if !errors.Is(verr, ErrDSPUnsafe) || !errors.Is(kerr, ErrDSPUnsafe) {
				t.Errorf("%s: want ErrDSPUnsafe, Valid: %v, kernel: %v", c.ID, verr, kerr)
			}
			continue
		}
		if v.Kind() != KindActivation && v.Kind() != KindSoftmax && v.Kind() != KindElementwise {
			if err := v.Valid(g, DSPPath); err != nil && !errors.Is(err, ErrSizeMismatch) {
				t.Errorf("%s: safe case rejected on DSPPath: %v", c.ID, err)
			}
			// TargetDependent is about the result, not the clobbered Im_in.
			same := c.Equal || (v.Kind() == KindPool && slices.Equal(c.Host.Outputs["Im_out"], c.M4.Outputs["Im_out"]))
			if td := v.TargetDependent(g); !td && !same {
				t.Errorf("%s: host != m4 but TargetDependent is false", c.ID)
			}
		}
		got, err = tvRun(c, Opts{Target: DSPPath})
		if err != nil {
			t.Errorf("%s m4: kernel refused: %v", c.ID, err)
		} else if d := tvCompare(got, c.M4); d != "" {
			t.Errorf("%s m4: %s", c.ID, d)
		}
	}
	if len(perFunc) != 27 || dspUnsafe != 38 {
		t.Errorf("coverage: %d functions, %d dsp_unsafe cases (want 27, 38)", len(perFunc), dspUnsafe)
	}
}

// TestVectorsScratch checks Variant.ScratchBytes against the scratch sizes
// the vectors were generated with (which the harness verified were not
// overrun). 0 means the C function ignores the buffer (NULL is fine).
func TestVectorsScratch(t *testing.T) {
	for _, c := range tvLoad(t) {
		v, _ := ParseVariant(c.Function)
		g := tvGeom(c.Args)
		if v.Kind() == KindFC {
			g = FCGeom(c.Args["dim_vec"], c.Args["num_of_rows"])
		}
		want := 0
		for _, sc := range c.Scratch {
			if sc != nil {
				want = sc.Elements * map[string]int{"q7": 1, "q15": 2}[sc.Type]
			}
		}
		got := v.ScratchBytes(g)
		unused := v == VarFullyConnectedQ15 || v == VarFullyConnectedQ15Opt || v == VarFullyConnectedMatQ7VecQ15 || v == VarFullyConnectedMatQ7VecQ15Opt
		if got != want && !(got == 0 && unused) {
			t.Errorf("%s: ScratchBytes %d, vectors used %d", c.ID, got, want)
		}
	}
}

// TestVectorsInterleave checks the _opt interleavings against the recorded
// plain/interleaved weight pairs.
func TestVectorsInterleave(t *testing.T) {
	n := 0
	for _, c := range tvLoad(t) {
		if c.PMPlain == nil {
			continue
		}
		n++
		rows, cols := c.Args["num_of_rows"], c.Args["dim_vec"]
		var got, back []int
		switch c.Function {
		case "arm_fully_connected_q7_opt":
			got = tvInts(InterleaveQ7Opt(tvI8(c.PMPlain), rows, cols))
			back = tvInts(DeinterleaveQ7Opt(tvI8(c.Inputs["pM"]), rows, cols))
		case "arm_fully_connected_q15_opt":
			got = tvInts(InterleaveQ15Opt(tvI16(c.PMPlain), rows, cols))
			back = tvInts(DeinterleaveQ15Opt(tvI16(c.Inputs["pM"]), rows, cols))
		case "arm_fully_connected_mat_q7_vec_q15_opt":
			got = tvInts(InterleaveMatQ7VecQ15Opt(tvI8(c.PMPlain), rows, cols))
			back = tvInts(DeinterleaveMatQ7VecQ15Opt(tvI8(c.Inputs["pM"]), rows, cols))
		default:
			t.Fatalf("%s: unexpected pM_plain", c.ID)
		}
		if !slices.Equal(got, c.Inputs["pM"]) {
			t.Errorf("%s: interleave mismatch", c.ID)
		}
		if !slices.Equal(back, c.PMPlain) {
			t.Errorf("%s: deinterleave mismatch", c.ID)
		}
	}
	if n != 138 {
		t.Errorf("checked %d _opt cases, want 138", n)
	}
}

// TestVectorsStats checks the counters against the tags computed by the
// vector generator from the exact accumulator: sat_pos/sat_neg,
// acc_wrap, bias_wrap (conv/FC), saturation/int16_wrap (mult).
func TestVectorsStats(t *testing.T) {
	checked := map[string]int{}
	positive := map[string]int{}
	for _, c := range tvLoad(t) {
		var st Stats
		if _, err := tvRun(c, Opts{Stats: &st}); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		v, _ := ParseVariant(c.Function)
		if st.Calls != 1 {
			t.Errorf("%s: Calls = %d", c.ID, st.Calls)
		}
		if c.Host.Status == nil || *c.Host.Status == 0 {
			var want int
			for name, o := range c.Host.Outputs {
				if name != "Im_in" {
					want = len(o)
				}
			}
			if st.Values != int64(want) {
				t.Errorf("%s: Values = %d, want %d", c.ID, st.Values, want)
			}
		}
		check := func(tag string, cnt int64) {
			checked[tag]++
			if c.hasTag(tag) {
				positive[tag]++
			}
			if c.hasTag(tag) != (cnt > 0) {
				t.Errorf("%s: tag %s = %v but counter = %d (%v)", c.ID, tag, c.hasTag(tag), cnt, st)
			}
		}
		switch v.Kind() {
		case KindConv, KindDepthwise, KindFC:
			if c.Host.Status != nil && *c.Host.Status != 0 {
				continue
			}
			check("acc_wrap", st.AccWraps)
			check("bias_wrap", st.BiasWraps)
			if !c.hasTag("acc_wrap") { // tags come from the exact (unwrapped) value
				check("sat_pos", st.SatHigh)
				check("sat_neg", st.SatLow)
			}
		case KindElementwise:
			if v == VarNNMultQ7 {
				check("int16_wrap", st.AccWraps)
			} else if st.AccWraps != 0 {
				t.Errorf("%s: AccWraps = %d", c.ID, st.AccWraps)
			}
			if c.hasTag("saturation") && st.SatHigh+st.SatLow == 0 {
				t.Errorf("%s: saturation tag but no saturation counted", c.ID)
			}
		}
	}
	for _, tag := range []string{"acc_wrap", "bias_wrap", "sat_pos", "sat_neg", "int16_wrap"} {
		if positive[tag] == 0 {
			t.Errorf("tag %s never checked", tag)
		}
	}
	t.Logf("checked: %v, tagged: %v", checked, positive)
}
