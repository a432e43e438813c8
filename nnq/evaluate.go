package nnq

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nnq-toolkit/nnq/kernels"
)

// LayerEval is the per-layer result of an evaluation.
type LayerEval struct {
	Name string
	Op   Op
	// SQNR is 10·log10(Σ float² / Σ (float − dequantized fixed)²) over all
	// patterns, in dB (+Inf when the fixed output is exact).
	SQNR float64
	// Kernel holds the kernel counters summed over all patterns:
	// saturated outputs, accumulators that wrapped past 32 bits, bias
	// shifts that overflowed.
	Kernel kernels.Stats
	// Outputs counts the layer's output values over all patterns (the
	// denominator of its saturation rate).
	Outputs int64
	// AbsMax is the largest magnitude of the float layer's output on the
	// patterns (for the headroom of the chosen format).
	AbsMax float64
	// Measured says whether Sensitivity was measured (every layer that
	// computes; relu, max pool, flatten and reshape are exact on their
	// input's format); Sensitivity is then the accuracy when only this
	// layer runs in fixed point, on Evaluation.SensitivityPatterns
	// patterns.
	Measured      bool
	Sensitivity   float64
	sensOK        int64
	signal, noise float64
}

// Evaluation compares a quantized model with its float original on a
// pattern set.
type Evaluation struct {
	Patterns int
	// Unlabelled counts the patterns with label -1: they count for
	// Agreement and SQNR, not for accuracy.
	Unlabelled int
	// Float and Fixed are top-1 accuracies (fraction of the labelled
	// patterns whose arg-max equals the label; 0 without labels);
	// Agreement is the fraction of all patterns where both networks pick
	// the same class.
	Float, Fixed, Agreement float64
	// InputSaturated counts input values clipped by the input format,
	// out of InputValues.
	InputSaturated, InputValues int64
	// SensitivityPatterns is how many patterns (spread evenly over the
	// set) the layer sensitivities were measured on; SensitivityFloat is
	// the float accuracy on those patterns.
	SensitivityPatterns int
	SensitivityFloat    float64
	// Confusion matrices, [label][prediction], for labelled patterns.
	FloatConfusion, FixedConfusion [][]int
	Layers                         []LayerEval
}

// Accuracy runs only the fixed-point network (fast path used by the
// search); Float, Agreement and the per-layer figures stay zero.
func (q *QModel) Accuracy(p *Patterns, progress Progress) (*Evaluation, error) {
	return q.evaluate(p, false, 0, progress)
}

// Evaluate runs the float and the fixed-point networks on every pattern
// (spread over all cores) and compares them: accuracies, agreement,
// confusion matrices, per-layer SQNR, value ranges and kernel saturation
// counts, and, on up to DefaultSensitivityPatterns of them, each layer's
// sensitivity. Each pattern goes through the float network once: that
// pass also supplies the inputs of the layer-sensitivity runs.
func (q *QModel) Evaluate(p *Patterns, progress Progress) (*Evaluation, error) {
	return q.EvaluateWith(p, EvalOptions{Progress: progress})
}

// EvaluateSet is EvaluateWith on a file-backed set, read batch by batch:
// the same results in memory that does not grow with the set.
func (q *QModel) EvaluateSet(s *PatternSet, o EvalOptions) (*Evaluation, error) {
	if o.SensitivityPatterns == 0 {
		o.SensitivityPatterns = DefaultSensitivityPatterns
	}
	return q.evaluate(s, true, o.SensitivityPatterns, o.Progress)
}

// EvalOptions tunes EvaluateWith.
type EvalOptions struct {
	// SensitivityPatterns caps the patterns (spread evenly over the set)
	// layer sensitivity is measured on: 0 means
	// DefaultSensitivityPatterns, a negative value none.
	SensitivityPatterns int
	Progress            Progress
}

