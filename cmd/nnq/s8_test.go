package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
)

// convert --format s8 / s16: the report's s8 columns, the export calling the
// s8/s16 API, and verify on the host (and against CMSIS-NN when
// CMSIS_NN_PATH is set); options are checked before any work.
func TestConvertFormatS8(t *testing.T) {
	// verify without --cmsis-nn defaults to $CMSIS_NN_PATH: cleared, so
	// the first verify is nnq's runtime's, and the library (when set) is
	// named explicitly.
	lib := os.Getenv("CMSIS_NN_PATH")
	t.Setenv("CMSIS_NN_PATH", "")
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	for _, f := range []string{"s8", "s16"} {
		out := filepath.Join(dir, f)
		var so, se bytes.Buffer
		if code := run([]string{"convert", "--model", model, "--patterns", patterns, "--format", f, "--max-test", "40", "--out", out}, &so, &se); code != 0 {
			t.Fatalf("convert --format %s: exit %d: %s", f, code, se.String())
		}
		for _, want := range []string{"quantized \"toy\": " + f, "weight scale", "multiplier", "arm_convolve_wrapper_" + f, "(fused into c1)"} {
			if !strings.Contains(so.String(), want) {
				t.Errorf("%s: convert output lacks %q:\n%s", f, want, so.String())
			}
		}
		var rep nnq.Report
		b, _ := os.ReadFile(filepath.Join(out, "report.json"))
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Type != f || rep.InputAffine == nil || rep.Layers[0].S8 == nil || rep.Layers[0].S8.Multiplier == nil || rep.ArenaBytes == 0 {
			t.Errorf("%s: report.json lacks the s8 columns: %+v", f, rep)
		}
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		if !strings.Contains(string(md), "effective multiplier") || !strings.Contains(string(md), "ctx scratch") {
			t.Errorf("%s: report.md:\n%s", f, md)
		}
		args := [][]string{{"verify", out}} // nnq's runtime (CMSIS_NN_PATH is cleared below)
		if lib != "" && f == "s8" {
			args = append(args, []string{"verify", out, "--cmsis-nn", lib})
		}
		for _, a := range args {
			so.Reset()
			if code := run(a, &so, &se); code != 0 || !strings.Contains(so.String(), "40 stored patterns, every layer compared: bit-exact") {
				t.Errorf("nnq %v: exit %d: %s %s", a, code, so.String(), se.String())
			}
		}
	}
	// The legacy library for an s8 export is refused.
	var so, se bytes.Buffer
	if code := run([]string{"verify", filepath.Join(dir, "s8"), "--cmsis", dir}, &so, &se); code != 1 || !strings.Contains(se.String(), "CMSIS-NN") {
		t.Errorf("verify --cmsis on an s8 export: exit %d: %s", code, se.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "s4"}, `unknown format "s4"`},
		{[]string{"--format", "s8", "--bits", "16"}, "--bits 16 contradicts --format s8"},
		{[]string{"--format", "s16", "--truncate"}, "--truncate: models the legacy"},
		{[]string{"--format", "s8", "--rounding", "bogus"}, `--rounding: unknown rounding "bogus" (double, single or onnx)`},
		{[]string{"--format", "q7", "--rounding", "single"}, "--rounding: rounding single is an option of the s8/s16 formats (CMSIS-NN's s8/s16 API); the legacy q7 API has no such choice"},
		{[]string{"--bits", "16", "--rounding", "onnx"}, "the legacy q15 API"},
		{[]string{"--format", "s16", "--input-frac", "40"}, "--input-frac: 40 is outside [-16, 31]"},
	} {
		se.Reset()
		a := append([]string{"convert", "--model", model, "--patterns", patterns, "--out", filepath.Join(dir, "x")}, c.args...)
		if code := run(a, &so, &se); code != 2 || !strings.Contains(se.String(), c.want) {
			t.Errorf("nnq %v: exit %d, %q; want %q", c.args, code, se.String(), c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Errorf("nnq %v wrote output before refusing its options", c.args)
		}
	}
}

