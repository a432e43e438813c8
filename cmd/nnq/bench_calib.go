package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/playground"
)

// The calibration section of nnq bench: q7 test accuracy of every scheme
// on every bundled network and on a silence-heavy KWS variant, the wall
// time of a default conversion against a search conversion and against a
// PyTorch float pass over the same patterns.

// calibNet is one row group of the scheme table.
type calibNet struct {
	Name     string         `json:"name"`
	Float    float64        `json:"float_accuracy"`
	Test     int            `json:"test_patterns"`
	Schemes  []schemeResult `json:"schemes"`
	Silence  float64        `json:"silence_fraction,omitempty"`
	Patterns string         `json:"patterns"`
}

// calibBench is the section's result.
type calibBench struct {
	Nets []calibNet `json:"networks"`
	// Wall times (best of runs) of nnq.Convert on kws-dscnn with the
	// default scheme and with search, and of the PyTorch float pass over
	// the same calibration + test patterns.
	ConvertSeconds, SearchSeconds, TorchSeconds float64
	TorchPatterns                               int    `json:"torch_patterns"`
	TorchError                                  string `json:"torch_error,omitempty"`
	Runs                                        int    `json:"runs"`
}

// silenceFraction is the share of digital silence and near-silence clips
// in the silence-heavy variant (an always-on recording is mostly quiet).
const silenceFraction = 0.15

// calibSchemes are the schemes the table compares (q7), set up as
// nnq.Convert sets them up: auto scores on the held-out patterns, the
// search starts from that auto and splits them into fit and validation
// halves.
func calibSchemes(held *nnq.Patterns) []nnq.Scheme {
	h := held.Len() / 2
	return []nnq.Scheme{nnq.MinMax{}, nnq.Percentile{P: 99.9}, nnq.Percentile{P: 99.99}, nnq.MSE{}, nnq.Auto{Probe: held},
		nnq.Search{Base: nnq.Auto{Probe: held}, Fit: held.Head(h), Val: held.Tail(h)}}
}

func benchCalibNet(name, model string, train, held, test *nnq.Patterns, log io.Writer) (*calibNet, error) {
	fw, err := nnq.Load(model)
	if err != nil {
		return nil, err
	}
	cm, err := fw.ToCMSIS()
	if err != nil {
		return nil, err
	}
	st, err := nnq.Calibrate(cm, train, nil)
	if err != nil {
		return nil, err
	}
	r := &calibNet{Name: name, Test: test.Len()}
	for _, sc := range calibSchemes(held) {
		t0 := time.Now()
		q, err := nnq.Quantize(cm, st, nnq.QConfig{Bits: 8, Scheme: sc})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.Name(), err)
		}
		ev, err := q.EvaluateWith(test, nnq.EvalOptions{SensitivityPatterns: -1})
		if err != nil {
			return nil, err
		}
		r.Float = ev.Float
		r.Schemes = append(r.Schemes, schemeResult{Bits: 8, Scheme: sc.Name(), Accuracy: ev.Fixed, DropPts: 100 * (ev.Float - ev.Fixed),
			Agreement: ev.Agreement, Seconds: time.Since(t0).Seconds()})
		fmt.Fprintf(log, "bench: calib: %s q7 %-16s %.2f%% (float %.2f%%)\n", name, sc.Name(), 100*ev.Fixed, 100*ev.Float)
	}
	return r, nil
}

