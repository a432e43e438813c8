package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/plots"
	"github.com/nnq-toolkit/nnq/nnq/progress"
)

func init() {
	c := &command{name: "inspect", usage: "inspect MODEL [--bits 8|16] [--target T]", help: "print layers, shapes, parameters, MACs and the CMSIS-NN kernel of every layer"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		bits := fs.Int("bits", 8, "word size the kernels are chosen for: 8 (q7) or 16 (q15)")
		target := fs.String("target", nnq.DefaultTarget, targetHelp("target core the kernels are chosen for"))
		in, err := parseInterleaved(fs, args)
		if err != nil {
			return err
		}
		if len(in) != 1 {
			return errUsage
		}
		if err := checkOptions(inputFile("MODEL", &in[0], true), oneOf("--bits", bits, 8, 16), targetRule("--target", target)); err != nil {
			return err
		}
		m, err := nnq.Load(in[0])
		if err != nil {
			return err
		}
		s, err := m.SummaryFor(*bits, *target)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, s)
		return nil
	}
	register(c)

	cv := &command{name: "convert", usage: "convert --model M --patterns P [--calib C] [--format q7|q15|s8|s16] [--rounding double|single|onnx] [--scheme auto|minmax|percentile:P|mse|search] [--no-pool-shift] [--target T] [--runtime nnq|cmsis] [--optimize speed|size] [--frontend mfcc|none] [--clips DIR] --out DIR",
		help: "reorder, calibrate, quantize, evaluate and export a CMSIS-NN C project with an accuracy report (and the input front end: frontend.c, app/app.c)"}
	cv.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(cv, stderr)
		model := fs.String("model", "", "model file: nnq Arrow model (.arrow) or ONNX (.onnx)")
		patterns := fs.String("patterns", "", "pattern file; its test split measures accuracy")
		calib := fs.String("calib", "", "calibration pattern file (default: the train/val splits of --patterns)")
		format := fs.String("format", "", "arithmetic: q7, q15 (legacy CMSIS-NN API), s8, s16 (today's CMSIS-NN s8/s16 API); default q7")
		bits := fs.Int("bits", 0, "legacy spelling of --format: 8 (q7) or 16 (q15)")
		scheme := fs.String("scheme", "auto", "quantization scheme: auto (default; mse for s8/s16), minmax, percentile:P, mse, search")
		noPoolShift := fs.Bool("no-pool-shift", false, "keep average pools at their input format (no output shift)")
		target := fs.String("target", nnq.DefaultTarget, targetHelp("target core"))
		truncate := fs.Bool("truncate", false, "model a library built with ARM_NN_TRUNCATE (floor instead of round-half-up)")
		rounding := fs.String("rounding", string(nnq.RoundingDouble), "s8/s16 arithmetic: double (CMSIS-NN's default build), single (CMSIS-NN built with CMSIS_NN_USE_SINGLE_ROUNDING: requantization rounds once) or onnx (single, and average pools rounding half to even with nnq's pool kernel: reproduces ONNX/PyTorch int8 results)")
		runtime := fs.String("runtime", nnq.RuntimeNNQ, "C kernels: nnq (nnq's own, SIMD on DSP cores) or cmsis (calls to the legacy CMSIS-NN arm_* functions, for linking Arm's library)")
		optimize := fs.String("optimize", nnq.OptimizeSpeed, "nnq runtime: speed (weights of the largest convolutions pre-expanded to 16 bits on DSP cores, within half the 8-bit parameter bytes) or size (8-bit weights only)")
		var inputFrac optInt
		fs.Var(&inputFrac, "input-frac", "fix the input format to `N` fractional bits (the sensor's format; N from -bits to 2·bits-1); default: from statistics")
		out := fs.String("out", "", "output directory for the C project and report (replaced as a whole)")
		maxCalib := fs.Int("max-calib", 0, "collect statistics on at most this many calibration patterns, a seeded sample spread over the file (0: all)")
		maxTest := fs.Int("max-test", 0, "measure accuracy on at most this many test patterns, a seeded sample spread over the file (0: all)")
		seed := fs.Int("seed", 1, "seed of the --max-calib and --max-test samples (a positive integer)")
		quiet := fs.Bool("q", false, "print only the summary (accuracy, memory, output)")
		frontend := fs.String("frontend", nnq.FrontendAuto, frontendHelp)
		clipsDir := fs.String("clips", "", "directory of WAV clips stored in the export to verify the front end with (nnq verify)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *model == "" || *patterns == "" || *out == "" || fs.NArg() != 0 {
			return errUsage
		}
		var sc nnq.Scheme
		var f nnq.Format
		err := checkOptions(
			inputFile("--model", model, true),
			inputFile("--patterns", patterns, true),
			inputFile("--calib", calib, false),
			bitsRule("--bits", bits),
			formatRule("--format", format, bits, &f),
			schemeRule("--scheme", scheme, &sc),
			targetRule("--target", target),
			truncateRule("--truncate", truncate, &f),
			roundingRule("--rounding", rounding, &f),
			inputFracRule("--input-frac", &inputFrac, &f),
			atLeast("--max-calib", maxCalib, 0, " (0: all)"),
			atLeast("--max-test", maxTest, 0, " (0: all)"),
			oneOf("--runtime", runtime, nnq.RuntimeNNQ, nnq.RuntimeCMSIS),
			oneOf("--optimize", optimize, nnq.OptimizeSpeed, nnq.OptimizeSize),
			atLeast("--seed", seed, 1, ""),
			frontendRule("--frontend", frontend),
			inputDir("--clips", clipsDir),
			outputDir("--out", out, codegen.ManifestFile),
		)
		if err != nil {
			return err
		}
		clips, err := convertClips(*model, *frontend, *clipsDir)
		if err != nil {
			return err
		}
		opt := nnq.ConvertOptions{Model: *model, Patterns: *patterns, Calib: *calib, Format: f, Scheme: sc, Target: *target,
			Truncate: *truncate, AffineRounding: nnq.AffineRounding(*rounding), NoPoolShift: *noPoolShift, InputFrac: inputFrac.ptr(), MaxCalib: *maxCalib, MaxTest: *maxTest, Seed: uint64(*seed), Frontend: *frontend,
			Runtime: *runtime, Optimize: *optimize}
		if !*quiet {
			// A bar per long step on a terminal, a line per step otherwise.
			pr := progress.New(stderr)
			opt.Log, opt.Progress = pr.Log, pr.Step
		}
		c, err := nnq.Convert(opt)
		if err != nil {
			return err
		}
		rep, proj, err := exportAll(c, *out, clips)
		if err != nil {
			return err
		}
		if !*quiet {
			fmt.Fprint(stdout, c.Q.Table())
			fmt.Fprintln(stdout)
		}
		printSummary(stdout, c, rep, proj, *out)
		return nil
	}
	register(cv)
}

