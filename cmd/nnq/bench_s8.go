package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
)

// The s8/s16 section of nnq bench: every bundled network (the recurrent
// one included) in today's CMSIS-NN API next to the legacy formats, with
// the memory of the exports and Cortex-M4 instruction counts of nnq's s8
// runtime and, when CMSIS_NN_PATH names a CMSIS-NN checkout, of the real
// library.

// s8Nets are the networks of the s8 section.
var s8Nets = append(append([]benchNet(nil), bundledNets...), benchNet{"kws-gru", "data/kws-gru/model.arrow", "data/kws/patterns.arrow"})

// s8Row is one (network, format) row of the s8 section.
type s8Row struct {
	Network   string  `json:"network"`
	Format    string  `json:"format"`
	Float     float64 `json:"float_accuracy"`
	Accuracy  float64 `json:"fixed_accuracy"`
	DropPts   float64 `json:"drop_points"`
	Agreement float64 `json:"agreement"`
	// Legacy is the accuracy drop of the legacy format of the same word
	// size (q7 for s8, q15 for s16), same statistics and scheme.
	LegacyDropPts float64 `json:"legacy_drop_points"`
	WeightBytes   int     `json:"weights_bytes"`
	ArenaBytes    int     `json:"arena_bytes"`
	ScratchBytes  int     `json:"scratch_bytes"`
	// HostBitExact: the host C build against the simulation on every test
	// pattern.
	HostVerified int  `json:"host_verified_patterns"`
	HostBitExact bool `json:"host_bit_exact"`
	// M4 and M4Library: Cortex-M4 under QEMU with nnq's runtime and with
	// the CMSIS-NN library (nil when not measured).
	M4        *cortexProfile `json:"cortex_m4,omitempty"`
	M4Library *cortexProfile `json:"cortex_m4_cmsis_nn,omitempty"`
}

