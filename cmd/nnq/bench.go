package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/progress"
)

// benchNet is one network of the benchmark.
type benchNet struct {
	Name, Model, Patterns string
}

var bundledNets = []benchNet{
	{"kws-dscnn", "data/kws-dscnn/model.arrow", "data/kws/patterns.arrow"},
	{"kws-cnn", "data/kws-cnn/model.arrow", "data/kws/patterns.arrow"},
	{"mnist-cnn", "data/mnist-cnn/model.arrow", "data/mnist/patterns.arrow"},
}

// schemeResult is the accuracy of one (bits, scheme) conversion.
type schemeResult struct {
	Bits      int     `json:"bits"`
	Scheme    string  `json:"scheme"`
	Accuracy  float64 `json:"fixed_accuracy"`
	DropPts   float64 `json:"drop_points"`
	Agreement float64 `json:"agreement"`
	Seconds   float64 `json:"seconds"`
}

type layerInstr struct {
	Name         string `json:"name"`
	Kernel       string `json:"kernel"`
	Instructions uint64 `json:"instructions"`
}

// netResult is everything measured on one network.
type netResult struct {
	Name          string         `json:"name"`
	Params        int            `json:"params"`
	MACs          int64          `json:"macs"`
	CalibPatterns int            `json:"calibration_patterns"`
	TestPatterns  int            `json:"test_patterns"`
	FloatAccuracy float64        `json:"float_accuracy"`
	Schemes       []schemeResult `json:"schemes"`
	// Memory of the q7 export with the default scheme (and q15).
	Memory map[string]memResult `json:"memory"`
	// Cortex-M4 (q7, default scheme).
	M4 *cortexProfile `json:"cortex_m4,omitempty"`
	// Toolkit speed.
	CalibPerSec      float64 `json:"calibration_patterns_per_second"`
	SimPerSec        float64 `json:"go_sim_patterns_per_second"`
	HostCPerSec      float64 `json:"host_c_patterns_per_second"`
	SimOverC         float64 `json:"go_sim_time_over_host_c_time"`
	ConvertSeconds   float64 `json:"convert_seconds_median"`
	ConvertRuns      int     `json:"convert_runs"`
	HostBitExact     bool    `json:"host_bit_exact"`
	HostMismatches   int     `json:"host_mismatches"`
	HostVerifiedPats int     `json:"host_verified_patterns"`
	// Frontend: the exported input front end (bench_frontend.go).
	Frontend *frontendBench `json:"frontend,omitempty"`
}

type memResult struct {
	Arena       int `json:"arena_bytes"`
	LowerBound  int `json:"arena_lower_bound"`
	Naive       int `json:"arena_naive"`
	WeightBytes int `json:"weights_bytes"`
}

type benchReport struct {
	Date     string      `json:"date"`
	Commit   string      `json:"commit"`
	Machine  string      `json:"machine"`
	Cores    int         `json:"cores"`
	GoVer    string      `json:"go"`
	Runs     int         `json:"runs"`
	Networks []netResult `json:"networks"`
	S8       []s8Row     `json:"s8,omitempty"`
	// Runtime is nnq's kernels next to the CMSIS-NN library on Cortex-M4,
	// per layer (bench_runtime.go).
	Runtime *runtimeReport `json:"runtime,omitempty"`
	// Calib is the calibration section (bench_calib.go).
	Calib *calibBench `json:"calibration,omitempty"`
	// Stream is the streaming section (bench_stream.go).
	Stream []streamRun `json:"stream,omitempty"`
}

