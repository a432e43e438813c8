package nnq

import (
	"fmt"
	"math"

	"github.com/nnq-toolkit/nnq/kernels"
)

// qbuf is an activation buffer of the network's word size.
type qbuf struct {
	b8  []int8
	b16 []int16
}

func newQbuf(bits, n int) qbuf {
	if bits == 16 {
		return qbuf{b16: make([]int16, n)}
	}
	return qbuf{b8: make([]int8, n)}
}

func (b qbuf) copyFrom(o qbuf) {
	copy(b.b8, o.b8)
	copy(b.b16, o.b16)
}

// widen writes the buffer's values into dst as int16.
func (b qbuf) widen(dst []int16) []int16 {
	if b.b16 != nil {
		return append(dst[:0], b.b16...)
	}
	dst = dst[:0]
	for _, v := range b.b8 {
		dst = append(dst, int16(v))
	}
	return dst
}

// simParams holds a layer's parameters in the kernel's element type and,
// for _opt kernels, in the interleaved order.
type simParams struct {
	w8, b8   []int8
	w16, b16 []int16
	// sub holds QLayer.Sub's weight sets (recurrent layers) and scratch
	// the recurrent kernel's gates and state.
	sub     []simParams
	scratch []int16
}

// Sim runs a quantized model bit-exactly, the way the generated C code does
// on the model's target, with the same kernels. A Sim is not safe for
// concurrent use; make one per goroutine.
type Sim struct {
	q      *QModel
	bufs   []qbuf // [0] input, [i+1] layer i output
	inIdx  [][]int
	params []simParams
	work   qbuf // copy of a DSP pool's input (the algorithm clobbers it)
	args   []qbuf
	// Stats, when enabled, holds per-layer kernel counters (saturations,
	// accumulator wraps) accumulated over every Run.
	Stats []kernels.Stats
	wide  []int16
	outs  [][]int16
	// s8 holds the layers of an s8/s16 network (nil for q7/q15).
	s8 []s8Step
}

// NewSim prepares a simulator. With stats, every kernel call counts its
// saturations and wraps into Sim.Stats (slower).
func (q *QModel) NewSim(stats bool) (*Sim, error) {
	if q.IsAffine() {
		return q.newSimAffine(stats)
	}
	s := &Sim{q: q}
	if err := s.wire(stats); err != nil {
		return nil, err
	}
	maxPool := 0
	for _, l := range q.Layers {
		var p simParams
		if l.Weights != nil {
			w := l.Weights
			if l.Kernel.Interleaved() {
				rows, cols := l.Out.Size(), l.In[0].Size()
				if q.Bits == 16 {
					w = kernels.InterleaveQ15Opt(w, rows, cols)
				} else {
					w = widen8(kernels.InterleaveQ7Opt(narrow8(w), rows, cols))
				}
			}
			if q.Bits == 16 {
				p.w16, p.b16 = w, l.Bias
			} else {
				p.w8, p.b8 = narrow8(w), narrow8(l.Bias)
			}
		}
		for _, sp := range l.Sub {
			if q.Bits == 16 {
				p.sub = append(p.sub, simParams{w16: sp.Weights, b16: sp.Bias})
			} else {
				p.sub = append(p.sub, simParams{w8: narrow8(sp.Weights), b8: narrow8(sp.Bias)})
			}
		}
		if n := kernels.RNNScratchQ15(l.Kernel, l.Geom.InC, l.Geom.OutC); n > 0 {
			p.scratch = make([]int16, n)
		}
		s.params = append(s.params, p)
		if l.Op == OpMaxPool2D || l.Op == OpAvgPool2D {
			maxPool = max(maxPool, l.In[0].Size())
		}
	}
	s.work = newQbuf(q.Bits, maxPool)
	return s, nil
}

