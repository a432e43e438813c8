package nnq

// Writing Arrow model files: the checks a model passes before it is
// written, the encoding and the atomic file write. See docs/FORMAT.md.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

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
		Version:  ModelFormatVersion,
		Name:     m.Name,
		Layout:   m.Layout,
		Input:    modelInput{Name: m.inputName(), Shape: m.InputShape},
		Classes:  m.Classes,
		Layers:   m.Layers,
		Notes:    m.Notes,
		Source:   m.Source,
		Frontend: m.Frontend,
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
