package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/progress"
)

func init() {
	c := &command{name: "verify", usage: "verify DIR [--target T] [--sanitize] [--cmsis PATH] [--lib-sanitize no-shift-base|full] [--cmsis-nn PATH] [--max-patterns N] [--frontend-path float|fixed] [--clips DIR]",
		help: "build an exported project, run its test patterns and compare every layer's output with the Go simulation; on a Cortex-M target also count instructions and measure the footprint, and with --cmsis (default: $CMSIS_PATH) count the same network on the real CMSIS-NN library side by side; an export with an input front end also runs frontend.c on audio clips and compares features and classes with Go"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		target := fs.String("target", "host", targetHelp("where to run (the Cortex-M cores under QEMU)"))
		sanitize := fs.Bool("sanitize", false, "host build with -fsanitize=address,undefined")
		cmsis := fs.String("cmsis", "", "q7/q15 exports: CMSIS_5 checkout (5.x up to 5.9.0) to build against instead of nnq's runtime (default $CMSIS_PATH)")
		cmsisNN := fs.String("cmsis-nn", "", "s8/s16 exports: CMSIS-NN checkout (s8/s16 API, e.g. v7.0.0) to build against instead of nnq's runtime (default $CMSIS_NN_PATH)")
		maxPat := fs.Int("max-patterns", 0, "verify at most this many stored patterns (0: all)")
		libSan := fs.String("lib-sanitize", "no-shift-base", "with --sanitize --cmsis: sanitizers for the library's own sources: no-shift-base (ASan and UBSan except left shifts of negative values, which CMSIS-NN does on purpose) or full")
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
			oneOf("--lib-sanitize", libSan, "no-shift-base", "full"),
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
		tg, err := harness.TargetByName(*target)
		if err != nil {
			return err
		}
		if err := harness.CheckTools(ctx, tg); err != nil {
			return err
		}
		// A Cortex-M run adds its figures to the report: read it first.
		var rep *nnq.Report
		if !tg.IsHost() {
			if rep, err = readReportIfAny(dir); err != nil {
				return err
			}
		}
		q, err := nnq.LoadQModel(filepath.Join(dir, filepath.FromSlash(codegen.QuantFile)))
		if err != nil {
			return err
		}
		// CMSIS_PATH in the environment is a default: it applies where the
		// library can be built. A --runtime cmsis export builds against it;
		// an nnq-runtime export runs nnq's kernels and, on a Cortex-M
		// target, is compared with its --runtime cmsis twin on the library.
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "cmsis" })
		legacy := q.Runtime == nnq.RuntimeCMSIS || q.IsAffine() // s8/s16: Verify checks --cmsis itself
		lib := *cmsis
		if lib != "" && err == nil && tg.IsHost() {
			switch {
			case !legacy:
				// nnq's kernels need no library; the side-by-side count
				// needs QEMU.
				if explicit {
					fmt.Fprintln(stdout, "note: --cmsis on the host: this export runs nnq's kernels; its comparison with the CMSIS-NN library runs on a Cortex-M target (--target cortex-m4 ...)")
				}
				lib = ""
			case q.Path == kernels.DSPPath:
				if explicit {
					return fmt.Errorf("%s was quantized for the DSP code path (%s): the real CMSIS-NN library's DSP code does not build for the host; verify without --cmsis (nnq's runtime reproduces the DSP path bit for bit) or on a DSP Cortex-M target", q.Name, q.Target)
				}
				fmt.Fprintf(stdout, "note: CMSIS_PATH ignored on the host: the library's DSP code path (%s) does not build there; nnq's runtime reproduces it\n", q.Target)
				lib = ""
			}
		}
		primary := ""
		if legacy {
			primary = lib
		}
		res, err := codegen.Verify(ctx, dir, codegen.VerifyOptions{Target: *target, Sanitize: *sanitize, CMSISPath: primary, CMSISNNPath: *cmsisNN, MaxPatterns: *maxPat,
			LibCFlags: libFlags(*libSan, *sanitize), Progress: progress.New(stderr).Step})
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
		built := "nnq's runtime"
		if primary != "" {
			built = "the CMSIS-NN library at " + primary
		}
		fmt.Fprintf(stdout, "%s on %s (%s path, %s): %d %s patterns, every layer compared: %s\n", res.Model, res.Target, res.CodePath, built, res.Patterns, res.PatternSource, status)
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
		p, err := nnq.ReadPatterns(filepath.Join(dir, filepath.FromSlash(codegen.PatternsFile)))
		if err != nil {
			return err
		}
		prof, err := profileCortexM(ctx, q, dir, *target, primary, p.Head(8), *cmsisNN)
		if err != nil {
			return err
		}
		if !prof.BitExact {
			return fmt.Errorf("%s: the untraced %s build does not match the simulation", dir, *target)
		}
		var libProf *cortexProfile
		if lib != "" && !legacy {
			if libProf, err = profileLibraryTwin(ctx, q, *target, lib, p.Head(8)); err != nil {
				return err
			}
		}
		printProfiles(stdout, q, prof, libProf, lib)
		if err := updateReport(dir, rep, prof, libProf, lib); err != nil || !hasFrontend(dir) {
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

// libFlags are the extra flags of the library's own sources in a
// sanitized build.
func libFlags(mode string, sanitize bool) []string {
	if !sanitize || mode == "full" {
		return nil
	}
	return []string{"-fno-sanitize=shift-base"}
}

// profileLibraryTwin exports q's --runtime cmsis twin into a temporary
// directory and profiles it linked with the CMSIS-NN library at lib.
func profileLibraryTwin(ctx context.Context, q *nnq.QModel, target, lib string, p *nnq.Patterns) (*cortexProfile, error) {
	twin, err := q.WithRuntime(nnq.RuntimeCMSIS, "")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nnq-cmsis-twin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := codegen.Export(twin, dir, codegen.Options{}); err != nil {
		return nil, err
	}
	prof, err := profileCortexM(ctx, twin, dir, target, lib, p, "")
	if err != nil {
		return nil, fmt.Errorf("the --runtime cmsis twin on %s: %w", lib, err)
	}
	if !prof.BitExact {
		return nil, fmt.Errorf("the --runtime cmsis twin linked with %s does not match the simulation on %s", lib, target)
	}
	return prof, nil
}

// printProfiles prints the Cortex-M figures, with the library's next to
// them when measured.
func printProfiles(w io.Writer, q *nnq.QModel, prof, libProf *cortexProfile, lib string) {
	fmt.Fprintf(w, "%s: %d instructions per inference (mean of %d patterns), flash %d B (text %d + data %d), RAM %d B (data %d + bss %d)\n",
		prof.Target, prof.InstructionsPerInference, prof.Patterns, prof.Flash(), prof.Text, prof.Data, prof.RAM(), prof.Data, prof.BSS)
	if libProf == nil {
		for _, l := range prof.Layers {
			fmt.Fprintf(w, "  %-22s %-44s %10d\n", l.Name, l.Kernel, l.Instructions)
		}
		return
	}
	fmt.Fprintf(w, "%s, --runtime cmsis twin on the CMSIS-NN library at %s: %d instructions per inference, flash %d B (text %d + data %d), RAM %d B (data %d + bss %d)\n",
		libProf.Target, lib, libProf.InstructionsPerInference, libProf.Flash(), libProf.Text, libProf.Data, libProf.RAM(), libProf.Data, libProf.BSS)
	macs := layerMACs(q)
	fmt.Fprintf(w, "  %-14s %-24s %10s %7s   %-50s %10s %7s %6s\n", "layer", "nnq kernel", "instr", "/MAC", "library kernel", "instr", "/MAC", "lib/nnq")
	for i, l := range prof.Layers {
		var ll layerInstr
		if i < len(libProf.Layers) {
			ll = libProf.Layers[i]
		}
		ratio := "-"
		if !strings.HasPrefix(l.Kernel, "(") && l.Instructions > 0 && ll.Instructions > 0 {
			ratio = fmt.Sprintf("%.2f", float64(ll.Instructions)/float64(l.Instructions))
		}
		fmt.Fprintf(w, "  %-14s %-24s %10d %7s   %-50s %10d %7s %6s\n", l.Name, l.Kernel, l.Instructions, perMAC(l.Instructions, macs[i]),
			ll.Kernel, ll.Instructions, perMAC(ll.Instructions, macs[i]), ratio)
	}
	fmt.Fprintf(w, "  %-14s %-24s %10d %7s   %-50s %10d %7s %6.2f\n", "total", "", prof.InstructionsPerInference, perMAC(prof.InstructionsPerInference, sum(macs)),
		"", libProf.InstructionsPerInference, perMAC(libProf.InstructionsPerInference, sum(macs)), float64(libProf.InstructionsPerInference)/float64(max(prof.InstructionsPerInference, 1)))
}

// layerMACs returns the multiply-accumulates of q's layers (0 where none).
func layerMACs(q *nnq.QModel) []int64 {
	byName := map[string]int64{}
	if info, err := q.Float.Info(); err == nil {
		for _, li := range info {
			byName[li.Name] = li.MACs
		}
	}
	out := make([]int64, len(q.Layers))
	for i, l := range q.Layers {
		out[i] = byName[l.Name]
	}
	return out
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// perMAC renders instructions per multiply-accumulate ("-" without MACs).
func perMAC(instr uint64, macs int64) string {
	if macs <= 0 || instr == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(instr)/float64(macs))
}

// readReportIfAny reads DIR/report.json (nil when there is none).
func readReportIfAny(dir string) (*nnq.Report, error) {
	path := filepath.Join(dir, "report.json")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return nnq.ReadReport(path)
}

// updateReport writes the Cortex-M figures (and the library twin's, when
// measured) into DIR/report.json (and report.md) when the project has a
// report.
func updateReport(dir string, rep *nnq.Report, prof, libProf *cortexProfile, lib string) error {
	if rep == nil {
		return nil
	}
	rep.Target = prof.Target
	rep.InstructionsPerInference, rep.FlashBytes, rep.RAMBytes = prof.InstructionsPerInference, prof.Flash(), prof.RAM()
	rep.LibraryPath, rep.LibraryInstructionsPerInference, rep.LibraryFlashBytes, rep.LibraryRAMBytes = "", 0, 0, 0
	if libProf != nil {
		rep.LibraryPath, rep.LibraryInstructionsPerInference, rep.LibraryFlashBytes, rep.LibraryRAMBytes = lib, libProf.InstructionsPerInference, libProf.Flash(), libProf.RAM()
	}
	for i := range rep.Layers {
		rep.Layers[i].LibraryKernel, rep.Layers[i].LibraryInstructions = "", 0
		if i < len(prof.Layers) && prof.Layers[i].Name == rep.Layers[i].Name {
			rep.Layers[i].Instructions = prof.Layers[i].Instructions
		}
		if libProf != nil && i < len(libProf.Layers) && libProf.Layers[i].Name == rep.Layers[i].Name {
			rep.Layers[i].LibraryKernel, rep.Layers[i].LibraryInstructions = libProf.Layers[i].Kernel, libProf.Layers[i].Instructions
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
