package onnx

import (
	"github.com/nnq-toolkit/nnq/nnq"
)

// onnxOpDef is one ONNX operator: the attributes it accepts (any other
// is reported) and the function that converts a node. Each function reads
// its attributes first (so a node whose inputs failed still gets its
// attribute problems reported), stops when n.blocked(), then maps the
// node onto layers, a folded constant or an alias of its input.
type onnxOpDef struct {
	attrs []string
	// constOnly marks a shape computation nnq folds over constants (not a
	// layer operator).
	constOnly bool
	conv      func(b *onnxImporter, n *onode) []*oval
}

var onnxOps map[string]*onnxOpDef

func init() {
	win := []string{"auto_pad", "dilations", "kernel_shape", "pads", "strides"}
	onnxOps = map[string]*onnxOpDef{
		"Conv":               {attrs: append(win, "group"), conv: onnxConv},
		"MaxPool":            {attrs: append(win, "ceil_mode", "storage_order"), conv: onnxPool(true)},
		"AveragePool":        {attrs: append(win, "ceil_mode", "count_include_pad"), conv: onnxPool(false)},
		"GlobalAveragePool":  {conv: onnxGlobalPool(nnq.OpAvgPool2D)},
		"GlobalMaxPool":      {conv: onnxGlobalPool(nnq.OpMaxPool2D)},
		"ReduceMean":         {attrs: []string{"axes", "keepdims", "noop_with_empty_axes"}, conv: onnxReduce(nnq.OpAvgPool2D)},
		"ReduceMax":          {attrs: []string{"axes", "keepdims", "noop_with_empty_axes"}, conv: onnxReduce(nnq.OpMaxPool2D)},
		"Gemm":               {attrs: []string{"alpha", "beta", "transA", "transB", "broadcast"}, conv: onnxGemm},
		"MatMul":             {conv: onnxMatMul},
		"BatchNormalization": {attrs: []string{"epsilon", "momentum", "spatial", "training_mode", "is_test", "consumed_inputs"}, conv: onnxBatchNorm},
		"Relu":               {attrs: []string{"consumed_inputs"}, conv: onnxUnary(nnq.OpReLU)},
		"Sigmoid":            {attrs: []string{"consumed_inputs"}, conv: onnxUnary(nnq.OpSigmoid)},
		"Tanh":               {attrs: []string{"consumed_inputs"}, conv: onnxUnary(nnq.OpTanh)},
		"Softmax":            {attrs: []string{"axis"}, conv: onnxSoftmax},
		"Add":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Add")},
		"Sub":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Sub")},
		"Mul":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Mul")},
		"Div":                {attrs: []string{"axis", "broadcast", "consumed_inputs"}, conv: onnxBinary("Div")},
		"Flatten":            {attrs: []string{"axis"}, conv: onnxFlatten},
		"Reshape":            {attrs: []string{"shape", "allowzero"}, conv: onnxReshape},
		"Squeeze":            {attrs: []string{"axes"}, conv: onnxSqueeze(false)},
		"Unsqueeze":          {attrs: []string{"axes"}, conv: onnxSqueeze(true)},
		"Dropout":            {attrs: []string{"ratio", "seed", "is_test", "consumed_inputs"}, conv: onnxDropout},
		"Identity":           {conv: onnxIdentity},
		"Pad":                {attrs: []string{"mode", "pads", "value"}, conv: onnxPad},
		"GRU":                {attrs: append(rnnAttrs, "linear_before_reset"), conv: onnxRecurrent(nnq.OpGRU)},
		"QuantizeLinear":     {attrs: []string{"axis", "saturate"}, conv: onnxQuantizeLinear},
		"DequantizeLinear":   {attrs: []string{"axis"}, conv: onnxDequantizeLinear},
		"LSTM":               {attrs: append(rnnAttrs, "input_forget"), conv: onnxRecurrent(nnq.OpLSTM)},

		"Constant":        {attrs: []string{"value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value"}, constOnly: true, conv: onnxConstant},
		"Shape":           {attrs: []string{"start", "end"}, constOnly: true, conv: onnxShape},
		"Gather":          {attrs: []string{"axis"}, constOnly: true, conv: onnxGather},
		"Cast":            {attrs: []string{"to", "saturate"}, constOnly: true, conv: onnxCast},
		"Concat":          {attrs: []string{"axis"}, constOnly: true, conv: onnxConcat},
		"Slice":           {attrs: []string{"starts", "ends", "axes"}, constOnly: true, conv: onnxSlice},
		"Transpose":       {attrs: []string{"perm"}, constOnly: true, conv: onnxTranspose},
		"ConstantOfShape": {attrs: []string{"value"}, constOnly: true, conv: onnxConstantOfShape},
		"Expand":          {constOnly: true, conv: onnxExpand},
	}
}
