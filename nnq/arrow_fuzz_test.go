package nnq

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The seed corpora under testdata/fuzz/FuzzReadModel and
// testdata/fuzz/FuzzReadPatterns run in plain `go test`. Regenerate the
// generated seeds with
//
//	NNQ_WRITE_FUZZ_SEEDS=1 go test ./nnq -run TestArrowWriteFuzzSeeds
//
// and fuzz with
//
//	go test ./nnq -run '^$' -fuzz FuzzReadModel -fuzztime 60s

func modelSeeds(t testing.TB) map[string][]byte {
	js, err := os.ReadFile(jsModelPath)
	if err != nil {
		t.Fatal(err)
	}
	small := tinyModel()
	small.Tensors = map[string]*Tensor{}
	small.Layers = []*Layer{{Name: "relu", Op: OpReLU}, {Name: "flat", Op: OpFlatten}}
	return map[string][]byte{
		"tiny":    encodeBytes(t, tinyModel()),
		"js":      js,
		"noparam": encodeBytes(t, small),
	}
}

func patternSeeds(t testing.TB) map[string][]byte {
	p := makePatterns(1, 5, NCHW, true, 1, 2, 2)
	q := makePatterns(2, 4, NHWC, false, 3)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	db := array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range p.Splits {
		db.AppendString(s)
	}
	in := tensorField("input", p.Shape, 4)
	dict := arrowFile(t, map[string]string{LayoutMetadataKey: "NCHW"},
		[]arrow.Field{in, {Name: "label", Type: arrow.PrimitiveTypes.Int32}, {Name: "split", Type: dt}},
		[]arrow.Array{float32ListArray(in.Type.(*arrow.FixedSizeListType), p.Inputs, 5), int32Array(p.Labels), db.NewArray()})
	seeds := map[string][]byte{
		"plain":   patternBytes(t, p, PatternWriteOptions{BatchRows: 2}),
		"zstd":    patternBytes(t, p, PatternWriteOptions{Compression: Zstd}),
		"lz4":     patternBytes(t, q, PatternWriteOptions{Compression: LZ4, BatchRows: 3}),
		"nosplit": patternBytes(t, q, PatternWriteOptions{}),
		"dict":    dict,
	}
	// Written by JavaScript apache-arrow (data/js-fixture): dictionary<int32>
	// splits, and a broken LZ4 body.
	for name, file := range map[string]string{"js": "js_patterns.arrow", "js-lz4": "js_patterns_lz4.arrow"} {
		b, err := os.ReadFile(filepath.Join("testdata", "arrow", file))
		if err != nil {
			t.Fatal(err)
		}
		seeds[name] = b
	}
	return seeds
}

func TestArrowWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("NNQ_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set NNQ_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz seeds")
	}
	for target, seeds := range map[string]map[string][]byte{"FuzzReadModel": modelSeeds(t), "FuzzReadPatterns": patternSeeds(t)} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func FuzzReadModel(f *testing.F) {
	for _, s := range modelSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeModel(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		// Whatever reads back must write again.
		var buf bytes.Buffer
		if err := EncodeModel(&buf, m); err != nil {
			t.Fatalf("decoded model does not encode: %v", err)
		}
		if _, err := DecodeModel(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
	})
}

func FuzzReadPatterns(f *testing.F) {
	for _, s := range patternSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePatterns(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			if err := p.Check(); err != nil {
				t.Fatalf("decoded patterns fail Check: %v", err)
			}
			var buf bytes.Buffer
			if err := EncodePatterns(&buf, p, PatternWriteOptions{}); err != nil {
				t.Fatalf("decoded patterns do not encode: %v", err)
			}
		}
		// The batch-at-a-time path, read with ReadAt and as a mapped file
		// (columns viewing the bytes).
		for _, mapped := range [][]byte{nil, data} {
			pf, err := newPatternFile("", bytes.NewReader(data), int64(len(data)), nil, mapped)
			if err != nil {
				continue
			}
			n := 0
			err = pf.Scan(func(b *Patterns) error { n += b.Len(); return nil })
			if err == nil && n != pf.Len() {
				t.Fatalf("scanned %d patterns, Len %d (mapped %v)", n, pf.Len(), mapped != nil)
			}
			pf.mapped = nil // not from mapFile
			pf.Close()
		}
	})
}
