package nnq

// Reading Arrow model files: the graph JSON (strictly), the tensor
// columns and their shapes, with the allocations bounded. See
// docs/FORMAT.md.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func decodeModel(name string, r io.ReaderAt, size int64) (*Model, error) {
	prefix := "read model"
	if name != "" {
		prefix += " " + name
	}
	m, err := decodeModelArrow(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return m, nil
}

func decodeModelArrow(r io.ReaderAt, size int64) (m *Model, err error) {
	defer catchArrowPanic(&err)
	alloc := newLimitAllocator(size)
	fr, hdrs, err := openArrowFile(r, size, alloc, nil)
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	schema := fr.Schema()
	md := schema.Metadata()
	js, ok := md.GetValue(ModelMetadataKey)
	if !ok {
		if _, pat := md.GetValue(LayoutMetadataKey); pat {
			return nil, fmt.Errorf("no %s schema metadata: this looks like a pattern file, not a model file", ModelMetadataKey)
		}
		return nil, fmt.Errorf("no %s schema metadata: not an nnq model file", ModelMetadataKey)
	}
	m, err = parseModelJSON(js)
	if err != nil {
		return nil, err
	}

	fields := schema.Fields()
	shapes := make([][]int, len(fields))
	index := make(map[string]int, len(fields))
	maxVals := 0
	for i, f := range fields {
		if f.Name == "" {
			return nil, fmt.Errorf("column %d has no name", i)
		}
		if _, dup := index[f.Name]; dup {
			return nil, fmt.Errorf("tensor %q: two columns have this name", f.Name)
		}
		index[f.Name] = i
		shape, n, err := tensorFieldShape(f)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", f.Name, err)
		}
		shapes[i] = shape
		maxVals = max(maxVals, n)
	}
	for i, l := range m.Layers {
		err := checkLayerParams(m, i, l, func(name string) bool { _, ok := index[name]; return ok })
		if err != nil {
			return nil, err
		}
	}
	m.Tensors = make(map[string]*Tensor, len(fields))
	if len(fields) == 0 {
		return m, nil
	}
	if n := fr.NumRecords(); n != 1 {
		return nil, fmt.Errorf("tensor columns must form one record batch of one row; the file has %d record batches", n)
	}
	// Reading the body takes at most the file's size; decompressing a
	// column at most its declared size.
	alloc.limit = int(max(size, 4*int64(maxVals))) + 1<<20
	rec, err := fr.RecordBatchAt(0)
	if err != nil && len(hdrs) > 0 && hdrs[0].compressed {
		return nil, &CompressedBufferError{Batch: "record batch 0", Codec: hdrs[0].codec, Detail: err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("record batch 0: %w", err)
	}
	defer rec.Release()
	if rec.NumRows() != 1 || int(rec.NumCols()) != len(fields) {
		return nil, fmt.Errorf("tensor columns must form one record batch of one row; the batch has %d rows", rec.NumRows())
	}
	for i, f := range fields {
		n := shapeSize(shapes[i])
		vals, err := fixedListValues(rec.Column(i), 1, n, 0, "row")
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", f.Name, err)
		}
		if j, ok := checkFinite(vals); !ok {
			return nil, fmt.Errorf("tensor %q: value %d %s is %v", f.Name, j, indexString(shapes[i], j), vals[j])
		}
		m.Tensors[f.Name] = &Tensor{Name: f.Name, Shape: shapes[i], Data: append([]float32(nil), vals...)}
	}
	return m, nil
}

// parseModelJSON decodes the graph JSON strictly: unknown keys are errors.
func parseModelJSON(js string) (*Model, error) {
	var ver struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal([]byte(js), &ver); err != nil {
		return nil, fmt.Errorf("%s metadata is not a valid JSON graph: %v", ModelMetadataKey, err)
	}
	if ver.Version == nil {
		return nil, fmt.Errorf("%s graph has no version", ModelMetadataKey)
	}
	if *ver.Version != ModelFormatVersion {
		return nil, fmt.Errorf("%s graph has version %d; this nnq reads version %d", ModelMetadataKey, *ver.Version, ModelFormatVersion)
	}
	var h modelHeaderIn
	if err := strictJSON([]byte(js), &h); err != nil {
		return nil, fmt.Errorf("%s graph: %v", ModelMetadataKey, err)
	}
	if !validLayout(h.Layout) {
		return nil, fmt.Errorf("%s graph: layout %q is not NCHW, NHWC or CMSIS", ModelMetadataKey, h.Layout)
	}
	if h.Source != "" && !validLayout(h.Source) {
		return nil, fmt.Errorf("%s graph: source layout %q is not NCHW, NHWC or CMSIS", ModelMetadataKey, h.Source)
	}
	if _, err := checkShape(h.Input.Shape); err != nil {
		return nil, fmt.Errorf("%s graph: input: %v", ModelMetadataKey, err)
	}
	m := &Model{
		Name:       h.Name,
		Layout:     h.Layout,
		InputName:  h.Input.Name,
		InputShape: h.Input.Shape,
		Classes:    h.Classes,
		Notes:      h.Notes,
		Source:     h.Source,
		Frontend:   h.Frontend,
		Layers:     make([]*Layer, len(h.Layers)),
	}
	if h.Frontend != nil {
		if err := h.Frontend.Check(); err != nil {
			return nil, fmt.Errorf("%s graph: %v", ModelMetadataKey, err)
		}
	}
	if m.InputName == "" {
		m.InputName = "input"
	}
	names := map[string]bool{m.InputName: true}
	for i, raw := range h.Layers {
		var named struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &named)
		what := fmt.Sprintf("layer %d", i)
		if named.Name != "" {
			what += fmt.Sprintf(" %q", named.Name)
		}
		var l *Layer
		if err := strictJSON(raw, &l); err != nil {
			return nil, fmt.Errorf("%s graph: %s: %v", ModelMetadataKey, what, err)
		}
		switch {
		case l == nil:
			return nil, fmt.Errorf("%s graph: %s is null", ModelMetadataKey, what)
		case l.Name == "":
			return nil, fmt.Errorf("%s graph: %s has no name", ModelMetadataKey, what)
		case names[l.Name]:
			return nil, fmt.Errorf("%s graph: %s: the name is already used", ModelMetadataKey, what)
		case l.Op == "":
			return nil, fmt.Errorf("%s graph: %s has no op", ModelMetadataKey, what)
		}
		names[l.Name] = true
		m.Layers[i] = l
	}
	return m, nil
}