// runCalibBench measures the section. dataDir holds the bundled data;
// nets restricts the networks (nil: all).
func runCalibBench(dataDir string, runs int, log io.Writer) (*calibBench, error) {
	res := &calibBench{Runs: runs}
	kws := filepath.Join(dataDir, "kws", "patterns.arrow")
	type netSpec struct{ name, model, pats string }
	specs := []netSpec{
		{"kws-dscnn", "kws-dscnn", kws}, {"kws-cnn", "kws-cnn", kws}, {"mnist-cnn", "mnist-cnn", filepath.Join(dataDir, "mnist", "patterns.arrow")},
		{"kws-gru", "kws-gru", kws}, {"kws-dscnn, silence-heavy", "kws-dscnn", kws},
	}
	for _, s := range specs {
		all, err := nnq.ReadPatterns(s.pats)
		if err != nil {
			return nil, err
		}
		train, held, test := all.Split("train"), all.Split("val"), all.Split("test")
		frac := 0.0
		if strings.Contains(s.name, "silence") {
			frac = silenceFraction
			train, held, test = playground.SilenceHeavy(train, frac, 1), playground.SilenceHeavy(held, frac, 2), playground.SilenceHeavy(test, frac, 3)
		}
		r, err := benchCalibNet(s.name, filepath.Join(dataDir, s.model, "model.arrow"), train, held, test, log)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		r.Silence, r.Patterns = frac, s.pats
		res.Nets = append(res.Nets, *r)
	}
	// Wall times on kws-dscnn, as a user runs them (nnq convert defaults).
	model := filepath.Join(dataDir, "kws-dscnn", "model.arrow")
	best := func(sc nnq.Scheme) (float64, error) {
		b := math.Inf(1)
		for i := 0; i < runs; i++ {
			t0 := time.Now()
			if _, err := nnq.Convert(nnq.ConvertOptions{Model: model, Patterns: kws, Scheme: sc}); err != nil {
				return 0, err
			}
			b = math.Min(b, time.Since(t0).Seconds())
		}
		return b, nil
	}
	var err error
	if res.ConvertSeconds, err = best(nnq.Auto{}); err != nil {
		return nil, err
	}
	if res.SearchSeconds, err = best(nnq.Search{}); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "bench: calib: kws-dscnn convert %.1fs, search %.1fs\n", res.ConvertSeconds, res.SearchSeconds)
	res.TorchSeconds, res.TorchPatterns, err = torchFloatPass(model, kws, runs, log)
	if err != nil {
		res.TorchError = err.Error()
		fmt.Fprintf(log, "bench: calib: PyTorch pass: %v\n", err)
	}
	return res, nil
}

// torchFloatPass writes the float model (unprepared, as trained) and the
// calibration + test patterns of the file in the training scripts' raw
// exchange format, then times data/tools/torchbench/forward.py: PyTorch,
// 2 threads, batch 256, best of runs.
func torchFloatPass(model, pats string, runs int, log io.Writer) (float64, int, error) {
	script := filepath.Join(filepath.Dir(filepath.Dir(model)), "tools", "torchbench", "forward.py")
	if _, err := os.Stat(script); err != nil {
		return 0, 0, err
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			return 0, 0, fmt.Errorf("python3 not found")
		}
	}
	m, err := nnq.ReadModel(model)
	if err != nil {
		return 0, 0, err
	}
	all, err := nnq.ReadPatterns(pats)
	if err != nil {
		return 0, 0, err
	}
	p := all.Split("train", "val", "test")
	dir, err := os.MkdirTemp("", "nnq-torch-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	if err := writeTorchExchange(dir, m, p); err != nil {
		return 0, 0, err
	}
	out, err := exec.Command(py, script, dir, strconv.Itoa(runs)).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v: %s", script, err, strings.TrimSpace(string(out)))
	}
	var r struct {
		Seconds  float64 `json:"best_seconds"`
		Patterns int     `json:"patterns"`
		Accuracy float64 `json:"accuracy"`
	}
	if err := json.Unmarshal(out[strings.LastIndex(string(out), "{"):], &r); err != nil {
		return 0, 0, fmt.Errorf("%s: unexpected output %q", script, out)
	}
	fmt.Fprintf(log, "bench: calib: PyTorch float pass over %d patterns: %.2fs (accuracy %.4f)\n", r.Patterns, r.Seconds, r.Accuracy)
	return r.Seconds, r.Patterns, nil
}

