package onnx

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// ONNX GRU and LSTM nodes onto nnq's gru and lstm layers (recurrent.go).
//
// What torch.onnx.export writes for nn.GRU/nn.LSTM(batch_first=True) on a
// [1,C,T,F] feature map (opset 13):
//
//	x.squeeze(1), x[:, 0], x.view(1,T,F) (C = 1)
//	or x.permute(0,2,1,3).reshape(1,T,C*F)                             [1,T,I]
//	Transpose(perm 1,0,2)                                              [T,1,I]
//	GRU/LSTM(X, W, R, B, "", initial_h = Expand(zeros) [, initial_c])  Y [T,1,1,H], Y_h [1,1,H]
//	Squeeze(1), Transpose(1,0,2), Gather(axis 1, -1)   (y[:, -1])      [1,H]
//	or Gather(Y_h, axis 0, -1)                         (h_n[-1])       [1,H]
//	num_layers=2: one node per layer, h_n = Concat(Y_h, Y_h') on axis 0
//
// nnq's gru/lstm read the map [T,W,C] (NCHW [C,T,W]) as T steps of W·C
// features in C-major order c·W + w, which is exactly the ONNX X above, so
// the reshapes and transposes around the node become views of the same
// activation: each ONNX axis records which factors of the activation it
// holds (oview). A view whose factors are in the activation's memory order
// and whose shape is a standard one ([1,C,H,W] map, [1,N] vector) is the
// activation itself again, or a flatten. The recurrent node checks that X
// is [T,1,C·W] with the factors in that order; its output is Y as a
// sequence ([T,H,1] map, return_sequences) when Y is used, else Y_h as the
// last h ([H]); a Gather/Slice of the last time step of Y turns the layer's
// return_sequences off when nothing else reads the sequence. When both Y
// and Y_h are read, Y_h is a value nnq does not compute (missing), which
// only a Concat may hold, as long as a Gather then selects another part
// (ostack: h_n[-1] of stacked layers).
//
// The weights are reordered from ONNX's gate blocks (GRU z, r, h; LSTM i,
// o, f, c) into PyTorch's (r, z, n; i, f, g, o), B [1, 2·G·H] is split into
// bias_ih (Wb) and bias_hh (Rb). Refused: linear_before_reset=0, other
// directions, non-default activations, clip, input_forget, layout=1,
// sequence_lens shorter than the sequence, non-zero initial states or
// peepholes, the LSTM's Y_c, and any other reading of the activations
// around the node (each error names the node).

// oview says how the axes of an ONNX value hold an activation: per axis,
// the activation's factors in order, 't', 'w', 'c' of a map [T,W,C] or 'v'
// of a vector; factors of size 1 are left out.
type oview struct {
	axes [][]byte
	node string // the node that made the view
}

// rnnInputHint says which ONNX inputs a recurrent node can read.
const rnnInputHint = "a GRU/LSTM input must be the [1,C,T,F] feature map read as T steps of C·F features " +
	"(batch_first): x.squeeze(1), x[:, 0] or x.view(1, T, F) of a [1,1,T,F] map, or x.permute(0, 2, 1, 3).reshape(1, T, C*F) of a [1,C,T,F] one"

var rnnAttrs = []string{"activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"}

// factorSize is the size of factor f of x's activation.
func (x *oact) factorSize(f byte) int {
	s := x.act.Shape
	if !x.act.Spatial() {
		if f == 'v' && len(s) == 1 {
			return s[0]
		}
		return 1
	}
	switch f {
	case 't':
		return s[0]
	case 'w':
		return s[1]
	case 'c':
		return s[2]
	}
	return 1
}

// fac lists the factors among fs that are larger than 1.
func (x *oact) fac(fs ...byte) []byte {
	var out []byte
	for _, f := range fs {
		if x.factorSize(f) > 1 {
			out = append(out, f)
		}
	}
	return out
}

// memOrder is the order of x's factors in memory (NCHW: C, H, W).
func (x *oact) memOrder() []byte {
	if x.act.Spatial() {
		return x.fac('c', 't', 'w')
	}
	return x.fac('v')
}

