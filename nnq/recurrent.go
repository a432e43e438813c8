package nnq

import (
	"fmt"
	"math"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Recurrent layers (issue 9). CMSIS-NN has no GRU or LSTM; nnq expresses
// them with its fully connected kernels, its q15 table activations and
// CMSIS-DSP-style element-wise q15 functions, in a time-step loop that nnq
// ships as one C function per layer (nnq_gru_q7/q15, nnq_lstm_q7/q15; Go
// twins in package kernels). docs/RECURRENT.md explains the decomposition
// and how the formats are chosen.
//
// Conventions are PyTorch's, in every model layout: batch-first sequence,
// zero initial state, weight_ih [G·H, I] and weight_hh [G·H, H] with the
// gates stacked in PyTorch order (GRU r, z, n; LSTM i, f, g, o), optional
// bias_ih and bias_hh [G·H], and the GRU's n = tanh(W_in x + b_in + r ⊙
// (W_hn h + b_hn)). The input is a feature map [T, W, C] read as T time
// steps of W·C features; in an NCHW model the per-step feature order is
// C-major (c·W + w, what x.permute(0, 2, 1, 3).flatten(2) gives in
// PyTorch), so ToCMSIS reorders weight_ih's columns into HWC order (w·C + c).
// With return_sequences false the output is the last h, a vector [H];
// with true, every step's h as a [T, H, 1] map (in every layout the same
// memory as PyTorch's [T, H] output, so a following recurrent layer reads
// T steps of H features).

// The recurrent ops.
const (
	OpGRU  Op = "gru"
	OpLSTM Op = "lstm"
)

// rnnGates is the number of stacked gates of a recurrent op.
func rnnGates(op Op) int {
	if op == OpLSTM {
		return 4
	}
	return 3
}

func rnnGateNames(op Op) string {
	if op == OpLSTM {
		return "i, f, g, o"
	}
	return "r, z, n"
}

func init() {
	for _, op := range []Op{OpGRU, OpLSTM} {
		s := &opSpec{op: op, arity: 1, params: []string{"weight_ih", "weight_hh"}, optParams: []string{"bias_ih", "bias_hh"},
			shape: rnnShape, toCMSIS: rnnToCMSIS, qformat: qformatRecurrent, fixed: fixedRecurrent,
			internals: rnnInternals}
		if op == OpGRU {
			s.trace, s.reference = gruTrace, gruReference
		} else {
			s.trace, s.reference = lstmTrace, lstmReference
		}
		trace := s.trace
		s.forward = func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32) {
			trace(m, l, in, x, out, y, nil)
		}
		register(s)
	}
}

// rnnDims checks a recurrent layer's input and parameters and returns the
// steps T, features per step I and hidden size H.
func rnnDims(m *Model, l *Layer, in Act) (T, I, H int, err error) {
	if !in.Spatial() {
		return 0, 0, 0, fmt.Errorf("layer %q: %s reads a sequence [T, W, C] (T steps of W·C features), got a vector %v; reshape it first", l.Name, l.Op, in.Shape)
	}
	T, I = in.Shape[0], in.Shape[1]*in.Shape[2]
	G := rnnGates(l.Op)
	whh, wih := m.Param(l, "weight_hh"), m.Param(l, "weight_ih")
	if len(whh.Shape) != 2 || whh.Shape[1] < 1 || whh.Shape[0] != G*whh.Shape[1] {
		return 0, 0, 0, fmt.Errorf("layer %q: %s weight_hh %q has shape %v, want [%d·H, H] (PyTorch's gates %s stacked)", l.Name, l.Op, whh.Name, whh.Shape, G, rnnGateNames(l.Op))
	}
	H = whh.Shape[1]
	if err := wantShape(l, "weight_ih", wih, G*H, I); err != nil {
		return 0, 0, 0, fmt.Errorf("%w (%d steps of %d features from input %v)", err, T, I, in.Shape)
	}
	for _, role := range []string{"bias_ih", "bias_hh"} {
		if b := m.Param(l, role); b != nil {
			if err := wantShape(l, role, b, G*H); err != nil {
				return 0, 0, 0, err
			}
		}
	}
	if l.Attrs.Hidden != 0 && l.Attrs.Hidden != H {
		return 0, 0, 0, fmt.Errorf("layer %q: hidden %d disagrees with weight_hh %q %v", l.Name, l.Attrs.Hidden, whh.Name, whh.Shape)
	}
	return T, I, H, nil
}

