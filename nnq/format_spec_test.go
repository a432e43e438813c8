package nnq

// The details docs/FORMAT.md specifies, one test each: split column types
// and nullability, the list child field, classes against the output and the
// labels, input.name, the two size limits, broken compressed files and the
// stream format (with files written by JavaScript apache-arrow).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The split column may be utf8, large_utf8 or a dictionary of either with
// any integer index type; the field may be nullable, its values may not.
func TestFormatSplitColumnTypes(t *testing.T) {
	p := makePatterns(11, 9, NCHW, true, 1, 2, 2)
	in := tensorField("input", p.Shape, 4)
	label := arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Int32}
	inputs := func() arrow.Array { return float32ListArray(in.Type.(*arrow.FixedSizeListType), p.Inputs, p.Len()) }
	decode := func(split arrow.Field, col arrow.Array) (*Patterns, error) {
		data := patFile(t, map[string]string{LayoutMetadataKey: "NCHW"}, []arrow.Field{in, label, split}, inputs(), int32Array(p.Labels), col)
		return DecodePatterns(bytes.NewReader(data), int64(len(data)))
	}
	indexTypes := []arrow.DataType{arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Uint16,
		arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Uint64}
	for _, vt := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString} {
		for _, it := range indexTypes {
			dt := &arrow.DictionaryType{IndexType: it, ValueType: vt}
			for _, nullable := range []bool{false, true} {
				got, err := decode(arrow.Field{Name: "split", Type: dt, Nullable: nullable}, splitDictionary(t, dt, p.Splits))
				if err != nil {
					t.Fatalf("dictionary<%s, %s> nullable=%v: %v", it, vt, nullable, err)
				}
				if !reflect.DeepEqual(got.Splits, p.Splits) {
					t.Errorf("dictionary<%s, %s>: splits %v", it, vt, got.Splits)
				}
			}
		}
	}
	// A null split value is refused, nullable field or not.
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.AppendValues(p.Splits[:4], nil)
	b.AppendNull()
	b.AppendValues(p.Splits[5:], nil)
	_, err := decode(arrow.Field{Name: "split", Type: arrow.BinaryTypes.String, Nullable: true}, b.NewArray())
	if err == nil || !strings.Contains(err.Error(), "pattern 4 split is null") {
		t.Errorf("null split: %v", err)
	}
}

// splitDictionary encodes splits as a dictionary array of type dt, the
// dictionary being val, test, train (in that order, so the indices are not
// the split's rank).
func splitDictionary(t *testing.T, dt *arrow.DictionaryType, splits []string) arrow.Array {
	t.Helper()
	mem := memory.DefaultAllocator
	words := []string{"val", "test", "train"}
	db := array.NewBuilder(mem, dt.ValueType)
	for _, w := range words {
		switch b := db.(type) {
		case *array.StringBuilder:
			b.Append(w)
		case *array.LargeStringBuilder:
			b.Append(w)
		}
	}
	dict := db.NewArray()
	ib := array.NewBuilder(mem, dt.IndexType)
	for _, s := range splits {
		k := slices.Index(words, s)
		switch b := ib.(type) {
		case *array.Int8Builder:
			b.Append(int8(k))
		case *array.Uint8Builder:
			b.Append(uint8(k))
		case *array.Int16Builder:
			b.Append(int16(k))
		case *array.Uint16Builder:
			b.Append(uint16(k))
		case *array.Int32Builder:
			b.Append(int32(k))
		case *array.Uint32Builder:
			b.Append(uint32(k))
		case *array.Int64Builder:
			b.Append(int64(k))
		case *array.Uint64Builder:
			b.Append(uint64(k))
		}
	}
	return array.NewDictionaryArray(dt, ib.NewArray(), dict)
}

