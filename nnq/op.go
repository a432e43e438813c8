package nnq

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Act describes an activation tensor: its logical shape ([H,W,C] for a
// feature map, [N] for a vector) and, for a vector made by flattening a
// feature map, the map's shape (so a following dense layer can be
// reordered).
type Act struct {
	Shape []int
	// Flat is the [H,W,C] shape a vector was flattened from, or nil.
	Flat []int
}

// Size is the number of elements.
func (a Act) Size() int { return shapeSize(a.Shape) }

// Spatial reports whether the tensor is a [H,W,C] feature map.
func (a Act) Spatial() bool { return len(a.Shape) == 3 }

// opSpec is everything nnq knows about one op kind. Each op file registers
// one in its init function.
type opSpec struct {
	op Op
	// arity is the number of activation inputs.
	arity int
	// params are the required and optional parameter roles.
	params, optParams []string
	// shape infers the output from the inputs and checks parameter shapes
	// (m.Layout says how parameters are laid out).
	shape func(m *Model, l *Layer, in []Act) (Act, error)
	// forward is the float pass in CMSIS layout.
	forward func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32)
	// prepare, when set, packs the layer's parameters once per Runner for
	// a float pass equal to forward bit for bit (the fused activation is
	// applied after it); Runners use it instead of forward.
	prepare func(m *Model, l *Layer, in []Act) preparedLayer
	// reference is the naive float pass in the framework layout m.Layout
	// (NCHW or NHWC); it exists only to check the layout conversion.
	reference func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32)
	// toCMSIS reorders the layer's parameters from m.Layout to CMSIS order,
	// writing them into dst.
	toCMSIS func(m, dst *Model, l *Layer, in []Act) error
	// inPlace reports that the output may share the first input's buffer.
	inPlace bool
	// qformat is the Q-format rule: it sets the output format, parameter
	// formats, shifts and quantized parameters of ql (whose input formats
	// are set).
	qformat func(c *qctx, l *Layer, ql *QLayer) error
	// fixed is the bit-exact fixed-point forward pass.
	fixed func(s *Sim, k int, x []qbuf, y qbuf) error
	// internals, when set, names a layer's internal tensors
	// ("<layer>/<name>", e.g. the gates and state of a recurrent layer)
	// whose statistics Calibrate collects; trace is then forward that also
	// passes their values to rec (any number of times per pattern).
	internals func(l *Layer) []string
	trace     func(m *Model, l *Layer, in []Act, x [][]float32, out Act, y []float32, rec func(name string, v []float32))
}

var ops = map[Op]*opSpec{}

func register(s *opSpec) { ops[s.op] = s }

// unsupported maps layer kinds CMSIS-NN has no kernel for to what they can be
// rewritten as.
var unsupported = map[string]string{
	"lstm":            "fully connected layers (dense) for the gates + sigmoid/tanh activations + elementwise mul/add (CMSIS-NN FC + activations, CMSIS-DSP elementwise ops)",
	"gru":             "fully connected layers (dense) for the gates + sigmoid/tanh activations + elementwise mul/add/sub (as the CMSIS-NN GRU example does)",
	"rnn":             "a dense layer on [x, h] + tanh, unrolled over time steps",
	"conv1d":          "conv2d with a 1xK kernel on an [H=1,W,C] map",
	"layernorm":       "nothing exact; fold it offline or replace it with batchnorm before training",
	"leakyrelu":       "relu (retrain), since CMSIS-NN has no leaky ReLU",
	"gelu":            "relu or tanh (retrain)",
	"upsample":        "nothing in CMSIS-NN; use a strided conv2d or change the network",
	"concat":          "two convolutions writing into one buffer is not expressible; use add instead",
	"separableconv2d": "depthwise_conv2d followed by a 1x1 conv2d",
}

