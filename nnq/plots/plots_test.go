package plots

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/nnq-toolkit/nnq/nnq"
)

func TestSavePlotsWritesOnePNGPerTensorAndTheSummaries(t *testing.T) {
	c, err := nnq.Convert(nnq.ConvertOptions{Model: "../../data/mnist-cnn/model.arrow", Patterns: "../../data/mnist/patterns.arrow",
		MaxCalib: 100, MaxTest: 50})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := SavePlots(dir, c.Q, c.Eval, c.Stats); err != nil {
		t.Fatal(err)
	}
	want := []string{"confusion.png", "sqnr.png"}
	for _, n := range c.Stats.Order {
		want = append(want, "hist_"+fileSafe(n)+".png")
	}
	sort.Strings(want)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
			t.Errorf("%s: %dx%d pixels", e.Name(), b.Dx(), b.Dy())
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("wrote %v, want %v", got, want)
	}
}

func TestHistogramPlotNamesTheFormat(t *testing.T) {
	s := &nnq.TensorStats{Name: "conv1"}
	s.Pos[-nnq.Pow2Lo] = 10 // values in [0.5, 1)
	s.Neg[-nnq.Pow2Lo-3] = 4
	f := 5
	p, err := HistogramPlot(s, 8, &f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title.Text != "conv1: "+nnq.QFormat(8, 5) {
		t.Fatalf("title %q", p.Title.Text)
	}
	// The range spans the data and the format's bounds 2^-5 .. 2^2.
	if p.X.Min > -5 || p.X.Max < 2 {
		t.Fatalf("x range [%g, %g] misses the format's bounds", p.X.Min, p.X.Max)
	}
	b, err := PNG(p, 4*vg.Inch, 3*vg.Inch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func TestFileSafe(t *testing.T) {
	if got := fileSafe("gru/gates h:1\\x"); got != "gru_gates_h_1_x" {
		t.Fatalf("fileSafe gave %q", got)
	}
}

func TestFeatureMapPlot(t *testing.T) {
	v := make([]float64, 49*10)
	for i := range v {
		v[i] = float64(i%10) - float64(i/10)/5
	}
	p, err := FeatureMapPlot(v, 49, 10, 0.02, -10, 10, "map")
	if err != nil {
		t.Fatal(err)
	}
	png, err := PNG(p, 300, 150)
	if err != nil || len(png) < 100 {
		t.Fatalf("PNG: %v, %d bytes", err, len(png))
	}
	if _, err := FeatureMapPlot(v, 48, 10, 0.02, -10, 10, "bad"); err == nil {
		t.Error("a map of the wrong size was drawn")
	}
	if _, err := FeatureMapPlot(v, 49, 10, 0.02, 1, 1, "bad"); err == nil {
		t.Error("an empty colour range was accepted")
	}
}
