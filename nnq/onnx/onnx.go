package onnx

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

func init() { nnq.RegisterFormat("ONNX", ".onnx", Read) }

// onnxMaxFile bounds the size of an .onnx file nnq reads.
const onnxMaxFile = 1 << 30

// Read reads an ONNX model file and converts it into an nnq Model in
// NCHW layout (not yet prepared: Load also folds batchnorm and drops
// dropout). The model takes the graph's name, or the file's when the graph
// has an exporter's default name.
func Read(path string) (*nnq.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, onnxMaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > onnxMaxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, onnxMaxFile)
	}
	m, err := decode(data, "", strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// exporterGraphNames are the graph names exporters write by default; a
// model with one of them is named after its file instead.
var exporterGraphNames = map[string]bool{"torch_jit": true, "torch-jit-export": true, "main_graph": true, "tf2onnx": true, "test": true}

// Decode converts a serialized ONNX ModelProto into an nnq Model in NCHW
// layout named name (the graph's name when name is empty). Every node that
// cannot be mapped onto CMSIS-NN is reported in one *Error.
func Decode(data []byte, name string) (*nnq.Model, error) {
	return decode(data, name, "")
}

// decode names the model name, else the graph's name unless it is an
// exporter's default, else fallback.
func decode(data []byte, name, fallback string) (*nnq.Model, error) {
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	if name == "" {
		name = mp.GetGraph().GetName()
		if name == "" || exporterGraphNames[name] {
			name = fallback
		}
	}
	return importONNX(&mp, name)
}

// Problem is one node nnq cannot convert.
type Problem struct {
	Node   string // node name (or its first output when unnamed)
	OpType string
	Reason string
}

// Error lists every node of a model that nnq cannot convert, with what
// each could be rewritten as.
type Error struct {
	Model    string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ONNX model %q: %d node(s) cannot be converted to CMSIS-NN:", e.Model, len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  node %q (%s): %s", p.Node, p.OpType, p.Reason)
	}
	return b.String()
}

// oact is an activation value of the ONNX graph: an nnq activation tensor
// (the model input or a layer output) seen with its ONNX shape.
type oact struct {
	name string  // nnq tensor name
	dims []int   // ONNX shape with the batch: [1,C,H,W], [1,N] or [N]
	act  nnq.Act // nnq shape
	// pads is a pending ONNX Pad [top,left,bottom,right] that only a
	// following Conv can absorb; padNode names the Pad node.
	pads    []int
	padNode string
	// view, when set, says how the ONNX axes hold the activation's
	// factors: a sequence view for a recurrent layer (rnn.go).
	view *oview
	// missing, when set, says why nnq does not compute this value (a
	// recurrent layer's Y_h when its Y is used): only Concat and Shape
	// may read it.
	missing string
	// quant marks the int8 output of a QuantizeLinear (qdq.go): only a
	// DequantizeLinear may read it.
	quant *qmark
}

// oval is an ONNX value: a constant, an activation, or bad (made by a node
// that failed, so its shape is unknown).
type oval struct {
	c     *ctensor
	a     *oact
	stack *ostack
	bad   bool
}

type onnxImporter struct {
	m        *nnq.Model
	opset    int64
	vals     map[string]*oval
	uses     map[string]int // how many live node inputs (and graph outputs) read each value
	names    map[string]bool
	problems []Problem
	budget   int // constant elements the folding may still create
	// rnnFeed holds the values that reach a GRU/LSTM input through
	// reshapes and transposes only (rnn.go).
	rnnFeed map[string]bool
}

