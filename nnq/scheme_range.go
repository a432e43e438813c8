package nnq

import "math"

// RangeScheme is the affine counterpart of Scheme.Frac: a scheme that
// implements it chooses the real clipping range [lo, hi] of a tensor for
// the s8/s16 formats (real scale and zero point instead of a power of two).
// It reads the same histogram statistics. symmetric asks for a range
// centred on zero (s16, whose zero point is 0); levels is the number of
// integer steps of the word (255 for int8, 65535 for int16).
type RangeScheme interface {
	Range(s *TensorStats, levels int, symmetric bool) (lo, hi float64)
}

// SchemeRange is the clipping range scheme sc gives a tensor of an s8
// (bits 8) or s16 (bits 16) network. A scheme without a Range method (one
// that only chooses fractional bits) gets the observed range clipped to the
// power-of-two bound its Frac implies.
func SchemeRange(sc Scheme, s *TensorStats, bits int) (lo, hi float64) {
	if s == nil || s.Count == 0 {
		return 0, 0
	}
	levels := 255
	if bits == 16 {
		levels = 65535
	}
	sym := bits == 16
	if rs, ok := sc.(RangeScheme); ok {
		return rs.Range(s, levels, sym)
	}
	r := math.Exp2(float64(bits - 1 - sc.Frac(s, bits)))
	lo, hi = math.Max(s.Min, -r), math.Min(s.Max, r)
	if sym {
		a := math.Max(-lo, hi)
		return -a, a
	}
	return lo, hi
}

// observedRange is the calibration range widened to contain 0.
func observedRange(s *TensorStats, symmetric bool) (lo, hi float64) {
	lo, hi = math.Min(s.Min, 0), math.Max(s.Max, 0)
	if symmetric {
		a := math.Max(-lo, hi)
		return -a, a
	}
	return lo, hi
}

// Range implements RangeScheme: the observed minimum and maximum.
func (MinMax) Range(s *TensorStats, levels int, symmetric bool) (lo, hi float64) {
	return observedRange(s, symmetric)
}

// signedFine splits the fine |x| histogram into positive and negative
// counts. The statistics record the sign per octave only (Pos, Neg), so
// each fine bin is split in its octave's ratio.
func signedFine(s *TensorStats) (pos, neg []float64) {
	pos, neg = make([]float64, nFine), make([]float64, nFine)
	for i, c := range s.Fine {
		if c == 0 {
			continue
		}
		k := min(i/FineSub, nPow2-1)
		p, n := float64(s.Pos[k]), float64(s.Neg[k])
		if p+n == 0 {
			pos[i] = float64(c)
			continue
		}
		pos[i] = float64(c) * p / (p + n)
		neg[i] = float64(c) * n / (p + n)
	}
	return pos, neg
}

// sidePercentile is the smallest fine-bin edge R (capped at limit) such
// that at least p percent of the values of one sign (counts h) have
// |x| <= R.
func sidePercentile(h []float64, p, limit float64) float64 {
	var total float64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0
	}
	need := total * p / 100
	var seen float64
	for i, c := range h {
		seen += c
		if seen >= need*(1-1e-12) {
			return math.Min(fineEdge(i), limit)
		}
	}
	return limit
}

// Range implements RangeScheme: each side of zero keeps P percent of its
// values (symmetric: P percent of all magnitudes).
func (p Percentile) Range(s *TensorStats, levels int, symmetric bool) (lo, hi float64) {
	if symmetric {
		a := s.AbsPercentile(p.P)
		return -a, a
	}
	pos, neg := signedFine(s)
	return -sidePercentile(neg, p.P, math.Max(-s.Min, 0)), sidePercentile(pos, p.P, math.Max(s.Max, 0))
}

// rangeError is the expected squared error per value of quantizing the
// tensor onto levels uniform steps over [lo, hi]: rounding noise step²/12
// inside, squared clipping distance outside (fine histogram, sign split).
func rangeError(s *TensorStats, pos, neg []float64, lo, hi float64, levels int) float64 {
	step := (hi - lo) / float64(levels)
	noise := step * step / 12
	sum := float64(s.Zeros) * noise
	for i := range pos {
		if pos[i] == 0 && neg[i] == 0 {
			continue
		}
		v := math.Min(fineCenter(i), s.AbsMax())
		for _, side := range [2]struct{ c, bound float64 }{{pos[i], hi}, {neg[i], -lo}} {
			if side.c == 0 {
				continue
			}
			if d := v - side.bound; d > 0 {
				sum += side.c * (d*d + noise)
			} else {
				sum += side.c * noise
			}
		}
	}
	return sum / float64(s.Count)
}

// Range implements RangeScheme: each end of the observed range shrunk by a
// factor 2^(-k/16), k = 0..64 (the same factor for both ends when
// symmetric), to minimise the expected squared error over the calibration
// histogram (rounding noise inside, clipping error outside).
func (MSE) Range(s *TensorStats, levels int, symmetric bool) (lo, hi float64) {
	lo, hi = observedRange(s, symmetric)
	if hi-lo <= 0 {
		return lo, hi
	}
	pos, neg := signedFine(s)
	bestLo, bestHi, bestErr := lo, hi, math.Inf(1)
	nl, nh := 64, 64
	if lo == 0 {
		nl = 0 // one-sided: only the other end moves
	}
	if hi == 0 {
		nh = 0
	}
	for kl := 0; kl <= nl; kl++ {
		for kh := 0; kh <= nh; kh++ {
			if symmetric && kh != kl {
				continue
			}
			l, h := lo*math.Exp2(-float64(kl)/16), hi*math.Exp2(-float64(kh)/16)
			if e := rangeError(s, pos, neg, l, h, levels); e < bestErr*(1-1e-9) {
				bestLo, bestHi, bestErr = l, h, e
			}
		}
	}
	return bestLo, bestHi
}

// Range implements RangeScheme with the base scheme (the search's start).
func (s Search) Range(t *TensorStats, levels int, symmetric bool) (lo, hi float64) {
	bits := 8
	if levels > 255 {
		bits = 16
	}
	return SchemeRange(s.base(), t, bits)
}
