// Package plots draws nnq's figures with gonum/plot: power-of-two
// histograms of activation statistics, SQNR per layer and confusion
// matrices, and writes them as PNG files next to an export's report.
//
// It lives outside package nnq so that the core (and every program that
// only converts networks) does not compile the plotting library.
package plots

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/nnq-toolkit/nnq/nnq"
)

// HistogramPlot draws a tensor's power-of-two histogram like the guide's
// figures: bin k holds values with 2^(k-1) <= |x| < 2^k, positive values in
// blue and negative ones in red, on a log scale. When frac is given, dashed
// lines mark the format's range bound 2^(bits-1-frac) and its step
// 2^-frac, and the legend says which share of the values saturates
// beyond the range and which share rounds to zero (below half a step).
// The title is the tensor's name (and format); prefix it with Caption.
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
		lo, hi = min(lo, -*frac), max(hi, bits-1-*frac+1)
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
		sticks := make(plotter.XYs, 0, 3*len(series.xy))
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
	p.Y.Min = 0
	if frac != nil {
		top := 0.0
		for _, pt := range append(pos, neg...) {
			top = math.Max(top, pt.Y)
		}
		f := *frac
		intBits := bits - 1 - f
		sat, zero := FormatShares(s, bits, f)
		rangeLabel, stepLabel := formatLabels(bits, f, sat, zero)
		for _, m := range []struct {
			x     float64
			label string
			c     color.Color
			dash  []vg.Length
		}{
			{float64(intBits) + 0.5, rangeLabel, color.Black, []vg.Length{vg.Points(5), vg.Points(3)}},
			{float64(-f) + 0.5, stepLabel, color.Gray{Y: 110}, []vg.Length{vg.Points(2), vg.Points(2)}},
		} {
			l, err := plotter.NewLine(plotter.XYs{{X: m.x, Y: 0}, {X: m.x, Y: top + 0.3}})
			if err != nil {
				return nil, err
			}
			l.Dashes, l.Color, l.Width = m.dash, m.c, vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(m.label, l)
		}
		p.Title.Text = fmt.Sprintf("%s: %s", s.Name, nnq.QFormat(bits, f))
	}
	return p, nil
}

// FormatShares returns the shares of a tensor's calibration values that
// the format with frac fractional bits in a bits-bit word saturates
// (|x| >= 2^(bits-1-frac)) and rounds to zero (|x| < 2^(-frac-1)), from
// the power-of-two histogram (exact: the bounds are bin edges).
func FormatShares(s *nnq.TensorStats, bits, frac int) (saturated, zero float64) {
	if s.Count == 0 {
		return 0, 0
	}
	hiK := bits - 1 - frac + 1 // bins from k = hiK up are >= 2^(bits-1-frac)
	loK := -frac - 1           // bins up to k = loK are below 2^(-frac-1)
	var sat, z int64 = 0, s.Zeros
	for i := range s.Pos {
		k := i + nnq.Pow2Lo
		n := s.Pos[i] + s.Neg[i]
		if k >= hiK {
			sat += n
		}
		if k <= loK {
			z += n
		}
	}
	return float64(sat) / float64(s.Count), float64(z) / float64(s.Count)
}

// formatLabels are the legend entries of a format's range and step lines.
func formatLabels(bits, frac int, saturated, zero float64) (rangeLabel, stepLabel string) {
	return fmt.Sprintf("range ±%g: %s saturate", math.Ldexp(1, bits-1-frac), share(saturated)),
		fmt.Sprintf("step 2^%d: %s round to 0", -frac, share(zero))
}

// share prints a fraction as a percentage with the digits that matter.
func share(f float64) string {
	switch {
	case f == 0:
		return "0 %"
	case f < 0.0001:
		return "<0.01 %"
	case f < 0.1:
		return fmt.Sprintf("%.2f %%", 100*f)
	default:
		return fmt.Sprintf("%.1f %%", 100*f)
	}
}

