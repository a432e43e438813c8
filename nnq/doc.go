// Package nnq converts a trained floating-point neural network into a
// fixed-point CMSIS-NN (legacy q7/q15 API) implementation and proves the
// result right.
//
// The data flows one way: import (Arrow, ONNX) → layout (framework order to
// CMSIS-NN order, verified with float kernels) → calibrate (activation
// statistics) → quantize (scheme, word size, Q-formats, shifts) →
// simulate/evaluate (bit-exact fixed-point run, accuracy report) → export (C
// project, see package codegen) → verify.
//
// Each op kind lives in one file, op_<name>.go, holding its shape rule, its
// float forward pass in CMSIS layout, its framework-layout reference pass and
// its parameter reordering.
package nnq
