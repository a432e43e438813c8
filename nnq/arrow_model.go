package nnq

// Arrow IPC model files: the public API and the graph header. See
// docs/FORMAT.md for the format; arrow_read.go decodes and validates,
// arrow_write.go validates and encodes, arrow_scan.go checks the
// flatbuffers metadata before arrow-go reads it. Pattern files are in
// arrow_patterns.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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
	// Frontend is the input front end (nil: none).
	Frontend *Frontend `json:"frontend,omitempty"`
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
	// Frontend is decoded strictly too (unknown keys are errors).
	Frontend *Frontend `json:"frontend"`
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
