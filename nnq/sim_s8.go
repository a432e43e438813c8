package nnq

import (
	"fmt"
	"math"
	"sync"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Simulation of s8/s16 networks: every layer runs the Go twin of the C
// function the export calls (package kernels, bit-exact with CMSIS-NN
// v7.0.0 and with nnq's runtime), with the arguments of QModel.S8Call.

// s8Step is one layer of an s8/s16 simulation.
type s8Step struct {
	call    *S8Call
	scratch []int16
	run     func(s *Sim, k int, x []qbuf, y qbuf) error
}

// newSimAffine is NewSim for s8/s16 networks.
func (q *QModel) newSimAffine(stats bool) (*Sim, error) {
	s := &Sim{q: q}
	if err := s.wire(stats); err != nil {
		return nil, err
	}
	for i := range q.Layers {
		st, err := q.s8Step(i)
		if err != nil {
			return nil, err
		}
		s.s8 = append(s.s8, st)
	}
	return s, nil
}

func (q *QModel) s8Step(k int) (s8Step, error) {
	l := q.Layers[k]
	call, err := q.S8Call(k)
	if err != nil {
		return s8Step{}, err
	}
	st := s8Step{call: call}
	if call == nil {
		st.run = fixedView
		return st, nil
	}
	s := l.S8
	s16 := q.Bits == 16
	c := call
	switch l.Op {
	case OpConv2D:
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.ConvolveWrapperS16(sm.opts(k), c.Conv, c.Quant, c.In, x[0].b16, c.Filter, s.Weights, kernels.BiasS16{Int64: s.Bias64}, c.Out, y.b16)
			}
			return kernels.ConvolveWrapperS8(sm.opts(k), c.Conv, c.Quant, c.In, x[0].b8, c.Filter, s.Weights, s.Bias32, c.Out, y.b8)
		}
	case OpDepthwiseConv2D:
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.DepthwiseConvWrapperS16(sm.opts(k), c.Dw, c.Quant, c.In, x[0].b16, c.Filter, s.Weights, s.Bias64, c.Out, y.b16)
			}
			return kernels.DepthwiseConvWrapperS8(sm.opts(k), c.Dw, c.Quant, c.In, x[0].b8, c.Filter, s.Weights, s.Bias32, c.Out, y.b8)
		}
	case OpDense:
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.FullyConnectedS16(sm.opts(k), c.FC, c.TensorQuant, c.In, x[0].b16, c.Filter, s.Weights, s.Bias64, c.Out, y.b16)
			}
			return kernels.FullyConnectedS8(sm.opts(k), c.FC, c.TensorQuant, c.In, x[0].b8, c.Filter, s.Weights, s.Bias32, c.Out, y.b8)
		}
	case OpMaxPool2D, OpAvgPool2D:
		avg := l.Op == OpAvgPool2D
		even := c.Function == "nnq_avgpool_s8_even" || c.Function == "nnq_avgpool_s16_even"
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			o := sm.opts(k)
			switch {
			case s16 && even:
				return kernels.NNQAvgpoolS16Even(o, c.Pool, c.In, x[0].b16, c.Filter, c.Out, y.b16)
			case even:
				return kernels.NNQAvgpoolS8Even(o, c.Pool, c.In, x[0].b8, c.Filter, c.Out, y.b8)
			case s16 && avg:
				return kernels.AvgpoolS16(o, c.Pool, c.In, x[0].b16, c.Filter, c.Out, y.b16)
			case s16:
				return kernels.MaxPoolS16(o, c.Pool, c.In, x[0].b16, c.Filter, c.Out, y.b16)
			case avg:
				return kernels.AvgpoolS8(o, c.Pool, c.In, x[0].b8, c.Filter, c.Out, y.b8)
			}
			return kernels.MaxPoolS8(o, c.Pool, c.In, x[0].b8, c.Filter, c.Out, y.b8)
		}
	case OpSoftmax:
		tq := c.TensorQuant
		if s16 {
			lut := softmaxLUTS16()
			st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
				if err := kernels.SoftmaxS16(sm.opts(k), x[0].b16, 1, c.N, tq.Multiplier, tq.Shift, lut, y.b16); err != nil {
					return err
				}
				kernels.NNQSoftmaxS16Unwrap(y.b16, c.N)
				return nil
			}
		} else {
			st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
				return kernels.SoftmaxS8(sm.opts(k), x[0].b8, 1, c.N, tq.Multiplier, tq.Shift, s.DiffMin, y.b8)
			}
		}
	case OpReLU:
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.NNQClampS16(sm.opts(k), x[0].b16, s.ActMin, s.ActMax, y.b16, c.N)
			}
			return kernels.NNQClampS8(sm.opts(k), x[0].b8, s.ActMin, s.ActMax, y.b8, c.N)
		}
	case OpSigmoid, OpTanh:
		sig, tanh := ActTablesS16()
		lut := sig
		if l.Op == OpTanh {
			lut = tanh
		}
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.NNQActS16(sm.opts(k), x[0].b16, c.TensorQuant.Multiplier, c.TensorQuant.Shift, lut, y.b16, c.N)
			}
			return kernels.NNQLUTS8(sm.opts(k), x[0].b8, s.LUT, y.b8, c.N)
		}
	case OpAdd:
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.NNQAddS16(sm.opts(k), x[0].b16, x[1].b16, *s.Add, y.b16, c.N)
			}
			return kernels.ElementwiseAddS8(sm.opts(k), x[0].b8, x[1].b8, *s.Add, y.b8, c.N)
		}
	case OpMul:
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			if s16 {
				return kernels.NNQMulS16(sm.opts(k), x[0].b16, x[1].b16, *s.Mul, y.b16, c.N)
			}
			return kernels.ElementwiseMulS8(sm.opts(k), x[0].b8, x[1].b8, *s.Mul, y.b8, c.N)
		}
	case OpGRU, OpLSTM:
		r := s.RNN
		st.scratch = make([]int16, r.ScratchBytes()/2)
		sig, tanh := ActTablesS16()
		st.run = func(sm *Sim, k int, x []qbuf, y qbuf) error {
			o, p, scr := sm.opts(k), r.NNQRNNS8Params, sm.s8[k].scratch
			switch {
			case s16 && r.LSTM:
				return kernels.NNQLSTMS16(o, p, x[0].b16, r.Wih, r.Bx, r.Whh, r.Bh, sig, tanh, y.b16, scr)
			case s16:
				return kernels.NNQGRUS16(o, p, x[0].b16, r.Wih, r.Bx, r.Whh, r.Bh, sig, tanh, y.b16, scr)
			case r.LSTM:
				return kernels.NNQLSTMS8(o, p, x[0].b8, r.Wih, r.Bx, r.Whh, r.Bh, sig, tanh, y.b8, scr)
			}
			return kernels.NNQGRUS8(o, p, x[0].b8, r.Wih, r.Bx, r.Whh, r.Bh, sig, tanh, y.b8, scr)
		}
	default:
		return st, fmt.Errorf("layer %q: no %s simulation for %s", l.Name, q.TypeName(), l.Op)
	}
	return st, nil
}