// axes returns how x's ONNX axes hold its factors, or nil when its shape
// is not one nnq understands.
func (x *oact) axes() [][]byte {
	if x.view != nil {
		return x.view.axes
	}
	if x.pads != nil {
		return nil
	}
	if x.act.Spatial() {
		if !slices.Equal(x.dims, stdMapDims(x.act)) {
			return nil
		}
		return [][]byte{nil, x.fac('c'), x.fac('t'), x.fac('w')}
	}
	if len(x.dims) == 0 {
		return nil
	}
	out := make([][]byte, len(x.dims))
	out[len(out)-1] = x.fac('v')
	return out
}

func (x *oact) inMemoryOrder() bool {
	ax := x.axes()
	return ax != nil && bytes.Equal(bytes.Join(ax, nil), x.memOrder())
}

// stdMapDims is the ONNX shape of an NCHW map [H,W,C].
func stdMapDims(a nnq.Act) []int { return []int{1, a.Shape[2], a.Shape[0], a.Shape[1]} }

// vectorDims reports whether dims is [N] or [1,N].
func vectorDims(dims []int) bool {
	switch len(dims) {
	case 1:
		return true
	case 2:
		return dims[0] == 1
	}
	return false
}

// viewProblem is the reason a layer cannot read input i, a view.
func (x *oact) viewProblem(i int, name string) string {
	return fmt.Sprintf("input %d (%q, shape %v) is %q seen as a sequence (time steps and features on their own axes, by node %q); "+
		"only a GRU/LSTM input, a reshape, or the last time step y[:, -1] can read it: nnq layers read [1,C,H,W] maps or [1,N] vectors",
		i, name, x.dims, x.name, x.view.node)
}

// markRNNFeeds marks the values that reach the X input of a live GRU or
// LSTM node through reshapes and transposes only: the nodes making them
// may leave a sequence view.
func (b *onnxImporter) markRNNFeeds(g *onnxpb.GraphProto, live []bool) {
	b.rnnFeed = map[string]bool{}
	producer := map[string]*onnxpb.NodeProto{}
	for i, np := range g.GetNode() {
		if live[i] {
			for _, o := range np.GetOutput() {
				producer[o] = np
			}
		}
	}
	for i, np := range g.GetNode() {
		if !live[i] || (np.GetOpType() != "GRU" && np.GetOpType() != "LSTM") || len(np.GetInput()) == 0 {
			continue
		}
		for v := np.GetInput()[0]; v != "" && !b.rnnFeed[v]; {
			b.rnnFeed[v] = true
			p := producer[v]
			if p == nil || len(p.GetInput()) == 0 {
				break
			}
			switch p.GetOpType() {
			case "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose", "Identity", "Dropout", "Cast", "Gather", "Slice":
				v = p.GetInput()[0]
				continue
			}
			break
		}
	}
}

// seqViews reports whether node n handles x with views: x already is a
// view, or n's output feeds a recurrent layer.
func (b *onnxImporter) seqViews(n *onode, x *oact) bool {
	if x.pads != nil {
		return false
	}
	if x.view != nil {
		return true
	}
	outs := n.p.GetOutput()
	return len(outs) > 0 && b.rnnFeed[outs[0]]
}

// readers counts the live reads of activation name under all its ONNX
// names.
func (b *onnxImporter) readers(name string) int {
	r := 0
	for k, v := range b.vals {
		if v.a != nil && v.a.name == name {
			r += b.uses[k]
		}
	}
	return r
}

// settle returns x seen with ONNX shape dims and factor axes: the
// activation itself when that is its standard shape, a flatten layer when
// it is a vector in memory order, else a view.
func (b *onnxImporter) settle(n *onode, x *oact, dims []int, axes [][]byte) *oact {
	o := *x
	o.dims = append([]int(nil), dims...)
	o.view = nil
	if bytes.Equal(bytes.Join(axes, nil), x.memOrder()) {
		if x.act.Spatial() && slices.Equal(dims, stdMapDims(x.act)) {
			return &o
		}
		if vectorDims(dims) {
			if !x.act.Spatial() {
				return &o
			}
			out := b.emit(n, &nnq.Layer{Name: b.layerName(n, ""), Op: nnq.OpFlatten}, x)
			if out != nil {
				out.dims = o.dims
			}
			return out
		}
	}
	o.view = &oview{axes: axes, node: n.name}
	return &o
}