func rnnShape(m *Model, l *Layer, in []Act) (Act, error) {
	T, _, H, err := rnnDims(m, l, in[0])
	if err != nil {
		return Act{}, err
	}
	if l.Attrs.ReturnSequences {
		return Act{Shape: []int{T, H, 1}}, nil
	}
	return Act{Shape: []int{H}}, nil
}

// rnnSizes is rnnDims for a checked layer.
func rnnSizes(m *Model, l *Layer, in Act) (T, I, H int) {
	return in.Shape[0], in.Shape[1] * in.Shape[2], m.Param(l, "weight_hh").Shape[1]
}

// rnnToCMSIS reorders weight_ih's columns from the framework's per-step
// feature order into HWC order (NCHW: c·W + w → w·C + c; NHWC already
// agrees). weight_hh and the biases keep PyTorch's layout.
func rnnToCMSIS(m, dst *Model, l *Layer, in []Act) error {
	W, C := in[0].Shape[1], in[0].Shape[2]
	if m.Layout != NCHW || W == 1 || C == 1 {
		return nil
	}
	w := m.Param(l, "weight_ih")
	I := W * C
	nw := w.Clone()
	for r := 0; r < w.Shape[0]; r++ {
		for x := 0; x < W; x++ {
			for c := 0; c < C; c++ {
				nw.Data[r*I+x*C+c] = w.Data[r*I+c*W+x]
			}
		}
	}
	dst.Tensors[w.Name] = nw
	return nil
}

// rnnStep writes step t of the framework-layout input x into xt in the
// framework's per-step feature order.
func rnnStep(layout Layout, in Act, x []float32, t int, xt []float64) {
	T, W, C := in.Shape[0], in.Shape[1], in.Shape[2]
	if layout == NCHW {
		for c := 0; c < C; c++ {
			for w := 0; w < W; w++ {
				xt[c*W+w] = float64(x[(c*T+t)*W+w])
			}
		}
		return
	}
	I := W * C
	for j := range xt {
		xt[j] = float64(x[t*I+j])
	}
}

// rnnInternals names the internal tensors whose statistics calibration
// collects: the gate FC outputs and sums ("gates"), the state h, and the
// LSTM cell c.
func rnnInternals(l *Layer) []string {
	out := []string{l.Name + "/gates", l.Name + "/h"}
	if l.Op == OpLSTM {
		out = append(out, l.Name+"/c")
	}
	return out
}

// rnnReference is the sequence loop of a recurrent layer's float64
// reference pass (framework layout, zero initial state): at every step,
// cell writes the new h into nh from the previous h, reading the stacked
// gate pre-activations of the step's x (px) and of h (ph) by row.
func rnnReference(m *Model, l *Layer, in []Act, x [][]float32, y []float32, cell func(H int, px, ph func(row int) float64, h, nh []float64)) {
	T, I, H := rnnSizes(m, l, in[0])
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	bih, bhh := m.Param(l, "bias_ih"), m.Param(l, "bias_hh")
	xt := make([]float64, I)
	h, nh := make([]float64, H), make([]float64, H)
	px := func(row int) float64 { return rowDot(wih, bih, row, xt) }
	ph := func(row int) float64 { return rowDot(whh, bhh, row, h) }
	for t := 0; t < T; t++ {
		rnnStep(m.Layout, in[0], x[0], t, xt)
		cell(H, px, ph, h, nh)
		h, nh = nh, h
		if l.Attrs.ReturnSequences {
			for k, v := range h {
				y[t*H+k] = float32(v)
			}
		}
	}
	if !l.Attrs.ReturnSequences {
		for k, v := range h {
			y[k] = float32(v)
		}
	}
}

