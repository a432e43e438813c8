package nnq

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// rnnTestNet is a GRU (full sequence) → LSTM (last step) → dense network in
// the given framework layout, on a [C, T, W] (NCHW) or [T, W, C] input with
// C > 1 so the NCHW per-step feature reorder is exercised.
func rnnTestNet(r *rand.Rand, layout Layout, T, W, C, H1, H2 int, biases bool) *Model {
	m := &Model{Name: "rnn", Layout: layout, Tensors: map[string]*Tensor{}}
	if layout == NCHW {
		m.InputShape = []int{C, T, W}
	} else {
		m.InputShape = []int{T, W, C}
	}
	add := func(t *Tensor) string { m.Tensors[t.Name] = t; return t.Name }
	rec := func(name string, op Op, gates, in, h int) map[string]string {
		p := map[string]string{"weight_ih": add(randTensor(r, name+".weight_ih", gates*h, in)),
			"weight_hh": add(randTensor(r, name+".weight_hh", gates*h, h))}
		if biases {
			p["bias_ih"] = add(randTensor(r, name+".bias_ih", gates*h))
			p["bias_hh"] = add(randTensor(r, name+".bias_hh", gates*h))
		}
		return p
	}
	U := 4
	dw := randTensor(r, "fc.w", U, H2)
	if layout == NHWC {
		dw = randTensor(r, "fc.w", H2, U)
	}
	m.Layers = []*Layer{
		{Name: "gru", Op: OpGRU, Attrs: Attrs{Hidden: H1, ReturnSequences: true}, Params: rec("gru", OpGRU, 3, W*C, H1)},
		{Name: "lstm", Op: OpLSTM, Params: rec("lstm", OpLSTM, 4, H1, H2)},
		{Name: "fc", Op: OpDense, Params: map[string]string{"weight": add(dw), "bias": add(randTensor(r, "fc.b", U))}},
		{Name: "prob", Op: OpSoftmax},
	}
	return m
}

// The decomposed float form (CMSIS layout: reordered weight_ih, one FC per
// input, folded biases, h' = n - z·n + z·h) equals the framework-convention
// forward written straight from PyTorch's equations.
func TestRecurrentDecompositionMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, layout := range []Layout{NCHW, NHWC} {
		for it := 0; it < 4; it++ {
			T, W, C := 1+r.Intn(9), 1+r.Intn(4), 1+r.Intn(3)
			if it == 0 {
				W, C = 3, 2
			}
			fw := rnnTestNet(r, layout, T, W, C, 2+r.Intn(7), 1+r.Intn(6), it%2 == 0)
			if err := fw.Check(); err != nil {
				t.Fatal(err)
			}
			cm, err := fw.ToCMSIS()
			if err != nil {
				t.Fatal(err)
			}
			p := randPatterns(r, fw, 40)
			rep, err := VerifyLayout(fw, cm, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range rep.Layers {
				if l.MaxAbs >= 1e-5 {
					t.Errorf("%s T=%d W=%d C=%d: layer %s differs by %g (max |ref| %g)\n%s", layout, T, W, C, l.Layer, l.MaxAbs, l.MaxRef, rep)
				}
				if l.MaxRef == 0 {
					t.Errorf("layer %s is all zero", l.Layer)
				}
			}
		}
	}
}