// wire allocates the buffers of the network input and of every layer
// output, resolves each layer's inputs, and the counters when stats.
func (s *Sim) wire(stats bool) error {
	q := s.q
	index := map[string]int{q.InputName: 0}
	s.bufs = append(s.bufs, newQbuf(q.Bits, q.Float.InputSize()))
	for i, l := range q.Layers {
		idx := make([]int, len(l.Inputs))
		for j, n := range l.Inputs {
			k, ok := index[n]
			if !ok {
				return fmt.Errorf("layer %q reads unknown tensor %q", l.Name, n)
			}
			idx[j] = k
		}
		s.inIdx = append(s.inIdx, idx)
		s.bufs = append(s.bufs, newQbuf(q.Bits, l.Out.Size()))
		index[l.Name] = i + 1
	}
	s.args = make([]qbuf, 2)
	if stats {
		s.Stats = make([]kernels.Stats, len(q.Layers))
	}
	return nil
}

func narrow8(v []int16) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = int8(x)
	}
	return out
}

func widen8(v []int8) []int16 {
	out := make([]int16, len(v))
	for i, x := range v {
		out[i] = int16(x)
	}
	return out
}

func (s *Sim) opts(k int) kernels.Opts {
	o := s.q.Opts(nil)
	if s.Stats != nil {
		o.Stats = &s.Stats[k]
	}
	return o
}

