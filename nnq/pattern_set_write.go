package nnq

import (
	"fmt"
	"io"
)

// WritePatternSet writes the first max patterns of s (all when max <= 0)
// to path, the file WritePatterns writes for s.Load().Head(max), but
// reading and writing one record batch at a time.
func WritePatternSet(path string, s *PatternSet, max int) error {
	if max > 0 && max < s.Len() {
		s = s.Head(max)
	}
	err := writeFileAtomic(path, func(w io.Writer) error {
		size := s.Size()
		e, err := newPatternEncoder(w, s.Shape, s.Layout, size, s.HasSplits(), nil)
		if err != nil {
			return err
		}
		batch := DefaultPatternBatchRows
		inputs := make([]float32, 0, batch*size)
		labels := make([]int32, 0, batch)
		var splits []string
		flush := func(done int) error {
			if len(labels) == 0 {
				return nil
			}
			if s.HasSplits() {
				splits = splits[:0]
				for _, k := range s.splits[done-len(labels) : done] {
					splits = append(splits, splitOrder[k])
				}
			}
			err := e.write(inputs, labels, splits)
			inputs, labels = inputs[:0], labels[:0]
			return err
		}
		err = s.Each(func(first int, b *Patterns) error {
			for i := 0; i < b.Len(); i++ {
				inputs = append(inputs, b.Input(i)...)
				labels = append(labels, int32(b.Label(i)))
				if len(labels) == batch {
					if err := flush(first + i + 1); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err == nil {
			err = flush(s.Len())
		}
		if err != nil {
			e.fw.Close()
			return err
		}
		return e.fw.Close()
	})
	if err != nil {
		return fmt.Errorf("write patterns %s: %w", path, err)
	}
	return nil
}
