package nnq

import (
	"fmt"
	"time"
)

// ConvertOptions drives Convert, the whole float-to-fixed pipeline.
type ConvertOptions struct {
	// Model is a model file (Arrow; .onnx when supported).
	Model string
	// Patterns is the pattern file; its "test" rows measure accuracy.
	// Without Calib, its "train" and "val" rows calibrate; a file with a
	// split column but no test rows is refused, and a file without a split
	// column is split by position (the first two thirds calibrate, the
	// last third is the test set; Conversion.SplitNote says so).
	Patterns string
	// Calib optionally names another pattern file for calibration: its
	// "train" and "val" rows (all rows if it has no split column). Patterns
	// then measures accuracy on its test rows, or on all its rows when it
	// has none (SplitNote says so). Test rows never calibrate, and no
	// scheme ever sees them.
	Calib string
	// Bits is 8 (q7, default) or 16 (q15).
	Bits int
	// Format is q7, q15, s8 or s16 (empty: the legacy format of Bits).
	Format Format
	// Scheme picks the formats (default Auto). The calibration patterns
	// are split into a statistics part and a held-out part (the "val"
	// rows when there are "train" rows too, else the last fifth): an Auto
	// without Probe scores its candidates on the held-out part, a Search
	// without Fit/Val chooses moves on its first half and validates on the
	// second (at most SearchPatterns of each half, a seeded sample).
	Scheme Scheme
	// Target is the core (default cortex-m4).
	Target    string
	Truncate  bool
	InputFrac *int
	// AffineRounding is the s8/s16 arithmetic (QConfig.AffineRounding).
	AffineRounding AffineRounding
	// Runtime and Optimize choose the C kernels (QConfig).
	Runtime, Optimize string
	// NoPoolShift keeps average pools at their input format.
	NoPoolShift bool
	// MaxCalib and MaxTest cap how many statistics and test patterns are
	// used (0 = all): a sample drawn with Seed, spread over the set
	// (PatternSet.Sample), not the first rows.
	MaxCalib, MaxTest int
	// Seed seeds the samples of MaxCalib and MaxTest (0 means 1).
	Seed uint64
	// InMemory reads every pattern into memory and runs the passes there
	// (Conversion.Calib, HeldOut and Test then hold all the patterns).
	// By default the statistics and the evaluation stream the pattern
	// file batch by batch, in memory that does not grow with the file.
	InMemory bool
	// Frontend chooses the input front end the quantized model records
	// (and an export generates): "" or "auto" what the model file says,
	// "mfcc", "none" (see Model.SetFrontend).
	Frontend string
	// Progress and Log report the long steps.
	Progress func(step string, done, total int)
	Log      func(string)
}

// Conversion holds every intermediate result of Convert, so a notebook can
// look at each step.
type Conversion struct {
	Framework *Model // prepared, framework layout
	CMSIS     *Model // reordered for CMSIS-NN
	Layout    *LayoutReport
	Stats     *Stats
	Q         *QModel
	Eval      *Evaluation
	// CalibSet holds the patterns the statistics were collected on,
	// HeldOutSet the calibration patterns kept for the schemes that
	// simulate candidates, TestSet the patterns accuracy is measured on
	// (disjoint from both). They are selections of the pattern files,
	// read when used.
	CalibSet, HeldOutSet, TestSet *PatternSet
	// Calib, HeldOut and Test hold patterns of those sets in memory. With
	// InMemory they hold all of them. By default (streaming) Calib is nil,
	// HeldOut holds the held-out patterns the scheme simulated (Auto's
	// tuning and confirmation patterns, Search's fit and validation
	// patterns) and Test the first KeptTestPatterns test patterns (those
	// an export stores for verification).
	Calib   *Patterns
	HeldOut *Patterns
	Test    *Patterns
	// SplitNote says how the patterns were divided when no test split
	// decided it (no split column, or Calib with a file without test
	// rows); empty otherwise.
	SplitNote string
	Timings   map[string]time.Duration
}