// Run computes the network on a quantized input in CMSIS order (see
// QuantizeInput) and returns the output as int16 values (a view valid until
// the next Run).
func (s *Sim) Run(x []int16) ([]int16, error) {
	in := s.bufs[0]
	if in.b16 != nil {
		copy(in.b16, x)
	} else {
		for i, v := range x {
			in.b8[i] = int8(v)
		}
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	s.wide = s.bufs[len(s.bufs)-1].widen(s.wide)
	return s.wide, nil
}

func (s *Sim) run() error { return s.runRange(0, len(s.q.Layers)) }

// Output returns layer k's output from the last Run, widened to int16.
func (s *Sim) Output(k int) []int16 {
	if s.outs == nil {
		s.outs = make([][]int16, len(s.q.Layers))
	}
	s.outs[k] = s.bufs[k+1].widen(s.outs[k])
	return s.outs[k]
}

// Dequantized returns layer k's output from the last Run as float values.
func (s *Sim) Dequantized(k int, dst []float32) []float32 {
	if s.q.IsAffine() {
		return dequantizeAffine(s.Output(k), s.q.Layers[k].S8.Out, dst)
	}
	return Dequantize(s.Output(k), s.q.Frac[s.q.Layers[k].Name], dst)
}

// QuantizeInput converts a float pattern in the model's pattern layout into
// the CMSIS-order integer input (round to nearest, saturate). It returns the
// number of saturated values. It does not allocate: an NCHW pattern is
// read in CHW order and written in HWC order directly.
func (q *QModel) QuantizeInput(x []float32, dst []int16) int {
	m := q.Float
	qz := q.inputQuantizer()
	if m.patternLayout() != NCHW || len(m.InputShape) != 3 {
		for i, v := range x {
			dst[i] = qz.value(v)
		}
		return qz.saturated
	}
	s := m.InputShape // [H,W,C] (CMSIS model) or [C,H,W]
	H, W, C := s[0], s[1], s[2]
	if m.Layout == NCHW {
		H, W, C = s[1], s[2], s[0]
	}
	for c := 0; c < C; c++ {
		for y := 0; y < H; y++ {
			row := x[(c*H+y)*W:][:W]
			for xx, v := range row {
				dst[(y*W+xx)*C+c] = qz.value(v)
			}
		}
	}
	return qz.saturated
}

// quantizer rounds x·scale to nearest (ties away from zero), adds zero (an
// s8/s16 input's zero point) and saturates to a word.
type quantizer struct {
	lo, hi, scale, zero float64
	saturated           int
}

func newQuantizer(frac, bits int) *quantizer {
	return &quantizer{lo: -math.Exp2(float64(bits - 1)), hi: math.Exp2(float64(bits-1)) - 1, scale: math.Exp2(float64(frac))}
}

func (z *quantizer) value(x float32) int16 {
	r := math.Round(float64(x)*z.scale) + z.zero
	if r > z.hi {
		r = z.hi
		z.saturated++
	} else if r < z.lo {
		r = z.lo
		z.saturated++
	}
	return int16(r)
}

// quantizeInto quantizes v into dst and returns the number of saturated
// values.
func quantizeInto(v []float32, frac, bits int, dst []int16) int {
	z := newQuantizer(frac, bits)
	for i, x := range v {
		dst[i] = z.value(x)
	}
	return z.saturated
}

// Dequantize converts integers with frac fractional bits to floats.
func Dequantize(v []int16, frac int, dst []float32) []float32 {
	dst = dst[:0]
	scale := math.Exp2(-float64(frac))
	for _, x := range v {
		dst = append(dst, float32(float64(x)*scale))
	}
	return dst
}

// --- fixed forward passes, referenced from the op files ---

func fixedWeighted(s *Sim, k int, x []qbuf, y qbuf) error {
	l, p, o := s.q.Layers[k], s.params[k], s.opts(k)
	g := l.Geom
	switch l.Kernel {
	case kernels.VarConvolveHWCQ7Basic:
		return kernels.ConvolveHWCQ7Basic(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarConvolveHWCQ7Fast:
		return kernels.ConvolveHWCQ7Fast(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarConvolveHWCQ7RGB:
		return kernels.ConvolveHWCQ7RGB(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarConvolveHWCQ7BasicNonsquare:
		return kernels.ConvolveHWCQ7BasicNonsquare(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarConvolveHWCQ7FastNonsquare:
		return kernels.ConvolveHWCQ7FastNonsquare(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarConvolve1x1HWCQ7FastNonsquare:
		return kernels.Convolve1x1HWCQ7FastNonsquare(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarConvolveHWCQ15Basic:
		return kernels.ConvolveHWCQ15Basic(o, g, x[0].b16, p.w16, p.b16, l.BiasShift, l.OutShift, y.b16)
	case kernels.VarConvolveHWCQ15Fast:
		return kernels.ConvolveHWCQ15Fast(o, g, x[0].b16, p.w16, p.b16, l.BiasShift, l.OutShift, y.b16)
	case kernels.VarConvolveHWCQ15FastNonsquare:
		return kernels.ConvolveHWCQ15FastNonsquare(o, g, x[0].b16, p.w16, p.b16, l.BiasShift, l.OutShift, y.b16)
	case kernels.VarNNQConvQ7, kernels.VarNNQConvQ7Wide:
		return kernels.NNQConv(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, l.ReLU, y.b8)
	case kernels.VarNNQConvQ15:
		return kernels.NNQConv(o, g, x[0].b16, p.w16, p.b16, l.BiasShift, l.OutShift, l.ReLU, y.b16)
	case kernels.VarNNQDWConvQ7:
		return kernels.NNQDWConv(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, l.ReLU, y.b8)
	case kernels.VarNNQDWConvQ15:
		return kernels.NNQDWConv(o, g, x[0].b16, p.w16, p.b16, l.BiasShift, l.OutShift, l.ReLU, y.b16)
	case kernels.VarNNQFCQ7:
		return kernels.NNQFC(o, x[0].b8, p.w8, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, p.b8, l.ReLU, y.b8)
	case kernels.VarNNQFCQ15:
		return kernels.NNQFC(o, x[0].b16, p.w16, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, p.b16, l.ReLU, y.b16)
	case kernels.VarDepthwiseSeparableConvHWCQ7:
		return kernels.DepthwiseSeparableConvHWCQ7(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarDepthwiseSeparableConvHWCQ7Nonsquare:
		return kernels.DepthwiseSeparableConvHWCQ7Nonsquare(o, g, x[0].b8, p.w8, p.b8, l.BiasShift, l.OutShift, y.b8)
	case kernels.VarFullyConnectedQ7:
		return kernels.FullyConnectedQ7(o, x[0].b8, p.w8, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, p.b8, y.b8)
	case kernels.VarFullyConnectedQ7Opt:
		return kernels.FullyConnectedQ7Opt(o, x[0].b8, p.w8, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, p.b8, y.b8)
	case kernels.VarFullyConnectedQ15:
		return kernels.FullyConnectedQ15(o, x[0].b16, p.w16, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, p.b16, y.b16)
	case kernels.VarFullyConnectedQ15Opt:
		return kernels.FullyConnectedQ15Opt(o, x[0].b16, p.w16, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, p.b16, y.b16)
	}
	return fmt.Errorf("no simulation for kernel %s", l.Kernel)
}

func fixedPool(s *Sim, k int, x []qbuf, y qbuf) error {
	l, o := s.q.Layers[k], s.opts(k)
	g := l.Geom
	switch l.Kernel {
	case kernels.VarMaxpoolQ7HWC, kernels.VarAvepoolQ7HWC:
		// The DSP algorithm works in the input buffer; the generated code
		// lets it (the tensor is dead afterwards), the simulator keeps the
		// layer's input intact so traces stay comparable.
		w := s.work.b8[:len(x[0].b8)]
		copy(w, x[0].b8)
		if l.Kernel == kernels.VarMaxpoolQ7HWC {
			return kernels.MaxpoolQ7HWC(o, g, w, y.b8)
		}
		return kernels.AvepoolQ7HWC(o, g, w, y.b8)
	case kernels.VarNNQMaxpoolQ7:
		return kernels.NNQMaxpool(o, g, x[0].b8, y.b8)
	case kernels.VarNNQAvgpoolQ7:
		return kernels.NNQAvgpool(o, g, x[0].b8, y.b8, l.PoolShift)
	case kernels.VarNNQMaxpoolQ15:
		return kernels.NNQMaxpool(o, g, x[0].b16, y.b16)
	case kernels.VarNNQAvgpoolQ15:
		return kernels.NNQAvgpool(o, g, x[0].b16, y.b16, l.PoolShift)
	}
	return fmt.Errorf("no simulation for kernel %s", l.Kernel)
}

func fixedView(s *Sim, k int, x []qbuf, y qbuf) error {
	y.copyFrom(x[0])
	return nil
}

func fixedActivation(s *Sim, k int, x []qbuf, y qbuf) error {
	l, o := s.q.Layers[k], s.opts(k)
	y.copyFrom(x[0])
	switch l.Op {
	case OpReLU:
		switch {
		case l.Kernel == kernels.VarInvalid: // fused into the layer before: a view
		case y.b16 != nil && l.Kernel.NNQ():
			kernels.NNQRelu(o, y.b16)
		case y.b16 != nil:
			kernels.ReluQ15(o, y.b16)
		case l.Kernel.NNQ():
			kernels.NNQRelu(o, y.b8)
		default:
			kernels.ReluQ7(o, y.b8)
		}
		return nil
	case OpSigmoid, OpTanh:
		t := kernels.Sigmoid
		if l.Op == OpTanh {
			t = kernels.Tanh
		}
		if y.b16 != nil {
			return kernels.ActivationsDirectQ15(o, y.b16, l.IntWidth, t)
		}
		return kernels.ActivationsDirectQ7(o, y.b8, l.IntWidth, t)
	}
	return fmt.Errorf("no simulation for %s", l.Op)
}

func fixedSoftmax(s *Sim, k int, x []qbuf, y qbuf) error {
	o := s.opts(k)
	if y.b16 != nil {
		kernels.SoftmaxQ15(o, x[0].b16, y.b16)
		return nil
	}
	kernels.SoftmaxQ7(o, x[0].b8, y.b8)
	return nil
}

func fixedAdd(s *Sim, k int, x []qbuf, y qbuf) error {
	l, o := s.q.Layers[k], s.opts(k)
	if y.b16 != nil {
		return kernels.NNQAddQ15(o, x[0].b16, x[1].b16, y.b16, l.Shifts[0], l.Shifts[1], l.OutShift)
	}
	return kernels.NNQAddQ7(o, x[0].b8, x[1].b8, y.b8, l.Shifts[0], l.Shifts[1], l.OutShift)
}

func fixedMul(s *Sim, k int, x []qbuf, y qbuf) error {
	l, o := s.q.Layers[k], s.opts(k)
	if y.b16 != nil {
		return kernels.NNMultQ15(o, x[0].b16, x[1].b16, y.b16, l.OutShift)
	}
	return kernels.NNMultQ7(o, x[0].b8, x[1].b8, y.b8, l.OutShift)
}
