package nnq

import (
	"math/rand"
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
