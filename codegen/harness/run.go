package harness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is what one Run returns.
type Result struct {
	// Outputs holds nPatterns × Info.OutputSize nn_out_t, little-endian.
	Outputs []byte
	// Trace holds, for each pattern, each layer's output bytes in layer
	// order (nil unless the binary was built with Trace).
	Trace []byte
	// TraceLayerBytes[l] is the size of layer l's trace data, the same for
	// every pattern (Trace builds only).
	TraceLayerBytes []int
	// Instructions is the exact number of guest instructions executed by
	// each nn_run call, from its first instruction to its return (Cortex-M
	// only; nil on the host). In Trace builds the harness's trace work is
	// left out, but the generated code's calls to nnq_trace are in.
	Instructions []uint64
	// LayerInstructions[p][l] is the count for layer l of pattern p
	// (Cortex-M Trace builds only). Layer 0 includes nn_run's prologue,
	// the last layer its epilogue, so each pattern's layers sum to
	// Instructions[p].
	LayerInstructions [][]uint64
	// Log is what the program (and QEMU) printed.
	Log string
	// Elapsed is the wall time of the run.
	Elapsed time.Duration

	n int
}

// Output returns pattern i's output bytes.
func (r *Result) Output(i int) []byte {
	if r.n == 0 {
		return nil
	}
	n := len(r.Outputs) / r.n
	return r.Outputs[i*n : (i+1)*n]
}

// PatternTrace returns pattern i's trace bytes (all layers).
func (r *Result) PatternTrace(i int) []byte {
	if r.Trace == nil || r.n == 0 {
		return nil
	}
	n := len(r.Trace) / r.n
	return r.Trace[i*n : (i+1)*n]
}

// LayerTrace returns layer l's trace bytes for pattern i.
func (r *Result) LayerTrace(i, l int) []byte {
	p := r.PatternTrace(i)
	if p == nil || l < 0 || l >= len(r.TraceLayerBytes) {
		return nil
	}
	off := 0
	for _, n := range r.TraceLayerBytes[:l] {
		off += n
	}
	return p[off : off+r.TraceLayerBytes[l]]
}

// RunError is returned when the program exits non-zero.
type RunError struct {
	Target   string
	ExitCode int
	Log      string
}

func (e *RunError) Error() string {
	why := map[int]string{
		2:  "usage or build mismatch",
		3:  "I/O error",
		4:  "nn_run returned an error",
		5:  "nnq_trace contract violated",
		70: "CPU fault",
		71: "unexpected interrupt",
	}[e.ExitCode]
	if why == "" {
		why = "exit status " + strconv.Itoa(e.ExitCode)
	} else {
		why = fmt.Sprintf("exit status %d, %s", e.ExitCode, why)
	}
	return fmt.Sprintf("harness: run on %s failed (%s):\n%s", e.Target, why, strings.TrimSpace(e.Log))
}