// splitFactors distributes the factors flat (in order) over the axes of
// target, each axis taking a run whose sizes multiply to its size.
func splitFactors(flat []byte, size func(byte) int, target []int) ([][]byte, bool) {
	out := make([][]byte, len(target))
	k := 0
	for i, d := range target {
		p := 1
		for p < d && k < len(flat) {
			p *= size(flat[k])
			out[i] = append(out[i], flat[k])
			k++
		}
		if p != d {
			return nil, false
		}
	}
	return out, k == len(flat)
}

// reshapeView maps a reshape (Reshape, Squeeze, Unsqueeze, Flatten) of x
// to target onto a view.
func (b *onnxImporter) reshapeView(n *onode, x *oact, target []int) *oact {
	ax := x.axes()
	var na [][]byte
	ok := ax != nil
	if ok {
		na, ok = splitFactors(bytes.Join(ax, nil), x.factorSize, target)
	}
	if !ok {
		switch {
		case x.view == nil && !x.act.Spatial():
			n.failf("reshape from %v to %v turns a vector into a sequence, which no CMSIS-NN layer does; %s", x.dims, target, rnnInputHint)
		case x.view == nil:
			n.failf("reshape from %v to %v moves elements between axes; %s", x.dims, target, rnnInputHint)
		default:
			n.failf("reshape from %v to %v moves elements between axes of the view of %q made by node %q; only size-1 axes may be added, removed or moved (and a sequence flattened into a vector)", x.dims, target, x.name, x.view.node)
		}
		return nil
	}
	return b.settle(n, x, target, na)
}

// transposeView maps a Transpose of x onto a view.
func (b *onnxImporter) transposeView(n *onode, x *oact, perm []int) *oact {
	ax := x.axes()
	r := len(x.dims)
	if ax == nil {
		n.failf("transposing activations: CMSIS-NN keeps one HWC order; remove the transpose from the exported graph or fold it into the next layer's weights")
		return nil
	}
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] || len(perm) != r {
			n.failf("perm %v is not a permutation of the %d axes of %v", perm, r, x.dims)
			return nil
		}
		seen[p] = true
	}
	dims, axes := make([]int, r), make([][]byte, r)
	for i, p := range perm {
		dims[i], axes[i] = x.dims[p], ax[p]
	}
	return b.settle(n, x, dims, axes)
}

// gatherView maps a Gather from x: one index on a size-1 axis, or the last
// time step of a recurrent layer's sequence.
func (b *onnxImporter) gatherView(n *onode, x *oact, axis int) *oact {
	idx := b.constIn(n, 1, "indices")
	if idx == nil {
		return nil
	}
	ind, err := idx.ints()
	if err != nil {
		n.failf("indices: %v", err)
		return nil
	}
	if len(ind) != 1 {
		n.failf("gathers %d indices %v from an activation; only one index (a size-1 axis, or the last time step y[:, -1] of a GRU/LSTM) maps onto nnq", len(ind), ind)
		return nil
	}
	a, err := normAxis(axis, len(x.dims))
	if err != nil {
		n.failf("axis: %v", err)
		return nil
	}
	return b.pick(n, x, a, ind[0], len(idx.dims) > 0)
}

// sliceView maps a Slice of x: full ranges, and one index of a size-1 axis
// or the last time step of a recurrent layer's sequence.
func (b *onnxImporter) sliceView(n *onode, x *oact, starts, ends, axes []int) *oact {
	var steps []int
	if starts == nil {
		args := make([][]int, 4)
		for i := 1; i <= 4; i++ {
			if n.in(i) == nil {
				continue
			}
			t := b.constIn(n, i, []string{"", "starts", "ends", "axes", "steps"}[i])
			if t == nil {
				return nil
			}
			v, err := t.ints()
			if err != nil {
				n.failf("input %d: %v", i, err)
				return nil
			}
			args[i-1] = v
		}
		starts, ends, axes, steps = args[0], args[1], args[2], args[3]
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, i)
		}
	}
	if steps == nil {
		for range starts {
			steps = append(steps, 1)
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		n.failf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
		return nil
	}
	pickAxis, pickAt := -1, 0
	seen := map[int]bool{}
	for i, ax := range axes {
		a, err := normAxis(ax, len(x.dims))
		if err != nil || seen[a] || steps[i] == 0 {
			n.failf("axes %v / steps %v are invalid for shape %v", axes, steps, x.dims)
			return nil
		}
		seen[a] = true
		d := x.dims[a]
		st, cnt := sliceAxis(d, starts[i], ends[i], steps[i])
		switch {
		case cnt == d && (steps[i] == 1 || d == 1):
		case cnt == 1 && pickAxis < 0:
			pickAxis, pickAt = a, st
		default:
			n.failf("slice [%d:%d:%d] of axis %d of the activation %v: only the last time step y[:, -1:] of a GRU/LSTM output maps onto nnq", starts[i], ends[i], steps[i], a, x.dims)
			return nil
		}
	}
	if pickAxis < 0 {
		return x
	}
	return b.pick(n, x, pickAxis, pickAt, true)
}

