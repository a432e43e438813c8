package nnq

// Arrow IPC pattern files. See docs/FORMAT.md for the format.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Compression is an Arrow IPC body compression codec for pattern files.
type Compression string

// The codecs WritePatternsCompressed knows.
const (
	Uncompressed Compression = ""
	Zstd         Compression = "zstd"
	LZ4          Compression = "lz4" // LZ4 frame format
)

// DefaultPatternBatchRows is the number of patterns per record batch that
// WritePatterns writes.
const DefaultPatternBatchRows = 4096

// maxCompressionRatio bounds how far a compressed record batch may claim to
// expand, so a corrupt file cannot make a reader allocate without limit. It
// is zstd's format limit (a 128 KiB block takes at least 4 bytes); LZ4's is
// 255. All-zero float patterns compress about 9000:1.
const maxCompressionRatio = 1 << 15

// The split names a pattern file may hold.
var splitNames = map[string]string{"train": "train", "val": "val", "test": "test"}

// PatternWriteOptions tunes EncodePatterns.
type PatternWriteOptions struct {
	// Compression is the IPC body codec (default none).
	Compression Compression
	// BatchRows is the number of patterns per record batch (default
	// DefaultPatternBatchRows).
	BatchRows int
}

// WritePatterns writes p to path as an uncompressed Arrow IPC pattern file,
// in record batches of DefaultPatternBatchRows patterns.
func WritePatterns(path string, p *Patterns) error {
	return WritePatternsWith(path, p, PatternWriteOptions{})
}

// WritePatternsCompressed is WritePatterns with IPC body compression (Zstd
// or LZ4), which pyarrow and other Arrow readers decompress transparently.
func WritePatternsCompressed(path string, p *Patterns, c Compression) error {
	return WritePatternsWith(path, p, PatternWriteOptions{Compression: c})
}

// WritePatternsWith is WritePatterns with options. The file is written to a
// temporary name and renamed into place.
func WritePatternsWith(path string, p *Patterns, opts PatternWriteOptions) error {
	err := writeFileAtomic(path, func(w io.Writer) error { return EncodePatterns(w, p, opts) })
	if err != nil {
		return fmt.Errorf("write patterns %s: %w", path, err)
	}
	return nil
}

// EncodePatterns writes p to w as an Arrow IPC pattern file.
func EncodePatterns(w io.Writer, p *Patterns, opts PatternWriteOptions) error {
	if p == nil {
		return errors.New("nil patterns")
	}
	if !validLayout(p.Layout) {
		return fmt.Errorf("layout %q is not NCHW, NHWC or CMSIS", p.Layout)
	}
	size, err := checkShape(p.Shape)
	if err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return err
	}
	for i, s := range p.Splits {
		if _, ok := splitNames[s]; !ok {
			return fmt.Errorf("pattern %d has split %q; want train, val or test", i, s)
		}
	}
	for i, l := range p.Labels {
		if l < -1 {
			return fmt.Errorf("pattern %d has label %d; want a class index or -1", i, l)
		}
	}
	var ipcOpts []ipc.Option
	switch opts.Compression {
	case Uncompressed:
	case Zstd:
		ipcOpts = append(ipcOpts, ipc.WithZstd())
	case LZ4:
		ipcOpts = append(ipcOpts, ipc.WithLZ4())
	default:
		return fmt.Errorf("unknown compression %q (want zstd or lz4)", opts.Compression)
	}
	batch := opts.BatchRows
	if batch <= 0 {
		batch = DefaultPatternBatchRows
	}
	return encodePatterns(w, p, size, batch, ipcOpts)
}

func encodePatterns(w io.Writer, p *Patterns, size, batch int, ipcOpts []ipc.Option) error {
	e, err := newPatternEncoder(w, p.Shape, p.Layout, size, len(p.Splits) > 0, ipcOpts)
	if err != nil {
		return err
	}
	n := p.Len()
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		var splits []string
		if e.hasSplits {
			splits = p.Splits[lo:hi]
		}
		if err := e.write(p.Inputs[lo*size:hi*size], p.Labels[lo:hi], splits); err != nil {
			e.fw.Close()
			return err
		}
	}
	return e.fw.Close()
}