// A hand-computed one-step GRU and LSTM (H = 1, I = 1) pins the PyTorch
// conventions: gate order, b_hn inside r ⊙ (...), h' = (1-z)·n + z·h.
func TestRecurrentConventions(t *testing.T) {
	mk := func(op Op, wih, whh, bih, bhh []float32) *Model {
		m := &Model{Name: "one", Layout: NCHW, InputShape: []int{1, 2, 1}, Tensors: map[string]*Tensor{
			"wih": {Name: "wih", Shape: []int{len(wih), 1}, Data: wih}, "whh": {Name: "whh", Shape: []int{len(whh), 1}, Data: whh},
			"bih": {Name: "bih", Shape: []int{len(bih)}, Data: bih}, "bhh": {Name: "bhh", Shape: []int{len(bhh)}, Data: bhh}}}
		m.Layers = []*Layer{{Name: "rnn", Op: op, Attrs: Attrs{ReturnSequences: true},
			Params: map[string]string{"weight_ih": "wih", "weight_hh": "whh", "bias_ih": "bih", "bias_hh": "bhh"}}}
		return m
	}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	x := []float32{0.7, -1.3}
	// GRU: rows r, z, n.
	wih, whh := []float32{0.5, -0.4, 1.1}, []float32{0.3, 0.8, -0.6}
	bih, bhh := []float32{0.1, 0.2, -0.3}, []float32{-0.2, 0.05, 0.4}
	var want []float64
	h := 0.0
	for _, xv := range x {
		xf := float64(xv)
		rr := sig(float64(wih[0])*xf + float64(bih[0]) + float64(whh[0])*h + float64(bhh[0]))
		z := sig(float64(wih[1])*xf + float64(bih[1]) + float64(whh[1])*h + float64(bhh[1]))
		n := math.Tanh(float64(wih[2])*xf + float64(bih[2]) + rr*(float64(whh[2])*h+float64(bhh[2])))
		h = (1-z)*n + z*h
		want = append(want, h)
	}
	check := func(m *Model, want []float64) {
		t.Helper()
		cm, err := m.ToCMSIS()
		if err != nil {
			t.Fatal(err)
		}
		for _, mm := range []*Model{m, cm} {
			var run *Runner
			if mm.Layout == CMSIS {
				run, err = mm.NewRunner()
			} else {
				run, err = mm.newReferenceRunner()
			}
			if err != nil {
				t.Fatal(err)
			}
			got := run.Run(x)
			for i := range want {
				if math.Abs(float64(got[i])-want[i]) > 1e-6 {
					t.Errorf("%s %s step %d: %v, want %v", m.Layers[0].Op, mm.Layout, i, got[i], want[i])
				}
			}
		}
	}
	check(mk(OpGRU, wih, whh, bih, bhh), want)
	// LSTM: rows i, f, g, o.
	wih, whh = []float32{0.5, -0.4, 1.1, 0.9}, []float32{0.3, 0.8, -0.6, 0.2}
	bih, bhh = []float32{0.1, 0.2, -0.3, 0.0}, []float32{-0.2, 0.05, 0.4, 0.1}
	want = want[:0]
	h, c := 0.0, 0.0
	pre := func(k int, xf float64) float64 {
		return float64(wih[k])*xf + float64(bih[k]) + float64(whh[k])*h + float64(bhh[k])
	}
	for _, xv := range x {
		xf := float64(xv)
		i, f, g, o := sig(pre(0, xf)), sig(pre(1, xf)), math.Tanh(pre(2, xf)), sig(pre(3, xf))
		c = f*c + i*g
		h = o * math.Tanh(c)
		want = append(want, h)
	}
	check(mk(OpLSTM, wih, whh, bih, bhh), want)
}

func TestRecurrentShapeErrors(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	m := rnnTestNet(r, NHWC, 5, 3, 2, 4, 3, true)
	m.Layers[0].Attrs.Hidden = 5
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), "hidden 5") {
		t.Errorf("hidden mismatch: %v", err)
	}
	m = rnnTestNet(r, NHWC, 5, 3, 2, 4, 3, true)
	m.Tensors["gru.weight_hh"].Shape = []int{8, 6}
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), "r, z, n") {
		t.Errorf("weight_hh shape: %v", err)
	}
	m = rnnTestNet(r, NHWC, 5, 3, 2, 4, 3, true)
	m.Layers = m.Layers[1:] // the LSTM now reads the raw input: I = 6, not 4
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), "weight_ih") {
		t.Errorf("weight_ih shape: %v", err)
	}
	v := &Model{Name: "v", Layout: CMSIS, InputShape: []int{6}, Tensors: map[string]*Tensor{
		"a": randTensor(r, "a", 12, 6), "b": randTensor(r, "b", 12, 4)}}
	v.Layers = []*Layer{{Name: "g", Op: OpGRU, Params: map[string]string{"weight_ih": "a", "weight_hh": "b"}}}
	if err := v.Check(); err == nil || !strings.Contains(err.Error(), "sequence") {
		t.Errorf("vector input: %v", err)
	}
}

