package codegen

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

func exportT(t *testing.T, s netSpec, bits int, target string) (string, *Project) {
	t.Helper()
	q, p := quantized(t, s, bits, target)
	dir := t.TempDir()
	proj, err := Export(q, dir, Options{Patterns: p})
	if err != nil {
		t.Fatal(err)
	}
	return dir, proj
}

func TestDeterministic(t *testing.T) {
	q, p := quantized(t, netAllQ7, 8, "cortex-m4")
	d1, d2 := t.TempDir(), t.TempDir()
	p1, err := Export(q, d1, Options{Patterns: p})
	if err != nil {
		t.Fatal(err)
	}
	// A second, independently quantized copy of the same model.
	q2, _ := quantized(t, netAllQ7, 8, "cortex-m4")
	p2, err := Export(q2, d2, Options{Patterns: p})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p1.Files, ",") != strings.Join(p2.Files, ",") {
		t.Fatalf("file lists differ: %v vs %v", p1.Files, p2.Files)
	}
	for _, f := range p1.Files {
		a, err1 := os.ReadFile(filepath.Join(d1, f))
		b, err2 := os.ReadFile(filepath.Join(d2, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two exports of the same model", f)
		}
	}
	// No absolute paths or temp dirs in the generated files.
	for _, f := range p1.Files {
		a, _ := os.ReadFile(filepath.Join(d1, f))
		if bytes.Contains(a, []byte(d1)) {
			t.Errorf("%s contains the export directory", f)
		}
	}
}

func TestSanitize(t *testing.T) {
	needCC(t)
	for _, c := range []struct {
		net    netSpec
		bits   int
		target string
	}{{netAllQ7, 8, "cortex-m4"}, {netQ15, 16, "cortex-m3"}} {
		t.Run(c.net.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := exportT(t, c.net, c.bits, c.target)
			res, err := Verify(testCtx(t), dir, VerifyOptions{Sanitize: true})
			if err != nil {
				t.Fatal(err)
			}
			if !res.BitExact || !res.Sanitize {
				t.Fatalf("%+v", res)
			}
		})
	}
}

