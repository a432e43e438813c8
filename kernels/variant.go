package kernels

import "fmt"

// Variant names one kernel function. String() is the exact C function name
// codegen emits (CMSIS-NN 5.9.0 legacy API, or nnq's own nnq_* kernels).
type Variant int

// The variants. Each has a Go function of the same name without the Var
// prefix.
const (
	VarInvalid Variant = iota

	VarConvolveHWCQ7Basic
	VarConvolveHWCQ7Fast
	VarConvolveHWCQ7RGB
	VarConvolveHWCQ7BasicNonsquare
	VarConvolveHWCQ7FastNonsquare
	VarConvolve1x1HWCQ7FastNonsquare
	VarConvolveHWCQ15Basic
	VarConvolveHWCQ15Fast
	VarConvolveHWCQ15FastNonsquare
	VarDepthwiseSeparableConvHWCQ7
	VarDepthwiseSeparableConvHWCQ7Nonsquare

	VarFullyConnectedQ7
	VarFullyConnectedQ7Opt
	VarFullyConnectedQ15
	VarFullyConnectedQ15Opt
	VarFullyConnectedMatQ7VecQ15
	VarFullyConnectedMatQ7VecQ15Opt

	VarMaxpoolQ7HWC
	VarAvepoolQ7HWC

	VarReluQ7
	VarReluQ15
	VarActivationsDirectQ7
	VarActivationsDirectQ15
	VarSoftmaxQ7
	VarSoftmaxQ15
	VarSoftmaxWithBatchQ7
	VarNNMultQ7
	VarNNMultQ15

	// nnq's own C kernels (codegen/crt), not part of CMSIS-NN: the kernels
	// of the default (--runtime nnq) export; a --runtime cmsis export uses
	// them only for layers the legacy library has no kernel for. Their Go
	// twins are in nnq_kernels.go; the same results on every target.
	VarNNQConvQ7     // nnq_conv_q7: any convolution, q7 weights in nnq's order
	VarNNQConvQ7Wide // nnq_conv_q7_wide: the same weights pre-expanded to q15
	VarNNQConvQ15
	VarNNQDWConvQ7 // nnq_dwconv_q7: depthwise, multiplier 1
	VarNNQDWConvQ15
	VarNNQFCQ7
	VarNNQFCQ15
	VarNNQMaxpoolQ7
	VarNNQMaxpoolQ15
	VarNNQAvgpoolQ7
	VarNNQAvgpoolQ15
	VarNNQReluQ7
	VarNNQReluQ15
	VarNNQActQ7 // nnq_act_q7: sigmoid or tanh by table
	VarNNQActQ15
	VarNNQSoftmaxQ7
	VarNNQSoftmaxQ15
	VarNNQMultQ7
	VarNNQMultQ15
	VarNNQAddQ7
	VarNNQAddQ15

	// nnq's recurrent kernels (nnq_rnn.go): the time-step loop of a GRU or
	// LSTM layer over fully connected and activation kernels and CMSIS-DSP
	// element-wise functions. The suffix is the network's word size; the
	// state always runs in q15. nnq_gru_q7 etc. use nnq's FC kernel (nnq
	// weight order, int32 biases); the _cmsis ones the legacy CMSIS-NN
	// functions (--runtime cmsis).
	VarNNQGRUQ7
	VarNNQGRUQ15
	VarNNQLSTMQ7
	VarNNQLSTMQ15
	VarNNQGRUCMSISQ7
	VarNNQGRUCMSISQ15
	VarNNQLSTMCMSISQ7
	VarNNQLSTMCMSISQ15

	numVariants
)

// Kind groups variants by argument shape.
type Kind int

