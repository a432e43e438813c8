// Package codegen exports a quantized nnq model (nnq.QModel) as a
// self-contained C99 project for the legacy CMSIS-NN q7/q15 API and proves
// the export bit-exact.
//
// Export writes nn.h / nn.c (nn_run calling the legacy CMSIS-NN functions,
// or nnq's own nnq_* kernels where the library has none), nn_weights.h (the
// quantized, reordered and, for _opt kernels, interleaved parameters), nnq's
// portable runtime (package crt), a Makefile and CMakeLists.txt, a host
// demo and a README for the firmware engineer, plus what Verify needs under
// nnq/. PlanMemory places all activations in one static arena by liveness.
// Verify builds the project with the harness (package harness), runs the
// stored patterns with per-layer tracing and compares every layer's output
// with nnq's bit-exact simulator.
//
// See docs/EXPORT.md.
package codegen
