package nnq

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadONNXWithoutTheImporterNamesTheImport(t *testing.T) {
	// Package nnq's own tests do not import nnq/onnx, so .onnx is not
	// registered here.
	path := filepath.Join(t.TempDir(), "net.ONNX")
	if err := os.WriteFile(path, []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("loaded an .onnx file without the ONNX importer")
	}
	for _, want := range []string{path, `import _ "github.com/nnq-toolkit/nnq/nnq/onnx"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestRegisterFormatAddsAnExtensionToLoad(t *testing.T) {
	m := testNet(rand.New(rand.NewSource(1)), NCHW)
	var read []string
	RegisterFormat("test format", ".nnqtest", func(path string) (*Model, error) {
		read = append(read, path)
		if strings.Contains(path, "bad") {
			return nil, errors.New(path + ": bad model")
		}
		return m, nil
	})
	t.Cleanup(func() {
		formatsMu.Lock()
		delete(formats, ".nnqtest")
		formatsMu.Unlock()
	})
	got, err := Load("dir/good.NNQTEST")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != m.Name || len(read) != 1 || read[0] != "dir/good.NNQTEST" {
		t.Fatalf("Load read %q and returned %q", read, got.Name)
	}
	// Load prepares what the reader returns (the test net's dropout goes,
	// its batchnorm is folded).
	if len(got.Layers) >= len(m.Layers) {
		t.Fatalf("Load did not prepare the model: %d layers, the reader gave %d", len(got.Layers), len(m.Layers))
	}
	if _, err := Load("bad.nnqtest"); err == nil || !strings.Contains(err.Error(), "bad.nnqtest: bad model") {
		t.Fatalf("reader error not passed on: %v", err)
	}
	// A second registration of the extension is a programming error.
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "test format already registered .nnqtest") {
			t.Fatalf("second registration: recover() = %v", r)
		}
	}()
	RegisterFormat("another", ".NnqTest", ReadModel)
}
