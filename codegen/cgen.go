package codegen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// cArray is one const parameter array of nn_weights.h.
type cArray struct {
	Ident   string // C identifier
	Type    string // q7_t or q15_t
	Comment []string
	Rows    []string // pre-formatted lines of values
	Len     int
	Bytes   int
}

// cTensor is one activation tensor pointer macro of nn.c.
type cTensor struct {
	Macro   string
	Expr    string
	Comment string
}

// cLayer is one layer's code in nn_run.
type cLayer struct {
	Index    int
	Name     string
	Comment  []string
	Decls    []string // file-scope declarations (nnq kernel parameters)
	Pre      []string // statements before the kernel call (copies)
	Call     string   // kernel call expression, "" for a view
	Status   bool     // the call returns arm_status
	Out      string   // output pointer (macro)
	OutBytes int
}

// ident turns a tensor or layer name into a C identifier fragment.
func ident(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

// weightType is the C element type of a layer's weights and bias.
func weightType(v kernels.Variant) (string, int) {
	switch v {
	case kernels.VarFullyConnectedMatQ7VecQ15, kernels.VarFullyConnectedMatQ7VecQ15Opt:
		return "q7_t", 8
	}
	if v.Q15() {
		return "q15_t", 16
	}
	return "q7_t", 8
}

// interleaved returns w in the layout the kernel reads (CMSIS order, or the
// _opt interleaving).
func interleaved(l *nnq.QLayer) []int16 {
	if !l.Kernel.Interleaved() {
		return l.Weights
	}
	rows, cols := l.Out.Size(), l.In[0].Size()
	switch l.Kernel {
	case kernels.VarFullyConnectedQ15Opt:
		return kernels.InterleaveQ15Opt(l.Weights, rows, cols)
	case kernels.VarFullyConnectedQ7Opt:
		return widen(kernels.InterleaveQ7Opt(narrow(l.Weights), rows, cols))
	case kernels.VarFullyConnectedMatQ7VecQ15Opt:
		return widen(kernels.InterleaveMatQ7VecQ15Opt(narrow(l.Weights), rows, cols))
	}
	return l.Weights
}

func narrow(v []int16) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = int8(x)
	}
	return out
}

func widen(v []int8) []int16 {
	out := make([]int16, len(v))
	for i, x := range v {
		out[i] = int16(x)
	}
	return out
}

// valueRows formats values, perLine to a line.
func valueRows(v []int16, perLine int) []string {
	var rows []string
	for i := 0; i < len(v); i += perLine {
		end := min(i+perLine, len(v))
		parts := make([]string, 0, end-i)
		for _, x := range v[i:end] {
			parts = append(parts, strconv.Itoa(int(x)))
		}
		rows = append(rows, strings.Join(parts, ", ")+",")
	}
	return rows
}

// floatRows formats float32 values as C float literals that convert back
// exactly (NaN and Inf cannot occur: patterns are checked finite).
func floatRows(v []float32, perLine int) []string {
	var rows []string
	for i := 0; i < len(v); i += perLine {
		end := min(i+perLine, len(v))
		parts := make([]string, 0, end-i)
		for _, x := range v[i:end] {
			s := strconv.FormatFloat(float64(x), 'g', -1, 32)
			if !strings.ContainsAny(s, ".e") {
				s += ".0"
			}
			parts = append(parts, s+"f")
		}
		rows = append(rows, strings.Join(parts, ", ")+",")
	}
	return rows
}

// floatLit renders 2^e as an exact C float literal.
func floatLit(e int) string {
	s := strconv.FormatFloat(math.Ldexp(1, e), 'g', -1, 32)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s + "f"
}

func shapeStr(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}

// checkRange verifies a value fits the uint16_t argument it is passed as.
func checkRange(l *nnq.QLayer, what string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("codegen: layer %q: %s = %d is outside [%d, %d] for %s", l.Name, what, v, lo, hi, l.Kernel)
	}
	return nil
}

