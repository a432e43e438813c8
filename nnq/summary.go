package nnq

import (
	"fmt"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
)

// viewKernel is the kernel column of flatten and reshape layers, which
// run no code (their output is the input buffer).
const viewKernel = "(buffer view)"

// fusedKernel is the kernel column of a ReLU fused into layer f.
func fusedKernel(f *QLayer) string { return "(fused into " + f.Name + ")" }

// LayerInfo describes one layer for a summary.
type LayerInfo struct {
	Name   string
	Op     Op
	Inputs []string
	Out    []int
	Params int
	// MACs counts multiply-accumulates (for an average pool the additions
	// of its windows; max pools, activations and element-wise layers have
	// none).
	MACs int64
	// CMSIS is the C function the layer runs as: the kernel Quantize
	// chooses for the word size and target (kernels.Variant's name, as in
	// nn.c and the report), "(buffer view)" for flatten/reshape, or what Prepare
	// does with the layer.
	CMSIS string
}

// Info returns per-layer shapes, parameter and MAC counts and the kernels
// of a q7 build for DefaultTarget.
func (m *Model) Info() ([]LayerInfo, error) {
	info, _, err := m.InfoFor(8, DefaultTarget)
	return info, err
}

// InfoFor is Info with the kernels chosen for a word size (8 or 16) and a
// target. kernelErr says why some layer has no kernel (the model cannot be
// converted as it is); the other layers are still described.
func (m *Model) InfoFor(bits int, target string) (info []LayerInfo, kernelErr, err error) {
	acts, err := m.Shapes()
	if err != nil {
		return nil, nil, err
	}
	names, kernelErr := m.kernelNames(bits, target)
	for i, l := range m.Layers {
		li := LayerInfo{Name: l.Name, Op: l.Op, Inputs: m.inputsOf(i), Out: acts[l.Name].Shape, CMSIS: names[l.Name]}
		for _, t := range l.Params {
			li.Params += m.Tensors[t].Size()
		}
		in := acts[m.inputsOf(i)[0]]
		o := acts[l.Name]
		switch l.Op {
		case OpConv2D:
			g, _ := m.windowOf(l, in)
			li.MACs = int64(g.OutH*g.OutW*g.OutC) * int64(g.KH*g.KW*g.InC)
		case OpDepthwiseConv2D:
			g, _ := m.windowOf(l, in)
			li.MACs = int64(g.OutH*g.OutW*g.OutC) * int64(g.KH*g.KW)
		case OpAvgPool2D:
			g, _ := m.windowOf(l, in)
			li.MACs = int64(g.OutH*g.OutW*g.OutC) * int64(g.KH*g.KW)
		case OpDense:
			li.MACs = int64(in.Size()) * int64(o.Size())
		case OpGRU, OpLSTM:
			T, I, H := rnnSizes(m, l, in)
			li.MACs = int64(T) * int64(rnnGates(l.Op)*H) * int64(I+H)
		}
		if li.CMSIS == "" {
			switch l.Op {
			case OpFlatten, OpReshape:
				li.CMSIS = viewKernel
			case OpBatchNorm:
				li.CMSIS = "folded at Prepare"
			case OpDropout, OpIdentity:
				li.CMSIS = "removed at Prepare"
			default:
				li.CMSIS = "none (see below)"
			}
		}
		info = append(info, li)
	}
	return info, kernelErr, nil
}

// kernelNames runs the kernel choice of Quantize (which needs the
// geometry, not the formats) on the prepared CMSIS form of m and returns
// the C function of every layer that has one.
func (m *Model) kernelNames(bits int, target string) (map[string]string, error) {
	if bits != 8 && bits != 16 {
		return nil, fmt.Errorf("word size %d bits is not 8 (q7) or 16 (q15)", bits)
	}
	core, err := kernels.CoreByName(target)
	if err != nil {
		return nil, err
	}
	p, err := m.Prepare()
	if err != nil {
		return nil, err
	}
	cm, err := p.ToCMSIS()
	if err != nil {
		return nil, err
	}
	acts, err := cm.Shapes()
	if err != nil {
		return nil, err
	}
	q := &QModel{Name: cm.Name, Float: cm, Bits: bits, Target: core.Name, Path: core.Path}
	for i, l := range cm.Layers {
		// One format everywhere: a ReLU fuses into the layer before it as
		// in a conversion (which keeps a ReLU's format).
		ql := &QLayer{Name: l.Name, Op: l.Op, Inputs: cm.inputsOf(i), Out: acts[l.Name], InFrac: make([]int, len(cm.inputsOf(i)))}
		for _, n := range ql.Inputs {
			ql.In = append(ql.In, acts[n])
		}
		q.Layers = append(q.Layers, ql)
	}
	err = q.chooseKernels()
	names := map[string]string{}
	for _, l := range q.Layers {
		if l.Kernel != kernels.VarInvalid {
			names[l.Name] = l.Kernel.String()
		} else if f := q.FusedInto(l); f != nil {
			names[l.Name] = fusedKernel(f)
		}
	}
	return names, err
}

// Summary renders the model as a table for a q7 build on DefaultTarget;
// see SummaryFor.
func (m *Model) Summary() (string, error) { return m.SummaryFor(8, DefaultTarget) }

// SummaryFor renders the model as a table: layers, output shapes,
// parameters, MACs and the kernel each layer runs on for the word size and
// target, then the notes of what loading did.
func (m *Model) SummaryFor(bits int, target string) (string, error) {
	info, kerr, err := m.InfoFor(bits, target)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model %q (%s layout), input %q %v\n", m.Name, m.Layout, m.inputName(), m.InputShape)
	if m.Frontend != nil {
		fmt.Fprintf(&b, "input front end: %s\n", m.Frontend)
	}
	fmt.Fprintf(&b, "%-22s %-17s %-13s %9s %11s  %s\n", "layer", "op", "output (HWC)", "params", "MACs", fmt.Sprintf("kernel (q%d on %s)", bits-1, target))
	var params int
	var macs int64
	for _, li := range info {
		fmt.Fprintf(&b, "%-22s %-17s %-13s %9d %11d  %s\n", li.Name, li.Op, shapeString(li.Out), li.Params, li.MACs, li.CMSIS)
		params += li.Params
		macs += li.MACs
	}
	fmt.Fprintf(&b, "total: %d layers, %d parameters, %d MACs per inference\n", len(info), params, macs)
	if kerr != nil {
		fmt.Fprintf(&b, "kernels: %v\n", kerr)
	}
	for _, n := range m.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String(), nil
}
