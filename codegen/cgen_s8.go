package codegen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nnq-toolkit/nnq/codegen/crt"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// Code generation for s8/s16 networks: every layer calls today's CMSIS-NN
// API (arm_convolve_wrapper_s8, arm_fully_connected_s8, ...) or one of
// nnq's own kernels (nnq_s8_nnq.h) with the arguments of nnq.S8Call, as
// static const structs in nn.c; per-channel multipliers, shifts, weights and
// biases live in nn_weights.h. Every call that takes a cmsis_nn_context asks
// its *_get_buffer_size function for the scratch it needs and gets the
// shared scratch buffer (sized by the memory plan for C and DSP builds).

// s8Data is what the s8/s16 templates need beyond tmplData.
type s8Data struct {
	// Decls are file-scope declarations of nn.c (parameter structs).
	Decls  []string
	Layers []*s8Layer
	// Input and output formats; InvInputScale and OutputScale are exact C
	// double literals.
	InputZero, OutputZero      int32
	InvInputScale, OutputScale string
	InputScale                 string
	// Tables lists the shared tables' comments (activation, softmax).
	AnyCtx bool
}

// s8Layer is one layer's code in nn_run.
type s8Layer struct {
	Index    int
	Comment  []string
	Lines    []string
	Out      string
	OutBytes int
}

// s8ElementWise reports whether an s8/s16 layer's function works element
// by element (its output may take over a dying input's buffer).
func s8ElementWise(l *nnq.QLayer) bool {
	switch l.S8.Function {
	case "nnq_clamp_s8", "nnq_clamp_s16", "nnq_lut_s8", "nnq_act_s16", "arm_elementwise_add_s8", "arm_elementwise_mul_s8", "nnq_add_s16", "nnq_mul_s16":
		return true
	}
	return false
}

