// Package kernels holds bit-exact Go twins of the legacy CMSIS-NN q7/q15
// kernels (CMSIS_5 tag 5.9.0, the bias_shift/out_shift API), of today's
// CMSIS-NN s8/s16 API (see "The s8/s16 API" below) and of nnq's own small C
// kernels (nnq_*), plus float kernels in CMSIS layout (float.go).
// They are pure functions on slices with no graph knowledge; the simulator
// runs them as its hot loop and codegen uses the Variant metadata to pick and
// name the C function to emit.
//
// # Semantics
//
// Every function reproduces what the library computes, as written down in
// the facts sheet (shared docs, cmsis-nn-legacy.md) — no library code was
// consulted — and is checked against all 1202 ground-truth vectors produced
// by the real library (testdata/cmsis-nn-5.9.0):
//
//   - Layouts: activations HWC ((y*W+x)*C+c), conv weights OHWI
//     (((o*KY+ky)*KX+kx)*InC+ci), depthwise weights (ky*KX+kx)*C+c, FC
//     weights row-major [rows][dimVec] or, for _opt variants, interleaved
//     (InterleaveQ7Opt and friends). Geometry is a ConvGeom (x = width).
//   - Requantisation: acc = int32(bias << bias_shift) + R + Σ x·w with int32
//     wrap-around, out = SSAT(acc >> out_shift, 8 or 16); R = 2^(out_shift-1)
//     (RoundHalfUp, the library default) or 0 (Truncate, ARM_NN_TRUNCATE).
//   - Targets: CPath (Cortex-M0/M0+/M3, MVE cores, host builds) and DSPPath
//     (Cortex-M4/M7/M33 with ARM_MATH_DSP). They differ only for pooling (the
//     DSP pools are separable, truncate twice and overwrite their input,
//     which the Go kernels emulate, input clobbering included) and for
//     geometries where a DSP kernel is unsafe, which Variant.Valid reports
//     and the kernels refuse (ErrDSPUnsafe) rather than emulate.
//   - Errors: a kernel returns nil, or an error wrapping ErrSizeMismatch
//     (the library's own check: it returns ARM_MATH_SIZE_MISMATCH = -3 and
//     leaves the output untouched; StatusOf maps it), ErrDSPUnsafe,
//     ErrInvalid (not expressible in the C API or undefined everywhere) or
//     ErrShortBuffer. On error the output is untouched.
//
// # Calling convention and ownership
//
// Every kernel takes an Opts first: target, rounding and an optional *Stats
// that receives counters (saturations, accumulator and bias-shift wraps,
// values computed). With Stats nil the instrumentation costs one predictable
// branch per output value.
//
// Kernels never allocate and never need scratch from the caller: the
// library's bufferA/vec_buffer only exist for the C code (their sizes are
// given by Variant.ScratchBytes for codegen). Outputs are written only on
// success. Inputs are read-only except where the library writes them: the
// in-place activations (ReluQ7, ActivationsDirectQ7, ...) and the CMSIS
// pools on DSPPath, which overwrite imIn exactly like the library's Im_in
// (Variant.ClobbersInput); callers that need the input afterwards pass a
// copy. The interleaving helpers allocate their result.
//
// Slices may be longer than the geometry needs; only the leading elements
// are used. Calls with the same Opts.Stats are not safe for concurrent use;
// everything else is.
//
// # Variants
//
// Variant enumerates the C functions (String() is the exact C name, e.g.
// "arm_convolve_HWC_q7_fast"); the Go function has the same name without the
// Var prefix. Variant.Valid(g, t) answers whether a variant may be used for a
// geometry on a target, with an explanation; TargetDependent tells whether
// the C and DSP results can differ. For fully connected variants query with
// FCGeom(dimVec, rows), for vector kernels with VecGeom(n).
//
// # The s8/s16 API (CMSIS-NN v7, TFLite int8/int16)
//
// The s8_*.go and s16_*.go files hold Go twins of today's CMSIS-NN API,
// checked against all 1222 ground-truth vectors of CMSIS-NN v7.0.0 (host C
// path and Cortex-M4 DSP path; TestS8Vectors, or the committed subset in
// testdata/cmsis-nn-s8-subset). Parameters are structs mirroring the C
// ones member by member (Dims, Tile, Activation, ConvParams,
// DwConvParams, FCParams, PoolParams, PerChannelQuantParams,
// PerTensorQuantParams, BiasS16, SoftmaxLUTS16, ElementwiseAddS8Params,
// ElementwiseMulS8Params), so code generation prints them 1:1. Functions
// carry the C name in CamelCase: ConvolveWrapperS8, ConvolveS8,
// Convolve1x1S8Fast, Convolve1x1S8, Convolve1xNS8, DepthwiseConvWrapperS8,
// DepthwiseConvS8, DepthwiseConvS8Opt, DepthwiseConv3x3S8,
// FullyConnectedS8, AvgpoolS8, MaxPoolS8, SoftmaxS8, ElementwiseAddS8,
// ElementwiseMulS8, ConvolveS16, ConvolveWrapperS16, DepthwiseConvS16,
// DepthwiseConvFastS16, DepthwiseConvWrapperS16, FullyConnectedS16,
// AvgpoolS16, MaxPoolS16, SoftmaxS16, and the helpers Requantize
// (arm_nn_requantize), RequantizeS64 and ReduceMultiplier.
//
//   - Arithmetic: acc = Σ (x + input_offset)·w in int32 with wrap-around
//     (s16: int32 or int64 exactly where the library uses them; the
//     DSP-path int32 sums of FullyConnectedS16 and DepthwiseConvFastS16
//     follow Opts.Target), + bias, Requantize per channel (TFLite double
//     rounding, the library's default build; RequantizeSingle when
//     Opts.Requant is SingleRounding, a build with
//     CMSIS_NN_USE_SINGLE_ROUNDING) or RequantizeS64 (s16, the same in
//     both builds), + output_offset, clamp to the activation range.
//     NNQAvgpoolS8Even and NNQAvgpoolS16Even are nnq's own average pools
//     whose mean rounds half to even (ONNX/PyTorch); the library's pools
//     round ties away from zero. Softmax follows the library's two deviations from
//     TFLite: arm_softmax_s16 does not clamp (a lone maximum gives -32768)
//     and arm_nn_requantize_s64 truncates its doubled intermediate to 32
//     bits.
//   - Wrappers: ConvolveWrapperS8Kernel, DepthwiseConvWrapperS8Kernel and
//     DepthwiseConvWrapperS16Kernel name the kernel the C wrapper runs.
//   - Scratch: the Go kernels need none (per call they allocate at most a
//     closure, plus buffers for im2col columns above 4096 taps or more than
//     512 channels); the *GetBufferSize functions
//     return the library's ctx.buf sizes for a Target (CPath = host/M0/M3,
//     DSPPath = M4/M7/M33). Like the library,
//     ConvolveWrapperS8GetBufferSize does not account for grouped 1×1
//     convolutions (call ConvolveS8 for grouped convolutions).
//   - Errors: ErrArg where the library returns ARM_CMSIS_NN_ARG_ERROR
//     (NNStatusOf maps it), ErrInvalid for calls whose result the library
//     leaves undefined or target-dependent (input_offset outside [-127,
//     128], a 3×3 or _opt kernel given batches or dilation, a 1×1 kernel
//     whose output reads past the input, empty pooling windows, softmax
//     rows whose sum needs a shift of 32 or more), ErrShortBuffer. The
//     output is untouched on error.
//   - Stats: Values, AccWraps (int32 accumulator wrapped), SatHigh/SatLow
//     (requantised value beyond the type's range) and ClampHigh/ClampLow
//     (clamped by an activation bound narrower than the type, e.g. ReLU).
//   - nnq's own kernels of s8/s16 networks (nnq_s8.go, nnq_s8_rnn.go;
//     C twins in codegen/crt/c/nnq_s8_nnq.c), for layers the API has no
//     function for: NNQClampS8/S16 (a ReLU that cannot be fused), NNQLUTS8
//     (int8 sigmoid/tanh tables), NNQActS16 (int16 sigmoid/tanh: Q3.12 and
//     an interpolated 513-entry table, LUTS16), NNQAddS16/NNQMulS16 (TFLite's
//     int16 ADD/MUL), NNQSoftmaxS16Unwrap (arm_softmax_s16's unclamped
//     32768), the recurrent NNQGRUS8/S16 and NNQLSTMS8/S16 over
//     ConvolveWrapperS16, and GenLUTS16 (TFLite's int16 table generator,
//     which reproduces the softmax tables of the vectors).
//   - Library defect not reproduced: arm_convolve_s8 of v7.0.0 reads
//     bias_data + group offset even when bias_data is NULL (grouped
//     convolutions); the Go kernel computes the bias-free result, so export
//     grouped convolutions with a bias (zeros if none).
//
// # Speed on the host
//
// The simulation and the float passes are the hot loops of a conversion.
// On amd64 with AVX2 (and FMA for float) some of them run vector code
// (float_amd64.s), chosen at run time; elsewhere the same Go loops run.
// Either way the results are the same bit for bit:
//   - ConvFloat (NewConvFloat, NewDepthwiseConvFloat, NewFullyConnectedFloat)
//     packs a layer's weights once and computes ConvHWCFloat,
//     DepthwiseConvHWCFloat or FullyConnectedFloat four filters (channels)
//     per instruction, each lane one output's float64 sum in the plain
//     kernels' order: a product of two float32 values is exact in float64,
//     so a fused multiply-add rounds as the separate multiply and add do.
//   - The q7 convolution's pixel pairs and the q7 depthwise convolution
//     sum sixteen taps or channels per step in int32 lanes (exact: every
//     sum is bounded well inside int32), and the uninstrumented q7
//     convolution requantizes in the same pass, wrapping as the library's
//     int32 accumulator does.
//
// Tests compare every vector path with the plain kernels and the textbook
// references on random shapes with every loop leftover; go test -bench
// 'ConvFloatKWS' puts the packed and the plain float kernels side by side.
package kernels
