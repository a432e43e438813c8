package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// convert --format s8 / s16: the report's s8 columns, the export calling the
// s8/s16 API, and verify on the host (and against CMSIS-NN when
// CMSIS_NN_PATH is set); options are checked before any work.
func TestConvertFormatS8(t *testing.T) {
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
		args := [][]string{{"verify", out}}
		if lib := os.Getenv("CMSIS_NN_PATH"); lib != "" && f == "s8" {
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
	if code := run([]string{"bench", "--only", "q7"}, &so, &se); code != 2 || !strings.Contains(se.String(), "--only: q7 is not one of runtime, s8, frontend") {
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
		if got := replaceS8Section(c.doc, sec); got != c.want {
			t.Errorf("replaceS8Section(%q) = %q, want %q", c.doc, got, c.want)
		}
	}
}