func init() {
	c := &command{name: "bench", usage: "bench [--out DIR] [--nets name=model,patterns;...] [--runs N] [--no-cortex-m] [--data DIR] [--only runtime|s8|calib|frontend|stream] [--cmsis PATH] [--stream-model M]",
		help: "measure accuracy, memory, Cortex-M4 instructions and toolkit speed on the bundled networks; write DIR/BENCHMARKS.md and DIR/benchmarks.json"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		out := fs.String("out", "docs", "directory for BENCHMARKS.md and benchmarks.json")
		nets := fs.String("nets", "", "networks as name=model,patterns;... (default: the bundled ones)")
		runs := fs.Int("runs", 3, "repetitions of each timing (the median is reported)")
		noM := fs.Bool("no-cortex-m", false, "skip the emulated Cortex-M4 measurements")
		maxCalib := fs.Int("max-calib", 4000, "calibration patterns per network")
		dataDir := fs.String("data", "data", "bundled data directory (the calib section)")
		streamModel := fs.String("stream-model", "", "model of the stream section (default: a generated dense network over 49x10 inputs)")
		searchVal := fs.Int("search-val", 1000, "held-out calibration patterns (the val split) for the auto scheme's refinement and the search's fit/validation halves")
		only := fs.String("only", "", "run one section only: runtime (nnq's kernels next to the CMSIS-NN library on Cortex-M4, per layer; DIR/BENCHMARKS_RUNTIME.md, bench_runtime.go), s8 (today's CMSIS-NN s8/s16 rows of all bundled networks, replaced in DIR/BENCHMARKS.md and DIR/benchmarks.json), calib (every scheme on every bundled network and the default conversion's wall time next to a PyTorch float pass, replaced in DIR/BENCHMARKS.md and DIR/benchmarks.json), frontend (the input front end, bench_frontend.go), stream (convert on 10^4 and 10^5 generated patterns: wall time and peak RSS, bench_stream.go)")
		cmsis := fs.String("cmsis", os.Getenv("CMSIS_PATH"), "CMSIS_5 tree (5.x up to 5.9.0) whose library the runtime section (in the full run and --only runtime) counts next to nnq's kernels")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return errUsage
		}
		list := bundledNets
		err := checkOptions(
			outputDir("--out", out, ""),
			atLeast("--runs", runs, 1, ""),
			atLeast("--max-calib", maxCalib, 1, ""),
			atLeast("--search-val", searchVal, 1, ""),
			inputFile("--stream-model", streamModel, false),
			rule{"--nets", func() (err error) { list, err = parseNets(*nets); return err }},
			optional(only, oneOf("--only", only, "runtime", "s8", "calib", "frontend", "stream")),
			inputDir("--cmsis", cmsis),
			cmsisDSPRule(),
		)
		if err != nil {
			return err
		}
		switch *only {
		case "runtime":
			if *nets == "" {
				list = runtimeNets
			}
			return runBenchRuntime(list, *maxCalib, *cmsis, *out, stdout, stderr)
		case "s8":
			s8list := s8Nets
			if *nets != "" {
				s8list = list
			}
			return runBenchS8(s8list, !*noM, *maxCalib, *out, stdout, stderr)
		case "calib":
			return runBenchCalibOnly(*dataDir, *runs, *out, stdout, stderr)
		case "frontend":
			return benchFrontendOnly(list, *maxCalib, stdout, stderr)
		case "stream":
			return benchStreamOnly(*streamModel, stdout, stderr)
		}
		rep := benchReport{Date: time.Now().UTC().Format("2006-01-02"), Commit: gitCommit(), Machine: cpuModel(), Cores: runtime.NumCPU(),
			GoVer: runtime.Version(), Runs: *runs}
		if *nets == "" {
			if rep.Stream, err = runStreamBench(streamSizes, *streamModel, stderr); err != nil {
				return fmt.Errorf("stream section: %w", err)
			}
			c, err := runCalibBench(*dataDir, *runs, stderr)
			if err != nil {
				return fmt.Errorf("calib section: %w", err)
			}
			rep.Calib = c
		}
		for _, n := range list {
			fmt.Fprintf(stderr, "bench: %s\n", n.Name)
			r, err := benchOne(n, *runs, !*noM, *maxCalib, *searchVal, stderr)
			if err != nil {
				return fmt.Errorf("%s: %w", n.Name, err)
			}
			rep.Networks = append(rep.Networks, *r)
		}
		if !*noM {
			rl := runtimeNets
			if *nets != "" {
				rl = list
			}
			if rep.Runtime, err = measureRuntime(rl, *maxCalib, *cmsis, stderr); err != nil {
				return fmt.Errorf("runtime section: %w", err)
			}
			if err := writeRuntimeFiles(rep.Runtime, *out); err != nil {
				return err
			}
		}
		{
			s8list := s8Nets
			if *nets != "" {
				s8list = list
			}
			s8rows, err := benchS8(s8list, !*noM, *maxCalib, os.Getenv("CMSIS_NN_PATH"), stderr)
			if err != nil {
				return err
			}
			rep.S8 = s8rows
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		jsonName, mdName := "benchmarks.json", "BENCHMARKS.md"
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(filepath.Join(*out, jsonName), append(b, '\n'), 0o644); err != nil {
			return err
		}
		md := benchMarkdown(&rep)
		if rep.Runtime != nil {
			md += "\n## nnq's kernels next to the CMSIS-NN library (Cortex-M4, per layer)\n\n" + runtimeTables(rep.Runtime, "###")
		}
		md += benchS8Markdown(rep.S8, rep.Commit, rep.Date)
		if rep.Calib != nil {
			md += calibMarkdown(rep.Calib, rep.Commit, rep.Date)
		}
		if rep.Stream != nil {
			md += streamMarkdown(rep.Stream, *streamModel)
		}
		if err := os.WriteFile(filepath.Join(*out, mdName), []byte(md), 0o644); err != nil {
			return err
		}
		fmt.Fprint(stdout, md)
		return nil
	}
	register(c)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func benchOne(n benchNet, runs int, cortexM bool, maxCalib, searchVal int, log io.Writer) (*netResult, error) {
	pr := progress.New(log) // bars for calibration, search and evaluation on a terminal
	logf := func(f string, a ...any) { pr.Log(fmt.Sprintf("bench: %s: "+f, append([]any{n.Name}, a...)...)) }
	fw, cm, test, calib, val, err := loadBenchNet(n)
	if err != nil {
		return nil, err
	}
	calib = calib.Head(maxCalib)
	val = val.Head(searchVal)
	r := &netResult{Name: n.Name, CalibPatterns: calib.Len(), TestPatterns: test.Len(), Memory: map[string]memResult{}}
	info, _ := fw.Info()
	for _, li := range info {
		r.Params += li.Params
		r.MACs += li.MACs
	}
	// Calibration throughput: median of runs.
	var st *nnq.Stats
	var times []float64
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		if st, err = nnq.Calibrate(cm, calib, pr.Bar(n.Name+" calibrate")); err != nil {
			return nil, err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	r.CalibPerSec = float64(calib.Len()) / median(times)
	logf("calibration %.0f patterns/s", r.CalibPerSec)
	schemes := calibSchemes(val)
	models := map[string]*nnq.QModel{}
	for _, bits := range []int{8, 16} {
		for _, sc := range schemes {
			t0 := time.Now()
			q, err := nnq.Quantize(cm, st, nnq.QConfig{Bits: bits, Scheme: sc, Target: "cortex-m4",
				Progress: pr.Bar(fmt.Sprintf("%s q%d search", n.Name, bits-1))})
			if err != nil {
				return nil, fmt.Errorf("q%d %s: %w", bits, sc.Name(), err)
			}
			ev, err := q.EvaluateWith(test, nnq.EvalOptions{SensitivityPatterns: -1, Progress: pr.Bar(fmt.Sprintf("%s q%d %s", n.Name, bits-1, sc.Name()))})
			if err != nil {
				return nil, err
			}
			r.FloatAccuracy = ev.Float
			r.Schemes = append(r.Schemes, schemeResult{Bits: bits, Scheme: sc.Name(), Accuracy: ev.Fixed, DropPts: 100 * (ev.Float - ev.Fixed),
				Agreement: ev.Agreement, Seconds: time.Since(t0).Seconds()})
			models[fmt.Sprint(bits, sc.Name())] = q
			logf("q%d %-16s %.2f%% (float %.2f%%) in %.1fs", bits, sc.Name(), 100*ev.Fixed, 100*ev.Float, time.Since(t0).Seconds())
		}
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "nnq-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, bits := range []int{8, 16} {
		q := models[fmt.Sprint(bits, "auto")]
		dir := filepath.Join(tmp, fmt.Sprint("q", bits))
		proj, err := codegen.Export(q, dir, codegen.Options{Patterns: test})
		if err != nil {
			return nil, err
		}
		r.Memory[q.TypeName()] = memResult{Arena: proj.Mem.ArenaBytes, LowerBound: proj.Mem.LowerBound, Naive: proj.Mem.Naive, WeightBytes: proj.WeightBytes}
	}
	// Go simulator vs compiled host C on the same quantized patterns (q7).
	q := models["8auto"]
	dir := filepath.Join(tmp, "q8")
	in := quantizedBytes(q, test)
	sim, err := q.NewSim(false)
	if err != nil {
		return nil, err
	}
	host, _ := harness.TargetByName("host")
	bin, err := harness.Build(ctx, host, harness.BuildOptions{ProjectDir: dir, ExtraCFlags: dspFlags(q)})
	if err != nil {
		return nil, err
	}
	defer bin.Close()
	var simT, cT []float64
	var res *harness.Result
	sz := q.Float.InputSize()
	xs := make([]int16, test.Len()*sz)
	for k := 0; k < test.Len(); k++ {
		q.QuantizeInput(test.Input(k), xs[k*sz:(k+1)*sz])
	}
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		for k := 0; k < test.Len(); k++ {
			if _, err := sim.Run(xs[k*sz : (k+1)*sz]); err != nil {
				return nil, err
			}
		}
		simT = append(simT, time.Since(t0).Seconds())
		if res, err = bin.Run(ctx, in, test.Len()); err != nil {
			return nil, err
		}
		cT = append(cT, res.Elapsed.Seconds())
	}
	r.SimPerSec, r.HostCPerSec = float64(test.Len())/median(simT), float64(test.Len())/median(cT)
	r.SimOverC = median(simT) / median(cT)
	// Bit-exactness of the host C outputs on every test pattern.
	for k := 0; k < test.Len(); k++ {
		want, _ := sim.Run(xs[k*sz : (k+1)*sz])
		got := res.Output(k)
		for j, w := range want {
			if int8(got[j]) != int8(w) {
				r.HostMismatches++
				break
			}
		}
	}
	r.HostVerifiedPats, r.HostBitExact = test.Len(), r.HostMismatches == 0
	logf("Go sim %.0f/s, host C %.0f/s (ratio %.2f), host bit-exact %v", r.SimPerSec, r.HostCPerSec, r.SimOverC, r.HostBitExact)
	// End-to-end convert wall time (median of runs), default settings.
	var cvT []float64
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		c, err := nnq.Convert(nnq.ConvertOptions{Model: n.Model, Patterns: n.Patterns, MaxCalib: maxCalib})
		if err != nil {
			return nil, err
		}
		if _, _, err := exportAll(c, filepath.Join(tmp, "convert"), nil); err != nil {
			return nil, err
		}
		cvT = append(cvT, time.Since(t0).Seconds())
	}
	r.ConvertSeconds, r.ConvertRuns = median(cvT), runs
	if cortexM {
		m4, err := profileCortexM(ctx, q, dir, "cortex-m4", "", test.Head(8), "")
		if err != nil {
			return nil, err
		}
		r.M4 = m4
		logf("Cortex-M4: %d instructions per inference, text %d data %d bss %d", m4.InstructionsPerInference, m4.Text, m4.Data, m4.BSS)
		if cm.Frontend != nil {
			if r.Frontend, err = benchFrontend(ctx, n, cm, st, nnq.MSE{}, test, log); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// loadBenchNet loads a network and its patterns: the float model, its
// CMSIS form, and the test, calibration (train) and val splits (all
// patterns when the file has no splits).
func loadBenchNet(n benchNet) (fw, cm *nnq.Model, test, calib, val *nnq.Patterns, err error) {
	if fw, err = nnq.Load(n.Model); err != nil {
		return
	}
	if cm, err = fw.ToCMSIS(); err != nil {
		return
	}
	all, err := nnq.ReadPatterns(n.Patterns)
	if err != nil {
		return
	}
	test, calib, val = all, all, all
	if all.HasSplit("test") {
		test, calib, val = all.Split("test"), all.Split("train"), all.Split("val")
	}
	return
}

// dspFlags makes a host build compile the DSP-path algorithms when the
// model targets a DSP core, as the library would on that core.
func dspFlags(q *nnq.QModel) []string {
	if q.Path.String() == "DSP" {
		return []string{"-DARM_MATH_DSP"}
	}
	return nil
}

// parseNets reads --nets (name=model,patterns;...; "" is the bundled
// networks) and checks that the files exist.
func parseNets(spec string) ([]benchNet, error) {
	list := bundledNets
	if spec != "" {
		list = nil
		for _, s := range strings.Split(spec, ";") {
			name, rest, ok1 := strings.Cut(s, "=")
			model, pats, ok2 := strings.Cut(rest, ",")
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%q is not name=model,patterns", s)
			}
			list = append(list, benchNet{name, model, pats})
		}
	}
	for _, n := range list {
		for _, f := range []string{n.Model, n.Patterns} {
			if _, err := stat(f); err != nil {
				return nil, fmt.Errorf("network %s: %w", n.Name, err)
			}
		}
	}
	return list, nil
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	// docs/ holds what the bench writes, no code: a report rewritten by an
	// earlier section of the same run does not make the measured code
	// uncommitted.
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					return strings.TrimSpace(v) + ", " + runtime.GOOS + "/" + runtime.GOARCH
				}
			}
		}
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