// pick selects index k of axis a of x, keeping the axis (size 1) or
// dropping it.
func (b *onnxImporter) pick(n *onode, x *oact, a, k int, keep bool) *oact {
	ax := x.axes()
	d := x.dims[a]
	if k < 0 {
		k += d
	}
	if ax == nil || k < 0 || k >= d {
		n.failf("index %d of axis %d of the activation %v: out of range or not a view nnq understands", k, a, x.dims)
		return nil
	}
	dims := append([]int(nil), x.dims...)
	dims[a] = 1
	if !keep {
		dims = append(dims[:a:a], dims[a+1:]...)
	}
	// axesWith lists ax with axis a emptied (or dropped) and the other
	// axes mapped by f.
	axesWith := func(f func([]byte) []byte) [][]byte {
		var out [][]byte
		for i, fs := range ax {
			switch {
			case i != a:
				out = append(out, f(fs))
			case keep:
				out = append(out, nil)
			}
		}
		return out
	}
	if d == 1 {
		return b.settle(n, x, dims, axesWith(func(fs []byte) []byte { return fs }))
	}
	l := b.m.Layer(x.name)
	T := x.factorSize('t')
	if !bytes.Equal(ax[a], []byte{'t'}) || l == nil || (l.Op != nnq.OpGRU && l.Op != nnq.OpLSTM) || !l.Attrs.ReturnSequences {
		n.failf("selecting along axis %d of the activation %v: nnq selects nothing from activations but the last time step (y[:, -1]) of a GRU/LSTM output sequence (and indices of size-1 axes)", a, x.dims)
		return nil
	}
	if k != T-1 {
		n.failf("selects time step %d of the %d of %s %q; only the last step (index -1) is an nnq %s output (return_sequences false)", k, T, l.Op, l.Name, l.Op)
		return nil
	}
	if r := b.readers(x.name); r != 1 {
		n.failf("takes the last time step of %s %q, whose sequence output is also read elsewhere (%d reads); nnq's %s outputs either every step or the last one", l.Op, l.Name, r, l.Op)
		return nil
	}
	// The sequence [T,H,1] becomes the last h, a vector [H]: its w
	// factor is h's v (T is the axis dropped, C is 1).
	l.Attrs.ReturnSequences = false
	h := *x
	h.act = nnq.Act{Shape: []int{x.act.Shape[1]}}
	hv := h.fac('v')
	return b.settle(n, &h, dims, axesWith(func(fs []byte) []byte {
		if len(fs) > 0 {
			return hv
		}
		return nil
	}))
}

