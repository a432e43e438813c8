package nnq

import (
	"fmt"
	"math"
	"sort"
)

// Histogram geometry. Power-of-two bins follow the guide's figures: bin k
// holds values with 2^(k-1) <= |x| < 2^k, for k in [Pow2Lo, Pow2Hi]; values
// outside go to the end bins. The fine histogram splits each octave into
// FineSub bins, which is enough to place a percentile within 5% of its value.
const (
	Pow2Lo  = -32
	Pow2Hi  = 32
	FineSub = 16
	nPow2   = Pow2Hi - Pow2Lo + 1
	nFine   = nPow2 * FineSub
)

// TensorStats holds the statistics of one activation tensor over a pattern
// set. Everything is an integer count or an extreme, so merging the stats
// of two runs gives exactly the stats of one run over both.
type TensorStats struct {
	Name     string
	Min, Max float64
	// MinCount and MaxCount count the values exactly equal to Min and Max:
	// a constant block (the MFCC floor of digital silence, a padding
	// value) shows up as a large count at an extreme.
	MinCount, MaxCount int64
	Count              int64
	Zeros              int64
	// NonFinite counts NaN and ±Inf values (an error for calibration).
	NonFinite int64
	// Pos[k-Pow2Lo] and Neg[k-Pow2Lo] count positive and negative values
	// with 2^(k-1) <= |x| < 2^k.
	Pos, Neg [nPow2]int64
	// Fine counts |x| in FineSub bins per octave (index
	// floor(log2|x|*FineSub) - (Pow2Lo-1)*FineSub, clamped).
	Fine [nFine]int64
}

func newTensorStats(name string) *TensorStats {
	return &TensorStats{Name: name, Min: math.Inf(1), Max: math.Inf(-1)}
}

// Add records values. It reads the exponent and the top mantissa bits of
// each float32 directly (no logarithm per value): the power-of-two bin is
// the exponent, the fine bin one table look-up and at most one comparison
// against the exact bin edge in mantissa space.
func (s *TensorStats) Add(xs []float32) {
	mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
	nmn, nmx := s.MinCount, s.MaxCount
	if s.Count > 0 {
		mn, mx = float32(s.Min), float32(s.Max)
	}
	for _, v := range xs {
		b := math.Float32bits(v)
		e := int(b>>23) & 0xff
		if e == 0xff {
			s.NonFinite++
			continue
		}
		s.Count++
		mn, nmn, mx, nmx = extremes(v, mn, nmn, mx, nmx)
		if b<<1 == 0 {
			s.Zeros++
			continue
		}
		k, f := bins(b, e)
		pn := &s.Pos
		if b>>31 != 0 {
			pn = &s.Neg
		}
		pn[k]++
		s.Fine[f]++
	}
	if s.Count > 0 {
		s.Min, s.Max = float64(mn), float64(mx)
		s.MinCount, s.MaxCount = nmn, nmx
	}
}

// addWithReLU records xs in s and, in r, what kernels.ReLUFloat makes of
// them (every value with the sign bit set becomes +0), decoding each value
// once: r ends up exactly as r.Add of the ReLU's output would leave it.
func (s *TensorStats) addWithReLU(r *TensorStats, xs []float32) {
	mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
	nmn, nmx := s.MinCount, s.MaxCount
	if s.Count > 0 {
		mn, mx = float32(s.Min), float32(s.Max)
	}
	// r's values are never -0 (the ReLU clears the sign bit), so r's
	// extremes compare by their bits.
	rmn, rmx := math.Float32bits(float32(math.Inf(1))), uint32(0)
	rnmn, rnmx := r.MinCount, r.MaxCount
	haveMax := false
	if r.Count > 0 {
		rmn, rmx, haveMax = math.Float32bits(float32(r.Min)), math.Float32bits(float32(r.Max)), true
	}
	for _, v := range xs {
		b := math.Float32bits(v)
		e := int(b>>23) & 0xff
		sm := uint32(int32(b) >> 31) // all ones when the sign bit is set
		yb := b &^ sm                // the ReLU's value, as bits
		if e == 0xff {
			s.NonFinite++
			if sm == 0 { // +Inf or a NaN without sign: the same in r
				r.NonFinite++
				continue
			}
			// -Inf or a NaN with the sign bit: +0 in r.
			r.Count++
			r.Zeros++
			rmn, rnmn, rmx, rnmx, haveMax = reluExtremes(yb, rmn, rnmn, rmx, rnmx, haveMax)
			continue
		}
		// Finite: r's extremes without a branch on the data (yb is +0
		// for half the values of a pre-activation); a non-negative float's
		// bits order as its value.
		r.Count++
		rmn, rnmn, rmx, rnmx, haveMax = reluExtremes(yb, rmn, rnmn, rmx, rnmx, haveMax)
		s.Count++
		mn, nmn, mx, nmx = extremes(v, mn, nmn, mx, nmx)
		if b<<1 == 0 {
			s.Zeros++
			r.Zeros++
			continue
		}
		k, f := bins(b, e)
		// Without a branch on the sign (random in a pre-activation): a
		// negative value counts in s.Neg and as a zero of r.
		pn := &s.Pos
		if sm != 0 {
			pn = &s.Neg
		}
		pn[k]++
		s.Fine[f]++
		n := int64(b >> 31)
		r.Zeros += n
		r.Pos[k] += 1 - n
		r.Fine[f] += 1 - n
	}
	if s.Count > 0 {
		s.Min, s.Max = float64(mn), float64(mx)
		s.MinCount, s.MaxCount = nmn, nmx
	}
	if r.Count > 0 {
		r.Min, r.Max = float64(math.Float32frombits(rmn)), float64(math.Float32frombits(rmx))
		r.MinCount, r.MaxCount = rnmn, rnmx
	}
}