func benchMarkdown(r *benchReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# nnq benchmarks\n\nGenerated by `nnq bench` (`make bench`); do not edit by hand.\n\n")
	fmt.Fprintf(&b, "- date: %s\n- commit: %s\n- machine: %s, %d cores, %s\n- timings: medians of %d runs; the Go/C figure is a ratio of medians\n\n", r.Date, r.Commit, r.Machine, r.Cores, r.GoVer, r.Runs)
	if r.Runtime != nil {
		b.WriteString("Per layer, nnq's kernels next to the CMSIS-NN library on Cortex-M4 (q7 and q15, every bundled network, instructions and instructions per MAC): the section [nnq's kernels next to the CMSIS-NN library](#nnqs-kernels-next-to-the-cmsis-nn-library-cortex-m4-per-layer) below (also alone in BENCHMARKS_RUNTIME.md, `nnq bench --only runtime`).\n\n")
	}
	b.WriteString("The default scheme `auto` and the search hold out the val split of the calibration data (`--search-val` patterns; statistics come from the train split): auto scores candidate formats on it, the search chooses moves on its first half and stops on its second.\n\n## Accuracy (test split, target cortex-m4)\n\n| network | float | q7 best | q15 best | q7 drop | q15 drop |\n|---|---|---|---|---|---|\n")
	for _, n := range r.Networks {
		b7, b15 := best(n.Schemes, 8), best(n.Schemes, 16)
		fmt.Fprintf(&b, "| %s | %.2f%% | %.2f%% (%s) | %.2f%% (%s) | %.2f pts | %.2f pts |\n", n.Name, 100*n.FloatAccuracy, 100*b7.Accuracy, b7.Scheme, 100*b15.Accuracy, b15.Scheme, b7.DropPts, b15.DropPts)
	}
	for _, n := range r.Networks {
		fmt.Fprintf(&b, "\n### %s\n\n%d parameters, %d MACs per inference; %d calibration patterns, %d test patterns; float accuracy %.2f%%.\n\n",
			n.Name, n.Params, n.MACs, n.CalibPatterns, n.TestPatterns, 100*n.FloatAccuracy)
		b.WriteString("| bits | scheme | fixed accuracy | drop (points) | agreement | time (s) |\n|---|---|---|---|---|---|\n")
		for _, s := range n.Schemes {
			fmt.Fprintf(&b, "| %d | %s | %.2f%% | %.2f | %.2f%% | %.1f |\n", s.Bits, s.Scheme, 100*s.Accuracy, s.DropPts, 100*s.Agreement, s.Seconds)
		}
		b.WriteString("\n| memory (auto scheme) | arena | lower bound | naive plan | weights ROM |\n|---|---|---|---|---|\n")
		for _, t := range []string{"q7", "q15"} {
			if m, ok := n.Memory[t]; ok {
				fmt.Fprintf(&b, "| %s | %d B | %d B | %d B | %d B |\n", t, m.Arena, m.LowerBound, m.Naive, m.WeightBytes)
			}
		}
		if m := n.M4; m != nil {
			fmt.Fprintf(&b, "\nCortex-M4 (QEMU mps2-an386, q7, auto, the default export: nnq's kernels, SIMD on this core; the runtime section below puts the CMSIS-NN library's counts next to them, per layer): **%d instructions per inference** (mean of %d patterns, exact counts from a TCG plugin), text %d B, data %d B, bss %d B, outputs bit-exact with the Go simulation: %v.\n\n",
				m.InstructionsPerInference, m.Patterns, m.Text, m.Data, m.BSS, m.BitExact)
			b.WriteString("| layer | kernel | instructions |\n|---|---|---|\n")
			for _, l := range m.Layers {
				fmt.Fprintf(&b, "| %s | `%s` | %d |\n", l.Name, l.Kernel, l.Instructions)
			}
		}
		b.WriteString(frontendMarkdown(n.Frontend))
		fmt.Fprintf(&b, "\nToolkit speed: calibration %.0f patterns/s (all cores); Go simulator %.0f patterns/s (one goroutine) vs the compiled host C %.0f patterns/s (nnq's kernels, plain C, gcc -O2, one process) (Go time / C time = %.2f); host C bit-exact on %d/%d test patterns; `nnq convert` end to end %.1f s (median of %d).\n",
			n.CalibPerSec, n.SimPerSec, n.HostCPerSec, n.SimOverC, n.HostVerifiedPats-n.HostMismatches, n.HostVerifiedPats, n.ConvertSeconds, n.ConvertRuns)
	}
	return b.String()
}

// best is the most accurate scheme of a word size; on a tie the default
// (auto) is named.
func best(s []schemeResult, bits int) schemeResult {
	var b schemeResult
	b.Accuracy = -1
	for _, x := range s {
		if x.Bits == bits && (x.Accuracy > b.Accuracy || (x.Accuracy == b.Accuracy && x.Scheme == "auto")) {
			b = x
		}
	}
	return b
}
