package codegen

import (
	"fmt"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// whyKernel explains in one line why a layer runs its kernel: for nnq's
// kernels what the kernel does on the target, for the legacy library why a
// slower variant or an nnq kernel was taken.
func whyKernel(q *nnq.QModel, l *nnq.QLayer) string {
	v := l.Kernel
	if q.Runtime != nnq.RuntimeCMSIS && v.NNQ() {
		return whyNNQ(q, l)
	}
	if v.NNQ() {
		if len(l.Rejected) > 0 {
			// The library has kernels for the op, but none fits: say
			// which rule refused each, for this geometry and code path.
			return fmt.Sprintf("no CMSIS-NN %s %s kernel fits this layer on the %s path: %s", q.TypeName(), l.Op, q.Path, strings.Join(l.Rejected, "; "))
		}
		switch v.Kind() {
		case kernels.KindPool:
			return fmt.Sprintf("CMSIS-NN has no %s pooling", q.TypeName())
		case kernels.KindElementwise:
			return "CMSIS-NN has no element-wise add of two tensors"
		case kernels.KindDepthwise:
			return fmt.Sprintf("CMSIS-NN has no %s depthwise convolution", q.TypeName())
		case kernels.KindRecurrent:
			return "CMSIS-NN has no recurrent layer: nnq's time-step loop over CMSIS-NN FC/activation kernels and CMSIS-DSP-style element-wise functions"
		}
		return fmt.Sprintf("CMSIS-NN has no %s %s kernel", q.TypeName(), l.Op)
	}
	if len(l.Rejected) > 0 {
		return "the fastest variant that fits; refused faster ones: " + strings.Join(l.Rejected, "; ")
	}
	return ""
}

// whyNNQ describes an nnq kernel on the model's target.
func whyNNQ(q *nnq.QModel, l *nnq.QLayer) string {
	simd := q.Path == kernels.DSPPath
	code := "plain C (the core has no DSP extension)"
	if simd {
		code = "SIMD code path (SMLAD/SXTB16)"
	}
	relu := ""
	if l.ReLU {
		relu = "; the following ReLU is fused (clamp at 0)"
	}
	g := l.Geom
	plain := "pixels and output channels in pairs, plain C (the core has no DSP extension)" + relu
	switch l.Kernel {
	case kernels.VarNNQConvQ7:
		if !simd {
			return plain
		}
		why := "im2col of four pixels into q15 pairs, one output channel at a time, 8-bit weights (two SXTB16 per word of four); SIMD code path (SMLAD)" + relu
		if q.Bits == 8 && q.Optimize != nnq.OptimizeSize {
			why += "; weights kept 8-bit (the --optimize speed flash budget went to the layers that gain more)"
		}
		return why
	case kernels.VarNNQConvQ7Wide:
		return fmt.Sprintf("im2col of three pixels times two output channels per pass, weights stored pre-expanded to q15 in channel pairs (--optimize speed: %d extra flash bytes; about 0.17 fewer instructions per MAC than 8-bit weights, measured on Cortex-M4); %s%s",
			g.OutC*kernels.NNQKP(g.KX*g.KY*g.InC), code, relu)
	case kernels.VarNNQConvQ15:
		if !simd {
			return plain
		}
		return "im2col of three pixels times two output channels per pass, weights in channel pairs; SIMD code path (SMLAD)" + relu
	case kernels.VarNNQDWConvQ7, kernels.VarNNQDWConvQ15:
		if simd {
			nb, band, n := kernels.NNQDWPlan(g)
			how := "SMLAD over vertically adjacent taps"
			if g.KX == 3 && g.KY == 3 && g.StrideY == 1 {
				how = "3x3 kernel down each output column, two rows per step, SMLAD over vertically adjacent taps"
			}
			return fmt.Sprintf("channels copied into q15 planes (%d per pass, %d output rows per pass, %d scratch bytes); %s%s", nb, band, n, how, relu)
		}
		return "direct loops over the in-range taps; plain C" + relu
	case kernels.VarNNQFCQ7, kernels.VarNNQFCQ15:
		if !simd {
			return "four rows per pass over the vector; " + code + relu
		}
		return fmt.Sprintf("four rows per pass over the vector in q15 pairs (one LDM for the four rows' weights of a step); %s%s", code, relu)
	case kernels.VarNNQMaxpoolQ7, kernels.VarNNQMaxpoolQ15, kernels.VarNNQAvgpoolQ7, kernels.VarNNQAvgpoolQ15:
		why := "in-range window positions (the legacy C-path semantics on every core)"
		switch {
		case simd && q.Bits == 16:
			why += ", two q15 channels per word"
		case simd && l.Kernel == kernels.VarNNQAvgpoolQ7:
			why += ", four q7 channels per word (SXTAB16 lane sums)"
		case simd:
			why += ", four q7 channels per word"
		}
		if l.PoolShift != 0 {
			why += fmt.Sprintf(", average shifted left by %d", l.PoolShift)
		}
		return why
	case kernels.VarNNQGRUQ7, kernels.VarNNQGRUQ15, kernels.VarNNQLSTMQ7, kernels.VarNNQLSTMQ15:
		return "nnq's time-step loop over its FC kernel (" + code + "), sigmoid/tanh tables and CMSIS-DSP-style element-wise functions"
	case kernels.VarNNQReluQ7, kernels.VarNNQReluQ15:
		if simd {
			return "in place, four q7 (two q15) values per word (no layer before it to fuse into)"
		}
		return "in place (no layer before it to fuse into)"
	}
	return "the legacy library's function of the op, plain C, under nnq's name"
}
