package nnq

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A Scheme chooses, from a tensor's statistics and the word size, how many
// fractional bits the tensor gets. Weights and biases do not use the
// scheme: their values are known, so they get the format that holds their
// largest magnitude.
type Scheme interface {
	// Name is how reports and the CLI spell the scheme.
	Name() string
	// Frac returns the fractional bits for a tensor of word size bits.
	Frac(s *TensorStats, bits int) int
}

// An explainer is a scheme that can say in a few words why it chose the
// format it returns for a tensor (the report's reason column).
type explainer interface {
	Why(s *TensorStats, bits int) string
}

// FracForRange returns the fractional bits that make the range [-r, r] fit a
// signed word of the given size: the integer part gets ceil(log2 r) bits.
// A zero range gets the most fractional bits the word has (bits-1).
func FracForRange(r float64, bits int) int {
	if r <= 0 || math.IsNaN(r) {
		return bits - 1
	}
	return bits - 1 - int(math.Ceil(math.Log2(r)-1e-12))
}

// MinMax uses the full observed range: nothing saturates on the calibration
// data, at the cost of resolution when the range has rare outliers.
type MinMax struct{}

// Name implements Scheme.
func (MinMax) Name() string { return "minmax" }

// Frac implements Scheme.
func (MinMax) Frac(s *TensorStats, bits int) int { return FracForRange(s.AbsMax(), bits) }

// Why implements explainer.
func (MinMax) Why(s *TensorStats, bits int) string {
	return fmt.Sprintf("minmax: the whole range ±%.3g fits", s.AbsMax())
}

// Percentile uses the range holding P percent of the values (by magnitude),
// the guide's "range of values making 80% of the histogram". Values beyond
// it saturate.
type Percentile struct{ P float64 }

// Name implements Scheme.
func (p Percentile) Name() string { return "percentile:" + strconv.FormatFloat(p.P, 'g', -1, 64) }

// Frac implements Scheme.
func (p Percentile) Frac(s *TensorStats, bits int) int {
	return FracForRange(s.AbsPercentile(p.P), bits)
}

// Why implements explainer.
func (p Percentile) Why(s *TensorStats, bits int) string {
	return fmt.Sprintf("%s: %g%% of the values lie within ±%.3g", p.Name(), p.P, s.AbsPercentile(p.P))
}

// MSE picks, per tensor, the format that minimises the expected squared
// quantization error over the calibration histogram: rounding noise
// (step²/12 for every value inside the range, step = 2^-frac) plus the
// squared saturation error (|x| - max)² for every value beyond it. It lets a
// few outliers saturate when that buys resolution for the bulk of the
// values, and keeps the full range when the outliers matter.
type MSE struct{}

// Name implements Scheme.
func (MSE) Name() string { return "mse" }

// Frac implements Scheme.
func (MSE) Frac(s *TensorStats, bits int) int {
	full := FracForRange(s.AbsMax(), bits)
	if s.Count == 0 || s.AbsMax() == 0 {
		return full
	}
	best, bestErr := full, math.Inf(1)
	for f := full; f <= full+8; f++ {
		if e := s.QuantError(f, bits); e < bestErr*(1-1e-9) {
			best, bestErr = f, e
		}
	}
	return best
}

// Why implements explainer.
func (MSE) Why(s *TensorStats, bits int) string {
	return fmt.Sprintf("mse: least squared error over the calibration values (range ±%.3g)", s.AbsMax())
}

// QuantError is the expected squared error per value of representing the
// tensor with frac fractional bits in a word of the given size, estimated
// from the fine histogram.
func (s *TensorStats) QuantError(frac, bits int) float64 {
	step := math.Exp2(-float64(frac))
	maxv := math.Exp2(float64(bits-1-frac)) - step
	noise := step * step / 12
	var sum float64
	for i, c := range s.Fine {
		if c == 0 {
			continue
		}
		v := math.Min(fineCenter(i), s.AbsMax())
		if v > maxv {
			d := v - maxv
			sum += float64(c) * (d*d + noise)
		} else {
			sum += float64(c) * noise
		}
	}
	return sum / float64(s.Count)
}

// ParseScheme reads a scheme name as the CLI takes it: "auto" (the
// default), "minmax", "percentile:P" (e.g. percentile:99.9), "mse", or
// "search" (the accuracy search, started from auto; "search:BASE" starts
// from another scheme).
func ParseScheme(s string) (Scheme, error) {
	switch {
	case s == "auto":
		return Auto{}, nil
	case s == "minmax":
		return MinMax{}, nil
	case s == "mse":
		return MSE{}, nil
	case s == "search":
		return Search{Base: Auto{}}, nil
	case strings.HasPrefix(s, "search:"):
		base, err := ParseScheme(strings.TrimPrefix(s, "search:"))
		if err != nil {
			return nil, err
		}
		return Search{Base: base}, nil
	case strings.HasPrefix(s, "percentile:"):
		p, err := strconv.ParseFloat(strings.TrimPrefix(s, "percentile:"), 64)
		if err != nil || p <= 0 || p > 100 {
			return nil, fmt.Errorf("scheme %q: the percentile must be a number in (0, 100]", s)
		}
		return Percentile{P: p}, nil
	}
	return nil, fmt.Errorf("unknown scheme %q (auto, minmax, percentile:P, mse, search)", s)
}