// Variant kinds.
const (
	KindInvalid     Kind = iota
	KindConv             // OHWI conv; ConvGeom
	KindDepthwise        // depthwise, multiplier 1; ConvGeom
	KindFC               // fully connected; FCGeom
	KindPool             // pooling; ConvGeom (PoolGeom)
	KindActivation       // relu, sigmoid/tanh (in place); VecGeom
	KindSoftmax          // VecGeom
	KindElementwise      // mult, add; VecGeom
	KindRecurrent        // GRU, LSTM time loop; RNNGeom
)

type variantInfo struct {
	name   string
	kind   Kind
	square bool // square signature
	q15    bool // activations are q15
	opt    bool // weights interleaved (_opt)
	nnq    bool // nnq's own kernel
}

var variantTable = [numVariants]variantInfo{
	VarConvolveHWCQ7Basic:                   {"arm_convolve_HWC_q7_basic", KindConv, true, false, false, false},
	VarConvolveHWCQ7Fast:                    {"arm_convolve_HWC_q7_fast", KindConv, true, false, false, false},
	VarConvolveHWCQ7RGB:                     {"arm_convolve_HWC_q7_RGB", KindConv, true, false, false, false},
	VarConvolveHWCQ7BasicNonsquare:          {"arm_convolve_HWC_q7_basic_nonsquare", KindConv, false, false, false, false},
	VarConvolveHWCQ7FastNonsquare:           {"arm_convolve_HWC_q7_fast_nonsquare", KindConv, false, false, false, false},
	VarConvolve1x1HWCQ7FastNonsquare:        {"arm_convolve_1x1_HWC_q7_fast_nonsquare", KindConv, false, false, false, false},
	VarConvolveHWCQ15Basic:                  {"arm_convolve_HWC_q15_basic", KindConv, true, true, false, false},
	VarConvolveHWCQ15Fast:                   {"arm_convolve_HWC_q15_fast", KindConv, true, true, false, false},
	VarConvolveHWCQ15FastNonsquare:          {"arm_convolve_HWC_q15_fast_nonsquare", KindConv, false, true, false, false},
	VarDepthwiseSeparableConvHWCQ7:          {"arm_depthwise_separable_conv_HWC_q7", KindDepthwise, true, false, false, false},
	VarDepthwiseSeparableConvHWCQ7Nonsquare: {"arm_depthwise_separable_conv_HWC_q7_nonsquare", KindDepthwise, false, false, false, false},
	VarFullyConnectedQ7:                     {"arm_fully_connected_q7", KindFC, false, false, false, false},
	VarFullyConnectedQ7Opt:                  {"arm_fully_connected_q7_opt", KindFC, false, false, true, false},
	VarFullyConnectedQ15:                    {"arm_fully_connected_q15", KindFC, false, true, false, false},
	VarFullyConnectedQ15Opt:                 {"arm_fully_connected_q15_opt", KindFC, false, true, true, false},
	VarFullyConnectedMatQ7VecQ15:            {"arm_fully_connected_mat_q7_vec_q15", KindFC, false, true, false, false},
	VarFullyConnectedMatQ7VecQ15Opt:         {"arm_fully_connected_mat_q7_vec_q15_opt", KindFC, false, true, true, false},
	VarMaxpoolQ7HWC:                         {"arm_maxpool_q7_HWC", KindPool, true, false, false, false},
	VarAvepoolQ7HWC:                         {"arm_avepool_q7_HWC", KindPool, true, false, false, false},
	VarReluQ7:                               {"arm_relu_q7", KindActivation, false, false, false, false},
	VarReluQ15:                              {"arm_relu_q15", KindActivation, false, true, false, false},
	VarActivationsDirectQ7:                  {"arm_nn_activations_direct_q7", KindActivation, false, false, false, false},
	VarActivationsDirectQ15:                 {"arm_nn_activations_direct_q15", KindActivation, false, true, false, false},
	VarSoftmaxQ7:                            {"arm_softmax_q7", KindSoftmax, false, false, false, false},
	VarSoftmaxQ15:                           {"arm_softmax_q15", KindSoftmax, false, true, false, false},
	VarSoftmaxWithBatchQ7:                   {"arm_softmax_with_batch_q7", KindSoftmax, false, false, false, false},
	VarNNMultQ7:                             {"arm_nn_mult_q7", KindElementwise, false, false, false, false},
	VarNNMultQ15:                            {"arm_nn_mult_q15", KindElementwise, false, true, false, false},
	VarNNQConvQ7:                            {"nnq_conv_q7", KindConv, false, false, false, true},
	VarNNQConvQ7Wide:                        {"nnq_conv_q7_wide", KindConv, false, false, false, true},
	VarNNQConvQ15:                           {"nnq_conv_q15", KindConv, false, true, false, true},
	VarNNQDWConvQ7:                          {"nnq_dwconv_q7", KindDepthwise, false, false, false, true},
	VarNNQDWConvQ15:                         {"nnq_dwconv_q15", KindDepthwise, false, true, false, true},
	VarNNQFCQ7:                              {"nnq_fc_q7", KindFC, false, false, false, true},
	VarNNQFCQ15:                             {"nnq_fc_q15", KindFC, false, true, false, true},
	VarNNQMaxpoolQ7:                         {"nnq_maxpool_q7", KindPool, false, false, false, true},
	VarNNQMaxpoolQ15:                        {"nnq_maxpool_q15", KindPool, false, true, false, true},
	VarNNQAvgpoolQ7:                         {"nnq_avgpool_q7", KindPool, false, false, false, true},
	VarNNQAvgpoolQ15:                        {"nnq_avgpool_q15", KindPool, false, true, false, true},
	VarNNQReluQ7:                            {"nnq_relu_q7", KindActivation, false, false, false, true},
	VarNNQReluQ15:                           {"nnq_relu_q15", KindActivation, false, true, false, true},
	VarNNQActQ7:                             {"nnq_act_q7", KindActivation, false, false, false, true},
	VarNNQActQ15:                            {"nnq_act_q15", KindActivation, false, true, false, true},
	VarNNQSoftmaxQ7:                         {"nnq_softmax_q7", KindSoftmax, false, false, false, true},
	VarNNQSoftmaxQ15:                        {"nnq_softmax_q15", KindSoftmax, false, true, false, true},
	VarNNQMultQ7:                            {"nnq_mult_q7", KindElementwise, false, false, false, true},
	VarNNQMultQ15:                           {"nnq_mult_q15", KindElementwise, false, true, false, true},
	VarNNQAddQ7:                             {"nnq_add_q7", KindElementwise, false, false, false, true},
	VarNNQAddQ15:                            {"nnq_add_q15", KindElementwise, false, true, false, true},
	VarNNQGRUQ7:                             {"nnq_gru_q7", KindRecurrent, false, false, false, true},
	VarNNQGRUQ15:                            {"nnq_gru_q15", KindRecurrent, false, true, false, true},
	VarNNQLSTMQ7:                            {"nnq_lstm_q7", KindRecurrent, false, false, false, true},
	VarNNQLSTMQ15:                           {"nnq_lstm_q15", KindRecurrent, false, true, false, true},
	VarNNQGRUCMSISQ7:                        {"nnq_gru_cmsis_q7", KindRecurrent, false, false, false, true},
	VarNNQGRUCMSISQ15:                       {"nnq_gru_cmsis_q15", KindRecurrent, false, true, false, true},
	VarNNQLSTMCMSISQ7:                       {"nnq_lstm_cmsis_q7", KindRecurrent, false, false, false, true},
	VarNNQLSTMCMSISQ15:                      {"nnq_lstm_cmsis_q15", KindRecurrent, false, true, false, true},
}

