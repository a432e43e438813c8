package harness

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExecResult is what Exec returns.
type ExecResult struct {
	// Files holds the output files asked for, by name.
	Files map[string][]byte
	// Instructions holds one exact count per passage from the start to the
	// end symbol (BuildOptions.StartSymbol, EndSymbol), in order (Cortex-M
	// only; nil on the host).
	Instructions []uint64
	// Log is what the program (and QEMU) printed.
	Log     string
	Elapsed time.Duration
}

// Exec runs a binary built with its own driver (BuildOptions.Driver): the
// inputs are written into a fresh run directory, the program is started
// there with args, and the outputs named are read back. It fails when the
// program exits non-zero (a *RunError) or an output is missing.
func (b *Binary) Exec(ctx context.Context, inputs map[string][]byte, args, outputs []string) (*ExecResult, error) {
	if b.dir == "" {
		return nil, errors.New("harness: binary is closed")
	}
	dir, err := os.MkdirTemp(b.dir, "exec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, data := range inputs {
		if filepath.Base(name) != name {
			return nil, fmt.Errorf("harness: input file name %q must not contain a directory", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	res := &ExecResult{Files: map[string][]byte{}}
	countsPath := filepath.Join(dir, "counts.txt")
	res.Log, res.Elapsed, err = b.execIn(ctx, dir, args, countsPath)
	if err != nil {
		return nil, err
	}
	for _, name := range outputs {
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			return nil, fmt.Errorf("harness: run on %s wrote no %s: %w\n%s", b.Target.Name, name, err, res.Log)
		}
		res.Files[name] = data
	}
	if !b.Target.IsHost() {
		data, err := os.ReadFile(countsPath)
		if err != nil {
			return nil, fmt.Errorf("harness: counting plugin wrote nothing: %w\n%s", err, res.Log)
		}
		if res.Instructions, _, err = parseCounts(data); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Footprint is the size of a group of symbols in the image.
type Footprint struct {
	// Code is the size of the functions, ReadOnly of the constant data
	// (flash), RAM of the initialized and zeroed data.
	Code, ReadOnly, RAM int
}

// SymbolFootprint sums the sizes of the functions and data objects whose
// names start with prefix (static ones included: the image keeps its
// symbol table), by kind of section.
func (b *Binary) SymbolFootprint(prefix string) (Footprint, error) {
	var fp Footprint
	f, err := elf.Open(b.Path)
	if err != nil {
		return fp, fmt.Errorf("harness: reading %s: %w", b.Path, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fp, fmt.Errorf("harness: reading symbols of %s: %w", b.Path, err)
	}
	for _, s := range syms {
		if !strings.HasPrefix(s.Name, prefix) || s.Size == 0 || int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		sec := f.Sections[s.Section]
		switch {
		case elf.ST_TYPE(s.Info) == elf.STT_FUNC:
			fp.Code += int(s.Size)
		case sec.Flags&elf.SHF_WRITE != 0:
			fp.RAM += int(s.Size)
		case sec.Flags&elf.SHF_ALLOC != 0:
			fp.ReadOnly += int(s.Size)
		}
	}
	return fp, nil
}