// Convert loads, reorders (and verifies the reordering), calibrates,
// quantizes and evaluates a model.
func Convert(o ConvertOptions) (*Conversion, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			o.Log(fmt.Sprintf(format, a...))
		}
	}
	prog := func(step string) Progress {
		if o.Progress == nil {
			return nil
		}
		return func(d, t int) { o.Progress(step, d, t) }
	}
	c := &Conversion{Timings: map[string]time.Duration{}}
	t0 := time.Now()
	step := func(name string) {
		c.Timings[name] = time.Since(t0)
		t0 = time.Now()
	}
	var err error
	if err := CheckFrontendChoice(o.Frontend); err != nil {
		return nil, err
	}
	if err := CheckAffineRounding(o.AffineRounding, o.Format, o.Bits); err != nil {
		return nil, err
	}
	if c.Framework, err = Load(o.Model); err != nil {
		return nil, err
	}
	if err := c.Framework.SetFrontend(o.Frontend); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	if c.CMSIS, err = c.Framework.ToCMSIS(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Model, err)
	}
	step("load")
	if err := c.selectPatterns(o, logf); err != nil {
		return nil, err
	}
	if o.InMemory {
		for _, x := range []struct {
			set *PatternSet
			p   **Patterns
		}{{c.CalibSet, &c.Calib}, {c.HeldOutSet, &c.HeldOut}, {c.TestSet, &c.Test}} {
			if *x.p, err = x.set.Load(); err != nil {
				return nil, err
			}
		}
	} else if c.Test, err = c.TestSet.Head(KeptTestPatterns).Load(); err != nil {
		return nil, err
	}
	step("patterns")
	logf("model %q: %d layers; %d calibration patterns for statistics, %d held out for the schemes, %d test patterns", c.Framework.Name, len(c.Framework.Layers), c.CalibSet.Len(), c.HeldOutSet.Len(), c.TestSet.Len())
	if c.Layout, err = VerifyLayout(c.Framework, c.CMSIS, c.Test.Head(64)); err != nil {
		return nil, err
	}
	if d := c.Layout.MaxAbs(); d > 1e-3 {
		return nil, fmt.Errorf("%s: the CMSIS reordering disagrees with the framework pass by %g:\n%s", o.Model, d, c.Layout)
	}
	logf("layout %s -> CMSIS verified on %d patterns: max abs difference %.3g", c.Framework.Layout, c.Layout.Patterns, c.Layout.MaxAbs())
	step("layout")
	if o.InMemory {
		c.Stats, err = Calibrate(c.CMSIS, c.Calib, prog("calibrate"))
	} else {
		c.Stats, err = CalibrateSet(c.CMSIS, c.CalibSet, prog("calibrate"))
	}
	if err != nil {
		return nil, err
	}
	step("calibrate")
	scheme := o.Scheme
	if scheme == nil {
		scheme = Auto{}
	}
	if scheme, err = c.schemePatterns(scheme, o); err != nil {
		return nil, err
	}
	cfg := QConfig{Bits: o.Bits, Format: o.Format, Scheme: scheme, Target: o.Target, Truncate: o.Truncate, AffineRounding: o.AffineRounding, InputFrac: o.InputFrac, NoPoolShift: o.NoPoolShift, Progress: prog(scheme.Name()),
		Runtime: o.Runtime, Optimize: o.Optimize}
	if c.Q, err = Quantize(c.CMSIS, c.Stats, cfg); err != nil {
		return nil, err
	}
	step("quantize")
	if o.InMemory {
		c.Eval, err = c.Q.Evaluate(c.Test, prog("evaluate"))
	} else {
		c.Eval, err = c.Q.EvaluateSet(c.TestSet, EvalOptions{Progress: prog("evaluate")})
	}
	if err != nil {
		return nil, err
	}
	step("evaluate")
	logf("%s %s on %s: float accuracy %.2f%%, fixed %.2f%%, agreement %.2f%% on %d test patterns",
		c.Q.TypeName(), c.Q.Scheme, c.Q.Target, 100*c.Eval.Float, 100*c.Eval.Fixed, 100*c.Eval.Agreement, c.Eval.Patterns)
	return c, nil
}
