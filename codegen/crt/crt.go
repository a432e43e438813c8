package crt

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
)

//go:generate go run gentables.go -o c/nnq_tables.c

// sources holds the runtime files (the test driver under c/testdriver is not
// part of the runtime and is not embedded).
//
//go:embed c/*.h c/*.c
var sources embed.FS

const srcDir = "c"

// Files returns the names of the runtime files, sorted, as WriteTo writes
// them into the destination directory: nnq_cmsis.h (the public header),
// nnq_dsp.c, nnq_internal.h, nnq_kernels.c, nnq_legacy.c, nnq_recurrent.c
// and nnq_tables.c, and the s8/s16 API runtime nnq_cmsis_s8.h (its public
// header), nnq_s8_internal.h and nnq_s8_{conv,dw,fc,pool,softmax}.c.
func Files() []string {
	entries, err := fs.ReadDir(sources, srcDir)
	if err != nil {
		panic(err) // embedded directory always exists
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// WriteTo copies the runtime files into dir (created if missing, files
// overwritten, mode 0644). Every .c file must be compiled into the generated
// project and nnq_cmsis.h included by its sources.
func WriteTo(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("crt: %w", err)
	}
	for _, name := range Files() {
		data, err := sources.ReadFile(path.Join(srcDir, name))
		if err != nil {
			return fmt.Errorf("crt: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("crt: %w", err)
		}
	}
	return nil
}
