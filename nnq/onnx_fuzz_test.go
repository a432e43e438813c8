package nnq

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The seed corpus under testdata/fuzz/FuzzReadONNX runs in plain `go test`.
// Regenerate it (the PyTorch fixtures of testdata/onnx plus the hand-built
// graphs of onnx_build_test.go) with
//
//	NNQ_WRITE_FUZZ_SEEDS=1 go test ./nnq -run TestONNXWriteFuzzSeeds
//
// and fuzz with
//
//	go test ./nnq -run '^$' -fuzz FuzzReadONNX -fuzztime 60s

func onnxFuzzSeeds(t testing.TB) map[string][]byte {
	seeds := onnxSeedModels(t)
	files, err := filepath.Glob(filepath.Join("testdata", "onnx", "*.onnx"))
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
func onnxFuzzCheap(m *Model) bool {
	info, err := m.Info()
	if err != nil || m.InputSize() > 1<<12 {
		return false
	}
	var cost int64
	acts, _ := m.Shapes()
	for i, li := range info {
		cost += li.MACs + int64(shapeSize(li.Out))
		l := m.Layers[i]
		if l.Op == OpMaxPool2D || l.Op == OpAvgPool2D {
			g, err := m.windowOf(l, acts[m.inputsOf(i)[0]])
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
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeONNX(data, "fuzz")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// What the importer returns is a checked NCHW model that nnq's
		// Arrow format can hold (nnq import writes it).
		if m.Layout != NCHW {
			t.Fatalf("layout %s", m.Layout)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("imported model fails Check: %v", err)
		}
		var buf bytes.Buffer
		if err := EncodeModel(&buf, m); err != nil {
			t.Fatalf("imported model does not encode: %v", err)
		}
		if _, err := DecodeModel(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
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
	})
}