func importONNX(mp *onnxpb.ModelProto, name string) (*nnq.Model, error) {
	g := mp.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("ONNX model has no graph")
	}
	b := &onnxImporter{
		m:      &nnq.Model{Name: name, Layout: nnq.NCHW, Tensors: map[string]*nnq.Tensor{}},
		vals:   map[string]*oval{},
		uses:   map[string]int{},
		names:  map[string]bool{},
		budget: 4 * onnxMaxElems,
	}
	domains := map[string]bool{}
	for _, o := range mp.GetOpsetImport() {
		switch o.GetDomain() {
		case "", "ai.onnx":
			b.opset = o.GetVersion()
		default:
			domains[o.GetDomain()] = true
		}
	}
	if b.opset < 1 {
		return nil, fmt.Errorf("ONNX model imports no ai.onnx operator set version")
	}
	for _, kv := range mp.GetMetadataProps() {
		switch kv.GetKey() {
		case "classes":
			b.m.Classes = parseClasses(kv.GetValue())
		case FrontendMetadataKey:
			fe, err := parseFrontend(kv.GetValue())
			if err != nil {
				return nil, err
			}
			b.m.Frontend = fe
		}
	}
	for _, t := range g.GetInitializer() {
		if t.GetName() == "" {
			return nil, fmt.Errorf("ONNX graph has an initializer without a name")
		}
		if _, dup := b.vals[t.GetName()]; dup {
			return nil, fmt.Errorf("ONNX graph has two initializers named %q", t.GetName())
		}
		ct, err := decodeTensor(t)
		if err != nil {
			return nil, err
		}
		b.vals[t.GetName()] = &oval{c: ct}
	}
	if err := b.input(g); err != nil {
		return nil, err
	}
	if len(g.GetOutput()) != 1 {
		var outs []string
		for _, o := range g.GetOutput() {
			outs = append(outs, o.GetName())
		}
		return nil, fmt.Errorf("ONNX graph has %d outputs %q; an nnq model has exactly one", len(outs), outs)
	}
	outName := g.GetOutput()[0].GetName()
	live, err := b.liveNodes(g, outName)
	if err != nil {
		return nil, err
	}
	b.markRNNFeeds(g, live)
	for i, np := range g.GetNode() {
		if !live[i] {
			continue
		}
		b.convert(i, np)
	}
	if len(b.problems) > 0 {
		return nil, &Error{Model: b.m.Name, Problems: b.problems}
	}
	out := b.vals[outName]
	if out != nil && out.a != nil {
		b.pruneLayers(out.a.name)
	}
	switch {
	case out == nil:
		return nil, fmt.Errorf("ONNX graph output %q is not computed by any node", outName)
	case out.c != nil:
		return nil, fmt.Errorf("ONNX graph output %q is a constant", outName)
	case out.a == nil:
		return nil, fmt.Errorf("ONNX graph output %q is a concatenation of activations", outName)
	case out.a.pads != nil:
		return nil, fmt.Errorf("ONNX graph output %q is made by Pad node %q, which only a following Conv can absorb", outName, out.a.padNode)
	case out.a.view != nil && !out.a.inMemoryOrder():
		return nil, fmt.Errorf("ONNX graph output %q (shape %v) is a view of layer %q's output made by node %q that reorders its elements; nnq's output keeps the layer's memory order", outName, out.a.dims, out.a.name, out.a.view.node)
	case len(b.m.Layers) == 0 || out.a.name != b.m.Layers[len(b.m.Layers)-1].Name:
		return nil, fmt.Errorf("ONNX graph output %q is not computed by any layer nnq keeps (it is the input or an alias of it)", outName)
	}
	compactInputs(b.m)
	if err := b.m.Check(); err != nil {
		return nil, fmt.Errorf("converted ONNX model: %w", err)
	}
	return b.m, nil
}

// pruneLayers drops the layers the output does not depend on (a layer made
// only so that a Shape node could read its size, or one whose result a
// folded constant replaced) and their tensors.
func (b *onnxImporter) pruneLayers(out string) {
	need := map[string]bool{out: true}
	for i := len(b.m.Layers) - 1; i >= 0; i-- {
		if l := b.m.Layers[i]; need[l.Name] {
			for _, in := range l.Inputs {
				need[in] = true
			}
		}
	}
	var keep []*nnq.Layer
	used := map[string]bool{}
	for _, l := range b.m.Layers {
		if need[l.Name] {
			keep = append(keep, l)
			for _, t := range l.Params {
				used[t] = true
			}
		}
	}
	b.m.Layers = keep
	for name := range b.m.Tensors {
		if !used[name] {
			delete(b.m.Tensors, name)
		}
	}
}

