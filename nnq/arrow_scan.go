package nnq

// The flatbuffers metadata of an Arrow IPC file (model or patterns),
// verified before arrow-go reads it.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// batchHeader is what the footer and message header of one record batch
// say, read without loading the batch.
type batchHeader struct {
	rows       int64
	body       int64
	compressed bool
	codec      string // "LZ4" or "ZSTD" when compressed
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
			what := fmt.Sprintf("record batch %d", i)
			rb, err := batchTable(msg, vf == 2)
			if vf == 2 {
				what = fmt.Sprintf("dictionary batch %d", i)
				if err != nil { // arrow-go checks dictionaries itself
					continue
				}
			}
			if err != nil {
				return nil, bad("%s: %v", what, err)
			}
			codec, err := checkCompressed(r, rb, off+meta, body, what)
			if err != nil {
				return nil, err
			}
			if vf == 2 {
				continue
			}
			rows, _ := rb.i64(0) // RecordBatch.length
			out = append(out, batchHeader{rows: rows, body: body, compressed: codec != "", codec: codec})
		}
	}
	return out, nil
}

// batchTable returns the RecordBatch table of a message: its header, or
// for a dictionary batch the header's data.
func batchTable(msg fbTable, dict bool) (fbTable, error) {
	want := uint8(3) // Message.header_type: RecordBatch (DictionaryBatch is 2)
	if dict {
		want = 2
	}
	if typ, _ := msg.u8(1); typ != want {
		return fbTable{}, errors.New("unexpected message type")
	}
	pos, ok := msg.ref(2)
	if !ok {
		return fbTable{}, errors.New("no header")
	}
	t, ok := fbTableAt(msg.buf, pos)
	if ok && dict {
		if pos, ok = t.ref(1); ok { // DictionaryBatch.data
			t, ok = fbTableAt(msg.buf, pos)
		}
	}
	if !ok {
		return fbTable{}, errors.New("header out of bounds")
	}
	return t, nil
}

// CompressedBufferError reports a compressed batch whose buffers do not
// decode: they do not hold what the IPC format puts there (an int64
// uncompressed length, then an LZ4 or ZSTD frame of that length), so the
// writer produced a broken file. apache-arrow for JavaScript up to 21.x
// writes the compressed length where the uncompressed one belongs.
type CompressedBufferError struct {
	Batch  string // "record batch 0"
	Codec  string // "LZ4" or "ZSTD"
	Detail string // which buffer and how, or the decoder's error
}

func (e *CompressedBufferError) Error() string {
	prefix := ""
	if e.Batch != "" {
		prefix = e.Batch + ": "
	}
	return fmt.Sprintf("%sits %s-compressed buffers do not decode (%s). The writer produced a broken compressed file: write it uncompressed "+
		"(pyarrow: ipc.new_file(f, schema, options=ipc.IpcWriteOptions(compression=None)); JavaScript apache-arrow: tableToIPC(table, 'file') "+
		"with no compression type: apache-arrow up to 21.x stores wrong lengths in compressed buffers)", prefix, e.Codec, e.Detail)
}

// Frame magic numbers (little endian) of the two IPC codecs, and the
// skippable frames both formats allow.
const (
	lz4FrameMagic  = 0x184D2204
	zstdFrameMagic = 0xFD2FB528
)

// checkCompressed checks every buffer of a compressed batch whose body
// starts at bodyPos: inside the body, an uncompressed length of -1 (stored
// as is) or >= 0 followed by a frame of the batch's codec. It returns the
// codec ("" for an uncompressed batch).
func checkCompressed(r io.ReaderAt, rb fbTable, bodyPos, bodyLen int64, what string) (string, error) {
	cpos, ok := rb.ref(3) // RecordBatch.compression
	if !ok {
		return "", nil
	}
	comp, ok := fbTableAt(rb.buf, cpos)
	if !ok {
		return "", fmt.Errorf("corrupt Arrow IPC file: %s: compression table", what)
	}
	codec, _ := comp.u8(0) // BodyCompression.codec: 0 LZ4_FRAME, 1 ZSTD
	name, magic := "LZ4", uint32(lz4FrameMagic)
	if codec == 1 {
		name, magic = "ZSTD", zstdFrameMagic
	}
	vec, n, err := fbVector(rb, 2, 16) // RecordBatch.buffers: struct Buffer { offset, length: long }
	if err != nil {
		return "", fmt.Errorf("corrupt Arrow IPC file: %s: buffers: %v", what, err)
	}
	var head [12]byte
	for k := 0; k < n; k++ {
		p := vec + 16*k
		off := int64(binary.LittleEndian.Uint64(rb.buf[p:]))
		length := int64(binary.LittleEndian.Uint64(rb.buf[p+8:]))
		if length == 0 {
			continue
		}
		fail := func(format string, args ...any) (string, error) {
			return "", &CompressedBufferError{Batch: what, Codec: name, Detail: fmt.Sprintf("buffer %d: ", k) + fmt.Sprintf(format, args...)}
		}
		if off < 0 || length < 0 || off > bodyLen || length > bodyLen-off {
			return fail("region %d+%d outside the %d-byte body", off, length, bodyLen)
		}
		if length < 8 {
			return fail("%d bytes, too short for the uncompressed length", length)
		}
		m := min(length, 12)
		if _, err := r.ReadAt(head[:m], bodyPos+off); err != nil {
			return "", err
		}
		raw := int64(binary.LittleEndian.Uint64(head[:8]))
		switch {
		case raw == -1: // stored uncompressed
		case raw < 0:
			return fail("uncompressed length %d", raw)
		case raw > 0 && m < 12:
			return fail("%d bytes hold no frame", length)
		case raw > 0:
			got := binary.LittleEndian.Uint32(head[8:])
			if got != magic && got&0xFFFFFFF0 != 0x184D2A50 {
				return fail("no %s frame magic after the uncompressed length %d", name, raw)
			}
		}
	}
	return name, nil
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

// field returns the absolute position of field i, if present. A field is
// present when its vtable slot starts inside the vtable's declared size,
// as the flatbuffers runtime arrow-go uses decides it (an odd size makes a
// slot straddle the end: arrow-go reads it, so this does too).
func (t fbTable) field(i int) (int, bool) {
	o := 4 + 2*i
	if o >= t.vtSize || t.vt+o+2 > len(t.buf) {
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