// SupportedOps lists the op kinds nnq accepts.
func SupportedOps() []Op {
	out := make([]Op, 0, len(ops))
	for k := range ops {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func specOf(l *Layer) (*opSpec, error) {
	if s, ok := ops[l.Op]; ok {
		return s, nil
	}
	if hint, ok := unsupported[strings.ToLower(string(l.Op))]; ok {
		return nil, fmt.Errorf("layer %q: op %q has no CMSIS-NN kernel; rewrite it as %s", l.Name, l.Op, hint)
	}
	return nil, fmt.Errorf("layer %q: unknown op %q (supported: %v)", l.Name, l.Op, SupportedOps())
}

// window computes the 2-D geometry of a conv/pool layer on a [H,W,C] input.
func window(l *Layer, in []int, kh, kw, outC int, defaultStride int) (kernels.Window2D, error) {
	H, W, C := in[0], in[1], in[2]
	sh, sw := defaultStride, defaultStride
	if defaultStride == 0 {
		sh, sw = kh, kw
	}
	if len(l.Attrs.Strides) > 0 {
		if len(l.Attrs.Strides) != 2 || l.Attrs.Strides[0] < 1 || l.Attrs.Strides[1] < 1 {
			return kernels.Window2D{}, fmt.Errorf("layer %q: strides %v must be two positive numbers", l.Name, l.Attrs.Strides)
		}
		sh, sw = l.Attrs.Strides[0], l.Attrs.Strides[1]
	}
	if kh < 1 || kw < 1 {
		return kernels.Window2D{}, fmt.Errorf("layer %q: kernel %dx%d is empty", l.Name, kh, kw)
	}
	var pt, pl, oh, ow int
	switch l.Attrs.Padding {
	case "", "valid":
		oh, ow = (H-kh)/sh+1, (W-kw)/sw+1
		if H < kh || W < kw {
			oh, ow = 0, 0
		}
	case "same":
		oh, ow = (H+sh-1)/sh, (W+sw-1)/sw
		// TensorFlow's rule; the extra pixel goes to the bottom/right,
		// which the output size implies.
		th, tw := max((oh-1)*sh+kh-H, 0), max((ow-1)*sw+kw-W, 0)
		pt, pl = th/2, tw/2
	case "explicit":
		if len(l.Attrs.Pads) != 4 {
			return kernels.Window2D{}, fmt.Errorf("layer %q: explicit padding needs pads [top,left,bottom,right], got %v", l.Name, l.Attrs.Pads)
		}
		var pb, pr int
		pt, pl, pb, pr = l.Attrs.Pads[0], l.Attrs.Pads[1], l.Attrs.Pads[2], l.Attrs.Pads[3]
		if pt < 0 || pl < 0 || pb < 0 || pr < 0 {
			return kernels.Window2D{}, fmt.Errorf("layer %q: negative pads %v", l.Name, l.Attrs.Pads)
		}
		if pt >= kh || pb >= kh || pl >= kw || pr >= kw {
			return kernels.Window2D{}, fmt.Errorf("layer %q: pads %v must be smaller than the kernel %dx%d", l.Name, l.Attrs.Pads, kh, kw)
		}
		oh, ow = (H+pt+pb-kh)/sh+1, (W+pl+pr-kw)/sw+1
		if H+pt+pb < kh || W+pl+pr < kw {
			oh, ow = 0, 0
		}
	default:
		return kernels.Window2D{}, fmt.Errorf("layer %q: padding %q is not valid, same or explicit", l.Name, l.Attrs.Padding)
	}
	if oh < 1 || ow < 1 {
		return kernels.Window2D{}, fmt.Errorf("layer %q: kernel %dx%d does not fit the %dx%d input", l.Name, kh, kw, H, W)
	}
	return kernels.Window2D{InH: H, InW: W, InC: C, OutH: oh, OutW: ow, OutC: outC, KH: kh, KW: kw, SH: sh, SW: sw, PadT: pt, PadL: pl}, nil
}

// Window returns the 2-D geometry of a conv, depthwise or pooling layer in a
// model whose shapes have been inferred.
func (m *Model) Window(l *Layer) (kernels.Window2D, error) {
	acts, err := m.Shapes()
	if err != nil {
		return kernels.Window2D{}, err
	}
	i := m.index(l)
	return m.windowOf(l, acts[m.inputsOf(i)[0]])
}

func (m *Model) windowOf(l *Layer, in Act) (kernels.Window2D, error) {
	if !in.Spatial() {
		return kernels.Window2D{}, fmt.Errorf("layer %q: %s needs a [H,W,C] input, got %v", l.Name, l.Op, in.Shape)
	}
	switch l.Op {
	case OpConv2D:
		kh, kw, _, f := convDims(m.Layout, m.Param(l, "weight").Shape)
		return window(l, in.Shape, kh, kw, f, 1)
	case OpDepthwiseConv2D:
		kh, kw, c := dwDims(m.Layout, m.Param(l, "weight").Shape)
		return window(l, in.Shape, kh, kw, c, 1)
	case OpMaxPool2D, OpAvgPool2D:
		if l.Attrs.Global {
			return kernels.Window2D{InH: in.Shape[0], InW: in.Shape[1], InC: in.Shape[2], OutH: 1, OutW: 1, OutC: in.Shape[2],
				KH: in.Shape[0], KW: in.Shape[1], SH: 1, SW: 1}, nil
		}
		if len(l.Attrs.Kernel) != 2 {
			return kernels.Window2D{}, fmt.Errorf("layer %q: %s needs kernel [kh, kw] (or global: true)", l.Name, l.Op)
		}
		return window(l, in.Shape, l.Attrs.Kernel[0], l.Attrs.Kernel[1], in.Shape[2], 0)
	}
	return kernels.Window2D{}, fmt.Errorf("layer %q: %s has no window", l.Name, l.Op)
}

func (m *Model) index(l *Layer) int {
	for i, x := range m.Layers {
		if x == l {
			return i
		}
	}
	return -1
}

// Shapes infers the activation of every tensor (the model input and every
// layer output), checking parameters on the way. Errors name the layer.
func (m *Model) Shapes() (map[string]Act, error) {
	in, err := m.InputAct()
	if err != nil {
		return nil, err
	}
	acts := map[string]Act{m.inputName(): in}
	for i, l := range m.Layers {
		if l.Name == "" {
			return nil, fmt.Errorf("layer %d (%s) has no name", i, l.Op)
		}
		if _, dup := acts[l.Name]; dup {
			return nil, fmt.Errorf("layer %q: name used twice (layer names are tensor names)", l.Name)
		}
		s, err := specOf(l)
		if err != nil {
			return nil, err
		}
		names := m.inputsOf(i)
		if len(names) != s.arity {
			return nil, fmt.Errorf("layer %q: %s takes %d input(s), got %d (%v)", l.Name, l.Op, s.arity, len(names), names)
		}
		ins := make([]Act, len(names))
		for j, n := range names {
			a, ok := acts[n]
			if !ok {
				return nil, fmt.Errorf("layer %q: input %q is not the model input or an earlier layer", l.Name, n)
			}
			ins[j] = a
		}
		if err := m.checkParams(l, s); err != nil {
			return nil, err
		}
		out, err := s.shape(m, l, ins)
		if err != nil {
			return nil, err
		}
		if out.Size() <= 0 {
			return nil, fmt.Errorf("layer %q: output %v is empty", l.Name, out.Shape)
		}
		acts[l.Name] = out
	}
	return acts, nil
}

// InputAct is the activation the model input makes: [H,W,C] for a map
// (a 2-D input gets C=1; an NCHW [C,H,W] input is seen as [H,W,C]), [N]
// for a vector.
func (m *Model) InputAct() (Act, error) {
	s := m.InputShape
	for _, d := range s {
		if d <= 0 {
			return Act{}, fmt.Errorf("model input %q: shape %v has a non-positive dimension", m.inputName(), s)
		}
	}
	switch len(s) {
	case 1:
		return Act{Shape: []int{s[0]}}, nil
	case 2:
		return Act{Shape: []int{s[0], s[1], 1}}, nil
	case 3:
		if m.Layout == NCHW {
			return Act{Shape: []int{s[1], s[2], s[0]}}, nil
		}
		return Act{Shape: []int{s[0], s[1], s[2]}}, nil
	}
	return Act{}, fmt.Errorf("model input %q: shape %v must have 1, 2 or 3 dimensions (without batch)", m.inputName(), s)
}

// OutputOf checks layer l's parameters against m (its tensors and layout)
// and infers the activation l makes from its inputs in, without adding l to
// m. Importers (package nnq/onnx) use it to build a model layer by layer.
func (m *Model) OutputOf(l *Layer, in []Act) (Act, error) {
	s, err := specOf(l)
	if err != nil {
		return Act{}, err
	}
	if err := m.checkParams(l, s); err != nil {
		return Act{}, err
	}
	return s.shape(m, l, in)
}

// UnsupportedHint says what a layer kind CMSIS-NN has no kernel for
// ("lstm" in a Keras model, "upsample", "concat", ...) can be rewritten
// as; ok is false for a kind nnq has no advice for.
func UnsupportedHint(kind string) (hint string, ok bool) {
	hint, ok = unsupported[strings.ToLower(kind)]
	return hint, ok
}

func (m *Model) checkParams(l *Layer, s *opSpec) error {
	for _, role := range s.params {
		name, ok := l.Params[role]
		if !ok {
			return fmt.Errorf("layer %q: %s needs a %q parameter", l.Name, l.Op, role)
		}
		if m.Tensors[name] == nil {
			return fmt.Errorf("layer %q: parameter %q names tensor %q, which the model does not have", l.Name, role, name)
		}
	}
	allowed := map[string]bool{}
	for _, r := range append(append([]string{}, s.params...), s.optParams...) {
		allowed[r] = true
	}
	for role, name := range l.Params {
		if !allowed[role] {
			return fmt.Errorf("layer %q: %s takes no %q parameter", l.Name, l.Op, role)
		}
		t := m.Tensors[name]
		if t == nil {
			return fmt.Errorf("layer %q: parameter %q names tensor %q, which the model does not have", l.Name, role, name)
		}
		if len(t.Data) != t.Size() {
			return fmt.Errorf("tensor %q (layer %q): %d values for shape %v (%d elements)", name, l.Name, len(t.Data), t.Shape, t.Size())
		}
		if i, ok := checkFinite(t.Data); !ok {
			return fmt.Errorf("tensor %q (layer %q): element %d is %v", name, l.Name, i, t.Data[i])
		}
	}
	return nil
}

// Check infers every shape and checks every parameter.
func (m *Model) Check() error {
	switch m.Layout {
	case NCHW, NHWC, CMSIS:
	default:
		return fmt.Errorf("model %q: layout %q is not NCHW, NHWC or CMSIS", m.Name, m.Layout)
	}
	if len(m.Layers) == 0 {
		return fmt.Errorf("model %q has no layers", m.Name)
	}
	if err := m.checkNames(); err != nil {
		return err
	}
	acts, err := m.Shapes()
	if err != nil {
		return err
	}
	if out := acts[m.Output()]; len(m.Classes) > 0 && len(m.Classes) != out.Size() {
		return fmt.Errorf("model %q: classes lists %d names, but the output %q has %d values %v", m.Name, len(m.Classes), m.Output(), out.Size(), out.Shape)
	}
	return m.CheckFrontend()
}

// checkNames requires every name (model, input, layers, their inputs and
// parameters, tensors, classes) to be valid UTF-8: they are stored as JSON
// and Arrow strings and written into C comments.
func (m *Model) checkNames() error {
	bad := func(what, s string) error {
		return fmt.Errorf("model %q: %s %q is not valid UTF-8", strings.ToValidUTF8(m.Name, "?"), what, strings.ToValidUTF8(s, "?"))
	}
	names := [][2]string{{"name", m.Name}, {"input name", m.InputName}}
	for _, l := range m.Layers {
		names = append(names, [2]string{"layer name", l.Name})
		for _, in := range l.Inputs {
			names = append(names, [2]string{"layer input", in})
		}
		for _, t := range l.Params {
			names = append(names, [2]string{"parameter", t})
		}
	}
	for t := range m.Tensors {
		names = append(names, [2]string{"tensor name", t})
	}
	for _, c := range m.Classes {
		names = append(names, [2]string{"class", c})
	}
	for _, n := range names {
		if !utf8.ValidString(n[1]) {
			return bad(n[0], n[1])
		}
	}
	return nil
}

func wantShape(l *Layer, role string, t *Tensor, want ...int) error {
	if len(t.Shape) != len(want) {
		return fmt.Errorf("layer %q: %s tensor %q has shape %v, want %v", l.Name, role, t.Name, t.Shape, want)
	}
	for i := range want {
		if want[i] >= 0 && t.Shape[i] != want[i] {
			return fmt.Errorf("layer %q: %s tensor %q has shape %v, want %v", l.Name, role, t.Name, t.Shape, want)
		}
	}
	return nil
}