// The list's child field may have any name and be nullable; its values
// may not be null.
func TestFormatListChildField(t *testing.T) {
	f32 := arrow.PrimitiveTypes.Float32
	p := makePatterns(12, 5, NHWC, false, 2, 2, 1)
	for _, name := range []string{"item", "element", "values", ""} {
		for _, nullable := range []bool{false, true} {
			dt := arrow.FixedSizeListOfField(4, arrow.Field{Name: name, Type: f32, Nullable: nullable})
			in := arrow.Field{Name: "input", Type: dt, Metadata: extMeta("[2,2,1]")}
			data := patFile(t, map[string]string{LayoutMetadataKey: "NHWC"}, []arrow.Field{in, {Name: "label", Type: arrow.PrimitiveTypes.Int32}},
				float32ListArray(dt, p.Inputs, p.Len()), int32Array(p.Labels))
			got, err := DecodePatterns(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("patterns, child %q nullable=%v: %v", name, nullable, err)
			}
			samePatterns(t, got, p)

			m := tinyModel()
			w := m.Tensors["fc.w"]
			mdt := arrow.FixedSizeListOfField(int32(w.Size()), arrow.Field{Name: name, Type: f32, Nullable: nullable})
			f := arrow.Field{Name: "fc.w", Type: mdt, Metadata: extMeta("[3,8]")}
			file := tinyFile(t, tinyGraph(nil), "fc.w", f, float32ListArray(mdt, w.Data, 1))
			gm, err := DecodeModel(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatalf("model, child %q nullable=%v: %v", name, nullable, err)
			}
			if !reflect.DeepEqual(gm.Tensors["fc.w"].Data, w.Data) {
				t.Errorf("model, child %q: values differ", name)
			}
		}
	}
	// Null values are refused even when the child field is nullable.
	dt := arrow.FixedSizeListOfField(4, arrow.Field{Name: "item", Type: f32, Nullable: true})
	data := patFile(t, map[string]string{LayoutMetadataKey: "NHWC"},
		[]arrow.Field{{Name: "input", Type: dt, Metadata: extMeta("[2,2,1]")}, {Name: "label", Type: arrow.PrimitiveTypes.Int32}},
		listOf(f32, 4, seq(8), nil, []int{6}), int32s(0, 1))
	if _, err := DecodePatterns(bytes.NewReader(data), int64(len(data))); err == nil || !strings.Contains(err.Error(), "pattern 1 value 2 is null") {
		t.Errorf("null value: %v", err)
	}
}

// classes must name every output value; labels must be outputs or -1.
func TestFormatClassesAndLabelsChecked(t *testing.T) {
	graph := tinyGraph(func(g map[string]any) { g["classes"] = []string{"a", "b"} })
	file := tinyFile(t, graph, "", arrow.Field{}, nil)
	path := filepath.Join(t.TempDir(), "classes.arrow")
	os.WriteFile(path, file, 0o644)
	_, err := ReadModel(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `classes lists 2 names, but the output "prob" has 3 values`) {
		t.Errorf("classes of the wrong count: %v", err)
	}

	dir := t.TempDir()
	m := tinyModel()
	m.Classes = []string{"a", "b", "c"}
	model := filepath.Join(dir, "m.arrow")
	if err := WriteModel(model, m); err != nil {
		t.Fatal(err)
	}
	p := makePatterns(13, 12, NCHW, true, 1, 4, 4)
	for i := range p.Labels {
		p.Labels[i] = int32(i % 3)
	}
	p.Labels[7] = 3
	pats := filepath.Join(dir, "p.arrow")
	if err := WritePatterns(pats, p); err != nil {
		t.Fatal(err)
	}
	_, err = Convert(ConvertOptions{Model: model, Patterns: pats, Scheme: MinMax{}})
	if err == nil || !strings.Contains(err.Error(), pats) || !strings.Contains(err.Error(), `pattern 7 has label 3, but model "tiny" has 3 outputs (classes a ... c)`) {
		t.Errorf("label beyond the outputs: %v", err)
	}
}

