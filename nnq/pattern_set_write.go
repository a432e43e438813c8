package nnq

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// PatternWriter writes an uncompressed Arrow IPC pattern file batch by
// batch, so a file of any size is written in bounded memory: Write
// buffers DefaultPatternBatchRows patterns and writes them as one record
// batch, the file WritePatterns writes for all of them. The file appears
// under its name on Close.
type PatternWriter struct {
	path   string
	f      *os.File
	bw     *bufio.Writer
	enc    *patternEncoder
	size   int
	buf    *Patterns
	err    error
	closed bool
}

// CreatePatterns starts a pattern file of patterns of the given shape and
// layout; withSplits adds the split column.
func CreatePatterns(path string, shape []int, layout Layout, withSplits bool) (*PatternWriter, error) {
	size := shapeSize(shape)
	if size <= 0 {
		return nil, fmt.Errorf("write patterns %s: shape %v has no elements", path, shape)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write patterns %s: %w", path, err)
	}
	w := &PatternWriter{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), size: size,
		buf: &Patterns{Shape: append([]int(nil), shape...), Layout: layout}}
	if withSplits {
		w.buf.Splits = []string{}
	}
	if w.enc, err = newPatternEncoder(w.bw, shape, layout, size, withSplits, nil); err != nil {
		w.abort()
		return nil, fmt.Errorf("write patterns %s: %w", path, err)
	}
	return w, nil
}

// Append adds one pattern (split "" when the file has no split column).
func (w *PatternWriter) Append(input []float32, label int, split string) error {
	if w.err != nil {
		return w.err
	}
	if len(input) != w.size {
		return fmt.Errorf("write patterns %s: a pattern of %d values; the shape %v has %d", w.path, len(input), w.buf.Shape, w.size)
	}
	if (split != "") != (w.buf.Splits != nil) {
		return fmt.Errorf("write patterns %s: split %q, but the file was created with splits %v", w.path, split, w.buf.Splits != nil)
	}
	w.buf.Inputs = append(w.buf.Inputs, input...)
	w.buf.Labels = append(w.buf.Labels, int32(label))
	if w.buf.Splits != nil {
		w.buf.Splits = append(w.buf.Splits, split)
	}
	if len(w.buf.Labels) == DefaultPatternBatchRows {
		w.flush()
	}
	return w.err
}

func (w *PatternWriter) flush() {
	if w.err != nil || len(w.buf.Labels) == 0 {
		return
	}
	if err := w.enc.write(w.buf.Inputs, w.buf.Labels, w.buf.Splits); err != nil {
		w.err = fmt.Errorf("write patterns %s: %w", w.path, err)
	}
	w.buf.Inputs, w.buf.Labels = w.buf.Inputs[:0], w.buf.Labels[:0]
	if w.buf.Splits != nil {
		w.buf.Splits = w.buf.Splits[:0]
	}
}

func (w *PatternWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
	w.closed = true
}

// Close writes the last batch and the footer and moves the file into
// place; after an error the file is removed.
func (w *PatternWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.flush()
	if w.err == nil {
		if err := w.enc.fw.Close(); err != nil {
			w.err = fmt.Errorf("write patterns %s: %w", w.path, err)
		}
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = fmt.Errorf("write patterns %s: %w", w.path, err)
		}
	}
	if w.err == nil {
		if err := w.f.Chmod(0o644); err != nil {
			w.err = err
		}
	}
	if w.err != nil {
		w.abort()
		return w.err
	}
	w.closed = true
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("write patterns %s: %w", w.path, err)
	}
	if err := os.Rename(w.f.Name(), w.path); err != nil {
		return fmt.Errorf("write patterns %s: %w", w.path, err)
	}
	return nil
}

// WritePatternSet writes the first max patterns of s (all when max <= 0)
// to path, the file WritePatterns writes for s.Load().Head(max), but
// reading and writing one record batch at a time.
func WritePatternSet(path string, s *PatternSet, max int) error {
	if max > 0 && max < s.Len() {
		s = s.Head(max)
	}
	w, err := CreatePatterns(path, s.Shape, s.Layout, s.HasSplits())
	if err != nil {
		return err
	}
	err = s.Each(func(first int, b *Patterns) error {
		for i := 0; i < b.Len(); i++ {
			split := ""
			if s.HasSplits() {
				split = splitOrder[s.splits[first+i]]
			}
			if err := w.Append(b.Input(i), b.Label(i), split); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.abort()
		return err
	}
	return w.Close()
}
