package nnq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func patternBytes(t testing.TB, p *Patterns, opts PatternWriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := EncodePatterns(&buf, p, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makePatterns makes n patterns of the given shape; with splits, each gets
// train, val or test.
func makePatterns(seed int64, n int, layout Layout, splits bool, shape ...int) *Patterns {
	r := rand.New(rand.NewSource(seed))
	p := &Patterns{Shape: shape, Layout: layout}
	x := make([]float32, shapeSize(shape))
	names := []string{"train", "val", "test"}
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = float32(r.Intn(5)) * 0.25 // compressible
		}
		s := ""
		if splits {
			s = names[r.Intn(3)]
		}
		p.Append(x, r.Intn(10)-1, s)
	}
	return p
}

func samePatterns(t *testing.T, got, want *Patterns) {
	t.Helper()
	if !reflect.DeepEqual(got.Shape, want.Shape) || got.Layout != want.Layout || got.Len() != want.Len() {
		t.Fatalf("got %v %s %d patterns, want %v %s %d", got.Shape, got.Layout, got.Len(), want.Shape, want.Layout, want.Len())
	}
	if !reflect.DeepEqual(got.Inputs, want.Inputs) && (len(got.Inputs) != 0 || len(want.Inputs) != 0) {
		t.Fatal("inputs differ")
	}
	if !reflect.DeepEqual(got.Labels, want.Labels) && (len(got.Labels) != 0 || len(want.Labels) != 0) {
		t.Fatal("labels differ")
	}
	if !reflect.DeepEqual(got.Splits, want.Splits) && (len(got.Splits) != 0 || len(want.Splits) != 0) {
		t.Fatalf("splits differ: %d vs %d", len(got.Splits), len(want.Splits))
	}
}

func TestArrowPatternsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		p       *Patterns
		opts    PatternWriteOptions
		batches int
	}{
		{"no splits", makePatterns(1, 50, NCHW, false, 1, 4, 4), PatternWriteOptions{}, 1},
		{"splits", makePatterns(2, 50, NHWC, true, 4, 4, 1), PatternWriteOptions{}, 1},
		{"vector", makePatterns(3, 20, CMSIS, true, 10), PatternWriteOptions{}, 1},
		{"batches", makePatterns(4, 100, NCHW, true, 2, 3, 3), PatternWriteOptions{BatchRows: 7}, 15},
		{"default batches", makePatterns(5, 2*DefaultPatternBatchRows+5, NHWC, true, 3), PatternWriteOptions{}, 3},
		{"zstd", makePatterns(6, 300, NCHW, true, 1, 8, 8), PatternWriteOptions{Compression: Zstd, BatchRows: 128}, 3},
		{"lz4", makePatterns(7, 300, NHWC, false, 8, 8, 1), PatternWriteOptions{Compression: LZ4, BatchRows: 100}, 3},
		{"empty", &Patterns{Shape: []int{3, 2}, Layout: CMSIS}, PatternWriteOptions{}, 0},
		// All zeros compress about 9000:1 under zstd.
		{"zeros zstd", &Patterns{Shape: []int{16, 16, 1}, Layout: NHWC, Inputs: make([]float32, 4096*256), Labels: make([]int32, 4096)},
			PatternWriteOptions{Compression: Zstd}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".arrow")
			if err := WritePatternsWith(path, tc.p, tc.opts); err != nil {
				t.Fatal(err)
			}
			got, err := ReadPatterns(path)
			if err != nil {
				t.Fatal(err)
			}
			samePatterns(t, got, tc.p)
			if err := got.Check(); err != nil {
				t.Fatal(err)
			}
			// One allocation sized from the file's row count.
			if cap(got.Inputs) != len(got.Inputs) || cap(got.Labels) != len(got.Labels) {
				t.Errorf("ReadPatterns grew its slices: cap %d len %d", cap(got.Inputs), len(got.Inputs))
			}
			pf, err := OpenPatterns(path)
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			if pf.Len() != tc.p.Len() || pf.NumBatches() != tc.batches || !reflect.DeepEqual(pf.Shape, tc.p.Shape) ||
				pf.Layout != tc.p.Layout || pf.HasSplits != (len(tc.p.Splits) > 0) || pf.Path != path {
				t.Errorf("OpenPatterns: len %d batches %d shape %v layout %s splits %v", pf.Len(), pf.NumBatches(), pf.Shape, pf.Layout, pf.HasSplits)
			}
			data, _ := os.ReadFile(path)
			got2, err := DecodePatterns(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			samePatterns(t, got2, tc.p)
		})
	}
}

