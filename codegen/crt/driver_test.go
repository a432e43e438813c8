package crt

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

// The tests drive the C runtime through c/testdriver/driver.c, compiled once
// per build flavour into a shared temporary directory.

// Strict warning flags every host build must pass.
var strictFlags = []string{"-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"}

var sanFlags = []string{"-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
	"-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"}

// flavours: name -> extra compiler flags.
var flavours = map[string][]string{
	"c":        strictFlags,
	"dsp":      append(append([]string{}, strictFlags...), "-DARM_MATH_DSP"),
	"truncate": append(append([]string{}, strictFlags...), "-DARM_NN_TRUNCATE"),
	"c-san":    sanFlags,
	"dsp-san":  append(append([]string{}, sanFlags...), "-DARM_MATH_DSP"),
	// nnq's SIMD code paths on the host, through the exact C emulations
	// of the intrinsics (nnq_internal.h).
	"emu":     append(append([]string{}, strictFlags...), "-DNNQ_SIMD_EMULATE"),
	"emu-san": append(append([]string{}, sanFlags...), "-DNNQ_SIMD_EMULATE"),
}

var (
	buildRoot     string
	buildRootErr  error
	buildRootOnce sync.Once

	buildMu    sync.Mutex
	buildOnces = map[string]*driverBuild{}
)

type driverBuild struct {
	once sync.Once
	path string
	skip string // reason to skip, if the flavour cannot be built here
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildRoot != "" {
		os.RemoveAll(buildRoot)
	}
	os.Exit(code)
}

// ccPath returns the C compiler to use ($CC or cc), or "" if none.
func ccPath() string {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	p, err := exec.LookPath(cc)
	if err != nil {
		return ""
	}
	return p
}

func requireCC(t *testing.T) string {
	t.Helper()
	cc := ccPath()
	if cc == "" {
		testenv.Missing(t, "no C compiler (cc or $CC) found (Debian package gcc)")
	}
	return cc
}

// runtimeDir writes both runtimes once (through WriteTo and
// WriteRuntimeTo) and returns their directory.
func runtimeDir(t *testing.T) string {
	t.Helper()
	buildRootOnce.Do(func() {
		buildRoot, buildRootErr = os.MkdirTemp("", "nnq-crt-test-")
		if buildRootErr == nil {
			buildRootErr = WriteTo(filepath.Join(buildRoot, "rt"), true)
		}
		if buildRootErr == nil {
			buildRootErr = WriteRuntimeTo(filepath.Join(buildRoot, "rt"), S8)
		}
	})
	if buildRootErr != nil {
		t.Fatal(buildRootErr)
	}
	return filepath.Join(buildRoot, "rt")
}

// driver returns the path of the test driver compiled for a flavour.
func driver(t *testing.T, flavour string) string {
	t.Helper()
	cc := requireCC(t)
	rt := runtimeDir(t)
	b := driverBuildFor(flavour)
	b.once.Do(func() {
		flags, ok := flavours[flavour]
		if !ok {
			b.err = fmt.Errorf("unknown flavour %q", flavour)
			return
		}
		if strings.HasSuffix(flavour, "-san") {
			if reason := sanitizerUnavailable(cc); reason != "" {
				b.skip = reason
				return
			}
		}
		out := filepath.Join(buildRoot, "driver-"+flavour)
		args := append(append(append([]string{}, flags...), "-I", rt, "-o", out), runtimeSources(rt)...)
		args = append(args, filepath.Join("c", "testdriver", "driver.c"))
		cmd := exec.Command(cc, args...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building driver (%s): %v\n%s %s\n%s", flavour, err, cc, strings.Join(args, " "), msg)
			return
		}
		b.path = out
	})
	return b.result(t)
}

// driverBuildFor returns the (once-only) build record of a driver flavour.
func driverBuildFor(flavour string) *driverBuild {
	buildMu.Lock()
	defer buildMu.Unlock()
	b := buildOnces[flavour]
	if b == nil {
		b = &driverBuild{}
		buildOnces[flavour] = b
	}
	return b
}

// result skips or fails t as the build did, else returns the driver path.
func (b *driverBuild) result(t *testing.T) string {
	t.Helper()
	if b.skip != "" {
		testenv.Missing(t, "%s", b.skip)
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// runtimeSources lists every .c file of the runtime (legacy set included)
// written into rt.
func runtimeSources(rt string) []string {
	var srcs []string
	for _, f := range Files(true) {
		if strings.HasSuffix(f, ".c") {
			srcs = append(srcs, filepath.Join(rt, f))
		}
	}
	return srcs
}

var (
	sanOnce   sync.Once
	sanReason string
)

// sanitizerUnavailable reports why ASan/UBSan programs cannot be built here ("" if they can).
func sanitizerUnavailable(cc string) string {
	sanOnce.Do(func() {
		dir := filepath.Join(buildRoot, "santest")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			sanReason = err.Error()
			return
		}
		src := filepath.Join(dir, "t.c")
		if err := os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644); err != nil {
			sanReason = err.Error()
			return
		}
		exe := filepath.Join(dir, "t")
		if msg, err := exec.Command(cc, "-fsanitize=address,undefined", "-o", exe, src).CombinedOutput(); err != nil {
			sanReason = fmt.Sprintf("compiler cannot build with -fsanitize=address,undefined: %v %s", err, msg)
			return
		}
		cmd := exec.Command(exe)
		cmd.Env = sanEnv()
		if msg, err := cmd.CombinedOutput(); err != nil {
			sanReason = fmt.Sprintf("sanitized programs cannot run here: %v %s", err, msg)
		}
	})
	return sanReason
}