// input.name names the input activation inside the graph (what inputs
// lists refer to); the pattern column is "input" whatever it is.
func TestFormatInputName(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel()
	m.InputName = "mfcc"
	m.Layers[0].Inputs = []string{"mfcc"}
	model := filepath.Join(dir, "m.arrow")
	if err := WriteModel(model, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModel(model)
	if err != nil || got.InputName != "mfcc" {
		t.Fatalf("%v %v", got, err)
	}
	p := makePatterns(14, 12, NCHW, true, 1, 4, 4)
	for i := range p.Labels {
		p.Labels[i] = int32(i % 3)
	}
	pats := filepath.Join(dir, "p.arrow")
	if err := WritePatterns(pats, p); err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(ConvertOptions{Model: model, Patterns: pats, Scheme: MinMax{}}); err != nil {
		t.Errorf("input named mfcc, patterns in column input: %v", err)
	}
	// A pattern column named after input.name is not read.
	in := tensorField("mfcc", p.Shape, 16)
	data := patFile(t, map[string]string{LayoutMetadataKey: "NCHW"}, []arrow.Field{in, {Name: "label", Type: arrow.PrimitiveTypes.Int32}},
		float32ListArray(in.Type.(*arrow.FixedSizeListType), p.Inputs, p.Len()), int32Array(p.Labels))
	_, err = DecodePatterns(bytes.NewReader(data), int64(len(data)))
	if err == nil || !strings.Contains(err.Error(), `no "input" column (the pattern column is always named input, whatever the model's input.name)`) {
		t.Errorf("column named mfcc: %v", err)
	}
}

// The two limits: a file's tensor holds at most 2^28 values (MaxTensorValues,
// the reader's bound); a legacy kernel argument is at most 65535 (uint16_t),
// so a layer is refused at quantization when one of its kernel's sizes is
// larger, not when its tensor is.
func TestFormatSizeLimits(t *testing.T) {
	f32 := arrow.PrimitiveTypes.Float32
	huge := arrow.Field{Name: "fc.w", Type: arrow.FixedSizeListOf(1<<28+1, f32), Metadata: extMeta("[16385,16384]")}
	var fields []arrow.Field
	for _, n := range tinyModel().TensorNames() {
		tn := tinyModel().Tensors[n]
		fields = append(fields, tensorField(n, tn.Shape, tn.Size()))
		if n == "fc.w" {
			fields[len(fields)-1] = huge
		}
	}
	file := arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(nil)}, fields) // the schema is refused before any batch is read
	if _, err := DecodeModel(bytes.NewReader(file), int64(len(file))); err == nil || !strings.Contains(err.Error(), "holds more than 268435456 values") {
		t.Errorf("2^28+1 values: %v", err)
	}

	r := rand.New(rand.NewSource(15))
	quantize := func(m *Model, runtime string) error {
		cm, err := m.ToCMSIS()
		if err != nil {
			return err
		}
		st, err := Calibrate(cm, randPatterns(r, m, 2), nil)
		if err != nil {
			return err
		}
		_, err = Quantize(cm, st, QConfig{Bits: 8, Scheme: MinMax{}, Runtime: runtime})
		return err
	}
	// A 298x298 conv output (88804 values): every kernel argument fits.
	conv := &Model{Name: "bigmap", Layout: NCHW, InputShape: []int{1, 300, 300}, Tensors: map[string]*Tensor{
		"w": randTensor(r, "w", 1, 1, 3, 3), "b": randTensor(r, "b", 1)}}
	conv.Layers = []*Layer{{Name: "conv", Op: OpConv2D, Params: map[string]string{"weight": "w", "bias": "b"}}}
	for _, rt := range []string{RuntimeNNQ, RuntimeCMSIS} {
		if err := quantize(conv, rt); err != nil {
			t.Errorf("88804-value conv output, runtime %s: %v", rt, err)
		}
	}
	// A relu over it: the library's arm_relu_q7 takes the size as uint16_t
	// (nnq's kernels take uint32_t sizes, and fuse this ReLU).
	conv.Layers = append(conv.Layers, &Layer{Name: "relu", Op: OpReLU})
	if err := quantize(conv, RuntimeCMSIS); err == nil || !strings.Contains(err.Error(), `layer "relu"`) || !strings.Contains(err.Error(), "size 88804 > 65535") {
		t.Errorf("88804-value relu, runtime cmsis: %v", err)
	}
	if err := quantize(conv, RuntimeNNQ); err != nil {
		t.Errorf("88804-value relu, runtime nnq: %v", err)
	}
}