// bitsRule accepts --bits 8 or 16, or 0 (not given).
func bitsRule(flag string, bits *int) rule {
	r := oneOf(flag, bits, 8, 16)
	return rule{flag, func() error {
		if *bits == 0 {
			return nil
		}
		return r.check()
	}}
}

// formatRule resolves --format and its legacy spelling --bits (0: not
// given; a wrong value is left to bitsRule) into *f; both given must agree.
func formatRule(flag string, format *string, bits *int, f *nnq.Format) rule {
	return rule{flag, func() (err error) {
		if *bits != 0 && *bits != 8 && *bits != 16 {
			return nil
		}
		if *format == "" {
			*f, err = nnq.FormatOfBits(*bits)
			return err
		}
		g, err := nnq.ParseFormat(*format)
		if err != nil {
			return err
		}
		if *bits != 0 && *bits != g.Bits() {
			return fmt.Errorf("--bits %d contradicts --format %s (%d-bit activations)", *bits, g, g.Bits())
		}
		*f = g
		return nil
	}}
}

// truncateRule refuses --truncate for the s8/s16 formats: it models the
// legacy library's ARM_NN_TRUNCATE build.
func truncateRule(flag string, truncate *bool, f *nnq.Format) rule {
	return rule{flag, func() error {
		if *truncate && f.Affine() {
			return fmt.Errorf("models the legacy ARM_NN_TRUNCATE build; it does not apply to --format %s", *f)
		}
		return nil
	}}
}

// roundingRule checks --rounding: a known name, and only the default for
// the legacy formats (left to the --format rule when that is wrong).
func roundingRule(flag string, rounding *string, f *nnq.Format) rule {
	return rule{flag, func() error {
		r, err := nnq.ParseAffineRounding(*rounding)
		if err != nil || *f == "" {
			return err
		}
		return nnq.CheckAffineRounding(r, *f, 0)
	}}
}

// inputFracRule checks --input-frac against nnq.InputFracRange of the
// format's word size (left to the --format rule when that is wrong).
func inputFracRule(flag string, o *optInt, f *nnq.Format) rule {
	return rule{flag, func() error {
		if !o.set || *f == "" {
			return nil
		}
		bits := f.Bits()
		lo, hi := nnq.InputFracRange(bits)
		if o.v < lo || o.v > hi {
			return fmt.Errorf("%d is outside [%d, %d], the fractional bits a %d-bit input format can have", o.v, lo, hi, bits)
		}
		return nil
	}}
}