// EvaluateWith is Evaluate with options.
func (q *QModel) EvaluateWith(p *Patterns, o EvalOptions) (*Evaluation, error) {
	if o.SensitivityPatterns == 0 {
		o.SensitivityPatterns = DefaultSensitivityPatterns
	}
	return q.evaluate(p, true, o.SensitivityPatterns, o.Progress)
}

type evalPart struct {
	floatOK, fixedOK, agree, inSat int64
	sensN, sensFloatOK             int64
	fc, qc                         [][]int
	layers                         []LayerEval
	sim                            *Sim
}

func (q *QModel) evaluate(p patternSource, full bool, maxSens int, progress Progress) (*Evaluation, error) {
	if err := q.Float.checkSource(p); err != nil {
		return nil, err
	}
	n := p.Len()
	if n == 0 {
		return nil, fmt.Errorf("evaluate %q: the pattern set is empty", q.Name)
	}
	classes := q.Layers[len(q.Layers)-1].Out.Size()
	stride := 0                       // every stride-th pattern measures sensitivity (0: none)
	if maxSens > 0 && !q.IsAffine() { // the hybrid pass reads Q formats
		stride = (n + maxSens - 1) / maxSens
	}
	unlabelled := 0
	for i := 0; i < n; i++ {
		if p.Label(i) < 0 {
			unlabelled++
		}
		if l := p.Label(i); l >= classes {
			return nil, fmt.Errorf("evaluate %q: pattern %d has label %d, but the network has %d outputs", q.Name, i, l, classes)
		}
	}
	refs := q.sqnrReference()
	// deqTabs[k] holds, for q7 outputs, Dequantize's value of every
	// code -128..127 in float64 (a look-up, not a conversion chain, per
	// value).
	deqTabs := make([][]float64, len(q.Layers))
	if !q.IsAffine() && q.Bits == 8 {
		for k, l := range q.Layers {
			scale := math.Exp2(-float64(q.Frac[l.Name]))
			t := make([]float64, 256)
			for i := range t {
				t[i] = float64(float32(float64(i-128) * scale))
			}
			deqTabs[k] = t
		}
	}
	// A ReLU fused into the layer before it has that layer's output and
	// float reference (the layer's loop applies the ReLU): its energies
	// and range are copied, not recomputed.
	same := make([]int, len(q.Layers))
	for k, l := range q.Layers {
		same[k] = -1
		if q.IsAffine() {
			continue
		}
		if p := q.FusedInto(l); p != nil {
			if pk := slices.Index(q.Layers, p); pk >= 0 && pk < k && q.Frac[p.Name] == q.Frac[l.Name] && refs[k] == k && refs[pk] == pk {
				same[k] = pk
			}
		}
	}
	var mu sync.Mutex
	var parts []*evalPart
	var done int64
	var firstErr error
	// Per pattern and layer signal and noise energies, summed in pattern
	// order at the end: the SQNRs do not depend on how the patterns were
	// spread over the workers (float sums are not associative).
	nl := len(q.Layers)
	var signal, noise []float64
	if full {
		signal, noise = make([]float64, n*nl), make([]float64, n*nl)
	}
	err := parallelEach(p, func() (func(*Patterns, int, int), error) {
		sim, err := q.NewSim(full)
		if err != nil {
			return nil, err
		}
		var fr *Runner
		var hy *hybrid
		if full {
			if fr, err = q.Float.NewRunner(); err != nil {
				return nil, err
			}
			if stride > 0 {
				if hy, err = newHybrid(q); err != nil {
					return nil, err
				}
			}
		}
		part := &evalPart{fc: square(classes), qc: square(classes), layers: make([]LayerEval, len(q.Layers)), sim: sim}
		mu.Lock()
		parts = append(parts, part)
		mu.Unlock()
		x := make([]int16, q.Float.InputSize())
		deq := make([]float32, 0, 64)
		return func(b *Patterns, j, i int) {
			part.inSat += int64(q.QuantizeInput(b.Input(j), x))
			out, err := sim.Run(x)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("pattern %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			qp := PredictInt(out)
			label := b.Label(j)
			if qp == label {
				part.fixedOK++
			}
			if label >= 0 {
				part.qc[label][qp]++
			}
			if full {
				fp := Predict(fr.Run(b.Input(j)))
				if fp == label {
					part.floatOK++
				}
				if fp == qp {
					part.agree++
				}
				if label >= 0 {
					part.fc[label][fp]++
				}
				for k, ql := range q.Layers {
					le := &part.layers[k]
					if p := same[k]; p >= 0 {
						le.AbsMax = part.layers[p].AbsMax
						signal[i*nl+k], noise[i*nl+k] = signal[i*nl+p], noise[i*nl+p]
						continue
					}
					ref := fr.Output(refs[k])
					var sg, ns float64
					var m float32
					if tab := deqTabs[k]; tab != nil && sim.bufs[k+1].b8 != nil {
						sg, ns, m = sqnrTermsQ7(ref, sim.Output(k)[:len(ref)], tab, ql.ReLU, float32(le.AbsMax))
					} else { // affine or 16-bit values
						deq = sim.Dequantized(k, deq)
						sg, ns, m = sqnrTerms(ref, deq[:len(ref)], ql.ReLU, float32(le.AbsMax))
					}
					le.AbsMax = float64(m)
					// Summed in pattern order below, not per worker.
					signal[i*nl+k], noise[i*nl+k] = sg, ns
				}
				if stride > 0 && i%stride == 0 && label >= 0 { // accuracy needs a label
					part.sensN++
					if fp == label {
						part.sensFloatOK++
					}
					for k, l := range q.Layers {
						if !sensitive(l.Op) {
							continue
						}
						p, err := hy.predict(fr, k)
						if err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = fmt.Errorf("pattern %d, layer %q alone in fixed point: %w", i, l.Name, err)
							}
							mu.Unlock()
							return
						}
						if p == label {
							part.layers[k].sensOK++
						}
					}
				}
			}
			if progress != nil {
				if d := atomicAddGet(&done, 1); d%256 == 0 || int(d) == n {
					progress(int(d), n)
				}
			}
		}, nil
	})
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return nil, err
	}
	ev := &Evaluation{Patterns: n, Unlabelled: unlabelled, FloatConfusion: square(classes), FixedConfusion: square(classes)}
	ev.Layers = make([]LayerEval, len(q.Layers))
	var fok, qok, agree, sensN, sensF int64
	for _, pt := range parts {
		fok += pt.floatOK
		qok += pt.fixedOK
		agree += pt.agree
		sensN += pt.sensN
		sensF += pt.sensFloatOK
		ev.InputSaturated += pt.inSat
		for a := range pt.fc {
			for b := range pt.fc[a] {
				ev.FloatConfusion[a][b] += pt.fc[a][b]
				ev.FixedConfusion[a][b] += pt.qc[a][b]
			}
		}
		for k := range pt.layers {
			ev.Layers[k].sensOK += pt.layers[k].sensOK
			ev.Layers[k].AbsMax = max(ev.Layers[k].AbsMax, pt.layers[k].AbsMax)
			if pt.sim.Stats != nil {
				ev.Layers[k].Kernel.Add(pt.sim.Stats[k])
			}
		}
	}
	for i := range signal {
		ev.Layers[i%nl].signal += signal[i]
		ev.Layers[i%nl].noise += noise[i]
	}
	if labelled := n - unlabelled; labelled > 0 {
		ev.Float, ev.Fixed = float64(fok)/float64(labelled), float64(qok)/float64(labelled)
	}
	ev.Agreement = float64(agree) / float64(n)
	ev.InputValues = int64(n) * int64(q.Float.InputSize())
	ev.SensitivityPatterns = int(sensN)
	if sensN > 0 {
		ev.SensitivityFloat = float64(sensF) / float64(sensN)
	}
	for k, l := range q.Layers {
		le := &ev.Layers[k]
		le.Name, le.Op = l.Name, l.Op
		le.SQNR = sqnr(le.signal, le.noise)
		le.Outputs = int64(n) * int64(l.Out.Size())
		if full && sensN > 0 && sensitive(l.Op) {
			le.Measured, le.Sensitivity = true, float64(le.sensOK)/float64(sensN)
		}
	}
	return ev, nil
}