// writeTorchExchange writes model.json (layers, attributes, tensor files)
// with one little-endian float32 file per tensor, and inputs.bin /
// labels.bin / patterns.json.
func writeTorchExchange(dir string, m *nnq.Model, p *nnq.Patterns) error {
	tens := map[string]map[string]any{}
	for n, t := range m.Tensors {
		f := fmt.Sprintf("t%d.bin", len(tens))
		if err := writeF32(filepath.Join(dir, f), t.Data); err != nil {
			return err
		}
		tens[n] = map[string]any{"shape": t.Shape, "file": f}
	}
	g := map[string]any{"name": m.Name, "layout": m.Layout, "input": map[string]any{"shape": m.InputShape}, "layers": m.Layers, "tensors": tens}
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.json"), b, 0o644); err != nil {
		return err
	}
	if err := writeF32(filepath.Join(dir, "inputs.bin"), p.Inputs); err != nil {
		return err
	}
	lb := make([]byte, 4*len(p.Labels))
	for i, l := range p.Labels {
		lb[4*i], lb[4*i+1], lb[4*i+2], lb[4*i+3] = byte(l), byte(l>>8), byte(l>>16), byte(l>>24)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.bin"), lb, 0o644); err != nil {
		return err
	}
	meta, _ := json.Marshal(map[string]any{"shape": p.Shape, "count": p.Len()})
	return os.WriteFile(filepath.Join(dir, "patterns.json"), meta, 0o644)
}

func writeF32(path string, v []float32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		u := math.Float32bits(x)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return os.WriteFile(path, b, 0o644)
}

// calibHeading starts the section in BENCHMARKS.md.
const calibHeading = "\n## Schemes (q7 test accuracy, target cortex-m4)\n"

// runBenchCalibOnly measures the calib section alone and replaces it in
// DIR/BENCHMARKS.md and DIR/benchmarks.json ("calibration").
func runBenchCalibOnly(dataDir string, runs int, out string, stdout, stderr io.Writer) error {
	c, err := runCalibBench(dataDir, runs, stderr)
	if err != nil {
		return fmt.Errorf("calib section: %w", err)
	}
	md := calibMarkdown(c, gitCommit(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprint(stdout, md)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return replaceBenchSection(out, calibHeading, md, "calibration", c)
}

// calibMarkdown renders the section.
func calibMarkdown(c *calibBench, commit, date string) string {
	var b strings.Builder
	b.WriteString(calibHeading)
	fmt.Fprintf(&b, "\nMeasured on commit %s (%s); `nnq bench --only calib` reruns this section alone. Statistics on the train split, the held-out val split for `auto` and `search`, accuracy on the test split. The silence-heavy variant adds ", commit, date)
	fmt.Fprintf(&b, "%.0f%% digital-silence and near-silence clips (label silence) to every split of the KWS patterns.\n\n", 100*silenceFraction)
	if len(c.Nets) > 0 {
		b.WriteString("| network | float |")
		for _, s := range c.Nets[0].Schemes {
			fmt.Fprintf(&b, " %s |", s.Scheme)
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(c.Nets[0].Schemes)) + "\n")
		for _, n := range c.Nets {
			fmt.Fprintf(&b, "| %s | %.2f%% |", n.Name, 100*n.Float)
			for _, s := range n.Schemes {
				fmt.Fprintf(&b, " %.2f%% |", 100*s.Accuracy)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\nkws-dscnn wall times (best of %d, `nnq convert` defaults): default conversion %.1f s, search %.1f s (%.2fx)", c.Runs, c.ConvertSeconds, c.SearchSeconds, c.SearchSeconds/c.ConvertSeconds)
	if c.TorchSeconds > 0 {
		fmt.Fprintf(&b, "; PyTorch float pass over the same %d patterns (2 threads, batch 256) %.1f s: the default conversion takes %.2fx its time.\n", c.TorchPatterns, c.TorchSeconds, c.ConvertSeconds/c.TorchSeconds)
	} else {
		fmt.Fprintf(&b, "; PyTorch float pass not measured: %s.\n", c.TorchError)
	}
	return b.String()
}