// onnxRecurrent maps GRU and LSTM (one direction, PyTorch's gate
// semantics) onto nnq's gru and lstm layers.
func onnxRecurrent(op nnq.Op) func(b *onnxImporter, n *onode) []*oval {
	return func(b *onnxImporter, n *onode) []*oval {
		G := 3 // r, z, n
		if op == nnq.OpLSTM {
			G = 4 // i, f, g, o
		}
		hidden := n.attrInt("hidden_size", 0)
		recurrentAttrs(n, op)
		for i, what := range []string{"X", "W", "R"} {
			if n.in(i) == nil {
				n.failf("%s (input %d) is missing", what, i)
			}
		}
		if n.blocked() {
			return nil
		}
		x := recurrentInput(n, op)
		if x == nil {
			return nil
		}
		T, I := x.act.Shape[0], x.act.Shape[1]*x.act.Shape[2]
		W, R := b.constIn(n, 1, "W"), b.constIn(n, 2, "R")
		B := b.optConstIn(n, 3, "B")
		b.recurrentRuns(n, op, T)
		if W == nil || R == nil || len(n.why) > 0 {
			return nil
		}
		if len(R.dims) != 3 || R.dims[0] != 1 || R.dims[2] < 1 || R.dims[1] != G*R.dims[2] {
			n.failf("R has shape %v, want [1, %d·hidden, hidden] (one direction, %d gates)", R.dims, G, G)
			return nil
		}
		H := R.dims[2]
		switch {
		case hidden != 0 && hidden != int64(H):
			n.failf("hidden_size %d disagrees with R %v", hidden, R.dims)
			return nil
		case !slices.Equal(W.dims, []int{1, G * H, I}):
			n.failf("W has shape %v, want [1, %d, %d] (%d gates of hidden %d, %d features per step of X %v)", W.dims, G*H, I, G, H, I, x.dims)
			return nil
		case B != nil && !slices.Equal(B.dims, []int{1, 2 * G * H}):
			n.failf("B has shape %v, want [1, %d] (Wb then Rb)", B.dims, 2*G*H)
			return nil
		}
		outs := n.p.GetOutput()
		used := func(k int) bool { return k < len(outs) && outs[k] != "" && b.uses[outs[k]] > 0 }
		if op == nnq.OpLSTM && used(2) {
			n.failf("output Y_c (%q, the last cell state) is used; nnq's lstm outputs h only", outs[2])
			return nil
		}
		l := b.layer(n, "", op, nnq.Attrs{Hidden: H, ReturnSequences: used(0)})
		gates := gateOrder(op, H)
		b.param(l, "weight_ih", "", []int{G * H, I}, gates(W.v, I))
		b.param(l, "weight_hh", "", []int{G * H, H}, gates(R.v, H))
		if B != nil {
			b.param(l, "bias_ih", "", []int{G * H}, gates(B.v[:G*H], 1))
			b.param(l, "bias_hh", "", []int{G * H}, gates(B.v[G*H:], 1))
		}
		out := b.emit(n, l, x)
		if out == nil {
			return nil
		}
		return b.recurrentOutputs(n, op, out, T, H, used(0), used(1))
	}
}

// recurrentAttrs checks the attributes of a GRU/LSTM node against what
// nnq's layers compute.
func recurrentAttrs(n *onode, op nnq.Op) {
	switch dir := n.attrString("direction", "forward"); dir {
	case "forward":
	case "bidirectional", "reverse":
		n.failf("direction %q: nnq's %s runs forward over the sequence only (export a unidirectional network, bidirectional=False)", dir, op)
	default:
		n.failf("direction %q is not forward, reverse or bidirectional", dir)
	}
	if n.attrInt("layout", 0) != 0 {
		n.failf("layout=1 (batch-major X and Y): nnq maps the default layout 0 ([T,B,I], what torch.onnx.export writes)")
	}
	if a := n.attr("clip", onnxpb.AttributeProto_FLOAT); a != nil {
		n.failf("clip=%g: nnq's %s does not clip the gate inputs (export without clip; PyTorch never sets it)", a.GetF(), op)
	}
	want := []string{"Sigmoid", "Tanh"}
	if op == nnq.OpLSTM {
		want = append(want, "Tanh")
	}
	if a := n.attr("activations", onnxpb.AttributeProto_STRINGS); a != nil {
		var got []string
		for _, s := range a.GetStrings() {
			got = append(got, string(s))
		}
		if !strings.EqualFold(strings.Join(got, ","), strings.Join(want, ",")) {
			n.failf("activations %q: nnq's %s uses the default (PyTorch's) %q", got, op, want)
		}
	}
	for _, name := range []string{"activation_alpha", "activation_beta"} {
		if a := n.attr(name, onnxpb.AttributeProto_FLOATS); a != nil && len(a.GetFloats()) > 0 {
			n.failf("%s %v: nnq's %s uses the default activations, which take no parameters", name, a.GetFloats(), op)
		}
	}
	if op == nnq.OpGRU {
		if lbr := n.attrInt("linear_before_reset", 0); lbr != 1 {
			n.failf("linear_before_reset=%d: this GRU applies the reset gate before the recurrent weights, n = tanh(W x + Wb + R (r ⊙ h) + Rb) (ONNX's default, Keras reset_after=False); nnq's gru is PyTorch's, n = tanh(W x + Wb + r ⊙ (R h + Rb)), "+
				"which torch.onnx.export writes as linear_before_reset=1, and the two cannot be converted into each other (retrain with PyTorch's nn.GRU or Keras reset_after=True)", lbr)
		}
	} else if n.attrInt("input_forget", 0) != 0 {
		n.failf("input_forget=1 (coupled input and forget gates): nnq's lstm is PyTorch's, with separate gates")
	}
}

