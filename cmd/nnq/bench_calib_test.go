package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

func TestSilenceHeavy(t *testing.T) {
	p := &nnq.Patterns{Shape: []int{1, 49, 10}, Layout: nnq.NCHW}
	for i := 0; i < 40; i++ {
		x := make([]float32, 490)
		x[0] = float32(i)
		p.Append(x, 1+i%3, "test")
	}
	s := silenceHeavy(p, 0.15, 7)
	quiet := 0
	floor := audio.Features(make([]float32, 16000))
	digital := 0
	for i := 0; i < s.Len(); i++ {
		if s.Label(i) == 0 {
			quiet++
			if s.Input(i)[0] == floor[0] && s.Input(i)[1] == floor[1] {
				digital++
			}
		}
		if s.Splits[i] != "test" {
			t.Fatalf("pattern %d split %q", i, s.Splits[i])
		}
	}
	if s.Len() != 48 || quiet != 8 || digital != 4 {
		t.Fatalf("%d patterns, %d silence (%d digital), want 48, 8, 4", s.Len(), quiet, digital)
	}
	if frac := float64(quiet) / float64(s.Len()); frac < 0.1 {
		t.Errorf("silence fraction %.2f < 10%%", frac)
	}
	// The floor of digital silence sits far below speech MFCCs.
	if floor[0] > -100 {
		t.Errorf("digital silence c0 = %g", floor[0])
	}
}

// TestTorchFloatPass runs the PyTorch side of the calib section on the toy
// network: it must rebuild the same float network (same accuracy as
// nnq's float pass). It needs python3 with torch (a benchmark-only
// dependency) and is skipped without it.
func TestTorchFloatPass(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import torch").Run() != nil {
		t.Skip("python3-torch not installed (only nnq bench needs it)")
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
