package onnx

import (
	"errors"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// onnxGraph builds small ONNX models in Go for unit tests and fuzz seeds.
type onnxGraph struct {
	g     *onnxpb.GraphProto
	opset int64
	r     *rand.Rand
}

func newONNXGraph(input string, dims ...int64) *onnxGraph {
	var shape []*onnxpb.TensorShapeProto_Dimension
	for _, d := range dims {
		if d < 0 {
			shape = append(shape, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}})
			continue
		}
		shape = append(shape, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	vi := &onnxpb.ValueInfoProto{Name: proto.String(input), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(onnxFloat), Shape: &onnxpb.TensorShapeProto{Dim: shape}}}}}
	return &onnxGraph{g: &onnxpb.GraphProto{Name: proto.String("test"), Input: []*onnxpb.ValueInfoProto{vi}}, opset: 13, r: rand.New(rand.NewSource(1))}
}

// init adds a float initializer (random values when data is nil).
func (b *onnxGraph) init(name string, data []float32, dims ...int64) {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	if data == nil {
		data = make([]float32, n)
		for i := range data {
			data[i] = float32(b.r.NormFloat64() * 0.5)
		}
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(onnxFloat), FloatData: data})
}

// ints adds an int64 initializer.
func (b *onnxGraph) ints(name string, v ...int64) {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(v))}, DataType: proto.Int32(onnxInt64), Int64Data: v})
}

func (b *onnxGraph) node(op, name string, ins, outs []string, attrs ...*onnxpb.AttributeProto) {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: ins, Output: outs, Attribute: attrs})
}

func (b *onnxGraph) bytes(t testing.TB, output string) []byte {
	t.Helper()
	g := proto.Clone(b.g).(*onnxpb.GraphProto)
	g.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(output)}}
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(7), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}}}
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func aString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// onnxSeedModels are hand-built graphs covering the importer's paths; they
// seed FuzzReadONNX and the unit tests below.
func onnxSeedModels(t testing.TB) map[string][]byte {
	out := map[string][]byte{}

	// Pad + SAME_UPPER conv + Sub/Div constants + ceil-mode pool + Squeeze.
	b := newONNXGraph("x", -1, 2, 7, 6)
	b.init("w", nil, 3, 2, 3, 3)
	b.init("bias", nil, 3)
	b.ints("pads", 0, 0, 1, 0, 0, 0, 0, 0) // top 1: 8x6
	b.init("mean", []float32{0.5, -0.25, 1}, 1, 3, 1, 1)
	b.init("std", []float32{2, 0.5, 4}, 3, 1, 1)
	b.ints("axes", 2, 3)
	b.node("Pad", "pad", []string{"x", "pads"}, []string{"p"}, aString("mode", "constant"))
	b.node("Conv", "conv", []string{"p", "w", "bias"}, []string{"c"}, aInts("kernel_shape", 3, 3)) // 6x4
	b.node("Sub", "sub", []string{"c", "mean"}, []string{"s"})
	b.node("Div", "div", []string{"s", "std"}, []string{"d"})
	b.node("Relu", "relu", []string{"d"}, []string{"r"})
	b.node("MaxPool", "pool", []string{"r"}, []string{"m"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1))
	b.node("GlobalAveragePool", "gap", []string{"m"}, []string{"g"})
	b.node("Squeeze", "squeeze", []string{"g", "axes"}, []string{"v"})
	b.node("Softmax", "softmax", []string{"v"}, []string{"y"}, aInt("axis", 1))
	out["pad-conv"] = b.bytes(t, "y")

	// SAME_LOWER depthwise + MatMul/Add + Dropout + Identity + Reshape to [1,-1].
	b = newONNXGraph("x", 1, 3, 5, 5)
	b.init("dw", nil, 3, 1, 3, 3)
	b.init("mm", nil, 27, 4)
	b.init("mb", nil, 4)
	b.ints("shape", 1, -1)
	b.node("Conv", "dw", []string{"x", "dw"}, []string{"c"}, aInt("group", 3), aString("auto_pad", "SAME_LOWER"), aInts("strides", 2, 2))
	b.node("Identity", "id", []string{"c"}, []string{"i"})
	b.node("Reshape", "flat", []string{"i", "shape"}, []string{"f"})
	b.node("Dropout", "drop", []string{"f"}, []string{"dr"})
	b.node("MatMul", "mm", []string{"dr", "mm"}, []string{"mmo"})
	b.node("Add", "bias", []string{"mmo", "mb"}, []string{"y0"})
	b.node("Tanh", "tanh", []string{"y0"}, []string{"y"})
	out["dw-matmul"] = b.bytes(t, "y")

	// Constants folded into a Reshape shape, BatchNormalization on a
	// vector after Gemm, Mul of two activations, an unsupported op.
	b = newONNXGraph("x", 1, 8)
	b.init("gw", nil, 6, 8)
	b.init("gb", nil, 6)
	for _, n := range []string{"g", "be", "mu"} {
		b.init(n, nil, 6)
	}
	b.init("var", []float32{1, 2, 0.5, 1, 3, 1}, 6)
	b.node("Shape", "shape", []string{"x"}, []string{"sh"})
	b.node("Constant", "zero", nil, []string{"z"}, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
		T: &onnxpb.TensorProto{DataType: proto.Int32(onnxInt64), Int64Data: []int64{0}}})
	b.node("Gather", "batch", []string{"sh", "z"}, []string{"n"})
	b.node("Unsqueeze", "unsq", []string{"n"}, []string{"n1"}, aInts("axes", 0))
	b.node("Constant", "minus1", nil, []string{"m1"}, aInts("value_ints", -1))
	b.node("Concat", "cat", []string{"n1", "m1"}, []string{"target"}, aInt("axis", 0))
	b.node("Gemm", "fc", []string{"x", "gw", "gb"}, []string{"h"}, aInt("transB", 1), aFloat("alpha", 0.5))
	b.node("BatchNormalization", "bn", []string{"h", "g", "be", "mu", "var"}, []string{"hb"}, aFloat("epsilon", 1e-3))
	b.node("Sigmoid", "sig", []string{"hb"}, []string{"s"})
	b.node("Mul", "gate", []string{"s", "hb"}, []string{"gm"})
	b.node("Reshape", "view", []string{"gm", "target"}, []string{"y"})
	out["gemm-bn"] = b.bytes(t, "y")

	// Every kind of problem at once.
	b = newONNXGraph("x", 1, 4, 6, 6)
	b.init("w", nil, 4, 2, 3, 3)
	b.node("Conv", "grouped", []string{"x", "w"}, []string{"c"}, aInt("group", 2), aInts("dilations", 2, 2))
	b.node("LeakyRelu", "leaky", []string{"c"}, []string{"l"})
	b.node("AveragePool", "avg", []string{"l"}, []string{"a"}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInt("count_include_pad", 1))
	b.node("GRU", "gru", []string{"a"}, []string{"y"})
	out["problems"] = b.bytes(t, "y")
	return out
}

