// Package nnq converts a trained floating-point neural network into a
// fixed-point CMSIS-NN (legacy q7/q15 API) implementation and proves the
// result right.
//
// The data flows one way: import (Arrow, ONNX) → layout (framework order to
// CMSIS-NN order, verified with float kernels) → calibrate (activation
// statistics) → quantize (scheme, word size, Q-formats, shifts) →
// simulate/evaluate (bit-exact fixed-point run, accuracy report) → export (C
// project, see package codegen) → verify. ARCHITECTURE.md at the
// repository root names the function of each step.
//
// Each op kind lives in one file, op_<name>.go, holding its shape rule, its
// float forward pass in CMSIS layout, its framework-layout reference pass and
// its parameter reordering.
//
// # What lives where
//
// The core (this package) holds what every conversion needs: the model
// graph, the Arrow model and pattern files, layout, calibration, schemes,
// quantization, simulation, evaluation and the report. Two things live in
// subpackages so that the core, and every program built on it, does not
// compile their dependencies:
//
//   - ONNX import is package nnq/onnx (protobuf). It registers .onnx with
//     Load through RegisterFormat, the way image/png registers PNG with
//     image.Decode; a program that wants it imports
//     _ "github.com/nnq-toolkit/nnq/nnq/onnx", and Load tells a program that
//     does not which import is missing.
//   - Plots are package nnq/plots (gonum/plot with its fonts and its
//     image, PDF and SVG back ends). WriteReport writes report.json and
//     report.md; plots.SavePlots adds the PNGs.
//
// Moving the two out took the core's dependency graph (go list -deps) from
// 278 packages to 163.
//
// A model may record its input front end (Frontend, frontend.go: the MFCC
// of nnq/audio the KWS networks were trained on); codegen then exports it
// as C with the network. The core imports nnq/audio for it, a package
// without dependencies.
//
// Arrow I/O stays here: Arrow is nnq's native format (models, patterns and
// the files stored in exports), Load reads it with no import, and every
// pipeline step reads or writes it. The import rules are checked by
// internal/archtest.
package nnq