// Run runs the network on nPatterns patterns stored back to back in inputs
// (each Info.InputBytes() long). On Cortex-M it runs under qemu-system-arm
// with the counting plugin. Cancel ctx to stop a run that hangs.
func (b *Binary) Run(ctx context.Context, inputs []byte, nPatterns int) (*Result, error) {
	if b.dir == "" {
		return nil, errors.New("harness: binary is closed")
	}
	if nPatterns < 0 || len(inputs) != nPatterns*b.Info.InputBytes() {
		return nil, fmt.Errorf("harness: %d input bytes for %d patterns of %d bytes", len(inputs), nPatterns, b.Info.InputBytes())
	}
	res := &Result{n: nPatterns}
	if nPatterns == 0 {
		res.Outputs = []byte{}
		if b.Trace {
			res.Trace = []byte{}
		}
		return res, nil
	}
	dir, err := os.MkdirTemp(b.dir, "run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "in.bin"), inputs, 0o644); err != nil {
		return nil, err
	}
	progArgs := []string{"in.bin", "out.bin"}
	if b.Trace {
		progArgs = append(progArgs, "trace.bin", "layers.bin")
	}

	countsPath := filepath.Join(dir, "counts.txt")
	res.Log, res.Elapsed, err = b.execIn(ctx, dir, progArgs, countsPath)
	if err != nil {
		return nil, err
	}

	res.Outputs, err = os.ReadFile(filepath.Join(dir, "out.bin"))
	if err != nil {
		return nil, fmt.Errorf("harness: run on %s wrote no output: %w\n%s", b.Target.Name, err, res.Log)
	}
	if want := nPatterns * b.Info.OutputBytes(); len(res.Outputs) != want {
		return nil, fmt.Errorf("harness: run on %s wrote %d output bytes, want %d\n%s", b.Target.Name, len(res.Outputs), want, res.Log)
	}
	if b.Trace {
		res.Trace, err = os.ReadFile(filepath.Join(dir, "trace.bin"))
		if err != nil {
			return nil, fmt.Errorf("harness: run on %s wrote no trace: %w", b.Target.Name, err)
		}
		lb, err := os.ReadFile(filepath.Join(dir, "layers.bin"))
		if err != nil {
			return nil, fmt.Errorf("harness: run on %s wrote no layer sizes: %w", b.Target.Name, err)
		}
		if len(lb) != 4*b.Info.NumLayers {
			return nil, fmt.Errorf("harness: run on %s wrote %d bytes of layer sizes, want %d", b.Target.Name, len(lb), 4*b.Info.NumLayers)
		}
		total := 0
		for l := 0; l < b.Info.NumLayers; l++ {
			n := int(binary.LittleEndian.Uint32(lb[4*l:]))
			res.TraceLayerBytes = append(res.TraceLayerBytes, n)
			total += n
		}
		if len(res.Trace) != total*nPatterns {
			return nil, fmt.Errorf("harness: trace of %d bytes, want %d patterns × %d bytes", len(res.Trace), nPatterns, total)
		}
	}
	if !b.Target.IsHost() {
		if err := b.readCounts(countsPath, nPatterns, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// execIn runs the program in dir with progArgs: natively on the host,
// under qemu-system-arm with the counting plugin (writing countsPath) on
// Cortex-M. It returns what the program printed and the wall time.
func (b *Binary) execIn(ctx context.Context, dir string, progArgs []string, countsPath string) (string, time.Duration, error) {
	var cmd *exec.Cmd
	if b.Target.IsHost() {
		cmd = exec.CommandContext(ctx, b.Path, progArgs...)
		cmd.Env = append(os.Environ(), "ASAN_OPTIONS=abort_on_error=0:detect_leaks=1", "UBSAN_OPTIONS=print_stacktrace=1")
	} else {
		qemu, err := lookTool(qemuARM, "qemu-system-arm")
		if err != nil {
			return "", 0, err
		}
		plugin, err := countPlugin(ctx)
		if err != nil {
			return "", 0, err
		}
		semi := "enable=on,target=native,arg=nnq_main"
		for _, a := range progArgs {
			semi += ",arg=" + a
		}
		m := b.markers
		pl := fmt.Sprintf("%s,out=%s,start=0x%x,end=0x%x", plugin, countsPath, m.start, m.end)
		if m.hasPause {
			pl += fmt.Sprintf(",pause=0x%x,resume=0x%x", m.pause, m.resume)
		}
		if strings.Contains(plugin+countsPath, ",") {
			return "", 0, fmt.Errorf("harness: paths with commas cannot be passed to QEMU: %s", countsPath)
		}
		cmd = exec.CommandContext(ctx, qemu,
			"-M", b.Target.machine,
			"-nographic", "-monitor", "none", "-serial", "none",
			"-semihosting-config", semi,
			"-kernel", b.Path,
			"-plugin", pl)
	}
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	var log bytes.Buffer
	cmd.Stdout = &log
	cmd.Stderr = &log
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	out := log.String()
	if err != nil {
		if ctx.Err() != nil {
			return out, elapsed, fmt.Errorf("harness: run on %s: %w\n%s", b.Target.Name, ctx.Err(), strings.TrimSpace(out))
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, elapsed, &RunError{Target: b.Target.Name, ExitCode: ee.ExitCode(), Log: out}
		}
		return out, elapsed, fmt.Errorf("harness: run on %s: %w", b.Target.Name, err)
	}
	return out, elapsed, nil
}

// readCounts parses the plugin's output (see files/nnq_count_plugin.c).
func (b *Binary) readCounts(path string, nPatterns int, res *Result) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("harness: counting plugin wrote nothing: %w\n%s", err, res.Log)
	}
	totals, segments, err := parseCounts(data)
	if err != nil {
		return err
	}
	res.Instructions = totals
	if b.Trace {
		L := b.Info.NumLayers
		for _, segs := range segments {
			if len(segs) != L+1 {
				return fmt.Errorf("harness: %d trace segments in one inference, want %d layers + 1", len(segs), L)
			}
			layers := append([]uint64(nil), segs[:L]...)
			if L > 0 {
				layers[L-1] += segs[L]
			}
			res.LayerInstructions = append(res.LayerInstructions, layers)
		}
	}
	if len(res.Instructions) != nPatterns {
		return fmt.Errorf("harness: counting plugin saw %d inferences, want %d", len(res.Instructions), nPatterns)
	}
	return nil
}

// parseCounts reads the plugin's "R total nseg seg..." lines: one total
// and its segments per counted region.
func parseCounts(data []byte) (totals []uint64, segments [][]uint64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "E":
			return nil, nil, fmt.Errorf("harness: counting plugin: %s", strings.Join(f[1:], " "))
		case "R":
			nums := make([]uint64, len(f)-1)
			for i, s := range f[1:] {
				nums[i], err = strconv.ParseUint(s, 10, 64)
				if err != nil {
					return nil, nil, fmt.Errorf("harness: bad plugin line %q", sc.Text())
				}
			}
			if len(nums) < 2 || uint64(len(nums)-2) != nums[1] {
				return nil, nil, fmt.Errorf("harness: bad plugin line %q", sc.Text())
			}
			totals = append(totals, nums[0])
			segments = append(segments, nums[2:])
		}
	}
	return totals, segments, nil
}

