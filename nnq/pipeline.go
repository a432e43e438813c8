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
	// second.
	Scheme Scheme
	// Target is the core (default cortex-m4).
	Target    string
	Truncate  bool
	InputFrac *int
	// NoPoolShift keeps average pools at their input format.
	NoPoolShift bool
	// MaxCalib and MaxTest cap how many patterns are used (0 = all).
	MaxCalib, MaxTest int
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
	// Calib holds the patterns the statistics were collected on, HeldOut
	// the calibration patterns kept for the schemes that simulate
	// candidates, Test the patterns accuracy is measured on (disjoint from
	// both).
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
	all, err := ReadPatterns(o.Patterns)
	if err != nil {
		return nil, err
	}
	if err := c.Framework.CheckPatterns(all); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Patterns, err)
	}
	calibFile := all
	switch {
	case all.HasSplit("test"):
		c.Test = all.Split("test")
	case len(all.Splits) == 0 && o.Calib == "":
		// No split column: hold the last third out as the test set.
		n := all.Len() - all.Len()/3
		c.Test = &Patterns{Shape: all.Shape, Layout: all.Layout, Inputs: all.Inputs[n*all.Size():], Labels: all.Labels[n:]}
		calibFile = all.Head(n)
		c.SplitNote = fmt.Sprintf("%s has no split column: its first %d patterns calibrate, the last %d (the last third) are the test set", o.Patterns, n, all.Len()-n)
	case o.Calib != "":
		// Calibration comes from another file: every row of this one tests.
		c.Test = all
		c.SplitNote = fmt.Sprintf("%s has no test rows: with a separate calibration file (%s), all its %d patterns are the test set", o.Patterns, o.Calib, all.Len())
	default:
		return nil, fmt.Errorf("%s has train/val rows but no test rows, so accuracy could only be measured on the calibration data: add rows with split \"test\", or give this file as --calib and a test file as --patterns", o.Patterns)
	}
	if c.SplitNote != "" {
		logf("%s", c.SplitNote)
	}
	if o.MaxTest > 0 {
		c.Test = c.Test.Head(o.MaxTest)
	}
	if o.Calib != "" {
		if calibFile, err = ReadPatterns(o.Calib); err != nil {
			return nil, err
		}
		if err := c.Framework.CheckPatterns(calibFile); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Calib, err)
		}
	}
	calib := calibFile
	if len(calibFile.Splits) > 0 {
		calib = calibFile.Split("train", "val")
	}
	if calib.Len() == 0 {
		name := o.Patterns
		if o.Calib != "" {
			name = o.Calib
		}
		return nil, fmt.Errorf("%s: no calibration patterns (train or val rows; test rows never calibrate): pass a calibration file with --calib", name)
	}
	c.Calib, c.HeldOut = splitHeldOut(calib)
	if o.MaxCalib > 0 {
		c.Calib = c.Calib.Head(o.MaxCalib)
	}
	logf("model %q: %d layers; %d calibration patterns for statistics, %d held out for the schemes, %d test patterns", c.Framework.Name, len(c.Framework.Layers), c.Calib.Len(), c.HeldOut.Len(), c.Test.Len())
	if c.Layout, err = VerifyLayout(c.Framework, c.CMSIS, c.Test.Head(64)); err != nil {
		return nil, err
	}
	if d := c.Layout.MaxAbs(); d > 1e-3 {
		return nil, fmt.Errorf("%s: the CMSIS reordering disagrees with the framework pass by %g:\n%s", o.Model, d, c.Layout)
	}
	logf("layout %s -> CMSIS verified on %d patterns: max abs difference %.3g", c.Framework.Layout, c.Layout.Patterns, c.Layout.MaxAbs())
	step("layout")
	if c.Stats, err = Calibrate(c.CMSIS, c.Calib, prog("calibrate")); err != nil {
		return nil, err
	}
	step("calibrate")
	scheme := o.Scheme
	if scheme == nil {
		scheme = Auto{}
	}
	switch s := scheme.(type) {
	case Auto:
		if s.Probe == nil {
			s.Probe = c.HeldOut
		}
		if s.Log == nil {
			s.Log = o.Log
		}
		scheme = s
	case Search:
		if s.Fit == nil && s.Val == nil && c.HeldOut.Len() >= 2 {
			h := c.HeldOut.Len() / 2
			s.Fit, s.Val = c.HeldOut.Head(h), c.HeldOut.Tail(h)
		}
		// Start exactly where the default scheme ends.
		if a, ok := s.base().(Auto); ok && a.Probe == nil {
			a.Probe = c.HeldOut
			s.Base = a
		}
		if s.Log == nil {
			s.Log = o.Log
		}
		scheme = s
	}
	cfg := QConfig{Bits: o.Bits, Format: o.Format, Scheme: scheme, Target: o.Target, Truncate: o.Truncate, InputFrac: o.InputFrac, NoPoolShift: o.NoPoolShift, Progress: prog(scheme.Name())}
	if c.Q, err = Quantize(c.CMSIS, c.Stats, cfg); err != nil {
		return nil, err
	}
	step("quantize")
	if c.Eval, err = c.Q.Evaluate(c.Test, prog("evaluate")); err != nil {
		return nil, err
	}
	step("evaluate")
	logf("%s %s on %s: float accuracy %.2f%%, fixed %.2f%%, agreement %.2f%% on %d test patterns",
		c.Q.TypeName(), c.Q.Scheme, c.Q.Target, 100*c.Eval.Float, 100*c.Eval.Fixed, 100*c.Eval.Agreement, c.Eval.Patterns)
	return c, nil
}

// splitHeldOut splits calibration patterns into the statistics part and
// the held-out part: the "val" rows when there are "train" rows too, else
// the last fifth (nothing when there are fewer than 5 patterns).
func splitHeldOut(calib *Patterns) (stats, held *Patterns) {
	if calib.HasSplit("train") && calib.HasSplit("val") {
		return calib.Split("train"), calib.Split("val")
	}
	n := calib.Len()
	if n < 5 {
		return calib, &Patterns{Shape: calib.Shape, Layout: calib.Layout}
	}
	k := n - n/5
	return calib.Head(k), calib.Tail(n - k)
}