// softmaxLUTS16 returns arm_softmax_s16's two tables as nnq generates them
// (TFLite's: exp on [-10, 0], 1/(1+x) on [0, 1]).
func softmaxLUTS16() kernels.SoftmaxLUTS16 {
	e, r := SoftmaxTablesS16()
	return kernels.SoftmaxLUTS16{ExpLUT: e, OneByOneLUT: r}
}

var softmaxTables = sync.OnceValues(func() ([]int16, []int16) {
	return kernels.GenLUTS16(math.Exp, -10, 0), kernels.GenLUTS16(func(x float64) float64 { return 1 / (1 + x) }, 0, 1)
})

// SoftmaxTablesS16 returns the exp and 1/(1+x) tables of arm_softmax_s16
// (shared, do not modify).
func SoftmaxTablesS16() (exp, oneByOne []int16) { return softmaxTables() }

// dequantizeAffine converts integers of affine format a to floats.
func dequantizeAffine(v []int16, a Affine, dst []float32) []float32 {
	dst = dst[:0]
	for _, x := range v {
		dst = append(dst, float32(a.Real(int32(x))))
	}
	return dst
}

// inputQuantizer is the quantizer of the network input: Q-format (legacy)
// or affine (round(x / scale) + zero point, saturated).
func (q *QModel) inputQuantizer() *quantizer {
	if !q.IsAffine() {
		return newQuantizer(q.InputFrac, q.Bits)
	}
	a := q.InputAffine()
	z := newQuantizer(0, q.Bits)
	z.scale, z.zero = 1/a.Scale, float64(a.Zero)
	return z
}

// sqnrReference maps each layer to the float layer its fixed output is
// compared with: itself, or for a layer that performs a fused ReLU, the
// ReLU (its output is the clamped one).
func (q *QModel) sqnrReference() []int {
	ref := make([]int, len(q.Layers))
	pos := map[string]int{}
	for i, l := range q.Layers {
		ref[i] = i
		pos[l.Name] = i
	}
	for i, l := range q.Layers {
		if l.S8 != nil && l.S8.Fused {
			if p, ok := pos[l.Inputs[0]]; ok {
				ref[p] = i
			}
		}
	}
	return ref
}
