package codegen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// netS8Row covers the remaining wrapper branches of the s8/s16 API: a 1×N
// convolution on a one-row map (arm_convolve_1_x_n_s8), a non-3×3
// depthwise (arm_depthwise_conv_s8_opt), a strided 1×1 convolution
// (arm_convolve_1x1_s8), a ReLU on the network input and one whose
// producer has a second reader (both nnq_clamp), and a conv without bias.
var netS8Row = netSpec{name: "row_s8", input: []int{1, 16, 4}, layers: []lspec{
	simple("r0", nnq.OpReLU),
	conv("c1", nil, 1, 3, 4, 8, "same", 1, 0),
	dw("d1", nil, 1, 5, 8, "same", 0),
	simple("r1", nnq.OpReLU),
	simple("a1", nnq.OpAdd, "d1", "r1"),
	{name: "c2", op: nnq.OpConv2D, attrs: nnq.Attrs{Kernel: []int{1, 1}, Strides: []int{1, 2}}, wshape: []int{4, 1, 1, 8}, noBias: true},
	simple("f", nnq.OpFlatten),
	dense("fc", nil, 32, 6, 0),
	simple("sm", nnq.OpSoftmax),
}}

// quantizedS8 calibrates s and quantizes it to format f for target.
func quantizedS8(t testing.TB, s netSpec, f nnq.Format, target string) (*nnq.QModel, *nnq.Patterns) {
	t.Helper()
	return quantizedSpec(t, s, nnq.QConfig{Format: f, Target: target, Scheme: nnq.MSE{}})
}

// s8Cases are the exported test networks of the s8/s16 tests.
func s8Cases(t testing.TB) []struct {
	name string
	q    *nnq.QModel
	p    *nnq.Patterns
} {
	var out []struct {
		name string
		q    *nnq.QModel
		p    *nnq.Patterns
	}
	add := func(name string, q *nnq.QModel, p *nnq.Patterns) {
		out = append(out, struct {
			name string
			q    *nnq.QModel
			p    *nnq.Patterns
		}{name, q, p})
	}
	for _, f := range []nnq.Format{nnq.FormatS8, nnq.FormatS16} {
		for _, target := range []string{"cortex-m4", "cortex-m3"} {
			for _, s := range []netSpec{netAllQ7, netQ15, netS8Row} {
				q, p := quantizedS8(t, s, f, target)
				add(s.name+"/"+string(f)+"/"+target, q, p)
			}
			m := rnnModel(t, 3, 7, 3, 2, 9, 5, target == "cortex-m3")
			q, p := quantizedRNNWith(t, m, nnq.QConfig{Format: f, Target: target})
			add("rnn/"+string(f)+"/"+target, q, p)
		}
	}
	// The other roundings (CMSIS_NN_USE_SINGLE_ROUNDING, and onnx's
	// ties-to-even pools) on a sample: both formats, both code paths, the
	// average pools (netAllQ7), element-wise and s16 activations, the
	// recurrent kernels.
	for _, c := range []struct {
		s      netSpec
		f      nnq.Format
		target string
		r      nnq.AffineRounding
	}{
		{netAllQ7, nnq.FormatS8, "cortex-m4", nnq.RoundingONNX},
		{netAllQ7, nnq.FormatS16, "cortex-m3", nnq.RoundingONNX},
		{netAllQ7, nnq.FormatS8, "cortex-m3", nnq.RoundingSingle},
		{netS8Row, nnq.FormatS8, "cortex-m4", nnq.RoundingSingle},
		{netQ15, nnq.FormatS16, "cortex-m4", nnq.RoundingSingle},
	} {
		q, p := quantizedSpec(t, c.s, nnq.QConfig{Format: c.f, Target: c.target, Scheme: nnq.MSE{}, AffineRounding: c.r})
		add(c.s.name+"/"+string(c.f)+"/"+c.target+"/"+string(c.r), q, p)
	}
	m := rnnModel(t, 3, 7, 3, 2, 9, 5, false)
	q, p := quantizedRNNWith(t, m, nnq.QConfig{Format: nnq.FormatS8, Target: "cortex-m4", AffineRounding: nnq.RoundingONNX})
	add("rnn/s8/cortex-m4/onnx", q, p)
	return out
}

