// Package harness builds a generated nnq C project together with a small
// driver and runs it on input patterns, natively on the host or on an
// emulated Cortex-M core (qemu-system-arm), returning the outputs, the
// per-layer activation trace and, on Cortex-M, exact instruction counts per
// inference and per layer.
//
//	t, _ := harness.TargetByName("cortex-m4")
//	b, err := harness.Build(ctx, t, harness.BuildOptions{ProjectDir: dir, Trace: true})
//	defer b.Close()
//	res, err := b.Run(ctx, inputs, n) // res.Outputs, res.Trace, res.Instructions
//
// See README.md for the project contract, the boards and how instructions
// are counted.
package harness
