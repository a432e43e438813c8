package nnq

import "fmt"

// ToCMSIS returns the model with every parameter reordered from its
// framework layout into the order legacy CMSIS-NN kernels read (conv OHWI,
// depthwise [kh][kw][C], dense [out][in] with HWC flatten order) and the
// input shape given as [H,W,C]. The result remembers the framework layout in
// Source so that patterns can be converted with InputToCMSIS. A model that
// is already in CMSIS layout is returned as a copy.
func (m *Model) ToCMSIS() (*Model, error) {
	if m.Layout == CMSIS {
		return m.Clone(), nil
	}
	acts, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	c := m.Clone()
	c.Layout, c.Source = CMSIS, m.Layout
	in := acts[m.inputName()]
	c.InputShape = append([]int(nil), in.Shape...)
	if len(m.InputShape) == 1 {
		c.InputShape = []int{in.Shape[0]}
	}
	for i, l := range m.Layers {
		s := ops[l.Op]
		if s.toCMSIS == nil {
			continue
		}
		names := m.inputsOf(i)
		ins := make([]Act, len(names))
		for j, n := range names {
			ins[j] = acts[n]
		}
		if err := s.toCMSIS(m, c, l, ins); err != nil {
			return nil, fmt.Errorf("layer %q: reordering to CMSIS layout: %w", l.Name, err)
		}
	}
	c.Notes = append(c.Notes, fmt.Sprintf("reordered parameters from %s to CMSIS-NN layout", m.Layout))
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("after reordering to CMSIS layout: %w", err)
	}
	return c, nil
}

// patternLayout is the layout patterns for this model are stored in.
func (m *Model) patternLayout() Layout {
	if m.Layout == CMSIS && m.Source != "" {
		return m.Source
	}
	return m.Layout
}

// InputToCMSIS converts one input pattern stored in the model's pattern
// layout (the framework layout it came from) into HWC order, writing dst.
func (m *Model) InputToCMSIS(x, dst []float32) {
	if m.patternLayout() == NCHW && len(m.InputShape) == 3 {
		s := m.InputShape // CMSIS model: [H,W,C]
		if m.Layout == NCHW {
			s = []int{m.InputShape[1], m.InputShape[2], m.InputShape[0]}
		}
		toHWC(NCHW, s[0], s[1], s[2], x, dst)
		return
	}
	copy(dst, x)
}

// InputSize is the number of values in one input pattern.
func (m *Model) InputSize() int { return shapeSize(m.InputShape) }

// CheckPatterns reports whether p fits the model's input.
func (m *Model) CheckPatterns(p *Patterns) error {
	if err := p.Check(); err != nil {
		return err
	}
	if p.Size() != m.InputSize() {
		return fmt.Errorf("patterns of shape %v (%d values) do not fit model %q input %v (%d values)", p.Shape, p.Size(), m.Name, m.InputShape, m.InputSize())
	}
	if p.Layout != "" && p.Layout != m.patternLayout() && !(len(p.Shape) == 1) {
		return fmt.Errorf("patterns are in %s layout, model %q expects %s inputs", p.Layout, m.Name, m.patternLayout())
	}
	return m.checkLabels(p.Labels)
}

// checkLabels requires class indices of the model's output, or -1.
func (m *Model) checkLabels(labels []int32) error {
	acts, err := m.Shapes()
	if err != nil {
		return err
	}
	outputs := acts[m.Output()].Size()
	for i, l := range labels {
		if int(l) >= outputs {
			what := fmt.Sprintf("%d outputs", outputs)
			if len(m.Classes) > 0 {
				what += fmt.Sprintf(" (classes %s ... %s)", m.Classes[0], m.Classes[len(m.Classes)-1])
			}
			return fmt.Errorf("pattern %d has label %d, but model %q has %s: labels must be class indices 0..%d or -1", i, l, m.Name, what, outputs-1)
		}
	}
	return nil
}
