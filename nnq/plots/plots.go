// Package plots draws nnq's figures with gonum/plot: power-of-two
// histograms of activation statistics, SQNR per layer and confusion
// matrices, and writes them as PNG files next to an export's report.
//
// It lives outside package nnq so that the core (and every program that
// only converts networks) does not compile the plotting library.
package plots

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/nnq-toolkit/nnq/nnq"
)

// HistogramPlot draws a tensor's power-of-two histogram like the guide's
// figures: bin k holds values with 2^(k-1) <= |x| < 2^k, positive values in
// blue and negative ones in red, on a log scale. When frac is given, dashed
// lines mark the format's range bound 2^(bits-1-frac) and its step
// 2^-frac.
func HistogramPlot(s *nnq.TensorStats, bits int, frac *int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = s.Name
	p.X.Label.Text = "k: 2^(k-1) <= |x| < 2^k"
	p.Y.Label.Text = "log10(1 + count)"
	lo, hi := nnq.Pow2Hi, nnq.Pow2Lo
	for i := range s.Pos {
		if s.Pos[i]+s.Neg[i] > 0 {
			lo, hi = min(lo, i+nnq.Pow2Lo), max(hi, i+nnq.Pow2Lo)
		}
	}
	if frac != nil {
		lo, hi = min(lo, -*frac), max(hi, bits-1-*frac)
	}
	if lo > hi {
		lo, hi = -1, 1
	}
	var pos, neg plotter.XYs
	for k := lo; k <= hi; k++ {
		i := k - nnq.Pow2Lo
		var pc, nc int64
		if i >= 0 && i < len(s.Pos) {
			pc, nc = s.Pos[i], s.Neg[i]
		}
		pos = append(pos, plotter.XY{X: float64(k) - 0.2, Y: math.Log10(1 + float64(pc))})
		neg = append(neg, plotter.XY{X: float64(k) + 0.2, Y: math.Log10(1 + float64(nc))})
	}
	for _, series := range []struct {
		xy  plotter.XYs
		c   color.RGBA
		lbl string
	}{{pos, color.RGBA{B: 200, A: 255}, "positive"}, {neg, color.RGBA{R: 200, A: 255}, "negative"}} {
		h, err := plotter.NewScatter(series.xy)
		if err != nil {
			return nil, err
		}
		h.GlyphStyle.Color = series.c
		h.GlyphStyle.Radius = vg.Points(2)
		sticks := make(plotter.XYs, 0, 2*len(series.xy))
		for _, pt := range series.xy {
			sticks = append(sticks, plotter.XY{X: pt.X, Y: 0}, pt, plotter.XY{X: pt.X, Y: 0})
		}
		l, err := plotter.NewLine(sticks)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = series.c, vg.Points(3)
		p.Add(l, h)
		p.Legend.Add(series.lbl, l)
	}
	if frac != nil {
		top := 0.0
		for _, pt := range append(pos, neg...) {
			top = math.Max(top, pt.Y)
		}
		for _, x := range []float64{float64(bits - 1 - *frac), float64(-*frac)} {
			l, err := plotter.NewLine(plotter.XYs{{X: x + 0.5, Y: 0}, {X: x + 0.5, Y: top + 0.5}})
			if err != nil {
				return nil, err
			}
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(l)
		}
		p.Title.Text = fmt.Sprintf("%s: %s", s.Name, nnq.QFormat(bits, *frac))
	}
	// Small magnitudes (left) are rare, so the top left is free.
	p.Legend.Top, p.Legend.Left = true, true
	return p, nil
}

// SQNRPlot draws the per-layer SQNR of an evaluation as bars (exact layers
// are drawn at the largest finite value).
func SQNRPlot(ev *nnq.Evaluation) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "SQNR per layer"
	p.Y.Label.Text = "dB"
	vals := make(plotter.Values, len(ev.Layers))
	names := make([]string, len(ev.Layers))
	top := 0.0
	for _, l := range ev.Layers {
		if !math.IsInf(l.SQNR, 0) {
			top = math.Max(top, l.SQNR)
		}
	}
	for i, l := range ev.Layers {
		v := l.SQNR
		if math.IsInf(v, 1) {
			v = top
		} else if math.IsInf(v, -1) || math.IsNaN(v) {
			v = 0
		}
		vals[i], names[i] = v, l.Name
	}
	b, err := plotter.NewBarChart(vals, vg.Points(12))
	if err != nil {
		return nil, err
	}
	b.Color = color.RGBA{G: 120, B: 200, A: 255}
	p.Add(b)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign = -1
	return p, nil
}

type confGrid [][]int

func (g confGrid) Dims() (c, r int)   { return len(g), len(g) }
func (g confGrid) Z(c, r int) float64 { return math.Log10(1 + float64(g[len(g)-1-r][c])) }
func (g confGrid) X(c int) float64    { return float64(c) }
func (g confGrid) Y(r int) float64    { return float64(r) }

// ConfusionPlot draws a confusion matrix ([label][prediction]) as a heat
// map (log colour scale); rows are labels from the top.
func ConfusionPlot(conf [][]int, classes []string, title string) (*plot.Plot, error) {
	if len(conf) == 0 {
		return nil, fmt.Errorf("empty confusion matrix")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "prediction"
	p.Y.Label.Text = "label"
	h := plotter.NewHeatMap(confGrid(conf), palette.Heat(32, 1))
	p.Add(h)
	n := len(conf)
	if len(classes) == n {
		ticks := make([]plot.Tick, n)
		yt := make([]plot.Tick, n)
		for i := range classes {
			ticks[i] = plot.Tick{Value: float64(i), Label: classes[i]}
			yt[i] = plot.Tick{Value: float64(n - 1 - i), Label: classes[i]}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.Y.Tick.Marker = plot.ConstantTicks(yt)
		p.X.Tick.Label.Rotation = math.Pi / 3
		p.X.Tick.Label.XAlign = -1
	}
	return p, nil
}

// PNG renders a plot to PNG bytes (for notebooks: gonbui.DisplayPNG).
func PNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SavePlots writes hist_<tensor>.png for every tensor (with its chosen
// format), sqnr.png and confusion.png into dir.
func SavePlots(dir string, q *nnq.QModel, ev *nnq.Evaluation, stats *nnq.Stats) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	save := func(p *plot.Plot, name string, w, h vg.Length) error {
		return p.Save(w, h, filepath.Join(dir, name))
	}
	if stats != nil {
		for _, n := range stats.Order {
			f, ok := q.Frac[n]
			var fp *int
			if ok {
				fp = &f
			}
			p, err := HistogramPlot(stats.Tensor(n), q.Bits, fp)
			if err != nil {
				return err
			}
			if err := save(p, "hist_"+fileSafe(n)+".png", 5*vg.Inch, 3*vg.Inch); err != nil {
				return err
			}
		}
	}
	if ev != nil && len(ev.Layers) > 0 && ev.Float > 0 {
		p, err := SQNRPlot(ev)
		if err != nil {
			return err
		}
		if err := save(p, "sqnr.png", 6*vg.Inch, 4*vg.Inch); err != nil {
			return err
		}
		c, err := ConfusionPlot(ev.FixedConfusion, q.Float.Classes, fmt.Sprintf("%s confusion (%s)", q.TypeName(), q.Scheme))
		if err != nil {
			return err
		}
		if err := save(c, "confusion.png", 5*vg.Inch, 5*vg.Inch); err != nil {
			return err
		}
	}
	return nil
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, s)
}
