package nnq

import (
	"fmt"
	"strings"
)

// LayerInfo describes one layer for a summary.
type LayerInfo struct {
	Name   string
	Op     Op
	Inputs []string
	Out    []int
	Params int
	MACs   int64
	// CMSIS says how the layer runs on CMSIS-NN: the legacy function family,
	// an nnq_ kernel, or "no-op".
	CMSIS string
}

// Info returns per-layer shapes, parameter and MAC counts and CMSIS-NN
// support status.
func (m *Model) Info() ([]LayerInfo, error) {
	acts, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	var out []LayerInfo
	for i, l := range m.Layers {
		li := LayerInfo{Name: l.Name, Op: l.Op, Inputs: m.inputsOf(i), Out: acts[l.Name].Shape}
		for _, t := range l.Params {
			li.Params += m.Tensors[t].Size()
		}
		in := acts[m.inputsOf(i)[0]]
		o := acts[l.Name]
		switch l.Op {
		case OpConv2D:
			g, _ := m.windowOf(l, in)
			li.MACs = int64(g.OutH*g.OutW*g.OutC) * int64(g.KH*g.KW*g.InC)
			li.CMSIS = "arm_convolve_HWC_q7/q15_*"
		case OpDepthwiseConv2D:
			g, _ := m.windowOf(l, in)
			li.MACs = int64(g.OutH*g.OutW*g.OutC) * int64(g.KH*g.KW)
			li.CMSIS = "arm_depthwise_separable_conv_HWC_q7* (q15: nnq_ kernel)"
		case OpDense:
			li.MACs = int64(in.Size()) * int64(o.Size())
			li.CMSIS = "arm_fully_connected_*"
		case OpMaxPool2D, OpAvgPool2D:
			g, _ := m.windowOf(l, in)
			kind := "max"
			if l.Op == OpAvgPool2D {
				kind = "ave"
			}
			if g.KH == g.KW && g.SH == g.SW && g.InH == g.InW && g.OutH == g.OutW && g.PadT == g.PadL {
				li.CMSIS = fmt.Sprintf("arm_%spool_q7_HWC (q15: nnq_ kernel)", kind)
			} else {
				li.CMSIS = fmt.Sprintf("nnq_%spool_HWC_nonsquare (no square legacy kernel fits)", kind)
			}
		case OpReLU:
			li.CMSIS = "arm_relu_q7/q15 (in place)"
		case OpSigmoid, OpTanh:
			li.CMSIS = "arm_nn_activations_direct_q7/q15"
		case OpSoftmax:
			li.CMSIS = "arm_softmax_q7/q15"
		case OpAdd:
			li.CMSIS = "nnq_add_q7/q15 (no legacy kernel)"
		case OpMul:
			li.CMSIS = "arm_nn_mult_q7/q15"
		case OpFlatten, OpReshape:
			li.CMSIS = "no-op (a view of the same buffer)"
		case OpBatchNorm:
			li.CMSIS = "folded at Prepare"
		case OpDropout, OpIdentity:
			li.CMSIS = "removed at Prepare"
		case OpGRU, OpLSTM:
			T, I, H := rnnSizes(m, l, in)
			li.MACs = int64(T) * int64(rnnGates(l.Op)*H) * int64(I+H)
			li.CMSIS = fmt.Sprintf("nnq_%s_q7/q15: CMSIS-NN FC + activations, CMSIS-DSP-style element-wise (docs/RECURRENT.md)", l.Op)
		}
		out = append(out, li)
	}
	return out, nil
}

// Summary renders the model as a table: layers, output shapes, parameters,
// MACs, CMSIS-NN support, then the notes of what loading did.
func (m *Model) Summary() (string, error) {
	info, err := m.Info()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model %q (%s layout), input %q %v\n", m.Name, m.Layout, m.inputName(), m.InputShape)
	if m.Frontend != nil {
		fmt.Fprintf(&b, "input front end: %s\n", m.Frontend)
	}
	fmt.Fprintf(&b, "%-22s %-17s %-13s %9s %11s  %s\n", "layer", "op", "output (HWC)", "params", "MACs", "CMSIS-NN")
	var params int
	var macs int64
	for _, li := range info {
		fmt.Fprintf(&b, "%-22s %-17s %-13s %9d %11d  %s\n", li.Name, li.Op, shapeString(li.Out), li.Params, li.MACs, li.CMSIS)
		params += li.Params
		macs += li.MACs
	}
	fmt.Fprintf(&b, "total: %d layers, %d parameters, %d MACs per inference\n", len(info), params, macs)
	for _, n := range m.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String(), nil
}