// strictJSON decodes one JSON value into v, rejecting unknown keys and
// trailing data.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// tensorFieldShape checks that f is a fixed-shape tensor column of float32
// and returns its shape and element count.
func tensorFieldShape(f arrow.Field) ([]int, int, error) {
	dt := f.Type
	extName, _ := f.Metadata.GetValue(extensionNameKey)
	extMeta, _ := f.Metadata.GetValue(extensionMetadataKey)
	if et, ok := dt.(arrow.ExtensionType); ok {
		extName, extMeta, dt = et.ExtensionName(), et.Serialize(), et.StorageType()
	}
	fl, ok := dt.(*arrow.FixedSizeListType)
	if !ok {
		return nil, 0, fmt.Errorf("column type is %s; want fixed_size_list<float32>, the storage of %s", dt, FixedShapeTensorExtension)
	}
	if fl.Elem().ID() != arrow.FLOAT32 {
		return nil, 0, fmt.Errorf("column type is %s; want fixed_size_list of float32 values", dt)
	}
	if extName != FixedShapeTensorExtension {
		if extName == "" {
			return nil, 0, fmt.Errorf("column has no %s=%s field metadata, so its shape is unknown", extensionNameKey, FixedShapeTensorExtension)
		}
		return nil, 0, fmt.Errorf("column extension is %q; want %s", extName, FixedShapeTensorExtension)
	}
	var ext struct {
		Shape       []int    `json:"shape"`
		DimNames    []string `json:"dim_names"`
		Permutation []int    `json:"permutation"`
	}
	if err := json.Unmarshal([]byte(extMeta), &ext); err != nil {
		return nil, 0, fmt.Errorf("bad %s JSON: %v", extensionMetadataKey, err)
	}
	if ext.Shape == nil {
		return nil, 0, fmt.Errorf("%s has no shape", extensionMetadataKey)
	}
	for i, p := range ext.Permutation {
		if p != i {
			return nil, 0, fmt.Errorf("permutation %v is not supported: store the tensor in row-major order of its shape", ext.Permutation)
		}
	}
	if len(ext.Permutation) != 0 && len(ext.Permutation) != len(ext.Shape) {
		return nil, 0, fmt.Errorf("permutation %v does not match shape %v", ext.Permutation, ext.Shape)
	}
	n, err := checkShape(ext.Shape)
	if err != nil {
		return nil, 0, err
	}
	if int(fl.Len()) != n {
		return nil, 0, fmt.Errorf("shape %v holds %d values but the column's lists hold %d", ext.Shape, n, fl.Len())
	}
	return ext.Shape, n, nil
}

// fixedListValues returns the float32 values of a fixed-size list column
// that must hold rows lists of n values. Null rows or values are errors;
// what names a row in messages ("row", "pattern") and base is the global
// index of row 0. The slice aliases Arrow memory.
func fixedListValues(col arrow.Array, rows, n int, base int, what string) ([]float32, error) {
	if ext, ok := col.(array.ExtensionArray); ok {
		col = ext.Storage()
	}
	fl, ok := col.(*array.FixedSizeList)
	if !ok {
		return nil, fmt.Errorf("column type is %s; want fixed_size_list<float32>", col.DataType())
	}
	if fl.Len() != rows {
		return nil, fmt.Errorf("column has %d rows; the record batch has %d", fl.Len(), rows)
	}
	if fl.NullN() > 0 {
		for i := 0; i < rows; i++ {
			if fl.IsNull(i) {
				return nil, fmt.Errorf("%s %d is null", what, base+i)
			}
		}
	}
	fv, ok := fl.ListValues().(*array.Float32)
	if !ok {
		return nil, fmt.Errorf("column values are %s; want float32", fl.ListValues().DataType())
	}
	lo := fl.Data().Offset() * n
	hi := lo + rows*n
	vals := fv.Float32Values()
	if fv.Len() < hi || len(vals) < hi {
		return nil, fmt.Errorf("column holds %d values; %d %ss of %d need %d", fv.Len(), rows, what, n, hi)
	}
	if fv.NullN() > 0 {
		for i := lo; i < hi; i++ {
			if fv.IsNull(i) {
				return nil, fmt.Errorf("%s %d value %d is null", what, base+(i-lo)/n, (i-lo)%n)
			}
		}
	}
	return vals[lo:hi:hi], nil
}

