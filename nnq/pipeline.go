package nnq

import (
	"fmt"
	"time"
)

// ConvertOptions drives Convert, the whole float-to-fixed pipeline.
type ConvertOptions struct {
	// Model is a model file (Arrow; .onnx when supported).
	Model string
	// Patterns is the pattern file; its "test" split (or all patterns if
	// it has no splits) measures accuracy.
	Patterns string
	// Calib optionally names another pattern file for calibration;
	// otherwise the "train" and "val" splits of Patterns are used.
	Calib string
	// Bits is 8 (q7, default) or 16 (q15).
	Bits int
	// Scheme picks the formats (default MSE). A Search without Val gets the
	// "val" split.
	Scheme Scheme
	// Target is the core (default cortex-m4).
	Target    string
	Truncate  bool
	InputFrac *int
	// Runtime and Optimize choose the C kernels (QConfig).
	Runtime, Optimize string
	// MaxCalib and MaxTest cap how many patterns are used (0 = all).
	MaxCalib, MaxTest int
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
	Calib     *Patterns
	Test      *Patterns
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
	if c.Framework, err = Load(o.Model); err != nil {
		return nil, err
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
	c.Test = all
	if all.HasSplit("test") {
		c.Test = all.Split("test")
	}
	if o.MaxTest > 0 {
		c.Test = c.Test.Head(o.MaxTest)
	}
	calibFile := all
	if o.Calib != "" {
		if calibFile, err = ReadPatterns(o.Calib); err != nil {
			return nil, err
		}
		if err := c.Framework.CheckPatterns(calibFile); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Calib, err)
		}
	}
	c.Calib = calibFile
	if calibFile.HasSplit("train") || calibFile.HasSplit("val") {
		c.Calib = calibFile.Split("train", "val")
	}
	if o.MaxCalib > 0 {
		c.Calib = c.Calib.Head(o.MaxCalib)
	}
	logf("model %q: %d layers; %d calibration and %d test patterns", c.Framework.Name, len(c.Framework.Layers), c.Calib.Len(), c.Test.Len())
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
	if s, ok := scheme.(Search); ok && s.Val == nil {
		s.Val = calibFile
		if calibFile.HasSplit("val") {
			s.Val = calibFile.Split("val")
		}
		s.Val = s.Val.Head(1000)
		if s.Log == nil {
			s.Log = o.Log
		}
		scheme = s
	}
	cfg := QConfig{Bits: o.Bits, Scheme: scheme, Target: o.Target, Truncate: o.Truncate, InputFrac: o.InputFrac, Progress: prog("search"),
		Runtime: o.Runtime, Optimize: o.Optimize}
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
