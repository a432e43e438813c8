package codegen

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// Code generation of the recurrent layers (gru, lstm): four parameter
// arrays (W_ih, b_ih, W_hh, b_hh) and one call of nnq_gru_q7/q15 or
// nnq_lstm_q7/q15 with its scalar arguments as a compound literal; the
// gates and state live in the shared scratch buffer (MemPlan.ScratchBytes).
// The nnq runtime's kernels take the weights in nnq's FC order and int32
// pre-shifted biases; the _cmsis ones (--runtime cmsis) row-major weights
// and q7/q15 biases (q7 for a q7 network and q15 for a q15 one).

// addRecurrent appends layer i's arrays and code to d.
func (d *tmplData) addRecurrent(q *nnq.QModel, i int, st StepPlan, ptr func(int) string, scratch bool) error {
	l := q.Layers[i]
	v := l.Kernel
	if err := v.Valid(l.Geom, q.Path); err != nil {
		return fmt.Errorf("codegen: layer %q: kernel %s does not fit its geometry on the %s path: %v", l.Name, v, q.Path, err)
	}
	p, err := l.RecurrentParams()
	if err != nil {
		return fmt.Errorf("codegen: %w", err)
	}
	if !scratch || scratchBytes(l) == 0 {
		return fmt.Errorf("codegen: layer %q: %s needs the scratch buffer", l.Name, v)
	}
	typ, wbits := "q7_t", 8
	if q.Bits == 16 {
		typ, wbits = "q15_t", 16
	}
	gates := kernels.RNNGates(v)
	order := "r, z, n"
	if gates == 4 {
		order = "i, f, g, o"
	}
	base := fmt.Sprintf("nn_l%d_%s", i, ident(l.Name))
	var names []string
	if !isCMSISRecurrent(v) {
		fc := kernels.VarNNQFCQ7
		if q.Bits == 16 {
			fc = kernels.VarNNQFCQ15
		}
		for _, sp := range l.Sub {
			if err := checkValues(l, "weights W_"+sp.Name, sp.Weights, wbits); err != nil {
				return err
			}
			if err := checkValues(l, "bias b_"+sp.Name, sp.Bias, wbits); err != nil {
				return err
			}
			w, err := kernels.NNQFCWeights(fc, sp.Rows, sp.Cols, sp.Weights)
			if err != nil {
				return fmt.Errorf("codegen: layer %q: W_%s: %w", l.Name, sp.Name, err)
			}
			b32 := kernels.NNQBias32(sp.Bias, sp.BiasShift, sp.OutShift, q.Rounding)
			wa := cArray{Ident: base + "_w" + sp.Name, Type: typ, Len: len(w), Bytes: len(w) * wbits / 8,
				Comment: []string{fmt.Sprintf("layer %d %q (%s): weights W_%s %s, row-major [%d][%d] (gates %s stacked) in %s's order",
					i, l.Name, l.Op, sp.Name, nnq.QFormat(wbits, sp.WeightFrac), sp.Rows, sp.Cols, order, fc)},
				Rows: valueRows(w, 16)}
			ba := cArray{Ident: base + "_b" + sp.Name, Type: "int32_t", Len: len(b32), Bytes: 4 * len(b32),
				Comment: []string{fmt.Sprintf("layer %d %q (%s): bias b_%s %s << %d + rounding term, %d int32 values",
					i, l.Name, l.Op, sp.Name, nnq.QFormat(wbits, sp.BiasFrac), sp.BiasShift, len(b32))},
				Rows: intRows(b32, 8)}
			d.Arrays = append(d.Arrays, wa, ba)
			d.WeightBytes += wa.Bytes + ba.Bytes
			names = append(names, wa.Ident+".v", ba.Ident+".v")
		}
	}
	for _, sp := range l.Sub {
		if !isCMSISRecurrent(v) {
			break
		}
		for _, part := range []struct {
			suffix, what string
			vals         []int16
			frac         int
		}{{"_w" + sp.Name, "weights W_" + sp.Name, sp.Weights, sp.WeightFrac}, {"_b" + sp.Name, "bias b_" + sp.Name, sp.Bias, sp.BiasFrac}} {
			if err := checkValues(l, part.what, part.vals, wbits); err != nil {
				return err
			}
			shape := fmt.Sprintf("row-major [%d][%d], gates %s stacked", sp.Rows, sp.Cols, order)
			if part.suffix[1] == 'b' {
				shape = fmt.Sprintf("[%d] (bias_shift %d)", sp.Rows, sp.BiasShift)
			}
			arr := cArray{Ident: base + part.suffix, Type: typ, Len: len(part.vals), Bytes: len(part.vals) * wbits / 8,
				Comment: []string{fmt.Sprintf("layer %d %q (%s): %s %s, %s", i, l.Name, l.Op, part.what, nnq.QFormat(wbits, part.frac), shape)},
				Rows:    valueRows(part.vals, 16)}
			d.Arrays = append(d.Arrays, arr)
			d.WeightBytes += arr.Bytes
			names = append(names, arr.Ident+".v")
		}
	}
	if len(names) != 4 {
		return fmt.Errorf("codegen: layer %q has %d weight sets, want ih and hh", l.Name, len(l.Sub))
	}
	for _, c := range []struct {
		what   string
		v, max int
	}{{"steps", p.Steps, 65535}, {"dim_in", p.DimIn, 65535}, {"hidden", p.Hidden, 65535},
		{"ih bias_shift", p.IHBiasShift, 31}, {"ih out_shift", p.IHOutShift, 30}, {"hh bias_shift", p.HHBiasShift, 31},
		{"hh out_shift", p.HHOutShift, 30}, {"gate_shift", p.GateShift, 15}, {"gate_int_width", p.GateIntWidth, 3},
		{"cell_out_shift", p.CellOutShift, 30}, {"cell_shift", p.CellShift, 15}, {"cell_int_width", p.CellIntWidth, 3}} {
		if err := checkRange(l, c.what, c.v, 0, c.max); err != nil {
			return err
		}
	}
	rs := 0
	if p.ReturnSequences {
		rs = 1
	}
	params := fmt.Sprintf("&(const nnq_rnn_params){.steps = %d, .dim_in = %d, .hidden = %d, .return_sequences = %d, "+
		".ih_bias_shift = %d, .ih_out_shift = %d, .hh_bias_shift = %d, .hh_out_shift = %d, .gate_shift = %d, .gate_int_width = %d, "+
		".cell_out_shift = %d, .cell_shift = %d, .cell_int_width = %d}",
		p.Steps, p.DimIn, p.Hidden, rs, p.IHBiasShift, p.IHOutShift, p.HHBiasShift, p.HHOutShift, p.GateShift, p.GateIntWidth,
		p.CellOutShift, p.CellShift, p.CellIntWidth)
	c := &cLayer{Index: i, Name: l.Name, Out: ptr(st.Output), OutBytes: l.Out.Size() * elemBytes(q), Status: true}
	c.Call = fmt.Sprintf("%s(%s, %s, %s, %s, %s,\n        %s,\n        %s, NN_SCRATCH_Q15)", v, ptr(st.Inputs[0]), names[0], names[1], names[2], names[3], params, c.Out)
	c.Comment = layerComment(q, i, st)
	c.Comment = append(c.Comment, l.RecurrentFormats(q.Bits))
	d.AnyStatus = true
	d.Layers = append(d.Layers, c)
	return nil
}

