package nnq

import (
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// selectionFiles writes a model and a pattern file with train, val and
// test rows; with garbage the test rows get other inputs and labels.
func selectionFiles(t *testing.T, dir string, garbage bool) (model, pats string) {
	t.Helper()
	r := rand.New(rand.NewSource(21))
	fw := testNet(r, NCHW)
	model = filepath.Join(dir, "m.arrow")
	if err := WriteModel(model, fw); err != nil {
		t.Fatal(err)
	}
	m, _ := fw.Prepare()
	p := randPatterns(r, m, 90)
	g := rand.New(rand.NewSource(99))
	out := &Patterns{Shape: p.Shape, Layout: p.Layout}
	for i := 0; i < p.Len(); i++ {
		split := []string{"train", "val", "test"}[i%3]
		in, label := p.Input(i), p.Label(i)
		if split == "test" && garbage {
			in = append([]float32(nil), in...)
			for j := range in {
				in[j] = float32(g.NormFloat64() * 50) // far outside the calibration range
			}
			label = g.Intn(3)
		}
		out.Append(in, label, split)
	}
	pats = filepath.Join(dir, "p.arrow")
	if err := WritePatterns(pats, out); err != nil {
		t.Fatal(err)
	}
	return model, pats
}

// TestSelectionNeverSeesTestRows converts the same model on two pattern
// files that differ only in their test rows: every scheme, the statistics,
// the held-out refinement and the search's fit/validation choices must
// come out identical. The old search validated on the whole file when it
// had no val rows; this would catch any such leak.
func TestSelectionNeverSeesTestRows(t *testing.T) {
	dir := t.TempDir()
	ma, pa := selectionFiles(t, filepath.Join(dir), false)
	gdir := filepath.Join(dir, "g")
	if err := os.MkdirAll(gdir, 0o755); err != nil {
		t.Fatal(err)
	}
	mb, pb := selectionFiles(t, gdir, true)
	for _, sc := range []Scheme{Auto{}, Search{}, MinMax{}} {
		var qs []*QModel
		for _, f := range [][2]string{{ma, pa}, {mb, pb}} {
			var log []string
			c, err := Convert(ConvertOptions{Model: f[0], Patterns: f[1], Scheme: sc, Log: func(s string) { log = append(log, s) }})
			if err != nil {
				t.Fatalf("%s: %v", sc.Name(), err)
			}
			if c.TestSet.Len() != 30 || c.CalibSet.Len() != 30 || c.HeldOutSet.Len() != 30 {
				t.Fatalf("%s: %d test, %d calibration, %d held-out patterns", sc.Name(), c.TestSet.Len(), c.CalibSet.Len(), c.HeldOutSet.Len())
			}
			qs = append(qs, c.Q)
		}
		if !reflect.DeepEqual(qs[0].Frac, qs[1].Frac) || !reflect.DeepEqual(qs[0].Notes, qs[1].Notes) {
			t.Errorf("%s: the test rows changed the formats:\n%v\n%v", sc.Name(), qs[0].Frac, qs[1].Frac)
		}
		for i := range qs[0].Layers {
			if !reflect.DeepEqual(qs[0].Layers[i].Notes, qs[1].Layers[i].Notes) {
				t.Errorf("%s: layer %s notes differ: %v vs %v", sc.Name(), qs[0].Layers[i].Name, qs[0].Layers[i].Notes, qs[1].Layers[i].Notes)
			}
		}
	}
	// A file whose splits hold no test rows is refused rather than
	// evaluated on its calibration rows; one without a split column is
	// split by position.
	m, err := Load(ma)
	if err != nil {
		t.Fatal(err)
	}
	p := randPatterns(rand.New(rand.NewSource(3)), m, 30)
	noTest := &Patterns{Shape: p.Shape, Layout: p.Layout}
	for i := 0; i < p.Len(); i++ {
		noTest.Append(p.Input(i), p.Label(i), []string{"train", "val"}[i%2])
	}
	path := filepath.Join(dir, "notest.arrow")
	if err := WritePatterns(path, noTest); err != nil {
		t.Fatal(err)
	}
	c, err := Convert(ConvertOptions{Model: ma, Patterns: path})
	if err == nil {
		t.Error("a pattern file without test rows was accepted")
	}
	plain := filepath.Join(dir, "plain.arrow")
	if err := WritePatterns(plain, &Patterns{Shape: p.Shape, Layout: p.Layout, Inputs: p.Inputs, Labels: p.Labels}); err != nil {
		t.Fatal(err)
	}
	c, err = Convert(ConvertOptions{Model: ma, Patterns: plain})
	if err != nil {
		t.Fatal(err)
	}
	if c.TestSet.Len() != 10 || c.CalibSet.Len()+c.HeldOutSet.Len() != 20 || c.Test.Input(0)[0] != p.Input(20)[0] {
		t.Errorf("no split column: %d test, %d+%d calibration patterns", c.TestSet.Len(), c.CalibSet.Len(), c.HeldOutSet.Len())
	}
}
