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

	cv := &command{name: "convert", usage: "convert --model M --patterns P [--calib C] [--format q7|q15|s8|s16] [--scheme minmax|percentile:P|mse|search] [--target T] --out DIR",
		help: "reorder, calibrate, quantize, evaluate and export a CMSIS-NN C project with an accuracy report"}
	cv.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(cv, stderr)
		model := fs.String("model", "", "model file: nnq Arrow model (.arrow) or ONNX (.onnx)")
		patterns := fs.String("patterns", "", "pattern file; its test split measures accuracy")
		calib := fs.String("calib", "", "calibration pattern file (default: the train/val splits of --patterns)")
		format := fs.String("format", "", "arithmetic: q7, q15 (legacy CMSIS-NN API), s8, s16 (today's CMSIS-NN s8/s16 API); default q7")
		bits := fs.Int("bits", 0, "legacy spelling of --format: 8 (q7) or 16 (q15)")
		scheme := fs.String("scheme", "mse", "quantization scheme: minmax, percentile:P, mse, search")
		target := fs.String("target", nnq.DefaultTarget, "target core: host, cortex-m0, cortex-m3, cortex-m4, cortex-m7, cortex-m33")
		truncate := fs.Bool("truncate", false, "model a library built with ARM_NN_TRUNCATE (floor instead of round-half-up)")
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
		f, err := convertFormat(*format, *bits)
		if err != nil {
			return err
		}
		sc, err := nnq.ParseScheme(*scheme)
		if err != nil {
			return err
		}
		if *truncate && f.Affine() {
			return fmt.Errorf("--truncate models the legacy ARM_NN_TRUNCATE build; it does not apply to --format %s", f)
		}
		opt := nnq.ConvertOptions{Model: *model, Patterns: *patterns, Calib: *calib, Format: f, Scheme: sc, Target: *target,
			Truncate: *truncate, MaxCalib: *maxCalib, MaxTest: *maxTest}
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

// convertFormat resolves --format and its legacy spelling --bits (0: not
// given); both given must agree.
func convertFormat(format string, bits int) (nnq.Format, error) {
	if bits != 0 && bits != 8 && bits != 16 {
		return "", fmt.Errorf("--bits %d: the word size is not 8 (q7) or 16 (q15); see also --format", bits)
	}
	if format == "" {
		return nnq.FormatOfBits(bits)
	}
	f, err := nnq.ParseFormat(format)
	if err != nil {
		return "", fmt.Errorf("--format: %w", err)
	}
	if bits != 0 && bits != f.Bits() {
		return "", fmt.Errorf("--bits %d contradicts --format %s (%d-bit activations)", bits, f, f.Bits())
	}
	return f, nil
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
	rep.ArenaBytes, rep.ArenaLowerBound, rep.ArenaNaive, rep.WeightsBytes = proj.Mem.ArenaBytes, proj.Mem.LowerBound, proj.Mem.Naive, proj.WeightBytes
	if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return nil, nil, err
	}
	return rep, proj, nil
}