// SQNRPlot draws the per-layer SQNR of an evaluation as bars from 0 dB,
// each labelled with its value; exact layers (no error: infinite SQNR) are
// drawn at the largest finite value and labelled "exact". Title it with
// Caption.
func SQNRPlot(ev *nnq.Evaluation) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "SQNR per layer"
	p.Y.Label.Text = "SQNR (dB)"
	vals := make(plotter.Values, len(ev.Layers))
	names := make([]string, len(ev.Layers))
	top := 0.0
	for _, l := range ev.Layers {
		if !math.IsInf(l.SQNR, 0) && !math.IsNaN(l.SQNR) {
			top = math.Max(top, l.SQNR)
		}
	}
	var lbl plotter.XYLabels
	for i, l := range ev.Layers {
		v, text := l.SQNR, fmt.Sprintf("%.0f", l.SQNR)
		if math.IsInf(v, 1) {
			v, text = top, "exact"
		} else if math.IsInf(v, -1) || math.IsNaN(v) {
			v, text = 0, "n/a"
		}
		vals[i], names[i] = v, l.Name
		lbl.XYs = append(lbl.XYs, plotter.XY{X: float64(i), Y: math.Max(v, 0)})
		lbl.Labels = append(lbl.Labels, text)
	}
	b, err := plotter.NewBarChart(vals, vg.Points(12))
	if err != nil {
		return nil, err
	}
	b.Color = color.RGBA{G: 120, B: 200, A: 255}
	p.Add(b)
	if err := addValueLabels(p, lbl, 0); err != nil {
		return nil, err
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.Y.Min = math.Min(0, p.Y.Min)
	p.Y.Max = 1.12 * top
	return p, nil
}

// addValueLabels writes small labels centred just above the given points
// (bar tops), shifted right by dx.
func addValueLabels(p *plot.Plot, lbl plotter.XYLabels, dx vg.Length) error {
	l, err := plotter.NewLabels(lbl)
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(7)
		l.TextStyle[i].XAlign = draw.XCenter
	}
	l.Offset = vg.Point{X: dx, Y: vg.Points(2)}
	p.Add(l)
	return nil
}

// BarLabels labels the bars of a bar chart (values at x = 0, 1, ...; the
// chart's Offset as offset) with their values printed by format; negative
// bars get their label at 0.
func BarLabels(p *plot.Plot, vals []float64, offset vg.Length, format string) error {
	var lbl plotter.XYLabels
	for i, v := range vals {
		lbl.XYs = append(lbl.XYs, plotter.XY{X: float64(i), Y: math.Max(v, 0)})
		lbl.Labels = append(lbl.Labels, fmt.Sprintf(format, v))
	}
	return addValueLabels(p, lbl, offset)
}

// SavePlots writes hist_<tensor>.png for every tensor (with its chosen
// format), sqnr.png and confusion.png (float and fixed point side by side)
// into dir, each titled with Caption(q).
func SavePlots(dir string, q *nnq.QModel, ev *nnq.Evaluation, stats *nnq.Stats) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	caption := Caption(q)
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
			p.Title.Text = caption + "\n" + p.Title.Text
			if err := Save(p, 7*vg.Inch, 3*vg.Inch, filepath.Join(dir, "hist_"+fileSafe(n)+".png")); err != nil {
				return err
			}
		}
	}
	if ev != nil && len(ev.Layers) > 0 && ev.Float > 0 {
		p, err := SQNRPlot(ev)
		if err != nil {
			return err
		}
		p.Title.Text = caption + ": SQNR per layer"
		if err := Save(p, 7*vg.Inch, 4*vg.Inch, filepath.Join(dir, "sqnr.png")); err != nil {
			return err
		}
		b, err := ConfusionPNG(ev, q.Float.Classes, caption, q.TypeName(), 4.5*vg.Inch)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "confusion.png"), b, 0o644); err != nil {
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