// Files written by JavaScript apache-arrow (data/js-fixture/write_patterns.mjs).
func TestFormatJSPatternFiles(t *testing.T) {
	var want struct {
		Shape  []int
		Inputs []float32
		Labels []int32
		Splits []string
	}
	b, err := os.ReadFile("testdata/arrow/js_patterns_expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPatterns("testdata/arrow/js_patterns.arrow")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Shape, want.Shape) || !reflect.DeepEqual(p.Inputs, want.Inputs) || !reflect.DeepEqual(p.Labels, want.Labels) || !reflect.DeepEqual(p.Splits, want.Splits) {
		t.Errorf("js_patterns.arrow differs from what the script wrote")
	}

	_, err = ReadPatterns("testdata/arrow/js_patterns_lz4.arrow")
	var ce *CompressedBufferError
	if !errors.As(err, &ce) || ce.Codec != "LZ4" || !strings.Contains(err.Error(), "js_patterns_lz4.arrow: record batch 0: its LZ4-compressed buffers do not decode") ||
		!strings.Contains(err.Error(), "write it uncompressed") {
		t.Errorf("broken LZ4 file from JavaScript: %v", err)
	}

	_, err = ReadPatterns("testdata/arrow/js_patterns.arrows")
	if !errors.Is(err, errStreamFormat) || !strings.Contains(err.Error(), "pa.ipc.new_file(sink, schema)") || !strings.Contains(err.Error(), "tableToIPC(table, 'file')") {
		t.Errorf("stream from JavaScript: %v", err)
	}
}

// A compressed buffer whose length prefix or frame is wrong is reported as
// a broken compressed file, whichever check catches it.
func TestFormatBrokenCompressedBuffers(t *testing.T) {
	p := makePatterns(16, 64, NCHW, false, 1, 8, 8)
	for _, c := range []Compression{LZ4, Zstd} {
		data := patternBytes(t, p, PatternWriteOptions{Compression: c})
		_, body, bufs := firstBatch(t, data)
		big := 0
		for k, b := range bufs {
			if b[1] > bufs[big][1] {
				big = k
			}
		}
		pos := body + bufs[big][0]
		for _, corrupt := range []struct {
			name string
			edit func(d []byte)
			want string
		}{
			// What apache-arrow 21.x writes: the compressed length.
			{"compressed length as prefix", func(d []byte) { binary.LittleEndian.PutUint64(d[pos:], uint64(bufs[big][1]-8)) }, "do not decode"},
			{"frame magic", func(d []byte) { d[pos+8] ^= 0xff }, "frame magic"},
			{"negative length", func(d []byte) { binary.LittleEndian.PutUint64(d[pos:], uint64(1<<64-5)) }, "uncompressed length -5"},
		} {
			d := append([]byte(nil), data...)
			corrupt.edit(d)
			_, err := DecodePatterns(bytes.NewReader(d), int64(len(d)))
			var ce *CompressedBufferError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), corrupt.want) || !strings.Contains(err.Error(), "write it uncompressed") {
				t.Errorf("%s, %s: %v", c, corrupt.name, err)
			}
		}
	}
}

// docs/FORMAT.md states each of the details the tests above pin.
func TestFormatDocSpecifiesDetails(t *testing.T) {
	b, err := os.ReadFile("../docs/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	for what, phrase := range map[string]string{
		"split dictionary index type":  "any integer index type (int8 … int64, uint8 … uint64",
		"nullability of columns":       "Every column's field may be declared nullable or not",
		"list child field":             "The list's child field may have any name",
		"input.name":                   "It is not a column name: the pattern file's column is always `input`",
		"classes against the output":   "exactly one per value of the network output",
		"labels against the output":    "A label beyond the model's outputs is refused",
		"unlabelled patterns":          "Unlabelled (-1) test patterns are left out of the accuracies",
		"reader limit":                 "this is the *reader's* bound",
		"kernel limit":                 "each of its kernel's arguments to be at most 65535",
		"broken compressed files":      "write it uncompressed",
		"stream format from pyarrow":   "pa.ipc.new_file(f, t.schema)",
		"stream format from JS":        "tableToIPC(table, 'file')",
		"the tested JavaScript writer": "data/js-fixture/",
	} {
		if !strings.Contains(doc, phrase) {
			t.Errorf("docs/FORMAT.md does not specify the %s (%q)", what, phrase)
		}
	}
}
