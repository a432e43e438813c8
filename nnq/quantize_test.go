package nnq

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/kernels"
)

func TestFracForRange(t *testing.T) {
	for _, c := range []struct {
		r    float64
		bits int
		want int
	}{{1, 8, 7}, {0.3, 8, 8}, {5, 8, 4}, {0, 8, 7}, {100, 8, 0}, {300, 8, -2}, {0.9, 16, 15}, {3, 16, 13}, {1e-3, 8, 16}} {
		if got := FracForRange(c.r, c.bits); got != c.want {
			t.Errorf("FracForRange(%v, %d) = %d, want %d", c.r, c.bits, got, c.want)
		}
	}
}

func statsOf(name string, vals ...float64) *TensorStats {
	s := newTensorStats(name)
	x := make([]float32, len(vals))
	for i, v := range vals {
		x[i] = float32(v)
	}
	s.Add(x)
	return s
}

func TestSchemesOnSyntheticDistributions(t *testing.T) {
	// 990 values at 0.4 and 10 outliers at 100: min/max keeps the outliers,
	// the 99th percentile ignores them.
	var vals []float64
	for i := 0; i < 990; i++ {
		vals = append(vals, 0.4)
	}
	for i := 0; i < 10; i++ {
		vals = append(vals, -100)
	}
	s := statsOf("t", vals...)
	if f := (MinMax{}).Frac(s, 8); f != 0 {
		t.Errorf("minmax frac %d, want 0 (|x| <= 100 needs 7 integer bits)", f)
	}
	if f := (Percentile{P: 99}).Frac(s, 8); f != 8 {
		t.Errorf("percentile 99 frac %d, want 8 (|x| <= 0.4)", f)
	}
	if f := (Percentile{P: 99.5}).Frac(s, 8); f != 0 {
		t.Errorf("percentile 99.5 frac %d, want 0 (the outliers are 1%%)", f)
	}
	// Gaussian bulk with one outlier at 40: min/max spends 6 integer bits
	// on it (frac 1); the expected squared error is lowest with frac 2
	// (range 32: the outlier's (40-32)² spread over 20001 values costs less
	// than the coarser step).
	r := rand.New(rand.NewSource(1))
	vals = vals[:0]
	for i := 0; i < 20000; i++ {
		vals = append(vals, r.NormFloat64())
	}
	vals = append(vals, 40)
	g := statsOf("g", vals...)
	mm, mse := (MinMax{}).Frac(g, 8), (MSE{}).Frac(g, 8)
	if mm != 1 || mse != 2 {
		t.Errorf("gaussian+outlier: minmax %d (want 1), mse %d (want 2)", mm, mse)
	}
	// One extreme outlier dominates the squared error: MSE keeps it.
	g.Add([]float32{1000})
	if f := (MSE{}).Frac(g, 8); f != (MinMax{}).Frac(g, 8) {
		t.Errorf("extreme outlier: mse %d, minmax %d", f, (MinMax{}).Frac(g, 8))
	}
	// Without outliers MSE keeps a range that covers the data well.
	u := statsOf("u", 0.9, -0.8, 0.5, 0.1)
	if f := (MSE{}).Frac(u, 8); f != 7 {
		t.Errorf("mse on [-0.8, 0.9] chose %d, want 7", f)
	}
	if _, err := ParseScheme("percentile:120"); err == nil {
		t.Error("percentile 120 accepted")
	}
	for _, n := range []string{"minmax", "mse", "percentile:99.9", "search", "auto"} {
		sc, err := ParseScheme(n)
		if err != nil || sc.Name() != map[string]string{"search": "search:auto"}[n] && sc.Name() != n {
			t.Errorf("ParseScheme(%q) = %v, %v", n, sc, err)
		}
	}
}

func TestStatsMergeEqualsOneRun(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	m, _ := testNet(r, NCHW).Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 40)
	all, err := Calibrate(cm, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Calibrate(cm, p.Head(13), nil)
	rest := &Patterns{Shape: p.Shape, Layout: p.Layout, Inputs: p.Inputs[13*p.Size():], Labels: p.Labels[13:]}
	b, _ := Calibrate(cm, rest, nil)
	merged := &Stats{}
	if err := merged.Merge(a); err != nil {
		t.Fatal(err)
	}
	if err := merged.Merge(b); err != nil {
		t.Fatal(err)
	}
	for _, n := range all.Order {
		x, y := all.Tensor(n), merged.Tensor(n)
		if x.Min != y.Min || x.Max != y.Max || x.MinCount != y.MinCount || x.MaxCount != y.MaxCount || x.Count != y.Count || x.Pos != y.Pos || x.Neg != y.Neg || x.Fine != y.Fine {
			t.Fatalf("tensor %q: merged stats differ from one run", n)
		}
	}
	if merged.Patterns != 40 {
		t.Fatalf("merged %d patterns", merged.Patterns)
	}
}