// printSummary prints the result of a conversion: accuracies, memory,
// warnings, and where it went.
func printSummary(w io.Writer, c *nnq.Conversion, rep *nnq.Report, proj *codegen.Project, out string) {
	unl := ""
	if rep.Unlabelled > 0 {
		unl = fmt.Sprintf(" (%d unlabelled left out; agreement over all %d)", rep.Unlabelled, rep.Patterns)
	}
	fmt.Fprintf(w, "accuracy on %d labelled test patterns%s: float %.2f%%, %s %.2f%% (drop %.2f points), agreement %.2f%%\n",
		rep.Patterns-rep.Unlabelled, unl, 100*rep.FloatAccuracy, rep.Type, 100*rep.FixedAccuracy, 100*(rep.FloatAccuracy-rep.FixedAccuracy), 100*rep.Agreement)
	if n := c.Eval.InputValues; n > 0 && c.Eval.InputSaturated*20 > n {
		in := nnq.QFormat(c.Q.Bits, c.Q.InputFrac)
		if c.Q.IsAffine() {
			in = string(c.Q.Format) + " " + c.Q.InputAffine().String()
		}
		fmt.Fprintf(w, "warning: %.1f%% of the test input values saturate in the input format %s\n",
			100*float64(c.Eval.InputSaturated)/float64(n), in)
	}
	if c.SplitNote != "" {
		fmt.Fprintf(w, "note: %s\n", c.SplitNote)
	}
	fmt.Fprintf(w, "memory: arena %d B (lower bound %d B, naive %d B), weights %d B\n", rep.ArenaBytes, rep.ArenaLowerBound, rep.ArenaNaive, rep.WeightsBytes)
	if fe := proj.Frontend; fe != nil {
		fmt.Fprintf(w, "front end: %s\n  frontend.c tables %d B (+%d B float32 path, +%d B fixed-point path), ring %d B + feature window %d B per stream; %d clips stored; app/app.c streams it\n",
			fe.Frontend, fe.SharedTableBytes, fe.FloatTableBytes, fe.FixedTableBytes, fe.RingBytes, fe.FeatureBytes, fe.Clips)
	}
	fmt.Fprintf(w, "wrote the C project (%d files) and report.md, report.json, plots/ to %s\n", len(proj.Files), out)
}

// exportAll writes the report, the plots and the C project of a
// conversion into dir, through a temporary directory beside it that
// replaces dir only once everything is written; clips are the audio clips
// stored with an input front end.
func exportAll(c *nnq.Conversion, dir string, clips []codegen.Clip) (*nnq.Report, *codegen.Project, error) {
	st, err := stageDir(dir)
	if err != nil {
		return nil, nil, err
	}
	defer st.close()
	rep, proj, err := exportTo(c, st, clips)
	if errors.Is(err, errInterrupted) {
		return nil, nil, fmt.Errorf("%w: %s left as it was", err, dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("writing %s failed, so it was left as it was: %w", dir, err)
	}
	proj.Dir = dir
	return rep, proj, nil
}

// exportTo writes everything into st's temporary directory, then commits
// it.
func exportTo(c *nnq.Conversion, st *stagedDir, clips []codegen.Clip) (*nnq.Report, *codegen.Project, error) {
	tmp := st.tmp
	opt := codegen.Options{PatternSet: c.TestSet, Clips: clips}
	if c.Test.Len() == c.TestSet.Len() {
		opt = codegen.Options{Patterns: c.Test, Clips: clips} // held whole (InMemory)
	}
	proj, err := codegen.Export(c.Q, tmp, opt)
	if err != nil {
		return nil, nil, err
	}
	rep, err := nnq.WriteReport(tmp, c.Q, c.Eval)
	if err != nil {
		return nil, nil, err
	}
	if err := plots.SavePlots(filepath.Join(tmp, "plots"), c.Q, c.Eval, c.Stats); err != nil {
		return nil, nil, err
	}
	proj.FillReport(rep)
	if c.SplitNote != "" {
		rep.Notes = append([]string{c.SplitNote}, rep.Notes...)
	}
	rep.Frontend = reportFrontend(proj.Frontend)
	if err := rep.WriteJSON(filepath.Join(tmp, "report.json")); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return nil, nil, err
	}
	if err := st.commit(); err != nil {
		return nil, nil, err
	}
	return rep, proj, nil
}
