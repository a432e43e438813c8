package nnq

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Search is the accuracy-driven scheme. It starts from the formats Base
// chooses (default Auto; an Auto without probe patterns gets the Fit
// patterns; Convert gives it the same held-out patterns as the default
// scheme, so the search starts exactly where a default conversion ends).
// Then, round after round, it tries moving each free format (see Auto) by
// ±1..MaxDelta fractional bits and takes the move that most lowers the
// errors on the Fit patterns (ties: the held-out loss). After every round
// it measures the Val patterns, which no move was chosen on. A round
// replaces the best so far only when validation confirms it beyond noise:
// fewer errors by McNemar's test at Confidence (without a significantly
// worse loss), or a loss lower by more than Confidence standard errors
// (without more errors). The search stops when Patience rounds in a row
// bring no confirmed gain or nothing improves on Fit, and returns the best
// confirmed round (the start included): validation can only confirm a
// move, never be fitted, and a move it cannot tell from noise is not
// taken. Both Fit and Val must be calibration patterns, never test
// patterns. Each trial re-simulates only from the layer it changes. Every
// step is logged.
type Search struct {
	Base Scheme
	// Fit holds the patterns moves are chosen on; Val the patterns that
	// decide when to stop and which round to keep. Both are required.
	Fit, Val *Patterns
	// MaxDelta bounds the move of one format in one trial (default 1).
	MaxDelta int
	// MaxRounds bounds the number of rounds (default 4).
	MaxRounds int
	// Patience is how many rounds without a validation gain are tolerated
	// (default 1).
	Patience int
	// Confidence is the z statistic a validation gain must reach
	// (default 2).
	Confidence float64
	// Log receives one line per step.
	Log func(string)
}

// Name implements Scheme.
func (s Search) Name() string { return "search:" + s.base().Name() }

func (s Search) base() Scheme {
	if s.Base == nil {
		return Auto{}
	}
	return s.Base
}

// Frac implements Scheme with the base scheme (the search's start).
func (s Search) Frac(t *TensorStats, bits int) int { return s.base().Frac(t, bits) }

// SearchRound is one round of the search: the accepted move and the
// accuracies after it.
type SearchRound struct {
	Tensor   string
	Delta    int
	Fit, Val float64
	// FitLoss and ValLoss are the held-out losses (probeScore.Loss).
	FitLoss, ValLoss float64
	Trials           int
	ValImproved      bool
	LayersRerun      int64
	PatternsSimed    int64
}