// A dense layer with hand-set ranges: the guide's rules give the formats
// and shifts.
func denseNet(wmax, bmax float32) *Model {
	m := &Model{Name: "dense", Layout: CMSIS, InputShape: []int{4}, Tensors: map[string]*Tensor{
		"w": {Name: "w", Shape: []int{2, 4}, Data: []float32{wmax, -0.1, 0.2, 0, 0.1, 0.3, -0.2, 0.05}},
		"b": {Name: "b", Shape: []int{2}, Data: []float32{bmax, -1}},
	}, Layers: []*Layer{{Name: "fc", Op: OpDense, Params: map[string]string{"weight": "w", "bias": "b"}}}}
	return m
}

func handStats(m *Model, ranges map[string]float64) *Stats {
	s := newStats(m)
	for n, r := range ranges {
		s.Tensors[n] = statsOf(n, r, -r/2)
	}
	return s
}

func TestGuideShiftRule(t *testing.T) {
	m := denseNet(0.4, 3)
	// input max 0.9 -> fi 7; weights max 0.4 -> fw 8; bias max 3 -> fb 5;
	// output max 6 -> fo 4; bias_shift = 7+8-5 = 10, out_shift = 7+8-4 = 11.
	q, err := Quantize(m, handStats(m, map[string]float64{"input": 0.9, "fc": 6}), QConfig{Bits: 8, Scheme: MinMax{}, Target: "cortex-m4"})
	if err != nil {
		t.Fatal(err)
	}
	l := q.Layers[0]
	if q.InputFrac != 7 || l.WeightFrac != 8 || l.BiasFrac != 5 || l.OutFrac != 4 || l.BiasShift != 10 || l.OutShift != 11 {
		t.Fatalf("fi %d fw %d fb %d fo %d bias_shift %d out_shift %d", q.InputFrac, l.WeightFrac, l.BiasFrac, l.OutFrac, l.BiasShift, l.OutShift)
	}
	if l.Weights[0] != 102 || l.Bias[0] != 96 { // round(0.4*256), 3*32
		t.Fatalf("quantized weight %d bias %d", l.Weights[0], l.Bias[0])
	}
	if l.Kernel != kernels.VarNNQFCQ7 {
		t.Fatalf("kernel %s", l.Kernel)
	}
	// Tiny outputs would want fo = 16 > fi+fw = 15: limited, and said.
	q, err = Quantize(m, handStats(m, map[string]float64{"input": 0.9, "fc": 0.001}), QConfig{Bits: 8, Scheme: MinMax{}})
	if err != nil {
		t.Fatal(err)
	}
	l = q.Layers[0]
	if l.OutFrac != 15 || l.OutShift != 0 || !strings.Contains(strings.Join(l.Notes, ";"), "out_shift cannot be negative") {
		t.Fatalf("fo %d out_shift %d notes %v", l.OutFrac, l.OutShift, l.Notes)
	}
	// A bias finer than the accumulator is lowered so bias_shift >= 0.
	m2 := denseNet(0.4, 0.001)
	m2.Tensors["b"].Data[1] = 0.0005
	q, err = Quantize(m2, handStats(m2, map[string]float64{"input": 40, "fc": 6}), QConfig{Bits: 8, Scheme: MinMax{}})
	if err != nil {
		t.Fatal(err)
	}
	l = q.Layers[0]
	if l.BiasShift != 0 || l.BiasFrac != q.InputFrac+l.WeightFrac {
		t.Fatalf("bias frac %d shift %d (fi %d fw %d)", l.BiasFrac, l.BiasShift, q.InputFrac, l.WeightFrac)
	}
	// A fixed sensor format propagates.
	six := 6
	q, err = Quantize(m, handStats(m, map[string]float64{"input": 0.9, "fc": 6}), QConfig{Bits: 16, Scheme: MinMax{}, InputFrac: &six})
	if err != nil {
		t.Fatal(err)
	}
	if q.InputFrac != 6 || q.Layers[0].BiasShift != 6+q.Layers[0].WeightFrac-q.Layers[0].BiasFrac {
		t.Fatalf("fixed input: %d", q.InputFrac)
	}
}