// patternEncoder writes a pattern file one record batch at a time.
type patternEncoder struct {
	fw        *ipc.FileWriter
	schema    *arrow.Schema
	inType    *arrow.FixedSizeListType
	hasSplits bool
}

func newPatternEncoder(w io.Writer, shape []int, layout Layout, size int, hasSplits bool, ipcOpts []ipc.Option) (*patternEncoder, error) {
	fields := []arrow.Field{
		tensorField("input", shape, size),
		{Name: "label", Type: arrow.PrimitiveTypes.Int32},
	}
	if hasSplits {
		fields = append(fields, arrow.Field{Name: "split", Type: arrow.BinaryTypes.String})
	}
	md := arrow.NewMetadata([]string{LayoutMetadataKey}, []string{string(layout)})
	schema := arrow.NewSchema(fields, &md)
	fw, err := ipc.NewFileWriter(w, append(ipcOpts, ipc.WithSchema(schema))...)
	if err != nil {
		return nil, err
	}
	return &patternEncoder{fw: fw, schema: schema, inType: fields[0].Type.(*arrow.FixedSizeListType), hasSplits: hasSplits}, nil
}

// write writes one record batch of the given rows.
func (e *patternEncoder) write(inputs []float32, labels []int32, splits []string) error {
	rows := len(labels)
	cols := []arrow.Array{
		float32ListArray(e.inType, inputs, rows),
		int32Array(labels),
	}
	if e.hasSplits {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		b.AppendValues(splits, nil)
		cols = append(cols, b.NewArray())
		b.Release()
	}
	rec := array.NewRecordBatch(e.schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	err := e.fw.Write(rec)
	rec.Release()
	return err
}

// int32Array wraps v as an Arrow int32 array without copying.
func int32Array(v []int32) arrow.Array {
	d := array.NewData(arrow.PrimitiveTypes.Int32, len(v),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(v))}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// ReadPatterns reads a whole Arrow IPC pattern file. The rows are appended
// straight from each record batch into one slice allocated for the row
// count recorded in the file, so the file is never held twice in memory.
func ReadPatterns(path string) (*Patterns, error) {
	pf, err := OpenPatterns(path)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	return pf.ReadAll()
}

// DecodePatterns is ReadPatterns on the size bytes of r.
func DecodePatterns(r io.ReaderAt, size int64) (*Patterns, error) {
	pf, err := newPatternFile("", r, size, nil, nil)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	return pf.ReadAll()
}

// ScanPatterns calls fn with each record batch of a pattern file in turn,
// holding one batch in memory at a time. Each batch is a fresh *Patterns
// that fn may keep. An error from fn stops the scan and is returned as is.
func ScanPatterns(path string, fn func(batch *Patterns) error) error {
	pf, err := OpenPatterns(path)
	if err != nil {
		return err
	}
	defer pf.Close()
	return pf.Scan(fn)
}

// PatternFile is an open Arrow IPC pattern file. Opening reads the schema
// and the record batch headers, not the rows.
type PatternFile struct {
	// Path is the file name ("" for DecodePatterns).
	Path string
	// Shape is the shape of one pattern.
	Shape []int
	// Layout is the layout the patterns are stored in.
	Layout Layout
	// HasSplits reports whether the file has a split column.
	HasSplits bool

	size     int
	rows     []int    // rows per record batch
	codec    []string // compression codec per record batch ("" if none)
	start    []int    // global index of each batch's first row
	limit    []int    // allocation limit per batch
	total    int
	inCol    int
	labelCol int
	splitCol int
	fr       *ipc.FileReader
	alloc    *limitAllocator
	closer   io.Closer
	// mapped is the memory-mapped file (nil when read with ReadAt): the
	// columns of a batch are views of it, never copies.
	mapped []byte
	unmap  []byte // a mapping left unused
}

// OpenPatterns opens an Arrow IPC pattern file, checking its schema and
// reading its row count. Close it when done. Where the system allows, the
// file is memory-mapped: a batch's columns are views of the file, and
// the scans used by the streaming passes hand the pages back to the
// kernel after each batch.
func OpenPatterns(path string) (*PatternFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read patterns: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read patterns: %w", err)
	}
	mapped := mapFile(f, st.Size())
	pf, err := newPatternFile(path, f, st.Size(), f, mapped)
	if err != nil {
		if mapped != nil {
			unmapFile(mapped)
		}
		f.Close()
		return nil, err
	}
	return pf, nil
}