// TestS8ExportVerify exports every test network in s8 and s16 for a DSP
// core (Cortex-M4, emulated on the host) and a C-path core (Cortex-M3) and
// verifies the generated C on the host against the simulator, layer by
// layer, on every pattern (with the sanitizers for the DSP ones); it checks
// that each CMSIS-NN wrapper branch, nnq kernel and scratch query appears.
func TestS8ExportVerify(t *testing.T) {
	needCC(t)
	seen := map[string]bool{}
	for _, c := range s8Cases(t) {
		dir := t.TempDir()
		proj, err := Export(c.q, dir, Options{Patterns: c.p})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, l := range c.q.Layers {
			seen[l.S8.Kernel] = true
			if l.S8.Scratch > proj.Mem.ScratchBytes {
				t.Errorf("%s: layer %s needs %d B of scratch, the plan has %d", c.name, l.Name, l.S8.Scratch, proj.Mem.ScratchBytes)
			}
		}
		src, _ := os.ReadFile(filepath.Join(dir, "nn.c"))
		for _, fn := range []string{"_get_buffer_size(", "NN_ERR_SCRATCH"} {
			if !strings.Contains(string(src), fn) {
				t.Errorf("%s: nn.c lacks %q", c.name, fn)
			}
		}
		for _, f := range []string{"nnq_legacy.c", "nnq_cmsis.h"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%s: an s8/s16 export contains the legacy runtime file %s", c.name, f)
			}
		}
		if r := proj.Report(); !strings.Contains(r, c.q.TypeName()) {
			t.Errorf("%s: report:\n%s", c.name, r)
		}
		// Single rounding: every build defines the macro, nn.c insists on it.
		mk, _ := os.ReadFile(filepath.Join(dir, "Makefile"))
		cm, _ := os.ReadFile(filepath.Join(dir, "CMakeLists.txt"))
		single := !c.q.AffineRounding.IsDefault()
		for _, f := range []struct {
			name, text, want string
		}{{"Makefile", string(mk), "-D" + nnq.SingleRoundingMacro}, {"CMakeLists.txt", string(cm), "target_compile_definitions(nn PUBLIC " + nnq.SingleRoundingMacro + ")"},
			{"nn.c", string(src), "#ifndef " + nnq.SingleRoundingMacro}} {
			if strings.Contains(f.text, f.want) != single {
				t.Errorf("%s (rounding %s): %s has %q: %v", c.name, c.q.AffineRounding.Name(), f.name, f.want, !single)
			}
		}
		dsp := strings.Contains(c.name, "cortex-m4")
		res, err := Verify(testCtx(t), dir, VerifyOptions{Sanitize: dsp})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !res.BitExact || res.Patterns != c.p.Len() {
			t.Fatalf("%s: %+v", c.name, res)
		}
	}
	for _, k := range []string{"arm_convolve_s8", "arm_convolve_1x1_s8_fast", "arm_convolve_1x1_s8", "arm_convolve_1_x_n_s8", "arm_convolve_s16",
		"arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8_opt", "arm_depthwise_conv_fast_s16", "arm_fully_connected_s8", "arm_fully_connected_s16",
		"arm_max_pool_s8", "arm_max_pool_s16", "arm_avgpool_s8", "arm_avgpool_s16", "arm_softmax_s8", "arm_softmax_s16",
		"arm_elementwise_add_s8", "arm_elementwise_mul_s8", "nnq_add_s16", "nnq_mul_s16", "nnq_clamp_s8", "nnq_clamp_s16",
		"nnq_lut_s8", "nnq_act_s16", "nnq_gru_s8", "nnq_gru_s16", "nnq_lstm_s8", "nnq_lstm_s16", "nnq_avgpool_s8_even", "nnq_avgpool_s16_even"} {
		if !seen[k] {
			t.Errorf("no test network runs %s", k)
		}
	}
}

// TestS8CortexM runs the s8/s16 test networks under QEMU: Cortex-M4 (DSP
// kernels of nnq's runtime) and Cortex-M3 (plain C), and, with
// CMSIS_NN_PATH set, against the real CMSIS-NN library on Cortex-M4 and
// on the host.
func TestS8CortexM(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	lib := os.Getenv("CMSIS_NN_PATH")
	for _, c := range s8Cases(t) {
		target := c.q.Target
		needTarget(t, target)
		dir := t.TempDir()
		if _, err := Export(c.q, dir, Options{Patterns: c.p, MaxPatterns: 8}); err != nil {
			t.Fatal(err)
		}
		runs := []VerifyOptions{{Target: target}}
		if lib != "" {
			runs = append(runs, VerifyOptions{Target: target, CMSISNNPath: lib})
			if target == "cortex-m3" {
				runs = append(runs, VerifyOptions{CMSISNNPath: lib})
			}
		}
		for _, o := range runs {
			res, err := Verify(testCtx(t), dir, o)
			if err != nil {
				t.Fatalf("%s (library %q): %v", c.name, o.CMSISNNPath, err)
			}
			if !res.BitExact || res.Patterns != 8 || (o.Target != "" && res.Instructions <= 0) {
				t.Fatalf("%s: %+v", c.name, res)
			}
		}
	}
}

func TestS8VerifyLibraryChecks(t *testing.T) {
	q, p := quantizedS8(t, netS8Row, nnq.FormatS8, "cortex-m4")
	dir := t.TempDir()
	if _, err := Export(q, dir, Options{Patterns: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(testCtx(t), dir, VerifyOptions{CMSISPath: "/nonexistent/CMSIS_5"}); err == nil || !strings.Contains(err.Error(), "CMSIS-NN") {
		t.Errorf("an s8 export verified against CMSIS_5: %v", err)
	}
	if a, err := ExportArithmetic(dir); err != nil || a != "s8" {
		t.Errorf("ExportArithmetic = %q, %v", a, err)
	}
	ql, pl := quantized(t, netQ15Conv, 16, "host")
	ldir := t.TempDir()
	if _, err := Export(ql, ldir, Options{Patterns: pl}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(testCtx(t), ldir, VerifyOptions{CMSISNNPath: "/nonexistent/CMSIS-NN"}); err == nil || !strings.Contains(err.Error(), "CMSIS_5") {
		t.Errorf("a q15 export verified against CMSIS-NN: %v", err)
	}
	// Re-exporting another arithmetic into the same directory removes the
	// other runtime's files.
	if _, err := Export(ql, dir, Options{Patterns: pl}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nnq_s8_conv.c")); err == nil {
		t.Error("the s8 runtime survived a q15 export into the same directory")
	}
	if a, _ := ExportArithmetic(dir); a != "q15" {
		t.Errorf("ExportArithmetic after re-export = %q", a)
	}
}
