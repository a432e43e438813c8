package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/nnq"
)

func init() {
	c := &command{name: "verify", usage: "verify DIR [--target host|cortex-m0|cortex-m3|cortex-m4|cortex-m7|cortex-m33] [--sanitize] [--cmsis PATH] [--max-patterns N]",
		help: "build an exported project, run its test patterns and compare every layer's output with the Go simulation; on a Cortex-M target also count instructions and measure the footprint"}
	c.run = func(args []string, stdout, stderr io.Writer) error {
		fs := newFlags(c, stderr)
		target := fs.String("target", "host", "where to run: host, or a Cortex-M core under QEMU")
		sanitize := fs.Bool("sanitize", false, "host build with -fsanitize=address,undefined")
		cmsis := fs.String("cmsis", os.Getenv("CMSIS_PATH"), "CMSIS_5 checkout (5.x up to 5.9.0) to build against instead of nnq's runtime")
		maxPat := fs.Int("max-patterns", 0, "verify at most this many stored patterns (0: all)")
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
		ctx := context.Background()
		if t, err := harness.TargetByName(*target); err == nil {
			if err := harness.CheckTools(ctx, t); err != nil {
				return err
			}
		}
		res, err := codegen.Verify(ctx, dir, codegen.VerifyOptions{Target: *target, Sanitize: *sanitize, CMSISPath: *cmsis, MaxPatterns: *maxPat})
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
		prof, err := profileCortexM(ctx, q, dir, *target, *cmsis, p.Head(8))
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
		return updateReport(dir, prof)
	}
	register(c)
}

// updateReport writes the Cortex-M figures into DIR/report.json (and
// report.md) when the project has a report.
func updateReport(dir string, prof *cortexProfile) error {
	path := filepath.Join(dir, "report.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var rep nnq.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	rep.Target = prof.Target
	rep.InstructionsPerInference, rep.FlashBytes, rep.RAMBytes = prof.InstructionsPerInference, prof.Flash(), prof.RAM()
	for i := range rep.Layers {
		if i < len(prof.Layers) && prof.Layers[i].Name == rep.Layers[i].Name {
			rep.Layers[i].Instructions = prof.Layers[i].Instructions
		}
	}
	if err := rep.WriteJSON(path); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644)
}