// Len is the number of patterns in the file.
func (pf *PatternFile) Len() int { return pf.total }

// NumBatches is the number of record batches in the file.
func (pf *PatternFile) NumBatches() int { return len(pf.rows) }

// Close releases the file.
func (pf *PatternFile) Close() error {
	if pf.fr != nil {
		pf.fr.Close()
		pf.fr = nil
	}
	for _, m := range [][]byte{pf.mapped, pf.unmap} {
		if m != nil {
			unmapFile(m)
		}
	}
	pf.mapped, pf.unmap = nil, nil
	if pf.closer != nil {
		err := pf.closer.Close()
		pf.closer = nil
		return err
	}
	return nil
}

func (pf *PatternFile) errorf(format string, args ...any) error {
	prefix := "read patterns"
	if pf.Path != "" {
		prefix += " " + pf.Path
	}
	return fmt.Errorf(prefix+": "+format, args...)
}

func (pf *PatternFile) newPatterns(capRows int) *Patterns {
	p := &Patterns{
		Shape:  append([]int(nil), pf.Shape...),
		Layout: pf.Layout,
		Inputs: make([]float32, 0, capRows*pf.size),
		Labels: make([]int32, 0, capRows),
	}
	if pf.HasSplits {
		p.Splits = make([]string, 0, capRows)
	}
	return p
}