// Quantized GRU/LSTM networks: internal statistics exist, the simulator
// tracks the float network (q15 closely), and the model survives
// Save/LoadQModel bit for bit.
func TestRecurrentQuantize(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	fw := rnnTestNet(r, NCHW, 12, 3, 2, 10, 8, true)
	cm, err := fw.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	p := randPatterns(r, fw, 80)
	st := labelledStats(t, cm, p)
	for _, n := range []string{"gru/gates", "gru/h", "lstm/gates", "lstm/h", "lstm/c"} {
		ts := st.Tensor(n)
		if ts == nil || ts.Count == 0 {
			t.Fatalf("no statistics for %s", n)
		}
	}
	if got := st.Tensor("gru/h").Count; got != int64(80*12*10) {
		t.Errorf("gru/h has %d values, want %d", got, 80*12*10)
	}
	if st.Tensor("gru/h").AbsMax() >= 1 || st.Tensor("lstm/h").AbsMax() >= 1 {
		t.Errorf("|h| should stay below 1")
	}
	for _, bits := range []int{8, 16} {
		q, err := Quantize(cm, st, QConfig{Bits: bits, Target: "cortex-m4"})
		if err != nil {
			t.Fatalf("q%d: %v", bits, err)
		}
		gl := q.Layer("gru")
		if len(gl.Sub) != 2 || gl.Internal["h"] != 15 || q.Frac["lstm/c"] != q.Layer("lstm").Internal["c"] {
			t.Fatalf("q%d: recurrent layer not quantized: %+v", bits, gl)
		}
		ev, err := q.Evaluate(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Per-layer SQNR of the recurrent outputs.
		minSQNR := map[int]float64{8: 25, 16: 55}[bits]
		for _, le := range ev.Layers[:2] {
			if le.SQNR < minSQNR {
				t.Errorf("q%d: layer %s SQNR %.1f dB < %.0f", bits, le.Name, le.SQNR, minSQNR)
			}
			if le.Kernel.Calls != int64(p.Len()) {
				t.Errorf("q%d: layer %s counted %d calls", bits, le.Name, le.Kernel.Calls)
			}
		}
		if bits == 16 && ev.Agreement < 0.97 {
			t.Errorf("q15 agreement %.3f", ev.Agreement)
		}
		t.Logf("q%d: SQNR gru %.1f dB, lstm %.1f dB, agreement %.3f", bits, ev.Layers[0].SQNR, ev.Layers[1].SQNR, ev.Agreement)
		tbl := q.Table()
		for _, want := range []string{"nnq_gru_q", "nnq_lstm_q", "W_ih", "cell c"} {
			if !strings.Contains(tbl, want) {
				t.Errorf("table lacks %q:\n%s", want, tbl)
			}
		}
		q2, path := checkSaveLoad(t, q, p, 10)
		// The accuracy search can move the recurrent layers' internal formats.
		sq, err := Quantize(cm, st, QConfig{Bits: bits, Scheme: Search{Base: MSE{}, Fit: p.Head(20), Val: p.Tail(20), MaxRounds: 1, MaxDelta: 1}})
		if err != nil {
			t.Fatalf("q%d search: %v", bits, err)
		}
		if sq.Frac["lstm/c"] < 0 || sq.Frac["lstm/c"] > 15 {
			t.Errorf("q%d search: cell format %d", bits, sq.Frac["lstm/c"])
		}
		// A corrupted weight set is refused on load.
		q2.Layers[0].Sub[1].Bias = q2.Layers[0].Sub[1].Bias[1:]
		if err := q2.Save(path); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadQModel(path); err == nil || !strings.Contains(err.Error(), "weight set") {
			t.Errorf("corrupt sub weights: %v", err)
		}
	}
}

// Statistics collected without the recurrent internals give a clear error.
func TestRecurrentNeedsInternalStats(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	fw := rnnTestNet(r, NHWC, 4, 2, 1, 3, 2, false)
	cm, _ := fw.ToCMSIS()
	st, err := Calibrate(cm, randPatterns(r, fw, 5), nil)
	if err != nil {
		t.Fatal(err)
	}
	delete(st.Tensors, "lstm/c")
	if _, err := Quantize(cm, st, QConfig{Bits: 16}); err == nil || !strings.Contains(err.Error(), "internal tensors") {
		t.Errorf("missing internal stats: %v", err)
	}
}
