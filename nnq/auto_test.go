package nnq

import (
	"math"
	"math/rand"
	"testing"
)

// floorNet is a 16-feature, 2-class linear classifier (class 1 when the
// features sum above zero) and patterns in which every fifth one is
// "silence": all features at a constant floor of -250 (label 0), far below
// the bulk, which stays within ±3.5.
func floorNet(r *rand.Rand, n int) (*Model, *Patterns) {
	const N = 16
	w := &Tensor{Name: "fc.w", Shape: []int{2, N}, Data: make([]float32, 2*N)}
	for i := 0; i < N; i++ {
		w.Data[i], w.Data[N+i] = -0.25, 0.25
	}
	m := &Model{Name: "floor", Layout: NCHW, InputShape: []int{N}, Tensors: map[string]*Tensor{"fc.w": w},
		Layers: []*Layer{{Name: "fc", Op: OpDense, Params: map[string]string{"weight": "fc.w"}}, {Name: "prob", Op: OpSoftmax}}}
	p := &Patterns{Shape: []int{N}, Layout: NCHW}
	x := make([]float32, N)
	for k := 0; k < n; k++ {
		if k%5 == 4 {
			for i := range x {
				x[i] = -250
			}
			p.Append(x, 0, "")
			continue
		}
		var s float32
		for i := range x {
			x[i] = float32(r.Float64()*7 - 3.5)
			s += x[i]
		}
		label := 0
		if s > 0 {
			label = 1
		}
		p.Append(x, label, "")
	}
	return m, p
}

// TestAutoSaturatesAFloor: the input's constant floor must not widen its
// format (minmax and mse give the input Q8.-1 for a floor at -250), and
// auto must score at least as well as every statistics scheme on patterns
// it never saw.
func TestAutoSaturatesAFloor(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	fw, all := floorNet(r, 3000)
	cm, err := fw.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	calib, held, test := all.Head(1000), &Patterns{Shape: all.Shape, Layout: all.Layout}, all.Tail(1000)
	held.Inputs, held.Labels = all.Inputs[1000*16:2000*16], all.Labels[1000:2000]
	st, err := Calibrate(cm, calib, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, desc := FloorBlock(st.Tensor(cm.inputName()))
	if f == nil || f.AbsMax() > 4 {
		t.Fatalf("no floor block found in the input statistics (%v)", desc)
	}
	acc := map[string]float64{}
	for _, sc := range []Scheme{MinMax{}, Percentile{P: 99.99}, Percentile{P: 99.9}, MSE{}, Auto{Probe: held}} {
		q, err := Quantize(cm, st, QConfig{Scheme: sc})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := q.Accuracy(test, nil)
		if err != nil {
			t.Fatal(err)
		}
		acc[sc.Name()] = ev.Fixed
		if sc.Name() == "minmax" && q.InputFrac > -1 {
			t.Fatalf("minmax input %s: the floor should widen it", QFormat(8, q.InputFrac))
		}
		if sc.Name() == "auto" {
			if q.InputFrac < 4 {
				t.Errorf("auto input %s: the floor widened it (%s)", QFormat(8, q.InputFrac), q.InputReason)
			}
			if ev.Fixed < 0.97 {
				t.Errorf("auto accuracy %.3f", ev.Fixed)
			}
		}
	}
	t.Logf("test accuracy: %v", acc)
	for n, a := range acc {
		if a > acc["auto"] {
			t.Errorf("%s %.4f beats auto %.4f", n, a, acc["auto"])
		}
	}
}

// TestAutoFallsBackToMinmax: when no held-out difference can be trusted
// (an impossible confidence), auto returns minmax's formats; when any
// difference counts, its result is minmax or beats it on the confirmation
// patterns, with a loss no higher than any statistics scheme's that beats
// minmax too.
func TestAutoFallsBackToMinmax(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	fw := testNet(r, NCHW)
	m, _ := fw.Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 160)
	labelFloatMistakes(cm, p)
	st, _ := Calibrate(cm, p.Head(60), nil)
	held := p.Tail(100)
	q, err := Quantize(cm, st, QConfig{Scheme: Auto{Probe: held, Confidence: math.Inf(1)}})
	if err != nil {
		t.Fatal(err)
	}
	mm, _ := Quantize(cm, st, QConfig{Scheme: MinMax{}})
	for n, f := range mm.Frac {
		if q.Frac[n] != f {
			t.Errorf("%s: auto %s, minmax %s", n, QFormat(8, q.Frac[n]), QFormat(8, f))
		}
	}
	q, err = Quantize(cm, st, QConfig{Scheme: Auto{Probe: held, Confidence: 1e-9}})
	if err != nil {
		t.Fatal(err)
	}
	check, _ := newProbe(cm, held.Tail(50))
	got, _ := check.score(q)
	base, _ := check.score(mm)
	if ok, why := beats(got, base, 1e-9); !ok && !sameFormats(q, mm, freeTensors(cm, q, QConfig{})) {
		t.Errorf("auto neither is minmax nor beats it: %s", why)
	}
	for _, sc := range autoStarts() {
		sq, _ := Quantize(cm, st, QConfig{Scheme: sc})
		s, _ := check.score(sq)
		if ok, _ := beats(s, base, 1e-9); ok && got.Loss > s.Loss+1e-12 {
			t.Errorf("auto's held-out loss %.5g is above %s's %.5g", got.Loss, sc.Name(), s.Loss)
		}
	}
	if len(q.Notes) < 2 || q.InputReason == "" || q.Layers[0].Reason == "" {
		t.Errorf("auto left no reasons: %q %q %v", q.InputReason, q.Layers[0].Reason, q.Notes)
	}
	t.Logf("%s\n%s", q.Notes[len(q.Notes)-1], q.Table())
}

// labelFloatMistakes labels every pattern with the float network's class,
// except every fourth one (0, 4, 8, ...), which gets the next class of
// three: there the float network is wrong.
func labelFloatMistakes(cm *Model, p *Patterns) {
	fr, _ := cm.NewRunner()
	for i := 0; i < p.Len(); i++ {
		p.Labels[i] = int32(Predict(fr.Run(p.Input(i))))
		if i%4 == 0 {
			p.Labels[i] = int32((int(p.Labels[i]) + 1) % 3)
		}
	}
}
