package nnq

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
)

// Load reads a model file and prepares it: dropout removed, fused
// activations split, batchnorm folded. The result stays in the framework
// layout; call ToCMSIS to reorder it for CMSIS-NN.
//
// nnq's own Arrow model format is built in. Other formats are added by
// importer packages, the way image/png adds PNG to image.Decode: a program
// that imports
//
//	_ "github.com/nnq-toolkit/nnq/nnq/onnx"
//
// loads .onnx files too. The file's extension picks the format; a file
// with an extension no importer registered is read as an Arrow model.
func Load(path string) (*Model, error) {
	read, err := readerFor(path)
	if err != nil {
		return nil, err
	}
	m, err := read(path)
	if err != nil {
		return nil, err
	}
	p, err := m.Prepare()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// format is a registered model file format.
type format struct {
	name string
	read func(path string) (*Model, error)
}

var (
	formatsMu sync.RWMutex
	formats   = map[string]format{} // by lower-case extension
)

// knownImporters names the importer package of each format nnq ships, so
// that Load can say which import a program is missing.
var knownImporters = map[string]struct{ name, pkg string }{
	".onnx": {"ONNX", "github.com/nnq-toolkit/nnq/nnq/onnx"},
}

// RegisterFormat makes Load read files whose extension is ext (".onnx";
// matched without regard to case) with read, which returns the model in
// its framework layout, not yet prepared. name names the format in
// messages. Importer packages call it from their init function; a second
// registration of the same extension panics, as it is a programming error.
func RegisterFormat(name, ext string, read func(path string) (*Model, error)) {
	ext = strings.ToLower(ext)
	if !strings.HasPrefix(ext, ".") || len(ext) < 2 || read == nil {
		panic(fmt.Sprintf("nnq.RegisterFormat(%q, %q): the extension must start with a dot and read must be set", name, ext))
	}
	formatsMu.Lock()
	defer formatsMu.Unlock()
	if f, dup := formats[ext]; dup {
		panic(fmt.Sprintf("nnq.RegisterFormat(%q, %q): %s already registered %s", name, ext, f.name, ext))
	}
	formats[ext] = format{name: name, read: read}
}

// readerFor picks the reader of path by its extension.
func readerFor(path string) (func(string) (*Model, error), error) {
	ext := strings.ToLower(filepath.Ext(path))
	formatsMu.RLock()
	f, ok := formats[ext]
	formatsMu.RUnlock()
	if ok {
		return f.read, nil
	}
	if imp, known := knownImporters[ext]; known {
		return nil, fmt.Errorf("%s: %s models need the %s importer, which this program does not include; add import _ %q to it", path, imp.name, imp.name, imp.pkg)
	}
	return ReadModel, nil
}
