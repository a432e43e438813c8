package nnq

import (
	"fmt"
	"math"
	"sort"
)

// Search is the accuracy-driven scheme: it starts from the formats Base
// chooses, then, one free format at a time (the network input unless it is
// fixed, the outputs of conv, dense, add and mul layers, and the gate and
// cell formats of recurrent layers), tries moving it by ±1..MaxDelta
// fractional bits, keeps the move that raises accuracy on
// the validation patterns the most, and repeats until a round improves
// nothing (or MaxRounds rounds ran). Every step is logged.
type Search struct {
	Base Scheme
	// Val holds the validation patterns (required). The CLI uses the "val"
	// split of the calibration file.
	Val *Patterns
	// MaxDelta bounds the move of one format (default 3 bits).
	MaxDelta int
	// MaxRounds bounds the number of rounds (default 4).
	MaxRounds int
	// Log receives one line per step.
	Log func(string)
}

// Name implements Scheme.
func (s Search) Name() string {
	if s.Base == nil {
		return "search"
	}
	return "search:" + s.Base.Name()
}

// Frac implements Scheme with the base scheme (the search's start).
func (s Search) Frac(t *TensorStats, bits int) int {
	if s.Base == nil {
		return MSE{}.Frac(t, bits)
	}
	return s.Base.Frac(t, bits)
}

// SearchStep is one accepted move of the search.
type SearchStep struct {
	Tensor   string
	Delta    int
	Accuracy float64
}

func (s Search) refine(q *QModel, cm *Model, stats *Stats, cfg QConfig) (*QModel, error) {
	if s.Val == nil || s.Val.Len() == 0 {
		return nil, fmt.Errorf("scheme %s needs validation patterns (Search.Val; the CLI takes the \"val\" split)", s.Name())
	}
	if s.MaxDelta == 0 {
		s.MaxDelta = 3
	}
	if s.MaxRounds == 0 {
		s.MaxRounds = 4
	}
	logf := func(format string, a ...any) {
		if s.Log != nil {
			s.Log(fmt.Sprintf(format, a...))
		}
	}
	var free []string
	if cfg.InputFrac == nil {
		free = append(free, cm.inputName())
	}
	for _, l := range q.Layers {
		switch l.Op {
		case OpConv2D, OpDepthwiseConv2D, OpDense, OpAdd, OpMul, OpAvgPool2D:
			free = append(free, l.Name)
		case OpGRU:
			free = append(free, l.Name+"/gates")
		case OpLSTM:
			free = append(free, l.Name+"/gates", l.Name+"/c")
		}
	}
	best, err := q.Accuracy(s.Val, nil)
	if err != nil {
		return nil, err
	}
	logf("search: start from %s, validation accuracy %.4f on %d patterns, %d free formats", s.Search().Name(), best.Fixed, s.Val.Len(), len(free))
	n := int64(s.Val.Len())
	bestErrs := n - int64(math.Round(best.Fixed*float64(n)))
	delta := map[string]int{}
	evals, total := 0, s.MaxRounds*len(free)*2*s.MaxDelta
	for round := 1; round <= s.MaxRounds; round++ {
		improved := false
		for _, t := range free {
			bestD, roundBest := 0, bestErrs
			for _, d := range deltas(s.MaxDelta) {
				trial := copyDelta(delta)
				trial[t] += d
				cand, err := quantize(cm, stats, cfg, trial)
				evals++
				if cfg.Progress != nil {
					cfg.Progress(evals, total)
				}
				if err != nil {
					continue // this move breaks a constraint
				}
				// A trial is abandoned as soon as it has made as many errors
				// as the best so far: it cannot win any more.
				errs, err := cand.errorsUpTo(s.Val, roundBest)
				if err != nil {
					return nil, err
				}
				if errs < roundBest {
					bestD, roundBest = d, errs
				}
			}
			if bestD != 0 {
				delta[t] += bestD
				bestErrs = roundBest
				best.Fixed = float64(n-bestErrs) / float64(n)
				improved = true
				logf("search: round %d: %s %+d bits -> validation accuracy %.4f", round, t, bestD, best.Fixed)
			}
		}
		if !improved {
			logf("search: round %d improved nothing; stop", round)
			break
		}
	}
	out, err := quantize(cm, stats, cfg, delta)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(delta))
	for k := range delta {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if delta[k] != 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("search moved %s by %+d fractional bits from %s", k, delta[k], s.Search().Name()))
		}
	}
	out.Notes = append(out.Notes, fmt.Sprintf("search: final validation accuracy %.4f after %d trial quantizations", best.Fixed, evals))
	return out, nil
}

// Search returns the base scheme (for naming).
func (s Search) Search() Scheme {
	if s.Base == nil {
		return MSE{}
	}
	return s.Base
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