// extremes counts v into a running minimum and maximum and the number of
// values equal to each.
func extremes(v, mn float32, nmn int64, mx float32, nmx int64) (float32, int64, float32, int64) {
	if v <= mn {
		if v < mn {
			mn, nmn = v, 0
		}
		nmn++
	}
	if v >= mx {
		if v > mx {
			mx, nmx = v, 0
		}
		nmx++
	}
	return mn, nmn, mx, nmx
}

// bins returns the power-of-two bin (index into Pos and Neg) and the fine
// bin of a finite, nonzero float32 with bits b and biased exponent e:
// |v| = 1.m·2^(e-127), so 2^(k-1) <= |v| < 2^k with k = e-126 (subnormals,
// e = 0, are far below 2^Pow2Lo and clamp there); the fine bin is one
// table look-up and one comparison with the exact edge, without a branch.
func bins(b uint32, e int) (k, f int) {
	k = min(max(e-126, Pow2Lo), Pow2Hi) - Pow2Lo
	m := b & (1<<23 - 1)
	sub := int(fineCell[m>>(23-fineCellBits)])
	sub += int((fineMant[sub+1] - m - 1) >> 31) // 1 when m >= the edge (both < 2^24)
	return k, min(max((e-126-Pow2Lo)*FineSub+sub, 0), nFine-1)
}

// reluExtremes updates the minimum and maximum (as float32 bits of
// non-negative values, which order as the values do) and their counts with
// one more value yb.
func reluExtremes(yb, mn uint32, nmn int64, mx uint32, nmx int64, haveMax bool) (uint32, int64, uint32, int64, bool) {
	if yb < mn {
		mn, nmn = yb, 0
	}
	if yb > mx || !haveMax {
		mx, nmx, haveMax = yb, 0, true
	}
	nmn += int64(b2i(yb == mn))
	nmx += int64(b2i(yb == mx))
	return mn, nmn, mx, nmx, haveMax
}

// fineMant[j] is the smallest 23-bit mantissa m with 1+m/2^23 >=
// 2^(j/FineSub): the lower edge of fine sub-bin j inside an octave
// (fineMant[FineSub] is past every mantissa). fineCell maps the top
// fineCellBits mantissa bits to the sub-bin of the cell's lowest mantissa;
// a cell is narrower than a sub-bin, so at most one edge falls inside it.
const fineCellBits = 8

var fineMant [FineSub + 1]uint32
var fineCell [1 << fineCellBits]uint8

func init() {
	for j := 0; j <= FineSub; j++ {
		m := uint32(math.Ceil((math.Exp2(float64(j)/FineSub) - 1) * (1 << 23)))
		// Guard the rounding of Exp2: the edge is the first m whose
		// log2 reaches j/FineSub.
		for m > 0 && math.Log2(1+float64(m-1)/(1<<23))*FineSub >= float64(j) {
			m--
		}
		for math.Log2(1+float64(m)/(1<<23))*FineSub < float64(j) {
			m++
		}
		fineMant[j] = m
	}
	fineMant[FineSub] = 1 << 23
	for c := range fineCell {
		lo := uint32(c) << (23 - fineCellBits)
		j := 0
		for j+1 < FineSub && lo >= fineMant[j+1] {
			j++
		}
		fineCell[c] = uint8(j)
	}
}