func sqnr(signal, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	if signal == 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(signal/noise)
}

func square(n int) [][]int {
	m := make([][]int, n)
	for i := range m {
		m[i] = make([]int, n)
	}
	return m
}

// PredictInt returns the index of the largest value of a fixed-point
// output (the first one on ties), as Predict does for floats.
func PredictInt(out []int16) int {
	best := 0
	for i, v := range out {
		if v > out[best] {
			best = i
		}
	}
	return best
}

// errorsUpTo counts the patterns the fixed network gets wrong, stopping
// early once the count reaches limit (the search only needs to know whether
// a trial beats the best so far).
func (q *QModel) errorsUpTo(p *Patterns, limit int64) (int64, error) {
	var errs int64
	var mu sync.Mutex
	var firstErr error
	err := parallel(p.Len(), func() (func(int), error) {
		sim, err := q.NewSim(false)
		if err != nil {
			return nil, err
		}
		x := make([]int16, q.Float.InputSize())
		return func(i int) {
			if atomic.LoadInt64(&errs) >= limit {
				return
			}
			q.QuantizeInput(p.Input(i), x)
			out, err := sim.Run(x)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			if l := p.Label(i); l >= 0 && PredictInt(out) != l {
				atomic.AddInt64(&errs, 1)
			}
		}, nil
	})
	if err == nil {
		err = firstErr
	}
	return min(errs, limit), err
}

