package nnq

import (
	"math/rand"
	"strings"
	"testing"
)

// Patterns with label -1 are left out of the accuracies (not of the
// agreement), counted in the evaluation and the report, and are no errors
// for the search.
func TestUnlabelledPatternsLeftOutOfAccuracy(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	m, _ := testNet(r, NCHW).Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 40)
	fr, _ := cm.NewRunner()
	for i := 0; i < p.Len(); i++ {
		p.Labels[i] = int32(Predict(fr.Run(p.Input(i))))
		if i%4 == 0 {
			p.Labels[i] = -1
		}
	}
	st, _ := Calibrate(cm, p, nil)
	q, err := Quantize(cm, st, QConfig{Bits: 16, Scheme: MinMax{}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := q.Evaluate(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Unlabelled != 10 || ev.Patterns != 40 {
		t.Errorf("unlabelled %d of %d, want 10 of 40", ev.Unlabelled, ev.Patterns)
	}
	if ev.Float != 1 {
		t.Errorf("float accuracy on self-labels %v, want 1 (unlabelled rows must not count as wrong)", ev.Float)
	}
	fixedWrong := int64(float64(30)*(1-ev.Fixed) + 0.5)
	if n, err := q.errorsUpTo(p, 1000); err != nil || n != fixedWrong {
		t.Errorf("errorsUpTo = %d, %v; want %d (the fixed errors among the 30 labelled)", n, err, fixedWrong)
	}
	rep := NewReport(q, ev)
	if rep.Unlabelled != 10 || !strings.Contains(rep.Markdown(), "10 unlabelled") {
		t.Errorf("report: unlabelled %d\n%s", rep.Unlabelled, rep.Markdown())
	}
	// No labels at all: accuracies 0, agreement still measured.
	for i := range p.Labels {
		p.Labels[i] = -1
	}
	ev, err = q.Evaluate(p, nil)
	if err != nil || ev.Float != 0 || ev.Fixed != 0 || ev.Agreement == 0 || ev.Unlabelled != 40 {
		t.Errorf("all unlabelled: %+v, %v", ev, err)
	}
}