// doubleLit renders v as a C double literal that converts back exactly.
func doubleLit(v float64) string {
	s := strconv.FormatFloat(v, 'g', 17, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// intRows formats integers perLine to a line (decimal constants: C gives
// each the first type that holds it; biases never reach the int64 minimum).
func intRows[T int8 | int16 | int32 | int64](v []T, perLine int) []string {
	var rows []string
	for i := 0; i < len(v); i += perLine {
		end := min(i+perLine, len(v))
		parts := make([]string, 0, end-i)
		for _, x := range v[i:end] {
			parts = append(parts, strconv.FormatInt(int64(x), 10))
		}
		rows = append(rows, strings.Join(parts, ", ")+",")
	}
	return rows
}

// s8Array makes a const array of nn_weights.h.
func s8Array[T int8 | int16 | int32 | int64](ident, typ string, size int, v []T, comment ...string) cArray {
	return cArray{Ident: ident, Type: typ, Len: len(v), Bytes: len(v) * size, Comment: comment, Rows: intRows(v, 16)}
}

func dimsLit(d kernels.Dims) string {
	return fmt.Sprintf("{.n = %d, .h = %d, .w = %d, .c = %d}", d.N, d.H, d.W, d.C)
}

func tileLit(t kernels.Tile) string { return fmt.Sprintf("{.w = %d, .h = %d}", t.W, t.H) }

func actLit(a kernels.Activation) string { return fmt.Sprintf("{.min = %d, .max = %d}", a.Min, a.Max) }

// buildDataS8 prepares everything the s8/s16 templates need.
func buildDataS8(q *nnq.QModel, plan *MemPlan) (*tmplData, error) {
	eb := elemBytes(q)
	d := &tmplData{Name: q.Name, Type: q.TypeName(), Bits: q.Bits, Target: q.Target, Path: q.Path.String(),
		DSP: q.Path == kernels.DSPPath, Round: q.AffineRounding.Short(), NumLayers: len(q.Layers), Mem: plan,
		ActBytes: plan.ActivationBytes, ScratchBytes: plan.ScratchBytes, ArenaBytes: plan.ArenaBytes,
		LowerBound: plan.LowerBound, Naive: plan.Naive, Strategy: plan.Strategy, S8: &s8Data{}}
	if d.Name == "" {
		d.Name = "nn"
	}
	// Single rounding: every build of the project (nnq's runtime and the
	// library alike) defines CMSIS_NN_USE_SINGLE_ROUNDING.
	d.Rounding = q.AffineRounding.Macro()
	if !q.AffineRounding.IsDefault() {
		d.AffineRounding = q.AffineRounding.Describe()
	}
	d.ElemC, d.MinVal, d.MaxVal = "int8_t", -128, 127
	if q.Bits == 16 {
		d.ElemC, d.MinVal, d.MaxVal = "int16_t", -32768, 32767
	}
	d.ActElems = plan.ActivationBytes / eb
	first, last := q.Layers[0], q.Layers[len(q.Layers)-1]
	d.InputSize, d.InputShape, d.InputLayout = first.In[0].Size(), shapeStr(first.In[0].Shape), "vector"
	if first.In[0].Spatial() {
		d.InputLayout = "HWC order"
	}
	d.OutSize, d.OutputShape = last.Out.Size(), shapeStr(last.Out.Shape)
	in, out := q.InputAffine(), q.OutputAffine()
	d.InputFmt, d.OutFmt = fmt.Sprintf("scale %g, zero point %d", in.Scale, in.Zero), fmt.Sprintf("scale %g, zero point %d", out.Scale, out.Zero)
	s := d.S8
	s.InputZero, s.OutputZero = in.Zero, out.Zero
	s.InvInputScale, s.InputScale, s.OutputScale = doubleLit(1/in.Scale), doubleLit(in.Scale), doubleLit(out.Scale)
	if len(q.Float.Classes) == d.OutSize {
		d.Classes = q.Float.Classes
		for _, c := range q.Float.Classes {
			d.ClassesC = append(d.ClassesC, cQuote(c))
		}
	}
	d.runtimeFiles(crt.S8, func(f string) bool { return f == "nnq_s8_nnq.c" })
	macros := d.tensorMacros(plan, eb)
	g := &s8Gen{q: q, d: d, plan: plan, macros: macros}
	for i := range q.Layers {
		if err := g.layer(i); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// s8Gen generates the layers of one export.
type s8Gen struct {
	q      *nnq.QModel
	d      *tmplData
	plan   *MemPlan
	macros []string
	// shared tables emitted once
	actTables, softmaxTables bool
}

func (g *s8Gen) array(a cArray) string {
	g.d.Arrays = append(g.d.Arrays, a)
	g.d.WeightBytes += a.Bytes
	return a.Ident + ".v"
}

func (g *s8Gen) decl(format string, a ...any) {
	g.d.S8.Decls = append(g.d.S8.Decls, fmt.Sprintf(format, a...))
}

// actTablesS16 emits the sigmoid and tanh tables once.
func (g *s8Gen) actTablesS16() (sig, tanh string) {
	if !g.actTables {
		st, tt := nnq.ActTablesS16()
		g.array(s8Array("nn_sigmoid_s16", "int16_t", 2, st, "sigmoid on Q3.12 [-8, 8], 513 entries, Q0.15 (nnq_act_s16, recurrent kernels)"))
		g.array(s8Array("nn_tanh_s16", "int16_t", 2, tt, "tanh on Q3.12 [-8, 8], 513 entries, Q0.15"))
		g.actTables = true
	}
	return "nn_sigmoid_s16.v", "nn_tanh_s16.v"
}

// status appends a call returning arm_cmsis_nn_status with its check.
func status(l *s8Layer, call string) {
	l.Lines = append(l.Lines, "status = "+call+";",
		"if (status != ARM_CMSIS_NN_SUCCESS) {", fmt.Sprintf("    nn_failed = %d;", l.Index), "    return (int)status;", "}")
}

// ctx appends the scratch set-up of a call: sizeFn (a call of the
// function's *_get_buffer_size, or "" for none) must fit the buffer.
func (g *s8Gen) ctx(l *s8Layer, sizeFn string) {
	g.d.S8.AnyCtx = true
	if sizeFn == "" {
		l.Lines = append(l.Lines, "ctx.buf = NULL;", "ctx.size = 0;")
		return
	}
	l.Lines = append(l.Lines, "ctx.size = "+sizeFn+";",
		"if (ctx.size < 0 || ctx.size > NN_SCRATCH_BYTES) {", fmt.Sprintf("    nn_failed = %d;", l.Index), "    return NN_ERR_SCRATCH;", "}",
		"ctx.buf = ctx.size > 0 ? NN_SCRATCH_PTR : NULL;")
}

func (g *s8Gen) layer(i int) error {
	q, d := g.q, g.d
	l := q.Layers[i]
	st := g.plan.Steps[i]
	s := l.S8
	cl := &s8Layer{Index: i, Out: g.macros[st.Output], OutBytes: l.Out.Size() * elemBytes(q)}
	d.S8.Layers = append(d.S8.Layers, cl)
	cl.Comment = s8Comment(q, i, st)
	kc := KernelChoice{Layer: i, Name: l.Name, Op: l.Op, ScratchBytes: s.Scratch, InPlace: st.Reuses >= 0}
	d.Rows = append(d.Rows, s8Row(q, i))
	defer func() { d.Kernels = append(d.Kernels, kc) }()
	call, err := q.S8Call(i)
	if err != nil {
		return fmt.Errorf("codegen: %w", err)
	}
	if call == nil {
		return nil
	}
	kc.Function, kc.NNQ = call.Function, strings.HasPrefix(call.Function, "nnq_")
	if kc.NNQ {
		kc.Why = s8Why(l)
		d.NNQKernels = append(d.NNQKernels, kc)
	}
	in := make([]string, len(st.Inputs))
	for k, t := range st.Inputs {
		in[k] = g.macros[t]
	}
	out := cl.Out
	base := fmt.Sprintf("nn_l%d_%s", i, ident(l.Name))
	s16 := q.Bits == 16
	wtype := func() (string, string) { // weights and bias arrays
		w := g.array(s8Array(base+"_w", "int8_t", 1, s.Weights, fmt.Sprintf("layer %d %q (%s): int8 weights, %s", i, l.Name, l.Op, weightOrderS8(l))))
		if s16 {
			return w, g.array(s8Array(base+"_b", "int64_t", 8, s.Bias64, fmt.Sprintf("layer %d %q: int64 bias at scale input*weight", i, l.Name)))
		}
		return w, g.array(s8Array(base+"_b", "int32_t", 4, s.Bias32, fmt.Sprintf("layer %d %q: int32 bias at scale input*weight", i, l.Name)))
	}
	perChannel := func() {
		m := g.array(s8Array(base+"_mult", "int32_t", 4, s.Mult, fmt.Sprintf("layer %d %q: requantization multipliers (Q31), one per output channel", i, l.Name)))
		sh := g.array(s8Array(base+"_shift", "int32_t", 4, s.Shift, fmt.Sprintf("layer %d %q: requantization shifts (positive = left)", i, l.Name)))
		g.decl("static const cmsis_nn_per_channel_quant_params %s_quant = {(int32_t *)%s, (int32_t *)%s};", base, m, sh)
	}
	dims := func() {
		g.decl("static const cmsis_nn_dims %s_in = %s, %s_filter = %s,\n    %s_bias = {.n = 1, .h = 1, .w = 1, .c = %d}, %s_out = %s;",
			base, dimsLit(call.In), base, dimsLit(call.Filter), base, call.Out.C, base, dimsLit(call.Out))
	}
	args := fmt.Sprintf("&%[1]s_in, %[2]s, &%[1]s_filter, %%s, &%[1]s_bias, %%s, &%[1]s_out, %[3]s", base, in[0], out)
	switch l.Op {
	case nnq.OpConv2D, nnq.OpDepthwiseConv2D:
		w, b := wtype()
		perChannel()
		dims()
		if l.Op == nnq.OpConv2D {
			p := call.Conv
			g.decl("static const cmsis_nn_conv_params %s_params = {.input_offset = %d, .output_offset = %d, .stride = %s, .padding = %s,\n    .dilation = %s, .activation = %s};",
				base, p.InputOffset, p.OutputOffset, tileLit(p.Stride), tileLit(p.Padding), tileLit(p.Dilation), actLit(p.Activation))
		} else {
			p := call.Dw
			g.decl("static const cmsis_nn_dw_conv_params %s_params = {.input_offset = %d, .output_offset = %d, .ch_mult = %d, .stride = %s,\n    .padding = %s, .dilation = %s, .activation = %s};",
				base, p.InputOffset, p.OutputOffset, p.ChMult, tileLit(p.Stride), tileLit(p.Padding), tileLit(p.Dilation), actLit(p.Activation))
		}
		if l.Op == nnq.OpConv2D && s16 {
			g.decl("static const cmsis_nn_bias_data %s_bias_data = {%s, false};", base, b)
			b = "&" + base + "_bias_data"
		}
		g.ctx(cl, fmt.Sprintf("%s_get_buffer_size(&%s_params, &%s_in, &%s_filter, &%s_out)", call.Function, base, base, base, base))
		status(cl, fmt.Sprintf("%s(&ctx, &%s_params, &%s_quant,\n        "+args+")", call.Function, base, base, w, b))
	case nnq.OpDense:
		w, b := wtype()
		dims()
		p := call.FC
		g.decl("static const cmsis_nn_fc_params %s_params = {.input_offset = %d, .filter_offset = 0, .output_offset = %d, .activation = %s};",
			base, p.InputOffset, p.OutputOffset, actLit(p.Activation))
		g.decl("static const cmsis_nn_per_tensor_quant_params %s_quant = {.multiplier = %d, .shift = %d};", base, call.TensorQuant.Multiplier, call.TensorQuant.Shift)
		g.ctx(cl, fmt.Sprintf("%s_get_buffer_size(&%s_filter)", call.Function, base))
		status(cl, fmt.Sprintf("%s(&ctx, &%s_params, &%s_quant,\n        "+args+")", call.Function, base, base, w, b))
	case nnq.OpMaxPool2D, nnq.OpAvgPool2D:
		p := call.Pool
		g.decl("static const cmsis_nn_pool_params %s_params = {.stride = %s, .padding = %s, .activation = %s};", base, tileLit(p.Stride), tileLit(p.Padding), actLit(p.Activation))
		g.decl("static const cmsis_nn_dims %s_in = %s, %s_filter = %s, %s_out = %s;", base, dimsLit(call.In), base, dimsLit(call.Filter), base, dimsLit(call.Out))
		size := ""
		if l.Op == nnq.OpAvgPool2D && !strings.HasPrefix(call.Function, "nnq_") { // nnq's pools need no scratch
			size = fmt.Sprintf("%s_get_buffer_size(%d, %d)", call.Function, call.Out.W, call.In.C)
		}
		g.ctx(cl, size)
		status(cl, fmt.Sprintf("%s(&ctx, &%s_params, &%s_in, %s, &%s_filter, &%s_out, %s)", call.Function, base, base, in[0], base, base, out))
	case nnq.OpSoftmax:
		tq := call.TensorQuant
		if !s16 {
			cl.Lines = append(cl.Lines, fmt.Sprintf("arm_softmax_s8(%s, 1, %d, %d, %d, %d, %s);", in[0], call.N, tq.Multiplier, tq.Shift, s.DiffMin, out))
			break
		}
		if !g.softmaxTables {
			e, r := nnq.SoftmaxTablesS16()
			g.array(s8Array("nn_softmax_exp_s16", "int16_t", 2, e, "arm_softmax_s16: exp on [-10, 0], 513 entries (TFLite's table)"))
			g.array(s8Array("nn_softmax_one_s16", "int16_t", 2, r, "arm_softmax_s16: 1/(1+x) on [0, 1], 513 entries"))
			g.decl("static const cmsis_nn_softmax_lut_s16 nn_softmax_lut_s16 = {nn_softmax_exp_s16.v, nn_softmax_one_s16.v};")
			g.softmaxTables = true
		}
		status(cl, fmt.Sprintf("arm_softmax_s16(%s, 1, %d, %d, %d, &nn_softmax_lut_s16, %s)", in[0], call.N, tq.Multiplier, tq.Shift, out))
		cl.Lines = append(cl.Lines, fmt.Sprintf("nnq_softmax_s16_unwrap(%s, %d); /* the library stores an unclamped 32768 as -32768 */", out, call.N))
	case nnq.OpReLU:
		status(cl, fmt.Sprintf("%s(%s, %d, %d, %s, %d)", call.Function, in[0], s.ActMin, s.ActMax, out, call.N))
	case nnq.OpSigmoid, nnq.OpTanh:
		if s16 {
			sig, tanh := g.actTablesS16()
			t := sig
			if l.Op == nnq.OpTanh {
				t = tanh
			}
			status(cl, fmt.Sprintf("nnq_act_s16(%s, %d, %d, %s, %s, %d)", in[0], call.TensorQuant.Multiplier, call.TensorQuant.Shift, t, out, call.N))
			break
		}
		lut := g.array(s8Array(base+"_lut", "int8_t", 1, s.LUT, fmt.Sprintf("layer %d %q: %s table, 256 entries indexed by input + 128", i, l.Name, l.Op)))
		status(cl, fmt.Sprintf("nnq_lut_s8(%s, %s, %s, %d)", in[0], lut, out, call.N))
	case nnq.OpAdd:
		p := s.Add
		if s16 {
			status(cl, fmt.Sprintf("nnq_add_s16(%s, %s, %d, %d, %d, %d, %d,\n        %s, %d, %d, %d, %d, %d)", in[0], in[1],
				p.Input1Mult, p.Input1Shift, p.Input2Mult, p.Input2Shift, p.LeftShift, out, p.OutMult, p.OutShift, p.OutActivationMin, p.OutActivationMax, call.N))
			break
		}
		status(cl, fmt.Sprintf("arm_elementwise_add_s8(%s, %s, %d, %d, %d, %d, %d, %d, %d,\n        %s, %d, %d, %d, %d, %d, %d)", in[0], in[1],
			p.Input1Offset, p.Input1Mult, p.Input1Shift, p.Input2Offset, p.Input2Mult, p.Input2Shift, p.LeftShift, out, p.OutOffset, p.OutMult, p.OutShift,
			p.OutActivationMin, p.OutActivationMax, call.N))
	case nnq.OpMul:
		p := s.Mul
		fn, offs := "arm_elementwise_mul_s8", fmt.Sprintf("%d, %d, ", p.Input1Offset, p.Input2Offset)
		outOff := fmt.Sprintf("%d, ", p.OutOffset)
		if s16 {
			fn, offs, outOff = "nnq_mul_s16", "", ""
		}
		status(cl, fmt.Sprintf("%s(%s, %s, %s%s, %s%d, %d, %d, %d, %d)", fn, in[0], in[1], offs, out, outOff, p.OutMult, p.OutShift,
			p.OutActivationMin, p.OutActivationMax, call.N))
	case nnq.OpGRU, nnq.OpLSTM:
		return g.recurrent(cl, i, base, in[0], out, call)
	default:
		return fmt.Errorf("codegen: layer %q: no %s code generation for %s", l.Name, q.TypeName(), l.Op)
	}
	return nil
}

func (g *s8Gen) recurrent(cl *s8Layer, i int, base, in, out string, call *nnq.S8Call) error {
	l := g.q.Layers[i]
	r := l.S8.RNN
	if g.plan.ScratchBytes < r.ScratchBytes() {
		return fmt.Errorf("codegen: layer %q needs %d bytes of scratch, the plan has %d", l.Name, r.ScratchBytes(), g.plan.ScratchBytes)
	}
	order := "r, z, n"
	if r.LSTM {
		order = "i, f, g, o"
	}
	wih := g.array(s8Array(base+"_wih", "int8_t", 1, r.Wih, fmt.Sprintf("layer %d %q: W_ih [%d][%d] int8 (a scale per row), gates %s stacked", i, l.Name, len(r.Bx), r.DimIn, order)))
	bx := g.array(s8Array(base+"_bx", "int64_t", 8, r.Bx, fmt.Sprintf("layer %d %q: folded input bias, int64 at scale input*W_ih", i, l.Name)))
	whh := g.array(s8Array(base+"_whh", "int8_t", 1, r.Whh, fmt.Sprintf("layer %d %q: W_hh [%d][%d] int8 (a scale per row)", i, l.Name, len(r.Bh), r.Hidden)))
	bh := g.array(s8Array(base+"_bh", "int64_t", 8, r.Bh, fmt.Sprintf("layer %d %q: hidden bias, int64 at scale 2^-15*W_hh", i, l.Name)))
	sig, tanh := g.actTablesS16()
	qp := func(p kernels.PerTensorQuantParams) string { return fmt.Sprintf("{%d, %d}", p.Multiplier, p.Shift) }
	pc := func(name string, p kernels.PerChannelQuantParams) string {
		m := g.array(s8Array(base+"_"+name+"_mult", "int32_t", 4, p.Multiplier, fmt.Sprintf("layer %d %q: %s multipliers (Q31), one per row", i, l.Name, name)))
		s := g.array(s8Array(base+"_"+name+"_shift", "int32_t", 4, p.Shift, fmt.Sprintf("layer %d %q: %s shifts", i, l.Name, name)))
		return fmt.Sprintf("{(int32_t *)%s, (int32_t *)%s}", m, s)
	}
	g.decl("static const nnq_rnn_s8_params %s_rnn = {.steps = %d, .dim_in = %d, .hidden = %d, .return_sequences = %d, .input_offset = %d,\n"+
		"    .ih = %s, .hh = %s,\n    .gate = %s, .cell = %s, .cell_act = %s};", base, r.Steps, r.DimIn, r.Hidden, b2i(r.ReturnSequences), r.InputOffset,
		pc("ih", r.IH), pc("hh", r.HH), qp(r.Gate), qp(r.Cell), qp(r.CellAct))
	status(cl, fmt.Sprintf("%s(%s, %s, %s, %s, %s, &%s_rnn,\n        %s, %s, %s, (int16_t *)NN_SCRATCH_PTR)", call.Function, in, wih, bx, whh, bh, base, sig, tanh, out))
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func weightOrderS8(l *nnq.QLayer) string {
	g := l.Geom
	switch l.Op {
	case nnq.OpConv2D:
		return fmt.Sprintf("OHWI [%d][%d][%d][%d], one scale per output channel", g.OutC, g.KY, g.KX, g.InC)
	case nnq.OpDepthwiseConv2D:
		return fmt.Sprintf("[1][%d][%d][%d] (HWC), one scale per channel", g.KY, g.KX, g.OutC)
	}
	return fmt.Sprintf("row-major [%d][%d], one scale (scale %g)", l.Out.Size(), l.In[0].Size(), l.S8.WeightScale[0])
}

// s8Why explains why a layer runs on one of nnq's own kernels.
func s8Why(l *nnq.QLayer) string {
	switch l.Op {
	case nnq.OpReLU:
		return "a ReLU its producer cannot fuse: nnq_clamp at the zero point (CMSIS-NN's ReLUs clamp at 0)"
	case nnq.OpSigmoid, nnq.OpTanh:
		return "CMSIS-NN has no int8 sigmoid/tanh (TFLite uses a table); nnq's table kernel (int16: interpolated table on Q3.12)"
	case nnq.OpAdd, nnq.OpMul:
		return "nnq's runtime has no int16 element-wise kernels of the library: nnq's own (TFLite's int16 arithmetic)"
	case nnq.OpAvgPool2D:
		return "rounding onnx: the mean rounds half to even (ONNX QuantizeLinear, PyTorch); CMSIS-NN's arm_avgpool rounds ties away from zero and has no option for it"
	case nnq.OpGRU, nnq.OpLSTM:
		return "CMSIS-NN has no GRU, and its LSTM feeds the state back in int8: nnq's time-step loop over arm_convolve_wrapper_s16 (1x1, per-row scales) with an int16 state"
	}
	return ""
}

// s8Row is the formats table row of layer i (W: weight scales, BS: the
// effective multipliers, OS: the shifts).
func s8Row(q *nnq.QModel, i int) formatRow {
	l := q.Layers[i]
	s := l.S8
	var ins []string
	for _, a := range s.In {
		ins = append(ins, a.String())
	}
	row := formatRow{Index: i, Name: l.Name, Op: string(l.Op), In: strings.Join(ins, ", "), Out: s.Out.String(), W: "-", B: "-", BS: "-", OS: "-", Fn: s.Function}
	if len(s.WeightScale) > 0 {
		lo, hi := minMaxF(s.WeightScale)
		row.W = fmt.Sprintf("%.3g..%.3g", lo, hi)
	}
	if lo, hi, ok := l.MultiplierRange(); ok {
		a, b := l.ShiftRange()
		row.BS, row.OS = fmt.Sprintf("%.4g..%.4g", lo, hi), fmt.Sprintf("%d..%d", a, b)
	}
	switch {
	case s.Fused:
		row.Fn = "(fused into " + l.Inputs[0] + ")"
	case row.Fn == "":
		row.Fn = "(buffer view)"
	case s.Kernel != s.Function:
		row.Fn += " -> " + s.Kernel
	}
	return row
}

func minMaxF(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// s8Comment describes layer i in comment lines.
func s8Comment(q *nnq.QModel, i int, st StepPlan) []string {
	l := q.Layers[i]
	s := l.S8
	var ins []string
	for k, a := range l.In {
		ins = append(ins, shapeStr(a.Shape)+" "+s.In[k].String())
	}
	lines := []string{fmt.Sprintf("layer %d %q: %s, %s -> %s %s", i, l.Name, l.Op, strings.Join(ins, " + "), shapeStr(l.Out.Shape), s.Out)}
	var det []string
	if lo, hi, ok := l.MultiplierRange(); ok {
		a, b := l.ShiftRange()
		det = append(det, fmt.Sprintf("effective multiplier %.4g..%.4g, shift %d..%d", lo, hi, a, b))
	}
	if s.Kernel != "" && s.Kernel != s.Function {
		det = append(det, "runs "+s.Kernel)
	}
	if s.FusedReLU {
		det = append(det, "ReLU fused (clamp from the zero point)")
	}
	if s.Fused {
		return append(lines, strings.Join(append(det, "ReLU done by "+l.Inputs[0]+": buffer view, no code"), "; "))
	}
	return planLines(lines, det, st, l.Inputs)
}
