package nnq

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Auto is the default scheme. It chooses the activation formats by what
// they do to the network output on held-out calibration patterns (Probe),
// never by a per-tensor error alone:
//
//  1. Start: mse computed without constant blocks at the extremes of a
//     tensor (floorless, see FloorBlock: the MFCC floor of digital
//     silence must not widen the input format).
//  2. Refinement, on the first Fit probe patterns (the tuning patterns):
//     one free tensor at a time, in network order, the format moves one
//     bit at a time, finer (or, when that does not help, coarser), up to
//     MaxSteps bits, while the divergence of the fixed network's output
//     distribution from the float network's keeps falling by 0.1% or more.
//     Each trial re-simulates only from the layer it changes, from cached
//     integer activations.
//  3. Choice, on the other probe patterns (at most Check, the
//     confirmation patterns, never tuned on): the candidates are the
//     refined formats and the statistics schemes' own choices (minmax,
//     percentile 99.99 and 99.9, mse, floorless mse), scored by the
//     held-out loss (probeScore.Loss: the divergence from the float
//     network where it is right, the label's cross-entropy where it is
//     wrong). The candidate with the lowest loss wins if it beats minmax
//     beyond noise (see beats: a paired test at Confidence standard errors,
//     and at least one held-out decision better); otherwise minmax wins:
//     with nothing the calibration data showed saturating, it is the
//     choice that needs no evidence.
//
// A floor that saturates harmlessly is saturated, an outlier that matters
// is kept, and a gain the held-out data cannot tell from noise is not
// taken.
//
// Without probe patterns Auto uses the floorless mse choice alone (and says
// so in the model's notes).
type Auto struct {
	// Probe holds held-out calibration patterns (never test patterns).
	// Convert sets it from the calibration data.
	Probe *Patterns
	// Fit is how many probe patterns tune (default 256, at most half);
	// Check caps the rest, which choose (default 512).
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

// autoCandidate is one set of formats Auto's last step weighs.
type autoCandidate struct {
	names []string // the schemes (or "refined") that chose it
	q     *QModel
	sc    probeScore
}

func (a Auto) refine(q *QModel, cm *Model, stats *Stats, cfg QConfig) (*QModel, error) {
	if a.Probe == nil || a.Probe.Len() < 2 {
		q.Notes = append(q.Notes, "auto: fewer than 2 held-out calibration patterns were given, so the formats are the statistics' choice (floorless mse) without the output-error selection")
		return q, nil
	}
	a.Fit = min(cmp.Or(a.Fit, 256), a.Probe.Len()/2)
	a.Check = min(cmp.Or(a.Check, 512), a.Probe.Len()-a.Fit)
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
	total, done := len(free)+len(schemes)+1, 0
	tick := func() {
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}
	// 1. The start: floorless mse (q, quantized with Auto's Frac).
	start := q
	cfg.Scheme = fixedFormats{name: "auto", frac: start.Frac, bits: q.Bits, base: floorlessMSE{}}
	// 2. Refinement on the tuning patterns.
	cur, err := fit.score(q)
	if err != nil {
		return nil, err
	}
	delta := map[string]int{}
	tried := map[string][]string{}
	trials := 0
	for _, t := range free {
		if err := fit.advance(q, max(t.Layer, 0)); err != nil {
			return nil, err
		}
		f0 := q.Frac[t.Name]
		tried[t.Name] = []string{fmt.Sprintf("%s %.4g", QFormat(q.Bits, f0), cur.KL)}
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
				tried[t.Name] = append(tried[t.Name], fmt.Sprintf("%s %.4g", QFormat(q.Bits, cand.Frac[t.Name]), sc.KL))
				if sc.KL >= bestSc.KL*(1-1e-3) {
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
		logf("auto: %s -> %s, divergence on the tuning patterns %.4g", t.Name, QFormat(q.Bits, q.Frac[t.Name]), cur.KL)
	}
	// 3. The choice, on patterns the refinement never saw.
	check, err := newProbe(cm, a.Probe.Tail(a.Probe.Len()-a.Fit).Head(a.Check))
	if err != nil {
		return nil, err
	}
	refined := &autoCandidate{names: []string{"refined"}, q: q}
	if moved := movedNames(delta); len(moved) > 0 {
		refined.names[0] = "refined (" + strings.Join(moved, ", ") + ")"
	}
	cands := []*autoCandidate{refined}
	var firstErr error
	for _, s := range schemes {
		c := cfg
		c.Scheme = s
		sq, err := quantize(cm, stats, c, nil)
		tick()
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%s: %w", s.Name(), err))
			continue
		}
		dup := false
		for _, o := range cands {
			if sameFormats(o.q, sq, free) {
				o.names, dup = append(o.names, s.Name()), true
				break
			}
		}
		if !dup {
			cands = append(cands, &autoCandidate{names: []string{s.Name()}, q: sq})
		}
	}
	var widest *autoCandidate
	for _, c := range cands {
		if c.sc, err = check.score(c.q); err != nil {
			return nil, err
		}
		if slices.Contains(c.names, MinMax{}.Name()) {
			widest = c
		}
	}
	if widest == nil {
		return nil, fmt.Errorf("auto: the minmax formats break a layer constraint: %w", firstErr)
	}
	var chosen *autoCandidate
	var seen []string
	for _, c := range cands {
		ok, why := beats(c.sc, widest.sc, a.Confidence)
		if c == widest {
			why = "the widest"
		} else if ok {
			why = "beats minmax: " + why
		} else {
			why = "within noise of minmax: " + why
		}
		seen = append(seen, fmt.Sprintf("%s %.4g (%s)", strings.Join(c.names, " = "), c.sc.Loss, why))
		if ok && (chosen == nil || c.sc.Loss < chosen.sc.Loss) {
			chosen = c
		}
	}
	if chosen == nil {
		chosen = widest
	}
	tick()
	name := chosen.names[0]
	verdict := fmt.Sprintf("auto: chose %s; held-out loss on %d confirmation patterns: %s", strings.Join(chosen.names, " = "), check.p.Len(), strings.Join(seen, "; "))
	logf("%s", verdict)
	// The result, with the reasons of the scheme that chose it.
	var out *QModel
	if chosen == refined {
		if out, err = quantize(cm, stats, cfg, delta); err != nil {
			return nil, err
		}
	} else {
		out = chosen.q
		delta = nil
	}
	src := chosen.q
	if chosen == refined {
		src = start
	}
	for _, t := range free {
		short := "auto: the " + name + " choice"
		if r := reasonOf(src, t); r != "" {
			short = "auto: " + r
		}
		if d := delta[t.Name]; d != 0 {
			short = fmt.Sprintf("auto: %+d bit(s) from floorless mse, lower output divergence", d)
		}
		kept := ""
		if chosen != refined {
			kept = " (not chosen)"
		}
		noteFor(out, t, fmt.Sprintf("auto's refinement%s, divergence on %d tuning patterns: %s (start), %s", kept, fit.p.Len(), tried[t.Name][0], strings.Join(tried[t.Name][1:], ", ")))
		setReason(out, t, short)
	}
	out.Scheme = Auto{}.Name()
	out.Notes = append(out.Notes, fmt.Sprintf("auto: %d refinement trials on %d tuning patterns", trials, fit.p.Len()), verdict)
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
