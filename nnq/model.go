package nnq

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Layout names the memory order of a model's parameters and activations.
//
// NCHW is PyTorch/ONNX: activations [C][H][W], conv weights OIHW
// ([out][in][ky][kx]), depthwise [C][1][ky][kx], dense [out][in], flatten in
// CHW order.
//
// NHWC is TensorFlow/Keras: activations [H][W][C], conv weights HWIO
// ([ky][kx][in][out]), depthwise [ky][kx][C][1], dense [in][out], flatten in
// HWC order.
//
// CMSIS is the order legacy CMSIS-NN kernels read: activations HWC, conv
// weights OHWI ([out][ky][kx][in]), depthwise [ky][kx][C], dense [out][in]
// with the input index in HWC flatten order.
type Layout string

// The layouts nnq knows.
const (
	NCHW  Layout = "NCHW"
	NHWC  Layout = "NHWC"
	CMSIS Layout = "CMSIS"
)

// Op is a layer kind. Each op has one file op_<name>.go holding its shape
// rule, float forward pass and parameter layout conversion.
type Op string

// The ops nnq maps onto CMSIS-NN.
const (
	OpConv2D          Op = "conv2d"
	OpDepthwiseConv2D Op = "depthwise_conv2d"
	OpDense           Op = "dense"
	OpFlatten         Op = "flatten"
	OpReshape         Op = "reshape"
	OpMaxPool2D       Op = "maxpool2d"
	OpAvgPool2D       Op = "avgpool2d"
	OpReLU            Op = "relu"
	OpSigmoid         Op = "sigmoid"
	OpTanh            Op = "tanh"
	OpSoftmax         Op = "softmax"
	OpBatchNorm       Op = "batchnorm"
	OpAdd             Op = "add"
	OpMul             Op = "mul"
	OpDropout         Op = "dropout"
	OpIdentity        Op = "identity"
)

