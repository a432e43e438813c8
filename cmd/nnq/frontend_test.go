package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

var (
	kwsModel    = filepath.Join("..", "..", "data", "kws-dscnn", "model.arrow")
	kwsONNX     = filepath.Join("..", "..", "data", "kws-dscnn", "model.onnx")
	kwsPatterns = filepath.Join("..", "..", "data", "kws", "patterns.arrow")
	kwsClips    = filepath.Join("..", "..", "data", "kws", "testclips")
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var so, se bytes.Buffer
	code = run(args, &so, &se)
	return so.String(), se.String(), code
}

// convertKWSWithClips converts the bundled DS-CNN into out with the test
// clips stored and checks that convert reports the front end.
func convertKWSWithClips(t *testing.T, out string, args ...string) {
	t.Helper()
	args = append([]string{"convert", "--model", kwsModel, "--patterns", kwsPatterns, "--max-calib", "200", "--max-test", "40",
		"--clips", kwsClips, "--out", out, "-q"}, args...)
	so, se, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("nnq %v: %s", args, se)
	}
	for _, want := range []string{"front end: mfcc helloedge: 16000 Hz", "24 clips stored"} {
		if !strings.Contains(so, want) {
			t.Errorf("convert output lacks %q:\n%s", want, so)
		}
	}
}

// The bundled DS-CNN records its MFCC front end: convert exports it with
// the stored clips, verify checks it on the host (float and fixed point,
// sanitized) and on QEMU (Cortex-M4 float, Cortex-M3 fixed point).
func TestConvertAndVerifyFrontend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	dir := t.TempDir()
	for _, target := range []string{"cortex-m4", "cortex-m3"} {
		out := filepath.Join(dir, target)
		convertKWSWithClips(t, out, "--target", target, "--scheme", "minmax")
		for _, f := range []string{"frontend.c", "frontend.h", "frontend_tables.h", "app/app.c", "nnq/clips/yes-en-gb-scotland_f1-0.wav"} {
			if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f))); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		runs := [][]string{{"verify", out, "--target", target, "--max-patterns", "4"}}
		if target == "cortex-m3" {
			runs = append(runs, []string{"verify", out, "--sanitize", "--max-patterns", "4"}, []string{"verify", out, "--frontend-path", "fixed", "--max-patterns", "4"})
		}
		for _, args := range runs {
			so, se, code := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("nnq %v: exit %d: %s\n%s", args, code, se, so)
			}
			path, where := "float", "host"
			if args[2] == "--target" {
				where = target
				if target == "cortex-m3" {
					path = "fixed"
				}
			} else if args[2] == "--frontend-path" {
				path = "fixed"
			}
			want := []string{"front end (" + path + " path) on " + where + ": 24 stored clips", "class of 24 of 24 clips as in Go", ": passed"}
			if where != "host" {
				want = append(want, "instructions per hop", "network on "+where)
			}
			for _, w := range want {
				if !strings.Contains(so, w) {
					t.Errorf("nnq %v output lacks %q:\n%s", args, w, so)
				}
			}
			t.Logf("nnq %s:\n%s", strings.Join(args, " "), so[strings.Index(so, "front end ("):])
		}
		// The report holds the front end's sizes and, after the Cortex-M
		// run, its cost next to the network's.
		rep, err := nnq.ReadReport(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		f := rep.Frontend
		if f == nil || f.RingBytes != 2560 || f.FeatureBytes != 980 || f.FloatTableBytes == 0 || f.FixedTableBytes == 0 || f.InferEvery != 8 || f.HopMs != 20 {
			t.Fatalf("report.json front end %+v", f)
		}
		wantPath := map[string]string{"cortex-m4": "float", "cortex-m3": "fixed"}[target]
		if f.Target != target || f.Path != wantPath || f.InstructionsPerHop <= 0 || f.EqualShare < 0.99 || f.ClassesAgree != 24 || f.Clips != 24 {
			t.Errorf("report.json front end run %+v", f)
		}
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		for _, w := range []string{"Input front end (frontend.c): mfcc helloedge", "instructions per 20 ms hop", "The network: "} {
			if !bytes.Contains(md, []byte(w)) {
				t.Errorf("report.md lacks %q", w)
			}
		}
		t.Logf("report.md: %s", md[bytes.Index(md, []byte("Input front end")):][:bytes.IndexByte(md[bytes.Index(md, []byte("Input front end")):], '\n')])
	}
}

func TestFrontendCLIErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	model, patterns := writeToyNet(t, dir)
	cases := []struct {
		args []string
		code int // 2: refused by the option checks
		want string
	}{
		{[]string{"convert", "--model", model, "--patterns", patterns, "--frontend", "lpc", "--out", out}, 2, `--frontend: front end "lpc": want mfcc, none or auto`},
		{[]string{"convert", "--model", model, "--patterns", patterns, "--clips", filepath.Join(dir, "nope"), "--out", out}, 2, "--clips: " + filepath.Join(dir, "nope") + " does not exist"},
		{[]string{"convert", "--model", model, "--patterns", patterns, "--frontend", "mfcc", "--out", out}, 1, "makes 49x10 maps"},
		{[]string{"convert", "--model", kwsModel, "--patterns", kwsPatterns, "--frontend", "none", "--clips", kwsClips, "--out", out}, 1, "the model has no input front end"},
		{[]string{"convert", "--model", kwsModel, "--patterns", kwsPatterns, "--clips", dir, "--out", out}, 1, "no .wav files"},
		{[]string{"verify", out, "--frontend-path", "double"}, 2, `--frontend-path: double is not one of float, fixed`},
		{[]string{"import", kwsONNX, "-o", filepath.Join(dir, "x.arrow"), "--frontend", "lpc"}, 2, `--frontend: front end "lpc"`},
	}
	for _, c := range cases {
		_, se, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(se, c.want) {
			t.Errorf("nnq %v: exit %d, stderr %q; want %d, %q", c.args, code, se, c.code, c.want)
		}
	}
}

