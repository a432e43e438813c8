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

// TestSQNRTermsQ7TableEqualsDequantized: the q7 SQNR terms read from the
// dequantization table (branch-free ReLU) equal those of the plain loop
// over Dequantize's values, signed zeros, NaNs and infinities included.
func TestSQNRTermsQ7TableEqualsDequantized(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -float32(math.NaN()), 1e-45, -1e-45}
	for c := 0; c < 200; c++ {
		frac := r.Intn(20) - 5
		scale := math.Exp2(-float64(frac))
		tab := make([]float64, 256)
		for i := range tab {
			tab[i] = float64(float32(float64(i-128) * scale))
		}
		n := r.Intn(100)
		ref, q := make([]float32, n), make([]int16, n)
		for i := range ref {
			ref[i] = float32(r.NormFloat64() * scale * 50)
			if c%4 == 0 && r.Intn(8) == 0 {
				ref[i] = special[r.Intn(len(special))]
			}
			q[i] = int16(r.Intn(256) - 128)
		}
		relu := c%2 == 0
		m0 := float32(r.Float64())
		sg1, ns1, m1 := sqnrTermsQ7(ref, q, tab, relu, m0)
		deq := Dequantize(q, frac, nil)
		sg2, ns2, m2 := sqnrTerms(ref, deq, relu, m0)
		// The plain definition, with a branch for the ReLU.
		var sg3, ns3 float64
		m3 := m0
		for j, v := range ref {
			if relu && v < 0 {
				v = 0
			}
			d := float64(v) - float64(deq[j])
			sg3 += float64(v) * float64(v)
			ns3 += d * d
			m3 = max(m3, v, -v)
		}
		same := func(a, b float64) bool { return a == b || (a != a && b != b) }
		if !same(sg1, sg2) || !same(ns1, ns2) || !same(float64(m1), float64(m2)) || !same(sg3, sg2) || !same(ns3, ns2) || !same(float64(m3), float64(m2)) {
			t.Fatalf("case %d (relu %v): table %v %v %v, dequantized %v %v %v, plain %v %v %v", c, relu, sg1, ns1, m1, sg2, ns2, m2, sg3, ns3, m3)
		}
	}
}