// benchS8 measures the s8 section on nets.
func benchS8(nets []benchNet, cortexM bool, maxCalib int, lib string, log io.Writer) ([]s8Row, error) {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "nnq-bench-s8-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var rows []s8Row
	for _, n := range nets {
		logf := func(f string, a ...any) { fmt.Fprintf(log, "bench s8: %s: "+f+"\n", append([]any{n.Name}, a...)...) }
		_, cm, test, calib, _, err := loadBenchNet(n)
		if err != nil {
			return nil, err
		}
		st, err := nnq.Calibrate(cm, calib.Head(maxCalib), nil)
		if err != nil {
			return nil, err
		}
		eval := func(f nnq.Format) (*nnq.QModel, *nnq.Evaluation, error) {
			q, err := nnq.Quantize(cm, st, nnq.QConfig{Format: f, Scheme: nnq.MSE{}, Target: "cortex-m4"})
			if err != nil {
				return nil, nil, fmt.Errorf("%s %s: %w", n.Name, f, err)
			}
			ev, err := q.Evaluate(test, nil)
			return q, ev, err
		}
		for _, f := range []nnq.Format{nnq.FormatS8, nnq.FormatS16} {
			_, lev, err := eval(map[nnq.Format]nnq.Format{nnq.FormatS8: nnq.FormatQ7, nnq.FormatS16: nnq.FormatQ15}[f])
			if err != nil {
				return nil, err
			}
			q, ev, err := eval(f)
			if err != nil {
				return nil, err
			}
			r := s8Row{Network: n.Name, Format: string(f), Float: ev.Float, Accuracy: ev.Fixed, DropPts: 100 * (ev.Float - ev.Fixed),
				Agreement: ev.Agreement, LegacyDropPts: 100 * (lev.Float - lev.Fixed)}
			dir := filepath.Join(tmp, n.Name+"-"+string(f))
			proj, err := codegen.Export(q, dir, codegen.Options{Patterns: test})
			if err != nil {
				return nil, err
			}
			r.WeightBytes, r.ArenaBytes, r.ScratchBytes = proj.WeightBytes, proj.Mem.ArenaBytes, proj.Mem.ScratchBytes
			res, err := codegen.Verify(ctx, dir, codegen.VerifyOptions{Target: "host"})
			if err != nil {
				return nil, err
			}
			r.HostVerified, r.HostBitExact = res.Patterns, res.BitExact
			logf("%s %.2f%% (float %.2f%%, legacy drop %.2f), host bit-exact %v on %d", f, 100*ev.Fixed, 100*ev.Float, r.LegacyDropPts, r.HostBitExact, r.HostVerified)
			if cortexM {
				if r.M4, err = profileCortexM(ctx, q, dir, "cortex-m4", "", test.Head(8), ""); err != nil {
					return nil, err
				}
				logf("%s Cortex-M4: %d instructions (nnq runtime)", f, r.M4.InstructionsPerInference)
				if lib != "" {
					if r.M4Library, err = profileCortexM(ctx, q, dir, "cortex-m4", "", test.Head(8), lib); err != nil {
						return nil, err
					}
					logf("%s Cortex-M4: %d instructions (CMSIS-NN)", f, r.M4Library.InstructionsPerInference)
				}
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// benchS8Markdown renders the s8 section.
func benchS8Markdown(rows []s8Row, commit, date string) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(s8Heading + "\n")
	// The section can be rerun alone (--only s8): it says when it was made.
	fmt.Fprintf(&b, "Measured at commit %s on %s.\n\n", commit, date)
	b.WriteString("`--format s8` (int8 activations with zero points, int8 weights with per-channel scales) and `--format s16` (int16 activations, int8 weights), MSE scheme, Cortex-M4, the same statistics as the legacy q7 / q15 column (same word size, same scheme). Memory: parameters (flash) and arena including the `ctx.buf` scratch (RAM) of the export; Cortex-M4: QEMU mps2-an386, mean of 8 patterns, image flash = text + data, RAM = data + bss (arena included), with nnq's s8 runtime and, where measured, the CMSIS-NN library built from its sources (`CMSIS_NN_PATH`); every build bit-exact with the Go simulation.\n\n")
	b.WriteString("| network | format | float | fixed | drop (points) | legacy drop | agreement | parameters | arena (scratch) | host bit-exact | M4 instructions (nnq) | flash / RAM (nnq) | M4 instructions (CMSIS-NN) | flash / RAM (CMSIS-NN) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	prof := func(p *cortexProfile) (string, string) {
		if p == nil {
			return "-", "-"
		}
		s := fmt.Sprint(p.InstructionsPerInference)
		if !p.BitExact {
			s += " (NOT bit-exact)"
		}
		return s, fmt.Sprintf("%d / %d B", p.Flash(), p.RAM())
	}
	for _, r := range rows {
		i1, m1 := prof(r.M4)
		i2, m2 := prof(r.M4Library)
		legacy := map[string]string{"s8": "q7", "s16": "q15"}[r.Format]
		fmt.Fprintf(&b, "| %s | %s | %.2f%% | %.2f%% | %.2f | %.2f (%s) | %.2f%% | %d B | %d B (%d) | %v (%d) | %s | %s | %s | %s |\n",
			r.Network, r.Format, 100*r.Float, 100*r.Accuracy, r.DropPts, r.LegacyDropPts, legacy, 100*r.Agreement, r.WeightBytes,
			r.ArenaBytes, r.ScratchBytes, r.HostBitExact, r.HostVerified, i1, m1, i2, m2)
	}
	return b.String()
}

// s8Heading starts the s8 section of BENCHMARKS.md.
const s8Heading = "\n## Today's CMSIS-NN API: s8 and s16\n"

// runBenchS8 runs only the s8 section (nnq bench --only s8), prints it
// and, with an output directory, puts it into DIR/BENCHMARKS.md and
// DIR/benchmarks.json in place of the earlier s8 section, leaving the
// other sections as they are.
func runBenchS8(nets []benchNet, cortexM bool, maxCalib int, out string, stdout, stderr io.Writer) error {
	commit, date := gitCommit(), time.Now().UTC().Format("2006-01-02")
	rows, err := benchS8(nets, cortexM, maxCalib, os.Getenv("CMSIS_NN_PATH"), stderr)
	if err != nil {
		return err
	}
	md := benchS8Markdown(rows, commit, date)
	fmt.Fprint(stdout, md)
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return replaceBenchSection(out, s8Heading, md, "s8", rows)
}

// replaceBenchSection writes one section's markdown md (starting at
// heading) into DIR/BENCHMARKS.md and its rows under key in
// DIR/benchmarks.json, keeping every other section of both.
func replaceBenchSection(out, heading, md, key string, rows any) error {
	mdPath := filepath.Join(out, "BENCHMARKS.md")
	old, err := os.ReadFile(mdPath)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.WriteFile(mdPath, []byte(replaceSection(string(old), heading, md)), 0o644); err != nil {
		return err
	}
	jsPath := filepath.Join(out, "benchmarks.json")
	doc := map[string]json.RawMessage{}
	if b, err := os.ReadFile(jsPath); err == nil {
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", jsPath, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	if doc[key], err = json.Marshal(rows); err != nil {
		return err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(jsPath, append(b, '\n'), 0o644)
}

// replaceSection replaces the section of a BENCHMARKS.md that starts at
// heading (up to the next level-2 heading or the end) with section, or
// appends section when there is none.
func replaceSection(doc, heading, section string) string {
	i := strings.Index(doc, heading)
	if strings.TrimSpace(doc) == "" {
		return strings.TrimLeft(section, "\n")
	}
	if i < 0 {
		return strings.TrimRight(doc, "\n") + "\n" + section
	}
	rest := doc[i+len(heading):]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		return doc[:i] + section + rest[j:]
	}
	return doc[:i] + section
}
