package main

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// writeToyNet writes a small NCHW conv net and labelled patterns (labels
// from the float net itself, with train/val/test splits).
func writeToyNet(t *testing.T, dir string) (model, patterns string) {
	t.Helper()
	return writeToyNetPool(t, dir, nnq.OpMaxPool2D)
}

// writeToyNetPool is writeToyNet with the pooling layer's op.
func writeToyNetPool(t *testing.T, dir string, pool nnq.Op) (model, patterns string) {
	t.Helper()
	r := rand.New(rand.NewSource(1))
	rt := func(name string, shape ...int) *nnq.Tensor { return randTensor(r, 0.4, name, shape...) }
	m := &nnq.Model{Name: "toy", Layout: nnq.NCHW, InputShape: []int{1, 8, 6}, Classes: []string{"a", "b", "c"}, Tensors: map[string]*nnq.Tensor{}}
	for _, tt := range []*nnq.Tensor{rt("c1.w", 4, 1, 3, 3), rt("c1.b", 4), rt("fc.w", 3, 4*4*3), rt("fc.b", 3),
		rt("bn.g", 4), rt("bn.b", 4), rt("bn.m", 4), {Name: "bn.v", Shape: []int{4}, Data: []float32{1, 0.5, 2, 1}}} {
		m.Tensors[tt.Name] = tt
	}
	m.Layers = []*nnq.Layer{
		{Name: "c1", Op: nnq.OpConv2D, Attrs: nnq.Attrs{Padding: "explicit", Pads: []int{1, 1, 1, 1}}, Params: map[string]string{"weight": "c1.w", "bias": "c1.b"}},
		{Name: "bn", Op: nnq.OpBatchNorm, Params: map[string]string{"gamma": "bn.g", "beta": "bn.b", "mean": "bn.m", "var": "bn.v"}},
		{Name: "relu", Op: nnq.OpReLU},
		{Name: "pool", Op: pool, Attrs: nnq.Attrs{Kernel: []int{2, 2}}},
		{Name: "flat", Op: nnq.OpFlatten},
		{Name: "fc", Op: nnq.OpDense, Params: map[string]string{"weight": "fc.w", "bias": "fc.b"}},
		{Name: "prob", Op: nnq.OpSoftmax},
	}
	model = filepath.Join(dir, "toy.arrow")
	if err := nnq.WriteModel(model, m); err != nil {
		t.Fatal(err)
	}
	pm, err := m.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := pm.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	run, _ := cm.NewRunner()
	p := &nnq.Patterns{Shape: []int{1, 8, 6}, Layout: nnq.NCHW}
	x := make([]float32, 48)
	for i := 0; i < 300; i++ {
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		split := []string{"train", "val", "test"}[i%3]
		p.Append(x, nnq.Predict(run.Run(x)), split)
	}
	patterns = filepath.Join(dir, "toy-patterns.arrow")
	if err := nnq.WritePatterns(patterns, p); err != nil {
		t.Fatal(err)
	}
	return model, patterns
}