func TestPropagationConstraints(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	fw := testNet(r, NHWC)
	m, _ := fw.Prepare()
	cm, _ := m.ToCMSIS()
	st, err := Calibrate(cm, randPatterns(r, m, 30), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bits := range []int{8, 16} {
		q, err := Quantize(cm, st, QConfig{Bits: bits, Scheme: MinMax{}})
		if err != nil {
			t.Fatalf("q%d: %v", bits, err)
		}
		for _, l := range q.Layers {
			switch l.Op {
			case OpReLU, OpMaxPool2D, OpAvgPool2D, OpFlatten, OpReshape:
				if l.OutFrac != l.InFrac[0] {
					t.Errorf("q%d %s %q changed the format %d -> %d", bits, l.Op, l.Name, l.InFrac[0], l.OutFrac)
				}
			case OpSigmoid, OpTanh:
				if l.OutFrac != bits-1 || l.IntWidth < 0 || l.IntWidth > 3 || l.IntWidth != bits-1-l.InFrac[0] {
					t.Errorf("q%d %s: in %d out %d int_width %d", bits, l.Name, l.InFrac[0], l.OutFrac, l.IntWidth)
				}
			case OpSoftmax:
				if l.OutFrac != bits-1 {
					t.Errorf("softmax out %d", l.OutFrac)
				}
			case OpAdd:
				F := l.OutFrac + l.OutShift
				if F-l.Shifts[0] != l.InFrac[0] || F-l.Shifts[1] != l.InFrac[1] || l.OutShift < 0 {
					t.Errorf("add shifts %v/%d for formats %v -> %d", l.Shifts, l.OutShift, l.InFrac, l.OutFrac)
				}
			case OpMul:
				if l.OutShift != l.InFrac[0]+l.InFrac[1]-l.OutFrac || l.OutShift < 0 {
					t.Errorf("mul out_shift %d", l.OutShift)
				}
			case OpConv2D, OpDepthwiseConv2D, OpDense:
				fi := l.InFrac[0]
				if l.BiasShift != fi+l.WeightFrac-l.BiasFrac || l.OutShift != fi+l.WeightFrac-l.OutFrac || l.BiasShift < 0 || l.OutShift < 0 {
					t.Errorf("%s shifts %d/%d", l.Name, l.BiasShift, l.OutShift)
				}
			}
		}
	}
}

// The simulator must equal a straightforward per-layer run of the basic
// legacy kernels on the same quantized parameters, with either runtime: nnq's
// kernels (the ReLU fused into the convolution) compute the same values.
func TestSimEqualsPerLayerReference(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	m := convPoolDenseNet(r, 8, 4, 6, 5)
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 20)
	st, _ := Calibrate(cm, p, nil)
	for _, c := range []struct {
		target, runtime string
		conv            kernels.Variant
	}{
		{"cortex-m3", RuntimeCMSIS, kernels.VarConvolveHWCQ7Fast}, // ch_in 4, ch_out 6
		{"cortex-m4", RuntimeCMSIS, kernels.VarConvolveHWCQ7Fast},
		{"cortex-m3", RuntimeNNQ, kernels.VarNNQConvQ7},
		{"cortex-m4", RuntimeNNQ, kernels.VarNNQConvQ7Wide}, // within the speed flash budget
	} {
		target := c.target
		q, err := Quantize(cm, st, QConfig{Bits: 8, Scheme: MSE{}, Target: target, Runtime: c.runtime})
		if err != nil {
			t.Fatal(err)
		}
		if q.Layers[0].Kernel != c.conv {
			t.Errorf("%s %s: conv kernel %s, want %s", target, c.runtime, q.Layers[0].Kernel, c.conv)
		}
		if fused := q.FusedInto(q.Layers[1]) != nil; fused != (c.runtime == RuntimeNNQ) || q.Layers[0].ReLU != fused {
			t.Errorf("%s %s: relu fused %v", target, c.runtime, fused)
		}
		sim, _ := q.NewSim(false)
		x := make([]int16, cm.InputSize())
		for i := 0; i < p.Len(); i++ {
			q.QuantizeInput(p.Input(i), x)
			got, err := sim.Run(x)
			if err != nil {
				t.Fatal(err)
			}
			in := narrow8(x)
			o := q.Opts(nil)
			c, fc := q.Layers[0], q.Layers[4]
			a := make([]int8, c.Out.Size())
			if err := kernels.ConvolveHWCQ7Basic(o, c.Geom, in, narrow8(c.Weights), narrow8(c.Bias), c.BiasShift, c.OutShift, a); err != nil {
				t.Fatal(err)
			}
			kernels.ReluQ7(o, a)
			pl := make([]int8, q.Layers[2].Out.Size())
			if err := kernels.MaxpoolQ7HWC(o, q.Layers[2].Geom, append([]int8(nil), a...), pl); err != nil {
				t.Fatal(err)
			}
			out := make([]int8, 5)
			if err := kernels.FullyConnectedQ7(o, pl, narrow8(fc.Weights), fc.In[0].Size(), 5, fc.BiasShift, fc.OutShift, narrow8(fc.Bias), out); err != nil {
				t.Fatal(err)
			}
			for j := range out {
				if int16(out[j]) != got[j] {
					t.Fatalf("%s pattern %d output %d: sim %d, reference %d", target, i, j, got[j], out[j])
				}
			}
		}
	}
}

