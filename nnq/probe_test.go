package nnq

import (
	"math"
	"math/rand"
	"testing"
)

// TestProbeLossFollowsTheLabelWhereFloatIsWrong pins the held-out loss
// auto refines and chooses by: the divergence from the float network where
// the float network reads a pattern right, the label's cross-entropy where
// it reads it wrong (so copying the float network's mistakes earns
// nothing; judged by the divergence alone, the silence-heavy KWS variant
// kept the float network's misreadings of quiet clips).
func TestProbeLossFollowsTheLabelWhereFloatIsWrong(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	fw := testNet(r, NCHW)
	m, _ := fw.Prepare()
	cm, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	p := randPatterns(r, m, 80)
	labelFloatMistakes(cm, p) // the float network is wrong on patterns 0, 4, 8, ...
	st, _ := Calibrate(cm, p, nil)
	q, err := Quantize(cm, st, QConfig{Scheme: MSE{}})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := newProbe(cm, p)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pr.score(q)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	wrongDiffers := 0
	for i := 0; i < p.Len(); i++ {
		sum += sc.PerLoss[i]
		if i%4 != 0 {
			if sc.PerLoss[i] != sc.PerKL[i] {
				t.Errorf("pattern %d (float right): loss %.6g, divergence %.6g", i, sc.PerLoss[i], sc.PerKL[i])
			}
			continue
		}
		if sc.PerLoss[i] <= 0 {
			t.Errorf("pattern %d (float wrong): label cross-entropy %.6g", i, sc.PerLoss[i])
		}
		if math.Abs(sc.PerLoss[i]-sc.PerKL[i]) > 1e-9 {
			wrongDiffers++
		}
	}
	if wrongDiffers == 0 {
		t.Error("on every pattern the float network reads wrong the loss is the divergence: the label does not teach")
	}
	if math.Abs(sum/float64(p.Len())-sc.Loss) > 1e-12 {
		t.Errorf("loss %.9g is not the mean of the per-pattern losses %.9g", sc.Loss, sum/float64(p.Len()))
	}
	// Another wrong label changes the loss there; the divergence stays.
	p.Labels[0] = int32((int(p.Labels[0]) + 1) % 3)
	if p.Labels[0] == int32(pr.refTop[0]) {
		p.Labels[0] = int32((int(p.Labels[0]) + 1) % 3)
	}
	sc2, err := pr.score(q)
	if err != nil {
		t.Fatal(err)
	}
	if sc2.PerKL[0] != sc.PerKL[0] || sc2.PerLoss[0] == sc.PerLoss[0] {
		t.Errorf("relabelled pattern 0: divergence %.6g -> %.6g, loss %.6g -> %.6g", sc.PerKL[0], sc2.PerKL[0], sc.PerLoss[0], sc2.PerLoss[0])
	}
}
