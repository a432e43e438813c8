package nnq

// Layer sensitivity: the accuracy of the network when only one layer runs
// in fixed point. The evaluation computes it from the float pass it already
// made for each pattern: the float activations feeding layer k are
// quantized to k's input formats, k runs its fixed kernel, its output is
// dequantized, and the float network finishes from there. Nothing is kept
// across patterns.

// DefaultSensitivityPatterns is how many test patterns (spread evenly over
// the set) the evaluation measures layer sensitivity on.
const DefaultSensitivityPatterns = 512

// sensitive reports whether a layer's own quantization is measured: every
// layer that computes, not the ones that are exact on their input's format
// (relu, max pool, flatten, reshape: their error is their producer's).
func sensitive(op Op) bool {
	switch op {
	case OpReLU, OpMaxPool2D, OpFlatten, OpReshape:
		return false
	}
	return true
}

// hybrid runs one layer in fixed point inside a float pass.
type hybrid struct {
	q    *QModel
	sim  *Sim    // without counters: the evaluation's own Sim keeps them
	tail *Runner // the float layers after the fixed one
	y    []float32
	w    []int16
}

func newHybrid(q *QModel) (*hybrid, error) {
	s, err := q.NewSim(false)
	if err != nil {
		return nil, err
	}
	t, err := q.Float.NewRunner()
	if err != nil {
		return nil, err
	}
	return &hybrid{q: q, sim: s, tail: t}, nil
}

// predict returns the class the network picks for the pattern base last
// ran when only layer k is quantized.
func (h *hybrid) predict(base *Runner, k int) (int, error) {
	l := h.q.Layers[k]
	for j, b := range h.sim.inIdx[k] {
		dst := h.sim.bufs[b]
		z := newQuantizer(l.InFrac[j], h.q.Bits)
		if dst.b16 != nil {
			for i, v := range base.bufs[b] {
				dst.b16[i] = z.value(v)
			}
		} else {
			for i, v := range base.bufs[b] {
				dst.b8[i] = int8(z.value(v))
			}
		}
	}
	if err := h.sim.runRange(k, k+1); err != nil {
		return 0, err
	}
	h.w = h.sim.bufs[k+1].widen(h.w)
	h.y = Dequantize(h.w, l.OutFrac, h.y)
	return Predict(h.tail.runTail(base, k, h.y)), nil
}

// runTail runs layers k+1.. of r's model and returns the output: tensors
// produced before layer k are read from base's last Run, layer k's output
// is yk.
func (r *Runner) runTail(base *Runner, k int, yk []float32) []float32 {
	if k == len(r.m.Layers)-1 {
		return yk
	}
	for i := k + 1; i < len(r.m.Layers); i++ {
		args := r.args[:len(r.inIdx[i])]
		for j, b := range r.inIdx[i] {
			switch {
			case b <= k:
				args[j] = base.bufs[b]
			case b == k+1:
				args[j] = yk
			default:
				args[j] = r.bufs[b]
			}
		}
		r.forward(i, args, r.bufs[i+1])
	}
	return r.bufs[len(r.bufs)-1]
}
