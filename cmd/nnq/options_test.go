package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// Every bad option is refused with exit 2 before any file is read: the
// model given is not even an Arrow file, so an option checked after
// loading would report the model instead.
func TestBinaryOptionsCheckedBeforeWork(t *testing.T) {
	dir := t.TempDir()
	_, patterns := writeToyNet(t, dir)
	bad := mustFile(t, filepath.Join(dir, "bad.arrow"), "not an Arrow file")
	plain := mustFile(t, filepath.Join(dir, "plain.txt"), "a regular file")
	busy := filepath.Join(dir, "busy")
	os.Mkdir(busy, 0o755)
	mustFile(t, filepath.Join(busy, "notes.txt"), "someone's files")
	out := filepath.Join(dir, "out")
	conv := func(extra ...string) []string {
		return append([]string{"convert", "--model", bad, "--patterns", patterns, "--out", out}, extra...)
	}
	targets := strings.Join(kernels.CoreNames(), ", ")
	cases := []struct {
		args []string
		want []string
	}{
		{conv("--input-frac", "99"), []string{"--input-frac: 99 is outside [-8, 15]"}},
		{conv("--input-frac", "-9"), []string{"--input-frac: -9 is outside [-8, 15]"}},
		{conv("--bits", "16", "--input-frac", "32"), []string{"--input-frac: 32 is outside [-16, 31]"}},
		{conv("--bits", "12"), []string{"--bits: 12 is not one of 8, 16"}},
		{conv("--target", "cortex-m55"), []string{`--target: unknown target "cortex-m55" (one of ` + targets + ")"}},
		{conv("--scheme", "best"), []string{`--scheme: unknown scheme "best"`}},
		{conv("--max-test", "-5"), []string{"--max-test: -5 is below 0 (0: all)"}},
		{conv("--max-calib", "-1"), []string{"--max-calib: -1 is below 0"}},
		{conv("--runtime", "arm", "--optimize", "tiny"), []string{"--runtime: arm is not one of nnq, cmsis", "--optimize: tiny is not one of speed, size"}},
		{conv("--seed", "0"), []string{"--seed: 0 is below 1"}},
		{conv("--rounding", "bogus"), []string{`--rounding: unknown rounding "bogus" (double, single or onnx)`}},
		{conv("--rounding", "single"), []string{"--rounding: rounding single is an option of the s8/s16 formats", "legacy q7 API"}},
		{conv("--calib", filepath.Join(dir, "missing.arrow")), []string{"--calib: " + filepath.Join(dir, "missing.arrow") + " does not exist"}},
		{conv("--out", plain), []string{"--out: " + plain + " exists and is not a directory"}},
		{conv("--out", busy), []string{"--out: " + busy + " is a directory with files that are not an nnq export"}},
		// Several at once: all are reported.
		{conv("--bits", "7", "--max-test", "-1", "--target", "m99"), []string{"--bits: 7", "--max-test: -1", `--target: unknown target "m99"`}},
		{[]string{"convert", "--model", filepath.Join(dir, "nope.arrow"), "--patterns", patterns, "--out", out}, []string{"--model: " + filepath.Join(dir, "nope.arrow") + " does not exist"}},
		{[]string{"inspect", bad, "--bits", "4"}, []string{"--bits: 4 is not one of 8, 16"}},
		{[]string{"inspect", bad, "--target", "a53"}, []string{`--target: unknown target "a53"`}},
		{[]string{"verify", dir}, []string{"DIR: " + dir + " is not an nnq export"}},
		{[]string{"verify", plain}, []string{"is not a directory"}},
		{[]string{"verify", out, "--target", "m55", "--max-patterns", "-2"}, []string{"DIR: " + out + " does not exist", `--target: unknown target "m55"`, "--max-patterns: -2 is below 0"}},
		{[]string{"verify", out, "--lib-sanitize", "none"}, []string{"--lib-sanitize: none is not one of no-shift-base, full"}},
		{[]string{"bench", "--only", "s9", "--cmsis", plain}, []string{"--only: s9 is not one of runtime, s8, calib, frontend, stream", "--cmsis: " + plain + " is not a directory"}},
		{[]string{"bench", "--runs", "0", "--max-calib", "0", "--out", plain}, []string{"--runs: 0 is below 1", "--max-calib: 0 is below 1", "--out: " + plain + " exists and is not a directory"}},
		{[]string{"bench", "--only", "stream", "--stream-model", filepath.Join(dir, "nope.arrow")}, []string{"--stream-model: " + filepath.Join(dir, "nope.arrow") + " does not exist"}},
		{[]string{"bench", "--only", "network"}, []string{"--only: network is not one of runtime, s8, calib, frontend, stream"}},
		{[]string{"import", bad, "-o", dir}, []string{"-o: " + dir + " is a directory"}},
		{[]string{"import", filepath.Join(dir, "nope.onnx")}, []string{"MODEL: " + filepath.Join(dir, "nope.onnx") + " does not exist"}},
	}
	for _, c := range cases {
		r := nnqRun(t, c.args...)
		if r.code != 2 {
			t.Errorf("nnq %v: %s\nwant exit 2", c.args, r)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("nnq %v: stderr lacks %q:\n%s", c.args, w, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "not an Arrow") || strings.Contains(r.stdout, "accuracy") {
			t.Errorf("nnq %v: read a file before checking the options:\n%s", c.args, r)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused convert created %s", out)
	}
	// A read-only parent is refused up front (root may write anyway).
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		r := nnqRun(t, conv("--out", filepath.Join(ro, "out"))...)
		if r.code != 2 || !strings.Contains(r.stderr, "cannot write in "+ro) {
			t.Errorf("read-only parent: %s", r)
		}
	}
}

// One target list: the help of every command taking --target, the error
// for an unknown one and the README all give kernels.CoreNames.
func TestBinaryOneTargetList(t *testing.T) {
	list := strings.Join(kernels.CoreNames(), ", ")
	for _, cmd := range []string{"convert", "verify", "inspect"} {
		r := nnqRun(t, cmd, "-h")
		if r.code != 0 || !strings.Contains(r.stderr, list) {
			t.Errorf("nnq %s -h does not list the targets %q:\n%s", cmd, list, r)
		}
		for _, stale := range []string{"m0plus", "m55", "cortex-m0plus"} {
			if strings.Contains(r.stderr, stale) {
				t.Errorf("nnq %s -h mentions %s", cmd, stale)
			}
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`--target`: "+list) {
		t.Errorf("README.md does not list the targets as \"`--target`: %s\"", list)
	}
}

// Help shows real defaults only: no sentinel for an unset --input-frac.
func TestBinaryHelpHasNoSentinels(t *testing.T) {
	r := nnqRun(t, "convert", "-h")
	if r.code != 0 || strings.Contains(r.stderr, "-1000") {
		t.Fatalf("convert -h: %s", r)
	}
	m := regexp.MustCompile(`(?s)-input-frac N\n(.*?)\n  -`).FindStringSubmatch(r.stderr)
	if m == nil || strings.Contains(m[1], "default") && !strings.Contains(m[1], "default: from statistics") {
		t.Errorf("--input-frac help: %q", m)
	}
}

// -q prints the summary only; without it the table comes first.
func TestBinaryQuiet(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	for _, quiet := range []bool{true, false} {
		args := []string{"convert", "--model", model, "--patterns", patterns, "--max-test", "20", "--out", filepath.Join(dir, "out")}
		if quiet {
			args = append(args, "-q")
		}
		r := nnqRun(t, args...)
		if r.code != 0 {
			t.Fatal(r)
		}
		hasTable := strings.Contains(r.stdout, `quantized "toy"`)
		if hasTable == quiet || !strings.Contains(r.stdout, "accuracy on 20 labelled test patterns") {
			t.Errorf("-q=%v: table printed %v:\n%s", quiet, hasTable, r.stdout)
		}
		if quiet && r.stderr != "" {
			t.Errorf("-q logs: %s", r.stderr)
		}
	}
}

// inspect names every layer's kernel exactly as the report of a
// conversion does, and counts an average pool's MACs.
func TestBinaryInspectNamesKernelsLikeTheReport(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNetPool(t, dir, nnq.OpAvgPool2D)
	for _, c := range []struct{ bits, target string }{{"8", "cortex-m4"}, {"16", "cortex-m3"}} {
		r := nnqRun(t, "inspect", model, "--bits", c.bits, "--target", c.target)
		if r.code != 0 {
			t.Fatal(r)
		}
		rows := map[string][]string{}
		for _, line := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(line); len(f) >= 6 {
				rows[f[0]] = f
			}
		}
		// 8x6x4 map, 2x2 average pool: 4x3x4 outputs of 4 additions.
		if pool := rows["pool"]; pool == nil || pool[4] != "192" {
			t.Errorf("avgpool row %v, want 192 MACs", pool)
		}
		out := filepath.Join(dir, "out"+c.bits)
		if r := nnqRun(t, "convert", "--model", model, "--patterns", patterns, "--bits", c.bits, "--target", c.target, "--max-test", "10", "--out", out, "-q"); r.code != 0 {
			t.Fatal(r)
		}
		var rep nnq.Report
		b, _ := os.ReadFile(filepath.Join(out, "report.json"))
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		for _, l := range rep.Layers {
			row := rows[l.Name]
			if row == nil {
				continue // a layer Prepare made (the folded batchnorm's relu)
			}
			if got := strings.Join(row[5:], " "); got != l.Kernel {
				t.Errorf("q%s %s layer %s: inspect says %q, the report %q", c.bits, c.target, l.Name, got, l.Kernel)
			}
		}
	}
}

// Unlabelled test patterns are left out of the accuracy and counted.
func TestBinaryUnlabelledPatterns(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	p, err := nnq.ReadPatterns(patterns)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range p.Labels {
		if p.Splits[i] == "test" && i%2 == 0 {
			p.Labels[i] = -1
			n++
		}
	}
	if err := nnq.WritePatterns(patterns, p); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := nnqRun(t, "convert", "--model", model, "--patterns", patterns, "--out", out, "-q")
	if r.code != 0 || !strings.Contains(r.stdout, "float 100.00%") || !strings.Contains(r.stdout, "unlabelled left out") {
		t.Fatalf("%s", r)
	}
	var rep nnq.Report
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil || rep.Unlabelled != n || rep.FloatAccuracy != 1 {
		t.Errorf("report: %d unlabelled (want %d), float accuracy %v, %v", rep.Unlabelled, n, rep.FloatAccuracy, err)
	}
}

// verify on a Cortex-M target adds its figures to report.json: a broken
// report is refused before anything is built or run.
func TestBinaryVerifyRefusesBadReport(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	out := filepath.Join(dir, "out")
	if r := nnqRun(t, "convert", "--model", model, "--patterns", patterns, "--max-test", "5", "--out", out, "-q"); r.code != 0 {
		t.Fatal(r)
	}
	report := filepath.Join(out, "report.json")
	b, _ := os.ReadFile(report)
	os.WriteFile(report, bytes.Replace(b, []byte(`"bits": 8`), []byte(`"bits": 9`), 1), 0o644)
	r := nnqRun(t, "verify", out, "--target", "cortex-m4")
	if strings.Contains(r.stderr, "not found; install the Debian package") {
		testenv.Missing(t, "%s", r.stderr)
	}
	if r.code != 1 || !strings.Contains(r.stderr, report+": bad report: bits 9 is not 8 or 16") || strings.Contains(r.stdout, "bit-exact") {
		t.Errorf("%s", r)
	}
}
