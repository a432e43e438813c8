package onnx

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// The fixtures in testdata/onnx are made by data/onnx/make_fixtures.py
// and, for the recurrent ones, data/onnx/make_rnn_fixtures.py (PyTorch
// 1.13, torch.onnx.export, opset 13); expected.json and expected_rnn.json
// hold the PyTorch outputs for three fixed inputs per model.

type onnxFixture struct {
	File       string      `json:"file"`
	InputShape []int       `json:"input_shape"`
	Inputs     [][]float32 `json:"inputs"`
	Outputs    [][]float64 `json:"outputs"`
	ONNXOps    []string    `json:"onnx_ops"`
}

func readONNXFixtures(t *testing.T) map[string]onnxFixture {
	t.Helper()
	fx := map[string]onnxFixture{}
	for _, file := range []string{"expected.json", "expected_rnn.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		var part map[string]onnxFixture
		if err := json.Unmarshal(data, &part); err != nil {
			t.Fatal(err)
		}
		for k, v := range part {
			if _, dup := fx[k]; dup {
				t.Fatalf("fixture %q is in two files", k)
			}
			fx[k] = v
		}
	}
	return fx
}

// runCMSIS loads path through Load (prepare: batchnorm folding, dropout
// removal), reorders it with ToCMSIS and runs the float pass on each NCHW
// input.
func runCMSIS(t *testing.T, path string, inputs [][]float32) (*nnq.Model, [][]float32) {
	t.Helper()
	m, err := nnq.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	run, err := cm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for _, x := range inputs {
		outs = append(outs, append([]float32(nil), run.Run(x)...))
	}
	// The framework-layout reference pass must agree with the CMSIS one.
	p := &nnq.Patterns{Shape: append([]int(nil), m.InputShape...), Layout: m.Layout}
	for _, x := range inputs {
		p.Append(x, 0, "")
	}
	rep, err := nnq.VerifyLayout(m, cm, p)
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Layers[len(rep.Layers)-1].MaxAbs; d > 1e-5 {
		t.Fatalf("NCHW reference and CMSIS pass differ by %g at the output:\n%s", d, rep)
	}
	return m, outs
}

func TestONNXFixturesMatchPyTorch(t *testing.T) {
	for name, fx := range readONNXFixtures(t) {
		if name == "lstm" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			m, outs := runCMSIS(t, filepath.Join("testdata", fx.File), fx.Inputs)
			if !slices.Equal(m.InputShape, fx.InputShape[1:]) || m.Layout != nnq.NCHW {
				t.Fatalf("input shape %v layout %s, want %v NCHW", m.InputShape, m.Layout, fx.InputShape[1:])
			}
			worst := 0.0
			for i, want := range fx.Outputs {
				got := outs[i]
				if len(got) != len(want) {
					t.Fatalf("input %d: %d outputs, PyTorch has %d", i, len(got), len(want))
				}
				for j := range want {
					d := math.Abs(float64(got[j]) - want[j])
					worst = max(worst, d)
					if d > 1e-4 {
						t.Errorf("input %d output %d: nnq %v, PyTorch %v", i, j, got[j], want[j])
					}
				}
			}
			t.Logf("%d layers, max abs difference %.3g; notes %q", len(m.Layers), worst, m.Notes)
		})
	}
}

func TestONNXFixtureStructure(t *testing.T) {
	ops := func(name string) string {
		m, err := nnq.Load(filepath.Join("testdata", name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, l := range m.Layers {
			s = append(s, string(l.Op))
		}
		return strings.Join(s, " ")
	}
	for name, want := range map[string]string{
		"cnn":     "conv2d relu maxpool2d flatten dense softmax",
		"bn":      "conv2d relu conv2d relu avgpool2d flatten dense relu dense",
		"dsblock": "conv2d relu depthwise_conv2d relu conv2d relu avgpool2d flatten dense",
		"ops":     "conv2d sigmoid conv2d tanh mul conv2d add depthwise_conv2d relu maxpool2d conv2d relu avgpool2d flatten flatten dense dense add tanh",
	} {
		if got := ops(name); got != want {
			t.Errorf("%s: layers %q, want %q", name, got, want)
		}
	}
}

func TestONNXUnsupportedListsEveryNode(t *testing.T) {
	_, err := nnq.Load(filepath.Join("testdata", "lstm.onnx"))
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v is not an *Error", err)
	}
	msg := err.Error()
	t.Log(msg)
	byOp := map[string]Problem{}
	for _, p := range oe.Problems {
		byOp[p.OpType] = p
	}
	// The LSTM itself maps, but its input is a vector reshaped into a
	// sequence, which nnq cannot express.
	for op, want := range map[string]string{
		"Reshape":   "turns a vector into a sequence",
		"LeakyRelu": onnxUnsupportedHint("LeakyRelu"),
	} {
		p, ok := byOp[op]
		if !ok {
			t.Errorf("no problem reported for the %s node", op)
			continue
		}
		if !strings.Contains(p.Reason, want) {
			t.Errorf("%s: reason %q does not suggest %q", op, p.Reason, want)
		}
		if !strings.Contains(msg, p.Node) {
			t.Errorf("message does not name node %q", p.Node)
		}
	}
	if strings.Count(msg, "\n  node ") != len(oe.Problems) {
		t.Errorf("message lists %d nodes, error has %d problems", strings.Count(msg, "\n  node "), len(oe.Problems))
	}
}
