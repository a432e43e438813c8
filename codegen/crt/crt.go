package crt

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

//go:generate go run gentables.go -o c/nnq_tables.c

// sources holds the runtime files (the test driver under c/testdriver is not
// part of the runtime and is not embedded).
//
//go:embed c/*.h c/*.c
var sources embed.FS

const srcDir = "c"

// Runtime selects one of the runtimes the package embeds.
type Runtime int

const (
	// Legacy is the q7/q15 runtime (legacy CMSIS-NN 5.9.0 API and nnq's own
	// kernels): nnq_cmsis.h (its public header), nnq_dsp.c, nnq_internal.h,
	// nnq_kernels.c, nnq_legacy.c, nnq_recurrent.c and nnq_tables.c.
	Legacy Runtime = iota
	// S8 is the s8/s16 runtime (CMSIS-NN v7 API): nnq_cmsis_s8.h (its public
	// header), nnq_s8_internal.h and nnq_s8_{conv,dw,fc,pool,softmax}.c.
	S8
)

func (r Runtime) has(name string) bool {
	s8 := strings.HasPrefix(name, "nnq_s8_") || name == "nnq_cmsis_s8.h"
	return s8 == (r == S8)
}

// Files returns the names of the legacy q7/q15 runtime files, sorted, as
// WriteTo writes them into the destination directory.
func Files() []string { return RuntimeFiles(Legacy) }

// RuntimeFiles returns the names of runtime r's files, sorted.
func RuntimeFiles(r Runtime) []string {
	entries, err := fs.ReadDir(sources, srcDir)
	if err != nil {
		panic(err) // embedded directory always exists
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && r.has(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// WriteTo copies the runtime files into dir (created if missing, files
// overwritten, mode 0644). Every .c file must be compiled into the generated
// project and nnq_cmsis.h included by its sources.
func WriteTo(dir string) error { return WriteRuntimeTo(dir, Legacy) }

// WriteRuntimeTo copies runtime r's files into dir, as WriteTo does.
func WriteRuntimeTo(dir string, r Runtime) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("crt: %w", err)
	}
	for _, name := range RuntimeFiles(r) {
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
