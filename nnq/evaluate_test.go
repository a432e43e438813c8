package nnq

import (
	"math"
	"math/rand"
	"runtime"
	"testing"
)

// TestEvaluateIsDeterministic: the per-layer SQNRs are the same bits
// whatever the number of workers (notebook outputs and the golden exports
// compare them exactly).
func TestEvaluateIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	fw := testNet(r, NCHW)
	m, _ := fw.Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 300)
	st, _ := Calibrate(cm, p, nil)
	q, err := Quantize(cm, st, QConfig{Bits: 8, Scheme: MSE{}})
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, procs := range []int{1, 4, 3, 4} {
		old := runtime.GOMAXPROCS(procs)
		ev, err := q.Evaluate(p, nil)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, l := range ev.Layers {
			got = append(got, math.Float64bits(l.SQNR))
		}
		if want == nil {
			want = got
			continue
		}
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("%d workers: layer %d SQNR %v, one worker %v", procs, k, math.Float64frombits(got[k]), math.Float64frombits(want[k]))
			}
		}
	}
}