// rnnTrace is the sequence loop of a recurrent layer's decomposed float32
// pass (CMSIS layout): at every step one fully connected layer computes
// all gates of x into gx and one all gates of h into gh (both reported to
// rec as "<layer>/gates"), then cell updates h in place (seg(v, a, b) is
// gates a..b-1 of v; cell reports its internals to the rec it is given);
// the new h is reported as "<layer>/h". rec may be nil.
func rnnTrace(m *Model, l *Layer, in []Act, x [][]float32, y []float32, rec func(string, []float32), cell func(gx, gh, h []float32, seg func(v []float32, a, b int) []float32, rec func(string, []float32))) {
	if rec == nil {
		rec = func(string, []float32) {}
	}
	T, I, H := rnnSizes(m, l, in[0])
	G := rnnGates(l.Op)
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	bx, bh := rnnBiases(m, l, H)
	gx, gh, h := make([]float32, G*H), make([]float32, G*H), make([]float32, H)
	seg := func(v []float32, a, b int) []float32 { return v[a*H : b*H] }
	gates, state := l.Name+"/gates", l.Name+"/h"
	for t := 0; t < T; t++ {
		kernels.FullyConnectedFloat(x[0][t*I:(t+1)*I], wih, bx, gx)
		kernels.FullyConnectedFloat(h, whh, bh, gh)
		rec(gates, gx)
		rec(gates, gh)
		cell(gx, gh, h, seg, rec)
		rec(state, h)
		if l.Attrs.ReturnSequences {
			copy(y[t*H:(t+1)*H], h)
		}
	}
	if !l.Attrs.ReturnSequences {
		copy(y, h)
	}
}

// rnnBiases returns the biases of the two gate FCs as the decomposition
// uses them: wherever PyTorch simply adds b_ih and b_hh (GRU r and z, every
// LSTM gate) the sum goes to the input FC and the hidden FC gets 0; the
// GRU's b_hn stays with the hidden FC (it is multiplied by r).
func rnnBiases(m *Model, l *Layer, H int) (bx, bh []float32) {
	G := rnnGates(l.Op) * H
	bx, bh = make([]float32, G), make([]float32, G)
	if b := m.Param(l, "bias_ih"); b != nil {
		copy(bx, b.Data)
	}
	if b := m.Param(l, "bias_hh"); b != nil {
		split := G
		if l.Op == OpGRU {
			split = 2 * H
		}
		for i, v := range b.Data {
			if i < split {
				bx[i] += v
			} else {
				bh[i] = v
			}
		}
	}
	return bx, bh
}

