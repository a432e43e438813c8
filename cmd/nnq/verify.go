package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/progress"
)

func init() {
	c := &command{name: "verify", usage: "verify DIR [--target T] [--sanitize] [--cmsis PATH] [--cmsis-nn PATH] [--max-patterns N] [--frontend-path float|fixed] [--clips DIR]",
		help: "build an exported project, run its test patterns and compare every layer's output with the Go simulation; on a Cortex-M target also count instructions and measure the footprint; an export with an input front end also runs frontend.c on audio clips and compares features and classes with Go"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		target := fs.String("target", "host", targetHelp("where to run (the Cortex-M cores under QEMU)"))
		sanitize := fs.Bool("sanitize", false, "host build with -fsanitize=address,undefined")
		cmsis := fs.String("cmsis", "", "q7/q15 exports: CMSIS_5 checkout (5.x up to 5.9.0) to build against instead of nnq's runtime (default $CMSIS_PATH)")
		cmsisNN := fs.String("cmsis-nn", "", "s8/s16 exports: CMSIS-NN checkout (s8/s16 API, e.g. v7.0.0) to build against instead of nnq's runtime (default $CMSIS_NN_PATH)")
		maxPat := fs.Int("max-patterns", 0, "verify at most this many stored patterns (0: all)")
		fePath := fs.String("frontend-path", "", "front end implementation to verify: float or fixed (default: fixed on cores without an FPU, else float)")
		clipsDir := fs.String("clips", "", "WAV clips to verify the front end with (default: the clips stored in the export, else synthetic ones)")
		// Flags may follow the directory.
		var dir string
		rest := args
		for len(rest) > 0 {
			if err := fs.Parse(rest); err != nil {
				return err
			}
			rest = fs.Args()
			if len(rest) > 0 {
				if dir != "" {
					return errUsage
				}
				dir, rest = rest[0], rest[1:]
			}
		}
		if dir == "" {
			return errUsage
		}
		err := checkOptions(
			exportDir("DIR", &dir),
			targetRule("--target", target),
			inputDir("--cmsis", cmsis),
			inputDir("--cmsis-nn", cmsisNN),
			atLeast("--max-patterns", maxPat, 0, " (0: all)"),
			optional(fePath, oneOf("--frontend-path", fePath, "float", "fixed")),
			inputDir("--clips", clipsDir),
		)
		if err != nil {
			return err
		}
		arith, err := codegen.ExportArithmetic(dir)
		if err != nil {
			return err
		}
		if *cmsis == "" && *cmsisNN == "" {
			if arith == "s8" || arith == "s16" {
				*cmsisNN = os.Getenv("CMSIS_NN_PATH")
			} else {
				*cmsis = os.Getenv("CMSIS_PATH")
			}
		}
		ctx := context.Background()
		t, err := harness.TargetByName(*target)
		if err != nil {
			return err
		}
		if err := harness.CheckTools(ctx, t); err != nil {
			return err
		}
		// A Cortex-M run adds its figures to the report: read it first.
		var rep *nnq.Report
		if !t.IsHost() {
			if rep, err = readReportIfAny(dir); err != nil {
				return err
			}
		}
		res, err := codegen.Verify(ctx, dir, codegen.VerifyOptions{Target: *target, Sanitize: *sanitize, CMSISPath: *cmsis, CMSISNNPath: *cmsisNN, MaxPatterns: *maxPat,
			Progress: progress.New(stderr).Step})
		var mm *codegen.MismatchError
		if err != nil && !errors.As(err, &mm) {
			return err
		}
		if res == nil && mm != nil {
			res = mm.Result
		}
		status := "bit-exact"
		if !res.BitExact {
			status = fmt.Sprintf("NOT bit-exact: %d mismatching patterns", res.Mismatches)
		}
		fmt.Fprintf(stdout, "%s on %s (%s path): %d %s patterns, every layer compared: %s\n", res.Model, res.Target, res.CodePath, res.Patterns, res.PatternSource, status)
		if err != nil {
			return err
		}
		if res.Target == "host" {
			if hasFrontend(dir) {
				_, err := verifyFrontend(ctx, dir, res.Target, *fePath, *clipsDir, *sanitize, 0, stdout)
				return err
			}
			return nil
		}
		// Cortex-M: exact instruction counts and footprint into report.json.
		q, err := nnq.LoadQModel(filepath.Join(dir, filepath.FromSlash(codegen.QuantFile)))
		if err != nil {
			return err
		}
		p, err := nnq.ReadPatterns(filepath.Join(dir, filepath.FromSlash(codegen.PatternsFile)))
		if err != nil {
			return err
		}
		prof, err := profileCortexM(ctx, q, dir, *target, p.Head(8), *cmsisNN)
		if err != nil {
			return err
		}
		if !prof.BitExact {
			return fmt.Errorf("%s: the untraced %s build does not match the simulation", dir, *target)
		}
		fmt.Fprintf(stdout, "%s: %d instructions per inference (mean of %d patterns), flash %d B (text %d + data %d), RAM %d B (data %d + bss %d)\n",
			prof.Target, prof.InstructionsPerInference, prof.Patterns, prof.Flash(), prof.Text, prof.Data, prof.RAM(), prof.Data, prof.BSS)
		for _, l := range prof.Layers {
			fmt.Fprintf(stdout, "  %-22s %-44s %10d\n", l.Name, l.Kernel, l.Instructions)
		}
		if err := updateReport(dir, rep, prof); err != nil || !hasFrontend(dir) {
			return err
		}
		fr, err := verifyFrontend(ctx, dir, res.Target, *fePath, *clipsDir, false, float64(prof.InstructionsPerInference), stdout)
		if err != nil || rep == nil {
			return err
		}
		addFrontendRun(rep, fr)
		return writeReport(dir, rep)
	}
	register(c)
}

// readReportIfAny reads DIR/report.json (nil when there is none).
func readReportIfAny(dir string) (*nnq.Report, error) {
	path := filepath.Join(dir, "report.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return nnq.ReadReport(path)
}

// updateReport writes the Cortex-M figures into DIR/report.json (and
// report.md) when the project has a report.
func updateReport(dir string, rep *nnq.Report, prof *cortexProfile) error {
	if rep == nil {
		return nil
	}
	rep.Target = prof.Target
	rep.InstructionsPerInference, rep.FlashBytes, rep.RAMBytes = prof.InstructionsPerInference, prof.Flash(), prof.RAM()
	for i := range rep.Layers {
		if i < len(prof.Layers) && prof.Layers[i].Name == rep.Layers[i].Name {
			rep.Layers[i].Instructions = prof.Layers[i].Instructions
		}
	}
	return writeReport(dir, rep)
}

// writeReport writes DIR/report.json and report.md.
func writeReport(dir string, rep *nnq.Report) error {
	if err := rep.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644)
}
