package codegen

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// lspec describes one float layer of a test network.
type lspec struct {
	name   string
	op     nnq.Op
	inputs []string
	attrs  nnq.Attrs
	// wshape is the CMSIS-layout weight shape (conv [O,KH,KW,I],
	// depthwise [KH,KW,C], dense [out,in]); bias gets the output count.
	wshape []int
	noBias bool
	// force picks the kernel instead of nnq's choice.
	force kernels.Variant
}

// netSpec is a test network.
type netSpec struct {
	name    string
	input   []int
	layers  []lspec
	classes []string
	// layout is the parameter/pattern layout (default CMSIS).
	layout nnq.Layout
	// noPoolShift keeps average pools at their input format (so the
	// library's pool, which cannot shift, stays usable).
	noPoolShift bool
}

// floatModel builds the CMSIS-layout float model with random parameters.
func floatModel(t testing.TB, s netSpec, seed int64) *nnq.Model {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	layout := s.layout
	if layout == "" {
		layout = nnq.CMSIS
	}
	m := &nnq.Model{Name: s.name, Layout: layout, InputShape: s.input, Tensors: map[string]*nnq.Tensor{}, Classes: s.classes}
	for _, ls := range s.layers {
		l := &nnq.Layer{Name: ls.name, Op: ls.op, Inputs: ls.inputs, Attrs: ls.attrs}
		if ls.wshape != nil {
			fan := 1
			for _, d := range ls.wshape[1:] {
				fan *= d
			}
			if ls.op == nnq.OpDepthwiseConv2D {
				fan = ls.wshape[0] * ls.wshape[1]
			}
			scale := 1.5 / float64(fan)
			w := &nnq.Tensor{Name: ls.name + ".weight", Shape: ls.wshape}
			n := 1
			for _, d := range ls.wshape {
				n *= d
			}
			for i := 0; i < n; i++ {
				w.Data = append(w.Data, float32((r.Float64()*2-1)*scale*2))
			}
			m.Tensors[w.Name] = w
			l.Params = map[string]string{"weight": w.Name}
			if !ls.noBias {
				nb := ls.wshape[0]
				if ls.op == nnq.OpDepthwiseConv2D && layout == nnq.CMSIS {
					nb = ls.wshape[2]
				}
				b := &nnq.Tensor{Name: ls.name + ".bias", Shape: []int{nb}}
				for i := 0; i < nb; i++ {
					b.Data = append(b.Data, float32(r.Float64()*0.4-0.2))
				}
				m.Tensors[b.Name] = b
				l.Params["bias"] = b.Name
			}
		}
		m.Layers = append(m.Layers, l)
	}
	if err := m.Check(); err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	return m
}

// randomPatterns makes n patterns in [-1, 1) for m.
func randomPatterns(m *nnq.Model, n int, seed int64) *nnq.Patterns {
	r := rand.New(rand.NewSource(seed))
	p := &nnq.Patterns{Shape: append([]int(nil), m.InputShape...), Layout: nnq.CMSIS}
	x := make([]float32, m.InputSize())
	for i := 0; i < n; i++ {
		for j := range x {
			x[j] = float32(r.Float64()*2 - 1)
		}
		p.Append(x, -1, "")
	}
	return p
}

// quantized builds, calibrates and quantizes s for target with bits-bit
// words for the legacy CMSIS-NN runtime (--runtime cmsis), then applies the
// forced kernels.
func quantized(t testing.TB, s netSpec, bits int, target string) (*nnq.QModel, *nnq.Patterns) {
	t.Helper()
	return quantizedRT(t, s, bits, target, nnq.RuntimeCMSIS, "")
}

// quantizedRT is quantized for a runtime and optimization goal (the forced
// kernels are legacy ones: only for RuntimeCMSIS).
func quantizedRT(t testing.TB, s netSpec, bits int, target, runtime, optimize string) (*nnq.QModel, *nnq.Patterns) {
	t.Helper()
	q, p := quantizedSpec(t, s, nnq.QConfig{Bits: bits, Target: target, Scheme: nnq.MinMax{}, Runtime: runtime, Optimize: optimize, NoPoolShift: s.noPoolShift})
	for i, ls := range s.layers {
		if ls.force == kernels.VarInvalid || runtime != nnq.RuntimeCMSIS {
			continue
		}
		l := q.Layers[i]
		if err := ls.force.Valid(l.Geom, q.Path); err != nil {
			t.Fatalf("%s: layer %s: forced kernel %s: %v", s.name, l.Name, ls.force, err)
		}
		if l.Kernel != ls.force {
			l.Rejected = append(l.Rejected, fmt.Sprintf("%s: not used by the test (forced %s)", l.Kernel, ls.force))
			l.Kernel = ls.force
		}
	}
	return q, p
}