// nnq import keeps the front end the ONNX file records (nnq.frontend
// metadata), or drops it with --frontend none.
func TestImportFrontend(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flag string
		want bool
	}{{"auto", true}, {"none", false}, {"mfcc", true}} {
		out := filepath.Join(dir, c.flag+".arrow")
		so, se, code := runCLI(t, "import", kwsONNX, "-o", out, "--frontend", c.flag)
		if code != 0 {
			t.Fatalf("import --frontend %s: %s", c.flag, se)
		}
		m, err := nnq.ReadModel(out)
		if err != nil {
			t.Fatal(err)
		}
		if (m.Frontend != nil) != c.want || strings.Contains(so, "input front end: mfcc helloedge") != c.want {
			t.Errorf("import --frontend %s: front end %v, output %s", c.flag, m.Frontend, so)
		}
	}
}

// nnq bench --only frontend measures the exported front end of the
// bundled DS-CNN on QEMU (float on M4, fixed point on M3).
func TestBenchFrontendSection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	so, se, code := runCLI(t, "bench", "--only", "frontend", "--nets", "kws="+kwsModel+","+kwsPatterns, "--max-calib", "200")
	if code != 0 {
		t.Fatalf("bench --only frontend: %s", se)
	}
	for _, want := range []string{"### kws", "46 stored clips", "| cortex-m4 | float | nnq |", "| cortex-m3 | fixed | nnq |", "audio ring 2560 B", "instructions per inference on the Cortex-M4", "an inference every 8 hops"} {
		if !strings.Contains(so, want) {
			t.Errorf("bench output lacks %q:\n%s", want, so)
		}
	}
	if _, se, code := runCLI(t, "bench", "--only", "kernels"); code != 2 || !strings.Contains(se, `--only: kernels is not one of runtime, s8, calib, frontend, stream`) {
		t.Errorf("--only kernels: %d %s", code, se)
	}
	// A CMSIS-DSP checkout without the FFT sources is refused before work.
	t.Setenv("CMSIS_PATH", t.TempDir())
	t.Setenv("CMSIS_DSP_PATH", t.TempDir())
	if _, se, code := runCLI(t, "bench", "--only", "frontend"); code != 2 || !strings.Contains(se, "CMSIS_DSP_PATH: ") {
		t.Errorf("bad CMSIS_DSP_PATH: %d %s", code, se)
	}
}

// An s8 export of the KWS network carries the front end too: its features
// come out with the network input's scale and zero point. verify checks
// them on the host (float point under the sanitizers, and fixed point) and
// on QEMU Cortex-M4 (TestStreamingApp runs the s8 streaming app).
func TestConvertS8AndVerifyFrontend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	out := filepath.Join(t.TempDir(), "s8")
	convertKWSWithClips(t, out, "--format", "s8", "--target", "cortex-m4")
	tables, err := os.ReadFile(filepath.Join(out, "frontend_tables.h"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(tables, []byte("/* Output: s8, scale ")) || !bytes.Contains(tables, []byte("#define FE_OUT_MULT ")) {
		t.Errorf("frontend_tables.h does not write the s8 input format:\n%.600s", tables)
	}
	for _, f := range []string{"frontend.c", "frontend.h", "app/app.c"} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f))); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, c := range []struct {
		args        []string
		path, where string
	}{
		{[]string{"verify", out, "--sanitize", "--max-patterns", "4"}, "float", "host"},
		{[]string{"verify", out, "--frontend-path", "fixed", "--max-patterns", "4"}, "fixed", "host"},
		{[]string{"verify", out, "--target", "cortex-m4", "--max-patterns", "4"}, "float", "cortex-m4"},
	} {
		so, se, code := runCLI(t, c.args...)
		if code != 0 {
			t.Fatalf("nnq %v: exit %d: %s\n%s", c.args, code, se, so)
		}
		for _, w := range []string{"front end (" + c.path + " path) on " + c.where + ": 24 stored clips", "class of 24 of 24 clips as in Go", ": passed"} {
			if !strings.Contains(so, w) {
				t.Errorf("nnq %v output lacks %q:\n%s", c.args, w, so)
			}
		}
		t.Logf("nnq %s:\n%s", strings.Join(c.args, " "), so[strings.Index(so, "front end ("):])
	}
	rep, err := nnq.ReadReport(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Frontend; f == nil || f.Target != "cortex-m4" || f.Path != "float" || f.EqualShare < 0.99 || f.ClassesAgree != 24 || f.InstructionsPerHop <= 0 {
		t.Errorf("report.json front end %+v", rep.Frontend)
	}
}