// recurrentInput returns X, which must be a feature map [C,T,F] read as T
// steps of C·F features.
func recurrentInput(n *onode, op nnq.Op) *oact {
	v := n.in(0)
	if v.c != nil {
		n.failf("X (input 0, %q) is a constant; nnq layers compute on activations", n.inName(0))
		return nil
	}
	x := v.a
	if x.pads != nil {
		n.failf("reads the output of Pad node %q: only a Conv can absorb zero padding", x.padNode)
		return nil
	}
	if !x.act.Spatial() {
		n.failf("X (%q, shape %v) is a vector of %d values; nnq's %s reads a feature map as a sequence, and CMSIS-NN cannot reshape a vector into one: %s", n.inName(0), x.dims, x.act.Size(), op, rnnInputHint)
		return nil
	}
	ax := x.axes()
	if len(x.dims) != 3 || ax == nil || x.dims[1] != 1 || !bytes.Equal(ax[0], x.fac('t')) || len(ax[1]) != 0 || !bytes.Equal(ax[2], x.fac('c', 'w')) {
		s := x.act.Shape
		n.failf("X (%q, shape %v) is not the feature map [C,T,F] = %v read as %d steps of %d features; %s", n.inName(0), x.dims, []int{s[2], s[0], s[1]}, s[0], s[1]*s[2], rnnInputHint)
		return nil
	}
	return x
}

// recurrentRuns checks that every sequence runs all T steps from a zero
// state (sequence_lens, initial_h, initial_c) without peepholes.
func (b *onnxImporter) recurrentRuns(n *onode, op nnq.Op, T int) {
	if n.in(4) != nil {
		if t := b.constIn(n, 4, "sequence_lens"); t != nil {
			for _, l := range t.v {
				if int(l) != T {
					n.failf("sequence_lens %v: nnq runs every sequence for all %d steps (export without packed sequences)", t.v, T)
					break
				}
			}
		}
	}
	zero := func(i int, what, why string) {
		v := n.in(i)
		switch {
		case v == nil:
		case v.a != nil:
			n.failf("%s (input %d, %q) is computed by the network: %s", what, i, n.inName(i), why)
		default:
			if _, z := v.c.allZero(); !z {
				n.failf("%s (input %d) is not zero: %s", what, i, why)
			}
		}
	}
	zero(5, "initial_h", fmt.Sprintf("nnq's %s starts from a zero state (pass no initial state)", op))
	if op == nnq.OpLSTM {
		zero(6, "initial_c", "nnq's lstm starts from a zero state (pass no initial state)")
		zero(7, "P (peephole weights)", "nnq's lstm has no peephole connections (PyTorch's nn.LSTM has none)")
	}
}

// gateOrder returns a function that reorders ONNX's gate blocks (each
// H×cols) into PyTorch's: GRU z,r,h → r,z,n; LSTM i,o,f,c → i,f,g,o.
func gateOrder(op nnq.Op, H int) func(v []float64, cols int) []float32 {
	perm := []int{1, 0, 2}
	if op == nnq.OpLSTM {
		perm = []int{0, 2, 3, 1}
	}
	return func(v []float64, cols int) []float32 {
		out := make([]float32, len(perm)*H*cols)
		blk := H * cols
		for k, src := range perm {
			for j := 0; j < blk; j++ {
				out[k*blk+j] = float32(v[src*blk+j])
			}
		}
		return out
	}
}

