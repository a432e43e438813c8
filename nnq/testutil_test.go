package nnq

import (
	"math/rand"
	"path/filepath"
	"testing"
)

func randTensor(r *rand.Rand, name string, shape ...int) *Tensor {
	t := &Tensor{Name: name, Shape: shape, Data: make([]float32, shapeSize(shape))}
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64() * 0.5)
	}
	return t
}

// testNet builds a small network covering every op, in the given framework
// layout, with random sizes drawn from r.
func testNet(r *rand.Rand, layout Layout) *Model {
	H, W, C := 5+r.Intn(6), 4+r.Intn(6), 1+r.Intn(3)
	F := 2 + r.Intn(4)
	kh, kw := 1+r.Intn(3), 1+r.Intn(3)
	m := &Model{Name: "testnet", Layout: layout, Tensors: map[string]*Tensor{}}
	add := func(t *Tensor) string { m.Tensors[t.Name] = t; return t.Name }
	convW := func(name string, kh, kw, cin, f int) string {
		switch layout {
		case NCHW:
			return add(randTensor(r, name, f, cin, kh, kw))
		case NHWC:
			return add(randTensor(r, name, kh, kw, cin, f))
		}
		return add(randTensor(r, name, f, kh, kw, cin))
	}
	dwW := func(name string, kh, kw, c int) string {
		switch layout {
		case NCHW:
			return add(randTensor(r, name, c, 1, kh, kw))
		case NHWC:
			return add(randTensor(r, name, kh, kw, c, 1))
		}
		return add(randTensor(r, name, kh, kw, c))
	}
	if layout == NCHW {
		m.InputShape = []int{C, H, W}
	} else {
		m.InputShape = []int{H, W, C}
	}
	bn := func(name string, c int) map[string]string {
		v := randTensor(r, name+".var", c)
		for i := range v.Data {
			v.Data[i] = 0.5 + v.Data[i]*v.Data[i]
		}
		add(v)
		return map[string]string{"gamma": add(randTensor(r, name+".gamma", c)), "beta": add(randTensor(r, name+".beta", c)),
			"mean": add(randTensor(r, name+".mean", c)), "var": v.Name}
	}
	pads := []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)}
	m.Layers = []*Layer{
		{Name: "conv1", Op: OpConv2D, Attrs: Attrs{Strides: []int{1 + r.Intn(2), 1 + r.Intn(2)}, Padding: "explicit", Pads: pads},
			Params: map[string]string{"weight": convW("conv1.w", kh, kw, C, F), "bias": add(randTensor(r, "conv1.b", F))}},
		{Name: "bn1", Op: OpBatchNorm, Params: bn("bn1", F)},
		{Name: "relu1", Op: OpReLU},
		{Name: "dw", Op: OpDepthwiseConv2D, Attrs: Attrs{Padding: "same"},
			Params: map[string]string{"weight": dwW("dw.w", 3, 3, F), "bias": add(randTensor(r, "dw.b", F))}},
		{Name: "pw", Op: OpConv2D, Attrs: Attrs{Activation: "relu"},
			Params: map[string]string{"weight": convW("pw.w", 1, 1, F, F)}},
		{Name: "sum", Op: OpAdd, Inputs: []string{"pw", "relu1"}},
		{Name: "drop", Op: OpDropout},
		{Name: "pool", Op: OpMaxPool2D, Attrs: Attrs{Kernel: []int{2, 2}, Padding: "same"}},
		{Name: "sig", Op: OpSigmoid},
		{Name: "gate", Op: OpMul, Inputs: []string{"sig", "pool"}},
		{Name: "flat", Op: OpFlatten},
	}
	// Dense sizes need the flattened length: infer it.
	acts, err := m.Shapes()
	if err != nil {
		panic(err)
	}
	n := acts["flat"].Size()
	U := 3 + r.Intn(4)
	var dw string
	if layout == NHWC {
		dw = add(randTensor(r, "fc1.w", n, 8))
	} else {
		dw = add(randTensor(r, "fc1.w", 8, n))
	}
	var dw2 string
	if layout == NHWC {
		dw2 = add(randTensor(r, "fc2.w", 8, U))
	} else {
		dw2 = add(randTensor(r, "fc2.w", U, 8))
	}
	m.Layers = append(m.Layers,
		&Layer{Name: "fc1", Op: OpDense, Params: map[string]string{"weight": dw, "bias": add(randTensor(r, "fc1.b", 8))}},
		&Layer{Name: "bn2", Op: OpBatchNorm, Params: bn("bn2", 8)},
		&Layer{Name: "tanh", Op: OpTanh},
		&Layer{Name: "fc2", Op: OpDense, Params: map[string]string{"weight": dw2, "bias": add(randTensor(r, "fc2.b", U))}},
		&Layer{Name: "prob", Op: OpSoftmax},
	)
	return m
}

