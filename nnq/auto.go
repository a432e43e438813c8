package nnq

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
)

// Auto is the default scheme. It chooses the activation formats by what
// they do to the network output on held-out calibration patterns (Probe),
// never by a per-tensor error alone, and it leaves the widest reasonable
// choice only when patterns it did not tune on confirm the gain.
//
// The probe patterns are split: the first Fit patterns (by default 256, at
// most half of them) tune, the rest (at most Check, default 768) confirm.
// Both are scored by the held-out loss (probeScore.Loss): the divergence
// of the fixed network's output distribution from the float network's
// where the float network is right, and the cross-entropy of the label
// where it is wrong (the float network is the teacher only where it
// deserves to be).
//
//  1. Start. The statistics schemes each propose a complete set of formats:
//     minmax, percentile 99.99 and 99.9, mse, and mse without constant
//     blocks at the extremes of a tensor (floorless, see FloorBlock: the
//     MFCC floor of digital silence must not widen the input format). The
//     start is the widest proposal (fewest fractional bits in total) whose
//     loss on the tuning patterns is within Confidence standard errors of
//     the best proposal's (a paired test over the patterns).
//  2. Refinement. One free tensor at a time, in network order, the format
//     moves one bit at a time, finer (or, when that does not help,
//     coarser), up to MaxSteps bits, while the tuning loss falls.
//  3. Confirmation. The refined formats replace the start only if their
//     loss on the confirmation patterns is lower by more than Confidence
//     standard errors.
//
// A floor that saturates harmlessly is saturated, an outlier that matters
// is kept, and when the held-out data cannot tell two choices apart the
// wider one stays: it cannot clip values the calibration data did not
// show. Each refinement trial re-simulates only from the layer it changes,
// from cached integer activations.
//
// Without probe patterns Auto uses the floorless mse choice alone (and says
// so in the model's notes).
type Auto struct {
	// Probe holds held-out calibration patterns (never test patterns).
	// Convert sets it from the calibration data.
	Probe *Patterns
	// Fit is how many probe patterns tune (default 256, at most half);
	// Check caps the rest, which confirm (default 768).
	Fit, Check int
	// MaxSteps bounds the moves of one format away from its start
	// (default 3).
	MaxSteps int
	// Confidence is the paired z statistic a held-out difference must
	// exceed to count (default 2).
	Confidence float64
	// Log receives one line per decision.
	Log func(string)
}

// Name implements Scheme.
func (Auto) Name() string { return "auto" }

// Frac implements Scheme: the floorless MSE choice (used without probe
// patterns).
func (Auto) Frac(s *TensorStats, bits int) int { return floorlessMSE{}.Frac(s, bits) }

// Why implements explainer (for the choice without probe patterns).
func (Auto) Why(s *TensorStats, bits int) string { return floorlessMSE{}.Why(s, bits) }

// autoStarts are the statistics schemes whose choices Auto's first step
// compares.
func autoStarts() []Scheme {
	return []Scheme{MinMax{}, Percentile{P: 99.99}, Percentile{P: 99.9}, MSE{}, floorlessMSE{}}
}

// freeTensor is a tensor whose format a scheme may move: the network input
// (layer -1) or an output or internal tensor of layer Layer.
type freeTensor struct {
	Name  string
	Layer int
}

// freeTensors lists the formats the refinements may move, in network
// order: the input unless it is fixed, the outputs of conv, depthwise,
// dense, add, mul and average pool layers, and the gate and cell formats
// of recurrent layers.
func freeTensors(cm *Model, q *QModel, cfg QConfig) []freeTensor {
	var free []freeTensor
	if cfg.InputFrac == nil {
		free = append(free, freeTensor{cm.inputName(), -1})
	}
	for i, l := range q.Layers {
		switch l.Op {
		case OpConv2D, OpDepthwiseConv2D, OpDense, OpAdd, OpMul, OpAvgPool2D:
			free = append(free, freeTensor{l.Name, i})
		case OpGRU:
			free = append(free, freeTensor{l.Name + "/gates", i})
		case OpLSTM:
			free = append(free, freeTensor{l.Name + "/gates", i}, freeTensor{l.Name + "/c", i})
		}
	}
	return free
}

// noteFor appends a note to the layer producing tensor t (or the model).
func noteFor(q *QModel, t freeTensor, note string) {
	if t.Layer < 0 {
		q.Notes = append(q.Notes, note)
		return
	}
	q.Layers[t.Layer].Notes = append(q.Layers[t.Layer].Notes, note)
}

