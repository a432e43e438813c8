package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/nnq"
)

// The runtime section of nnq bench (--only runtime): every network, q7 and
// q15, exported for Cortex-M4 with nnq's kernels (the default), counted
// under QEMU per layer and per multiply-accumulate, next to the same
// quantized network exported with --runtime cmsis and linked with the
// real CMSIS-NN 5.x library when --cmsis (or CMSIS_PATH) names a CMSIS_5
// tree. Written to DIR/BENCHMARKS_RUNTIME.md and benchmarks_runtime.json.

// runtimeNets are the section's default networks: the bundled ones and
// the recurrent one.
var runtimeNets = append(append([]benchNet(nil), bundledNets...), benchNet{"kws-gru", "data/kws-gru/model.arrow", "data/kws/patterns.arrow"})

// runtimeRow is one (network, word size) of the runtime section.
type runtimeRow struct {
	Network string  `json:"network"`
	Type    string  `json:"type"`
	Target  string  `json:"target"`
	MACs    []int64 `json:"macs"`
	// NNQ is the default export (nnq's kernels); Library its --runtime
	// cmsis twin linked with the CMSIS-NN library (nil without one).
	NNQ     *cortexProfile `json:"nnq"`
	Library *cortexProfile `json:"library,omitempty"`
	// ExpandedWeightBytes is the flash the nnq export spends on weights
	// stored pre-expanded to 16 bits (--optimize speed).
	ExpandedWeightBytes int `json:"expanded_weight_bytes"`
}

type runtimeReport struct {
	Date    string `json:"date"`
	Commit  string `json:"commit"`
	Machine string `json:"machine"`
	// Library is the library's version (harness.LibraryVersion), or
	// "CMSIS-NN library of unknown version" when its header has none;
	// empty when no library was measured.
	Library string       `json:"library,omitempty"`
	Rows    []runtimeRow `json:"rows"`
}

// runBenchRuntime measures the section on nets and writes its files to out.
func runBenchRuntime(nets []benchNet, maxCalib int, lib, out string, stdout, log io.Writer) error {
	rep, err := measureRuntime(nets, maxCalib, lib, log)
	if err != nil {
		return err
	}
	if err := writeRuntimeFiles(rep, out); err != nil {
		return err
	}
	fmt.Fprint(stdout, runtimeMarkdown(rep))
	return nil
}

// writeRuntimeFiles writes DIR/BENCHMARKS_RUNTIME.md and
// benchmarks_runtime.json.
func writeRuntimeFiles(rep *runtimeReport, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "benchmarks_runtime.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "BENCHMARKS_RUNTIME.md"), []byte(runtimeMarkdown(rep)), 0o644)
}