func TestVerifyJSON(t *testing.T) {
	needCC(t)
	dir, _ := exportT(t, netNonsquareQ7, 8, "cortex-m3")
	if _, err := Verify(testCtx(t), dir, VerifyOptions{MaxPatterns: 5}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, VerifyFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"patterns", "mismatches", "bit_exact", "target"} {
		if _, ok := m[k]; !ok {
			t.Errorf("verify.json lacks %q: %s", k, data)
		}
	}
	if m["patterns"] != 5.0 || m["bit_exact"] != true || m["target"] != "host" {
		t.Errorf("verify.json: %s", data)
	}
	// Random patterns when the export stores none.
	q, _ := quantized(t, netNonsquareQ7, 8, "cortex-m3")
	dir2 := t.TempDir()
	if _, err := Export(q, dir2, Options{}); err != nil {
		t.Fatal(err)
	}
	res, err := Verify(testCtx(t), dir2, VerifyOptions{RandomPatterns: 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.PatternSource != "random" || res.Patterns != 10 || !res.BitExact {
		t.Fatalf("%+v", res)
	}
}

func TestVerifyDetectsMismatch(t *testing.T) {
	needCC(t)
	dir, proj := exportT(t, netSquareQ7, 8, "cortex-m4")
	// Flip the first weight of layer 3 (the depthwise convolution).
	w := filepath.Join(dir, "nn_weights.h")
	src, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(} nn_l3_d1_w = \{\{\n\s*)(-?\d+)`)
	m := re.FindSubmatchIndex(src)
	if m == nil {
		t.Fatalf("no layer 3 weights in nn_weights.h")
	}
	old := string(src[m[4]:m[5]])
	repl := "100"
	if old == "100" {
		repl = "-100"
	}
	src = append(append(append([]byte{}, src[:m[4]]...), repl...), src[m[5]:]...)
	if err := os.WriteFile(w, src, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Verify(testCtx(t), dir, VerifyOptions{})
	if !isMismatch(err) {
		t.Fatalf("want a mismatch error, got %v", err)
	}
	if res.BitExact || res.FirstMismatch == nil || res.FirstMismatch.Layer != 3 || res.FirstMismatch.LayerName != proj.Model.Layers[3].Name {
		t.Fatalf("%+v %+v", res, res.FirstMismatch)
	}
	t.Log(err)
	data, _ := os.ReadFile(filepath.Join(dir, VerifyFile))
	if !bytes.Contains(data, []byte(`"bit_exact": false`)) || !bytes.Contains(data, []byte(`"first_mismatch"`)) {
		t.Errorf("verify.json: %s", data)
	}
}

func TestVerifyErrors(t *testing.T) {
	needCC(t)
	ctx := testCtx(t)
	// Not an export.
	_, err := Verify(ctx, t.TempDir(), VerifyOptions{})
	if !errors.Is(err, ErrNotExport) || !strings.Contains(err.Error(), "manifest") {
		t.Errorf("non-export dir: %v", err)
	}

	dir, _ := exportT(t, netNonsquareQ7, 8, "cortex-m3")

	// Unknown target; DSP model on a C-path core.
	if _, err := Verify(ctx, dir, VerifyOptions{Target: "cortex-a9"}); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Errorf("bad target: %v", err)
	}
	dspDir, _ := exportT(t, netSquareQ7, 8, "cortex-m4")
	if _, err := Verify(ctx, dspDir, VerifyOptions{Target: "cortex-m3"}); err == nil || !strings.Contains(err.Error(), "DSP") {
		t.Errorf("path mismatch: %v", err)
	}

	// Patterns that do not fit the model.
	bad := &nnq.Patterns{Shape: []int{5}, Layout: nnq.CMSIS}
	bad.Append([]float32{1, 2, 3, 4, 5}, -1, "")
	badDir := t.TempDir()
	copyDir(t, dir, badDir)
	if err := nnq.WritePatterns(filepath.Join(badDir, PatternsFile), bad); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, badDir, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("bad patterns: %v", err)
	}

	// A broken build shows the compiler's own error.
	brokenDir := t.TempDir()
	copyDir(t, dir, brokenDir)
	f, err := os.OpenFile(filepath.Join(brokenDir, "nn.c"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nint nnq_broken(void) { return nnq_no_such_symbol; }\n")
	f.Close()
	_, err = Verify(ctx, brokenDir, VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "nnq_no_such_symbol") || !strings.Contains(err.Error(), "error") {
		t.Errorf("broken build: %v", err)
	}
}

func TestVerifyMissingCompiler(t *testing.T) {
	needCC(t)
	dir, _ := exportT(t, netNonsquareQ7, 8, "cortex-m3")
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CC", "")
	_, err := Verify(testCtx(t), dir, VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "C compiler") {
		t.Fatalf("missing cc: %v", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVariantCoverage checks that the test networks exercise every kernel
// variant nnq can emit.
func TestVariantCoverage(t *testing.T) {
	seen := map[kernels.Variant]bool{}
	for _, c := range []struct {
		net    netSpec
		bits   int
		target string
	}{{netAllQ7, 8, "cortex-m3"}, {netSquareQ7, 8, "cortex-m4"}, {netNonsquareQ7, 8, "cortex-m3"}, {netQ15, 16, "cortex-m4"}, {netQ15Conv, 16, "cortex-m3"}} {
		for _, rt := range []string{nnq.RuntimeCMSIS, nnq.RuntimeNNQ} {
			q, _ := quantizedRT(t, c.net, c.bits, c.target, rt, "")
			for _, l := range q.Layers {
				seen[l.Kernel] = true
			}
		}
	}
	q, _ := quantizedRT(t, netAllQ7, 8, "cortex-m4", nnq.RuntimeNNQ, nnq.OptimizeSpeed)
	for _, l := range q.Layers {
		seen[l.Kernel] = true
	}
	for v := range recurrentVariantsSeen(t) {
		seen[v] = true
	}
	// nnq never emits these (no mixed q7/q15 networks, softmax over vectors).
	skip := map[kernels.Variant]bool{kernels.VarFullyConnectedMatQ7VecQ15: true, kernels.VarFullyConnectedMatQ7VecQ15Opt: true, kernels.VarSoftmaxWithBatchQ7: true}
	for _, v := range kernels.Variants() {
		if !seen[v] && !skip[v] {
			t.Errorf("no test network uses %s", v)
		}
	}
	if !seen[kernels.VarInvalid] {
		t.Error("no test network has a buffer view")
	}
}

func TestReport(t *testing.T) {
	q, _ := quantized(t, netAllQ7, 8, "cortex-m4")
	proj, err := Export(q, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := proj.Report()
	for _, want := range []string{"nnq_add_q7", "nnq_avgpool_q7", "no element-wise add", "square-only", "rejected", "arm_convolve_HWC_q7_RGB", "lower bound", "cmsis runtime"} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
	nnqLayers := 0
	for _, k := range proj.Kernels {
		if k.NNQ {
			nnqLayers++
		}
	}
	if nnqLayers != 2 || len(proj.Kernels) != len(q.Layers) {
		t.Errorf("kernels: %+v", proj.Kernels)
	}
	readme, _ := os.ReadFile(filepath.Join(proj.Dir, "README.md"))
	for _, want := range []string{"## Memory", "nnq_avgpool_q7", "NNQ_USE_CMSIS", "| 13 | sm | softmax |"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q", want)
		}
	}
}

// TestMakefile builds the exported project with its own Makefile and runs
// the demo, which compares the stored examples with the simulator; then the
// same against a stand-in CMSIS tree (the real library is not vendored).
func TestMakefile(t *testing.T) {
	needCC(t)
	testenv.Tool(t, "make", "make")
	// The builds below use nnq's runtime unless they name a CMSIS tree:
	// a library tree in the environment must not reach them.
	t.Setenv("CMSIS_PATH", "")
	dir, _ := exportT(t, netQ15, 16, "cortex-m3")
	dspDir, _ := exportT(t, netSquareQ7, 8, "cortex-m4")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(testCtx(t), "make", args...)
		cmd.Dir = dir
		if args[0] == "-C" {
			cmd.Dir, args = args[1], args[2:]
			cmd.Args = append([]string{"make"}, args...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("-s", "check", "CFLAGS=-O1 -Werror")
	if !strings.Contains(out, "0 mismatch(es)") {
		t.Fatalf("demo output:\n%s", out)
	}
	// Class names, escaped for C, come back intact.
	allDir, _ := exportT(t, netAllQ7, 8, "cortex-m3")
	out = run("-C", allDir, "-s", "run", "CFLAGS=-O1 -Werror")
	if !strings.Contains(out, "network says ") || !strings.Contains(out, "(say \"what\"??!)") {
		t.Errorf("no class name in demo output:\n%s", out)
	}
	if !strings.Contains(out, "0 mismatch(es)") {
		t.Fatalf("demo output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "build", "libnn.a")); err != nil {
		t.Fatal(err)
	}
	run("clean")
	// A DSP-path model: make check emulates the DSP semantics on the host.
	if out := run("-C", dspDir, "-s", "check", "CFLAGS=-O2 -Werror"); !strings.Contains(out, "0 mismatch(es)") {
		t.Fatalf("DSP demo output:\n%s", out)
	}

	cmsis := fakeCMSIS(t, dir)
	out = run("-s", "check", "CMSIS_PATH="+cmsis, "CFLAGS=-O1 -Werror")
	if !strings.Contains(out, "0 mismatch(es)") {
		t.Fatalf("demo output with CMSIS_PATH:\n%s", out)
	}
	// Only the nnq_ kernels come from the runtime in CMSIS mode.
	if _, err := os.Stat(filepath.Join(dir, "build", "nnq_legacy.o")); err == nil {
		t.Error("nnq_legacy.c compiled in CMSIS mode")
	}
	if _, err := os.Stat(filepath.Join(dir, "build", "cmsis", "fake_legacy.o")); err != nil {
		t.Error("CMSIS sources not compiled")
	}
	// The harness's CMSIS pass-through.
	res, err := Verify(testCtx(t), dir, VerifyOptions{CMSISPath: cmsis, MaxPatterns: 4})
	if err != nil || !res.CMSIS {
		t.Fatalf("%+v %v", res, err)
	}
}

// fakeCMSIS builds a stand-in CMSIS_5 tree from nnq's own runtime: the
// declarations of nnq_cmsis.h as arm_nnfunctions.h and the runtime's
// implementations as library sources.
func fakeCMSIS(t *testing.T, proj string) string {
	t.Helper()
	root := t.TempDir()
	nn := filepath.Join(root, "CMSIS", "NN")
	for _, d := range []string{"NN/Include", "NN/Source/Fake", "DSP/Include", "Core/Include"} {
		if err := os.MkdirAll(filepath.Join(root, "CMSIS", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h, err := os.ReadFile(filepath.Join(proj, "nnq_cmsis.h"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	i := strings.Index(s, "#else /* !NNQ_USE_CMSIS */")
	j := strings.Index(s, "#endif /* NNQ_USE_CMSIS */")
	if i < 0 || j < i {
		t.Skip("nnq_cmsis.h layout changed; cannot build the stand-in CMSIS tree")
	}
	decl := "#ifndef FAKE_ARM_NNFUNCTIONS_H\n#define FAKE_ARM_NNFUNCTIONS_H\n#include <stdint.h>\n" +
		s[i+len("#else /* !NNQ_USE_CMSIS */"):j] + "\n#endif\n"
	write := func(p, data string) {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(nn, "Include", "arm_nnfunctions.h"), decl)
	write(filepath.Join(nn, "Include", "arm_nnsupportfunctions.h"), "#include \"arm_nnfunctions.h\"\n")
	for _, f := range []string{"nnq_legacy.c"} {
		src, err := os.ReadFile(filepath.Join(proj, f))
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(nn, "Source", "Fake", "fake_"+strings.TrimPrefix(f, "nnq_")), "#undef NNQ_USE_CMSIS\n"+string(src))
	}
	return root
}

// TestCMake configures and builds the exported CMake project with the
// demo, with nnq's runtime and with the stand-in CMSIS tree.
func TestCMake(t *testing.T) {
	needCC(t)
	testenv.Tool(t, "cmake", "cmake")
	t.Setenv("CMSIS_PATH", "")                        // as in TestMakefile
	dspDir, _ := exportT(t, netAllQ7, 8, "cortex-m4") // NN_HOST_DSP defaults to ON
	cDir, _ := exportT(t, netQ15, 16, "cortex-m3")
	cmsis := fakeCMSIS(t, cDir)
	for _, c := range []struct {
		name, dir string
		args      []string
	}{{"runtime-dsp", dspDir, nil}, {"cmsis", cDir, []string{"-DCMSIS_PATH=" + cmsis}}} {
		b := t.TempDir()
		args := append([]string{"-S", c.dir, "-B", b, "-DNN_BUILD_DEMO=ON", "-DCMAKE_C_FLAGS=-Werror"}, c.args...)
		for _, cmd := range [][]string{append([]string{"cmake"}, args...), {"cmake", "--build", b}} {
			out, err := exec.CommandContext(testCtx(t), cmd[0], cmd[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v: %v\n%s", c.name, cmd, err, out)
			}
		}
		out, err := exec.CommandContext(testCtx(t), filepath.Join(b, "nn_demo")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "0 mismatch(es)") {
			t.Fatalf("%s: demo: %v\n%s", c.name, err, out)
		}
	}
}

func TestExportErrors(t *testing.T) {
	if _, err := Export(nil, t.TempDir(), Options{}); err == nil {
		t.Error("nil model accepted")
	}
	q, _ := quantized(t, netSquareQ7, 8, "cortex-m3")
	q.Layers[0].Kernel = kernels.VarConvolveHWCQ7RGB // needs 3 input channels, has 4
	if _, err := Export(q, t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), `layer "c1"`) || !strings.Contains(err.Error(), "ch_im_in == 3") {
		t.Errorf("invalid kernel: %v", err)
	}
	q, _ = quantized(t, netSquareQ7, 8, "cortex-m3")
	other := randomPatterns(floatModel(t, netNonsquareQ7, 1), 3, 1)
	if _, err := Export(q, t.TempDir(), Options{Patterns: other}); err == nil || !strings.Contains(err.Error(), "patterns") {
		t.Errorf("patterns of another model: %v", err)
	}
}
