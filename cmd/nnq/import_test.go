package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx"
)

func onnxFixture(name string) string {
	return filepath.Join("..", "..", "nnq", "onnx", "testdata", name+".onnx")
}

func TestImportWritesArrowTwin(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"cnn", "bn", "dsblock", "ops", "gru", "lstmh", "crnn", "lstm2", "lstmstack", "gruidx"} {
		out := filepath.Join(dir, name+".arrow")
		var stdout, stderr bytes.Buffer
		if code := run([]string{"import", onnxFixture(name), "-o", out}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "wrote "+out) {
			t.Errorf("%s: stdout %q", name, stdout.String())
		}
		a, err := nnq.ReadModel(out)
		if err != nil {
			t.Fatal(err)
		}
		o, err := onnx.Read(onnxFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if a.Layout != nnq.NCHW || !reflect.DeepEqual(a.InputShape, o.InputShape) || len(a.Layers) != len(o.Layers) || len(a.Tensors) != len(o.Tensors) {
			t.Fatalf("%s: Arrow %s %v %d layers %d tensors, ONNX %v %d layers %d tensors", name, a.Layout, a.InputShape, len(a.Layers), len(a.Tensors),
				o.InputShape, len(o.Layers), len(o.Tensors))
		}
		for i := range a.Layers {
			if a.Layers[i].Name != o.Layers[i].Name || a.Layers[i].Op != o.Layers[i].Op {
				t.Errorf("%s: layer %d is %s %s in Arrow, %s %s in ONNX", name, i, a.Layers[i].Name, a.Layers[i].Op, o.Layers[i].Name, o.Layers[i].Op)
			}
		}
		for k, tt := range o.Tensors {
			if at := a.Tensors[k]; at == nil || !reflect.DeepEqual(at.Data, tt.Data) || !reflect.DeepEqual(at.Shape, tt.Shape) {
				t.Errorf("%s: tensor %q differs", name, k)
			}
		}
		// Both files load into the same prepared model.
		pa, err := nnq.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		po, err := nnq.Load(onnxFixture(name))
		if err != nil {
			t.Fatal(err)
		}
		if len(pa.Layers) != len(po.Layers) {
			t.Errorf("%s: prepared Arrow has %d layers, ONNX %d", name, len(pa.Layers), len(po.Layers))
		}
	}
}

func TestImportDefaultsAndErrors(t *testing.T) {
	dir := t.TempDir()
	// Flags before the model, a chosen name, the default output beside
	// the input.
	data, err := os.ReadFile(onnxFixture("cnn"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "tiny.onnx")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"import", "--name", "tiny-cnn", src}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if m, err := nnq.ReadModel(filepath.Join(dir, "tiny.arrow")); err != nil || m.Name != "tiny-cnn" {
		t.Fatalf("model %v, error %v", m, err)
	}
	// inspect reads .onnx directly.
	stdout.Reset()
	if code := run([]string{"inspect", onnxFixture("dsblock")}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "depthwise_conv2d") {
		t.Fatalf("inspect: exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	// An unsupported operator and an inexpressible reshape (a vector into
	// the LSTM's sequence): one error naming every offending node.
	stderr.Reset()
	if code := run([]string{"import", onnxFixture("lstm"), "-o", filepath.Join(dir, "lstm.arrow")}, &stdout, &stderr); code != 1 {
		t.Fatalf("lstm: exit %d", code)
	}
	for _, want := range []string{"(Reshape)", "GRU/LSTM input", "(LeakyRelu)", "rewrite it as"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("lstm: stderr %q lacks %q", stderr.String(), want)
		}
	}
	if code := run([]string{"import"}, &stdout, &stderr); code != 2 {
		t.Errorf("no model: exit %d, want 2 (usage)", code)
	}
}
