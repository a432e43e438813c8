package codegen

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// Code generation of the layers that run nnq's own kernels (codegen/crt,
// nnq_kernels.h): a const parameter struct per layer, the weights in the
// order the kernel reads them (kernels.NNQConvWeights, NNQFCWeights; the
// depthwise kernels keep [ky][kx][ch]) and int32 biases pre-shifted with
// the rounding term (kernels.NNQBias32).

// nnqWeights returns layer l's weights in the order its nnq kernel reads
// them, their C element type, and a description of the order.
func nnqWeights(q *nnq.QModel, l *nnq.QLayer) ([]int16, string, string, error) {
	g, v := l.Geom, l.Kernel
	typ := "q7_t"
	if q.Bits == 16 || v == kernels.VarNNQConvQ7Wide {
		typ = "q15_t"
	}
	switch v.Kind() {
	case kernels.KindConv:
		k := g.KY * g.KX * g.InC
		pairs := kernels.NNQConvPairs(v, q.Path)
		w, err := kernels.NNQConvWeights(v, g.OutC, k, l.Weights, pairs)
		order := fmt.Sprintf("OHWI [%d][%d][%d][%d], rows padded from %d to %d taps", g.OutC, g.KY, g.KX, g.InC, k, kernels.NNQKP(k))
		switch {
		case v == kernels.VarNNQConvQ7Wide:
			order += ", pre-expanded to q15, channel pairs interleaved per pair of taps (w0,w2),(w1,w3) of each 4 (--optimize speed)"
		case pairs:
			order += ", channel pairs interleaved per pair of taps"
		}
		return w, typ, order, err
	case kernels.KindDepthwise:
		return l.Weights, typ, fmt.Sprintf("[ky][kx][ch] [%d][%d][%d]", g.KY, g.KX, g.InC), nil
	case kernels.KindFC:
		rows, cols := l.Out.Size(), l.In[0].Size()
		w, err := kernels.NNQFCWeights(v, rows, cols, l.Weights)
		return w, typ, fmt.Sprintf("row-major [%d][%d] in %s's order (row blocks of 4, columns padded to %d)", rows, cols, v, kernels.NNQKP(cols)), err
	}
	return nil, "", "", fmt.Errorf("codegen: layer %q: %s takes no weights", l.Name, v)
}

// addNNQParams adds the weight and int32 bias arrays of a conv, depthwise
// or FC layer on an nnq kernel and returns their C expressions.
func (d *tmplData) addNNQParams(q *nnq.QModel, i int) (string, string, error) {
	l := q.Layers[i]
	w, typ, order, err := nnqWeights(q, l)
	if err != nil {
		return "", "", fmt.Errorf("codegen: layer %q: %w", l.Name, err)
	}
	if err := checkValues(l, "weight", w, q.Bits); err != nil {
		return "", "", err
	}
	ebytes := 1
	if typ == "q15_t" {
		ebytes = 2
	}
	base := fmt.Sprintf("nn_l%d_%s", i, ident(l.Name))
	arr := cArray{Ident: base + "_w", Type: typ, Len: len(w), Bytes: len(w) * ebytes,
		Comment: []string{fmt.Sprintf("layer %d %q (%s): weights %s, %s, %d values", i, l.Name, l.Op, nnq.QFormat(q.Bits, l.WeightFrac), order, len(w))},
		Rows:    valueRows(w, 16)}
	bias := l.Bias
	nb := biasLen(l)
	if len(bias) == 0 {
		bias = make([]int16, nb)
	} else if len(bias) != nb {
		return "", "", fmt.Errorf("codegen: layer %q has %d biases, want %d", l.Name, len(bias), nb)
	}
	if err := checkValues(l, "bias", bias, q.Bits); err != nil {
		return "", "", err
	}
	b32 := kernels.NNQBias32(bias, l.BiasShift, l.OutShift, q.Rounding)
	barr := cArray{Ident: base + "_b", Type: "int32_t", Len: len(b32), Bytes: 4 * len(b32),
		Comment: []string{fmt.Sprintf("layer %d %q (%s): bias %s << bias_shift %d + rounding term of out_shift %d, %d int32 values", i, l.Name, l.Op,
			nnq.QFormat(q.Bits, l.BiasFrac), l.BiasShift, l.OutShift, len(b32))},
		Rows: intRows(b32, 8)}
	if len(l.Bias) == 0 {
		barr.Comment = append(barr.Comment, "the layer has no bias: rounding terms only")
	}
	d.Arrays = append(d.Arrays, arr, barr)
	d.WeightBytes += arr.Bytes + barr.Bytes
	return arr.Ident + ".v", barr.Ident + ".v", nil
}