// Merge adds o's counts into s.
func (s *TensorStats) Merge(o *TensorStats) {
	switch {
	case o.Count == 0:
	case s.Count == 0 || o.Min < s.Min:
		s.MinCount = o.MinCount
	case o.Min == s.Min:
		s.MinCount += o.MinCount
	}
	switch {
	case o.Count == 0:
	case s.Count == 0 || o.Max > s.Max:
		s.MaxCount = o.MaxCount
	case o.Max == s.Max:
		s.MaxCount += o.MaxCount
	}
	s.Min, s.Max = math.Min(s.Min, o.Min), math.Max(s.Max, o.Max)
	s.Count += o.Count
	s.Zeros += o.Zeros
	s.NonFinite += o.NonFinite
	for i := range s.Pos {
		s.Pos[i] += o.Pos[i]
		s.Neg[i] += o.Neg[i]
	}
	for i := range s.Fine {
		s.Fine[i] += o.Fine[i]
	}
}

// fineEdge is the upper bound of fine bin i.
func fineEdge(i int) float64 {
	return math.Exp2(float64(i+1)/FineSub + float64(Pow2Lo-1))
}

// fineCenter is the geometric centre of fine bin i.
func fineCenter(i int) float64 {
	return math.Exp2((float64(i)+0.5)/FineSub + float64(Pow2Lo-1))
}

// AbsMax is the largest absolute value seen.
func (s *TensorStats) AbsMax() float64 {
	if s.Count == 0 {
		return 0
	}
	return math.Max(math.Abs(s.Min), math.Abs(s.Max))
}

// AbsPercentile returns the smallest bound R (a fine-bin edge, capped at
// AbsMax) such that at least p percent of the values have |x| <= R.
func (s *TensorStats) AbsPercentile(p float64) float64 {
	if s.Count == 0 {
		return 0
	}
	need := int64(math.Ceil(float64(s.Count) * p / 100))
	seen := s.Zeros
	if seen >= need {
		return 0
	}
	for i, c := range s.Fine {
		seen += c
		if seen >= need {
			return math.Min(fineEdge(i), s.AbsMax())
		}
	}
	return s.AbsMax()
}

// Stats holds calibration statistics for every activation tensor of a model
// (the network input and every layer output). For conv and dense layers the
// output is the float accumulator (activations are separate layers after
// Prepare), so its range also bounds the 32-bit accumulator of the fixed
// kernels.
type Stats struct {
	Model    string
	Patterns int
	Tensors  map[string]*TensorStats
	// Order lists the tensor names in network order.
	Order []string
}

// Tensor returns the stats of one tensor, or nil.
func (s *Stats) Tensor(name string) *TensorStats { return s.Tensors[name] }

// Merge adds o into s (same model).
func (s *Stats) Merge(o *Stats) error {
	if s.Tensors == nil {
		*s = Stats{Model: o.Model, Tensors: map[string]*TensorStats{}, Order: append([]string(nil), o.Order...)}
	}
	for _, n := range o.Order {
		t, ok := s.Tensors[n]
		if !ok {
			if len(s.Tensors) > 0 && s.Patterns > 0 {
				return fmt.Errorf("stats: tensor %q is not in the stats being merged into (different models?)", n)
			}
			t = newTensorStats(n)
			s.Tensors[n] = t
		}
		t.Merge(o.Tensors[n])
	}
	s.Patterns += o.Patterns
	return nil
}

func newStats(m *Model) *Stats {
	s := &Stats{Model: m.Name, Tensors: map[string]*TensorStats{}}
	names := []string{m.inputName()}
	for _, l := range m.Layers {
		names = append(names, l.Name)
		if s := ops[l.Op]; s != nil && s.internals != nil {
			names = append(names, s.internals(l)...)
		}
	}
	for _, n := range names {
		s.Tensors[n] = newTensorStats(n)
		s.Order = append(s.Order, n)
	}
	return s
}

