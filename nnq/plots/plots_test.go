package plots

import (
	"bytes"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

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

func TestFormatSharesCountBins(t *testing.T) {
	s := &nnq.TensorStats{Name: "x", Count: 100, Zeros: 10}
	s.Pos[3-nnq.Pow2Lo] = 5   // [4, 8): saturates in Q2.5 (range ±4)
	s.Neg[2-nnq.Pow2Lo] = 30  // [2, 4): fits
	s.Pos[-6-nnq.Pow2Lo] = 20 // [2^-7, 2^-6): below half a step 2^-6 of Q2.5, rounds to 0
	s.Pos[-5-nnq.Pow2Lo] = 35 // [2^-6, 2^-5): kept
	sat, zero := FormatShares(s, 8, 5)
	if sat != 0.05 || zero != 0.30 {
		t.Fatalf("FormatShares = %g, %g; want 0.05 saturated, 0.30 (20 small + 10 zeros) to zero", sat, zero)
	}
	p, err := HistogramPlot(s, 8, new(5))
	if err != nil {
		t.Fatal(err)
	}
	// The legend names the format's range and step with their shares.
	r, st := formatLabels(8, 5, sat, zero)
	if r != "range ±4: 5.00 % saturate" || st != "step 2^-5: 30.0 % round to 0" {
		t.Errorf("legend entries %q, %q", r, st)
	}
	if r, st := formatLabels(16, 15, 0, 0.00001); r != "range ±1: 0 % saturate" || st != "step 2^-15: <0.01 % round to 0" {
		t.Errorf("legend entries %q, %q", r, st)
	}
	if _, err := PNG(p, 6*vg.Inch, 3*vg.Inch); err != nil {
		t.Fatal(err)
	}
}

func TestLegendBesideTheData(t *testing.T) {
	p := plot.New()
	p.Title.Text = "t"
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	c := draw.New(vgimg.New(6*vg.Inch, 3*vg.Inch))
	if _, _, ok := split(p, p.Legend, c); ok {
		t.Fatal("a plot without legend gets a legend column")
	}
	p.Legend.Add("a rather long legend entry", l)
	pc, lc, ok := split(p, p.Legend, c)
	r := p.Legend.Rectangle(c)
	if !ok || pc.Max.X >= lc.Min.X || lc.Max.X-lc.Min.X < r.Max.X-r.Min.X || pc.Min.X != c.Min.X {
		t.Fatalf("plot %v, legend %v (legend needs %v)", pc.Rectangle, lc.Rectangle, r.Size())
	}
	before := p.Legend
	Draw(p, c)
	if p.Legend.Top != before.Top || p.Legend.Rectangle(c) != before.Rectangle(c) {
		t.Error("Draw changed the plot's legend")
	}
}

func TestConfusionPlotShowsCountsAndRowShares(t *testing.T) {
	conf := [][]int{{8, 2}, {1, 99}}
	grid, err := newShareGrid(conf)
	if err != nil {
		t.Fatal(err)
	}
	lbl, colors := grid.cellLabels()
	// Rows from the top: "yes" (8, 2) is the upper row, r = 1.
	if strings.Join(lbl.Labels, " ") != "1 99 8 2" {
		t.Errorf("cell labels %q", lbl.Labels)
	}
	if grid.Z(0, 1) != 0.8 || grid.Z(1, 0) != 0.99 {
		t.Errorf("shares %g %g, want 0.8 and 0.99 (row-normalized)", grid.Z(0, 1), grid.Z(1, 0))
	}
	if colors[1] != color.White || colors[0] != color.Black {
		t.Errorf("label colours %v", colors)
	}
	if _, err := ConfusionPlot(conf, []string{"yes", "no"}, "title"); err != nil {
		t.Fatal(err)
	}
	if _, err := ConfusionPlot([][]int{{1, 2}, {3}}, nil, ""); err == nil {
		t.Error("a ragged matrix was accepted")
	}
	ev := &nnq.Evaluation{FloatConfusion: conf, FixedConfusion: conf, Float: 0.9, Fixed: 0.89, Patterns: 110}
	b, err := ConfusionPNG(ev, []string{"yes", "no"}, "net · q7 · mse", "q7", 3*vg.Inch)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 6*DPI+3*DPI/4 || h < 3*DPI {
		t.Errorf("confusion picture %dx%d pixels", w, h)
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
