package nnq

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Load reads a model file (nnq's Arrow model format; .onnx once the ONNX
// importer is present) and prepares it: dropout removed, fused activations
// split, batchnorm folded. The result stays in the framework layout; call
// ToCMSIS to reorder it for CMSIS-NN.
func Load(path string) (*Model, error) {
	var m *Model
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".onnx":
		if onnxLoader == nil {
			return nil, fmt.Errorf("%s: ONNX import is not available in this build", path)
		}
		m, err = onnxLoader(path)
	default:
		m, err = ReadModel(path)
	}
	if err != nil {
		return nil, err
	}
	p, err := m.Prepare()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// onnxLoader is set by the ONNX importer.
var onnxLoader func(path string) (*Model, error)
