package nnq

// Arrow IPC model files. See docs/FORMAT.md for the format.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Metadata keys and values of the Arrow model and pattern files.
const (
	// ModelMetadataKey is the schema metadata key holding a model file's
	// JSON graph.
	ModelMetadataKey = "nnq.model"
	// LayoutMetadataKey is the schema metadata key holding a pattern
	// file's layout (NCHW, NHWC or CMSIS).
	LayoutMetadataKey = "nnq.layout"
	// ModelFormatVersion is the graph JSON version this package reads and
	// writes.
	ModelFormatVersion = 1
	// FixedShapeTensorExtension is the canonical Arrow extension name that
	// tensor columns carry in their ARROW:extension:name field metadata.
	FixedShapeTensorExtension = "arrow.fixed_shape_tensor"

	extensionNameKey     = "ARROW:extension:name"
	extensionMetadataKey = "ARROW:extension:metadata"
)

// MaxTensorValues bounds the element count of one tensor column (a model
// parameter or one pattern): 2^28 float32 values, 1 GiB.
const MaxTensorValues = 1 << 28

// WriteModel writes m to path as an Arrow IPC model file. The file is
// written to a temporary name and renamed, so a failed write leaves no
// partial file. WriteModel checks that the tensors are consistent (shape
// against data, finite values, every layer parameter present) but does not
// run m.Check.
func WriteModel(path string, m *Model) error {
	err := writeFileAtomic(path, func(w io.Writer) error { return EncodeModel(w, m) })
	if err != nil {
		return fmt.Errorf("write model %s: %w", path, err)
	}
	return nil
}

// EncodeModel writes m to w as an Arrow IPC model file.
func EncodeModel(w io.Writer, m *Model) error {
	if err := validateModelForWrite(m); err != nil {
		return err
	}
	return encodeModel(w, m)
}

// ReadModel reads an Arrow IPC model file. It decodes only (no folding or
// layout conversion), validates the file and the tensors, and runs
// m.Check. Errors name the file and the offending layer, tensor or value.
func ReadModel(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return decodeModel(path, f, st.Size())
}

// DecodeModel is ReadModel on the size bytes of r.
func DecodeModel(r io.ReaderAt, size int64) (*Model, error) {
	return decodeModel("", r, size)
}

// modelHeader is the JSON graph stored under ModelMetadataKey.
type modelHeader struct {
	Version int        `json:"version"`
	Name    string     `json:"name,omitempty"`
	Layout  Layout     `json:"layout"`
	Input   modelInput `json:"input"`
	Classes []string   `json:"classes,omitempty"`
	Layers  []*Layer   `json:"layers"`
	Notes   []string   `json:"notes,omitempty"`
	Source  Layout     `json:"source,omitempty"`
}

// modelHeaderIn is modelHeader as read: layers are decoded one by one so
// errors can name the layer.
type modelHeaderIn struct {
	Version int               `json:"version"`
	Name    string            `json:"name"`
	Layout  Layout            `json:"layout"`
	Input   modelInput        `json:"input"`
	Classes []string          `json:"classes"`
	Layers  []json.RawMessage `json:"layers"`
	Notes   []string          `json:"notes"`
	Source  Layout            `json:"source"`
}

type modelInput struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

func validLayout(l Layout) bool { return l == NCHW || l == NHWC || l == CMSIS }

// checkShape checks that every dimension is at least 1 and that the element
// count is at most MaxTensorValues, and returns the count.
func checkShape(shape []int) (int, error) {
	if len(shape) == 0 {
		return 0, errors.New("shape is empty")
	}
	n := 1
	for _, d := range shape {
		if d < 1 {
			return 0, fmt.Errorf("shape %v has a dimension < 1", shape)
		}
		if d > MaxTensorValues || n*d > MaxTensorValues {
			return 0, fmt.Errorf("shape %v holds more than %d values", shape, MaxTensorValues)
		}
		n *= d
	}
	return n, nil
}