func randPatterns(r *rand.Rand, m *Model, n int) *Patterns {
	p := &Patterns{Shape: append([]int(nil), m.InputShape...), Layout: m.Layout}
	x := make([]float32, m.InputSize())
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		p.Append(x, r.Intn(3), "")
	}
	return p
}

// checkSaveLoad saves q, loads it back and checks that the loaded model
// simulates the first n patterns of p bit for bit like q. It returns the
// loaded model and the file.
func checkSaveLoad(t *testing.T, q *QModel, p *Patterns, n int) (*QModel, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.json")
	if err := q.Save(path); err != nil {
		t.Fatal(err)
	}
	q2, err := LoadQModel(path)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := q.NewSim(false)
	s2, _ := q2.NewSim(false)
	x := make([]int16, q.Float.InputSize())
	for i := 0; i < n; i++ {
		q.QuantizeInput(p.Input(i), x)
		a, err := s1.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		a = append([]int16(nil), a...)
		b, err := s2.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("%s: the reloaded model differs at pattern %d output %d: %d, saved %d", q.TypeName(), i, j, b[j], a[j])
			}
		}
	}
	return q2, path
}

// labelledStats labels p with the float network's predictions and
// calibrates cm on it.
func labelledStats(t *testing.T, cm *Model, p *Patterns) *Stats {
	t.Helper()
	fr, _ := cm.NewRunner()
	for i := 0; i < p.Len(); i++ {
		p.Labels[i] = int32(Predict(fr.Run(p.Input(i))))
	}
	st, err := Calibrate(cm, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// convPoolDenseNet is conv 3x3 "same" (cin -> cout channels, bias) → ReLU →
// max pool 2x2 → flatten → dense (classes outputs, bias) on an n×n×cin NHWC
// input, with random parameters from r.
func convPoolDenseNet(r *rand.Rand, n, cin, cout, classes int) *Model {
	m := &Model{Name: "seq", Layout: NHWC, InputShape: []int{n, n, cin}, Tensors: map[string]*Tensor{}}
	m.Tensors["c"] = randTensor(r, "c", 3, 3, cin, cout)
	m.Tensors["cb"] = randTensor(r, "cb", cout)
	m.Tensors["d"] = randTensor(r, "d", (n/2)*(n/2)*cout, classes)
	m.Tensors["db"] = randTensor(r, "db", classes)
	m.Layers = []*Layer{
		{Name: "conv", Op: OpConv2D, Attrs: Attrs{Padding: "same"}, Params: map[string]string{"weight": "c", "bias": "cb"}},
		{Name: "relu", Op: OpReLU},
		{Name: "pool", Op: OpMaxPool2D, Attrs: Attrs{Kernel: []int{2, 2}}},
		{Name: "flat", Op: OpFlatten},
		{Name: "fc", Op: OpDense, Params: map[string]string{"weight": "d", "bias": "db"}},
	}
	return m
}