// bench --only s8 measures the s8 section on its own.
func TestBenchS8Section(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	out := filepath.Join(dir, "docs")
	// An earlier full bench: its other sections and JSON keys stay, its
	// s8 section is replaced.
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	before := "# Benchmarks\n\nlegacy rows\n\n## Today's CMSIS-NN API: s8 and s16\n\nOLD S8 ROWS\n\n## Later section\n\nkept\n"
	if err := os.WriteFile(filepath.Join(out, "BENCHMARKS.md"), []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "benchmarks.json"), []byte(`{"networks": [{"name": "legacy"}], "s8": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var so, se bytes.Buffer
	if code := run([]string{"bench", "--only", "s8", "--nets", "toy=" + model + "," + patterns, "--out", out, "--max-calib", "100"}, &so, &se); code != 0 {
		t.Fatalf("bench --only s8: exit %d: %s", code, se.String())
	}
	md, err := os.ReadFile(filepath.Join(out, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Benchmarks\n\nlegacy rows\n", "## Today's CMSIS-NN API", "Measured at commit ", "| toy | s8 |", "| toy | s16 |", "(q7)", "(q15)", "true (100)", "\n\n## Later section\n\nkept\n"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "OLD S8 ROWS") || strings.Count(string(md), "## Today's") != 1 {
		t.Errorf("the earlier s8 section was not replaced:\n%s", md)
	}
	var doc struct {
		Networks []struct{ Name string } `json:"networks"`
		S8       []s8Row                 `json:"s8"`
	}
	b, err := os.ReadFile(filepath.Join(out, "benchmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Networks) != 1 || doc.Networks[0].Name != "legacy" || len(doc.S8) != 2 || doc.S8[0].Network != "toy" || !doc.S8[1].HostBitExact {
		t.Errorf("benchmarks.json: %s", b)
	}
	if code := run([]string{"bench", "--only", "q7"}, &so, &se); code != 2 || !strings.Contains(se.String(), "--only: q7 is not one of runtime, s8, calib, frontend") {
		t.Errorf("bench --only q7: %s", se.String())
	}
}

func TestReplaceS8Section(t *testing.T) {
	sec := s8Heading + "\nNEW\n"
	for _, c := range []struct{ doc, want string }{
		{"", "## Today's CMSIS-NN API: s8 and s16\n\nNEW\n"},
		{"# B\n\nrows\n", "# B\n\nrows\n" + sec},
		{"# B\n" + s8Heading + "\nOLD\n", "# B\n" + sec},
		{"# B\n" + s8Heading + "\nOLD\n\n## C\n", "# B\n" + sec + "\n## C\n"},
	} {
		if got := replaceSection(c.doc, s8Heading, sec); got != c.want {
			t.Errorf("replaceSection(%q) = %q, want %q", c.doc, got, c.want)
		}
	}
}

// convert --format s8 --rounding onnx on the QDQ model PyTorch quantized
// (nnq/onnx/testdata, data/onnx/make_qdq.py): the export builds with
// CMSIS_NN_USE_SINGLE_ROUNDING and runs the average pool on nnq's
// ties-to-even kernel, the report states the rounding, verify is bit-exact
// on the host (and against CMSIS-NN built with the macro when
// CMSIS_NN_PATH is set); with the default rounding the notes suggest the
// option.
func TestConvertQDQRoundingONNX(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "nnq", "onnx", "testdata", "qdq.onnx")
	b, err := os.ReadFile(filepath.Join("..", "..", "nnq", "onnx", "testdata", "expected_qdq.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Scale float64   `json:"input_scale"`
		Zero  int       `json:"input_zero_point"`
		Codes [][]int32 `json:"input_codes"`
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	m, err := nnq.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	p := &nnq.Patterns{Shape: m.InputShape, Layout: nnq.NCHW}
	for _, k := range exp.Codes {
		x := make([]float32, len(k))
		for i, v := range k {
			x[i] = float32(int(v)-exp.Zero) * float32(exp.Scale)
		}
		p.Append(x, 0, "")
	}
	patterns := filepath.Join(dir, "qdq-patterns.arrow")
	if err := nnq.WritePatterns(patterns, p); err != nil {
		t.Fatal(err)
	}
	for _, rounding := range []string{"onnx", "double"} {
		out := filepath.Join(dir, rounding)
		var so, se bytes.Buffer
		if code := run([]string{"convert", "--model", model, "--patterns", patterns, "--format", "s8", "--rounding", rounding, "--out", out}, &so, &se); code != 0 {
			t.Fatalf("convert --rounding %s: exit %d: %s", rounding, code, se.String())
		}
		onnx := rounding == "onnx"
		if strings.Contains(so.String(), "--rounding onnx") == onnx {
			t.Errorf("--rounding %s: the notes' suggestion of --rounding onnx: %v:\n%s", rounding, !onnx, so.String())
		}
		nnc, _ := os.ReadFile(filepath.Join(out, "nn.c"))
		mk, _ := os.ReadFile(filepath.Join(out, "Makefile"))
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		q, err := nnq.LoadQModel(filepath.Join(out, codegen.QuantFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what string
			ok   bool
		}{
			{"nn.c calls nnq_avgpool_s8_even", strings.Contains(string(nnc), "nnq_avgpool_s8_even(")},
			{"the Makefile defines CMSIS_NN_USE_SINGLE_ROUNDING", strings.Contains(string(mk), "-DCMSIS_NN_USE_SINGLE_ROUNDING")},
			{"report.md states the onnx rounding", strings.Contains(string(md), "ONNX rounding") && strings.Contains(string(md), "rounding onnx")},
			{"the saved model has rounding onnx", q.AffineRounding == nnq.RoundingONNX},
		} {
			if c.ok != onnx {
				t.Errorf("--rounding %s: %s: %v", rounding, c.what, c.ok)
			}
		}
		if !onnx && !strings.Contains(string(md), "TFLite double rounding") {
			t.Errorf("--rounding double: report.md does not state the rounding:\n%s", md)
		}
		args := [][]string{{"verify", out}}
		if lib := os.Getenv("CMSIS_NN_PATH"); lib != "" {
			args = append(args, []string{"verify", out, "--cmsis-nn", lib})
		}
		for _, a := range args {
			so.Reset()
			if code := run(a, &so, &se); code != 0 || !strings.Contains(so.String(), "every layer compared: bit-exact") {
				t.Errorf("nnq %v: exit %d: %s %s", a, code, so.String(), se.String())
			}
		}
	}
}
