// Package nb is what nnq's notebooks share: where the data is, showing
// plots and tables, progress bars for the long steps, and caching slow
// results between cells. Every notebook in notebooks/ starts with
//
//	import (
//		"github.com/nnq-toolkit/nnq/nnq"
//		"github.com/nnq-toolkit/nnq/nnq/nb"
//	)
//
// and then calls nb.Data, nb.Show, nb.Markdown, nb.Progress, nb.Cache …
// directly. A new notebook (yours, or a new chapter) needs nothing else.
//
// GoNB runs every cell as a new Go program, so nothing survives from one
// cell to the next but files: Cache keeps results on disk, keyed by their
// inputs (file contents included) and by the Go sources of the checkout.
//
// Outside a notebook (go test, go run, an example) the same calls print
// text instead: Markdown and tables as text, plots as a line naming the
// PNG file written into WorkDir("plots"), progress on stderr (a bar on a
// terminal, a line per step otherwise, see package nnq/progress).
package nb

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nnq-toolkit/nnq/nnq"
	_ "github.com/nnq-toolkit/nnq/nnq/onnx" // nnq.Load reads .onnx files in notebooks too
)

// Module is the module path of the checkout Root looks for.
const Module = "github.com/nnq-toolkit/nnq"

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// FindRoot returns the root of the nnq checkout: the first directory,
// from the working directory up, whose go.mod declares module Module.
// GoNB runs cells in the notebook's directory, so for notebooks/ that is
// its parent.
func FindRoot() (string, error) {
	rootOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		root, rootErr = findRoot(wd)
	})
	return root, rootErr
}

func findRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if modulePath(filepath.Join(d, "go.mod")) == Module {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("nb: no nnq checkout (a go.mod of module %s) in %s or above: run the notebook from inside the checkout", Module, dir)
		}
	}
}

// modulePath is the module a go.mod declares ("" if none).
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Root is FindRoot that stops the cell when there is no checkout.
func Root() string {
	r, err := FindRoot()
	Must(err)
	return r
}

// DataDir is the data directory: $NNQ_DATA when set, else the checkout's
// data/ (the bundled networks and patterns).
func DataDir() string {
	if d := os.Getenv("NNQ_DATA"); d != "" {
		return d
	}
	return filepath.Join(Root(), "data")
}

// Data names a file of the data directory: nb.Data("kws", "patterns.arrow").
func Data(elem ...string) string {
	return filepath.Join(append([]string{DataDir()}, elem...)...)
}

// Rel returns path relative to the checkout's root (slash-separated), or
// relative to the data directory, so that outputs show no machine's
// absolute paths; other paths come back unchanged.
func Rel(path string) string {
	for _, base := range []string{DataDir(), Root()} {
		if r, err := filepath.Rel(base, path); err == nil && !strings.HasPrefix(r, "..") {
			if base == DataDir() && os.Getenv("NNQ_DATA") != "" {
				return "$NNQ_DATA/" + filepath.ToSlash(r)
			}
			if base == DataDir() {
				return "data/" + filepath.ToSlash(r)
			}
			return filepath.ToSlash(r)
		}
	}
	return path
}

// Scrub makes text fit for a stored output: the checkout's root and the
// session's scratch directory (WorkDir's parent) are cut from the paths
// in it, so they read relative ("data/kws/…", "kws-dscnn-q7/nn.c").
func Scrub(s string) string {
	for _, d := range []string{workBase(), Root()} {
		s = strings.ReplaceAll(s, d+string(filepath.Separator), "")
		s = strings.ReplaceAll(s, d, ".")
	}
	return s
}

func workBase() string {
	if base := os.Getenv("GONB_TMP_DIR"); base != "" {
		return filepath.Clean(base)
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("nnq-nb-%d", os.Getuid()))
}

// WorkDir returns a scratch directory for this notebook session, created
// if needed: under $GONB_TMP_DIR (GoNB's per-kernel directory) in a
// notebook, else under the system's temporary directory.
func WorkDir(name string) string {
	d := filepath.Join(workBase(), name)
	Must(os.MkdirAll(d, 0o755))
	return d
}

// Must stops the cell with err (a panic, which the notebook shows and
// notebooks/run.sh reports).
func Must(err error) {
	if err != nil {
		panic(err)
	}
}

// Must1 returns v, or stops the cell with err: nb.Must1(nnq.Load(path)).
func Must1[T any](v T, err error) T {
	Must(err)
	return v
}

// Model loads a model file (Arrow or ONNX) prepared for conversion and
// returns it in framework layout and in CMSIS-NN layout.
func Model(path string) (fw, cmsis *nnq.Model) {
	fw = Must1(nnq.Load(path))
	cmsis, err := fw.ToCMSIS()
	if err != nil {
		Must(fmt.Errorf("%s: %w", Rel(path), err))
	}
	return fw, cmsis
}

// Patterns reads a pattern file.
func Patterns(path string) *nnq.Patterns { return Must1(nnq.ReadPatterns(path)) }

// Calibrate returns the model in CMSIS-NN layout and its activation
// statistics over the first n train/val patterns of the pattern file (all
// patterns if the file has no splits; n <= 0: every one). The statistics
// are cached (see Cache), so only the first cell that asks computes them,
// with a progress bar.
func Calibrate(model, patterns string, n int) (*nnq.Model, *nnq.Stats) {
	_, cm := Model(model)
	stats := Cache("calibrate", []any{File(model), File(patterns), n}, func() *nnq.Stats {
		p := Patterns(patterns)
		if p.HasSplit("train") || p.HasSplit("val") {
			p = p.Split("train", "val")
		}
		if n > 0 {
			p = p.Head(n)
		}
		return Must1(nnq.Calibrate(cm, p, Progress("calibrate")))
	})
	return cm, stats
}

// Convert runs nnq.Convert once (cached on its options, the model and
// pattern files' contents and the checkout's sources) with a progress bar
// per step; its log lines are printed. Leave opt.Progress and opt.Log
// nil. A Search scheme's patterns are keyed by address, so such a
// conversion is recomputed in every cell: cache its parts instead.
func Convert(opt nnq.ConvertOptions) *nnq.Conversion {
	if opt.Progress != nil || opt.Log != nil {
		Must(errors.New("nb.Convert: leave Progress and Log nil; nb reports them"))
	}
	key := opt
	key.Model, key.Patterns, key.Calib = "", "", ""
	return Cache("convert", []any{File(opt.Model), File(opt.Patterns), File(opt.Calib), key}, func() *nnq.Conversion {
		opt.Progress = Steps()
		opt.Log = func(line string) { fmt.Println(line) }
		return Must1(nnq.Convert(opt))
	})
}
