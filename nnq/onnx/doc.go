// Package onnx imports ONNX models into nnq. Importing it, even only for
// its side effect,
//
//	import _ "github.com/nnq-toolkit/nnq/nnq/onnx"
//
// makes nnq.Load (and so nnq.Convert and the nnq command) read .onnx
// files, the way image/png adds PNG to image.Decode. Read and Decode
// give the unprepared model directly.
//
// The importer takes the ai.onnx operator set, float32 activations and
// batch 1, and gives an nnq Model in NCHW layout. Every node it cannot map
// onto CMSIS-NN is reported in one *Error, with what it could be rewritten
// as.
//
// Files: onnx.go (reading, the graph walk, problems), ops.go (the operator
// table), node.go (attribute and input handling shared by all operators),
// window.go (kernel, stride and padding attributes), layers.go,
// binary.go, reshape.go and fold.go (the operators), rnn.go (GRU, LSTM and
// the sequence views around them), tensor.go (constant tensors).
//
// ONNX operators and how they map onto nnq layers (NCHW layout):
//
//	Conv                 group=1 → conv2d; group=C with [C,1,kh,kw] weights → depthwise_conv2d
//	Gemm                 → dense (transB handled; alpha/beta folded into the weights/bias)
//	MatMul (+ Add const) → dense (the constant Add becomes its bias)
//	BatchNormalization   → batchnorm (nnq folds it when loading)
//	Relu, Sigmoid, Tanh, Softmax → the same activation
//	MaxPool, AveragePool → maxpool2d, avgpool2d (average: count_include_pad=0, or no padding)
//	GlobalAveragePool, GlobalMaxPool, ReduceMean/ReduceMax over axes 2,3 → global pools
//	Flatten, Reshape, Squeeze, Unsqueeze to a vector → flatten (a no-op reshape is dropped)
//	Add, Mul of two activations → add, mul
//	Add, Sub, Mul, Div by a per-channel constant → folded into the conv/dense/batchnorm before it,
//	                       else a 1x1 depthwise convolution
//	Pad (zeros) before a Conv → folded into the Conv's pads
//	GRU, LSTM            → gru, lstm (PyTorch gate order; see rnn.go), with the
//	                       Squeeze/Reshape/Transpose views around them, the last
//	                       step taken by Gather/Slice on the time axis, and h_n[-1]
//	                       of stacked layers (Gather from a Concat of their Y_h)
//	Dropout, Identity    → removed
//	Constant, Shape, Gather, Cast, Concat, Slice, Transpose, ConstantOfShape, ... on constants → folded
//
// Window attributes: kernel_shape, strides, pads ([top,left,bottom,right] =
// [x1_begin,x2_begin,x1_end,x2_end]), auto_pad (SAME_UPPER → "same",
// SAME_LOWER → explicit pads with the extra one on top/left, VALID), and
// dilations (must be 1); pools take ceil_mode=1 only when it gives the same
// output size as floor.
package onnx
