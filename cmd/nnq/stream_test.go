package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
)

// TestStreamingMatchesInMemory converts a bundled network on its bundled
// patterns twice, streaming the pattern file (the default) and with every
// pattern in memory, with seeded --max-calib/--max-test samples, and
// requires the same formats, accuracy and export, file for file.
func TestStreamingMatchesInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("two conversions of mnist-cnn")
	}
	opt := nnq.ConvertOptions{Model: "../../data/mnist-cnn/model.arrow", Patterns: "../../data/mnist/patterns.arrow",
		Bits: 8, MaxCalib: 600, MaxTest: 700, Seed: 5}
	var dirs []string
	var convs []*nnq.Conversion
	for _, inMem := range []bool{false, true} {
		o := opt
		o.InMemory = inMem
		c, err := nnq.Convert(o)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "out")
		if _, _, err := exportAll(c, dir, nil); err != nil {
			t.Fatal(err)
		}
		dirs, convs = append(dirs, dir), append(convs, c)
	}
	s, m := convs[0], convs[1]
	if s.Calib != nil || m.Calib.Len() != 600 || m.Test.Len() != 700 || s.Test.Len() != nnq.KeptTestPatterns {
		t.Fatalf("streaming kept %d calibration and %d test patterns; in memory %d and %d", s.Calib.Len(), s.Test.Len(), m.Calib.Len(), m.Test.Len())
	}
	if !reflect.DeepEqual(s.Q.Frac, m.Q.Frac) || !reflect.DeepEqual(s.Stats, m.Stats) {
		t.Errorf("formats or statistics differ:\n%v\n%v", s.Q.Frac, m.Q.Frac)
	}
	if s.Eval.Float != m.Eval.Float || s.Eval.Fixed != m.Eval.Fixed || s.Eval.Agreement != m.Eval.Agreement ||
		!reflect.DeepEqual(s.Eval.FixedConfusion, m.Eval.FixedConfusion) || s.Eval.SensitivityPatterns != m.Eval.SensitivityPatterns {
		t.Errorf("evaluations differ: %+v\n%+v", s.Eval, m.Eval)
	}
	files := 0
	err := filepath.WalkDir(dirs[1], func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dirs[1], path)
		if strings.HasPrefix(rel, "report.") || strings.HasPrefix(rel, "plots") {
			return nil // SQNR sums float64s in worker order
		}
		a, err := os.ReadFile(filepath.Join(dirs[0], rel))
		if err != nil {
			return err
		}
		b, _ := os.ReadFile(path)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the streaming and the in-memory export", rel)
		}
		files++
		return nil
	})
	if err != nil || files < 5 {
		t.Fatalf("compared %d files: %v", files, err)
	}
}

// TestConvertUnderHeapLimit converts a generated pattern file four times
// the Go heap limit it sets on the nnq binary (GOMEMLIMIT) and requires
// success, with a peak resident set below the file size (holding the
// patterns would take more).
func TestConvertUnderHeapLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes an 80 MB pattern file")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the peak RSS is read from Linux's /proc")
	}
	dir := t.TempDir()
	model, pats, err := writeStreamFiles(dir, 40_000)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(pats)
	if err != nil {
		t.Fatal(err)
	}
	limit := st.Size() / 4
	cmd := exec.Command(nnqBinary(t), "convert", "-q", "--model", model, "--patterns", pats, "--scheme", "minmax", "--out", filepath.Join(dir, "out"))
	cmd.Env = append(os.Environ(), "GOMEMLIMIT="+strconv.FormatInt(limit, 10))
	var se strings.Builder
	cmd.Stderr = &se
	rss, err := runPeak(cmd)
	if err != nil {
		t.Fatalf("convert under GOMEMLIMIT=%d (file %d B): %v\n%s", limit, st.Size(), err, se.String())
	}
	if rss <= 0 || rss >= st.Size() {
		t.Errorf("peak RSS %d B, not below the %d-byte pattern file", rss, st.Size())
	}
	t.Logf("file %d B, GOMEMLIMIT %d B, peak RSS %d B", st.Size(), limit, rss)
}

// TestMaxTestSamples checks that --max-test takes a seeded sample spread
// over the test rows, not the first ones: the export stores the patterns
// accuracy was measured on.
func TestMaxTestSamples(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	all, err := nnq.ReadPatterns(patterns)
	if err != nil {
		t.Fatal(err)
	}
	test := all.Split("test")
	stored := func(seed string) *nnq.Patterns {
		out := filepath.Join(dir, "out"+seed)
		if r := nnqRun(t, "convert", "--model", model, "--patterns", patterns, "--max-test", "20", "--seed", seed, "--out", out, "-q"); r.code != 0 {
			t.Fatal(r)
		}
		p, err := nnq.ReadPatterns(filepath.Join(out, filepath.FromSlash(codegen.PatternsFile)))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c := stored("3"), stored("3"), stored("4")
	if a.Len() != 20 || !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Fatalf("%d patterns; seed 3 twice the same %v, seed 4 other %v", a.Len(), reflect.DeepEqual(a, b), !reflect.DeepEqual(a, c))
	}
	// Pattern k comes from the k-th twentieth of the test rows.
	per := test.Len() / 20
	for k := 0; k < a.Len(); k++ {
		found := false
		for i := k * per; i < (k+1)*per && !found; i++ {
			found = slices.Equal(a.Input(k), test.Input(i))
		}
		if !found {
			t.Fatalf("stored pattern %d is not one of test rows %d..%d", k, k*per, (k+1)*per-1)
		}
	}
}
