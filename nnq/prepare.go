package nnq

import "fmt"

// Prepare rewrites a checked framework model into the form nnq converts:
// dropout and identity layers are removed, a fused activation becomes its
// own relu layer (CMSIS-NN runs it as arm_relu in place), and every
// batchnorm is folded into the conv, depthwise conv or dense layer before it
// (or, alone on a feature map, becomes a 1x1 depthwise convolution). Each
// rewrite is recorded in Notes. The receiver is not modified.
func (m *Model) Prepare() (*Model, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	p := m.Clone()
	// Make every input explicit so layers can be removed and inserted.
	for i, l := range p.Layers {
		l.Inputs = append([]string(nil), p.inputsOf(i)...)
	}
	var layers []*Layer
	for _, l := range p.Layers {
		switch l.Op {
		case OpDropout, OpIdentity:
			p.rename(l.Name, l.Inputs[0])
			p.Notes = append(p.Notes, fmt.Sprintf("removed %s layer %q (no effect at inference)", l.Op, l.Name))
			continue
		}
		layers = append(layers, l)
		if l.Attrs.Activation != "" {
			act := &Layer{Name: l.Name + ".relu", Op: OpReLU}
			p.rename(l.Name, act.Name) // every reader of l now reads the relu
			act.Inputs = []string{l.Name}
			l.Attrs.Activation = ""
			layers = append(layers, act)
			p.Notes = append(p.Notes, fmt.Sprintf("split the fused relu of %q into layer %q", l.Name, act.Name))
		}
	}
	p.Layers = layers
	if err := p.Check(); err != nil {
		return nil, err
	}
	if err := p.foldBatchNorms(); err != nil {
		return nil, err
	}
	p.compactInputs()
	if err := p.Check(); err != nil {
		return nil, err
	}
	return p, nil
}

// rename makes every layer that reads tensor old read tensor new instead.
func (m *Model) rename(old, new string) {
	for _, l := range m.Layers {
		for j, in := range l.Inputs {
			if in == old {
				l.Inputs[j] = new
			}
		}
	}
}

func (m *Model) readers(name string) []*Layer {
	var out []*Layer
	for _, l := range m.Layers {
		for _, in := range l.Inputs {
			if in == name {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func (m *Model) foldBatchNorms() error {
	var layers []*Layer
	for _, l := range m.Layers {
		if l.Op != OpBatchNorm {
			layers = append(layers, l)
			continue
		}
		prev := m.Layer(l.Inputs[0])
		foldable := prev != nil && (prev.Op == OpConv2D || prev.Op == OpDepthwiseConv2D || prev.Op == OpDense) &&
			len(m.readers(prev.Name)) == 1 && prev.Attrs.Activation == ""
		scale, shift := bnScaleShift(m, l)
		if foldable {
			m.foldInto(prev, scale, shift)
			m.rename(l.Name, prev.Name)
			m.Notes = append(m.Notes, fmt.Sprintf("folded batchnorm %q into %s %q", l.Name, prev.Op, prev.Name))
		} else {
			acts, err := m.Shapes()
			if err != nil {
				return err
			}
			in := acts[l.Inputs[0]]
			if !in.Spatial() {
				return fmt.Errorf("layer %q: batchnorm on a vector that does not follow a dense layer cannot be folded; CMSIS-NN has no batchnorm (put it after a dense layer, or fold it offline)", l.Name)
			}
			C := in.Shape[2]
			w := &Tensor{Name: l.Name + ".weight", Data: make([]float32, C)}
			b := &Tensor{Name: l.Name + ".bias", Shape: []int{C}, Data: make([]float32, C)}
			switch m.Layout {
			case NCHW:
				w.Shape = []int{C, 1, 1, 1}
			case NHWC:
				w.Shape = []int{1, 1, C, 1}
			default:
				w.Shape = []int{1, 1, C}
			}
			for c := 0; c < C; c++ {
				w.Data[c], b.Data[c] = float32(scale[c]), float32(shift[c])
			}
			m.Tensors[w.Name], m.Tensors[b.Name] = w, b
			nl := &Layer{Name: l.Name, Op: OpDepthwiseConv2D, Inputs: l.Inputs, Attrs: Attrs{Kernel: []int{1, 1}},
				Params: map[string]string{"weight": w.Name, "bias": b.Name}}
			layers = append(layers, nl)
			m.Notes = append(m.Notes, fmt.Sprintf("batchnorm %q follows no conv/dense layer: turned into a 1x1 depthwise convolution", l.Name))
		}
		for _, role := range []string{"gamma", "beta", "mean", "var"} {
			if !m.tensorUsedElsewhere(l, l.Params[role]) {
				delete(m.Tensors, l.Params[role])
			}
		}
	}
	m.Layers = layers
	return nil
}

func (m *Model) tensorUsedElsewhere(skip *Layer, name string) bool {
	for _, l := range m.Layers {
		if l == skip {
			continue
		}
		for _, t := range l.Params {
			if t == name {
				return true
			}
		}
	}
	return false
}

// foldInto scales l's weights per output channel and sets its bias to
// bias*scale + shift.
func (m *Model) foldInto(l *Layer, scale, shift []float64) {
	w := m.Param(l, "weight").Clone()
	var axis int
	switch {
	case l.Op == OpConv2D && m.Layout == NHWC:
		axis = 3
	case l.Op == OpDepthwiseConv2D && m.Layout == NHWC:
		axis = 2
	case l.Op == OpDepthwiseConv2D && m.Layout == CMSIS:
		axis = 2
	case l.Op == OpDense && m.Layout == NHWC:
		axis = 1
	}
	scaleAxis(w.Data, w.Shape, axis, scale)
	m.Tensors[w.Name] = w
	n := len(scale)
	b := &Tensor{Shape: []int{n}, Data: make([]float32, n)}
	if old := m.Param(l, "bias"); old != nil {
		b.Name = old.Name
		copy(b.Data, old.Data)
	} else {
		b.Name = l.Name + ".bias"
	}
	for c := range b.Data {
		b.Data[c] = float32(float64(b.Data[c])*scale[c] + shift[c])
	}
	m.Tensors[b.Name] = b
	if l.Params == nil {
		l.Params = map[string]string{}
	}
	l.Params["bias"] = b.Name
}

// compactInputs drops input lists that say what the default already says.
func (m *Model) compactInputs() {
	for i, l := range m.Layers {
		want := m.inputName()
		if i > 0 {
			want = m.Layers[i-1].Name
		}
		if len(l.Inputs) == 1 && l.Inputs[0] == want {
			l.Inputs = nil
		}
	}
}