func TestArrowPatternsCompressedSmaller(t *testing.T) {
	p := makePatterns(8, 2000, NCHW, true, 1, 16, 16)
	plain := len(patternBytes(t, p, PatternWriteOptions{}))
	for _, c := range []Compression{Zstd, LZ4} {
		n := len(patternBytes(t, p, PatternWriteOptions{Compression: c}))
		if n*2 > plain {
			t.Errorf("%s: %d bytes, uncompressed %d", c, n, plain)
		}
	}
	if err := WritePatternsCompressed(filepath.Join(t.TempDir(), "x.arrow"), p, "gzip"); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("unknown codec: %v", err)
	}
}

func TestArrowScanPatterns(t *testing.T) {
	p := makePatterns(9, 10000, NHWC, true, 2, 2, 1)
	path := filepath.Join(t.TempDir(), "scan.arrow")
	if err := WritePatternsCompressed(path, p, Zstd); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	all := &Patterns{Shape: p.Shape, Layout: p.Layout}
	err := ScanPatterns(path, func(b *Patterns) error {
		if err := b.Check(); err != nil {
			return err
		}
		sizes = append(sizes, b.Len())
		for i := 0; i < b.Len(); i++ {
			all.Append(b.Input(i), b.Label(i), b.Splits[i])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{4096, 4096, 1808}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
	samePatterns(t, all, p)

	stop := errors.New("stop")
	calls := 0
	err = ScanPatterns(path, func(*Patterns) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("scan stop: %v after %d calls", err, calls)
	}

	pf, err := OpenPatterns(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	b, err := pf.Batch(2)
	if err != nil {
		t.Fatal(err)
	}
	samePatterns(t, b, &Patterns{Shape: p.Shape, Layout: p.Layout, Inputs: p.Inputs[8192*4:], Labels: p.Labels[8192:], Splits: p.Splits[8192:]})
	if _, err := pf.Batch(3); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("batch out of range: %v", err)
	}
}

// TestArrowReadPatternsMemory checks that reading a 100k-pattern file
// allocates the patterns once plus one record batch at a time: no growing
// slices, no second copy of the file.
func TestArrowReadPatternsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	p := makePatterns(11, 100000, NCHW, true, 1, 4, 4)
	path := filepath.Join(t.TempDir(), "big.arrow")
	if err := WritePatterns(path, p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The result (string headers included) plus the file's bytes, each
	// batch read once and dropped.
	result := uint64(len(p.Inputs)*4 + len(p.Labels)*4 + len(p.Splits)*16)
	limit := (result+uint64(st.Size()))*11/10 + 1<<20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := ReadPatterns(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit {
		t.Errorf("reading a %d-byte file into %d bytes of patterns allocated %d bytes", st.Size(), result, alloc)
	}
	samePatterns(t, got, p)
}

// TestArrowPatternsDictionarySplit reads a split column written as
// dictionary<int8, utf8>, as pandas categoricals come out of pyarrow.
func TestArrowPatternsDictionarySplit(t *testing.T) {
	p := makePatterns(10, 6, NCHW, true, 1, 2, 2)
	in := tensorField("input", p.Shape, 4)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	db := array.NewDictionaryBuilder(memory.DefaultAllocator, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range p.Splits {
		if err := db.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	data := arrowFile(t, map[string]string{LayoutMetadataKey: "NCHW"},
		[]arrow.Field{in, {Name: "label", Type: arrow.PrimitiveTypes.Int32}, {Name: "split", Type: dt}, {Name: "extra", Type: arrow.PrimitiveTypes.Int64}},
		[]arrow.Array{float32ListArray(in.Type.(*arrow.FixedSizeListType), p.Inputs, 6), int32Array(p.Labels), db.NewArray(), func() arrow.Array {
			b := array.NewInt64Builder(memory.DefaultAllocator)
			b.AppendValues([]int64{1, 2, 3, 4, 5, 6}, nil)
			return b.NewArray()
		}()})
	got, err := DecodePatterns(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	samePatterns(t, got, p)
}

// patFile writes a pattern file from explicit fields and columns.
func patFile(t testing.TB, md map[string]string, fields []arrow.Field, cols ...arrow.Array) []byte {
	return arrowFile(t, md, fields, cols)
}

func int32s(v ...int32) arrow.Array {
	b := array.NewInt32Builder(memory.DefaultAllocator)
	b.AppendValues(v, nil)
	return b.NewArray()
}

func TestArrowPatternsBadInput(t *testing.T) {
	f32 := arrow.PrimitiveTypes.Float32
	lay := map[string]string{LayoutMetadataKey: "NCHW"}
	in := arrow.Field{Name: "input", Type: arrow.FixedSizeListOf(4, f32), Metadata: extMeta("[1,2,2]")}
	lab := arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Int32}
	goodIn := func() arrow.Array { return listOf(f32, 4, seq(12), nil, nil) }
	good := patternBytes(t, makePatterns(1, 100, NCHW, true, 1, 2, 2), PatternWriteOptions{})
	nan := makePatterns(1, 10, NCHW, false, 1, 2, 2)
	nan.Inputs[7*4+3] = float32(math.Inf(1))
	nanData := func() []byte {
		var buf bytes.Buffer
		if err := encodePatterns(&buf, nan, 4, 3, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	strs := func(v ...string) arrow.Array {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for _, s := range v {
			if s == "<null>" {
				b.AppendNull()
			} else {
				b.Append(s)
			}
		}
		return b.NewArray()
	}
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"not arrow", []byte("label,input\n1,2\n"), []string{"not an Arrow IPC file"}},
		{"truncated", good[:len(good)*2/3], []string{"truncated"}},
		{"model file", encodeBytes(t, tinyModel()), []string{"model file, not a pattern file"}},
		{"no layout", patFile(t, nil, []arrow.Field{in, lab}, goodIn(), int32s(1, 2, 3)), []string{"no nnq.layout schema metadata"}},
		{"bad layout", patFile(t, map[string]string{LayoutMetadataKey: "CHW"}, []arrow.Field{in, lab}, goodIn(), int32s(1, 2, 3)), []string{`nnq.layout "CHW"`}},
		{"no input", patFile(t, lay, []arrow.Field{lab}, int32s(1, 2, 3)), []string{`no "input" column`}},
		{"no label", patFile(t, lay, []arrow.Field{in}, goodIn()), []string{`no "label" column`}},
		{"two inputs", patFile(t, lay, []arrow.Field{in, in, lab}, goodIn(), goodIn(), int32s(1, 2, 3)), []string{`2 columns are named "input"`}},
		{"label int64", patFile(t, lay, []arrow.Field{in, {Name: "label", Type: arrow.PrimitiveTypes.Int64}}, goodIn(), func() arrow.Array {
			b := array.NewInt64Builder(memory.DefaultAllocator)
			b.AppendValues([]int64{1, 2, 3}, nil)
			return b.NewArray()
		}()), []string{"column label", "type int64", "want int32"}},
		{"input float64", patFile(t, lay, []arrow.Field{{Name: "input", Type: arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float64), Metadata: extMeta("[1,2,2]")}, lab},
			listOf(arrow.PrimitiveTypes.Float64, 4, seq(12), nil, nil), int32s(1, 2, 3)), []string{"column input", "float32"}},
		{"row size vs shape", patFile(t, lay, []arrow.Field{{Name: "input", Type: arrow.FixedSizeListOf(3, f32), Metadata: extMeta("[1,2,2]")}, lab},
			listOf(f32, 3, seq(9), nil, nil), int32s(1, 2, 3)), []string{"column input", "shape [1 2 2] holds 4 values", "lists hold 3"}},
		{"no shape metadata", patFile(t, lay, []arrow.Field{{Name: "input", Type: arrow.FixedSizeListOf(4, f32)}, lab}, goodIn(), int32s(1, 2, 3)),
			[]string{"column input", "shape is unknown"}},
		{"null pattern", patFile(t, lay, []arrow.Field{in, lab}, listOf(f32, 4, seq(12), []int{1}, nil), int32s(1, 2, 3)), []string{"column input", "pattern 1 is null"}},
		{"null value", patFile(t, lay, []arrow.Field{in, lab}, listOf(f32, 4, seq(12), nil, []int{10}), int32s(1, 2, 3)), []string{"column input", "pattern 2 value 2 is null"}},
		{"Inf value", nanData, []string{"record batch 2", "column input", "pattern 7 value 3 [0,1,1] is +Inf"}},
		{"null label", patFile(t, lay, []arrow.Field{in, lab}, goodIn(), func() arrow.Array {
			b := array.NewInt32Builder(memory.DefaultAllocator)
			b.AppendValues([]int32{1, 0, 2}, []bool{true, false, true})
			return b.NewArray()
		}()), []string{"column label", "pattern 1 label is null"}},
		{"negative label", patFile(t, lay, []arrow.Field{in, lab}, goodIn(), int32s(1, -2, 3)), []string{"column label", "pattern 1 label is -2"}},
		{"bad split", patFile(t, lay, []arrow.Field{in, lab, {Name: "split", Type: arrow.BinaryTypes.String}}, goodIn(), int32s(1, 2, 3), strs("train", "test", "validation")),
			[]string{"column split", `pattern 2 split is "validation"`}},
		{"null split", patFile(t, lay, []arrow.Field{in, lab, {Name: "split", Type: arrow.BinaryTypes.String}}, goodIn(), int32s(1, 2, 3), strs("train", "<null>", "val")),
			[]string{"column split", "pattern 1 split is null"}},
		{"split int", patFile(t, lay, []arrow.Field{in, lab, {Name: "split", Type: arrow.PrimitiveTypes.Int32}}, goodIn(), int32s(1, 2, 3), int32s(0, 1, 2)),
			[]string{"column split", "type int32", "want utf8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad-"+strings.ReplaceAll(tc.name, " ", "_")+".arrow")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for fn, read := range map[string]func() error{
				"ReadPatterns": func() error { _, err := ReadPatterns(path); return err },
				"ScanPatterns": func() error { return ScanPatterns(path, func(*Patterns) error { return nil }) },
			} {
				err := read()
				if err == nil {
					t.Fatalf("%s succeeded", fn)
				}
				for _, w := range append([]string{path}, tc.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", fn, err, w)
					}
				}
			}
		})
	}
}

func TestArrowWritePatternsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *Patterns)
		want string
	}{
		{"bad layout", func(p *Patterns) { p.Layout = "" }, `layout ""`},
		{"ragged", func(p *Patterns) { p.Inputs = p.Inputs[:len(p.Inputs)-1] }, "whole number"},
		{"labels", func(p *Patterns) { p.Labels = p.Labels[:3] }, "3 labels"},
		{"NaN", func(p *Patterns) { p.Inputs[5] = float32(math.NaN()) }, "pattern 1"},
		{"bad split", func(p *Patterns) { p.Splits[4] = "dev" }, `pattern 4 has split "dev"`},
		{"bad label", func(p *Patterns) { p.Labels[2] = -7 }, "pattern 2 has label -7"},
		{"zero shape", func(p *Patterns) { p.Shape = []int{0, 4} }, "dimension < 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := makePatterns(1, 8, NCHW, true, 1, 2, 2)
			tc.edit(p)
			path := filepath.Join(t.TempDir(), "p.arrow")
			err := WritePatterns(path, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// firstBatch locates record batch 0 of an Arrow IPC file: the position of
// its RecordBatch.length field, its body and its buffers (offset, length
// pairs relative to the body).
func firstBatch(t *testing.T, data []byte) (lengthPos, body int, bufs [][2]int) {
	t.Helper()
	size := len(data)
	flen := int(binary.LittleEndian.Uint32(data[size-10:]))
	fstart := size - 10 - flen
	footer := data[fstart : size-10]
	root, _ := fbRoot(footer)
	vec, n, err := fbVector(root, 3, 24)
	if err != nil || n == 0 {
		t.Fatal("no record batches")
	}
	off := int(binary.LittleEndian.Uint64(footer[vec:]))
	meta := int(binary.LittleEndian.Uint32(footer[vec+8:]))
	msgStart := off + 8 // continuation marker and length
	msg, _ := fbRoot(data[msgStart : off+meta])
	rbPos, _ := msg.ref(2)
	rb, _ := fbTableAt(msg.buf, rbPos)
	lp, ok := rb.field(0)
	if !ok {
		t.Fatal("no length field")
	}
	bv, nb, err := fbVector(rb, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < nb; k++ {
		p := bv + 16*k
		bufs = append(bufs, [2]int{int(binary.LittleEndian.Uint64(msg.buf[p:])), int(binary.LittleEndian.Uint64(msg.buf[p+8:]))})
	}
	return msgStart + lp, off + meta, bufs
}

// TestArrowPatternsCorruptSizes checks that sizes a corrupt file claims
// are bounded before anything is allocated for them.
func TestArrowPatternsCorruptSizes(t *testing.T) {
	p := makePatterns(3, 64, NCHW, false, 1, 8, 8)
	for _, c := range []Compression{Uncompressed, Zstd} {
		data := patternBytes(t, p, PatternWriteOptions{Compression: c})
		lp, body, bufs := firstBatch(t, data)

		rows := append([]byte(nil), data...)
		binary.LittleEndian.PutUint64(rows[lp:], 1<<40)
		_, err := DecodePatterns(bytes.NewReader(rows), int64(len(rows)))
		if err == nil || !strings.Contains(err.Error(), "record batch 0 claims 1099511627776 patterns") {
			t.Errorf("%q: row count: %v", c, err)
		}

		if c == Zstd {
			// Claim a 1 TiB decompressed size for the largest buffer.
			big := 0
			for k, b := range bufs {
				if b[1] > bufs[big][1] {
					big = k
				}
			}
			huge := append([]byte(nil), data...)
			binary.LittleEndian.PutUint64(huge[body+bufs[big][0]:], 1<<40)
			_, err := DecodePatterns(bytes.NewReader(huge), int64(len(huge)))
			if err == nil || !strings.Contains(err.Error(), "1099511627776-byte buffer exceeds") {
				t.Errorf("decompressed size: %v", err)
			}
		}
	}
}

// TestArrowLargeBodies reads files whose record batch bodies are much
// larger than any one tensor or than the patterns themselves: a model with
// several large tensors, pattern files with a large ignored column.
func TestArrowLargeBodies(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	m := &Model{Name: "wide", Layout: NCHW, InputShape: []int{700}, Tensors: map[string]*Tensor{}}
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("fc%d", i)
		m.Tensors[name+".w"] = randTensor(r, name+".w", 700, 700)
		m.Layers = append(m.Layers, &Layer{Name: name, Op: OpDense, Params: map[string]string{"weight": name + ".w"}})
	}
	data := encodeBytes(t, m)
	got, err := DecodeModel(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, got, m)

	p := makePatterns(2, 300, NHWC, false, 2)
	in := tensorField("input", p.Shape, 2)
	extra := tensorField("thumbnail", []int{64, 64}, 4096)
	big := make([]float32, 300*4096)
	for i := range big {
		big[i] = float32(r.NormFloat64())
	}
	fields := []arrow.Field{in, {Name: "label", Type: arrow.PrimitiveTypes.Int32}, extra}
	cols := []arrow.Array{float32ListArray(in.Type.(*arrow.FixedSizeListType), p.Inputs, 300), int32Array(p.Labels),
		float32ListArray(extra.Type.(*arrow.FixedSizeListType), big, 300)}
	for _, opts := range [][]ipc.Option{nil, {ipc.WithZstd()}} {
		md := arrow.NewMetadata([]string{LayoutMetadataKey}, []string{"NHWC"})
		schema := arrow.NewSchema(fields, &md)
		var buf bytes.Buffer
		fw, err := ipc.NewFileWriter(&buf, append(opts, ipc.WithSchema(schema))...)
		if err != nil {
			t.Fatal(err)
		}
		rec := array.NewRecordBatch(schema, cols, 300)
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		fw.Close()
		got, err := DecodePatterns(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		samePatterns(t, got, p)
	}
}