func (s Search) refine(q *QModel, cm *Model, stats *Stats, cfg QConfig) (*QModel, error) {
	if s.Fit == nil || s.Fit.Len() == 0 || s.Val == nil || s.Val.Len() == 0 {
		return nil, fmt.Errorf("scheme %s needs fit and validation patterns from the calibration data (Search.Fit, Search.Val)", s.Name())
	}
	if s.MaxDelta == 0 {
		s.MaxDelta = 1
	}
	if s.MaxRounds == 0 {
		s.MaxRounds = 4
	}
	if s.Patience == 0 {
		s.Patience = 1
	}
	if s.Confidence == 0 {
		s.Confidence = 2
	}
	logf := func(format string, a ...any) {
		if s.Log != nil {
			s.Log(fmt.Sprintf(format, a...))
		}
	}
	base := s.base()
	bcfg := cfg
	bcfg.Scheme = base
	bcfg.Progress = nil
	if a, ok := base.(Auto); ok {
		if a.Probe == nil {
			a.Probe = s.Fit
		}
		if a.Log == nil {
			a.Log = s.Log
		}
		bcfg.Scheme = a
	}
	if r, ok := bcfg.Scheme.(refiner); ok {
		var err error
		if q, err = r.refine(q, cm, stats, bcfg); err != nil {
			return nil, err
		}
	}
	baseQ, baseNotes := q, q.Notes
	// The search moves formats relative to the base's result.
	startFrac := q.Frac
	cfg.Scheme = fixedFormats{name: base.Name(), frac: startFrac, bits: q.Bits, base: base}
	fit, err := newProbe(cm, s.Fit)
	if err != nil {
		return nil, err
	}
	val, err := newProbe(cm, s.Val)
	if err != nil {
		return nil, err
	}
	free := freeTensors(cm, q, cfg)
	cur, err := quantize(cm, stats, cfg, nil)
	if err != nil {
		return nil, err
	}
	fitSc, err := fit.score(cur)
	if err != nil {
		return nil, err
	}
	valSc, err := val.score(cur)
	if err != nil {
		return nil, err
	}
	logf("search: start from %s: fit accuracy %.4f (%d patterns), validation %.4f (%d patterns), %d free formats",
		base.Name(), fitSc.Accuracy(), fitSc.N, valSc.Accuracy(), valSc.N, len(free))
	delta := map[string]int{}
	bestDelta, bestVal, bestFit, bestRound := map[string]int{}, valSc, fitSc, 0
	var rounds []SearchRound
	evals, total := 0, s.MaxRounds*len(free)*2*s.MaxDelta
	stale := 0
	for round := 1; round <= s.MaxRounds; round++ {
		fit.at, fit.live, fit.liveIdx = 0, nil, nil
		var pick freeTensor
		pickD, pickSc, pickQ := 0, fitSc, cur
		trials := 0
		for _, t := range free {
			if err := fit.advance(cur, max(t.Layer, 0)); err != nil {
				return nil, err
			}
			for _, d := range deltas(s.MaxDelta) {
				trial := copyDelta(delta)
				trial[t.Name] += d
				evals++
				if cfg.Progress != nil {
					cfg.Progress(min(evals, total), total)
				}
				cand, err := quantize(cm, stats, cfg, trial)
				if err != nil || cand.Frac[t.Name] == cur.Frac[t.Name] {
					continue // this move breaks a constraint or changes nothing
				}
				trials++
				sc, err := fit.score(cand)
				if err != nil {
					return nil, err
				}
				if sc.Errors < pickSc.Errors || sc.Errors == pickSc.Errors && sc.Loss < pickSc.Loss*(1-1e-3) {
					pick, pickD, pickSc, pickQ = t, d, sc, cand
				}
			}
		}
		if pickD == 0 {
			logf("search: round %d: no move improves the fit patterns; stop", round)
			break
		}
		delta[pick.Name] += pickD
		cur, fitSc = pickQ, pickSc
		val.at, val.live, val.liveIdx = 0, nil, nil
		if valSc, err = val.score(cur); err != nil {
			return nil, err
		}
		r := SearchRound{Tensor: pick.Name, Delta: pickD, Fit: fitSc.Accuracy(), Val: valSc.Accuracy(), FitLoss: fitSc.Loss, ValLoss: valSc.Loss, Trials: trials,
			LayersRerun: fit.Layers, PatternsSimed: fit.Sims}
		if confirmed(valSc, bestVal, s.Confidence) {
			bestDelta, bestVal, bestFit, bestRound = copyDelta(delta), valSc, fitSc, round
			r.ValImproved = true
			stale = 0
		} else {
			stale++
		}
		rounds = append(rounds, r)
		logf("search: round %d: %s %+d bits -> fit accuracy %.4f, validation %.4f (%d trials)", round, pick.Name, pickD, r.Fit, r.Val, trials)
		if stale >= s.Patience {
			logf("search: validation has not improved for %d round(s); stop", stale)
			break
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(total, total)
	}
	out, err := quantize(cm, stats, cfg, bestDelta)
	if err != nil {
		return nil, err
	}
	out.Scheme = s.Name()
	out.Notes = append(append([]string(nil), baseNotes...), out.Notes...)
	// Layers the search left alone keep the base's notes and reasons.
	out.InputReason = baseQ.InputReason
	for i, l := range out.Layers {
		if b := baseQ.Layers[i]; l.OutFrac == b.OutFrac && slices.Equal(l.InFrac, b.InFrac) {
			l.Notes, l.Reason = b.Notes, b.Reason
		}
	}
	names := make([]string, 0, len(bestDelta))
	for k := range bestDelta {
		names = append(names, k)
	}
	sort.Strings(names)
	var moved []string
	for _, k := range names {
		if d := bestDelta[k]; d != 0 {
			moved = append(moved, fmt.Sprintf("%s %+d", k, d))
			for _, t := range free {
				if t.Name == k {
					noteFor(out, t, fmt.Sprintf("search moved this format %+d fractional bits from %s (kept for its validation accuracy)", d, base.Name()))
					setReason(out, t, fmt.Sprintf("search: %+d bit(s) from %s, confirmed on validation patterns", d, base.Name()))
				}
			}
		}
	}
	if len(moved) == 0 {
		moved = []string{"no move"}
	}
	out.Notes = append(out.Notes, fmt.Sprintf("search: kept round %d of %d (%s): validation accuracy %.4f on %d patterns, fit %.4f on %d; %d trial quantizations",
		bestRound, len(rounds), strings.Join(moved, ", "), bestVal.Accuracy(), bestVal.N, bestFit.Accuracy(), bestFit.N, evals))
	out.Search = rounds
	return out, nil
}

// confirmed reports whether a beats b beyond noise on the same patterns:
// fewer errors by McNemar's test without a significantly worse loss, or
// better by beats without more errors.
func confirmed(a, b probeScore, z float64) bool {
	ok, _ := beats(a, b, z)
	return mcNemarZ(a, b) >= z && pairedZ(a.PerLoss, b.PerLoss) < z || ok && a.Errors <= b.Errors
}

// fixedFormats is a scheme that returns given formats (the search's start)
// for the tensors it knows and the base scheme's choice otherwise.
type fixedFormats struct {
	name string
	frac map[string]int
	bits int
	base Scheme
}

func (f fixedFormats) Name() string { return f.name }

func (f fixedFormats) Frac(s *TensorStats, bits int) int {
	if v, ok := f.frac[s.Name]; ok && bits == f.bits {
		return v
	}
	return f.base.Frac(s, bits)
}

func deltas(n int) []int {
	var out []int
	for d := 1; d <= n; d++ {
		out = append(out, d, -d)
	}
	return out
}

func copyDelta(m map[string]int) map[string]int {
	out := make(map[string]int, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