// geomArgs are the geometry arguments of a square or non-square call,
// split around the weights (conv: Im_in, <in>, wt, <mid>, bias, ...).
func convArgs(v kernels.Variant, g kernels.ConvGeom) (in, mid, out string) {
	if v.Square() {
		return fmt.Sprintf("%d, %d", g.InX, g.InC),
			fmt.Sprintf("%d, %d, %d, %d", g.OutC, g.KX, g.PadX, g.StrideX),
			fmt.Sprintf("%d", g.OutX)
	}
	return fmt.Sprintf("%d, %d, %d", g.InX, g.InY, g.InC),
		fmt.Sprintf("%d, %d, %d, %d, %d, %d, %d", g.OutC, g.KX, g.KY, g.PadX, g.PadY, g.StrideX, g.StrideY),
		fmt.Sprintf("%d, %d", g.OutX, g.OutY)
}

// layerCode generates layer i's call. ptr maps a tensor index of the memory
// plan to its pointer macro; w and b are the parameter array identifiers.
func layerCode(q *nnq.QModel, i int, st StepPlan, ptr func(int) string, w, b string, scratch bool) (*cLayer, error) {
	l := q.Layers[i]
	v := l.Kernel
	c := &cLayer{Index: i, Name: l.Name, Out: ptr(st.Output)}
	eb := elemBytes(q)
	c.OutBytes = l.Out.Size() * eb
	if st.View {
		return c, nil
	}
	if v == kernels.VarInvalid {
		return nil, fmt.Errorf("codegen: layer %q (%s) has no kernel", l.Name, l.Op)
	}
	if err := v.Valid(l.Geom, q.Path); err != nil {
		return nil, fmt.Errorf("codegen: layer %q: kernel %s does not fit its geometry on the %s path: %v", l.Name, v, q.Path, err)
	}
	in := make([]string, len(st.Inputs))
	for k, t := range st.Inputs {
		in[k] = ptr(t)
	}
	src := in[0]
	if st.Copy >= 0 {
		c.Pre = append(c.Pre, fmt.Sprintf("memcpy(%s, %s, %du); /* the kernel overwrites its input, which a later layer still reads */", ptr(st.Copy), in[0], l.In[0].Size()*eb))
		src = ptr(st.Copy)
	}
	out := c.Out
	bufA, bufQ7 := "NULL", "NULL"
	if scratch && scratchBytes(l) > 0 {
		bufA, bufQ7 = "NN_SCRATCH_Q15", "NN_SCRATCH_Q7"
	}
	if v.Kind() == kernels.KindActivation && st.Reuses < 0 {
		c.Pre = append(c.Pre, fmt.Sprintf("memcpy(%s, %s, %du); /* in-place kernel; the input is still read later */", out, src, l.Out.Size()*eb))
	}
	if v.NNQ() {
		return c, nnqLayerCode(q, i, c, in, src, w, b, scratch)
	}
	g := l.Geom
	shifts := func() error {
		if err := checkRange(l, "bias_shift", l.BiasShift, 0, 31); err != nil {
			return err
		}
		return checkRange(l, "out_shift", l.OutShift, 0, 30)
	}
	switch v.Kind() {
	case kernels.KindConv, kernels.KindDepthwise:
		if err := shifts(); err != nil {
			return nil, err
		}
		a, m, o := convArgs(v, g)
		c.Call = fmt.Sprintf("%s(%s, %s, %s, %s, %s, %d, %d, %s, %s, %s, NULL)", v, src, a, w, m, b, l.BiasShift, l.OutShift, out, o, bufA)
		c.Status = true
	case kernels.KindFC:
		if err := shifts(); err != nil {
			return nil, err
		}
		vec := "NULL"
		if scratch && scratchBytes(l) > 0 {
			vec = "NN_SCRATCH_Q15"
		}
		c.Call = fmt.Sprintf("%s(%s, %s, %d, %d, %d, %d, %s, %s, %s)", v, src, w, l.In[0].Size(), l.Out.Size(), l.BiasShift, l.OutShift, b, out, vec)
		c.Status = true
	case kernels.KindPool:
		c.Call = fmt.Sprintf("%s(%s, %d, %d, %d, %d, %d, %d, %s, %s)", v, src, g.InX, g.InC, g.KX, g.PadX, g.StrideX, g.OutX, bufQ7, out)
	case kernels.KindActivation:
		n := l.Out.Size()
		if err := checkRange(l, "size", n, 0, 65535); err != nil {
			return nil, err
		}
		switch v {
		case kernels.VarReluQ7, kernels.VarReluQ15:
			c.Call = fmt.Sprintf("%s(%s, %d)", v, out, n)
		default:
			typ := "ARM_SIGMOID"
			if l.Op == nnq.OpTanh {
				typ = "ARM_TANH"
			}
			if err := checkRange(l, "int_width", l.IntWidth, 0, 3); err != nil {
				return nil, err
			}
			c.Call = fmt.Sprintf("%s(%s, %d, %d, %s)", v, out, n, l.IntWidth, typ)
		}
	case kernels.KindSoftmax:
		n := l.Out.Size()
		if v == kernels.VarSoftmaxWithBatchQ7 {
			dim := l.Out.Shape[len(l.Out.Shape)-1]
			c.Call = fmt.Sprintf("%s(%s, %d, %d, %s)", v, src, n/dim, dim, out)
		} else {
			c.Call = fmt.Sprintf("%s(%s, %d, %s)", v, src, n, out)
		}
	case kernels.KindElementwise:
		n := l.Out.Size()
		if len(in) != 2 {
			return nil, fmt.Errorf("codegen: layer %q: %s needs two inputs, has %d", l.Name, v, len(in))
		}
		if err := checkRange(l, "out_shift", l.OutShift, 0, 30); err != nil {
			return nil, err
		}
		c.Call = fmt.Sprintf("%s(%s, %s, %s, %d, %du)", v, in[0], in[1], out, l.OutShift, n)
	default:
		return nil, fmt.Errorf("codegen: layer %q: no code generation for kernel %s", l.Name, v)
	}
	return c, nil
}

