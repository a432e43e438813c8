package nnq

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"
)

// js_model.arrow is written by data/js-fixture/write_model.mjs with the
// JavaScript Arrow implementation; js_model_expected.json holds the float
// output that script computed with a naive loop.
const jsModelPath = "testdata/arrow/js_model.arrow"

func TestArrowJSFixtureLoads(t *testing.T) {
	m, err := ReadModel(jsModelPath)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "js_tiny" || m.Layout != NCHW || !reflect.DeepEqual(m.InputShape, []int{1, 4, 4}) || m.InputName != "input" ||
		!reflect.DeepEqual(m.Classes, []string{"a", "b", "c"}) || len(m.Layers) != 5 {
		t.Fatalf("header: %+v", m)
	}
	wantShapes := map[string][]int{"conv.weight": {2, 1, 3, 3}, "conv.bias": {2}, "fc.weight": {3, 8}, "fc.bias": {3}}
	if len(m.Tensors) != len(wantShapes) {
		t.Errorf("tensors %v", m.TensorNames())
	}
	for name, shape := range wantShapes {
		tn := m.Tensors[name]
		if tn == nil || !reflect.DeepEqual(tn.Shape, shape) || len(tn.Data) != shapeSize(shape) {
			t.Errorf("tensor %s: %+v", name, tn)
		}
	}
	// The script's parameter rule, rounded to float32.
	for i, v := range m.Tensors["conv.weight"].Data {
		if want := float32(float64((i*7+3)%11-5) / 10); v != want {
			t.Fatalf("conv.weight[%d] = %v, want %v", i, v, want)
		}
	}
	if l := m.Layer("conv"); l.Attrs.Filters != 2 || !reflect.DeepEqual(l.Attrs.Kernel, []int{3, 3}) || l.Attrs.Padding != "valid" {
		t.Errorf("conv attrs %+v", l.Attrs)
	}
}

func TestArrowJSFixtureOutput(t *testing.T) {
	var want struct {
		Input  []float32
		Output []float64
	}
	data, err := os.ReadFile("testdata/arrow/js_model_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	check := func(what string, got []float32) {
		t.Helper()
		if len(got) != len(want.Output) {
			t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want.Output))
		}
		for i := range got {
			if math.Abs(float64(got[i])-want.Output[i]) > 1e-5 {
				t.Errorf("%s: output %v, want %v", what, got, want.Output)
				return
			}
		}
	}
	// The loader's path: read, prepare, convert to CMSIS, float pass.
	m, err := Load(jsModelPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	check("CMSIS float pass", r.Run(want.Input))

	// The naive framework-layout pass on the model as read.
	raw, err := ReadModel(jsModelPath)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := raw.newReferenceRunner()
	if err != nil {
		t.Fatal(err)
	}
	check("NCHW reference pass", rr.Run(want.Input))
}
