package nnq

import (
	"runtime"
	"sync"
	"sync/atomic"
)

func atomicAdd(p *int64, d int64) { atomic.AddInt64(p, d) }

// parallel runs work for indices 0..n-1 over GOMAXPROCS workers. newWorker
// is called once per worker to build its state (e.g. a Runner).
func parallel(n int, newWorker func() (func(i int), error)) error {
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	var next int64 = -1
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			f, err := newWorker()
			if err != nil {
				errs[w] = err
				return
			}
			for {
				i := int(atomic.AddInt64(&next, 1))
				if i >= n {
					return
				}
				f(i)
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func atomicAddGet(p *int64, d int64) int64 { return atomic.AddInt64(p, d) }