func TestEndToEndSchemesAndPersistence(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	fw := testNet(r, NCHW)
	m, _ := fw.Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 60)
	// Label each pattern with the float network's own answer, so accuracy
	// is meaningful.
	fr, _ := cm.NewRunner()
	for i := 0; i < p.Len(); i++ {
		p.Labels[i] = int32(Predict(fr.Run(p.Input(i))))
	}
	st, _ := Calibrate(cm, p, nil)
	sq := map[int]float64{}
	for _, bits := range []int{8, 16} {
		for _, sc := range []Scheme{MinMax{}, Percentile{P: 99.9}, MSE{}, Search{Base: MSE{}, Fit: p.Head(30), Val: p.Tail(30), MaxRounds: 1}, Auto{Probe: p.Tail(30)}} {
			q, err := Quantize(cm, st, QConfig{Bits: bits, Scheme: sc, Target: "cortex-m4"})
			if err != nil {
				t.Fatalf("q%d %s: %v", bits, sc.Name(), err)
			}
			ev, err := q.Evaluate(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Float != 1 {
				t.Fatalf("float accuracy on self-labels %v", ev.Float)
			}
			if bits == 16 && ev.Agreement < 0.9 {
				t.Errorf("q15 %s agreement %.2f", sc.Name(), ev.Agreement)
			}
			if sc.Name() == "mse" {
				sq[bits] = ev.Layers[0].SQNR
			}
		}
	}
	if sq[16] < sq[8]+20 {
		t.Errorf("first-layer SQNR q15 %.1f dB should beat q7 %.1f dB by far", sq[16], sq[8])
	}
	q, _ := Quantize(cm, st, QConfig{Bits: 8})
	checkSaveLoad(t, q, p, 10)
	tbl := q.Table()
	if !strings.Contains(tbl, "conv1") || !strings.Contains(tbl, "nnq_conv_q7") || !strings.Contains(tbl, "(fused into conv1)") {
		t.Errorf("table:\n%s", tbl)
	}
	rep := NewReport(q, &Evaluation{Patterns: 1, Layers: make([]LayerEval, len(q.Layers))})
	if rep.Layers[0].BiasShift == nil || !strings.Contains(rep.Markdown(), "bias_shift") {
		t.Error("report lacks shifts")
	}
}