func sigmoid64(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// rowDot is bias[r] + W[r]·v for a row-major [rows][len(v)] matrix.
func rowDot(w []float32, bias *Tensor, r int, v []float64) float64 {
	n := len(v)
	acc := 0.0
	if bias != nil {
		acc = float64(bias.Data[r])
	}
	for j, x := range v {
		acc += float64(w[r*n+j]) * x
	}
	return acc
}

// ---- quantization ----

// tableInput returns, for a q15 value with f fractional bits that goes
// into arm_nn_activations_direct_q15, the saturating left shift and the
// int_width: formats with 12..15 fractional bits are read directly
// (int_width 15-f); coarser ones are shifted into Q3.12 first (values
// beyond ±8 saturate, where sigmoid and tanh are flat: the table itself
// only spans [-8, 8)).
func tableInput(f int) (shift, intWidth int) {
	if f >= 12 {
		return 0, 15 - f
	}
	return 12 - f, 3
}

// qformatRecurrent is the Q-format rule of gru and lstm (docs/RECURRENT.md):
//   - the layer runs in q15 inside; a q7 network's input step is widened
//     by 8 bits (x: in + 8 fractional bits) and the FCs use q7 weights
//     (arm_fully_connected_mat_q7_vec_q15), a q15 network's use q15 weights;
//   - h is Q0.15 (|h| < 1 by construction); the output is h, Q0.15, or
//     Q0.7 for a q7 network (h >> 8);
//   - both gate FCs output one "gate" format chosen by the scheme from the
//     gates statistics (FC outputs and gate sums), at most 15 fractional
//     bits and at most what each FC's input + weight bits allow; a format
//     coarser than Q3.12 is shifted into Q3.12 before the activations;
//   - the LSTM cell c gets its own format from its statistics (0..15
//     fractional bits), read by tanh the same way;
//   - weight and bias formats come from their values, lowered while an
//     accumulator (bounded by the gate statistics) would not keep a bit of
//     headroom in 32 bits, as for dense layers.
func qformatRecurrent(c *qctx, l *Layer, ql *QLayer) error {
	m := c.m
	T, I, H, err := rnnDims(m, l, ql.In[0])
	if err != nil {
		return err
	}
	_ = T
	G := rnnGates(l.Op) * H
	gs, hs := c.stats.Tensor(l.Name+"/gates"), c.stats.Tensor(l.Name+"/h")
	var cs *TensorStats
	if l.Op == OpLSTM {
		cs = c.stats.Tensor(l.Name + "/c")
	}
	if gs == nil || hs == nil || (l.Op == OpLSTM && cs == nil) {
		return fmt.Errorf("layer %q: no statistics for the internal tensors of the %s (%s); calibrate the model with this version of nnq", l.Name, l.Op, strings.Join(rnnInternals(l), ", "))
	}
	B := c.bits
	wbits := B // q7 networks: q7 weights; q15 networks: q15 weights
	xf := ql.InFrac[0]
	if B == 8 {
		xf += 8
	}
	const hf = 15
	bx, bh := rnnBiases(m, l, H)
	accMax := gs.AbsMax()
	weightFrac := func(name string, w, bias []float32, inFrac int) int {
		f := FracForRange(absMax(w), wbits)
		lim := math.Max(accMax, absMax(bias))
		for lim*math.Exp2(float64(inFrac+f)) >= math.Exp2(30) {
			f--
		}
		if f0 := FracForRange(absMax(w), wbits); f != f0 {
			ql.Notes = append(ql.Notes, fmt.Sprintf("%s weight format lowered from %s to %s so the accumulator (up to %.3g) keeps a bit of headroom in 32 bits", name, QFormat(wbits, f0), QFormat(wbits, f), lim))
		}
		return f
	}
	wih, whh := m.Param(l, "weight_ih").Data, m.Param(l, "weight_hh").Data
	fwIH := weightFrac("W_ih", wih, bx, xf)
	fwHH := weightFrac("W_hh", whh, bh, hf)

	want := c.want16(l.Name + "/gates")
	fg := min(want, 15, xf+fwIH, hf+fwHH)
	fg = max(fg, xf+fwIH-30, hf+fwHH-30)
	if fg != want {
		ql.Notes = append(ql.Notes, fmt.Sprintf("gate format %s instead of the statistics' %s (at most Q0.15 and what input + weight bits allow, out_shift <= 30)", QFormat(16, fg), QFormat(16, want)))
	}
	gshift, giw := tableInput(fg)
	if gshift > 0 {
		ql.Notes = append(ql.Notes, fmt.Sprintf("gate sums in %s are shifted left by %d (saturating) into the activations' Q3.12", QFormat(16, fg), gshift))
	}
	sub := func(name string, w, bias []float32, rows, cols, inFrac, fw int) QParam {
		fb := FracForRange(absMax(bias), wbits)
		if fb > inFrac+fw {
			fb = inFrac + fw
		}
		p := QParam{Name: name, Rows: rows, Cols: cols, WeightFrac: fw, BiasFrac: fb, BiasShift: inFrac + fw - fb, OutShift: inFrac + fw - fg}
		var ns int
		p.Weights, ns = quantizeValues(w, fw, wbits)
		if ns > 0 {
			ql.Notes = append(ql.Notes, fmt.Sprintf("%d %s weight(s) equal to the range bound saturated by one step", ns, name))
		}
		p.Bias, _ = quantizeValues(bias, fb, wbits)
		return p
	}
	ql.Sub = []QParam{sub("ih", wih, bx, G, I, xf, fwIH), sub("hh", whh, bh, G, H, hf, fwHH)}
	ql.IntWidth = giw
	ql.Internal = map[string]int{"x": xf, "gates": fg, "h": hf}
	if l.Op == OpLSTM {
		fc := min(max(c.want16(l.Name+"/c"), 0), 15)
		ql.Internal["c"] = fc
	}
	ql.OutFrac = hf
	if B == 8 {
		ql.OutFrac = 7
	}
	ql.Reason = "h is below 1 in magnitude by construction; gates: " + c.why(l.Name+"/gates")
	for n, f := range ql.Internal {
		c.q.Frac[l.Name+"/"+n] = f
	}
	return nil
}

// want16 is qctx.want for an internal q15 tensor of a recurrent layer
// (whatever the network's word size).
func (c *qctx) want16(name string) int {
	d := c.delta[name]
	s := c.stats.Tensor(name)
	if s == nil || s.Count == 0 {
		return 15 + d
	}
	return c.scheme.Frac(s, 16) + d
}

// recurrentGeom is the kernel geometry of a quantized recurrent layer.
func recurrentGeom(l *QLayer) kernels.ConvGeom {
	in := l.In[0].Shape
	T, I := in[0], in[1]*in[2]
	if len(l.Out.Shape) == 3 {
		return kernels.RNNGeom(T, I, l.Out.Shape[1], true)
	}
	return kernels.RNNGeom(T, I, l.Out.Shape[0], false)
}

// RecurrentParams returns the scalar arguments of a quantized gru or lstm
// layer's kernel (what the generated code passes in nnq_rnn_params).
func (l *QLayer) RecurrentParams() (kernels.RNNParams, error) {
	if (l.Op != OpGRU && l.Op != OpLSTM) || len(l.Sub) != 2 || len(l.In) != 1 {
		return kernels.RNNParams{}, fmt.Errorf("layer %q is not a quantized recurrent layer", l.Name)
	}
	g := recurrentGeom(l)
	p := kernels.RNNParams{Steps: g.InX, DimIn: g.InC, Hidden: g.OutC, ReturnSequences: len(l.Out.Shape) == 3,
		IHBiasShift: l.Sub[0].BiasShift, IHOutShift: l.Sub[0].OutShift, HHBiasShift: l.Sub[1].BiasShift, HHOutShift: l.Sub[1].OutShift}
	p.GateShift, p.GateIntWidth = tableInput(l.Internal["gates"])
	if l.Op == OpLSTM {
		fc := l.Internal["c"]
		p.CellOutShift = 30 - fc
		p.CellShift, p.CellIntWidth = tableInput(fc)
	}
	return p, nil
}

func fixedRecurrent(s *Sim, k int, x []qbuf, y qbuf) error {
	l, p, o := s.q.Layers[k], s.params[k], s.opts(k)
	rp, err := l.RecurrentParams()
	if err != nil {
		return err
	}
	ih, hh := p.sub[0], p.sub[1]
	// nnq's FC kernels and the legacy ones compute the same gate sums: the
	// _cmsis variants share the twins.
	switch l.Kernel {
	case kernels.VarNNQGRUQ7, kernels.VarNNQGRUCMSISQ7:
		return kernels.NNQGRUQ7(o, rp, x[0].b8, ih.w8, ih.b8, hh.w8, hh.b8, y.b8, p.scratch)
	case kernels.VarNNQGRUQ15, kernels.VarNNQGRUCMSISQ15:
		return kernels.NNQGRUQ15(o, rp, x[0].b16, ih.w16, ih.b16, hh.w16, hh.b16, y.b16, p.scratch)
	case kernels.VarNNQLSTMQ7, kernels.VarNNQLSTMCMSISQ7:
		return kernels.NNQLSTMQ7(o, rp, x[0].b8, ih.w8, ih.b8, hh.w8, hh.b8, y.b8, p.scratch)
	case kernels.VarNNQLSTMQ15, kernels.VarNNQLSTMCMSISQ15:
		return kernels.NNQLSTMQ15(o, rp, x[0].b16, ih.w16, ih.b16, hh.w16, hh.b16, y.b16, p.scratch)
	}
	return fmt.Errorf("no simulation for kernel %s", l.Kernel)
}

// checkSub validates the weight sets and internal formats of a loaded
// quantized layer against its float layer.
func checkSub(m *Model, fl *Layer, l *QLayer, bits int) error {
	if fl.Op != OpGRU && fl.Op != OpLSTM {
		if len(l.Sub) > 0 || len(l.Internal) > 0 {
			return fmt.Errorf("layer %q (%s) has recurrent weight sets or internal formats", l.Name, l.Op)
		}
		return nil
	}
	_, I, H := rnnSizes(m, fl, l.In[0])
	G := rnnGates(fl.Op) * H
	if len(l.Sub) != 2 || l.Sub[0].Name != "ih" || l.Sub[1].Name != "hh" {
		return fmt.Errorf("layer %q: a quantized %s needs the weight sets \"ih\" and \"hh\"", l.Name, fl.Op)
	}
	lo, hi := -128, 127
	if bits == 16 {
		lo, hi = -32768, 32767
	}
	for k, cols := range []int{I, H} {
		p := l.Sub[k]
		if p.Rows != G || p.Cols != cols || len(p.Weights) != G*cols || len(p.Bias) != G {
			return fmt.Errorf("layer %q: weight set %q is %dx%d with %d weights and %d biases, want %dx%d", l.Name, p.Name, p.Rows, p.Cols, len(p.Weights), len(p.Bias), G, cols)
		}
		for _, v := range append(append([]int16(nil), p.Weights...), p.Bias...) {
			if int(v) < lo || int(v) > hi {
				return fmt.Errorf("layer %q: weight set %q holds %d, outside q%d", l.Name, p.Name, v, bits-1)
			}
		}
	}
	need := []string{"gates", "h", "x"}
	if fl.Op == OpLSTM {
		need = append(need, "c")
	}
	for _, n := range need {
		f, ok := l.Internal[n]
		if !ok || f < 0 || f > 30 || (n != "x" && f > 15) {
			return fmt.Errorf("layer %q: internal format %q missing or out of range (%d)", l.Name, n, f)
		}
	}
	if _, iw := tableInput(l.Internal["gates"]); iw != l.IntWidth {
		return fmt.Errorf("layer %q: int_width %d disagrees with the gate format", l.Name, l.IntWidth)
	}
	return nil
}

// RecurrentFormats describes a quantized recurrent layer's formats and
// shifts on one line (bits is the network's word size).
func (l *QLayer) RecurrentFormats(bits int) string {
	var parts []string
	for _, p := range l.Sub {
		parts = append(parts, fmt.Sprintf("W_%s %s bias %s (bias_shift %d, out_shift %d)", p.Name,
			QFormat(bits, p.WeightFrac), QFormat(bits, p.BiasFrac), p.BiasShift, p.OutShift))
	}
	sh, iw := tableInput(l.Internal["gates"])
	s := fmt.Sprintf("%s; x %s, gates %s (activation int_width %d, shift %d), h %s",
		strings.Join(parts, "; "), QFormat(16, l.Internal["x"]), QFormat(16, l.Internal["gates"]), iw, sh, QFormat(16, l.Internal["h"]))
	if fc, ok := l.Internal["c"]; ok {
		csh, ciw := tableInput(fc)
		s += fmt.Sprintf(", cell c %s (tanh int_width %d, shift %d)", QFormat(16, fc), ciw, csh)
	}
	return s
}
