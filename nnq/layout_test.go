package nnq

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// The guide's worked example: a {2,3,4} tensor feeding a 2x24 dense layer;
// CMSIS sees the tensor transposed by the reversal (2,1,0).
func TestGuideWorkedExample(t *testing.T) {
	torg := make([]float32, 24)
	for i := range torg {
		torg[i] = float32(i + 1)
	}
	worg := make([]float32, 48)
	for i := range worg {
		worg[i] = float32((i*7)%11) - 5
	}
	tnew, shape, err := Transpose(torg, []int{2, 3, 4}, []int{2, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(shape, []int{4, 3, 2}) {
		t.Fatalf("transposed shape %v", shape)
	}
	// tnew[k][j][i] = torg[i][j][k]: first elements are torg[0][0][0], torg[1][0][0].
	if tnew[0] != 1 || tnew[1] != 13 || tnew[2] != 5 {
		t.Fatalf("tnew starts %v", tnew[:3])
	}
	wnew, err := ReorderFCWeights(worg, 2, []int{2, 3, 4}, []int{2, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 2; r++ {
		var a, b float64
		for j := 0; j < 24; j++ {
			a += float64(worg[r*24+j] * torg[j])
			b += float64(wnew[r*24+j] * tnew[j])
		}
		if a != b {
			t.Fatalf("row %d: Worg.FTorg = %v, Wnew.FTnew = %v", r, a, b)
		}
	}
	if _, _, err := Transpose(torg, []int{2, 3, 4}, []int{0, 0, 1}); err == nil {
		t.Fatal("a repeated axis should be rejected")
	}
}

// The dense reorder nnq applies after an NCHW flatten is the guide's rule
// with the permutation CHW -> HWC.
func TestDenseReorderIsGuideRule(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	C, H, W, U := 3, 4, 5, 2
	m := &Model{Name: "fc", Layout: NCHW, InputShape: []int{C, H, W}, Tensors: map[string]*Tensor{}}
	w := randTensor(r, "w", U, C*H*W)
	m.Tensors["w"] = w
	m.Layers = []*Layer{{Name: "flat", Op: OpFlatten}, {Name: "fc", Op: OpDense, Params: map[string]string{"weight": "w"}}}
	c, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReorderFCWeights(w.Data, U, []int{C, H, W}, []int{1, 2, 0})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range c.Tensors["w"].Data {
		if v != want[i] {
			t.Fatalf("weight %d: %v, guide rule gives %v", i, v, want[i])
		}
	}
}

func TestLayoutConversionMatchesReference(t *testing.T) {
	for _, layout := range []Layout{NCHW, NHWC} {
		for seed := int64(0); seed < 12; seed++ {
			r := rand.New(rand.NewSource(seed))
			fw := testNet(r, layout)
			prep, err := fw.Prepare()
			if err != nil {
				t.Fatalf("%s seed %d: prepare: %v", layout, seed, err)
			}
			cm, err := prep.ToCMSIS()
			if err != nil {
				t.Fatalf("%s seed %d: %v", layout, seed, err)
			}
			rep, err := VerifyLayout(prep, cm, randPatterns(r, fw, 5))
			if err != nil {
				t.Fatal(err)
			}
			if rep.MaxAbs() > 1e-5 {
				t.Fatalf("%s seed %d: max abs diff %g\n%s", layout, seed, rep.MaxAbs(), rep)
			}
		}
	}
}

// Folding batchnorm, removing dropout and splitting fused activations must
// not change what the network computes.
func TestPrepareKeepsFunction(t *testing.T) {
	for _, layout := range []Layout{NCHW, NHWC} {
		r := rand.New(rand.NewSource(7))
		fw := testNet(r, layout)
		prep, err := fw.Prepare()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range prep.Layers {
			if l.Op == OpBatchNorm || l.Op == OpDropout || l.Attrs.Activation != "" {
				t.Fatalf("%s: layer %q (%s) survived Prepare", layout, l.Name, l.Op)
			}
		}
		notes := strings.Join(prep.Notes, "\n")
		for _, want := range []string{`folded batchnorm "bn1" into conv2d "conv1"`, `folded batchnorm "bn2" into dense "fc1"`, `removed dropout layer "drop"`, `split the fused relu of "pw"`} {
			if !strings.Contains(notes, want) {
				t.Errorf("%s: notes lack %q:\n%s", layout, want, notes)
			}
		}
		a, _ := fw.newReferenceRunner()
		b, _ := prep.newReferenceRunner()
		p := randPatterns(r, fw, 4)
		for i := 0; i < p.Len(); i++ {
			ya := append([]float32(nil), a.Run(p.Input(i))...)
			yb := b.Run(p.Input(i))
			for j := range ya {
				if math.Abs(float64(ya[j]-yb[j])) > 1e-5 {
					t.Fatalf("%s pattern %d output %d: %v before Prepare, %v after", layout, i, j, ya[j], yb[j])
				}
			}
		}
	}
}

func TestLoneBatchNormBecomesDepthwise(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	m := &Model{Name: "bn", Layout: NCHW, InputShape: []int{2, 3, 3}, Tensors: map[string]*Tensor{}}
	for _, n := range []string{"g", "b", "mu"} {
		m.Tensors[n] = randTensor(r, n, 2)
	}
	m.Tensors["v"] = &Tensor{Name: "v", Shape: []int{2}, Data: []float32{0.5, 2}}
	m.Layers = []*Layer{{Name: "bn", Op: OpBatchNorm, Params: map[string]string{"gamma": "g", "beta": "b", "mean": "mu", "var": "v"}}}
	prep, err := m.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	if prep.Layers[0].Op != OpDepthwiseConv2D {
		t.Fatalf("lone batchnorm became %s", prep.Layers[0].Op)
	}
	a, _ := m.newReferenceRunner()
	b, _ := prep.newReferenceRunner()
	x := randPatterns(r, m, 1).Input(0)
	ya := append([]float32(nil), a.Run(x)...)
	yb := b.Run(x)
	for j := range ya {
		if math.Abs(float64(ya[j]-yb[j])) > 1e-5 {
			t.Fatalf("output %d: %v vs %v", j, ya[j], yb[j])
		}
	}
}

func TestBadModels(t *testing.T) {
	base := func() *Model {
		return &Model{Name: "bad", Layout: NCHW, InputShape: []int{1, 4, 4}, Tensors: map[string]*Tensor{
			"w": {Name: "w", Shape: []int{2, 1, 3, 3}, Data: make([]float32, 18)},
		}, Layers: []*Layer{{Name: "conv", Op: OpConv2D, Params: map[string]string{"weight": "w"}}}}
	}
	cases := []struct {
		name string
		edit func(m *Model)
		want string
	}{
		{"unknown op", func(m *Model) { m.Layers[0].Op = "frobnicate" }, `layer "conv": unknown op "frobnicate"`},
		{"lstm hint", func(m *Model) { m.Layers[0].Op = "LSTM" }, "fully connected layers (dense) for the gates + sigmoid/tanh"},
		{"missing tensor", func(m *Model) { m.Layers[0].Params["weight"] = "nope" }, `tensor "nope", which the model does not have`},
		{"count mismatch", func(m *Model) { m.Tensors["w"].Data = m.Tensors["w"].Data[:5] }, `tensor "w" (layer "conv"): 5 values for shape [2 1 3 3]`},
		{"NaN weight", func(m *Model) { m.Tensors["w"].Data[4] = float32(math.NaN()) }, `tensor "w" (layer "conv"): element 4 is NaN`},
		{"Inf weight", func(m *Model) { m.Tensors["w"].Data[0] = float32(math.Inf(1)) }, `element 0 is +Inf`},
		{"channels", func(m *Model) { m.InputShape = []int{3, 4, 4} }, `expects 1 input channels`},
		{"kernel too big", func(m *Model) { m.InputShape = []int{1, 2, 2} }, `kernel 3x3 does not fit the 2x2 input`},
		{"bad layout", func(m *Model) { m.Layout = "NWHC" }, `layout "NWHC"`},
		{"dangling input", func(m *Model) { m.Layers[0].Inputs = []string{"ghost"} }, `input "ghost" is not the model input`},
		{"bad padding", func(m *Model) { m.Layers[0].Attrs.Padding = "full" }, `padding "full"`},
		{"unknown param", func(m *Model) { m.Layers[0].Params["gamma"] = "w" }, `takes no "gamma" parameter`},
		{"no layers", func(m *Model) { m.Layers = nil }, "has no layers"},
		{"kernel attribute", func(m *Model) { m.Layers[0].Attrs.Kernel = []int{3, 2} }, `kernel attribute [3 2] disagrees with weight "w" [2 1 3 3]`},
		{"filters", func(m *Model) { m.Layers[0].Attrs.Filters = 3 }, `filters 3 disagrees with weight "w" [2 1 3 3]`},
		{"conv bias", func(m *Model) {
			m.Tensors["b"] = &Tensor{Name: "b", Shape: []int{3}, Data: make([]float32, 3)}
			m.Layers[0].Params["bias"] = "b"
		}, `bias tensor "b" has shape [3], want [2]`},
		{"depthwise bias", func(m *Model) {
			m.Tensors["w"] = &Tensor{Name: "w", Shape: []int{1, 1, 3, 3}, Data: make([]float32, 9)}
			m.Tensors["b"] = &Tensor{Name: "b", Shape: []int{2}, Data: make([]float32, 2)}
			m.Layers[0].Op, m.Layers[0].Params["bias"] = OpDepthwiseConv2D, "b"
		}, `bias tensor "b" has shape [2], want [1]`},
		{"fused", func(m *Model) { m.Layers[0].Attrs.Activation = "gelu" }, `fused activation "gelu" is not supported`},
		{"bad reshape", func(m *Model) {
			m.Layers = append(m.Layers, &Layer{Name: "rs", Op: OpReshape, Attrs: Attrs{Shape: []int{2, 4, 1}}})
		}, `reshape from [2 2 2] to [2 4 1]`},
	}
	for _, c := range cases {
		m := base()
		c.edit(m)
		err := m.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestPatternsMismatch(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	m := testNet(r, NCHW)
	p := &Patterns{Shape: []int{3}, Inputs: []float32{1, 2, 3}, Labels: []int32{0}}
	if err := m.CheckPatterns(p); err == nil || !strings.Contains(err.Error(), "do not fit model") {
		t.Fatalf("got %v", err)
	}
	p2 := randPatterns(r, m, 2)
	p2.Inputs[3] = float32(math.NaN())
	if err := m.CheckPatterns(p2); err == nil || !strings.Contains(err.Error(), "pattern 0 holds a NaN") {
		t.Fatalf("got %v", err)
	}
}

func TestSummary(t *testing.T) {
	m := testNet(rand.New(rand.NewSource(2)), NCHW)
	p, err := m.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"conv1", "nnq_conv_q7", "nnq_add", "note: folded batchnorm", "MACs per inference"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	info, _ := p.Info()
	g, _ := p.Window(p.Layer("conv1"))
	if info[0].MACs != int64(g.OutH*g.OutW*g.OutC*g.KH*g.KW*g.InC) {
		t.Errorf("conv1 MACs %d", info[0].MACs)
	}
}