// FrontendMetadataKey is the ONNX metadata entry that records the model's
// input front end: the JSON of an nnq.Frontend (docs/FORMAT.md, "frontend").
const FrontendMetadataKey = "nnq.frontend"

// parseFrontend decodes an nnq.frontend metadata entry strictly.
func parseFrontend(s string) (*nnq.Frontend, error) {
	fe, err := nnq.ParseFrontend([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("ONNX metadata %q: %v", FrontendMetadataKey, err)
	}
	return fe, nil
}

// parseClasses reads class names from a "classes" metadata entry: a JSON
// list of strings, or names separated by commas.
func parseClasses(s string) []string {
	var out []string
	if json.Unmarshal([]byte(s), &out) == nil {
		return out
	}
	for _, c := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// input sets the model input from the one graph input that is not an
// initializer.
func (b *onnxImporter) input(g *onnxpb.GraphProto) error {
	var ins []*onnxpb.ValueInfoProto
	var names []string
	for _, vi := range g.GetInput() {
		if _, isInit := b.vals[vi.GetName()]; isInit {
			continue
		}
		ins = append(ins, vi)
		names = append(names, vi.GetName())
	}
	if len(ins) != 1 {
		return fmt.Errorf("ONNX graph has %d inputs %q (initializers aside); an nnq model has exactly one", len(ins), names)
	}
	vi := ins[0]
	name := vi.GetName()
	if name == "" {
		return fmt.Errorf("ONNX graph input has no name")
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return fmt.Errorf("ONNX graph input %q is not a tensor", name)
	}
	if tt.GetElemType() != onnxFloat {
		return fmt.Errorf("ONNX graph input %q has element type %s; nnq converts float32 networks", name, onnxpb.TensorProto_DataType(tt.GetElemType()))
	}
	if tt.GetShape() == nil {
		return fmt.Errorf("ONNX graph input %q has no shape; nnq needs fixed sizes (export with a fixed input shape)", name)
	}
	var dims []int
	for i, d := range tt.GetShape().GetDim() {
		v := d.GetDimValue()
		if _, sym := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimParam); sym || d.GetValue() == nil {
			v = 0
		}
		if v < 0 || v > onnxMaxDim {
			return fmt.Errorf("ONNX graph input %q: dimension %d is %d", name, i, v)
		}
		dims = append(dims, int(v))
	}
	shape := dims
	switch len(dims) {
	case 4, 2:
		if dims[0] > 1 {
			return fmt.Errorf("ONNX graph input %q has batch size %d; nnq converts batch-1 networks (export with batch 1 or a symbolic batch)", name, dims[0])
		}
		dims = append([]int(nil), dims...)
		dims[0] = 1
		shape = dims[1:]
	case 1:
	case 3:
		return fmt.Errorf("ONNX graph input %q has shape %v: 1-D (N,C,L) networks are not supported; rewrite them as 2-D with H=1 (conv1d as a 1xK conv2d on [N,C,1,L])", name, dims)
	default:
		return fmt.Errorf("ONNX graph input %q has rank %d; nnq takes [N,C,H,W] maps or [N,F] vectors", name, len(dims))
	}
	for i, d := range shape {
		if d < 1 {
			return fmt.Errorf("ONNX graph input %q: dimension %d of %v is not fixed; nnq needs fixed sizes", name, i+len(dims)-len(shape), dims)
		}
	}
	if _, err := dimsSize(shape, onnxMaxElems); err != nil {
		return fmt.Errorf("ONNX graph input %q: %v", name, err)
	}
	b.m.InputName, b.m.InputShape = name, append([]int(nil), shape...)
	a, err := b.m.InputAct()
	if err != nil {
		return err
	}
	b.vals[name] = &oval{a: &oact{name: name, dims: dims, act: a}}
	b.names[name] = true
	return nil
}

// liveNodes marks the nodes the graph output depends on and counts value
// uses among them.
func (b *onnxImporter) liveNodes(g *onnxpb.GraphProto, out string) ([]bool, error) {
	nodes := g.GetNode()
	producer := map[string]int{}
	for i, n := range nodes {
		for _, o := range n.GetOutput() {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup {
				return nil, fmt.Errorf("ONNX value %q is produced by two nodes", o)
			}
			if _, isVal := b.vals[o]; isVal {
				return nil, fmt.Errorf("ONNX value %q is both an input or initializer and a node output", o)
			}
			producer[o] = i
		}
	}
	live := make([]bool, len(nodes))
	stack := []string{out}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i, ok := producer[v]
		if !ok || live[i] {
			continue
		}
		live[i] = true
		stack = append(stack, nodes[i].GetInput()...)
	}
	for i, n := range nodes {
		if live[i] {
			for _, in := range n.GetInput() {
				if in != "" {
					b.uses[in]++
				}
			}
		}
	}
	b.uses[out]++
	return live, nil
}

