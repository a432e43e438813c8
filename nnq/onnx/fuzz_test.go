package onnx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// The seed corpus under testdata/fuzz/FuzzReadONNX runs in plain `go test`.
// Regenerate it (the PyTorch fixtures of testdata plus the hand-built
// graphs of build_test.go) with
//
//	NNQ_WRITE_FUZZ_SEEDS=1 go test ./nnq/onnx -run TestONNXWriteFuzzSeeds
//
// and fuzz with
//
//	go test ./nnq/onnx -run '^$' -fuzz FuzzReadONNX -fuzztime 60s

func onnxFuzzSeeds(t testing.TB) map[string][]byte {
	seeds := onnxSeedModels(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds["torch-"+strings.TrimSuffix(filepath.Base(f), ".onnx")] = data
	}
	return seeds
}

func TestONNXWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NNQ_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set NNQ_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzReadONNX seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadONNX")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range onnxFuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// onnxFuzzCheap reports whether running m's float pass is quick enough for
// a fuzz iteration.
func onnxFuzzCheap(m *nnq.Model) bool {
	info, err := m.Info()
	if err != nil || m.InputSize() > 1<<12 {
		return false
	}
	var cost int64
	for i, li := range info {
		cost += li.MACs + int64(shapeSize(li.Out))
		l := m.Layers[i]
		if l.Op == nnq.OpMaxPool2D || l.Op == nnq.OpAvgPool2D {
			g, err := m.Window(l)
			if err != nil {
				return false
			}
			cost += int64(g.OutH*g.OutW*g.OutC) * int64(g.KH*g.KW)
		}
	}
	return cost < 1<<20
}

func FuzzReadONNX(f *testing.F) {
	for _, s := range onnxFuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkONNXBytes)
}

// checkONNXBytes imports data and checks what the importer promises.
func checkONNXBytes(t *testing.T, data []byte) {
	m, err := Decode(data, "fuzz")
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		return
	}
	// What the importer returns is a checked NCHW model that nnq's
	// Arrow format can hold (nnq import writes it).
	if m.Layout != nnq.NCHW {
		t.Fatalf("layout %s", m.Layout)
	}
	if err := m.Check(); err != nil {
		t.Fatalf("imported model fails Check: %v", err)
	}
	var buf bytes.Buffer
	if err := nnq.EncodeModel(&buf, m); err != nil {
		t.Fatalf("imported model does not encode: %v", err)
	}
	if _, err := nnq.DecodeModel(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		t.Fatalf("imported model does not decode from Arrow: %v", err)
	}
	p, err := m.Prepare()
	if err != nil {
		return
	}
	cm, err := p.ToCMSIS()
	if err != nil {
		return
	}
	if !onnxFuzzCheap(cm) {
		return
	}
	run, err := cm.NewRunner()
	if err != nil {
		t.Fatalf("CMSIS model does not run: %v", err)
	}
	run.Run(make([]float32, cm.InputSize()))
}

// fuzzBytes hands out fuzz input bytes (zeros when exhausted).
type fuzzBytes []byte

func (f *fuzzBytes) next(n int) int {
	if len(*f) == 0 {
		return 0
	}
	v := int((*f)[0]) % n
	*f = (*f)[1:]
	return v
}

// FuzzONNXGraph builds structurally valid ONNX graphs from the fuzz bytes
// (operators, attributes, weight shapes and wiring all drawn from them), so
// the fuzzer explores the importer's operator paths rather than the
// protobuf decoder.
func FuzzONNXGraph(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 3, 4, 5, 0, 2, 1, 1, 0, 3, 4, 7, 2})
	f.Add([]byte{0, 1, 5, 5, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkONNXBytes(t, buildFuzzGraph(t, data))
	})
}

func buildFuzzGraph(t testing.TB, data []byte) []byte {
	fb := fuzzBytes(data)
	var g *onnxGraph
	if fb.next(2) == 0 {
		g = newONNXGraph("x", 1, int64(1+fb.next(8)))
	} else {
		g = newONNXGraph("x", 1, int64(1+fb.next(4)), int64(1+fb.next(7)), int64(1+fb.next(7)))
	}
	g.opset = int64(7 + fb.next(12))
	vals := []string{"x"}
	small := func() int64 { return int64(fb.next(5)) - 1 } // -1..3
	ints := func(name string, n int) *onnxpb.AttributeProto {
		v := make([]int64, n)
		for i := range v {
			v[i] = small()
		}
		return aInts(name, v...)
	}
	dims := func() []int64 {
		d := make([]int64, fb.next(5))
		for i := range d {
			d[i] = int64(1 + fb.next(6))
		}
		return d
	}
	ops := []string{"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu", "Sigmoid", "Tanh", "Softmax", "Flatten",
		"Reshape", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "BatchNormalization", "Pad", "Squeeze", "Unsqueeze",
		"ReduceMean", "Dropout", "Identity", "Transpose", "Concat", "Shape", "Gather", "Cast", "Slice", "LSTM"}
	attrNames := []string{"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "axis", "axes", "transB",
		"alpha", "ceil_mode", "count_include_pad", "keepdims", "perm", "to", "epsilon"}
	nodes := 1 + fb.next(8)
	for k := 0; k < nodes; k++ {
		op := ops[fb.next(len(ops))]
		name := fmt.Sprintf("n%d", k)
		ins := []string{vals[len(vals)-1-fb.next(min(len(vals), 3))]}
		for j := fb.next(3); j > 0; j-- {
			if fb.next(3) == 0 {
				ins = append(ins, vals[fb.next(len(vals))])
				continue
			}
			w := fmt.Sprintf("%s_w%d", name, j)
			if fb.next(2) == 0 {
				vs := make([]int64, fb.next(6))
				for i := range vs {
					vs[i] = small()
				}
				g.ints(w, vs...)
			} else {
				g.init(w, nil, dims()...)
			}
			ins = append(ins, w)
		}
		var attrs []*onnxpb.AttributeProto
		for j := fb.next(4); j > 0; j-- {
			a := attrNames[fb.next(len(attrNames))]
			switch a {
			case "auto_pad":
				attrs = append(attrs, aString(a, []string{"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "bogus"}[fb.next(5)]))
			case "alpha", "epsilon":
				attrs = append(attrs, aFloat(a, float32(small())/2))
			case "kernel_shape", "strides", "pads", "dilations", "axes", "perm":
				attrs = append(attrs, ints(a, fb.next(5)))
			default:
				attrs = append(attrs, aInt(a, small()))
			}
		}
		out := name + "_out"
		g.node(op, name, ins, []string{out}, attrs...)
		vals = append(vals, out)
	}
	return g.bytes(t, vals[len(vals)-1])
}