// recurrentRow is the format table row of a recurrent layer (its two FCs'
// formats and shifts as ih/hh pairs).
func recurrentRow(q *nnq.QModel, i int, fn string) formatRow {
	l := q.Layers[i]
	row := formatRow{Index: i, Name: l.Name, Op: string(l.Op), Out: nnq.QFormat(q.Bits, l.OutFrac), Fn: fn, In: nnq.QFormat(q.Bits, l.InFrac[0])}
	if len(l.Sub) == 2 {
		ih, hh := l.Sub[0], l.Sub[1]
		row.W = nnq.QFormat(q.Bits, ih.WeightFrac) + "/" + nnq.QFormat(q.Bits, hh.WeightFrac)
		row.B = nnq.QFormat(q.Bits, ih.BiasFrac) + "/" + nnq.QFormat(q.Bits, hh.BiasFrac)
		row.BS = fmt.Sprintf("%d/%d", ih.BiasShift, hh.BiasShift)
		row.OS = fmt.Sprintf("%d/%d", ih.OutShift, hh.OutShift)
	}
	return row
}

// isCMSISRecurrent reports whether v is a recurrent kernel over the legacy
// CMSIS-NN functions.
func isCMSISRecurrent(v kernels.Variant) bool {
	switch v {
	case kernels.VarNNQGRUCMSISQ7, kernels.VarNNQGRUCMSISQ15, kernels.VarNNQLSTMCMSISQ7, kernels.VarNNQLSTMCMSISQ15:
		return true
	}
	return false
}
