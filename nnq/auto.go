package nnq

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Auto is the default scheme. It starts from the MSE choice computed
// without any constant block at an extreme of the tensor (floorless, see
// FloorBlock: the MFCC floor of digital silence must not widen the input
// format), then refines the formats one free tensor at a time, in network
// order: it moves the tensor's format one bit at a time, finer or coarser,
// and keeps a move while it lowers the divergence between the fixed and
// the float network's output distributions (mean KL of the softmax of the
// layer before the final softmax) on held-out calibration patterns
// (Probe). What counts is the error at the network output, not per-tensor
// MSE: a floor that saturates harmlessly is saturated, an outlier that
// matters is kept. Each trial re-simulates only from the layer it changes,
// from cached integer activations.
//
// Without probe patterns Auto uses its statistics choice alone (and says so
// in the model's notes).
type Auto struct {
	// Probe holds held-out calibration patterns (never test patterns).
	// Convert sets it from the calibration data.
	Probe *Patterns
	// MaxProbes caps the probe patterns used (default 256).
	MaxProbes int
	// MaxSteps bounds the moves of one format away from its start
	// (default 3).
	MaxSteps int
	// Log receives one line per decision.
	Log func(string)
}

// Name implements Scheme.
func (Auto) Name() string { return "auto" }

// Frac implements Scheme: the floorless MSE choice (the refinement's start).
func (Auto) Frac(s *TensorStats, bits int) int {
	if f, _ := FloorBlock(s); f != nil {
		return MSE{}.Frac(f, bits)
	}
	return MSE{}.Frac(s, bits)
}

// FloorBlock detects a constant block at an extreme of the tensor: at
// least 0.1% of the values (and 2) exactly equal to the minimum or the
// maximum, with every other value at most half as large in magnitude (the
// MFCC floor of digital silence, a padding constant). It returns the
// statistics without the block (the bulk; nil when there is no block) and
// a description.
func FloorBlock(s *TensorStats) (*TensorStats, string) {
	if s == nil || s.Count == 0 {
		return nil, ""
	}
	need := max(2, s.Count/1000)
	type side struct {
		v     float64
		count int64
	}
	for _, b := range []side{{s.Min, s.MinCount}, {s.Max, s.MaxCount}} {
		if b.v == 0 || b.count < need || b.count == s.Count {
			continue
		}
		r := *s
		r.Count -= b.count
		a := math.Abs(b.v)
		k := min(max(int(math.Floor(math.Log2(a)*FineSub))-(Pow2Lo-1)*FineSub, 0), nFine-1)
		r.Fine[k] = max(r.Fine[k]-b.count, 0)
		top := -1
		for i := nFine - 1; i >= 0; i-- {
			if r.Fine[i] > 0 {
				top = i
				break
			}
		}
		bulk := 0.0
		if top >= 0 {
			bulk = fineEdge(top)
		}
		if bulk > a/2 {
			continue // the block is not separated from the rest
		}
		if b.v < 0 {
			r.Min, r.MinCount = math.Max(-bulk, math.Min(s.Max, 0)), 0
		} else {
			r.Max, r.MaxCount = math.Min(bulk, math.Max(s.Min, 0)), 0
		}
		r.Min, r.Max = math.Max(r.Min, -bulk), math.Min(r.Max, bulk)
		return &r, fmt.Sprintf("a constant block of %.2f%% of the values at %.4g, with the rest within ±%.3g", 100*float64(b.count)/float64(s.Count), b.v, bulk)
	}
	return nil, ""
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

func (a Auto) refine(q *QModel, cm *Model, stats *Stats, cfg QConfig) (*QModel, error) {
	if a.Probe == nil || a.Probe.Len() == 0 {
		q.Notes = append(q.Notes, "auto: no held-out calibration patterns were given, so the formats are the statistics' choice (floorless mse) without the output-error refinement")
		return q, nil
	}
	if a.MaxProbes == 0 {
		a.MaxProbes = 256
	}
	if a.MaxSteps == 0 {
		a.MaxSteps = 3
	}
	logf := func(format string, args ...any) {
		if a.Log != nil {
			a.Log(fmt.Sprintf(format, args...))
		}
	}
	pr, err := newProbe(cm, a.Probe.Head(a.MaxProbes))
	if err != nil {
		return nil, err
	}
	cur, err := pr.score(q)
	if err != nil {
		return nil, err
	}
	start := cur
	free := freeTensors(cm, q, cfg)
	delta := map[string]int{}
	why := map[string]string{}
	trials, done := 0, 0
	for _, t := range free {
		if err := pr.advance(q, max(t.Layer, 0)); err != nil {
			return nil, err
		}
		f0 := q.Frac[t.Name]
		tried := []string{fmt.Sprintf("%s %.4g", QFormat(q.Bits, f0), cur.KL)}
		best, bestQ, bestD := cur, q, 0
		for _, dir := range []int{+1, -1} {
			for step := 1; step <= a.MaxSteps; step++ {
				trial := copyDelta(delta)
				trial[t.Name] += dir * step
				cand, err := quantize(cm, stats, cfg, trial)
				if err != nil || cand.Frac[t.Name] == bestQ.Frac[t.Name] || cand.Frac[t.Name] != f0+dir*step {
					break // a constraint stops the move here
				}
				trials++
				sc, err := pr.score(cand)
				if err != nil {
					return nil, err
				}
				tried = append(tried, fmt.Sprintf("%s %.4g", QFormat(q.Bits, cand.Frac[t.Name]), sc.KL))
				if sc.KL >= best.KL*(1-1e-3) {
					break
				}
				best, bestQ, bestD = sc, cand, dir*step
			}
			if bestD != 0 {
				break // improving one way: no need to look the other way
			}
		}
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, len(free))
		}
		verdict := "kept"
		if bestD != 0 {
			delta[t.Name] += bestD
			q, cur = bestQ, best
			verdict = fmt.Sprintf("moved %+d bit(s) from the statistics' choice", bestD)
		}
		why[t.Name] = fmt.Sprintf("auto: %s %s: output divergence (KL) on %d held-out calibration patterns: %s", QFormat(q.Bits, q.Frac[t.Name]), verdict, pr.p.Len(), strings.Join(tried, ", "))
		logf("auto: %s -> %s (%s), KL %.4g", t.Name, QFormat(q.Bits, q.Frac[t.Name]), verdict, cur.KL)
	}
	out, err := quantize(cm, stats, cfg, delta)
	if err != nil {
		return nil, err
	}
	for _, t := range free {
		noteFor(out, t, why[t.Name])
	}
	moved := 0
	names := make([]string, 0, len(delta))
	for k, d := range delta {
		if d != 0 {
			moved++
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out.Notes = append(out.Notes, fmt.Sprintf("auto: %d of %d formats moved from the statistics' choice (%s) after %d trials; held-out output KL %.4g -> %.4g, agreement with float %.2f%% -> %.2f%% on %d calibration patterns not used for statistics",
		moved, len(free), strings.Join(names, ", "), trials, start.KL, cur.KL, 100*(1-float64(start.Disagree)/float64(start.N)), 100*(1-float64(cur.Disagree)/float64(cur.N)), cur.N))
	return out, nil
}
