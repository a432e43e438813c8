package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The runtime section runs alone and writes its own files: per layer,
// nnq's kernels' instructions and instructions per MAC on Cortex-M4, and
// the library's next to them when CMSIS_PATH names a CMSIS_5 tree.
func TestBenchRuntimeSection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	lib := os.Getenv("CMSIS_PATH")
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	out := filepath.Join(dir, "docs")
	r := nnqRun(t, "bench", "--only", "runtime", "--nets", "toy="+model+","+patterns, "--max-calib", "100", "--cmsis", lib, "--out", out)
	if r.code != 0 {
		t.Fatalf("bench --only runtime: %s", r)
	}
	if _, err := os.Stat(filepath.Join(out, "BENCHMARKS.md")); err == nil {
		t.Error("the section wrote the full benchmark file")
	}
	md, err := os.ReadFile(filepath.Join(out, "BENCHMARKS_RUNTIME.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## toy q7", "## toy q15", "| c1 | `nnq_conv_q7", "| relu | `(fused into c1)` |", "| fc | `nnq_fc_q15` |", "per MAC"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS_RUNTIME.md lacks %q:\n%s", want, md)
		}
	}
	var rep runtimeReport
	b, _ := os.ReadFile(filepath.Join(out, "benchmarks_runtime.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 {
		t.Fatalf("%d rows, want q7 and q15", len(rep.Rows))
	}
	for _, row := range rep.Rows {
		if row.NNQ == nil || row.NNQ.InstructionsPerInference == 0 || !row.NNQ.BitExact || row.MACs[0] == 0 {
			t.Errorf("%s %s: %+v", row.Network, row.Type, row.NNQ)
		}
		if (row.Library != nil) != (lib != "") {
			t.Errorf("%s %s: library measured %v with CMSIS_PATH %q", row.Network, row.Type, row.Library != nil, lib)
		}
		if row.Library != nil {
			// The legacy library lacks some q15 kernels (nnq's stand in for
			// them): some layer, not every one, runs an arm_ function.
			arm := 0
			for _, l := range row.Library.Layers {
				if strings.HasPrefix(l.Kernel, "arm_") {
					arm++
				}
			}
			if !row.Library.BitExact || arm == 0 {
				t.Errorf("%s %s library: %+v", row.Network, row.Type, row.Library)
			}
		}
	}
	if lib == "" && !strings.Contains(string(md), "library: not measured") {
		t.Errorf("no note on the missing library:\n%s", md)
	}
}
