package nnq

import "fmt"

// Runner runs the float network on one pattern at a time, reusing its
// buffers. A Runner is not safe for concurrent use; make one per goroutine.
type Runner struct {
	m      *Model
	ref    bool
	acts   []Act // per layer output
	inIdx  [][]int
	inActs [][]Act
	bufs   [][]float32 // [0] is the input, [i+1] layer i's output
	args   [][]float32
	// prepared holds, per layer, the packed parameters of ops with a
	// prepare step, made at the layer's first run: a Runner sees the
	// parameters as they were then.
	prepared []preparedLayer
	// rec, when set, receives the internal tensors of layers whose op
	// traces them (opSpec.trace), e.g. for calibration.
	rec func(name string, v []float32)
}

// NewRunner prepares a float pass over a CMSIS-layout model (the "float
// version of CMSIS-NN").
func (m *Model) NewRunner() (*Runner, error) {
	if m.Layout != CMSIS {
		return nil, fmt.Errorf("model %q is in %s layout: convert it with ToCMSIS before running CMSIS float kernels", m.Name, m.Layout)
	}
	return m.newRunner(false)
}

// newReferenceRunner prepares the naive framework-layout pass used only to
// check the layout conversion.
func (m *Model) newReferenceRunner() (*Runner, error) {
	if m.Layout == CMSIS {
		return nil, fmt.Errorf("model %q: the reference pass runs on the framework layout", m.Name)
	}
	return m.newRunner(true)
}

func (m *Model) newRunner(ref bool) (*Runner, error) {
	acts, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	r := &Runner{m: m, ref: ref}
	index := map[string]int{m.inputName(): 0}
	r.bufs = append(r.bufs, make([]float32, m.InputSize()))
	for i, l := range m.Layers {
		names := m.inputsOf(i)
		idx := make([]int, len(names))
		ins := make([]Act, len(names))
		for j, n := range names {
			idx[j], ins[j] = index[n], acts[n]
		}
		r.inIdx = append(r.inIdx, idx)
		r.inActs = append(r.inActs, ins)
		r.acts = append(r.acts, acts[l.Name])
		r.bufs = append(r.bufs, make([]float32, acts[l.Name].Size()))
		index[l.Name] = i + 1
	}
	r.args = make([][]float32, 2)
	r.prepared = make([]preparedLayer, len(m.Layers))
	return r, nil
}

// Run computes the network on one pattern x (in the model's pattern layout:
// the framework layout the model came from) and returns the output (a view
// into the runner's buffers, valid until the next Run).
func (r *Runner) Run(x []float32) []float32 {
	if r.ref {
		copy(r.bufs[0], x)
	} else {
		r.m.InputToCMSIS(x, r.bufs[0])
	}
	for i, l := range r.m.Layers {
		s := ops[l.Op]
		args := r.args[:len(r.inIdx[i])]
		for j, k := range r.inIdx[i] {
			args[j] = r.bufs[k]
		}
		switch {
		case r.ref:
			s.reference(r.m, l, r.inActs[i], args, r.acts[i], r.bufs[i+1])
		case r.rec != nil && s.trace != nil:
			s.trace(r.m, l, r.inActs[i], args, r.acts[i], r.bufs[i+1], r.rec)
		default:
			r.forward(i, args, r.bufs[i+1])
		}
	}
	return r.bufs[len(r.bufs)-1]
}

// preparedLayer is a layer's float pass with its parameters packed
// (kernels.ConvFloat).
type preparedLayer interface{ Run(in, out []float32) }

// forward runs layer i's float pass (CMSIS layout) on args into y, through
// its prepared kernel when the op has one.
func (r *Runner) forward(i int, args [][]float32, y []float32) {
	l := r.m.Layers[i]
	s := ops[l.Op]
	if s.prepare == nil {
		s.forward(r.m, l, r.inActs[i], args, r.acts[i], y)
		return
	}
	p := r.prepared[i]
	if p == nil {
		p = s.prepare(r.m, l, r.inActs[i])
		r.prepared[i] = p
	}
	p.Run(args[0], y)
	applyFused(l, y)
}

// Output returns layer i's output from the last Run (a view). Index -1 is
// the (converted) network input.
func (r *Runner) Output(i int) []float32 { return r.bufs[i+1] }

// Act returns the activation description of layer i's output.
func (r *Runner) Act(i int) Act { return r.acts[i] }

// Predict returns the index of the largest output.
func Predict(out []float32) int {
	best := 0
	for i, v := range out {
		if v > out[best] {
			best = i
		}
	}
	return best
}

// Accuracy runs the float network on every pattern and returns the fraction
// whose arg-max equals the label.
func (m *Model) Accuracy(p *Patterns) (float64, error) {
	if err := m.CheckPatterns(p); err != nil {
		return 0, err
	}
	if p.Len() == 0 {
		return 0, fmt.Errorf("no patterns to evaluate model %q on", m.Name)
	}
	var correct int64
	err := parallel(p.Len(), func() (func(i int), error) {
		r, err := m.NewRunner()
		if err != nil {
			return nil, err
		}
		return func(i int) {
			if Predict(r.Run(p.Input(i))) == p.Label(i) {
				atomicAdd(&correct, 1)
			}
		}, nil
	})
	return float64(correct) / float64(p.Len()), err
}