// Batch reads record batch i as a fresh *Patterns.
func (pf *PatternFile) Batch(i int) (*Patterns, error) {
	if i < 0 || i >= len(pf.rows) {
		return nil, pf.errorf("record batch %d out of range [0,%d)", i, len(pf.rows))
	}
	p := pf.newPatterns(pf.rows[i])
	if err := pf.appendBatch(i, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Scan calls fn with each record batch in turn (see ScanPatterns).
func (pf *PatternFile) Scan(fn func(batch *Patterns) error) error {
	for i := range pf.rows {
		p, err := pf.Batch(i)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// ReadAll reads every pattern into one *Patterns.
func (pf *PatternFile) ReadAll() (*Patterns, error) {
	p := pf.newPatterns(pf.total)
	for i := range pf.rows {
		if err := pf.appendBatch(i, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func newPatternFile(name string, r io.ReaderAt, size int64, closer io.Closer, mapped []byte) (*PatternFile, error) {
	pf := &PatternFile{Path: name, closer: closer, splitCol: -1, mapped: mapped}
	if err := pf.open(r, size); err != nil {
		if pf.fr != nil {
			pf.fr.Close()
		}
		return nil, pf.errorf("%w", err)
	}
	return pf, nil
}

func (pf *PatternFile) open(r io.ReaderAt, size int64) (err error) {
	defer catchArrowPanic(&err)
	pf.alloc = newLimitAllocator(size)
	var blocks []batchHeader
	if pf.mapped != nil {
		// arrow-go's mapped reader fails on dictionary-encoded columns
		// (a split column may be one): such files are read with ReadAt.
		func() {
			defer catchArrowPanic(&err)
			pf.fr, blocks, err = openArrowFile(r, size, pf.alloc, pf.mapped)
		}()
		if err != nil {
			pf.fr, pf.mapped, pf.unmap = nil, nil, pf.mapped
		}
	}
	if pf.fr == nil {
		if pf.fr, blocks, err = openArrowFile(r, size, pf.alloc, nil); err != nil {
			return err
		}
	}
	schema := pf.fr.Schema()
	md := schema.Metadata()
	lay, ok := md.GetValue(LayoutMetadataKey)
	if !ok {
		if _, isModel := md.GetValue(ModelMetadataKey); isModel {
			return fmt.Errorf("no %s schema metadata: this looks like a model file, not a pattern file", LayoutMetadataKey)
		}
		return fmt.Errorf("no %s schema metadata (NCHW, NHWC or CMSIS): not an nnq pattern file", LayoutMetadataKey)
	}
	pf.Layout = Layout(lay)
	if !validLayout(pf.Layout) {
		return fmt.Errorf("%s %q is not NCHW, NHWC or CMSIS", LayoutMetadataKey, lay)
	}
	col := func(name string, required bool) (int, error) {
		idx := schema.FieldIndices(name)
		switch {
		case len(idx) > 1:
			return -1, fmt.Errorf("%d columns are named %q", len(idx), name)
		case len(idx) == 0 && required:
			return -1, fmt.Errorf("no %q column", name)
		case len(idx) == 0:
			return -1, nil
		}
		return idx[0], nil
	}
	if pf.inCol, err = col("input", true); err != nil {
		return fmt.Errorf("%w (the pattern column is always named input, whatever the model's input.name)", err)
	}
	if pf.labelCol, err = col("label", true); err != nil {
		return err
	}
	if pf.splitCol, err = col("split", false); err != nil {
		return err
	}
	pf.Shape, pf.size, err = tensorFieldShape(schema.Field(pf.inCol))
	if err != nil {
		return fmt.Errorf("column input: %w", err)
	}
	if dt := schema.Field(pf.labelCol).Type; dt.ID() != arrow.INT32 {
		return fmt.Errorf("column label: type %s; want int32", dt)
	}
	if pf.splitCol >= 0 {
		pf.HasSplits = true
		dt := schema.Field(pf.splitCol).Type
		if d, ok := dt.(*arrow.DictionaryType); ok {
			dt = d.ValueType
		}
		if id := dt.ID(); id != arrow.STRING && id != arrow.LARGE_STRING {
			return fmt.Errorf("column split: type %s; want utf8", schema.Field(pf.splitCol).Type)
		}
	}

	if len(blocks) != pf.fr.NumRecords() {
		return fmt.Errorf("corrupt Arrow IPC footer: %d record batches, %d headers", pf.fr.NumRecords(), len(blocks))
	}
	for i, b := range blocks {
		// An uncompressed body holds at least the input values; a
		// compressed one expands at most maxCompressionRatio times. No
		// single buffer is larger than that (the body itself included).
		room := b.body
		if b.compressed {
			room = b.body * maxCompressionRatio
		}
		if b.rows < 0 || b.rows > math.MaxInt32 || (b.rows > 0 && b.rows*int64(pf.size)*4 > room) {
			return fmt.Errorf("record batch %d claims %d patterns of %d values, which its %d-byte body cannot hold", i, b.rows, pf.size, b.body)
		}
		pf.rows = append(pf.rows, int(b.rows))
		pf.codec = append(pf.codec, b.codec)
		pf.start = append(pf.start, pf.total)
		pf.limit = append(pf.limit, int(max(room, size))+1<<20)
		pf.total += int(b.rows)
	}
	return nil
}

// appendBatch appends record batch i to dst (copies).
func (pf *PatternFile) appendBatch(i int, dst *Patterns) error {
	vals, labels, splits, release, err := pf.batchViews(i)
	if err != nil {
		return err
	}
	dst.Inputs = append(dst.Inputs, vals...)
	dst.Labels = append(dst.Labels, labels...)
	dst.Splits = append(dst.Splits, splits...)
	release()
	return nil
}

// batchViews decodes and checks record batch i. vals and labels view the
// batch's memory (the mapped file when it is mapped) until release is
// called; splits are Go constants.
func (pf *PatternFile) batchViews(i int) (vals []float32, labels []int32, splits []string, release func(), err error) {
	defer func() {
		if err != nil {
			err = pf.errorf("record batch %d: %w", i, err)
		}
	}()
	// A compressed batch that fails to decode was written wrongly.
	decoded := false
	defer func() {
		if err != nil && !decoded && pf.codec[i] != "" {
			err = &CompressedBufferError{Codec: pf.codec[i], Detail: err.Error()}
		}
	}()
	defer catchArrowPanic(&err)
	if pf.fr == nil {
		return nil, nil, nil, nil, errors.New("file is closed")
	}
	pf.alloc.limit = pf.limit[i]
	rec, err := pf.fr.RecordBatchAt(i)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	decoded = true
	ok := false
	defer func() {
		if !ok {
			rec.Release()
		}
	}()
	rows, base := pf.rows[i], pf.start[i]
	if int(rec.NumRows()) != rows {
		return nil, nil, nil, nil, fmt.Errorf("%d rows, but its header says %d", rec.NumRows(), rows)
	}
	vals, err = fixedListValues(rec.Column(pf.inCol), rows, pf.size, base, "pattern")
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("column input: %w", err)
	}
	if j, ok := checkFinite(vals); !ok {
		return nil, nil, nil, nil, fmt.Errorf("column input: pattern %d value %d %s is %v", base+j/pf.size, j%pf.size, indexString(pf.Shape, j%pf.size), vals[j])
	}
	la, isInt := rec.Column(pf.labelCol).(*array.Int32)
	if !isInt {
		return nil, nil, nil, nil, fmt.Errorf("column label: type %s; want int32", rec.Column(pf.labelCol).DataType())
	}
	lv := la.Int32Values()
	if la.Len() != rows || len(lv) < rows {
		return nil, nil, nil, nil, fmt.Errorf("column label: %d values for %d patterns", la.Len(), rows)
	}
	for j := 0; j < rows; j++ {
		if la.IsNull(j) {
			return nil, nil, nil, nil, fmt.Errorf("column label: pattern %d label is null", base+j)
		}
		if lv[j] < -1 {
			return nil, nil, nil, nil, fmt.Errorf("column label: pattern %d label is %d; want a class index or -1", base+j, lv[j])
		}
	}
	if pf.splitCol >= 0 {
		if splits, err = splitValues(rec.Column(pf.splitCol), rows, base); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("column split: %w", err)
		}
	}
	ok = true
	return vals, lv[:rows:rows], splits, func() { rec.Release(); dropMapped(pf.mapped) }, nil
}

// splitValues reads a utf8, large_utf8 or dictionary<utf8> split column.
func splitValues(col arrow.Array, rows, base int) ([]string, error) {
	if col.Len() != rows {
		return nil, fmt.Errorf("%d values for %d patterns", col.Len(), rows)
	}
	var value func(j int) string
	switch a := col.(type) {
	case *array.String:
		value = a.Value
	case *array.LargeString:
		value = a.Value
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			ld, ok := a.Dictionary().(*array.LargeString)
			if !ok {
				return nil, fmt.Errorf("type %s; want utf8", col.DataType())
			}
			value = func(j int) string { return ld.Value(a.GetValueIndex(j)) }
		} else {
			value = func(j int) string { return dict.Value(a.GetValueIndex(j)) }
		}
	default:
		return nil, fmt.Errorf("type %s; want utf8", col.DataType())
	}
	out := make([]string, rows)
	for j := range out {
		if col.IsNull(j) {
			return nil, fmt.Errorf("pattern %d split is null", base+j)
		}
		s := value(j)
		name, ok := splitNames[s]
		if !ok {
			return nil, fmt.Errorf("pattern %d split is %q; want train, val or test", base+j, truncate(s, 40))
		}
		out[j] = name // a Go constant, not a view of Arrow memory
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