// Progress, when set, is called with (done, total) as long steps
// (calibration, evaluation, search) advance; notebooks use it to show a
// progress bar. It may be called from several goroutines.
type Progress func(done, total int)

// Calibrate runs the CMSIS-layout float model on every pattern, spread over
// all cores, and collects the statistics of every activation tensor.
func Calibrate(m *Model, p *Patterns, progress Progress) (*Stats, error) {
	return calibrate(m, p, progress)
}

// CalibrateSet is Calibrate on a file-backed set, read batch by batch.
func CalibrateSet(m *Model, s *PatternSet, progress Progress) (*Stats, error) {
	return calibrate(m, s, progress)
}

func calibrate(m *Model, p patternSource, progress Progress) (*Stats, error) {
	if err := m.checkSource(p); err != nil {
		return nil, err
	}
	if p.Len() == 0 {
		return nil, fmt.Errorf("calibration of %q: the pattern set is empty", m.Name)
	}
	if m.Layout != CMSIS {
		return nil, fmt.Errorf("calibration of %q: convert the model with ToCMSIS first", m.Name)
	}
	// reluOf[i] is a ReLU layer whose only input is layer i's output (-1:
	// none): its statistics are recorded in the same pass as layer i's.
	reluOf, fromReLU := make([]int, len(m.Layers)), make([]bool, len(m.Layers))
	pos := map[string]int{}
	for i, l := range m.Layers {
		reluOf[i] = -1
		pos[l.Name] = i
	}
	for i, l := range m.Layers {
		if l.Op != OpReLU {
			continue
		}
		if in := m.inputsOf(i); len(in) == 1 {
			if j, ok := pos[in[0]]; ok && j < i && reluOf[j] < 0 && m.Layers[j].Op != OpReLU {
				reluOf[j], fromReLU[i] = i, true
			}
		}
	}
	var parts []*Stats
	var done int64
	lock := make(chan struct{}, 1)
	err := parallelEach(p, func() (func(*Patterns, int, int), error) {
		r, err := m.NewRunner()
		if err != nil {
			return nil, err
		}
		st := newStats(m)
		lock <- struct{}{}
		parts = append(parts, st)
		<-lock
		in := st.Tensors[m.inputName()]
		outs := make([]*TensorStats, len(m.Layers))
		for i, l := range m.Layers {
			outs[i] = st.Tensors[l.Name]
		}
		// Internal tensors of recurrent layers (opSpec.internals).
		r.rec = func(name string, v []float32) {
			if t := st.Tensors[name]; t != nil {
				t.Add(v)
			}
		}
		return func(b *Patterns, k, _ int) {
			r.Run(b.Input(k))
			in.Add(r.bufs[0])
			for i := range m.Layers {
				switch j := reluOf[i]; {
				case fromReLU[i]: // recorded with its input
				case j >= 0:
					outs[i].addWithReLU(outs[j], r.Output(i))
				default:
					outs[i].Add(r.Output(i))
				}
			}
			st.Patterns++
			if progress != nil {
				d := atomicAddGet(&done, 1)
				if d%256 == 0 || int(d) == p.Len() {
					progress(int(d), p.Len())
				}
			}
		}, nil
	})
	if err != nil {
		return nil, err
	}
	total := newStats(m)
	// Merge in a fixed order (sums and extremes commute, so any order gives
	// the same result; sorting just keeps it obvious).
	sort.Slice(parts, func(i, j int) bool { return parts[i].Patterns > parts[j].Patterns })
	for _, s := range parts {
		if err := total.Merge(s); err != nil {
			return nil, err
		}
	}
	for _, n := range total.Order {
		t := total.Tensors[n]
		if t.NonFinite > 0 {
			return nil, fmt.Errorf("calibration of %q: tensor %q produced %d NaN or infinite values (an overflowing layer or bad weights)", m.Name, n, t.NonFinite)
		}
	}
	return total, nil
}

// CalibrateFile streams a pattern file batch by batch (never holding it
// whole) and collects the statistics (CalibrateSet). splits restricts the
// patterns used ("train", "val"); none means all.
func CalibrateFile(m *Model, path string, progress Progress, splits ...string) (*Stats, error) {
	s, err := OpenPatternSet(path)
	if err != nil {
		return nil, err
	}
	if len(splits) > 0 {
		s = s.Split(splits...)
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("%s: no patterns of split %v to calibrate on", path, splits)
	}
	st, err := CalibrateSet(m, s, progress)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}