func validateModelForWrite(m *Model) error {
	if m == nil {
		return errors.New("nil model")
	}
	if !validLayout(m.Layout) {
		return fmt.Errorf("layout %q is not NCHW, NHWC or CMSIS", m.Layout)
	}
	if m.Source != "" && !validLayout(m.Source) {
		return fmt.Errorf("source layout %q is not NCHW, NHWC or CMSIS", m.Source)
	}
	if _, err := checkShape(m.InputShape); err != nil {
		return fmt.Errorf("input: %w", err)
	}
	for _, name := range m.TensorNames() {
		t := m.Tensors[name]
		if name == "" {
			return errors.New("a tensor has an empty name")
		}
		if t == nil {
			return fmt.Errorf("tensor %q is nil", name)
		}
		if t.Name != "" && t.Name != name {
			return fmt.Errorf("tensor %q is stored under the name %q", t.Name, name)
		}
		n, err := checkShape(t.Shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(t.Data) != n {
			return fmt.Errorf("tensor %q: %d values for shape %v (%d values)", name, len(t.Data), t.Shape, n)
		}
		if i, ok := checkFinite(t.Data); !ok {
			return fmt.Errorf("tensor %q: value %d %s is %v", name, i, indexString(t.Shape, i), t.Data[i])
		}
	}
	for i, l := range m.Layers {
		if l == nil {
			return fmt.Errorf("layer %d is nil", i)
		}
		if err := checkLayerParams(m, i, l, func(name string) bool { return m.Tensors[name] != nil }); err != nil {
			return err
		}
	}
	return nil
}

// checkLayerParams reports a parameter of layer i that names a missing
// tensor.
func checkLayerParams(m *Model, i int, l *Layer, have func(string) bool) error {
	roles := make([]string, 0, len(l.Params))
	for r := range l.Params {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if !have(l.Params[r]) {
			return fmt.Errorf("layer %d %q: param %q names tensor %q, which is not a column of the file", i, l.Name, r, l.Params[r])
		}
	}
	return nil
}

// encodeModel writes m without validating it (tests use it to make bad
// files).
func encodeModel(w io.Writer, m *Model) error {
	h := modelHeader{
		Version: ModelFormatVersion,
		Name:    m.Name,
		Layout:  m.Layout,
		Input:   modelInput{Name: m.inputName(), Shape: m.InputShape},
		Classes: m.Classes,
		Layers:  m.Layers,
		Notes:   m.Notes,
		Source:  m.Source,
	}
	if h.Layers == nil {
		h.Layers = []*Layer{}
	}
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	names := m.TensorNames()
	fields := make([]arrow.Field, len(names))
	cols := make([]arrow.Array, len(names))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, name := range names {
		t := m.Tensors[name]
		fields[i] = tensorField(name, t.Shape, len(t.Data))
		cols[i] = float32ListArray(fields[i].Type.(*arrow.FixedSizeListType), t.Data, 1)
	}
	md := arrow.NewMetadata([]string{ModelMetadataKey}, []string{string(js)})
	schema := arrow.NewSchema(fields, &md)
	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema))
	if err != nil {
		return err
	}
	if len(fields) > 0 {
		rec := array.NewRecordBatch(schema, cols, 1)
		err = fw.Write(rec)
		rec.Release()
		if err != nil {
			fw.Close()
			return err
		}
	}
	return fw.Close()
}

// tensorField is the schema field of a tensor column: a fixed-size list of
// n float32 tagged as a canonical fixed-shape tensor.
func tensorField(name string, shape []int, n int) arrow.Field {
	ext, _ := json.Marshal(struct {
		Shape []int `json:"shape"`
	}{shape})
	md := arrow.NewMetadata([]string{extensionNameKey, extensionMetadataKey}, []string{FixedShapeTensorExtension, string(ext)})
	return arrow.Field{Name: name, Type: arrow.FixedSizeListOf(int32(n), arrow.PrimitiveTypes.Float32), Nullable: false, Metadata: md}
}

// float32ListArray wraps data (rows lists of dt.Len() values) as a
// fixed-size list array without copying.
func float32ListArray(dt *arrow.FixedSizeListType, data []float32, rows int) arrow.Array {
	vals := array.NewData(arrow.PrimitiveTypes.Float32, len(data),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(data))}, nil, 0, 0)
	defer vals.Release()
	ld := array.NewData(dt, rows, []*memory.Buffer{nil}, []arrow.ArrayData{vals}, 0, 0)
	defer ld.Release()
	return array.MakeFromData(ld)
}

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
	fr, _, err := openArrowFile(r, size, alloc)
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
		Layers:     make([]*Layer, len(h.Layers)),
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

