// Package kernels holds bit-exact Go twins of the legacy CMSIS-NN q7/q15
// kernels (CMSIS_5 tag 5.9.0, the bias_shift/out_shift API) and of nnq's own
// small C kernels (nnq_*), plus float kernels in CMSIS layout (float.go).
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
package kernels
