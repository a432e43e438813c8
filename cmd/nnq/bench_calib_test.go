package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
)

// TestTorchFloatPass runs the PyTorch side of the calib section on the toy
// network: it must rebuild the same float network (same accuracy as
// nnq's float pass). It needs python3 with torch and numpy
// (scripts/install-deps.sh installs python3-torch); without them it skips,
// and fails in CI (CI=true).
func TestTorchFloatPass(t *testing.T) {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import torch, numpy").CombinedOutput(); err != nil {
		testenv.Missing(t, "python3 with torch and numpy is needed (Debian packages python3-torch, python3-numpy): %v: %s", err, out)
	}
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	// torchFloatPass finds the script next to the model's data directory.
	root := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(root, "tools", "torchbench"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../data/tools/torchbench/forward.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "tools", "torchbench", "forward.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "toy"), 0o755); err != nil {
		t.Fatal(err)
	}
	m2 := filepath.Join(root, "toy", "model.arrow")
	b, _ := os.ReadFile(model)
	if err := os.WriteFile(m2, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	sec, n, err := torchFloatPass(m2, patterns, 1, &log)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := nnq.ReadPatterns(patterns)
	if n != all.Len() || sec <= 0 {
		t.Fatalf("%d patterns in %gs", n, sec)
	}
	fw, _ := nnq.Load(m2)
	cm, _ := fw.ToCMSIS()
	acc, _ := cm.Accuracy(all)
	if !bytes.Contains(log.Bytes(), []byte(formatAcc(acc))) {
		t.Errorf("PyTorch accuracy differs from nnq's float %.4f: %s", acc, log.String())
	}
}

func formatAcc(a float64) string { return fmt.Sprintf("accuracy %.4f", a) }

// The calib section renders its table and times, and --only calib
// replaces just that section of an existing BENCHMARKS.md (and its key of
// benchmarks.json), keeping the sections before and after it.
func TestCalibSectionMarkdown(t *testing.T) {
	c := &calibBench{Runs: 2, ConvertSeconds: 30, SearchSeconds: 45, TorchSeconds: 15, TorchPatterns: 7224,
		Nets: []calibNet{{Name: "net", Float: 0.9, Schemes: []schemeResult{{Bits: 8, Scheme: "auto", Accuracy: 0.89}}}}}
	md := calibMarkdown(c, "abc1234", "2026-12-03")
	for _, want := range []string{"commit abc1234 (2026-12-03)", "`nnq bench --only calib`", "best of 2,", "| net | 90.00% | 89.00% |", "search 45.0 s (1.50x)", "takes 2.00x its time"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	doc := "# nnq benchmarks\n\n## Accuracy\n\nkept\n" + calibMarkdown(&calibBench{Runs: 1}, "old", "2026-01-01") + "\n## Streaming\n\nkept too\n"
	if err := os.WriteFile(filepath.Join(dir, "BENCHMARKS.md"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.json"), []byte(`{"s8": [1, 2]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceBenchSection(dir, calibHeading, md, "calibration", c); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# nnq benchmarks\n\n## Accuracy\n\nkept\n" + md + "\n## Streaming\n\nkept too\n"; string(got) != want {
		t.Errorf("BENCHMARKS.md after the replacement:\n%s\nwant:\n%s", got, want)
	}
	js, err := os.ReadFile(filepath.Join(dir, "benchmarks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]json.RawMessage
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	var cb calibBench
	if err := json.Unmarshal(back["calibration"], &cb); err != nil || cb.ConvertSeconds != 30 || string(back["s8"]) == "" {
		t.Errorf("benchmarks.json after the replacement: %s (%v)", js, err)
	}
}
