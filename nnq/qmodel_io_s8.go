package nnq

import (
	"fmt"
	"math"
)

// loadQModelAffine is LoadQModel for s8/s16 networks: it checks every
// layer's parameters against the float graph and re-derives the C
// functions (which must be the ones saved).
func loadQModelAffine(path string, j *jsonQModel, m *Model) (*QModel, error) {
	if j.Bits != j.Format.Bits() {
		return nil, fmt.Errorf("%s: format %s with %d-bit words", path, j.Format, j.Bits)
	}
	if j.Truncate {
		return nil, fmt.Errorf("%s: an %s model cannot be truncating", path, j.Format)
	}
	tp, err := TargetPath(j.Target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rounding, err := ParseAffineRounding(string(j.AffineRounding))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	acts, _ := m.Shapes()
	q := &QModel{Name: j.Name, Float: m, Bits: j.Bits, Format: j.Format, Scheme: j.Scheme, Target: j.Target, Path: tp, AffineRounding: rounding, InputName: m.inputName(),
		Notes: j.Notes, Frac: map[string]int{}, Affine: map[string]Affine{}}
	in, ok := j.Affine[q.InputName]
	if !ok || checkAffine(in, j.Bits) != nil {
		return nil, fmt.Errorf("%s: the input %q has no valid affine format", path, q.InputName)
	}
	q.Affine[q.InputName] = in
	var saved []string
	for i, jl := range j.Layers {
		fl := m.Layers[i]
		if jl.Name != fl.Name || jl.Op != fl.Op {
			return nil, fmt.Errorf("%s: quantized layer %d is %q (%s), the float graph has %q (%s)", path, i, jl.Name, jl.Op, fl.Name, fl.Op)
		}
		l := &QLayer{Name: jl.Name, Op: jl.Op, Inputs: m.inputsOf(i), Out: acts[jl.Name], S8: jl.S8, Notes: jl.Notes}
		for _, n := range l.Inputs {
			l.In = append(l.In, acts[n])
		}
		if err := checkS8Layer(q, fl, l); err != nil {
			return nil, fmt.Errorf("%s: layer %q: %w", path, l.Name, err)
		}
		q.Affine[l.Name] = l.S8.Out
		saved = append(saved, l.S8.Function)
		q.Layers = append(q.Layers, l)
	}
	if err := q.chooseS8(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, l := range q.Layers {
		if l.S8.Function != saved[i] {
			return nil, fmt.Errorf("%s: layer %q names function %q, its parameters give %q", path, l.Name, saved[i], l.S8.Function)
		}
	}
	return q, nil
}

func checkAffine(a Affine, bits int) error {
	lo, hi := qRange(bits)
	if !(a.Scale > 0) || math.IsInf(a.Scale, 0) || a.Zero < lo || a.Zero > hi || (bits == 16 && a.Zero != 0) {
		return fmt.Errorf("affine format %v is not valid for %d-bit words", a, bits)
	}
	return nil
}

// checkS8Layer checks an s8/s16 layer's parameters against its float layer
// and the formats of the tensors it reads.
func checkS8Layer(q *QModel, fl *Layer, l *QLayer) error {
	s := l.S8
	if s == nil {
		return fmt.Errorf("no %s parameters", q.Format)
	}
	if len(s.In) != len(l.Inputs) {
		return fmt.Errorf("%d input formats for %d inputs", len(s.In), len(l.Inputs))
	}
	for k, a := range s.In {
		if want, ok := q.Affine[l.Inputs[k]]; !ok || want != a {
			return fmt.Errorf("input %d format %v differs from %q's %v", k, a, l.Inputs[k], want)
		}
	}
	if err := checkAffine(s.Out, q.Bits); err != nil {
		return err
	}
	lo, hi := qRange(q.Bits)
	if s.ActMin < lo || s.ActMax > hi || s.ActMin > s.ActMax {
		return fmt.Errorf("clamp [%d, %d] outside the word range", s.ActMin, s.ActMax)
	}
	s16 := q.Bits == 16
	switch l.Op {
	case OpConv2D, OpDepthwiseConv2D, OpDense:
		w := q.Float.Param(fl, "weight")
		nOut := l.Out.Shape[len(l.Out.Shape)-1]
		nScales := nOut
		if l.Op == OpDense {
			nOut, nScales = l.Out.Size(), 1
		}
		nb := len(s.Bias32)
		if s16 {
			nb = len(s.Bias64)
		}
		if len(s.Weights) != w.Size() || len(s.WeightScale) != nScales || len(s.Mult) != nScales || len(s.Shift) != nScales || nb != nOut {
			return fmt.Errorf("%d weights, %d scales, %d multipliers, %d shifts, %d biases; want %d, %d, %d, %d, %d",
				len(s.Weights), len(s.WeightScale), len(s.Mult), len(s.Shift), nb, w.Size(), nScales, nScales, nScales, nOut)
		}
	case OpSoftmax:
		if len(s.Mult) != 1 || len(s.Shift) != 1 {
			return fmt.Errorf("softmax needs one multiplier and shift")
		}
	case OpSigmoid, OpTanh:
		if (s16 && (len(s.Mult) != 1 || len(s.Shift) != 1)) || (!s16 && len(s.LUT) != 256) {
			return fmt.Errorf("%s needs its table (s8) or input multiplier (s16)", l.Op)
		}
	case OpAdd:
		if s.Add == nil {
			return fmt.Errorf("add without parameters")
		}
	case OpMul:
		if s.Mul == nil {
			return fmt.Errorf("mul without parameters")
		}
	case OpGRU, OpLSTM:
		r := s.RNN
		if r == nil || r.LSTM != (l.Op == OpLSTM) {
			return fmt.Errorf("%s without its recurrent parameters", l.Op)
		}
		T, I, H := rnnSizes(q.Float, fl, l.In[0])
		G := rnnGates(l.Op) * H
		if r.Steps != T || r.DimIn != I || r.Hidden != H || r.ReturnSequences != fl.Attrs.ReturnSequences ||
			len(r.Wih) != G*I || len(r.Whh) != G*H || len(r.Bx) != G || len(r.Bh) != G || len(r.WihScale) != G || len(r.WhhScale) != G ||
			len(r.IH.Multiplier) != G || len(r.IH.Shift) != G || len(r.HH.Multiplier) != G || len(r.HH.Shift) != G {
			return fmt.Errorf("recurrent parameters do not fit %d steps of %d features, hidden %d", T, I, H)
		}
	}
	return nil
}