// layerComment describes layer i in one or two comment lines.
func layerComment(q *nnq.QModel, i int, st StepPlan) []string {
	l := q.Layers[i]
	var ins []string
	for k, a := range l.In {
		f := ""
		if k < len(l.InFrac) {
			f = " " + nnq.QFormat(q.Bits, l.InFrac[k])
		}
		ins = append(ins, shapeStr(a.Shape)+f)
	}
	first := fmt.Sprintf("layer %d %q: %s, %s -> %s %s", i, l.Name, l.Op, strings.Join(ins, " + "), shapeStr(l.Out.Shape), nnq.QFormat(q.Bits, l.OutFrac))
	lines := []string{first}
	var det []string
	switch {
	case l.Weights != nil:
		_, wb := weightType(l.Kernel)
		det = append(det, fmt.Sprintf("weights %s, bias %s, bias_shift %d, out_shift %d", nnq.QFormat(wb, l.WeightFrac), nnq.QFormat(wb, l.BiasFrac), l.BiasShift, l.OutShift))
	case l.Op == nnq.OpAdd:
		det = append(det, fmt.Sprintf("input shifts %v, out_shift %d", l.Shifts, l.OutShift))
	case l.Op == nnq.OpMul:
		det = append(det, fmt.Sprintf("out_shift %d", l.OutShift))
	case l.Op == nnq.OpSigmoid || l.Op == nnq.OpTanh:
		det = append(det, fmt.Sprintf("int_width %d", l.IntWidth))
	}
	switch l.Kernel.Kind() {
	case kernels.KindConv, kernels.KindDepthwise, kernels.KindPool:
		g := l.Geom
		det = append(det, fmt.Sprintf("kernel %dx%d, pad %d,%d, stride %d,%d (x,y)", g.KX, g.KY, g.PadX, g.PadY, g.StrideX, g.StrideY))
	}
	return planLines(lines, det, st, l.Inputs)
}

// planLines ends a layer comment: det gains what the memory plan does with
// the step (a buffer view, in place), and becomes the comment's second
// line.
func planLines(lines, det []string, st StepPlan, inputs []string) []string {
	switch {
	case st.View:
		det = append(det, "buffer view, no code")
	case st.Reuses >= 0:
		det = append(det, fmt.Sprintf("in place over %q", inputs[st.Reuses]))
	}
	if len(det) > 0 {
		lines = append(lines, strings.Join(det, "; "))
	}
	return lines
}