// convParams is the nnq_conv_params initializer of layer l.
func convParams(q *nnq.QModel, l *nnq.QLayer, shift int, relu bool) string {
	g := l.Geom
	nb, band := 0, 0
	switch {
	case l.Kernel.Kind() == kernels.KindDepthwise:
		nb, band, _ = kernels.NNQDWPlan(g)
	case kernels.NNQConvPairs(l.Kernel, q.Path):
		nb = 2
	}
	r := 0
	if relu {
		r = 1
	}
	return fmt.Sprintf("{.in_x = %d, .in_y = %d, .ch_in = %d, .ch_out = %d, .k_x = %d, .k_y = %d, .pad_x = %d, .pad_y = %d,\n"+
		"    .stride_x = %d, .stride_y = %d, .out_x = %d, .out_y = %d, .out_shift = %d, .relu = %d, .nb = %d, .band = %d}",
		g.InX, g.InY, g.InC, g.OutC, g.KX, g.KY, g.PadX, g.PadY, g.StrideX, g.StrideY, g.OutX, g.OutY, shift, r, nb, band)
}

// nnqLayerCode generates the call of layer i's nnq kernel (not the
// recurrent ones); in is the input pointer (or its copy), w and b the
// parameter arrays (conv, depthwise, FC).
func nnqLayerCode(q *nnq.QModel, i int, c *cLayer, in []string, src, w, b string, scratch bool) error {
	l := q.Layers[i]
	v := l.Kernel
	scr := "NULL"
	if scratch && scratchBytes(l) > 0 {
		scr = "NN_SCRATCH"
	}
	pname := fmt.Sprintf("nn_l%d_p", i)
	switch v.Kind() {
	case kernels.KindConv, kernels.KindDepthwise:
		if err := shiftRanges(l); err != nil {
			return err
		}
		if scr == "NULL" && scratchBytes(l) > 0 {
			return fmt.Errorf("codegen: layer %q: %s needs the scratch buffer", l.Name, v)
		}
		c.Decls = append(c.Decls, fmt.Sprintf("static const nnq_conv_params %s = %s;", pname, convParams(q, l, l.OutShift, l.ReLU)))
		c.Call = fmt.Sprintf("%s(%s, &%s, %s, %s, %s, %s)", v, src, pname, w, b, c.Out, scr)
	case kernels.KindFC:
		if err := shiftRanges(l); err != nil {
			return err
		}
		r := 0
		if l.ReLU {
			r = 1
		}
		c.Decls = append(c.Decls, fmt.Sprintf("static const nnq_fc_params %s = {.dim_in = %d, .rows = %d, .out_shift = %d, .relu = %d};",
			pname, l.In[0].Size(), l.Out.Size(), l.OutShift, r))
		c.Call = fmt.Sprintf("%s(%s, &%s, %s, %s, %s, %s)", v, src, pname, w, b, c.Out, scr)
	case kernels.KindPool:
		if err := checkRange(l, "pool_shift", l.PoolShift, 0, kernels.MaxPoolShift); err != nil {
			return err
		}
		c.Decls = append(c.Decls, fmt.Sprintf("static const nnq_conv_params %s = %s;", pname, convParams(q, l, l.PoolShift, false)))
		c.Call = fmt.Sprintf("%s(%s, &%s, %s)", v, src, pname, c.Out)
	case kernels.KindActivation:
		n := l.Out.Size()
		switch v {
		case kernels.VarNNQReluQ7, kernels.VarNNQReluQ15:
			c.Call = fmt.Sprintf("%s(%s, %du)", v, c.Out, n)
		default:
			typ := "NNQ_SIGMOID"
			if l.Op == nnq.OpTanh {
				typ = "NNQ_TANH"
			}
			if err := checkRange(l, "int_width", l.IntWidth, 0, 3); err != nil {
				return err
			}
			c.Call = fmt.Sprintf("%s(%s, %du, %d, %s)", v, c.Out, n, l.IntWidth, typ)
		}
	case kernels.KindSoftmax:
		c.Call = fmt.Sprintf("%s(%s, %du, %s)", v, src, l.Out.Size(), c.Out)
	case kernels.KindElementwise:
		n := l.Out.Size()
		if len(in) != 2 {
			return fmt.Errorf("codegen: layer %q: %s needs two inputs, has %d", l.Name, v, len(in))
		}
		if err := checkRange(l, "out_shift", l.OutShift, 0, 30); err != nil {
			return err
		}
		switch v {
		case kernels.VarNNQAddQ7, kernels.VarNNQAddQ15:
			if len(l.Shifts) != 2 {
				return fmt.Errorf("codegen: layer %q: nnq_add needs two input shifts, has %v", l.Name, l.Shifts)
			}
			for k, s := range l.Shifts {
				if err := checkRange(l, fmt.Sprintf("shift of input %d", k), s, 0, 30); err != nil {
					return err
				}
			}
			c.Call = fmt.Sprintf("%s(%s, %s, %s, %du, %d, %d, %d)", v, in[0], in[1], c.Out, n, l.Shifts[0], l.Shifts[1], l.OutShift)
		default:
			c.Call = fmt.Sprintf("%s(%s, %s, %s, %d, %du)", v, in[0], in[1], c.Out, l.OutShift, n)
		}
	default:
		return fmt.Errorf("codegen: layer %q: no code generation for kernel %s", l.Name, v)
	}
	return nil
}

// shiftRanges checks the shifts of a requantising layer.
func shiftRanges(l *nnq.QLayer) error {
	if err := checkRange(l, "bias_shift", l.BiasShift, 0, 31); err != nil {
		return err
	}
	return checkRange(l, "out_shift", l.OutShift, 0, 30)
}
