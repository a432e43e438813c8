package main

// The stream section of nnq bench (also alone: bench --only stream): nnq convert on 10^4 and 10^5 generated
// patterns, each in a child process, with its wall time and peak resident
// set side by side.

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nnq-toolkit/nnq/nnq"
)

// streamRun is one conversion of the stream section.
type streamRun struct {
	Patterns  int     `json:"patterns"`
	FileBytes int64   `json:"file_bytes"`
	Seconds   float64 `json:"wall_seconds"`
	PeakRSS   int64   `json:"peak_rss_bytes"`
}

// streamSizes are the pattern counts the stream section converts.
var streamSizes = []int{10_000, 100_000}

// benchStreamOnly runs the stream section alone (bench --only stream) and
// prints it.
func benchStreamOnly(model string, stdout, stderr io.Writer) error {
	runs, err := runStreamBench(streamSizes, model, stderr)
	if err != nil {
		return fmt.Errorf("stream section: %w", err)
	}
	fmt.Fprint(stdout, streamMarkdown(runs, model))
	return nil
}

// runStreamBench converts generated pattern files of each size with the
// nnq binary itself, for model (a generated dense network when "").
func runStreamBench(sizes []int, model string, log io.Writer) ([]streamRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nnq-bench-stream-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []streamRun
	for _, n := range sizes {
		sub := filepath.Join(dir, fmt.Sprint(n))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		m, pats, err := model, "", error(nil)
		if m == "" {
			m, pats, err = writeStreamFiles(sub, n)
		} else {
			pats = filepath.Join(sub, "patterns.arrow")
			err = writeModelPatterns(m, pats, n)
		}
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(pats)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, "convert", "-q", "--model", m, "--patterns", pats, "--scheme", "minmax", "--out", filepath.Join(sub, "out"))
		var se strings.Builder
		cmd.Stderr = &se
		t0 := time.Now()
		peak, err := runPeak(cmd)
		if err != nil {
			return nil, fmt.Errorf("convert %d patterns: %v\n%s", n, err, se.String())
		}
		r := streamRun{Patterns: n, FileBytes: st.Size(), Seconds: time.Since(t0).Seconds(), PeakRSS: peak}
		fmt.Fprintf(log, "bench stream: %d patterns (%d MB): %.1f s, peak RSS %d MB\n", n, r.FileBytes>>20, r.Seconds, r.PeakRSS>>20)
		os.RemoveAll(sub)
		out = append(out, r)
	}
	return out, nil
}

// runPeak runs cmd and returns its peak resident set in bytes: the
// VmHWM of /proc/PID/status (the high-water mark of the child's own
// memory since its exec), polled every 2 ms until it exits. The child's
// rusage is no good here: Linux folds the parent's own peak into a
// vforked child's ru_maxrss, and this process may have been larger.
func runPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	done := make(chan struct{})
	var peak int64
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile(status)
			if err != nil {
				return
			}
			_, rest, ok := strings.Cut(string(b), "VmHWM:")
			if !ok {
				return // the process has exited (a zombie has no memory)
			}
			var kb int64
			fmt.Sscan(rest, &kb)
			peak = max(peak, kb*1024)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	err := cmd.Wait()
	<-done
	return peak, err
}

// writeStreamFiles writes a small generated network over 49x10 inputs (the
// shape of the KWS features) and n random patterns for it, half val, half
// test.
func writeStreamFiles(dir string, n int) (model, pats string, err error) {
	r := rand.New(rand.NewSource(22))
	const h, w, classes = 49, 10, 12
	rt := func(name string, shape ...int) *nnq.Tensor { return randTensor(r, 0.1, name, shape...) }
	m := &nnq.Model{Name: "stream", Layout: nnq.NCHW, InputShape: []int{1, h, w}, Tensors: map[string]*nnq.Tensor{}}
	for _, t := range []*nnq.Tensor{rt("fc1.w", 32, h*w), rt("fc1.b", 32), rt("fc2.w", classes, 32), rt("fc2.b", classes)} {
		m.Tensors[t.Name] = t
	}
	m.Layers = []*nnq.Layer{
		{Name: "flat", Op: nnq.OpFlatten},
		{Name: "fc1", Op: nnq.OpDense, Params: map[string]string{"weight": "fc1.w", "bias": "fc1.b"}},
		{Name: "relu", Op: nnq.OpReLU},
		{Name: "fc2", Op: nnq.OpDense, Params: map[string]string{"weight": "fc2.w", "bias": "fc2.b"}},
		{Name: "prob", Op: nnq.OpSoftmax},
	}
	model = filepath.Join(dir, "stream.arrow")
	if err := nnq.WriteModel(model, m); err != nil {
		return "", "", err
	}
	pats = filepath.Join(dir, "patterns.arrow")
	return model, pats, writeRandomPatterns(pats, []int{1, h, w}, nnq.NCHW, classes, n)
}

// randTensor is a tensor of normal values with the given deviation.
func randTensor(r *rand.Rand, dev float64, name string, shape ...int) *nnq.Tensor {
	k := 1
	for _, d := range shape {
		k *= d
	}
	d := make([]float32, k)
	for i := range d {
		d[i] = float32(r.NormFloat64() * dev)
	}
	return &nnq.Tensor{Name: name, Shape: shape, Data: d}
}

// writeModelPatterns writes n random patterns for the model file.
func writeModelPatterns(model, pats string, n int) error {
	m, err := nnq.Load(model)
	if err != nil {
		return err
	}
	pm, err := m.Prepare()
	if err != nil {
		return err
	}
	shapes, err := pm.Shapes()
	if err != nil {
		return err
	}
	layout := nnq.NCHW
	if m.Layout == nnq.NHWC {
		layout = nnq.NHWC
	}
	return writeRandomPatterns(pats, m.InputShape, layout, shapes[pm.Output()].Size(), n)
}

// writeRandomPatterns writes n standard normal patterns with random labels,
// half val, half test, batch by batch (in bounded memory).
func writeRandomPatterns(path string, shape []int, layout nnq.Layout, classes, n int) error {
	r := rand.New(rand.NewSource(23))
	pw, err := nnq.CreatePatterns(path, shape, layout, true)
	if err != nil {
		return err
	}
	size := 1
	for _, d := range shape {
		size *= d
	}
	x := make([]float32, size)
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		if err := pw.Append(x, r.Intn(classes), []string{"val", "test"}[i%2]); err != nil {
			pw.Close()
			return err
		}
	}
	return pw.Close()
}

// streamMarkdown is the stream section of BENCHMARKS.md.
func streamMarkdown(runs []streamRun, model string) string {
	var b strings.Builder
	b.WriteString("\n## Streaming: `nnq convert --scheme minmax` on generated patterns\n\n")
	if model == "" {
		model = "A generated dense network over 49x10 inputs"
	} else {
		model = "`" + filepath.ToSlash(model) + "`"
	}
	fmt.Fprintf(&b, "%s, random patterns (half val, half test), each conversion in a child process; peak RSS is the child's VmHWM.\n\n", model)
	b.WriteString("| patterns | file | wall | peak RSS |\n|---|---|---|---|\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %d | %.0f MB | %.1f s | %.0f MB |\n", r.Patterns, float64(r.FileBytes)/1e6, r.Seconds, float64(r.PeakRSS)/1e6)
	}
	if len(runs) == 2 {
		fmt.Fprintf(&b, "\nRatios (largest / smallest): wall %.2fx, peak RSS %.2fx.\n", runs[1].Seconds/runs[0].Seconds, float64(runs[1].PeakRSS)/float64(runs[0].PeakRSS))
	}
	return b.String()
}
