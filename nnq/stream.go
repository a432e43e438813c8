package nnq

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// patternSource is what the passes (statistics, evaluation) read: a
// pattern set in memory (*Patterns, one batch) or a file-backed
// *PatternSet (batch by batch).
type patternSource interface {
	Len() int
	Label(i int) int
	// header is the set's shape and layout (and, in memory, its data)
	// for CheckPatterns.
	header() *Patterns
	// Each calls fn with the patterns in order, in batches valid only
	// during fn; first is the index of a batch's first pattern.
	Each(fn func(first int, b *Patterns) error) error
}

func (p *Patterns) header() *Patterns { return p }

// Each calls fn once with the whole set (patternSource).
func (p *Patterns) Each(fn func(first int, b *Patterns) error) error {
	if p.Len() == 0 {
		return nil
	}
	return fn(0, p)
}

// checkSource runs the model's pattern checks on a source.
func (m *Model) checkSource(src patternSource) error {
	if s, ok := src.(*PatternSet); ok {
		return m.CheckPatternSet(s)
	}
	return m.CheckPatterns(src.header())
}

// parallelEach runs work on every pattern of src over GOMAXPROCS workers,
// one batch at a time. newWorker builds a worker's state once (a Runner, a
// Sim), for every batch; its function gets the batch, the index in the
// batch and the index in the set.
func parallelEach(src patternSource, newWorker func() (func(b *Patterns, i, g int), error)) error {
	workers := min(runtime.GOMAXPROCS(0), max(src.Len(), 1))
	fs := make([]func(b *Patterns, i, g int), workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fs[w], errs[w] = newWorker()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return src.Each(func(first int, b *Patterns) error {
		n := b.Len()
		var next int64 = -1
		for _, f := range fs[:min(workers, n)] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(atomic.AddInt64(&next, 1))
					if i >= n {
						return
					}
					f(b, i, first+i)
				}
			}()
		}
		wg.Wait()
		return nil
	})
}