// layerName picks a unique nnq layer name for node n (plus suffix).
func (b *onnxImporter) layerName(n *onode, suffix string) string {
	base := n.name + suffix
	name := base
	for k := 2; b.names[name]; k++ {
		name = fmt.Sprintf("%s_%d", base, k)
	}
	b.names[name] = true
	return name
}

// tensor stores a new parameter tensor owned by one layer, named hint
// (an initializer name) when free.
func (b *onnxImporter) tensor(hint, fallback string, shape []int, data []float32) string {
	name := hint
	if name == "" || b.m.Tensors[name] != nil {
		name = fallback
		for k := 2; b.m.Tensors[name] != nil; k++ {
			name = fmt.Sprintf("%s_%d", fallback, k)
		}
	}
	b.m.Tensors[name] = &nnq.Tensor{Name: name, Shape: append([]int(nil), shape...), Data: data}
	return name
}

// emit appends layer l reading ins, infers its output with nnq's own shape
// rule and returns the new activation (nil after recording a failure).
func (b *onnxImporter) emit(n *onode, l *nnq.Layer, ins ...*oact) *oact {
	acts := make([]nnq.Act, len(ins))
	for i, a := range ins {
		l.Inputs = append(l.Inputs, a.name)
		acts[i] = a.act
	}
	out, err := b.m.OutputOf(l, acts)
	if err == nil && out.Size() <= 0 {
		err = fmt.Errorf("output %v is empty", out.Shape)
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("layer %q: ", l.Name))
		n.failf("%s", msg)
		b.dropParams(l)
		return nil
	}
	b.m.Layers = append(b.m.Layers, l)
	dims := []int{1, out.Size()}
	if out.Spatial() {
		dims = []int{1, out.Shape[2], out.Shape[0], out.Shape[1]}
	}
	return &oact{name: l.Name, dims: dims, act: out}
}

