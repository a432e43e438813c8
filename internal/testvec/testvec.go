// Package testvec loads the ground-truth vectors of the CMSIS-NN v7 s8/s16
// API (one JSON Lines file per function, format in the vectors' README)
// for the tests of package kernels and codegen/crt. It is not used by any
// non-test code.
package testvec

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EnvDir overrides where Locate looks for the full vector set.
const EnvDir = "NNQ_S8_VECTORS"

// Result is one build's result of a case.
type Result struct {
	Status  *int               `json:"status"` // nil for void functions
	Outputs map[string][]int64 `json:"outputs"`
}

// Scratch is the size in bytes of ctx.buf passed on each build.
type Scratch struct {
	Host int `json:"host_bytes"`
	M4   int `json:"m4_bytes"`
}

// Case is one record.
type Case struct {
	ID       string              `json:"id"`
	Function string              `json:"function"`
	Tags     []string            `json:"tags"`
	Args     map[string]any      `json:"args"`
	Types    map[string]string   `json:"types"`
	Inputs   map[string][]int64  `json:"inputs"` // a present key with a nil slice is NULL
	Scratch  map[string]*Scratch `json:"scratch"`
	Dispatch map[string]string   `json:"dispatch"`
	Host     Result              `json:"host"`
	M4       Result              `json:"m4"`
	Equal    bool                `json:"host_equals_m4"`
}

// Int returns the integer argument at a dotted path ("conv_params.stride.w";
// booleans give 0 or 1); ok is false if it is missing or not a number. A
// key that itself contains a dot ("bias_data.is_int32_bias") is found too.
func (c *Case) Int(path string) (int64, bool) {
	if v, ok := c.Args[path]; ok {
		return argInt(v)
	}
	var v any = c.Args
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		if v, ok = m[k]; !ok {
			return 0, false
		}
	}
	return argInt(v)
}

func argInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// MustInt is Int that panics on a missing argument (test data error).
func (c *Case) MustInt(path string) int64 {
	v, ok := c.Int(path)
	if !ok {
		panic(fmt.Sprintf("%s: no integer argument %s", c.ID, path))
	}
	return v
}

// HasTag reports whether the case carries tag t.
func (c *Case) HasTag(t string) bool {
	for _, x := range c.Tags {
		if x == t {
			return true
		}
	}
	return false
}

// ScratchBytes returns the ctx.buf size of the case on the m4 (dsp) or
// host build, or -1 for functions without a context.
func (c *Case) ScratchBytes(dsp bool) int {
	s := c.Scratch["ctx.buf"]
	if s == nil {
		return -1
	}
	if dsp {
		return s.M4
	}
	return s.Host
}

// Want returns the expected result on the m4 (dsp) or host build.
func (c *Case) Want(dsp bool) Result {
	if dsp {
		return c.M4
	}
	return c.Host
}

// Locate returns the directory of the full vector set: $NNQ_S8_VECTORS, or
// the first of ../shared, ../../shared, ... (relative to the module root
// found above dir) that holds testvectors/cmsis-nn-s8. It returns "" if
// none is found.
func Locate(dir string) string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	root := abs
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			root = abs
			break
		}
		root = parent
	}
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "testvectors", "cmsis-nn-s8")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Load reads every *.jsonl file of dir, sorted by file name, records in
// file order.
func Load(dir string) ([]*Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("testvec: no *.jsonl files in %s", dir)
	}
	sort.Strings(files)
	var cases []*Case
	for _, f := range files {
		cs, err := loadFile(f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, cs...)
	}
	return cases, nil
}

func loadFile(f string) ([]*Case, error) {
	fh, err := os.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var cases []*Case
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		c := new(Case)
		if err := json.Unmarshal(sc.Bytes(), c); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", f, line, err)
		}
		if c.ID == "" || c.Function == "" {
			return nil, fmt.Errorf("%s:%d: record without id or function", f, line)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", f, err)
	}
	return cases, nil
}

// ErrAbsent is returned by Full when the vector set is not found.
var ErrAbsent = errors.New("testvec: CMSIS-NN s8 vectors not found (set " + EnvDir +
	" or place shared/testvectors/cmsis-nn-s8 beside the checkout)")

// Full locates and loads the full set from a test's package directory.
func Full(pkgDir string) (string, []*Case, error) {
	dir := Locate(pkgDir)
	if dir == "" {
		return "", nil, ErrAbsent
	}
	cs, err := Load(dir)
	return dir, cs, err
}