// autoStart is one proposed set of formats.
type autoStart struct {
	names []string // the schemes that proposed it
	q     *QModel
	sc    probeScore
	width int // total fractional bits of the free tensors
}

func (a Auto) refine(q *QModel, cm *Model, stats *Stats, cfg QConfig) (*QModel, error) {
	if a.Probe == nil || a.Probe.Len() < 2 {
		q.Notes = append(q.Notes, "auto: fewer than 2 held-out calibration patterns were given, so the formats are the statistics' choice (floorless mse) without the output-error selection")
		return q, nil
	}
	a.Fit = min(cmp.Or(a.Fit, 256), a.Probe.Len()/2)
	a.Check = min(cmp.Or(a.Check, 768), a.Probe.Len()-a.Fit)
	a.MaxSteps = cmp.Or(a.MaxSteps, 3)
	a.Confidence = cmp.Or(a.Confidence, 2)
	logf := func(format string, args ...any) {
		if a.Log != nil {
			a.Log(fmt.Sprintf(format, args...))
		}
	}
	fit, err := newProbe(cm, a.Probe.Head(a.Fit))
	if err != nil {
		return nil, err
	}
	free := freeTensors(cm, q, cfg)
	schemes := autoStarts()
	total, done := len(schemes)+len(free)+1, 0
	tick := func() {
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}
	// 1. The start: the widest proposal within noise of the best.
	var starts []*autoStart
	var firstErr error
	for _, s := range schemes {
		c := cfg
		c.Scheme = s
		sq, err := quantize(cm, stats, c, nil)
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%s: %w", s.Name(), err))
			tick()
			continue
		}
		st := &autoStart{names: []string{s.Name()}, q: sq}
		for _, t := range free {
			st.width += sq.Frac[t.Name]
		}
		dup := false
		for _, o := range starts {
			if sameFormats(o.q, sq, free) {
				o.names, dup = append(o.names, s.Name()), true
				break
			}
		}
		if !dup {
			if st.sc, err = fit.score(sq); err != nil {
				return nil, err
			}
			starts = append(starts, st)
		}
		tick()
	}
	if len(starts) == 0 {
		return nil, firstErr
	}
	best := starts[0]
	for _, s := range starts {
		if s.sc.Loss < best.sc.Loss {
			best = s
		}
	}
	sort.SliceStable(starts, func(i, j int) bool { return starts[i].width < starts[j].width })
	start := best
	var seen []string
	for _, s := range starts {
		z := pairedZ(s.sc, best.sc)
		seen = append(seen, fmt.Sprintf("%s %.4g (z %+.1f)", strings.Join(s.names, " = "), s.sc.Loss, z))
		if start == best && z <= a.Confidence && s.width < best.width {
			start = s
		}
	}
	startName := strings.Join(start.names, " = ")
	logf("auto: start from %s; tuning loss of each proposal on %d patterns: %s", startName, fit.p.Len(), strings.Join(seen, ", "))
	// 2. Refinement on the tuning patterns, relative to the start.
	cfg.Scheme = fixedFormats{name: "auto", frac: start.q.Frac, bits: q.Bits, base: floorlessMSE{}}
	q, cur := start.q, start.sc
	delta := map[string]int{}
	tried := map[string][]string{}
	trials := 0
	for _, t := range free {
		if err := fit.advance(q, max(t.Layer, 0)); err != nil {
			return nil, err
		}
		f0 := q.Frac[t.Name]
		tried[t.Name] = []string{fmt.Sprintf("%s %.4g", QFormat(q.Bits, f0), cur.Loss)}
		bestSc, bestQ, bestD := cur, q, 0
		for _, dir := range []int{+1, -1} {
			for step := 1; step <= a.MaxSteps; step++ {
				trial := copyDelta(delta)
				trial[t.Name] += dir * step
				cand, err := quantize(cm, stats, cfg, trial)
				if err != nil || cand.Frac[t.Name] != f0+dir*step {
					break // a constraint stops the move here
				}
				trials++
				sc, err := fit.score(cand)
				if err != nil {
					return nil, err
				}
				tried[t.Name] = append(tried[t.Name], fmt.Sprintf("%s %.4g", QFormat(q.Bits, cand.Frac[t.Name]), sc.Loss))
				if sc.Loss >= bestSc.Loss*(1-1e-3) {
					break
				}
				bestSc, bestQ, bestD = sc, cand, dir*step
			}
			if bestD != 0 {
				break // improving one way: no need to look the other way
			}
		}
		if bestD != 0 {
			delta[t.Name] = bestD
			q, cur = bestQ, bestSc
		}
		tick()
		logf("auto: %s -> %s, tuning loss %.4g", t.Name, QFormat(q.Bits, q.Frac[t.Name]), cur.Loss)
	}
	// 3. Confirmation on patterns the refinement never saw.
	out := start.q
	var verdict string
	var check *probe
	if moved := movedNames(delta); len(moved) == 0 {
		verdict = "the refinement moved no format"
	} else if check, err = newProbe(cm, a.Probe.Tail(a.Probe.Len()-a.Fit).Head(a.Check)); err != nil {
		return nil, err
	} else {
		s0, err := check.score(start.q)
		if err != nil {
			return nil, err
		}
		s1, err := check.score(q)
		if err != nil {
			return nil, err
		}
		z := pairedZ(s1, s0)
		verdict = fmt.Sprintf("the refinement (%s) moved the confirmation loss on %d other patterns from %.4g to %.4g (z %+.1f)", strings.Join(moved, ", "), s0.N, s0.Loss, s1.Loss, z)
		if z < -a.Confidence {
			out = q
			verdict += ": confirmed, kept"
		} else {
			delta = nil
			verdict += fmt.Sprintf(": not beyond noise (|z| <= %.1f), the start is kept", a.Confidence)
		}
	}
	tick()
	logf("auto: %s", verdict)
	// The result, with the start scheme's and the refinement's reasons.
	if out, err = quantize(cm, stats, cfg, delta); err != nil {
		return nil, err
	}
	for _, t := range free {
		d := delta[t.Name]
		short := fmt.Sprintf("auto: the %s choice", startName)
		if r := reasonOf(start.q, t); r != "" && d == 0 {
			short += " (" + r + ")"
		}
		note := fmt.Sprintf("auto: %s, the %s choice", QFormat(q.Bits, out.Frac[t.Name]), startName)
		if d != 0 {
			short = fmt.Sprintf("auto: %+d bit(s) from the %s choice, confirmed on held-out data", d, startName)
			note = fmt.Sprintf("auto: %s, %+d bit(s) from the %s choice", QFormat(q.Bits, out.Frac[t.Name]), d, startName)
		}
		noteFor(out, t, fmt.Sprintf("%s; tuning loss on %d held-out calibration patterns: %s", note, fit.p.Len(), strings.Join(tried[t.Name], ", ")))
		setReason(out, t, short)
	}
	out.Notes = append(out.Notes,
		fmt.Sprintf("auto: start from the %s formats, the widest proposal within noise of the best (z <= %.1f); tuning loss of each on %d held-out patterns: %s", startName, a.Confidence, fit.p.Len(), strings.Join(seen, ", ")),
		fmt.Sprintf("auto: %d refinement trials; %s", trials, verdict))
	return out, nil
}

