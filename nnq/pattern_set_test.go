package nnq

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// setFile writes n random patterns for a test network with train, val
// and test splits, in record batches of batchRows.
func setFile(t *testing.T, n, batchRows int) (cm *Model, all *Patterns, path string) {
	t.Helper()
	r := rand.New(rand.NewSource(7))
	fw := testNet(r, NCHW)
	m, err := fw.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	if cm, err = m.ToCMSIS(); err != nil {
		t.Fatal(err)
	}
	p := randPatterns(r, m, n)
	p.Splits = make([]string, n)
	for i := range p.Splits {
		p.Splits[i] = []string{"train", "val", "test", "test"}[r.Intn(4)]
	}
	p.Labels[3] = -1
	path = filepath.Join(t.TempDir(), "p.arrow")
	if err := WritePatternsWith(path, p, PatternWriteOptions{BatchRows: batchRows}); err != nil {
		t.Fatal(err)
	}
	return cm, p, path
}

// collect reads a set through Each, checking the batch bounds.
func collect(t *testing.T, s *PatternSet) *Patterns {
	t.Helper()
	out := &Patterns{Shape: s.Shape, Layout: s.Layout}
	err := s.Each(func(first int, b *Patterns) error {
		if first != len(out.Labels) || b.Len() == 0 || b.Len() > setBatchRows {
			t.Fatalf("batch at %d of %d patterns after %d", first, b.Len(), len(out.Labels))
		}
		out.Inputs = append(out.Inputs, b.Inputs...)
		out.Labels = append(out.Labels, b.Labels...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPatternSetSelects(t *testing.T) {
	_, all, path := setFile(t, 700, 64)
	s, err := OpenPatternSet(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range [][]string{{"test"}, {"train", "val"}} {
		want := all.Split(split...)
		got := s.Split(split...)
		if p := collect(t, got); !slices.Equal(p.Inputs, want.Inputs) || !slices.Equal(p.Labels, want.Labels) {
			t.Fatalf("split %v: the set reads other patterns than Patterns.Split", split)
		}
		loaded, err := got.Load()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(loaded, want) {
			t.Fatalf("split %v: Load differs from Patterns.Split", split)
		}
		// The file of the loaded patterns, written batch by batch.
		a, b := filepath.Join(t.TempDir(), "a.arrow"), filepath.Join(t.TempDir(), "b.arrow")
		if err := WritePatterns(a, want); err != nil {
			t.Fatal(err)
		}
		if err := WritePatternSet(b, got, 0); err != nil {
			t.Fatal(err)
		}
		ab, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		if !bytes.Equal(ab, bb) {
			t.Fatalf("split %v: WritePatternSet wrote another file than WritePatterns", split)
		}
	}
	if h := s.Slice(100, 150); collect(t, h).Input(0)[0] != all.Input(100)[0] || h.Len() != 50 || h.Label(0) != all.Label(100) {
		t.Fatal("Slice reads the wrong patterns")
	}
}

func TestPatternSetSample(t *testing.T) {
	_, all, path := setFile(t, 1000, 128)
	s, err := OpenPatternSet(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := s.Sample(100, 1), s.Sample(100, 1), s.Sample(100, 2)
	if a.Len() != 100 || !slices.Equal(a.rows, b.rows) || slices.Equal(a.rows, c.rows) {
		t.Fatalf("samples of 100: %d patterns; same seed same rows %v; other seed other rows %v", a.Len(), slices.Equal(a.rows, b.rows), !slices.Equal(a.rows, c.rows))
	}
	// Spread: one pattern from each tenth of every hundred, in order.
	for k, r := range a.rows {
		if int(r)/10 != k {
			t.Fatalf("sample row %d is %d, outside run %d", k, r, k)
		}
	}
	if a.rows[len(a.rows)-1] < 900 {
		t.Fatal("the sample ends before the last tenth of the file")
	}
	p := collect(t, a) // not contiguous: gathered
	for k, r := range a.rows {
		if !slices.Equal(p.Input(k), all.Input(int(r))) || p.Label(k) != all.Label(int(r)) {
			t.Fatalf("sample pattern %d is not row %d", k, r)
		}
	}
	if loaded, err := a.Load(); err != nil || !reflect.DeepEqual(loaded, all.Sample(100, 1)) {
		t.Fatalf("Patterns.Sample picks other patterns than PatternSet.Sample (%v)", err)
	}
	if s.Sample(5000, 1) != s {
		t.Fatal("a sample larger than the set is not the set")
	}
}

// The streaming passes give exactly the in-memory results.
func TestStreamingPassesMatch(t *testing.T) {
	cm, all, path := setFile(t, 900, 100)
	s, err := OpenPatternSet(path)
	if err != nil {
		t.Fatal(err)
	}
	calib, test := s.Split("train", "val").Sample(300, 3), s.Split("test")
	cp, err := calib.Load()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := Calibrate(cm, cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	str, err := CalibrateSet(cm, calib, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mem, str) {
		t.Fatal("CalibrateSet and Calibrate disagree")
	}
	whole, err := Calibrate(cm, all.Split("train", "val"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if file, err := CalibrateFile(cm, path, nil, "val", "train"); err != nil || !reflect.DeepEqual(file, whole) {
		t.Fatalf("CalibrateFile and Calibrate disagree (%v)", err)
	}
	q, err := Quantize(cm, str, QConfig{Bits: 8, Scheme: MSE{}})
	if err != nil {
		t.Fatal(err)
	}
	em, err := q.Evaluate(all.Split("test"), nil)
	if err != nil {
		t.Fatal(err)
	}
	es, err := q.EvaluateSet(test, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if em.Patterns != es.Patterns || em.Unlabelled != es.Unlabelled || em.Float != es.Float || em.Fixed != es.Fixed || em.Agreement != es.Agreement ||
		em.InputSaturated != es.InputSaturated || em.SensitivityPatterns != es.SensitivityPatterns || em.SensitivityFloat != es.SensitivityFloat ||
		!reflect.DeepEqual(em.FloatConfusion, es.FloatConfusion) || !reflect.DeepEqual(em.FixedConfusion, es.FixedConfusion) {
		t.Fatalf("EvaluateSet and Evaluate disagree:\n%+v\n%+v", em, es)
	}
	for k := range em.Layers {
		a, b := em.Layers[k], es.Layers[k]
		if a.AbsMax != b.AbsMax || a.Measured != b.Measured || a.Sensitivity != b.Sensitivity {
			t.Fatalf("layer %s: %+v vs %+v", a.Name, a, b)
		}
	}
	// Labels the network cannot have are refused before any work.
	bad := filepath.Join(t.TempDir(), "bad.arrow")
	all.Labels[5] = 99
	if err := WritePatterns(bad, all); err != nil {
		t.Fatal(err)
	}
	bs, err := OpenPatternSet(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.EvaluateSet(bs, EvalOptions{}); err == nil {
		t.Fatal("label 99 accepted")
	}
}