// indexString formats flat index i of a tensor of the given shape as a
// multi-index, e.g. "[1,0,2]".
func indexString(shape []int, i int) string {
	idx := make([]string, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = fmt.Sprint(i % shape[d])
			i /= shape[d]
		}
	}
	return "[" + strings.Join(idx, ",") + "]"
}

// errStreamFormat says how to write the file format instead of a stream
// from the two writers users have (docs/FORMAT.md has both).
var errStreamFormat = errors.New("this is an Arrow IPC stream, not an Arrow IPC file: write the random-access file format " +
	"(pyarrow: pa.ipc.new_file(sink, schema) instead of new_stream, and for an existing stream t = pa.ipc.open_stream(src).read_all() " +
	"then write t with new_file; JavaScript apache-arrow: tableToIPC(table, 'file'), as its default is 'stream')")

// openArrowFile opens the Arrow IPC file in the size bytes of r, with
// errors that say what the bytes look like instead. When mapped holds the
// same bytes (a memory-mapped file), the reader's columns view them
// instead of being copied.
func openArrowFile(r io.ReaderAt, size int64, alloc memory.Allocator, mapped []byte) (*ipc.FileReader, []batchHeader, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case size == 0:
		return nil, nil, errors.New("file is empty")
	case bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return nil, nil, errStreamFormat
	case bytes.HasPrefix(head, []byte("PAR1")):
		return nil, nil, errors.New("this is a Parquet file, not an Arrow IPC file")
	case !bytes.HasPrefix(head, []byte("ARROW1")):
		return nil, nil, errors.New("not an Arrow IPC file (no ARROW1 magic)")
	}
	tail := make([]byte, 6)
	if size < 8+6+4 {
		return nil, nil, fmt.Errorf("truncated Arrow IPC file (%d bytes)", size)
	}
	if _, err := r.ReadAt(tail, size-6); err != nil || string(tail) != "ARROW1" {
		return nil, nil, fmt.Errorf("truncated Arrow IPC file: no ARROW1 magic at the end of its %d bytes", size)
	}
	hdrs, err := scanArrowFile(r, size)
	if err != nil {
		return nil, nil, err
	}
	var fr *ipc.FileReader
	if mapped != nil {
		fr, err = ipc.NewMappedFileReader(mapped, ipc.WithAllocator(alloc), ipc.WithEnsureNativeEndian(true))
	} else {
		fr, err = ipc.NewFileReader(io.NewSectionReader(r, 0, size), ipc.WithAllocator(alloc), ipc.WithEnsureNativeEndian(true))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("corrupt Arrow IPC file: %w", err)
	}
	return fr, hdrs, nil
}

// catchArrowPanic turns a panic inside arrow-go (or in decoding code
// indexing corrupt buffers) into an error.
func catchArrowPanic(err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(allocLimitError); ok {
			*err = e
			return
		}
		*err = fmt.Errorf("corrupt Arrow data: %v", r)
	}
}

// limitAllocator refuses single allocations above limit (by panicking with
// allocLimitError, recovered by catchArrowPanic), so a corrupt compressed
// buffer cannot claim an absurd decompressed size.
type limitAllocator struct {
	mem   memory.Allocator
	limit int
}

// newLimitAllocator allows what opening a file of the given size needs:
// reading any part of it, and decompressing (dictionaries) up to 64 MiB.
func newLimitAllocator(size int64) *limitAllocator {
	return &limitAllocator{mem: memory.NewGoAllocator(), limit: int(max(size, 64<<20)) + 1<<20}
}

type allocLimitError struct{ size, limit int }

func (e allocLimitError) Error() string {
	return fmt.Sprintf("corrupt Arrow data: a %d-byte buffer exceeds the %d bytes the file can hold", e.size, e.limit)
}

func (a *limitAllocator) Allocate(n int) []byte {
	if n < 0 || n > a.limit {
		panic(allocLimitError{n, a.limit})
	}
	return a.mem.Allocate(n)
}

func (a *limitAllocator) Reallocate(n int, b []byte) []byte {
	if n < 0 || n > a.limit {
		panic(allocLimitError{n, a.limit})
	}
	return a.mem.Reallocate(n, b)
}

func (a *limitAllocator) Free(b []byte) { a.mem.Free(b) }