// recurrentOutputs are the values of a GRU/LSTM node's outputs: Y (every
// step's h) when seq, else Y_h (the last h); with Y, a used Y_h is a
// placeholder only a Concat may read.
func (b *onnxImporter) recurrentOutputs(n *onode, op nnq.Op, out *oact, T, H int, seq, yh bool) []*oval {
	if !seq {
		return []*oval{nil, {a: b.settle(n, out, []int{1, 1, H}, [][]byte{nil, nil, out.fac('v')})}}
	}
	y := &oval{a: b.settle(n, out, []int{T, 1, 1, H}, [][]byte{out.fac('t'), nil, nil, out.fac('w')})}
	if !yh {
		return []*oval{y}
	}
	// Y_h too (a stacked PyTorch layer's h_n): only a Concat whose other
	// part is selected may read it.
	h := &oact{name: out.name + ".Y_h", dims: []int{1, 1, H}, act: nnq.Act{Shape: []int{H}}}
	h.view = &oview{axes: [][]byte{nil, nil, h.fac('v')}, node: n.name}
	h.missing = fmt.Sprintf("is the last h (Y_h) of %s %q, which nnq does not compute because the node's output sequence Y is used too: nnq's %s outputs either every step's h or the last one (take y[:, -1] of the last layer instead of h_n)", op, n.name, op)
	return []*oval{y, {a: h}}
}

// ostack is a Concat of activations along a size-1 axis (PyTorch's h_n of
// stacked recurrent layers); only a Gather of one part reads it.
type ostack struct {
	parts []*oact
	axis  int
	dims  []int
}

// unreadable says why node op cannot read v, or "".
func (v *oval) unreadable(op string) string {
	switch {
	case v.a != nil && v.a.missing != "" && op != "Concat" && op != "Shape":
		return v.a.missing
	case v.a != nil && v.a.quant != nil && op != "DequantizeLinear":
		return "is the int8 output of QuantizeLinear node " + strconv.Quote(v.a.quant.node) + "; nnq reads it only through a DequantizeLinear (QDQ form)"
	case v.stack != nil && op != "Gather" && op != "Shape":
		return "is a concatenation of activations (e.g. h_n of stacked GRU/LSTM layers) from which nnq can only select one part (Gather, h_n[-1])"
	}
	return ""
}

// stackActs maps a Concat of recurrent outputs along a size-1 axis onto an
// ostack; ok is false when the inputs are not recurrent outputs (st is nil
// after a failure).
func (b *onnxImporter) stackActs(n *onode, axis int) (st *ostack, ok bool) {
	var parts []*oact
	for _, v := range n.ins {
		if v == nil || v.a == nil {
			return nil, false
		}
		if v.a.view != nil || v.a.missing != "" {
			ok = true
		}
		parts = append(parts, v.a)
	}
	if !ok {
		return nil, false
	}
	r := len(parts[0].dims)
	a, err := normAxis(axis, r)
	if err != nil {
		n.failf("axis: %v", err)
		return nil, true
	}
	for _, p := range parts {
		if p.axes() == nil || !slices.Equal(p.dims, parts[0].dims) || p.dims[a] != 1 {
			n.failf("concatenating activations of shapes %v and %v along axis %d: nnq keeps a concatenation only to select one of its parts (h_n[-1] of stacked GRU/LSTM layers), along a size-1 axis", parts[0].dims, p.dims, a)
			return nil, true
		}
	}
	dims := append([]int(nil), parts[0].dims...)
	dims[a] = len(parts)
	return &ostack{parts: parts, axis: a, dims: dims}, true
}

// gatherStack selects one part of a stack.
func (b *onnxImporter) gatherStack(n *onode, st *ostack, axis int) *oact {
	a, err := normAxis(axis, len(st.dims))
	if err != nil || a != st.axis {
		n.failf("gathers along axis %d of a concatenation along axis %d; only selecting one of the concatenated parts maps onto nnq", axis, st.axis)
		return nil
	}
	idx := b.constIn(n, 1, "indices")
	if idx == nil {
		return nil
	}
	ind, err := idx.ints()
	if err != nil || len(ind) != 1 {
		n.failf("indices %v: only one part of the concatenation can be selected", idx.v)
		return nil
	}
	k := ind[0]
	if k < 0 {
		k += len(st.parts)
	}
	if k < 0 || k >= len(st.parts) {
		n.failf("index %d is out of range for %d parts", ind[0], len(st.parts))
		return nil
	}
	p := st.parts[k]
	if p.missing != "" {
		n.failf("selects part %d, which %s", k, p.missing)
		return nil
	}
	return b.pick(n, p, a, 0, len(idx.dims) > 0)
}