// measureRuntime counts nnq's kernels (and the library in the CMSIS_5 tree
// lib, when given) on every network, q7 and q15.
func measureRuntime(nets []benchNet, maxCalib int, lib string, log io.Writer) (*runtimeReport, error) {
	ctx := context.Background()
	rep := &runtimeReport{Date: time.Now().UTC().Format("2006-01-02"), Commit: gitCommit(), Machine: cpuModel()}
	if lib != "" {
		if rep.Library = harness.LibraryVersion(lib); rep.Library == "" {
			rep.Library = "CMSIS-NN library of unknown version"
		}
	}
	tmp, err := os.MkdirTemp("", "nnq-bench-runtime-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	const target = "cortex-m4"
	for _, n := range nets {
		for _, bits := range []int{8, 16} {
			typ := map[int]string{8: "q7", 16: "q15"}[bits]
			logf := func(f string, a ...any) {
				fmt.Fprintf(log, "bench runtime: %s %s: "+f+"\n", append([]any{n.Name, typ}, a...)...)
			}
			// Evaluation is not part of this section: a few test patterns
			// suffice (quantization depends on the calibration set only).
			c, err := nnq.Convert(nnq.ConvertOptions{Model: n.Model, Patterns: n.Patterns, Bits: bits, Target: target, MaxCalib: maxCalib, MaxTest: 8})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.Name, err)
			}
			dir := filepath.Join(tmp, fmt.Sprintf("%s-%d", n.Name, bits))
			proj, err := codegen.Export(c.Q, dir, codegen.Options{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.Name, err)
			}
			row := runtimeRow{Network: n.Name, Type: c.Q.TypeName(), Target: target, MACs: layerMACs(c.Q), ExpandedWeightBytes: proj.WideBytes}
			if row.NNQ, err = profileCortexM(ctx, c.Q, dir, target, "", c.Test.Head(8), ""); err != nil {
				return nil, fmt.Errorf("%s: %w", n.Name, err)
			}
			if !row.NNQ.BitExact {
				return nil, fmt.Errorf("%s %s: nnq's kernels on %s do not match the simulation", n.Name, row.Type, target)
			}
			logf("nnq's kernels %d instructions", row.NNQ.InstructionsPerInference)
			if lib != "" {
				if row.Library, err = profileLibraryTwin(ctx, c.Q, target, lib, c.Test.Head(8)); err != nil {
					return nil, fmt.Errorf("%s: %w", n.Name, err)
				}
				logf("CMSIS-NN library %d instructions", row.Library.InstructionsPerInference)
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

func runtimeMarkdown(r *runtimeReport) string {
	var b strings.Builder
	b.WriteString("# nnq's kernels next to the CMSIS-NN library\n\nGenerated by `nnq bench --only runtime` (and by `nnq bench`, which puts the same tables in BENCHMARKS.md); do not edit by hand.\n\n")
	fmt.Fprintf(&b, "- date: %s\n- commit: %s\n- machine: %s, %s\n", r.Date, r.Commit, r.Machine, runtime.Version())
	b.WriteString(runtimeTables(r, "##"))
	return b.String()
}

// runtimeTables is the section's text below its header: the library line,
// the summary table and one table per network and type under headings of
// level h.
func runtimeTables(r *runtimeReport, h string) string {
	var b strings.Builder
	if r.Library != "" {
		fmt.Fprintf(&b, "- library: %s, from a CMSIS_5 tree (the same quantized network exported with `--runtime cmsis` and linked with it; `--cmsis PATH` or `CMSIS_PATH`)\n", r.Library)
	} else {
		b.WriteString("- library: not measured (give `--cmsis PATH` or set `CMSIS_PATH` to a CMSIS_5 5.x tree, e.g. a clone of ARM-software/CMSIS_5 at tag 5.9.0, for its columns)\n")
	}
	b.WriteString("\nCortex-M4 (QEMU mps2-an386), the default scheme, exact instruction counts from the repository's TCG plugin: the total is the mean of 8 test patterns, the layers come from one traced pattern. Both builds are checked bit-exact against the Go simulation. Flash is text + data, RAM data + bss (the activation arena and scratch are in bss).\n\n")
	b.WriteString("| network | type | nnq instructions | per MAC | library instructions | per MAC | library / nnq | nnq flash | library flash | nnq RAM | library RAM |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		macs := sum(row.MACs)
		n := row.NNQ
		fmt.Fprintf(&b, "| %s | %s | %d | %s |", row.Network, row.Type, n.InstructionsPerInference, perMAC(n.InstructionsPerInference, macs))
		if l := row.Library; l != nil {
			fmt.Fprintf(&b, " %d | %s | %.2f | %d B | %d B | %d B | %d B |\n", l.InstructionsPerInference, perMAC(l.InstructionsPerInference, macs),
				float64(l.InstructionsPerInference)/float64(max(n.InstructionsPerInference, 1)), n.Flash(), l.Flash(), n.RAM(), l.RAM())
		} else {
			fmt.Fprintf(&b, " - | - | - | %d B | - | %d B | - |\n", n.Flash(), n.RAM())
		}
	}
	for _, row := range r.Rows {
		fmt.Fprintf(&b, "\n%s %s %s\n\n", h, row.Network, row.Type)
		if row.ExpandedWeightBytes > 0 {
			fmt.Fprintf(&b, "`--optimize speed` stores %d B of weights pre-expanded to 16 bits (`--optimize size` keeps them 8-bit).\n\n", row.ExpandedWeightBytes)
		}
		b.WriteString("| layer | nnq kernel | instructions | per MAC | library kernel | instructions | per MAC |\n|---|---|---|---|---|---|---|\n")
		for i, l := range row.NNQ.Layers {
			fmt.Fprintf(&b, "| %s | `%s` | %d | %s |", l.Name, l.Kernel, l.Instructions, perMAC(l.Instructions, row.MACs[i]))
			if row.Library != nil && i < len(row.Library.Layers) {
				ll := row.Library.Layers[i]
				fmt.Fprintf(&b, " `%s` | %d | %s |\n", ll.Kernel, ll.Instructions, perMAC(ll.Instructions, row.MACs[i]))
			} else {
				b.WriteString(" - | - | - |\n")
			}
		}
	}
	return b.String()
}