// movedNames lists the tensors a refinement moved, sorted.
func movedNames(delta map[string]int) []string {
	var out []string
	for k, d := range delta {
		if d != 0 {
			out = append(out, fmt.Sprintf("%s %+d", k, d))
		}
	}
	sort.Strings(out)
	return out
}

// reasonOf returns the reason recorded for tensor t's format.
// A pool's or an internal tensor's reason covers more than the format,
// so it is left out.
func reasonOf(q *QModel, t freeTensor) string {
	if t.Layer < 0 {
		return q.InputReason
	}
	if l := q.Layers[t.Layer]; t.Name == l.Name && l.Op != OpAvgPool2D && l.OutFrac == l.WantFrac {
		return l.Reason
	}
	return ""
}

// setReason records why a refinement chose tensor t's format, keeping a
// layer rule's own reason in front when the rule had its say (a
// constraint, the pool shift, a recurrent layer's fixed output).
func setReason(q *QModel, t freeTensor, r string) {
	if t.Layer < 0 {
		if q.InputFrac == q.Frac[t.Name] && !strings.HasPrefix(q.InputReason, "limited") {
			q.InputReason = r
		}
		return
	}
	l := q.Layers[t.Layer]
	switch {
	case t.Name != l.Name:
		l.Reason += "; " + strings.TrimPrefix(t.Name, l.Name+"/") + ": " + r
	case l.Op == OpAvgPool2D || l.OutFrac != l.WantFrac:
		l.Reason += " (" + r + ")"
	default:
		l.Reason = r
	}
}

// sameFormats reports whether a and b give every free tensor the same
// format.
func sameFormats(a, b *QModel, free []freeTensor) bool {
	for _, t := range free {
		if a.Frac[t.Name] != b.Frac[t.Name] {
			return false
		}
	}
	return true
}