// sqnrTerms returns the signal energy Σv², the noise energy Σ(v-q)² (in
// float64, in order) of float reference v against dequantized q, and the
// larger of m and max|v|; relu applies a fused ReLU to v first (the
// kernel's output is relu(layer)).
func sqnrTerms(ref, deq []float32, relu bool, m float32) (sg, ns float64, mx float32) {
	rm := reluMask(relu)
	for j, v := range ref {
		x := float64(fusedReLU(v, rm))
		d := x - float64(deq[j])
		sg += x * x
		ns += d * d
		if a := float32(math.Abs(x)); a > m || a != a {
			m = a
		}
	}
	return sg, ns, m
}

// sqnrTermsQ7 is sqnrTerms against q7 codes q, whose dequantized values
// (Dequantize's float32, in float64) tab holds at index code+128: a look-up
// instead of a conversion chain per value.
func sqnrTermsQ7(ref []float32, q []int16, tab []float64, relu bool, m float32) (sg, ns float64, mx float32) {
	tab = tab[:256]
	rm := reluMask(relu)
	for j, v := range ref {
		x := float64(fusedReLU(v, rm))
		d := x - tab[uint8(q[j]+128)]
		sg += x * x
		ns += d * d
		if a := float32(math.Abs(x)); a > m || a != a {
			m = a
		}
	}
	return sg, ns, m
}

// reluMask is all ones when a fused ReLU applies.
func reluMask(relu bool) uint32 {
	if relu {
		return ^uint32(0)
	}
	return 0
}

// fusedReLU is v < 0 ? 0 : v under mask rm, without a branch (the sign of
// a pre-activation is random): a value with the sign bit set is cleared
// unless it is a NaN; -0 becomes +0, which gives the same terms.
func fusedReLU(v float32, rm uint32) float32 {
	b := math.Float32bits(v)
	neg := uint32(int32(b)>>31) &^ uint32(int32(0xff800000-b)>>31)
	return math.Float32frombits(b &^ (neg & rm))
}