// openArrowFile opens the Arrow IPC file in the size bytes of r, with
// errors that say what the bytes look like instead.
func openArrowFile(r io.ReaderAt, size int64, alloc memory.Allocator) (*ipc.FileReader, []batchHeader, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case size == 0:
		return nil, nil, errors.New("file is empty")
	case bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return nil, nil, errors.New("this is an Arrow IPC stream, not an Arrow IPC file (write it with pyarrow.ipc.new_file)")
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
	fr, err := ipc.NewFileReader(io.NewSectionReader(r, 0, size), ipc.WithAllocator(alloc), ipc.WithEnsureNativeEndian(true))
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

// writeFileAtomic writes path through write into a temporary file in the
// same directory, then renames it into place.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// batchHeader is what the footer and message header of one record batch
// say, read without loading the batch.
type batchHeader struct {
	rows       int64
	body       int64
	compressed bool
}

// Limits on the flatbuffers metadata of a file, checked before arrow-go
// reads it: arrow-go sizes slices from vector lengths and recurses into
// nested fields without bounds, so a corrupt length or a self-referencing
// field tree would exhaust memory or time (a fatal error, not a panic).
const (
	maxSchemaItems = 1 << 20 // fields (nested ones included) and metadata entries
	maxSchemaDepth = 64
	maxMetadataLen = 64 << 20
)

// scanArrowFile verifies the metadata flatbuffers of an Arrow IPC file (the
// footer's schema and every message header that arrow-go will read) and
// returns the record batch headers: row count, body size and whether the
// body is compressed. arrow-go exposes none of this, so this walks the
// flatbuffers itself (Footer -> Schema, Footer.recordBatches -> Block ->
// Message -> RecordBatch), bounds-checking every read.
func scanArrowFile(r io.ReaderAt, size int64) ([]batchHeader, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("corrupt Arrow IPC file: "+format, args...)
	}
	if size < 18 {
		return nil, bad("too small")
	}
	var tail [10]byte
	if _, err := r.ReadAt(tail[:], size-10); err != nil {
		return nil, err
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if flen <= 0 || flen > size-18 || flen > maxMetadataLen {
		return nil, bad("footer length %d", flen)
	}
	footer := make([]byte, flen)
	if _, err := r.ReadAt(footer, size-10-flen); err != nil {
		return nil, err
	}
	root, ok := fbRoot(footer)
	if !ok {
		return nil, bad("footer root")
	}
	schemaPos, ok := root.ref(1) // Footer.schema
	if !ok {
		return nil, bad("footer has no schema")
	}
	schema, ok := fbTableAt(footer, schemaPos)
	if !ok {
		return nil, bad("schema table")
	}
	count := 0
	if err := verifyFields(schema, 1, 0, &count); err != nil { // Schema.fields
		return nil, bad("schema: %v", err)
	}
	if _, _, err := fbVector(schema, 2, 4); err != nil { // Schema.custom_metadata
		return nil, bad("schema metadata: %v", err)
	}
	var out []batchHeader
	for _, vf := range []int{2, 3} { // Footer.dictionaries, Footer.recordBatches
		vec, n, err := fbVector(root, vf, 24)
		if err != nil {
			return nil, bad("block list: %v", err)
		}
		for i := 0; i < n; i++ {
			p := vec + i*24 // struct Block { offset: long; metaDataLength: int; bodyLength: long }
			off := int64(binary.LittleEndian.Uint64(footer[p:]))
			meta := int64(int32(binary.LittleEndian.Uint32(footer[p+8:])))
			body := int64(binary.LittleEndian.Uint64(footer[p+16:]))
			if off < 0 || meta < 8 || meta > maxMetadataLen || body < 0 || off > size || meta > size-off || body > size-off-meta {
				return nil, bad("block %d out of bounds", i)
			}
			buf := make([]byte, meta)
			if _, err := r.ReadAt(buf, off); err != nil {
				return nil, err
			}
			// Encapsulated message: [0xFFFFFFFF] int32 length, flatbuffer.
			if binary.LittleEndian.Uint32(buf) == 0xFFFFFFFF {
				buf = buf[8:]
			} else {
				buf = buf[4:]
			}
			msg, ok := fbRoot(buf)
			if !ok {
				return nil, bad("message %d header", i)
			}
			if _, _, err := fbVector(msg, 4, 4); err != nil { // Message.custom_metadata
				return nil, bad("message %d metadata: %v", i, err)
			}
			if vf == 2 {
				continue
			}
			if typ, _ := msg.u8(1); typ != 3 { // Message.header_type == RecordBatch
				return nil, bad("message %d is not a record batch", i)
			}
			rbPos, ok := msg.ref(2)
			if !ok {
				return nil, bad("record batch %d has no header", i)
			}
			rb, ok := fbTableAt(buf, rbPos)
			if !ok {
				return nil, bad("record batch %d header", i)
			}
			rows, _ := rb.i64(0) // RecordBatch.length
			_, compressed := rb.field(3)
			out = append(out, batchHeader{rows: rows, body: body, compressed: compressed})
		}
	}
	return out, nil
}

// verifyFields checks the vector of Field tables in field vf of t and,
// recursively, their children and metadata vectors. count counts the
// fields and metadata entries that arrow-go will visit.
func verifyFields(t fbTable, vf, depth int, count *int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("fields nested more than %d deep", maxSchemaDepth)
	}
	vec, n, err := fbVector(t, vf, 4)
	if err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		p := vec + 4*k
		rel, _ := fbU32(t.buf, p)
		f, ok := fbTableAt(t.buf, p+rel)
		if !ok {
			return errors.New("field table out of bounds")
		}
		_, nmd, err := fbVector(f, 6, 4) // Field.custom_metadata
		if err != nil {
			return err
		}
		if *count += 1 + nmd; *count > maxSchemaItems {
			return fmt.Errorf("more than %d fields and metadata entries", maxSchemaItems)
		}
		if err := verifyFields(f, 5, depth+1, count); err != nil { // Field.children
			return err
		}
	}
	return nil
}