var pluginMu sync.Mutex

// countPlugin builds the QEMU counting plugin with the host compiler, once
// per plugin source, into the user cache directory (falling back to the
// temporary directory), and returns its path.
func countPlugin(ctx context.Context) (string, error) {
	pluginMu.Lock()
	defer pluginMu.Unlock()
	src, err := files.ReadFile("files/nnq_count_plugin.c")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(src)
	name := "nnq_count_plugin-" + hex.EncodeToString(sum[:8]) + ".so"
	var dirs []string
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "nnq", "harness"))
	}
	dirs = append(dirs, filepath.Join(os.TempDir(), "nnq-harness-cache"))
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Size() > 0 {
			return p, nil
		}
	}
	cc, err := hostCC()
	if err != nil {
		return "", err
	}
	var lastErr error
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			lastErr = err
			continue
		}
		srcPath := filepath.Join(d, strings.TrimSuffix(name, ".so")+".c")
		if err := os.WriteFile(srcPath, src, 0o644); err != nil {
			lastErr = err
			continue
		}
		tmp, err := os.CreateTemp(d, "plugin-*.so")
		if err != nil {
			lastErr = err
			continue
		}
		tmp.Close()
		out, err := exec.CommandContext(ctx, cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
			"-o", tmp.Name(), srcPath).CombinedOutput()
		if err != nil {
			os.Remove(tmp.Name())
			return "", fmt.Errorf("harness: building the QEMU counting plugin failed: %v\n%s", err, out)
		}
		p := filepath.Join(d, name)
		if err := os.Rename(tmp.Name(), p); err != nil {
			os.Remove(tmp.Name())
			lastErr = err
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("harness: no writable cache directory for the QEMU plugin: %v", lastErr)
}
