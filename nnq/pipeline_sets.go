package nnq

import (
	"cmp"
	"fmt"
)

// KeptTestPatterns is how many test patterns a streaming Convert keeps in
// Conversion.Test, the ones the layout check runs on (an export streams
// Conversion.TestSet instead).
const KeptTestPatterns = 64

// SearchPatterns caps the fit and the validation patterns Convert gives a
// Search (each half of the held-out patterns): its probes keep integer
// activations per pattern, so they are sampled rather than grown with the
// file.
const SearchPatterns = 4096

// selectPatterns opens the pattern files and selects the statistics,
// held-out and test patterns (Conversion.CalibSet, HeldOutSet, TestSet).
func (c *Conversion) selectPatterns(o ConvertOptions, logf func(string, ...any)) error {
	all, err := OpenPatternSet(o.Patterns)
	if err != nil {
		return err
	}
	if err := c.Framework.CheckPatternSet(all); err != nil {
		return fmt.Errorf("%s: %w", o.Patterns, err)
	}
	calibFile := all
	switch {
	case all.HasSplit("test"):
		c.TestSet = all.Split("test")
	case !all.HasSplits() && o.Calib == "":
		// No split column: hold the last third out as the test set.
		n := all.Len() - all.Len()/3
		c.TestSet = all.Slice(n, all.Len())
		calibFile = all.Head(n)
		c.SplitNote = fmt.Sprintf("%s has no split column: its first %d patterns calibrate, the last %d (the last third) are the test set", o.Patterns, n, all.Len()-n)
	case o.Calib != "":
		// Calibration comes from another file: every row of this one tests.
		c.TestSet = all
		c.SplitNote = fmt.Sprintf("%s has no test rows: with a separate calibration file (%s), all its %d patterns are the test set", o.Patterns, o.Calib, all.Len())
	default:
		return fmt.Errorf("%s has train/val rows but no test rows, so accuracy could only be measured on the calibration data: add rows with split \"test\", or give this file as --calib and a test file as --patterns", o.Patterns)
	}
	if c.SplitNote != "" {
		logf("%s", c.SplitNote)
	}
	seed := cmp.Or(o.Seed, 1)
	if o.MaxTest > 0 {
		c.TestSet = c.TestSet.Sample(o.MaxTest, seed)
	}
	if o.Calib != "" {
		if calibFile, err = OpenPatternSet(o.Calib); err != nil {
			return err
		}
		if err := c.Framework.CheckPatternSet(calibFile); err != nil {
			return fmt.Errorf("%s: %w", o.Calib, err)
		}
	}
	calib := calibFile.Split("train", "val")
	if calib.Len() == 0 {
		name := o.Patterns
		if o.Calib != "" {
			name = o.Calib
		}
		return fmt.Errorf("%s: no calibration patterns (train or val rows; test rows never calibrate): pass a calibration file with --calib", name)
	}
	c.CalibSet, c.HeldOutSet = splitHeldOut(calib)
	if o.MaxCalib > 0 {
		c.CalibSet = c.CalibSet.Sample(o.MaxCalib, seed)
	}
	return nil
}

// splitHeldOut splits calibration patterns into the statistics part and
// the held-out part: the "val" rows when there are "train" rows too, else
// the last fifth (nothing when there are fewer than 5 patterns).
func splitHeldOut(calib *PatternSet) (stats, held *PatternSet) {
	if calib.HasSplit("train") && calib.HasSplit("val") {
		return calib.Split("train"), calib.Split("val")
	}
	n := calib.Len()
	if n < 5 {
		return calib, calib.Slice(n, n)
	}
	k := n - n/5
	return calib.Head(k), calib.Tail(n - k)
}

// schemePatterns gives the scheme its held-out patterns: Auto its probe
// (of which it simulates at most Fit+Check, so only those are read),
// Search its fit and validation halves.
func (c *Conversion) schemePatterns(scheme Scheme, o ConvertOptions) (Scheme, error) {
	held := c.HeldOutSet
	load := func(s *PatternSet) (*Patterns, error) {
		if o.InMemory && s.Len() == held.Len() {
			return c.HeldOut, nil
		}
		return s.Load()
	}
	// autoProbe fills an Auto's probe with the patterns it will use.
	autoProbe := func(a Auto) (Auto, error) {
		if a.Probe != nil {
			return a, nil
		}
		fit := min(cmp.Or(a.Fit, 256), held.Len()/2)
		check := min(cmp.Or(a.Check, 512), held.Len()-fit)
		if fit > 0 {
			a.Fit, a.Check = fit, check
		}
		p, err := load(held.Head(fit + check))
		if err != nil {
			return a, err
		}
		if !o.InMemory {
			c.HeldOut = p
		}
		a.Probe = p
		if a.Log == nil {
			a.Log = o.Log
		}
		return a, nil
	}
	switch s := scheme.(type) {
	case Auto:
		return autoProbe(s)
	case Search:
		if s.Fit == nil && s.Val == nil && held.Len() >= 2 {
			// The search's probes keep per-pattern state, so its
			// halves are read into memory, at most SearchPatterns of
			// each (a sample spread over the half).
			h := held.Len() / 2
			seed := cmp.Or(o.Seed, 1)
			var err error
			if s.Fit, err = load(held.Head(h).Sample(SearchPatterns, seed)); err != nil {
				return nil, err
			}
			if s.Val, err = load(held.Tail(h).Sample(SearchPatterns, seed+1)); err != nil {
				return nil, err
			}
		}
		// Start exactly where the default scheme ends.
		if a, ok := s.base().(Auto); ok && a.Probe == nil {
			a, err := autoProbe(a)
			if err != nil {
				return nil, err
			}
			s.Base = a
		}
		if s.Log == nil {
			s.Log = o.Log
		}
		return s, nil
	}
	return scheme, nil
}