func decodeSeed(t *testing.T, name string) (*nnq.Model, error) {
	t.Helper()
	m, err := Decode(onnxSeedModels(t)[name], name)
	if err != nil {
		return nil, err
	}
	return m.Prepare()
}

func layerSummary(m *nnq.Model) string {
	var s []string
	for _, l := range m.Layers {
		x := string(l.Op)
		if l.Attrs.Padding != "" {
			x += ":" + l.Attrs.Padding
		}
		for i, p := range l.Attrs.Pads {
			if i > 0 {
				x += ","
			}
			x += strconv.Itoa(p)
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

func TestONNXPadConvAndConstants(t *testing.T) {
	m, err := decodeSeed(t, "pad-conv")
	if err != nil {
		t.Fatal(err)
	}
	// Pad folds into the conv's pads, Sub/Div into its weights and bias,
	// ceil_mode=1 on an even map equals floor, Squeeze is a flatten.
	if got, want := layerSummary(m), "conv2d:explicit1,0,0,0 relu maxpool2d avgpool2d flatten softmax"; got != want {
		t.Errorf("layers %q, want %q", got, want)
	}
	if !slices.Equal(m.InputShape, []int{2, 7, 6}) {
		t.Errorf("input shape %v (symbolic batch)", m.InputShape)
	}
}

func TestONNXDepthwiseMatMul(t *testing.T) {
	m, err := decodeSeed(t, "dw-matmul")
	if err != nil {
		t.Fatal(err)
	}
	// SAME_LOWER on 5x5, k3, s2: total 2 → [1,1,1,1]; MatMul + Add → one dense.
	if got, want := layerSummary(m), "depthwise_conv2d:explicit1,1,1,1 flatten dense tanh"; got != want {
		t.Errorf("layers %q, want %q", got, want)
	}
	d := m.Layers[2]
	if m.Param(d, "bias") == nil || !slices.Equal(m.Param(d, "weight").Shape, []int{4, 27}) {
		t.Errorf("dense %+v: want weight [4 27] and the Add's bias", d.Params)
	}
}

func TestONNXGemmBatchNormShapeFolding(t *testing.T) {
	m, err := decodeSeed(t, "gemm-bn")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerSummary(m), "dense sigmoid mul"; got != want {
		t.Errorf("layers %q, want %q", got, want)
	}
}

func TestONNXEveryProblemListed(t *testing.T) {
	_, err := decodeSeed(t, "problems")
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *Error", err)
	}
	t.Log(err)
	want := map[string][]string{
		"grouped": {"dilations [2 2]"},
		"leaky":   {onnxUnsupportedHint("LeakyRelu")},
		"avg":     {"count_include_pad=1"},                             // listed although its input is unknown (the conv failed)
		"gru":     {"linear_before_reset=0", "W (input 1) is missing"}, // ONNX's default GRU is not PyTorch's
	}
	got := map[string]string{}
	for _, p := range oe.Problems {
		got[p.Node] = p.Reason
	}
	for node, subs := range want {
		r, ok := got[node]
		if !ok {
			t.Errorf("node %q not listed", node)
		}
		for _, s := range subs {
			if !strings.Contains(r, s) {
				t.Errorf("node %q: %q does not say %q", node, r, s)
			}
		}
	}
}

func TestONNXGroupedConvAndWindowErrors(t *testing.T) {
	b := newONNXGraph("x", 1, 4, 6, 6)
	b.init("w", nil, 4, 2, 3, 3)
	b.init("w5", nil, 2, 4, 5, 5)
	b.node("Conv", "grouped", []string{"x", "w"}, []string{"c"}, aInt("group", 2))
	_, err := Decode(b.bytes(t, "c"), "g")
	if err == nil || !strings.Contains(err.Error(), "grouped convolution (group=2)") {
		t.Errorf("grouped conv: %v", err)
	}
	b = newONNXGraph("x", 1, 4, 6, 6)
	b.init("w5", nil, 2, 4, 5, 5)
	b.node("Conv", "bigpad", []string{"x", "w5"}, []string{"c"}, aInts("pads", 5, 0, 0, 0))
	_, err = Decode(b.bytes(t, "c"), "p")
	if err == nil || !strings.Contains(err.Error(), "smaller than the kernel") {
		t.Errorf("pads >= kernel: %v", err)
	}
	b = newONNXGraph("x", 1, 4, 6, 6)
	b.node("AveragePool", "avg", []string{"x"}, []string{"a"}, aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1), aInt("count_include_pad", 1))
	b.node("Relu", "r", []string{"a"}, []string{"y"})
	_, err = Decode(b.bytes(t, "y"), "p")
	if err == nil || !strings.Contains(err.Error(), "count_include_pad=1") {
		t.Errorf("count_include_pad: %v", err)
	}
	// count_include_pad=1 without padding is the same pool.
	b = newONNXGraph("x", 1, 4, 6, 6)
	b.node("AveragePool", "avg", []string{"x"}, []string{"y"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("count_include_pad", 1))
	if _, err := Decode(b.bytes(t, "y"), "p"); err != nil {
		t.Errorf("count_include_pad without padding: %v", err)
	}
	// Pad feeding something other than a conv.
	b = newONNXGraph("x", 1, 4, 6, 6)
	b.ints("pads", 0, 0, 1, 1, 0, 0, 1, 1)
	b.node("Pad", "pad", []string{"x", "pads"}, []string{"p"})
	b.node("MaxPool", "mp", []string{"p"}, []string{"y"}, aInts("kernel_shape", 2, 2))
	_, err = Decode(b.bytes(t, "y"), "p")
	if err == nil || !strings.Contains(err.Error(), `reads the output of Pad node "pad"`) {
		t.Errorf("pad before maxpool: %v", err)
	}
}

func TestONNXInputAndGraphErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		data func() []byte
		want string
	}{
		{"garbage", func() []byte { return []byte("not a protobuf \xff\xff") }, "not an ONNX model"},
		{"nograph", func() []byte { d, _ := proto.Marshal(&onnxpb.ModelProto{}); return d }, "no graph"},
		{"batch", func() []byte {
			b := newONNXGraph("x", 4, 3)
			b.node("Relu", "r", []string{"x"}, []string{"y"})
			return b.bytes(t, "y")
		}, "batch size 4"},
		{"conv1d", func() []byte {
			b := newONNXGraph("x", 1, 3, 10)
			b.node("Relu", "r", []string{"x"}, []string{"y"})
			return b.bytes(t, "y")
		}, "1-D"},
		{"undefined", func() []byte {
			b := newONNXGraph("x", 1, 3)
			b.node("Add", "a", []string{"x", "nothing"}, []string{"y"})
			return b.bytes(t, "y")
		}, `input "nothing" is not`},
		{"domain", func() []byte {
			b := newONNXGraph("x", 1, 3)
			b.node("Relu", "r", []string{"x"}, []string{"y"})
			b.g.Node[0].Domain = proto.String("com.example")
			return b.bytes(t, "y")
		}, `domain "com.example"`},
		{"mask", func() []byte {
			b := newONNXGraph("x", 1, 3)
			b.node("Dropout", "d", []string{"x"}, []string{"y0", "mask"})
			b.node("Mul", "m", []string{"y0", "mask"}, []string{"y"})
			return b.bytes(t, "y")
		}, "nnq computes only the first output"},
		{"attr", func() []byte {
			b := newONNXGraph("x", 1, 3)
			b.node("Relu", "r", []string{"x"}, []string{"y"}, aInt("alpha", 1))
			return b.bytes(t, "y")
		}, `attribute "alpha" is not supported`},
		{"reshape", func() []byte {
			b := newONNXGraph("x", 1, 2, 3, 4)
			b.ints("s", 1, 6, 4)
			b.node("Reshape", "r", []string{"x", "s"}, []string{"y"})
			return b.bytes(t, "y")
		}, "moves elements between axes"},
		{"external", func() []byte {
			b := newONNXGraph("x", 1, 3)
			b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{3, 3}, DataType: proto.Int32(onnxFloat),
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()})
			b.node("MatMul", "m", []string{"x", "w"}, []string{"y"})
			return b.bytes(t, "y")
		}, "external file"},
	} {
		_, err := Decode(c.data(), c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// runONNXBytes imports, prepares, reorders and runs a model on x (NCHW),
// returning the output in ONNX (CHW) order.
func runONNXBytes(t *testing.T, data []byte, x []float32) []float32 {
	t.Helper()
	m, err := Decode(data, "t")
	if err != nil {
		t.Fatal(err)
	}
	if m, err = m.Prepare(); err != nil {
		t.Fatal(err)
	}
	cm, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	run, err := cm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	y := append([]float32(nil), run.Run(x)...)
	if a := run.Act(len(cm.Layers) - 1); a.Spatial() {
		chw := make([]float32, len(y))
		hwcToCHW(a.Shape[0], a.Shape[1], a.Shape[2], y, chw)
		y = chw
	}
	return y
}

func TestONNXAffineFoldNumerics(t *testing.T) {
	mean := []float32{0.5, -0.25, 1}
	std := []float32{2, 0.5, 4}
	build := func(affine bool, branch bool) []byte {
		b := newONNXGraph("x", 1, 2, 5, 4)
		b.init("w", nil, 3, 2, 3, 3)
		b.init("bias", nil, 3)
		b.init("mean", mean, 3, 1, 1)
		b.init("std", std, 1, 3, 1, 1)
		b.node("Conv", "conv", []string{"x", "w", "bias"}, []string{"c"}, aInts("pads", 1, 1, 1, 1))
		out := "c"
		if affine {
			src := "c"
			if branch { // conv output read twice: the affine cannot fold
				b.node("Relu", "relu", []string{"c"}, []string{"r"})
				b.node("Add", "sum", []string{"c", "r"}, []string{"s2"})
				src = "s2"
			}
			b.node("Identity", "id", []string{src}, []string{"i"})
			b.node("Sub", "sub", []string{"i", "mean"}, []string{"s"})
			b.node("Div", "div", []string{"s", "std"}, []string{"y"})
			out = "y"
		} else if branch {
			b.node("Relu", "relu", []string{"c"}, []string{"r"})
			b.node("Add", "sum", []string{"c", "r"}, []string{"s2"})
			out = "s2"
		}
		return b.bytes(t, out)
	}
	r := rand.New(rand.NewSource(3))
	x := make([]float32, 2*5*4)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for _, branch := range []bool{false, true} {
		plain := runONNXBytes(t, build(false, branch), x)
		got := runONNXBytes(t, build(true, branch), x)
		n := len(plain) / 3
		for i, v := range plain {
			c := i / n
			want := (v - mean[c]) / std[c]
			if d := got[i] - want; d > 1e-5 || d < -1e-5 {
				t.Fatalf("branch=%v value %d: %v, want %v", branch, i, got[i], want)
			}
		}
	}
	m, _ := Decode(build(true, true), "t")
	if got := layerSummary(m); got != "conv2d:explicit1,1,1,1 relu add depthwise_conv2d" {
		t.Errorf("unfoldable affine: layers %q", got)
	}
	m, _ = Decode(build(true, false), "t")
	if got := layerSummary(m); got != "conv2d:explicit1,1,1,1" {
		t.Errorf("foldable affine: layers %q", got)
	}
}

func TestONNXShapeOnlyBranchIsPruned(t *testing.T) {
	// x → conv1 (scaled by a constant computed from the shape of conv2's
	// output): conv2 is needed only for its size and must not stay.
	b := newONNXGraph("x", 1, 2, 4, 4)
	b.init("w1", nil, 3, 2, 1, 1)
	b.init("w2", nil, 5, 2, 1, 1)
	b.ints("idx", 1)
	b.node("Conv", "conv1", []string{"x", "w1"}, []string{"a"})
	b.node("Conv", "conv2", []string{"x", "w2"}, []string{"c2"})
	b.node("Shape", "shape", []string{"c2"}, []string{"s"})
	b.node("Gather", "channels", []string{"s", "idx"}, []string{"k"})
	b.node("Cast", "cast", []string{"k"}, []string{"kf"}, aInt("to", int64(onnxFloat)))
	b.node("Mul", "scale", []string{"a", "kf"}, []string{"y"})
	m, err := Decode(b.bytes(t, "y"), "p")
	if err != nil {
		t.Fatal(err)
	}
	if got := layerSummary(m); got != "conv2d" || len(m.Tensors) != 2 {
		t.Fatalf("layers %q, tensors %v", got, m.TensorNames())
	}
	if w := m.Tensors[m.Layers[0].Params["weight"]]; w.Data[0] != 5*b.g.Initializer[0].FloatData[0] {
		t.Errorf("weight %v not scaled by 5", w.Data[0])
	}
}

func TestONNXUnsupportedAttributesInNodeOrder(t *testing.T) {
	b := newONNXGraph("x", 1, 8)
	b.node("Relu", "r", []string{"x"}, []string{"y"}, aInt("zeta", 1), aInt("alpha", 2), aInt("mu", 3))
	data := b.bytes(t, "y")
	for range 20 { // a map walk would change the order between runs
		_, err := Decode(data, "attrs")
		var oe *Error
		if !errors.As(err, &oe) || len(oe.Problems) != 1 {
			t.Fatalf("error %v", err)
		}
		want := `attribute "zeta" is not supported; attribute "alpha" is not supported; attribute "mu" is not supported`
		if got := oe.Problems[0].Reason; got != want {
			t.Fatalf("reason %q, want %q", got, want)
		}
	}
}

func TestONNXPadWithAxesInput(t *testing.T) {
	// Opset 18 Pad: pads [h_begin, w_begin, h_end, w_end] for axes [2, 3]
	// (input 3), folded into the following Conv.
	b := newONNXGraph("x", 1, 2, 5, 5)
	b.opset = 18
	b.ints("pads", 1, 2, 0, 1)
	b.ints("axes", 2, -1)
	b.init("w", nil, 3, 2, 3, 3)
	b.node("Pad", "pad", []string{"x", "pads", "", "axes"}, []string{"p"})
	b.node("Conv", "conv", []string{"p", "w"}, []string{"y"})
	m, err := Decode(b.bytes(t, "y"), "pad-axes")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerSummary(m), "conv2d:explicit1,2,0,1"; got != want {
		t.Fatalf("layers %q, want %q", got, want)
	}
}
