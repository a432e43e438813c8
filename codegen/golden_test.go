package codegen_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
	_ "github.com/nnq-toolkit/nnq/nnq/onnx" // kws-dscnn/model.onnx
	"github.com/nnq-toolkit/nnq/nnq/plots"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/exports.json from the current exports")

const goldenManifest = "testdata/golden/exports.json"

// goldenCase is one bundled network converted one way.
type goldenCase struct {
	model, patterns string
	bits            int
	target          string
}

func (c goldenCase) name() string {
	net := filepath.Base(filepath.Dir(c.model))
	if filepath.Ext(c.model) == ".onnx" {
		net += "-onnx"
	}
	return fmt.Sprintf("%s-%d-%s", net, c.bits, c.target)
}

func goldenCases() []goldenCase {
	nets := []struct{ model, patterns string }{
		{"../data/kws-dscnn/model.arrow", "../data/kws/patterns.arrow"},
		{"../data/kws-dscnn/model.onnx", "../data/kws/patterns.arrow"},
		{"../data/kws-cnn/model.arrow", "../data/kws/patterns.arrow"},
		{"../data/kws-gru/model.arrow", "../data/kws/patterns.arrow"},
		{"../data/mnist-cnn/model.arrow", "../data/mnist/patterns.arrow"},
	}
	var cs []goldenCase
	for _, n := range nets {
		cs = append(cs, goldenCase{n.model, n.patterns, 8, "cortex-m4"}, goldenCase{n.model, n.patterns, 16, "cortex-m3"})
	}
	return cs
}

// TestGoldenExports converts every bundled network through the public API
// (nnq.Convert, codegen.Export, nnq.WriteReport, plots.SavePlots) with few patterns, for q7
// on cortex-m4 and q15 on cortex-m3, and compares the sha256 of every
// written file (C project, stored patterns, report, plots) with
// testdata/golden/exports.json.
//
// It guards refactorings that must not change behaviour. A change that
// is meant to alter the exports (a new kernel, a different rounding, a
// new report field) regenerates the manifest with
//
//	go test ./codegen -run TestGoldenExports -update
//
// and says in its commit message why the exports changed.
func TestGoldenExports(t *testing.T) {
	want := map[string]map[string]string{}
	if !*update {
		b, err := os.ReadFile(goldenManifest)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", goldenManifest, err)
		}
	}
	got := map[string]map[string]string{}
	for _, c := range goldenCases() {
		t.Run(c.name(), func(t *testing.T) {
			sums := exportSums(t, c)
			got[c.name()] = sums
			if *update {
				return
			}
			w, ok := want[c.name()]
			if !ok {
				t.Fatalf("%s has no entry for %s (run with -update)", goldenManifest, c.name())
			}
			compareSums(t, w, sums)
		})
	}
	if *update && !t.Failed() {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(goldenManifest), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenManifest, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// compareSums reports every file that is missing, extra or different.
func compareSums(t *testing.T, want, got map[string]string) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		w, g := want[n], got[n]
		switch {
		case g == "":
			t.Errorf("%s: missing from the export", n)
		case w == "":
			t.Errorf("%s: new file in the export", n)
		case w != g:
			t.Errorf("%s: sha256 %s, golden %s", n, g[:12], w[:12])
		}
	}
}

// exportSums runs one conversion into a temporary directory and returns
// the sha256 of each file written, by slash-separated relative path.
func exportSums(t *testing.T, c goldenCase) map[string]string {
	t.Helper()
	conv, err := nnq.Convert(nnq.ConvertOptions{Model: c.model, Patterns: c.patterns, Bits: c.bits, Target: c.target,
		MaxCalib: 300, MaxTest: 200})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := codegen.Export(conv.Q, dir, codegen.Options{PatternSet: conv.TestSet}); err != nil {
		t.Fatal(err)
	}
	if _, err := nnq.WriteReport(filepath.Join(dir, "report"), conv.Q, conv.Eval); err != nil {
		t.Fatal(err)
	}
	if err := plots.SavePlots(filepath.Join(dir, "report", "plots"), conv.Q, conv.Eval, conv.Stats); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		sums[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) == 0 {
		t.Fatalf("%s: nothing exported", c.name())
	}
	return sums
}