// convert maps node i onto layers, constants or aliases, recording its
// problems.
func (b *onnxImporter) convert(i int, np *onnxpb.NodeProto) {
	n := &onode{p: np, op: np.GetOpType(), attrs: map[string]*onnxpb.AttributeProto{}}
	n.name = strings.TrimPrefix(np.GetName(), "/")
	if n.name == "" {
		for _, o := range np.GetOutput() {
			if o != "" {
				n.name = strings.TrimPrefix(o, "/")
				break
			}
		}
	}
	if n.name == "" {
		n.name = fmt.Sprintf("%s_%d", n.op, i)
	}
	n.ready = true
	for _, in := range np.GetInput() {
		if in == "" {
			n.ins = append(n.ins, nil)
			continue
		}
		v := b.vals[in]
		if v == nil {
			n.failf("input %q is not the graph input, an initializer or the output of an earlier node", in)
			n.ready = false
			n.ins = append(n.ins, nil)
			continue
		}
		if v.bad {
			n.ready = false
		}
		if why := v.unreadable(n.op); why != "" {
			n.failf("input %q %s", in, why)
			n.ready = false
		}
		n.ins = append(n.ins, v)
	}
	for _, a := range np.GetAttribute() {
		if a.GetRefAttrName() != "" {
			n.failf("attribute %q refers to a function attribute, which nnq does not resolve", a.GetName())
		}
		n.attrs[a.GetName()] = a
	}
	var outs []*oval
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		n.failf("operator of domain %q: nnq converts standard ai.onnx operators only", d)
	} else if def, ok := onnxOps[n.op]; !ok {
		n.failf("%s", onnxUnsupportedHint(n.op))
	} else {
		// In the node's order, so the message is the same every run.
		for _, a := range np.GetAttribute() {
			if name := a.GetName(); !slices.Contains(def.attrs, name) && n.attrs[name] == a {
				n.failf("attribute %q is not supported", name)
			}
		}
		if len(n.why) == 0 {
			outs = def.conv(b, n)
		}
	}
	if len(n.why) > 0 {
		b.problems = append(b.problems, Problem{Node: n.name, OpType: n.op, Reason: strings.Join(n.why, "; ")})
		outs = nil
	}
	// A node whose output is its input under another name (Identity, a
	// no-op reshape, a folded constant Add) passes its read on to the
	// readers of its output, so foldTarget counts only real readers.
	for _, in := range np.GetInput() {
		v := b.vals[in]
		if v == nil || v.a == nil {
			continue
		}
		for _, o := range outs {
			if o != nil && o.a != nil && o.a.name == v.a.name {
				b.uses[in]--
				break
			}
		}
	}
	for k, o := range np.GetOutput() {
		if o == "" {
			continue
		}
		var v *oval
		if k < len(outs) {
			v = outs[k]
		}
		if v == nil {
			v = &oval{bad: true}
			if k > 0 && len(n.why) == 0 && n.ready && b.uses[o] > 0 {
				// An optional output the converter does not compute.
				b.problems = append(b.problems, Problem{Node: n.name, OpType: n.op,
					Reason: fmt.Sprintf("output %d (%q) is used, but nnq computes only the first output", k, o)})
			}
		}
		b.vals[o] = v
	}
}