func (v Variant) info() variantInfo {
	if v <= VarInvalid || v >= numVariants {
		return variantInfo{}
	}
	return variantTable[v]
}

// String returns the C function name, e.g. "arm_convolve_HWC_q7_fast".
func (v Variant) String() string {
	if n := v.info().name; n != "" {
		return n
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// Kind returns the argument shape of the variant.
func (v Variant) Kind() Kind { return v.info().kind }

// Square reports whether the C function has the square signature (one
// dim_im_in, dim_kernel, padding, stride, dim_im_out).
func (v Variant) Square() bool { return v.info().square }

// Q15 reports whether the activations (input and output) are q15. The
// mixed mat_q7_vec_q15 FC variants have q7 weights and bias.
func (v Variant) Q15() bool { return v.info().q15 }

// Interleaved reports whether the variant expects _opt interleaved weights
// (see InterleaveQ7Opt and friends).
func (v Variant) Interleaved() bool { return v.info().opt }

// NNQ reports whether the variant is one of nnq's own C kernels rather than
// a CMSIS-NN function.
func (v Variant) NNQ() bool { return v.info().nnq }

// Variants returns every valid variant in declaration order.
func Variants() []Variant {
	vs := make([]Variant, 0, numVariants-1)
	for v := VarInvalid + 1; v < numVariants; v++ {
		vs = append(vs, v)
	}
	return vs
}

// oldNames maps the names of nnq kernels that earlier versions wrote into
// quantized models to the kernels that compute the same function now.
var oldNames = map[string]Variant{
	"nnq_avepool_q7_HWC_nonsquare":         VarNNQAvgpoolQ7,
	"nnq_maxpool_q7_HWC_nonsquare":         VarNNQMaxpoolQ7,
	"nnq_avepool_q15_HWC_nonsquare":        VarNNQAvgpoolQ15,
	"nnq_maxpool_q15_HWC_nonsquare":        VarNNQMaxpoolQ15,
	"nnq_convolve_HWC_q15_basic_nonsquare": VarNNQConvQ15,
	"nnq_depthwise_conv_HWC_q15_nonsquare": VarNNQDWConvQ15,
}

// ParseVariant returns the variant with the given C name (or an earlier
// version's name of the same nnq kernel).
func ParseVariant(name string) (Variant, bool) {
	for v := VarInvalid + 1; v < numVariants; v++ {
		if variantTable[v].name == name {
			return v, true
		}
	}
	if v, ok := oldNames[name]; ok {
		return v, true
	}
	return VarInvalid, false
}

// ScratchBytes is the size in bytes of the scratch buffer (bufferA, or
// vec_buffer for FC) the C function needs; 0 means none (pass NULL). Give it
// 4-byte alignment. The legacy kernels use it on DSP builds only (C-path
// builds ignore it); nnq's kernels on SIMD builds, sized so that the plain-C
// build fits as well (NNQScratchBytes). The Go kernels never need scratch.
// Exception: the recurrent kernels (KindRecurrent) keep their gates and
// state in the scratch buffer on every target, and so do their Go twins
// (RNNScratchQ15).
func (v Variant) ScratchBytes(g ConvGeom) int {
	if v.NNQ() {
		return NNQScratchBytes(v, g)
	}
	switch v {
	case VarConvolveHWCQ7Basic, VarConvolveHWCQ7Fast, VarConvolveHWCQ7BasicNonsquare,
		VarConvolveHWCQ7FastNonsquare, VarConvolveHWCQ15Fast, VarConvolveHWCQ15FastNonsquare,
		VarDepthwiseSeparableConvHWCQ7, VarDepthwiseSeparableConvHWCQ7Nonsquare:
		return 2 * 2 * g.InC * g.KX * g.KY
	case VarConvolveHWCQ7RGB:
		return 2 * 2 * 3 * g.KX * g.KY
	case VarConvolve1x1HWCQ7FastNonsquare:
		return 2 * 2 * g.InC
	case VarConvolveHWCQ15Basic:
		return 2 * g.InC * g.KX * g.KY
	case VarFullyConnectedQ7, VarFullyConnectedQ7Opt:
		return 2 * g.InC
	case VarAvepoolQ7HWC:
		return 2 * g.OutX * g.InC
	}
	return 0
}

// ClobbersInput reports whether the kernel overwrites its input on target
// t: the library's pools on the DSP path use Im_in as work space (the Go
// kernels do the same to their input slice), and the in-place activations
// always write their data argument.
func (v Variant) ClobbersInput(t Target) bool {
	switch v {
	case VarMaxpoolQ7HWC, VarAvepoolQ7HWC:
		return t == DSPPath
	case VarReluQ7, VarReluQ15, VarActivationsDirectQ7, VarActivationsDirectQ15,
		VarNNQReluQ7, VarNNQReluQ15, VarNNQActQ7, VarNNQActQ15:
		return true
	}
	return false
}

// TargetDependent reports whether the output of the variant for geometry g
// can differ between CPath and DSPPath (assuming g is valid on both).
// Average pooling (two truncations on DSP) unless the kernel is 1×1,
// max pooling with padding >= stride, and the geometries Valid rejects on
// one target only.
func (v Variant) TargetDependent(g ConvGeom) bool {
	switch v {
	case VarAvepoolQ7HWC:
		return g.KX != 1 || g.KY != 1
	case VarMaxpoolQ7HWC:
		return g.PadX >= g.StrideX || g.PadY >= g.StrideY
	}
	return (v.Valid(g, CPath) == nil) != (v.Valid(g, DSPPath) == nil)
}

const maxU16 = 65535

// Valid reports whether the variant can be used for geometry g on target t:
// nil, or a *GeomError wrapping
//   - ErrSizeMismatch: the library checks the constraint and returns -3
//     (the Go kernel does the same): q7 _fast* ch_in%4 / ch_out%2, RGB
//     ch_in==3, 1x1 k/pad/stride, q15 _fast* ch_in%2 / ch_out%2, depthwise
//     ch_in==ch_out, and on DSPPath q15 _fast with odd dim_im_out;
//   - ErrDSPUnsafe (DSPPath only): the library accepts the call but its DSP
//     code reads or writes out of bounds or computes something else: q7
//     _fast*/1x1 with an output size other than StdOut or with the
//     write-past conditions (pad_y > out_y, or out_y > 2*pad_y and
//     pad_x > out_x), q15 _fast_nonsquare with odd out_x, pooling with
//     out > in, a row-pass or column-pass window that is empty or starts
//     outside the input, avepool kernels > 258 (q15 accumulators), dims >
//     32767 or ch_in*kx*ky > 65535 for convolutions (16-bit loop counters);
//   - ErrInvalid: values the C API cannot express (negative, > 65535,
//     stride or sizes < 1, a non-square geometry for a square function,
//     OutC != InC for pooling) or undefined behaviour on every target (CMSIS
//     average pooling with an empty window = division by zero).
//
// Geometries where the DSP path differs but is emulated (average pooling,
// max pooling with padding >= stride) are valid; see TargetDependent.
//
// For KindFC use FCGeom(dimVec, rows); for activations, softmax and
// element-wise variants use VecGeom(n) (n = size per call; checked against
// the 16-bit size argument: 65535, softmax 32767).
func (v Variant) Valid(g ConvGeom, t Target) error {
	if reason := v.invalidReason(g); reason != "" {
		return &GeomError{v, t, ErrInvalid, reason}
	}
	if reason := v.mismatchReason(g, t); reason != "" {
		return &GeomError{v, t, ErrSizeMismatch, reason}
	}
	if t == DSPPath {
		if reason := v.dspUnsafeReason(g); reason != "" {
			return &GeomError{v, t, ErrDSPUnsafe, reason}
		}
	}
	return nil
}

func (v Variant) invalidReason(g ConvGeom) string {
	inf := v.info()
	switch inf.kind {
	case KindInvalid:
		return "unknown variant"
	case KindActivation, KindSoftmax, KindElementwise:
		n := g.InC
		if n < 0 {
			return "negative size"
		}
		switch v {
		case VarSoftmaxQ7, VarSoftmaxQ15, VarSoftmaxWithBatchQ7:
			if n > 32767 {
				return fmt.Sprintf("dim_vec %d > 32767", n)
			}
		case VarNNMultQ7, VarNNMultQ15, VarNNQAddQ7, VarNNQAddQ15, VarNNQMultQ7, VarNNQMultQ15, VarNNQReluQ7, VarNNQReluQ15,
			VarNNQActQ7, VarNNQActQ15, VarNNQSoftmaxQ7, VarNNQSoftmaxQ15:
			// nnq's element-wise kernels take a uint32_t size.
		default:
			if n > maxU16 {
				return fmt.Sprintf("size %d > 65535", n)
			}
		}
		return ""
	case KindFC:
		if g.InC < 1 || g.InC > maxU16 || g.OutC < 1 || g.OutC > maxU16 {
			return fmt.Sprintf("dim_vec %d / num_of_rows %d outside [1, 65535]", g.InC, g.OutC)
		}
		return ""
	case KindRecurrent:
		return rnnInvalidReason(v, g)
	}
	for _, f := range [...]struct {
		name string
		v    int
		min  int
	}{{"in_x", g.InX, 1}, {"in_y", g.InY, 1}, {"ch_in", g.InC, 1}, {"ch_out", g.OutC, 0},
		{"kernel_x", g.KX, 1}, {"kernel_y", g.KY, 1}, {"pad_x", g.PadX, 0}, {"pad_y", g.PadY, 0},
		{"stride_x", g.StrideX, 1}, {"stride_y", g.StrideY, 1}, {"out_x", g.OutX, 1}, {"out_y", g.OutY, 1}} {
		if f.v < f.min || f.v > maxU16 {
			return fmt.Sprintf("%s = %d outside [%d, 65535]", f.name, f.v, f.min)
		}
	}
	if inf.kind == KindPool {
		if g.OutC != g.InC && g.OutC != 0 {
			return fmt.Sprintf("pooling keeps channels: OutC %d != InC %d", g.OutC, g.InC)
		}
	} else if g.OutC < 1 {
		return "ch_out < 1"
	}
	if inf.square && !g.IsSquare() {
		return "square-only function (one dim_im_in, dim_kernel, padding, stride, dim_im_out), but this layer's " + g.nonSquarePart()
	}
	if v == VarAvepoolQ7HWC {
		if emptyWindow(g.InX, g.KX, g.PadX, g.StrideX, g.OutX) || emptyWindow(g.InY, g.KY, g.PadY, g.StrideY, g.OutY) {
			return "a pooling window has no input position (division by zero)"
		}
	}
	return ""
}

// emptyWindow reports whether some output along an axis has no in-range
// input position.
func emptyWindow(in, k, pad, stride, out int) bool {
	if k-1-pad < 0 { // first window ends left of the input
		return true
	}
	return (out-1)*stride-pad >= in // last window starts right of it
}

func (v Variant) mismatchReason(g ConvGeom, t Target) string {
	switch v {
	case VarConvolveHWCQ7Fast, VarConvolveHWCQ7FastNonsquare:
		if g.InC%4 != 0 || g.OutC%2 != 0 {
			return fmt.Sprintf("needs ch_im_in %% 4 == 0 and ch_im_out %% 2 == 0 (got %d, %d)", g.InC, g.OutC)
		}
	case VarConvolve1x1HWCQ7FastNonsquare:
		if g.InC%4 != 0 || g.OutC%2 != 0 {
			return fmt.Sprintf("needs ch_im_in %% 4 == 0 and ch_im_out %% 2 == 0 (got %d, %d)", g.InC, g.OutC)
		}
		if g.KX != 1 || g.KY != 1 || g.PadX != 0 || g.PadY != 0 || g.StrideX != 1 || g.StrideY != 1 {
			return "needs a 1x1 kernel, padding 0 and stride 1"
		}
	case VarConvolveHWCQ7RGB:
		if g.InC != 3 {
			return fmt.Sprintf("needs ch_im_in == 3 (got %d)", g.InC)
		}
	case VarConvolveHWCQ15Fast, VarConvolveHWCQ15FastNonsquare:
		if g.InC%2 != 0 || g.OutC%2 != 0 {
			return fmt.Sprintf("needs ch_im_in %% 2 == 0 and ch_im_out %% 2 == 0 (got %d, %d)", g.InC, g.OutC)
		}
		if v == VarConvolveHWCQ15Fast && t == DSPPath && g.OutX%2 != 0 {
			return fmt.Sprintf("DSP build needs an even dim_im_out (got %d)", g.OutX)
		}
	case VarDepthwiseSeparableConvHWCQ7, VarDepthwiseSeparableConvHWCQ7Nonsquare, VarNNQDWConvQ7, VarNNQDWConvQ15:
		if g.InC != g.OutC {
			return fmt.Sprintf("needs ch_im_in == ch_im_out (got %d, %d)", g.InC, g.OutC)
		}
	}
	return ""
}

func (v Variant) dspUnsafeReason(g ConvGeom) string {
	kind := v.Kind()
	if (kind == KindConv || kind == KindDepthwise) && !v.NNQ() {
		if g.InX > 32767 || g.InY > 32767 || g.OutX > 32767 || g.OutY > 32767 {
			return "dimension > 32767 overflows the DSP path's int16 loop counters"
		}
		if g.InC*g.KX*g.KY > maxU16 {
			return "ch_in*kernel_x*kernel_y > 65535 overflows the DSP path's uint16 counters"
		}
	}
	switch v {
	case VarConvolveHWCQ7Fast, VarConvolveHWCQ7FastNonsquare, VarConvolve1x1HWCQ7FastNonsquare:
		sx, sy := g.StdOut()
		if g.OutX != sx || g.OutY != sy {
			return fmt.Sprintf("output %dx%d is not the standard %dx%d: the DSP path skips bounds checks (use _basic)", g.OutX, g.OutY, sx, sy)
		}
		if g.PadY > g.OutY || (g.OutY > 2*g.PadY && g.PadX > g.OutX) {
			return "padding larger than the output: the DSP path writes past Im_out (use _basic)"
		}
	case VarConvolveHWCQ15FastNonsquare:
		if g.OutX%2 != 0 {
			return fmt.Sprintf("odd dim_im_out_x %d: the DSP path pairs pixels and overruns bufferA", g.OutX)
		}
	case VarMaxpoolQ7HWC, VarAvepoolQ7HWC:
		return dspPoolUnsafe(g, v == VarAvepoolQ7HWC)
	}
	return ""
}

// dspPoolUnsafe checks the separable DSP pooling algorithm's windows (square
// geometry: the same rules on both axes).
func dspPoolUnsafe(g ConvGeom, ave bool) string {
	in, out, k, s, p := g.InX, g.OutX, g.KX, g.StrideX, g.PadX
	if out > in {
		return fmt.Sprintf("dim_im_out %d > dim_im_in %d: the DSP path writes past the row", out, in)
	}
	if ave && k > 258 {
		return "kernel > 258 overflows the DSP path's q15 accumulators"
	}
	for o := 0; o < out; o++ {
		start := o*s - p
		stop := min(start+k, in)
		if start < 0 {
			start = o // the DSP row pass restarts at column o, not 0
		}
		if start >= in || stop <= start {
			return fmt.Sprintf("row-pass window of output %d is empty or outside the row on the DSP path", o)
		}
		a := max(0, o*s-p)
		if min(o*s-p+k, in) <= a {
			return fmt.Sprintf("column-pass window of output %d is empty on the DSP path", o)
		}
	}
	return ""
}
