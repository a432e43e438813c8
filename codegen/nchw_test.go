package codegen

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
)

// TestNCHWModel exports a small DS-CNN-like keyword-spotting network given
// in PyTorch layout (NCHW parameters and patterns): the patterns stay in
// their layout for Verify, and the demo checks nn_quantize_input on the
// HWC-converted floats.
func TestNCHWModel(t *testing.T) {
	needCC(t)
	spec := netSpec{name: "kws_nchw", input: []int{1, 12, 6}, layout: nnq.NCHW, layers: []lspec{
		{name: "conv1", op: nnq.OpConv2D, attrs: nnq.Attrs{Kernel: []int{4, 2}, Strides: []int{2, 2}, Padding: "same", Filters: 8, Activation: "relu"}, wshape: []int{8, 1, 4, 2}},
		{name: "dw1", op: nnq.OpDepthwiseConv2D, attrs: nnq.Attrs{Kernel: []int{3, 3}, Padding: "same", Activation: "relu"}, wshape: []int{8, 1, 3, 3}},
		{name: "pw1", op: nnq.OpConv2D, attrs: nnq.Attrs{Kernel: []int{1, 1}, Filters: 8, Activation: "relu"}, wshape: []int{8, 8, 1, 1}},
		{name: "pool", op: nnq.OpAvgPool2D, attrs: nnq.Attrs{Global: true}},
		{name: "flat", op: nnq.OpFlatten},
		{name: "fc", op: nnq.OpDense, attrs: nnq.Attrs{Units: 4}, wshape: []int{4, 8}},
		{name: "prob", op: nnq.OpSoftmax},
	}}
	fm := floatModel(t, spec, 5)
	pm, err := fm.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := pm.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	p := randomPatterns(fm, 16, 6)
	p.Layout = nnq.NCHW
	p.Shape = []int{1, 12, 6}
	st, err := nnq.Calibrate(cm, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := nnq.Quantize(cm, st, nnq.QConfig{Bits: 8, Target: "cortex-m4"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	proj, err := Export(q, dir, Options{Patterns: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + proj.Report())
	if res, err := Verify(testCtx(t), dir, VerifyOptions{}); err != nil || !res.BitExact || res.Patterns != 16 {
		t.Fatalf("%+v %v", res, err)
	}
	cmd := exec.CommandContext(testCtx(t), testenv.Tool(t, "make", "make"), "-s", "check")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 mismatch(es)") {
		t.Fatalf("make check: %v\n%s", err, out)
	}
}
