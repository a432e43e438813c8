package nnq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// maxReportBytes bounds the report.json ReadReport reads (a report is a
// few kB per layer).
const maxReportBytes = 64 << 20

// ReadReport reads a report.json written by WriteReport (or Report.WriteJSON)
// and checks it: strict JSON (unknown keys and trailing data are errors), a
// word size of 8 or 16, accuracies in [0, 1], counts that are not negative,
// named layers, square confusion matrices. Errors name the file.
func ReadReport(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r, err := DecodeReport(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// DecodeReport is ReadReport on the bytes of a report.json.
func DecodeReport(b []byte) (*Report, error) {
	if len(b) > maxReportBytes {
		return nil, fmt.Errorf("report is larger than %d bytes", maxReportBytes)
	}
	var r *Report
	if err := strictJSON(bytes.TrimSpace(b), &r); err != nil {
		return nil, fmt.Errorf("not an nnq report: %v", err)
	}
	if r == nil {
		return nil, errors.New("not an nnq report: null")
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("bad report: %w", err)
	}
	return r, nil
}

func (r *Report) check() error {
	if r.Bits != 8 && r.Bits != 16 {
		return fmt.Errorf("bits %d is not 8 or 16", r.Bits)
	}
	for _, a := range []struct {
		name string
		v    float64
	}{{"float_accuracy", r.FloatAccuracy}, {"fixed_accuracy", r.FixedAccuracy}, {"agreement", r.Agreement}} {
		if !(a.v >= 0 && a.v <= 1) {
			return fmt.Errorf("%s %v is outside [0, 1]", a.name, a.v)
		}
	}
	if r.Patterns < 0 || r.Unlabelled < 0 || r.Unlabelled > r.Patterns {
		return fmt.Errorf("%d patterns, %d unlabelled", r.Patterns, r.Unlabelled)
	}
	counts := []int64{r.InputSaturated, int64(r.ArenaBytes), int64(r.ArenaLowerBound), int64(r.ArenaNaive), int64(r.WeightsBytes), int64(r.FlashBytes), int64(r.RAMBytes),
		int64(r.ScratchBytes), int64(r.ExpandedWeightBytes), int64(r.LibraryFlashBytes), int64(r.LibraryRAMBytes)}
	if len(r.Layers) == 0 {
		return errors.New("no layers")
	}
	for i, l := range r.Layers {
		if l.Name == "" {
			return fmt.Errorf("layer %d has no name", i)
		}
		if l.SQNRdB != nil && (math.IsNaN(*l.SQNRdB) || math.IsInf(*l.SQNRdB, 0)) {
			return fmt.Errorf("layer %q: sqnr_db %v", l.Name, *l.SQNRdB)
		}
		counts = append(counts, l.Saturations, l.SatHigh, l.SatLow, l.AccWraps, l.BiasWraps, l.MACs)
	}
	for _, c := range counts {
		if c < 0 {
			return fmt.Errorf("negative count %d", c)
		}
	}
	for _, m := range []struct {
		name string
		m    [][]int
	}{{"float_confusion", r.FloatConfusion}, {"fixed_confusion", r.FixedConfusion}} {
		for i, row := range m.m {
			if len(row) != len(m.m) {
				return fmt.Errorf("%s is not square: row %d has %d of %d entries", m.name, i, len(row), len(m.m))
			}
			for _, v := range row {
				if v < 0 {
					return fmt.Errorf("%s: negative count %d", m.name, v)
				}
			}
		}
	}
	if len(r.Classes) > 0 && len(r.FloatConfusion) > 0 && len(r.Classes) != len(r.FloatConfusion) {
		return fmt.Errorf("%d classes, %d confusion rows", len(r.Classes), len(r.FloatConfusion))
	}
	return nil
}
