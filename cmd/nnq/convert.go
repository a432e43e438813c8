package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/plots"
)

func init() {
	c := &command{name: "inspect", usage: "inspect MODEL", help: "print layers, shapes, parameters, MACs and CMSIS-NN support"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errUsage
		}
		m, err := nnq.Load(fs.Arg(0))
		if err != nil {
			return err
		}
		s, err := m.Summary()
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, s)
		return nil
	}
	register(c)

	cv := &command{name: "convert", usage: "convert --model M --patterns P [--calib C] [--bits 8|16] [--scheme minmax|percentile:P|mse|search] [--target T] [--runtime nnq|cmsis] [--optimize speed|size] --out DIR",
		help: "reorder, calibrate, quantize, evaluate and export a CMSIS-NN C project with an accuracy report"}
	cv.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(cv, stderr)
		model := fs.String("model", "", "model file: nnq Arrow model (.arrow) or ONNX (.onnx)")
		patterns := fs.String("patterns", "", "pattern file; its test split measures accuracy")
		calib := fs.String("calib", "", "calibration pattern file (default: the train/val splits of --patterns)")
		bits := fs.Int("bits", 8, "word size: 8 (q7) or 16 (q15)")
		scheme := fs.String("scheme", "mse", "quantization scheme: minmax, percentile:P, mse, search")
		target := fs.String("target", nnq.DefaultTarget, "target core: host, cortex-m0, cortex-m3, cortex-m4, cortex-m7, cortex-m33")
		truncate := fs.Bool("truncate", false, "model a library built with ARM_NN_TRUNCATE (floor instead of round-half-up)")
		runtime := fs.String("runtime", nnq.RuntimeNNQ, "C kernels: nnq (nnq's own, SIMD on DSP cores) or cmsis (calls to the legacy CMSIS-NN arm_* functions, for linking Arm's library)")
		optimize := fs.String("optimize", nnq.OptimizeSpeed, "nnq runtime: speed (weights of the largest convolutions pre-expanded to 16 bits on DSP cores, within half the 8-bit parameter bytes) or size (8-bit weights only)")
		inputFrac := fs.Int("input-frac", -1000, "fix the input format's fractional bits (the sensor format); default: from statistics")
		out := fs.String("out", "", "output directory for the C project and report")
		maxCalib := fs.Int("max-calib", 0, "use at most this many calibration patterns (0: all)")
		maxTest := fs.Int("max-test", 0, "use at most this many test patterns (0: all)")
		quiet := fs.Bool("q", false, "print only the summary")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *model == "" || *patterns == "" || *out == "" || fs.NArg() != 0 {
			return errUsage
		}
		sc, err := nnq.ParseScheme(*scheme)
		if err != nil {
			return err
		}
		if _, err := nnq.ParseRuntime(*runtime); err != nil {
			return fmt.Errorf("--runtime: %w", err)
		}
		if _, err := nnq.ParseOptimize(*optimize); err != nil {
			return fmt.Errorf("--optimize: %w", err)
		}
		opt := nnq.ConvertOptions{Model: *model, Patterns: *patterns, Calib: *calib, Bits: *bits, Scheme: sc, Target: *target,
			Truncate: *truncate, MaxCalib: *maxCalib, MaxTest: *maxTest, Runtime: *runtime, Optimize: *optimize}
		if *inputFrac != -1000 {
			opt.InputFrac = inputFrac
		}
		var mu sync.Mutex
		if !*quiet {
			opt.Log = func(s string) { mu.Lock(); fmt.Fprintln(stderr, s); mu.Unlock() }
		}
		c, err := nnq.Convert(opt)
		if err != nil {
			return err
		}
		rep, proj, err := exportAll(c, *out)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, c.Q.Table())
		fmt.Fprintf(stdout, "\naccuracy on %d test patterns: float %.2f%%, %s %.2f%% (drop %.2f points), agreement %.2f%%\n",
			rep.Patterns, 100*rep.FloatAccuracy, rep.Type, 100*rep.FixedAccuracy, 100*(rep.FloatAccuracy-rep.FixedAccuracy), 100*rep.Agreement)
		fmt.Fprintf(stdout, "memory: arena %d B (lower bound %d B, naive %d B), weights %d B\n", rep.ArenaBytes, rep.ArenaLowerBound, rep.ArenaNaive, rep.WeightsBytes)
		fmt.Fprintf(stdout, "wrote the C project (%d files) and report.md, report.json, plots/ to %s\n", len(proj.Files), *out)
		return nil
	}
	register(cv)
}

// exportAll writes the report, the plots and the C project of a
// conversion into dir.
func exportAll(c *nnq.Conversion, dir string) (*nnq.Report, *codegen.Project, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	proj, err := codegen.Export(c.Q, dir, codegen.Options{Patterns: c.Test})
	if err != nil {
		return nil, nil, err
	}
	rep, err := nnq.WriteReport(dir, c.Q, c.Eval)
	if err != nil {
		return nil, nil, err
	}
	if err := plots.SavePlots(filepath.Join(dir, "plots"), c.Q, c.Eval, c.Stats); err != nil {
		return nil, nil, err
	}
	proj.FillReport(rep)
	if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return nil, nil, err
	}
	return rep, proj, nil
}