// onnxUnsupportedHint says why an ONNX operator has no nnq mapping and what
// to rewrite it as, reusing nnq's own advice for layer kinds it knows.
func onnxUnsupportedHint(op string) string {
	if kind, ok := onnxToNNQUnsupported[op]; ok {
		hint, known := nnq.UnsupportedHint(kind)
		if slices.Contains(nnq.SupportedOps(), nnq.Op(kind)) {
			// nnq has its own layer for it (e.g. lstm, gru), which the
			// ONNX importer does not map yet.
			msg := fmt.Sprintf("the ONNX importer does not map %s onto nnq's %s layer yet (build that layer in an nnq Arrow model instead)", op, kind)
			if known {
				msg += "; or rewrite it as " + hint
			}
			return msg
		}
		if known {
			return "no CMSIS-NN kernel; rewrite it as " + hint
		}
	}
	if h, ok := onnxHints[op]; ok {
		return h
	}
	names := make([]string, 0, len(onnxOps))
	for k, d := range onnxOps {
		if !d.constOnly {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return fmt.Sprintf("operator not supported by nnq (supported: %s)", strings.Join(names, ", "))
}

// compactInputs drops the input lists that name the previous layer (or
// the model input for the first layer), which nnq assumes anyway.
func compactInputs(m *nnq.Model) {
	prev := m.InputName
	for _, l := range m.Layers {
		if len(l.Inputs) == 1 && l.Inputs[0] == prev {
			l.Inputs = nil
		}
		prev = l.Name
	}
}

// hint is nnq's advice for a layer kind CMSIS-NN has no kernel for.
func hint(kind string) string {
	h, _ := nnq.UnsupportedHint(kind)
	return h
}

// onnxToNNQUnsupported maps ONNX operators onto the layer kinds of nnq's
// unsupported table (op.go).
var onnxToNNQUnsupported = map[string]string{
	"RNN":                "rnn",
	"LeakyRelu":          "leakyrelu",
	"PRelu":              "leakyrelu",
	"Gelu":               "gelu",
	"Upsample":           "upsample",
	"Resize":             "upsample",
	"LayerNormalization": "layernorm",
}

var onnxHints = map[string]string{
	"ConvTranspose":         "no CMSIS-NN kernel (transposed convolution); " + "rewrite it as " + hint("upsample"),
	"Clip":                  "no CMSIS-NN kernel for a clipped activation (e.g. ReLU6); rewrite it as relu (retrain)",
	"Elu":                   "no CMSIS-NN kernel; rewrite it as relu (retrain)",
	"Selu":                  "no CMSIS-NN kernel; rewrite it as relu (retrain)",
	"HardSigmoid":           "no CMSIS-NN kernel; rewrite it as sigmoid",
	"HardSwish":             "no CMSIS-NN kernel; rewrite it as relu (retrain)",
	"LogSoftmax":            "no CMSIS-NN kernel; rewrite it as softmax (the argmax is the same)",
	"InstanceNormalization": "no CMSIS-NN kernel; rewrite it as " + hint("layernorm"),
	"Split":                 "splitting activations has no CMSIS-NN equivalent; compute each branch from the whole tensor",
	"Expand":                "broadcasting activations has no CMSIS-NN equivalent",
	"Tile":                  "tiling activations has no CMSIS-NN equivalent",
	"ReduceSum":             "no CMSIS-NN kernel; a spatial ReduceMean (global average pooling) is supported",
	"ReduceMax":             "only a spatial ReduceMax (axes 2,3 = global max pooling) is supported",
	"Abs":                   "no CMSIS-NN kernel for element-wise abs",
	"Exp":                   "no CMSIS-NN kernel for element-wise exp",
	"Sqrt":                  "no CMSIS-NN kernel for element-wise sqrt",
	"Pow":                   "no CMSIS-NN kernel for element-wise pow",
	"Neg":                   "no CMSIS-NN kernel; fold the negation into the preceding layer's weights",
	"DepthToSpace":          "rewrite it as " + hint("upsample"),
	"SpaceToDepth":          "no CMSIS-NN kernel; use a strided conv2d instead",
	"If":                    "control flow has no CMSIS-NN equivalent; export one branch",
	"Loop":                  "control flow has no CMSIS-NN equivalent; unroll it at export",
	"Scan":                  "control flow has no CMSIS-NN equivalent; unroll it at export",
	"QuantizeLinear":        "nnq quantizes float networks itself; export the float model",
	"DequantizeLinear":      "nnq quantizes float networks itself; export the float model",
	"QLinearConv":           "nnq quantizes float networks itself; export the float model",
	"QLinearMatMul":         "nnq quantizes float networks itself; export the float model",
	"LpNormalization":       "no CMSIS-NN kernel; " + hint("layernorm"),
	"MaxRoiPool":            "no CMSIS-NN kernel",
	"TopK":                  "no CMSIS-NN kernel; take the argmax of the output on the host",
	"ArgMax":                "no CMSIS-NN kernel; take the argmax of the output on the host",
	"Einsum":                "no CMSIS-NN kernel; rewrite it as dense layers",
	"GlobalLpPool":          "no CMSIS-NN kernel; use GlobalAveragePool or GlobalMaxPool",
	"LpPool":                "no CMSIS-NN kernel; use AveragePool or MaxPool",
}