// fbVector returns the position of the first element and the length of the
// vector in field vf of t (0 if absent), checking that its elemSize-byte
// elements lie inside the buffer.
func fbVector(t fbTable, vf, elemSize int) (int, int, error) {
	vec, ok := t.ref(vf)
	if !ok {
		if _, present := t.field(vf); present {
			return 0, 0, errors.New("vector offset out of bounds")
		}
		return 0, 0, nil
	}
	n, ok := fbU32(t.buf, vec)
	if !ok || int64(vec)+4+int64(elemSize)*int64(n) > int64(len(t.buf)) {
		return 0, 0, errors.New("vector out of bounds")
	}
	return vec + 4, n, nil
}

// fbTable is a flatbuffers table inside buf.
type fbTable struct {
	buf    []byte
	pos    int
	vt     int
	vtSize int
}

func fbU32(b []byte, p int) (int, bool) {
	if p < 0 || p+4 > len(b) {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(b[p:])), true
}

func fbRoot(b []byte) (fbTable, bool) {
	p, ok := fbU32(b, 0)
	if !ok {
		return fbTable{}, false
	}
	return fbTableAt(b, p)
}

func fbTableAt(b []byte, pos int) (fbTable, bool) {
	if pos < 0 || pos+4 > len(b) {
		return fbTable{}, false
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || vt+4 > len(b) {
		return fbTable{}, false
	}
	vtSize := int(binary.LittleEndian.Uint16(b[vt:]))
	if vtSize < 4 || vt+vtSize > len(b) {
		return fbTable{}, false
	}
	return fbTable{buf: b, pos: pos, vt: vt, vtSize: vtSize}, true
}

// field returns the absolute position of field i, if present.
func (t fbTable) field(i int) (int, bool) {
	o := 4 + 2*i
	if o+2 > t.vtSize {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint16(t.buf[t.vt+o:]))
	if off == 0 {
		return 0, false
	}
	return t.pos + off, true
}

func (t fbTable) u8(i int) (uint8, bool) {
	p, ok := t.field(i)
	if !ok || p+1 > len(t.buf) {
		return 0, false
	}
	return t.buf[p], true
}

func (t fbTable) i64(i int) (int64, bool) {
	p, ok := t.field(i)
	if !ok || p+8 > len(t.buf) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(t.buf[p:])), true
}

// ref follows the offset in field i (a table, vector or string).
func (t fbTable) ref(i int) (int, bool) {
	p, ok := t.field(i)
	if !ok {
		return 0, false
	}
	rel, ok := fbU32(t.buf, p)
	if !ok || p+rel > len(t.buf) {
		return 0, false
	}
	return p + rel, true
}
