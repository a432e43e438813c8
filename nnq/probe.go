package nnq

import (
	"fmt"
	"math"
	"sync"
)

// A probe scores candidate quantizations of one model on a fixed pattern
// set against the float network, re-simulating only from the first layer
// a candidate changes. Layers before its cache boundary have run with the
// committed model; for every pattern the probe keeps only the integer
// tensors those layers produced that later layers still read (for a chain,
// one activation map), never float activations.
type probe struct {
	cm *Model
	p  *Patterns
	// logit is the layer whose output is scored: the one before a final
	// softmax, else the last layer.
	logit int
	// refLP holds the float network's log-probabilities (log-softmax of the
	// scored layer) per pattern, and refTop its arg-max.
	refLP  [][]float64
	refTop []int
	// at is the cache boundary (0: nothing cached, inputs are quantized
	// from the float patterns); live[i][j] is pattern i's copy of buffer
	// liveIdx[j] (0 the input, k+1 layer k's output).
	at      int
	liveIdx []int
	live    [][]qbuf
	// Sims counts pattern simulations, Layers the layer runs (for logs and
	// benchmarks: the cache saves Layers, not Sims).
	Sims, Layers int64
}

// probeScore is what one candidate scores on the probe patterns.
type probeScore struct {
	// Loss is the mean of the per-pattern losses in PerLoss: the
	// Kullback-Leibler divergence of the fixed network's softmax (of the
	// dequantized scored layer) from the float network's, except on a
	// labelled pattern the float network gets wrong, where it is the
	// cross-entropy of the label under the fixed network. The float
	// network teaches where it is right; copying its mistakes earns
	// nothing (digital silence that the float network misreads, but that a
	// saturated floor reads right, is the case in point).
	Loss    float64
	PerLoss []float64
	// KL is the mean divergence from the float network on every pattern
	// (PerKL per pattern).
	KL    float64
	PerKL []float64
	// Errors counts patterns whose fixed arg-max differs from the label
	// (PerWrong marks them); Disagree those whose arg-max differs from the
	// float network's.
	Errors, Disagree int64
	PerWrong         []bool
	N                int
}

// Accuracy is the fraction of patterns the fixed network classifies right.
func (s probeScore) Accuracy() float64 { return 1 - float64(s.Errors)/float64(max(s.N, 1)) }

// scoredLayer is the layer a probe scores: the input of a final softmax.
func scoredLayer(m *Model) int {
	n := len(m.Layers) - 1
	if n > 0 && m.Layers[n].Op == OpSoftmax {
		return n - 1
	}
	return n
}

// newProbe runs the float network once over p for the reference.
func newProbe(cm *Model, p *Patterns) (*probe, error) {
	if p == nil || p.Len() == 0 {
		return nil, fmt.Errorf("no probe patterns")
	}
	pr := &probe{cm: cm, p: p, logit: scoredLayer(cm), refLP: make([][]float64, p.Len()), refTop: make([]int, p.Len())}
	err := parallel(p.Len(), func() (func(int), error) {
		r, err := cm.NewRunner()
		if err != nil {
			return nil, err
		}
		return func(i int) {
			r.Run(p.Input(i))
			out := r.Output(pr.logit)
			lp := make([]float64, len(out))
			for j, v := range out {
				lp[j] = float64(v)
			}
			logSoftmax(lp)
			pr.refLP[i], pr.refTop[i] = lp, Predict(out)
		}, nil
	})
	return pr, err
}

// logSoftmax replaces z by z - logsumexp(z).
func logSoftmax(z []float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	l := m + math.Log(s)
	for j := range z {
		z[j] -= l
	}
}