func TestInspectAndConvert(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	var out, errb bytes.Buffer
	if code := run([]string{"inspect", model}, &out, &errb); code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"c1", "conv2d", "folded batchnorm", "MACs per inference", "nnq_conv_q7"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out.String())
		}
	}
	for _, bits := range []string{"8", "16"} {
		outDir := filepath.Join(dir, "out"+bits)
		out.Reset()
		errb.Reset()
		code := run([]string{"convert", "--model", model, "--patterns", patterns, "--bits", bits, "--scheme", "percentile:99.9", "--out", outDir}, &out, &errb)
		if code != 0 {
			t.Fatalf("convert --bits %s exit %d: %s", bits, code, errb.String())
		}
		// stderr is no terminal here: a line per finished step, no bar.
		if e := errb.String(); !strings.Contains(e, "calibrate: ") || !strings.Contains(e, "evaluate: ") || strings.Contains(e, "\r") {
			t.Errorf("convert --bits %s: stderr lacks the step lines or draws a bar:\n%q", bits, e)
		}
		b, err := os.ReadFile(filepath.Join(outDir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep map[string]any
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"float_accuracy", "fixed_accuracy", "agreement", "patterns", "bits", "scheme", "layers", "arena_bytes"} {
			if _, ok := rep[k]; !ok {
				t.Errorf("report.json lacks %q", k)
			}
		}
		if rep["patterns"].(float64) != 100 || rep["float_accuracy"].(float64) != 1 {
			t.Errorf("report: %v patterns, float accuracy %v", rep["patterns"], rep["float_accuracy"])
		}
		layer := rep["layers"].([]any)[0].(map[string]any)
		for _, k := range []string{"name", "op", "in_frac", "out_frac", "weight_frac", "bias_frac", "bias_shift", "out_shift", "saturations", "sqnr_db"} {
			if _, ok := layer[k]; !ok {
				t.Errorf("report layer lacks %q", k)
			}
		}
		for _, f := range []string{"nn.c", "nn.h", "nn_weights.h", "Makefile", "CMakeLists.txt", "README.md", "report.md", "plots/sqnr.png", "plots/confusion.png", "plots/hist_input.png"} {
			if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
				t.Errorf("convert did not write %s", f)
			}
		}
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	bad := filepath.Join(dir, "bad.arrow")
	os.WriteFile(bad, []byte("not arrow at all"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "commands:"},
		{[]string{"frob"}, 2, `unknown command "frob"`},
		{[]string{"inspect"}, 2, "usage: nnq inspect"},
		{[]string{"inspect", bad}, 1, "bad.arrow"},
		{[]string{"convert", "--model", model}, 2, "usage: nnq convert"},
		{[]string{"convert", "--model", model, "--patterns", patterns, "--bits", "12", "--out", dir}, 2, "--bits: 12 is not one of 8, 16"},
		{[]string{"convert", "--model", model, "--patterns", patterns, "--scheme", "best", "--out", dir}, 2, `unknown scheme "best"`},
		{[]string{"convert", "--model", model, "--patterns", model, "--out", filepath.Join(dir, "o")}, 1, "toy.arrow"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("nnq %v: exit %d, stderr %q; want exit %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}

func TestVerifyHostAndCortexM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	dir := t.TempDir()
	model, patterns := writeToyNet(t, dir)
	out := filepath.Join(dir, "out")
	var so, se bytes.Buffer
	if code := run([]string{"convert", "--model", model, "--patterns", patterns, "--target", "cortex-m4", "--max-test", "40", "--out", out, "-q"}, &so, &se); code != 0 {
		t.Fatalf("convert: %s", se.String())
	}
	for _, args := range [][]string{{"verify", out}, {"verify", out, "--sanitize"}, {"verify", out, "--target", "cortex-m4"}} {
		so.Reset()
		se.Reset()
		if code := run(args, &so, &se); code != 0 {
			t.Fatalf("nnq %v: exit %d: %s", args, code, se.String())
		}
		if !strings.Contains(so.String(), "40 stored patterns, every layer compared: bit-exact") {
			t.Errorf("nnq %v: %s", args, so.String())
		}
		if !strings.Contains(se.String(), "build: 1/1 done\n") || !strings.Contains(se.String(), "compare: 40/40 done\n") {
			t.Errorf("nnq %v: stderr lacks the step lines: %q", args, se.String())
		}
	}
	var rep nnq.Report
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.InstructionsPerInference == 0 || rep.FlashBytes == 0 || rep.RAMBytes == 0 || rep.Layers[0].Instructions == 0 {
		t.Errorf("report lacks Cortex-M figures: %d instr, flash %d, ram %d, layer0 %d", rep.InstructionsPerInference, rep.FlashBytes, rep.RAMBytes, rep.Layers[0].Instructions)
	}
	// The count is exact: a second run gives the same number.
	so2 := so.String()
	so.Reset()
	if code := run([]string{"verify", out, "--target", "cortex-m4"}, &so, &se); code != 0 || so.String() != so2 {
		t.Errorf("second Cortex-M run differs:\n%s\n%s", so2, so.String())
	}
	// A directory that is not an export is refused clearly (a bad DIR
	// argument: exit 2).
	if code := run([]string{"verify", dir}, &so, &se); code != 2 || !strings.Contains(se.String(), "not an nnq export") {
		t.Errorf("non-export dir: %s", se.String())
	}
	// A wrong target for the model's code path is refused.
	se.Reset()
	if code := run([]string{"verify", out, "--target", "cortex-m3"}, &so, &se); code != 1 || !strings.Contains(se.String(), "DSP") {
		t.Errorf("C-path target for a DSP model: %s", se.String())
	}
}
