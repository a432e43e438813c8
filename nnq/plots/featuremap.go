package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
)

// featureGrid is a frame-major map: column = frame (time), row =
// coefficient.
type featureGrid struct {
	v              []float64
	frames, coeffs int
	step           float64 // seconds per frame
	lo, hi         float64 // the colour range: values beyond take its ends
}

func (g featureGrid) Dims() (c, r int)   { return g.frames, g.coeffs }
func (g featureGrid) Z(c, r int) float64 { return min(max(g.v[c*g.coeffs+r], g.lo), g.hi) }
func (g featureGrid) X(c int) float64    { return float64(c) * g.step }
func (g featureGrid) Y(r int) float64    { return float64(r) }

// FeatureMapPlot draws a frames x coefficients feature map (values
// frame-major, as nnq/audio and the KWS networks' input store them) as a
// heat map: time in seconds (frameStep apart) on x, the coefficient on y,
// the colour scale from lo to hi (the same for maps to compare; values
// beyond it take its end colours).
func FeatureMapPlot(values []float64, frames, coeffs int, frameStep, lo, hi float64, title string) (*plot.Plot, error) {
	if frames < 1 || coeffs < 1 || len(values) != frames*coeffs {
		return nil, fmt.Errorf("feature map of %d values is not %d frames x %d coefficients", len(values), frames, coeffs)
	}
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil, fmt.Errorf("feature map colour range %g..%g is empty", lo, hi)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "coefficient"
	pal := moreland.SmoothBlueRed()
	pal.SetMin(lo)
	pal.SetMax(hi)
	h := plotter.NewHeatMap(featureGrid{values, frames, coeffs, frameStep, lo, hi}, pal.Palette(64))
	h.Min, h.Max = lo, hi
	p.Add(h)
	return p, nil
}