// Tensor is a named float32 parameter tensor (weights, biases, batchnorm
// statistics). Shape is in the owning model's Layout convention.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Size is the product of the shape.
func (t *Tensor) Size() int { return shapeSize(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Name: t.Name, Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Attrs holds the attributes of a layer. Only the fields meaningful for the
// layer's op are used; the JSON form omits the rest.
type Attrs struct {
	// Kernel is [kh, kw] for convolutions and pools.
	Kernel []int `json:"kernel,omitempty"`
	// Strides is [sh, sw]; default [1, 1] (pools: the kernel).
	Strides []int `json:"strides,omitempty"`
	// Padding is "valid" (default), "same" (TensorFlow rule: total padding
	// max((out-1)*s+k-in, 0), the extra pixel at the bottom/right) or
	// "explicit" (see Pads).
	Padding string `json:"padding,omitempty"`
	// Pads is [top, left, bottom, right] when Padding is "explicit".
	Pads []int `json:"pads,omitempty"`
	// Filters is the number of output channels of a conv2d.
	Filters int `json:"filters,omitempty"`
	// Units is the number of outputs of a dense layer.
	Units int `json:"units,omitempty"`
	// Activation is a fused activation applied after conv/dense: "" or "relu".
	Activation string `json:"activation,omitempty"`
	// Global makes avgpool2d/maxpool2d cover the whole input map.
	Global bool `json:"global,omitempty"`
	// Shape is the reshape target in the model's layout, without batch.
	Shape []int `json:"shape,omitempty"`
	// Epsilon is the batchnorm variance epsilon (default 1e-5).
	Epsilon float64 `json:"epsilon,omitempty"`
	// Hidden is the state size of a gru or lstm layer (optional, must
	// agree with weight_hh).
	Hidden int `json:"hidden,omitempty"`
	// ReturnSequences makes a gru or lstm layer output h after every time
	// step ([T, H, 1]) instead of the last h only ([H]).
	ReturnSequences bool `json:"return_sequences,omitempty"`
}

// Layer is one node of the graph. Its output tensor is named after the layer.
type Layer struct {
	Name string `json:"name"`
	Op   Op     `json:"op"`
	// Inputs names the activation tensors read: the model input name or
	// earlier layers' names. Empty means the previous layer (or the model
	// input for the first layer).
	Inputs []string `json:"inputs,omitempty"`
	Attrs  Attrs    `json:"attrs"`
	// Params maps a role ("weight", "bias", "gamma", "beta", "mean", "var")
	// to a tensor name in Model.Tensors.
	Params map[string]string `json:"params,omitempty"`
}

// Model is a float network: a topologically ordered list of layers over named
// activation tensors, plus its parameter tensors.
type Model struct {
	Name   string
	Layout Layout
	// InputName names the network input activation (default "input").
	InputName string
	// InputShape is the shape of one input pattern without batch, in
	// Layout's order: [C,H,W] for NCHW, [H,W,C] for NHWC and CMSIS, or [N]
	// for a vector input.
	InputShape []int
	// Classes optionally names the output classes.
	Classes []string
	Layers  []*Layer
	Tensors map[string]*Tensor
	// Notes records what loading did to the graph (batchnorm folding,
	// dropout removal, layout conversion); the summary prints them.
	Notes []string
	// Source is the framework layout the model came from (set on a model
	// converted to CMSIS, so patterns can be converted too).
	Source Layout
	// QDQ, when set, is the int8 quantization an already-quantized model
	// was imported with (s8 keeps it; see QDQ).
	QDQ *QDQ
	// Frontend, when set, records how the input is computed from a raw
	// signal (the KWS networks' MFCC); see Frontend.
	Frontend *Frontend
}

// Param returns the tensor that plays role for layer l, or nil.
func (m *Model) Param(l *Layer, role string) *Tensor {
	if l.Params == nil {
		return nil
	}
	return m.Tensors[l.Params[role]]
}

// Layer returns the layer named name, or nil.
func (m *Model) Layer(name string) *Layer {
	for _, l := range m.Layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// inputsOf resolves a layer's input names (defaulting to the previous layer).
func (m *Model) inputsOf(i int) []string {
	l := m.Layers[i]
	if len(l.Inputs) > 0 {
		return l.Inputs
	}
	if i == 0 {
		return []string{m.inputName()}
	}
	return []string{m.Layers[i-1].Name}
}

// LayerInputs returns the activation tensor names layer i reads.
func (m *Model) LayerInputs(i int) []string { return m.inputsOf(i) }

func (m *Model) inputName() string {
	if m.InputName == "" {
		return "input"
	}
	return m.InputName
}

// Output returns the name of the network output tensor (the last layer).
func (m *Model) Output() string {
	if len(m.Layers) == 0 {
		return m.inputName()
	}
	return m.Layers[len(m.Layers)-1].Name
}

// Clone returns a deep copy of the model.
func (m *Model) Clone() *Model {
	c := *m
	c.InputShape = append([]int(nil), m.InputShape...)
	c.Classes = append([]string(nil), m.Classes...)
	c.Notes = append([]string(nil), m.Notes...)
	c.Frontend = m.Frontend.Clone()
	c.Layers = make([]*Layer, len(m.Layers))
	for i, l := range m.Layers {
		nl := *l
		nl.Inputs = append([]string(nil), l.Inputs...)
		nl.Attrs = l.Attrs.clone()
		if l.Params != nil {
			nl.Params = make(map[string]string, len(l.Params))
			for k, v := range l.Params {
				nl.Params[k] = v
			}
		}
		c.Layers[i] = &nl
	}
	c.Tensors = make(map[string]*Tensor, len(m.Tensors))
	for k, t := range m.Tensors {
		c.Tensors[k] = t.Clone()
	}
	return &c
}

func (a Attrs) clone() Attrs {
	b := a
	b.Kernel = append([]int(nil), a.Kernel...)
	b.Strides = append([]int(nil), a.Strides...)
	b.Pads = append([]int(nil), a.Pads...)
	b.Shape = append([]int(nil), a.Shape...)
	return b
}

// TensorNames returns the parameter tensor names, sorted.
func (m *Model) TensorNames() []string {
	names := make([]string, 0, len(m.Tensors))
	for k := range m.Tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, "x") + "]"
}

// checkFinite reports the first NaN or Inf in data.
func checkFinite(data []float32) (int, bool) {
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i, false
		}
	}
	return 0, true
}