// liveAt lists the buffers produced before layer b that layers >= b read.
func liveAt(s *Sim, b int) []int {
	seen := map[int]bool{}
	var out []int
	for k := b; k < len(s.inIdx); k++ {
		for _, i := range s.inIdx[k] {
			if i <= b && !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// runRange runs layers from..to-1 on the simulator's buffers.
func (s *Sim) runRange(from, to int) error {
	for k := from; k < to; k++ {
		l := s.q.Layers[k]
		args := s.args[:len(s.inIdx[k])]
		for j, i := range s.inIdx[k] {
			args[j] = s.bufs[i]
		}
		fixed := ops[l.Op].fixed
		if s.s8 != nil {
			fixed = s.s8[k].run
		}
		if err := fixed(s, k, args, s.bufs[k+1]); err != nil {
			if l.S8 != nil {
				return fmt.Errorf("layer %q (%s): %w", l.Name, l.S8.Function, err)
			}
			return fmt.Errorf("layer %q (%s): %w", l.Name, l.Kernel, err)
		}
	}
	return nil
}

// load puts pattern i's state at the cache boundary into the simulator.
func (pr *probe) load(s *Sim, q *QModel, i int, x []int16) {
	if pr.at == 0 {
		q.QuantizeInput(pr.p.Input(i), x)
		in := s.bufs[0]
		if in.b16 != nil {
			copy(in.b16, x)
		} else {
			for j, v := range x {
				in.b8[j] = int8(v)
			}
		}
		return
	}
	for j, b := range pr.liveIdx {
		s.bufs[b].copyFrom(pr.live[i][j])
	}
}

// each simulates q on every probe pattern from the cache boundary up to
// layer to (exclusive) and calls f with the simulator (per worker).
func (pr *probe) each(q *QModel, to int, f func(i int, s *Sim)) error {
	var mu sync.Mutex
	var firstErr error
	err := parallel(pr.p.Len(), func() (func(int), error) {
		s, err := q.NewSim(false)
		if err != nil {
			return nil, err
		}
		x := make([]int16, q.Float.InputSize())
		return func(i int) {
			pr.load(s, q, i, x)
			if err := s.runRange(pr.at, to); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("probe pattern %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			f(i, s)
		}, nil
	})
	if err == nil {
		err = firstErr
	}
	pr.Sims += int64(pr.p.Len())
	pr.Layers += int64(pr.p.Len() * (to - pr.at))
	return err
}

// advance moves the cache boundary to layer b (<= every layer a later
// candidate changes), running layers at..b-1 of the committed model q.
func (pr *probe) advance(q *QModel, b int) error {
	if b <= pr.at {
		return nil
	}
	s, err := q.NewSim(false)
	if err != nil {
		return err
	}
	idx := liveAt(s, b)
	live := make([][]qbuf, pr.p.Len())
	err = pr.each(q, b, func(i int, s *Sim) {
		row := make([]qbuf, len(idx))
		for j, k := range idx {
			row[j] = newQbuf(q.Bits, max(len(s.bufs[k].b8), len(s.bufs[k].b16)))
			row[j].copyFrom(s.bufs[k])
		}
		live[i] = row
	})
	if err != nil {
		return err
	}
	pr.at, pr.liveIdx, pr.live = b, idx, live
	return nil
}

// score simulates candidate q from the cache boundary to the end. q must
// equal the committed model on every layer before the boundary.
func (pr *probe) score(q *QModel) (probeScore, error) {
	n := pr.p.Len()
	kl := make([]float64, n)
	loss := make([]float64, n)
	wrong := make([]bool, n)
	dis := make([]bool, n)
	frac := q.Frac[q.Layers[pr.logit].Name]
	scale := math.Exp2(-float64(frac))
	err := pr.each(q, len(q.Layers), func(i int, s *Sim) {
		b := s.bufs[pr.logit+1]
		var z [64]float64
		lp := z[:0]
		if len(pr.refLP[i]) > len(z) {
			lp = make([]float64, 0, len(pr.refLP[i]))
		}
		for j := range pr.refLP[i] {
			if b.b16 != nil {
				lp = append(lp, float64(b.b16[j])*scale)
			} else {
				lp = append(lp, float64(b.b8[j])*scale)
			}
		}
		logSoftmax(lp)
		var d float64
		for j, r := range pr.refLP[i] {
			if r > -700 {
				d += math.Exp(r) * (r - lp[j])
			}
		}
		kl[i], loss[i] = d, d
		if l := pr.p.Label(i); l >= 0 && l < len(lp) && l != pr.refTop[i] {
			loss[i] = -lp[l] // the float network is wrong: the label teaches
		}
		// The prediction is the arg-max of the network output, as deployed.
		best := predictQbuf(s.bufs[len(s.bufs)-1])
		wrong[i] = best != pr.p.Label(i)
		dis[i] = best != pr.refTop[i]
	})
	if err != nil {
		return probeScore{}, err
	}
	sc := probeScore{N: n, PerLoss: loss, PerKL: kl, PerWrong: wrong}
	for i := 0; i < n; i++ {
		sc.KL += kl[i]
		sc.Loss += loss[i]
		if wrong[i] {
			sc.Errors++
		}
		if dis[i] {
			sc.Disagree++
		}
	}
	sc.KL /= float64(n)
	sc.Loss /= float64(n)
	return sc, nil
}

// predictQbuf is predictInt on a buffer (first maximum).
func predictQbuf(b qbuf) int {
	best := 0
	if b.b16 != nil {
		for i, v := range b.b16 {
			if v > b.b16[best] {
				best = i
			}
		}
		return best
	}
	for i, v := range b.b8 {
		if v > b.b8[best] {
			best = i
		}
	}
	return best
}

// pairedZ is the z statistic of the mean per-pattern difference a - b
// (paired: both measured on the same patterns): negative when a is lower.
// Zero when the two are identical on every pattern.
func pairedZ(a, b []float64) float64 {
	n := len(a)
	if n == 0 || n != len(b) {
		return 0
	}
	var s, ss float64
	for i, x := range a {
		d := x - b[i]
		s += d
		ss += d * d
	}
	m := s / float64(n)
	v := (ss - s*m) / float64(max(n-1, 1))
	if v <= 0 {
		switch {
		case m < 0:
			return math.Inf(-1)
		case m > 0:
			return math.Inf(1)
		}
		return 0
	}
	return m / math.Sqrt(v/float64(n))
}

// beats reports whether candidate a is better than b beyond noise on the
// same patterns, and says why in a few words. Both must hold:
//   - a's loss is lower by more than conf standard errors (a paired test),
//     or its divergence from the float network is, without a loss higher
//     by more than conf standard errors (the divergence alone is the
//     quieter measure where the float network is right);
//   - a decides better: fewer wrong decisions, counting a pattern's
//     arg-max against the label (errors) and against the float network
//     (disagreements). A change that moves no decision on the held-out
//     patterns cannot show that it moves accuracy, however consistent its
//     effect on the loss.
func beats(a, b probeScore, conf float64) (bool, string) {
	zl, zk := pairedZ(a.PerLoss, b.PerLoss), pairedZ(a.PerKL, b.PerKL)
	why := fmt.Sprintf("loss z %+.1f, divergence z %+.1f, errors %d vs %d, disagreements %d vs %d", zl, zk, a.Errors, b.Errors, a.Disagree, b.Disagree)
	lower := zl < -conf || zk < -conf && zl <= conf
	decides := a.Errors+a.Disagree < b.Errors+b.Disagree
	return lower && decides, why
}

// mcNemarZ is McNemar's z statistic for a's errors against b's on the same
// patterns: (patterns only b gets wrong - patterns only a gets wrong) /
// sqrt(their sum); positive when a makes fewer errors.
func mcNemarZ(a, b probeScore) float64 {
	var fixed, broken int
	for i, w := range a.PerWrong {
		switch {
		case w && !b.PerWrong[i]:
			broken++
		case !w && b.PerWrong[i]:
			fixed++
		}
	}
	if fixed+broken == 0 {
		return 0
	}
	return float64(fixed-broken) / math.Sqrt(float64(fixed+broken))
}
