package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// writeSplitVariant rewrites the toy patterns (300 rows, train/val/test in
// turn) keeping the rows whose split keep accepts, with split(i) as their
// new split ("" for all: no split column).
func writeSplitVariant(t *testing.T, src, dst string, keep func(split string) bool, split func(old string) string) int {
	t.Helper()
	p, err := nnq.ReadPatterns(src)
	if err != nil {
		t.Fatal(err)
	}
	out := &nnq.Patterns{Shape: p.Shape, Layout: p.Layout}
	for i := 0; i < p.Len(); i++ {
		if keep(p.Splits[i]) {
			out.Append(p.Input(i), p.Label(i), split(p.Splits[i]))
		}
	}
	if split("train") == "" {
		out.Splits = nil
	}
	if err := nnq.WritePatterns(dst, out); err != nil {
		t.Fatal(err)
	}
	return out.Len()
}

func readReport(t *testing.T, dir string) nnq.Report {
	t.Helper()
	var rep nnq.Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// The split semantics of docs/FORMAT.md, through the built binary: a file
// with train/val rows but no test rows is refused before any work; a file
// without a split column tests on its last third and says so; with --calib,
// the patterns file tests on its test rows, or on all its rows when it has
// none (and says so).
func TestBinarySplitSemantics(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	same := func(s string) string { return s }
	all := func(string) bool { return true }

	noTest := filepath.Join(dir, "train-val.arrow")
	writeSplitVariant(t, patterns, noTest, func(s string) bool { return s != "test" }, same)
	out := filepath.Join(dir, "refused")
	r := nnqRun(t, "convert", "--model", model, "--patterns", noTest, "--out", out, "-q")
	if r.code != 1 || !strings.Contains(r.stderr, noTest+" has train/val rows but no test rows") || !strings.Contains(r.stderr, "--calib") {
		t.Errorf("train/val only: %s", r)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("train/val only: %s was written", out)
	}

	plain := filepath.Join(dir, "plain.arrow")
	n := writeSplitVariant(t, patterns, plain, all, func(string) string { return "" })
	out = filepath.Join(dir, "plain")
	r = nnqRun(t, "convert", "--model", model, "--patterns", plain, "--out", out, "-q")
	want := plain + " has no split column: its first 200 patterns calibrate, the last 100 (the last third) are the test set"
	if r.code != 0 || n != 300 || !strings.Contains(r.stdout, "note: "+want) || !strings.Contains(r.stdout, "on 100 labelled test patterns") {
		t.Fatalf("no split column: %s", r)
	}
	if rep := readReport(t, out); rep.Patterns != 100 || len(rep.Notes) == 0 || rep.Notes[0] != want {
		t.Errorf("no split column: report has %d test patterns, notes %q", rep.Patterns, rep.Notes)
	}

	// --calib: a patterns file with test rows tests on them alone ...
	out = filepath.Join(dir, "calib-test")
	r = nnqRun(t, "convert", "--model", model, "--patterns", patterns, "--calib", noTest, "--out", out, "-q")
	if r.code != 0 || !strings.Contains(r.stdout, "on 100 labelled test patterns") || strings.Contains(r.stdout, "note:") {
		t.Errorf("--calib, patterns with test rows: %s", r)
	}
	// ... one without test rows (train/val rows, or no split column)
	// tests on all its rows.
	for _, f := range []string{noTest, plain} {
		out = filepath.Join(dir, "calib-"+filepath.Base(f))
		r = nnqRun(t, "convert", "--model", model, "--patterns", f, "--calib", patterns, "--out", out, "-q")
		want := f + " has no test rows: with a separate calibration file (" + patterns + ")"
		p, _ := nnq.ReadPatterns(f)
		if r.code != 0 || !strings.Contains(r.stdout, "note: "+want) || readReport(t, out).Patterns != p.Len() {
			t.Errorf("--calib, patterns %s: %s", filepath.Base(f), r)
		}
	}
}
