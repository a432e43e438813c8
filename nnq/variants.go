package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// convGeom maps a float window onto the legacy kernels' geometry (padding
// is the top/left padding; the bottom/right one is implied by the output
// size, as in the library).
func convGeom(g kernels.Window2D) kernels.ConvGeom {
	return kernels.ConvGeom{InX: g.InW, InY: g.InH, InC: g.InC, OutC: g.OutC, KX: g.KW, KY: g.KH,
		PadX: g.PadL, PadY: g.PadT, StrideX: g.SW, StrideY: g.SH, OutX: g.OutW, OutY: g.OutH}
}

// candidates lists, fastest first, the kernels that can run a layer.
func (q *QModel) candidates(l *QLayer) []kernels.Variant {
	q15 := q.Bits == 16
	switch l.Op {
	case OpConv2D:
		if q15 {
			return []kernels.Variant{kernels.VarConvolveHWCQ15Fast, kernels.VarConvolveHWCQ15FastNonsquare, kernels.VarConvolveHWCQ15Basic, kernels.VarNNQConvolveHWCQ15BasicNonsquare}
		}
		return []kernels.Variant{kernels.VarConvolve1x1HWCQ7FastNonsquare, kernels.VarConvolveHWCQ7Fast, kernels.VarConvolveHWCQ7FastNonsquare,
			kernels.VarConvolveHWCQ7RGB, kernels.VarConvolveHWCQ7Basic, kernels.VarConvolveHWCQ7BasicNonsquare}
	case OpDepthwiseConv2D:
		if q15 {
			return []kernels.Variant{kernels.VarNNQDepthwiseConvHWCQ15Nonsquare}
		}
		return []kernels.Variant{kernels.VarDepthwiseSeparableConvHWCQ7, kernels.VarDepthwiseSeparableConvHWCQ7Nonsquare}
	case OpDense:
		if q15 {
			return []kernels.Variant{kernels.VarFullyConnectedQ15Opt, kernels.VarFullyConnectedQ15}
		}
		return []kernels.Variant{kernels.VarFullyConnectedQ7Opt, kernels.VarFullyConnectedQ7}
	case OpMaxPool2D:
		if q15 {
			return []kernels.Variant{kernels.VarNNQMaxpoolQ15HWCNonsquare}
		}
		return []kernels.Variant{kernels.VarMaxpoolQ7HWC, kernels.VarNNQMaxpoolQ7HWCNonsquare}
	case OpAvgPool2D:
		if q15 {
			return []kernels.Variant{kernels.VarNNQAvepoolQ15HWCNonsquare}
		}
		if l.PoolShift > 0 {
			return []kernels.Variant{kernels.VarNNQAvepoolQ7HWCNonsquare} // the library pool cannot shift
		}
		return []kernels.Variant{kernels.VarAvepoolQ7HWC, kernels.VarNNQAvepoolQ7HWCNonsquare}
	case OpReLU:
		return pick(q15, kernels.VarReluQ7, kernels.VarReluQ15)
	case OpSigmoid, OpTanh:
		return pick(q15, kernels.VarActivationsDirectQ7, kernels.VarActivationsDirectQ15)
	case OpSoftmax:
		return pick(q15, kernels.VarSoftmaxQ7, kernels.VarSoftmaxQ15)
	case OpAdd:
		return pick(q15, kernels.VarNNQAddQ7, kernels.VarNNQAddQ15)
	case OpMul:
		return pick(q15, kernels.VarNNMultQ7, kernels.VarNNMultQ15)
	case OpGRU:
		return pick(q15, kernels.VarNNQGRUQ7, kernels.VarNNQGRUQ15)
	case OpLSTM:
		return pick(q15, kernels.VarNNQLSTMQ7, kernels.VarNNQLSTMQ15)
	}
	return nil
}

func pick(q15 bool, v7, v15 kernels.Variant) []kernels.Variant {
	if q15 {
		return []kernels.Variant{v15}
	}
	return []kernels.Variant{v7}
}

// chooseKernels picks, for every layer, the fastest kernel whose checked
// constraints hold and whose geometry is safe on the target's code path,
// and records why faster ones were refused.
func (q *QModel) chooseKernels() error {
	readers := map[string]int{}
	for _, l := range q.Layers {
		for _, n := range l.Inputs {
			readers[n]++
		}
	}
	for i, l := range q.Layers {
		l.Kernel, l.Rejected = kernels.VarInvalid, nil
		if l.Op == OpFlatten || l.Op == OpReshape {
			continue
		}
		var g kernels.ConvGeom
		switch l.Op {
		case OpConv2D, OpDepthwiseConv2D, OpMaxPool2D, OpAvgPool2D:
			w, err := q.Float.windowOf(q.Float.Layers[i], l.In[0])
			if err != nil {
				return err
			}
			g = convGeom(w)
		case OpDense:
			g = kernels.FCGeom(l.In[0].Size(), l.Out.Size())
		case OpGRU, OpLSTM:
			g = recurrentGeom(l)
		default:
			g = kernels.VecGeom(l.Out.Size())
		}
		l.Geom = g
		for _, v := range q.candidates(l) {
			err := v.Valid(g, q.Path)
			// The DSP pooling algorithm works in its input buffer: only use
			// it when no later layer reads that tensor.
			if err == nil && q.Path == kernels.DSPPath && (v == kernels.VarMaxpoolQ7HWC || v == kernels.VarAvepoolQ7HWC) {
				switch {
				case readers[l.Inputs[0]] > 1:
					err = fmt.Errorf("its DSP algorithm overwrites the input %q, which another layer still reads", l.Inputs[0])
				case g.PadX >= g.StrideX || g.PadY >= g.StrideY:
					// The in-place row pass then reads columns it has already
					// overwritten: values leak between windows (average pools
					// end up far from the float result).
					err = fmt.Errorf("with padding >= stride its DSP algorithm mixes neighbouring windows")
				}
			}
			if err == nil {
				l.Kernel = v
				break
			}
			l.Rejected = append(l.Rejected, fmt.Sprintf("%s: %v", v, err))
		}
		if l.Kernel == kernels.VarInvalid {
			return fmt.Errorf("layer %q: no %s kernel fits %s on %s: %v", l.Name, q.TypeName(), l.Op, q.Target, l.Rejected)
		}
	}
	return nil
}