func needCC(t testing.TB) {
	t.Helper()
	testenv.Tool(t, "cc", "gcc")
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func isMismatch(err error) bool {
	var me *MismatchError
	return errors.As(err, &me)
}

// Test networks. Every op and every kernel variant nnq emits appears in at
// least one of them (see TestVariantCoverage).
func conv(name string, in []string, kh, kw, cin, filters int, pad string, stride int, force kernels.Variant) lspec {
	a := nnq.Attrs{Kernel: []int{kh, kw}, Padding: pad, Filters: filters}
	if stride > 1 {
		a.Strides = []int{stride, stride}
	}
	return lspec{name: name, op: nnq.OpConv2D, inputs: in, attrs: a, wshape: []int{filters, kh, kw, cin}, force: force}
}

func dw(name string, in []string, kh, kw, c int, pad string, force kernels.Variant) lspec {
	return lspec{name: name, op: nnq.OpDepthwiseConv2D, inputs: in, attrs: nnq.Attrs{Kernel: []int{kh, kw}, Padding: pad}, wshape: []int{kh, kw, c}, force: force}
}

func dense(name string, in []string, nin, units int, force kernels.Variant) lspec {
	return lspec{name: name, op: nnq.OpDense, inputs: in, attrs: nnq.Attrs{Units: units}, wshape: []int{units, nin}, force: force}
}

func pool(name string, op nnq.Op, in []string, kh, kw, sh, sw int, pad string, force kernels.Variant) lspec {
	return lspec{name: name, op: op, inputs: in, attrs: nnq.Attrs{Kernel: []int{kh, kw}, Strides: []int{sh, sw}, Padding: pad}, force: force}
}

func simple(name string, op nnq.Op, in ...string) lspec {
	return lspec{name: name, op: op, inputs: in}
}

// netAllQ7 has every op: RGB and fast convolutions, 1x1, depthwise,
// library pools, nnq pool, residual add, mul, sigmoid, tanh, flatten,
// dense (_opt) and softmax.
var netAllQ7 = netSpec{name: "all_q7", input: []int{8, 8, 3}, layers: []lspec{
	conv("c1", nil, 3, 3, 3, 8, "same", 1, 0),
	simple("r1", nnq.OpReLU),
	pool("p1", nnq.OpMaxPool2D, nil, 2, 2, 2, 2, "valid", 0),
	conv("c2", nil, 3, 3, 8, 8, "same", 1, 0),
	dw("d1", nil, 3, 3, 8, "same", 0),
	simple("a1", nnq.OpAdd, "d1", "p1"),
	simple("s1", nnq.OpSigmoid),
	simple("m1", nnq.OpMul, "s1", "a1"),
	conv("c3", nil, 1, 1, 8, 4, "valid", 1, 0),
	pool("ap", nnq.OpAvgPool2D, nil, 4, 2, 4, 2, "valid", 0),
	simple("t1", nnq.OpTanh),
	simple("f", nnq.OpFlatten),
	dense("fc", nil, 8, 5, 0),
	simple("sm", nnq.OpSoftmax),
}, classes: []string{"yes", "no", `say "what"??!`, "caf\u00e9", "back\\slash\n"}}

// netSquareQ7 forces the square basic kernels, the library's average pool
// and the plain FC.
var netSquareQ7 = netSpec{name: "square_q7", input: []int{6, 6, 4}, layers: []lspec{
	conv("c1", nil, 3, 3, 4, 6, "same", 1, kernels.VarConvolveHWCQ7Basic),
	simple("r1", nnq.OpReLU),
	pool("ap", nnq.OpAvgPool2D, nil, 2, 2, 2, 2, "valid", 0),
	dw("d1", nil, 3, 3, 6, "same", kernels.VarDepthwiseSeparableConvHWCQ7),
	pool("mp", nnq.OpMaxPool2D, nil, 3, 3, 1, 1, "same", 0),
	{name: "rs", op: nnq.OpReshape, attrs: nnq.Attrs{Shape: []int{-1}}},
	dense("fc", nil, 54, 7, kernels.VarFullyConnectedQ7),
	simple("r2", nnq.OpReLU),
}, noPoolShift: true}

// netNonsquareQ7 has non-square maps: fast_nonsquare, basic_nonsquare,
// depthwise non-square, the nnq max pool, a ReLU, a strided conv.
var netNonsquareQ7 = netSpec{name: "nonsquare_q7", input: []int{9, 7, 4}, layers: []lspec{
	conv("c1", nil, 3, 3, 4, 4, "valid", 1, 0),
	conv("c2", nil, 3, 3, 4, 6, "same", 1, kernels.VarConvolveHWCQ7BasicNonsquare),
	dw("d1", nil, 3, 1, 6, "same", 0),
	pool("mp", nnq.OpMaxPool2D, nil, 2, 2, 1, 1, "valid", 0),
	simple("r1", nnq.OpReLU), // after a pool: not fused
	conv("c3", nil, 2, 3, 6, 5, "same", 2, 0),
	simple("f", nnq.OpFlatten),
	dense("fc", nil, 3*2*5, 4, 0),
}}

// netQ15 has every op in q15, with nnq's q15 pools, depthwise and add.
var netQ15 = netSpec{name: "all_q15", input: []int{6, 6, 2}, layers: []lspec{
	conv("c1", nil, 3, 3, 2, 4, "same", 1, 0),
	simple("r1", nnq.OpReLU),
	pool("mp", nnq.OpMaxPool2D, nil, 2, 2, 2, 2, "valid", 0),
	dw("d1", nil, 3, 3, 4, "same", 0),
	simple("a1", nnq.OpAdd, "d1", "mp"),
	simple("t1", nnq.OpTanh),
	simple("m1", nnq.OpMul, "t1", "a1"),
	conv("c2", nil, 3, 2, 4, 3, "same", 1, 0),
	{name: "gap", op: nnq.OpAvgPool2D, attrs: nnq.Attrs{Global: true}},
	simple("r2", nnq.OpReLU), // after a pool: not fused
	simple("f", nnq.OpFlatten),
	dense("fc", nil, 3, 5, 0),
	simple("s1", nnq.OpSigmoid),
	simple("sm", nnq.OpSoftmax),
}}

// netQ15Conv covers the remaining q15 convolutions and the plain q15 FC.
var netQ15Conv = netSpec{name: "conv_q15", input: []int{4, 4, 2}, layers: []lspec{
	conv("c1", nil, 3, 3, 2, 4, "same", 1, kernels.VarConvolveHWCQ15Basic),
	conv("c2", nil, 3, 3, 4, 4, "same", 1, kernels.VarConvolveHWCQ15FastNonsquare),
	simple("f", nnq.OpFlatten),
	dense("fc", nil, 64, 6, kernels.VarFullyConnectedQ15),
}}

// needTarget returns the harness target name, skipping the test when its
// tools are missing (failing in CI).
func needTarget(t *testing.T, name string) harness.Target {
	t.Helper()
	tg, err := harness.TargetByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.CheckTools(context.Background(), tg); err != nil {
		var me *harness.MissingToolError
		if errors.As(err, &me) {
			testenv.Missing(t, "%v", err)
		}
		t.Fatal(err)
	}
	return tg
}

// quantizedSpec calibrates s's float model on 24 random patterns and
// quantizes it with cfg; it returns the patterns too.
func quantizedSpec(t testing.TB, s netSpec, cfg nnq.QConfig) (*nnq.QModel, *nnq.Patterns) {
	t.Helper()
	m := floatModel(t, s, 1)
	p := randomPatterns(m, 24, 2)
	st, err := nnq.Calibrate(m, p, nil)
	if err != nil {
		t.Fatalf("%s: calibrate: %v", s.name, err)
	}
	q, err := nnq.Quantize(m, st, cfg)
	if err != nil {
		t.Fatalf("%s: quantize: %v", s.name, err)
	}
	return q, p
}