func TestQuantizeBadInput(t *testing.T) {
	m := denseNet(0.4, 3)
	st := handStats(m, map[string]float64{"input": 0.9, "fc": 6})
	if _, err := Quantize(m, st, QConfig{Bits: 12}); err == nil || !strings.Contains(err.Error(), "not 8 (q7) or 16") {
		t.Errorf("bits 12: %v", err)
	}
	if _, err := Quantize(m, st, QConfig{Target: "cortex-a53"}); err == nil || !strings.Contains(err.Error(), "unknown target") {
		t.Errorf("target: %v", err)
	}
	if _, err := Quantize(m, &Stats{Tensors: map[string]*TensorStats{}}, QConfig{}); err == nil {
		t.Error("missing stats accepted")
	}
	if _, err := Calibrate(m, &Patterns{Shape: []int{4}}, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty patterns: %v", err)
	}
	// A constant-zero input gets the finest format and a note.
	zero := handStats(m, map[string]float64{"fc": 6})
	zero.Tensors["input"] = statsOf("input", 0, 0, 0)
	q, err := Quantize(m, zero, QConfig{Scheme: MinMax{}})
	if err != nil || q.InputFrac != 7 || len(q.Notes) == 0 {
		t.Errorf("zero input: %v frac %d notes %v", err, q.InputFrac, q.Notes)
	}
	// NaN activations are an error naming the tensor.
	bad := denseNet(float32(math.Inf(1)), 1)
	bad.Tensors["w"].Data[0] = 3e38
	bad.Tensors["w"].Data[1] = 3e38
	p := &Patterns{Shape: []int{4}, Inputs: []float32{3e38, 3e38, -3e38, 0}, Labels: []int32{0}}
	if _, err := Calibrate(bad, p, nil); err == nil || !strings.Contains(err.Error(), `tensor "fc" produced 1 NaN or infinite`) {
		t.Errorf("NaN activations: %v", err)
	}
	// A sigmoid reading a format it cannot take is refused with a reason.
	s := &Model{Name: "sig", Layout: CMSIS, InputShape: []int{3}, Layers: []*Layer{{Name: "s", Op: OpSigmoid}}}
	sst := newStats(s)
	sst.Tensors["input"] = statsOf("input", 100)
	four := 0
	if _, err := Quantize(s, sst, QConfig{InputFrac: &four}); err == nil || !strings.Contains(err.Error(), "does not suit") {
		t.Errorf("sigmoid format: %v", err)
	}
}

func TestDSPPoolFallback(t *testing.T) {
	m := &Model{Name: "pool", Layout: CMSIS, InputShape: []int{6, 6, 2}, Layers: []*Layer{
		{Name: "same", Op: OpAvgPool2D, Attrs: Attrs{Kernel: []int{3, 3}, Strides: []int{1, 1}, Padding: "same"}},
		{Name: "plain", Op: OpMaxPool2D, Attrs: Attrs{Kernel: []int{2, 2}}},
	}}
	st := newStats(m)
	for _, n := range st.Order {
		st.Tensors[n] = statsOf(n, 1.5)
	}
	for _, c := range []struct {
		target      string
		same, plain kernels.Variant
	}{
		{"cortex-m4", kernels.VarNNQAvgpoolQ7, kernels.VarMaxpoolQ7HWC},
		{"cortex-m3", kernels.VarAvepoolQ7HWC, kernels.VarMaxpoolQ7HWC},
	} {
		q, err := Quantize(m, st, QConfig{Target: c.target, Runtime: RuntimeCMSIS})
		if err != nil {
			t.Fatal(err)
		}
		if q.Layers[0].Kernel != c.same || q.Layers[1].Kernel != c.plain {
			t.Errorf("%s: kernels %s, %s", c.target, q.Layers[0].Kernel, q.Layers[1].Kernel)
		}
		if c.target == "cortex-m4" && !strings.Contains(strings.Join(q.Layers[0].Rejected, ";"), "padding >= stride") {
			t.Errorf("no reason given: %v", q.Layers[0].Rejected)
		}
	}
}

// QuantizeInput reads an NCHW pattern straight into HWC order, without a
// temporary buffer: it must equal converting first and quantizing after.
func TestQuantizeInputNCHW(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	fw := testNet(r, NCHW)
	m, _ := fw.Prepare()
	cm, _ := m.ToCMSIS()
	st, _ := Calibrate(cm, randPatterns(r, m, 10), nil)
	q, err := Quantize(cm, st, QConfig{Bits: 8})
	if err != nil {
		t.Fatal(err)
	}
	x := randPatterns(r, m, 1).Input(0)
	for i := range x {
		x[i] *= 50 // some values saturate
	}
	hwc := make([]float32, len(x))
	cm.InputToCMSIS(x, hwc)
	want := make([]int16, len(x))
	wantSat := quantizeInto(hwc, q.InputFrac, 8, want)
	got := make([]int16, len(x))
	if sat := q.QuantizeInput(x, got); sat != wantSat || wantSat == 0 {
		t.Fatalf("saturated %d, want %d (> 0)", sat, wantSat)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("element %d: %d, want %d", i, got[i], want[i])
		}
	}
	if n := testing.AllocsPerRun(10, func() { q.QuantizeInput(x, got) }); n > 1 {
		t.Errorf("QuantizeInput allocates %v times per call", n)
	}
}
