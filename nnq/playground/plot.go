package playground

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Colors of the three networks in Plot.
var (
	FloatColor = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	Q15Color   = color.RGBA{G: 110, B: 200, A: 255}
	Q7Color    = color.RGBA{R: 220, G: 110, A: 255}
)

// Plot draws the float, q15 and q7 scores side by side, one group of three
// bars per class (render it with plots.PNG, which puts the legend beside
// the bars).
func (s *Scores) Plot() (*plot.Plot, error) {
	p, err := bars(s.Classes, s.Float, s.Q15, s.Q7)
	if err != nil {
		return nil, err
	}
	p.Title.Text = s.Network + "\n" + s.Title()
	p.Y.Label.Text = "score (network output)"
	p.Y.Min, p.Y.Max = 0, 1.05
	return p, nil
}

// LogitPlot draws the float, q15 and q7 logits (the inputs of the final
// softmax) side by side: how close the fixed-point networks are to the
// float one before the legacy base-2 softmax sharpens their scores.
func (s *Scores) LogitPlot() (*plot.Plot, error) {
	p, err := bars(s.Classes, s.FloatLogits, s.Q15Logits, s.Q7Logits)
	if err != nil {
		return nil, err
	}
	p.Title.Text = s.Network + "\nlogits: " + s.Title()
	p.Y.Label.Text = "softmax input"
	lo, hi := 0.0, 0.0
	for _, v := range [][]float64{s.FloatLogits, s.Q15Logits, s.Q7Logits} {
		for _, x := range v {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	p.Y.Min, p.Y.Max = lo-0.05*(hi-lo), hi+0.05*(hi-lo)
	return p, nil
}

func bars(classes []string, float, q15, q7 []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Add(plotter.NewGrid())
	w := vg.Points(7)
	for i, series := range []struct {
		name string
		v    []float64
		c    color.Color
	}{{"float", float, FloatColor}, {"q15", q15, Q15Color}, {"q7", q7, Q7Color}} {
		b, err := plotter.NewBarChart(plotter.Values(series.v), w)
		if err != nil {
			return nil, err
		}
		b.Color = series.c
		b.LineStyle.Width = 0
		b.Offset = vg.Length(i-1) * w
		p.Add(b)
		p.Legend.Add(series.name, b)
	}
	p.Legend.Top = true
	p.NominalX(classes...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = -1
	return p, nil
}