func sanEnv() []string {
	return append(os.Environ(),
		"ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1",
		"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
}

// Array modes of the driver protocol.
const (
	modeNull    = 0
	modeIn      = 1
	modeOut     = 2
	modeScratch = 3
)

// Fill value of output/scratch arrays before the call (bytes 0x55).
func fillValue(bits int) int64 {
	if bits == 7 {
		return 0x55
	}
	return 0x5555
}

type dArray struct {
	bits int // 7 or 15
	mode int
	n    int     // length for out/scratch/null
	data []int64 // values for in
}

type dCase struct {
	fn      string
	scalars []int64
	arrays  []dArray
}

type dResult struct {
	status string // "v" or the integer
	arrays [][]int64
}

func in7(v ...int64) dArray  { return dArray{bits: 7, mode: modeIn, data: v} }
func in15(v ...int64) dArray { return dArray{bits: 15, mode: modeIn, data: v} }
func out7(n int) dArray      { return dArray{bits: 7, mode: modeOut, n: n} }
func out15(n int) dArray     { return dArray{bits: 15, mode: modeOut, n: n} }

func encodeCases(cases []dCase) []byte {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	for _, c := range cases {
		fmt.Fprintf(w, "%s %d", c.fn, len(c.scalars))
		for _, s := range c.scalars {
			w.WriteByte(' ')
			w.WriteString(strconv.FormatInt(s, 10))
		}
		fmt.Fprintf(w, " %d", len(c.arrays))
		for _, a := range c.arrays {
			n := a.n
			if a.mode == modeIn {
				n = len(a.data)
			}
			fmt.Fprintf(w, " %d %d %d", a.bits, a.mode, n)
			if a.mode == modeIn {
				for _, v := range a.data {
					w.WriteByte(' ')
					w.WriteString(strconv.FormatInt(v, 10))
				}
			}
		}
		w.WriteByte('\n')
	}
	w.Flush()
	return b.Bytes()
}

// runDriver runs all cases through one driver process and parses the results.
func runDriver(t *testing.T, exe string, cases []dCase) []dResult {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Stdin = bytes.NewReader(encodeCases(cases))
	cmd.Env = sanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("driver %s failed: %v\nstderr:\n%s", filepath.Base(exe), err, tail(stderr.String(), 4000))
	}
	if s := stderr.String(); strings.Contains(s, "runtime error") || strings.Contains(s, "Sanitizer") {
		t.Fatalf("driver %s reported:\n%s", filepath.Base(exe), tail(s, 4000))
	}
	return parseDriverOutput(t, stdout.String(), cases)
}

// parseDriverOutput parses the driver's results for cases.
func parseDriverOutput(t *testing.T, out string, cases []dCase) []dResult {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	res := make([]dResult, 0, len(cases))
	li := 0
	for ci, c := range cases {
		if li >= len(lines) || !strings.HasPrefix(lines[li], "S ") {
			t.Fatalf("case %d (%s): missing status line in driver output", ci, c.fn)
		}
		r := dResult{status: strings.TrimPrefix(lines[li], "S ")}
		li++
		for range c.arrays {
			if li >= len(lines) {
				t.Fatalf("case %d (%s): truncated driver output", ci, c.fn)
			}
			f := strings.Fields(lines[li])
			li++
			if len(f) < 2 || f[0] != "A" {
				t.Fatalf("case %d (%s): bad array line", ci, c.fn)
			}
			n, _ := strconv.Atoi(f[1])
			vals := make([]int64, 0, n)
			for _, s := range f[2:] {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					t.Fatalf("case %d (%s): %v", ci, c.fn, err)
				}
				vals = append(vals, v)
			}
			r.arrays = append(r.arrays, vals)
		}
		res = append(res, r)
	}
	if li != len(lines) {
		t.Fatalf("driver printed %d extra lines", len(lines)-li)
	}
	return res
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// firstDiff describes the first difference between got and want.
func firstDiff(got, want []int64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	n := 0
	first := -1
	for i := range got {
		if got[i] != want[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if first < 0 {
		return "equal"
	}
	return fmt.Sprintf("%d of %d elements differ, first at [%d]: got %d, want %d", n, len(got), first, got[first], want[first])
}
