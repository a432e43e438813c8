package onnx

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
)

// The bundled KWS DS-CNN exists twice: data/kws-dscnn/model.arrow (written
// by data/tools/export from the training run) and model.onnx (the same
// trained PyTorch weights through torch.onnx.export, data/onnx/export_kws.py).
// Both must become the same quantized model. NNQ_KWS_TWIN_DIR and
// NNQ_KWS_PATTERNS point the test at other files (e.g. a freshly trained
// pair before it is committed).

func kwsTwinPaths(t *testing.T) (arrowPath, onnxPath, patterns string) {
	dir := os.Getenv("NNQ_KWS_TWIN_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "data", "kws-dscnn")
	}
	patterns = os.Getenv("NNQ_KWS_PATTERNS")
	if patterns == "" {
		patterns = filepath.Join("..", "..", "data", "kws", "patterns.arrow")
	}
	arrowPath, onnxPath = filepath.Join(dir, "model.arrow"), filepath.Join(dir, "model.onnx")
	for _, p := range []string{arrowPath, onnxPath, patterns} {
		if _, err := os.Stat(p); err != nil {
			testenv.Missing(t, "%s is missing (it is committed; regenerate with make -C data, then /usr/bin/python3 data/onnx/export_kws.py)", p)
		}
	}
	return
}

func TestONNXKWSTwinQuantizesLikeArrow(t *testing.T) {
	arrowPath, onnxPath, patPath := kwsTwinPaths(t)
	cms := map[string]*nnq.Model{}
	for kind, path := range map[string]string{"arrow": arrowPath, "onnx": onnxPath} {
		m, err := nnq.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if cms[kind], err = m.ToCMSIS(); err != nil {
			t.Fatal(err)
		}
	}
	a, o := cms["arrow"], cms["onnx"]
	if !reflect.DeepEqual(a.InputShape, o.InputShape) || !reflect.DeepEqual(a.Classes, o.Classes) {
		t.Fatalf("input %v classes %v (Arrow) vs %v %v (ONNX)", a.InputShape, a.Classes, o.InputShape, o.Classes)
	}
	// Both record the front end they were trained on (nnq.frontend metadata
	// in the ONNX file).
	if a.Frontend == nil || !reflect.DeepEqual(a.Frontend, o.Frontend) || !reflect.DeepEqual(a.Frontend, nnq.HelloEdgeFrontend()) {
		t.Fatalf("front end %v (Arrow) vs %v (ONNX), want the HelloEdge MFCC", a.Frontend, o.Frontend)
	}
	if len(a.Layers) != len(o.Layers) {
		t.Fatalf("Arrow has %d layers, ONNX %d:\n%s\n%s", len(a.Layers), len(o.Layers), layerSummary(a), layerSummary(o))
	}
	// The prepared float models agree layer by layer: ops, geometry and
	// parameters (the same float32 weights, folded the same way).
	for i, la := range a.Layers {
		lo := o.Layers[i]
		ga, gerr := windowIf(a, la)
		gb, _ := windowIf(o, lo)
		if la.Op != lo.Op || gerr != nil || ga != gb {
			t.Fatalf("layer %d: Arrow %s %s %+v, ONNX %s %s %+v", i, la.Name, la.Op, ga, lo.Name, lo.Op, gb)
		}
		for role := range la.Params {
			ta, to := a.Param(la, role), o.Param(lo, role)
			if to == nil || !reflect.DeepEqual(ta.Shape, to.Shape) || !reflect.DeepEqual(ta.Data, to.Data) {
				t.Fatalf("layer %d (%s / %s): %s tensors differ (after retraining, rerun /usr/bin/python3 data/onnx/export_kws.py)", i, la.Name, lo.Name, role)
			}
		}
	}
	pats, err := nnq.ReadPatterns(patPath)
	if err != nil {
		t.Fatal(err)
	}
	calib := pats
	if pats.HasSplit("train") {
		calib = pats.Split("train", "val")
	}
	calib = calib.Head(200)
	test := pats
	if pats.HasSplit("test") {
		test = pats.Split("test")
	}
	test = test.Head(100)
	stats := map[string]*nnq.Stats{}
	for kind, m := range cms {
		if stats[kind], err = nnq.Calibrate(m, calib, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Same statistics from the same patterns.
	for i, la := range a.Layers {
		sa, so := stats["arrow"].Tensor(la.Name), stats["onnx"].Tensor(o.Layers[i].Name)
		if sa == nil || so == nil || sa.AbsMax() != so.AbsMax() {
			t.Fatalf("layer %d: statistics differ (%v vs %v)", i, sa, so)
		}
	}
	for k, cfg := range []nnq.QConfig{{Bits: 8, Scheme: nnq.MSE{}}, {Bits: 16, Scheme: nnq.MinMax{}}, {Bits: 8, Scheme: nnq.Percentile{P: 99.9}, Target: "cortex-m0"}} {
		qa, err := nnq.Quantize(a, stats["arrow"], cfg)
		if err != nil {
			t.Fatal(err)
		}
		qo, err := nnq.Quantize(o, stats["onnx"], cfg)
		if err != nil {
			t.Fatal(err)
		}
		compareQModels(t, qa, qo)
		t.Logf("q%d %s %s: %d layers identical", cfg.Bits, qa.Scheme, qa.Target, len(qa.Layers))
		if k > 0 {
			continue
		}
		// And they compute the same integers.
		ea, err := qa.Evaluate(test, nil)
		if err != nil {
			t.Fatal(err)
		}
		eo, err := qo.Evaluate(test, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ea.Fixed != eo.Fixed || ea.Float != eo.Float || ea.Agreement != eo.Agreement || ea.InputSaturated != eo.InputSaturated ||
			!reflect.DeepEqual(ea.FixedConfusion, eo.FixedConfusion) {
			t.Errorf("q%d %s: evaluations differ: fixed %v/%v float %v/%v", cfg.Bits, qa.Scheme, ea.Fixed, eo.Fixed, ea.Float, eo.Float)
		}
	}
}

func compareQModels(t *testing.T, a, b *nnq.QModel) {
	t.Helper()
	if a.Bits != b.Bits || a.InputFrac != b.InputFrac || a.Path != b.Path || a.Rounding != b.Rounding || len(a.Layers) != len(b.Layers) {
		t.Fatalf("models differ: q%d in %d path %v, %d layers vs q%d in %d path %v, %d layers", a.Bits, a.InputFrac, a.Path, len(a.Layers), b.Bits, b.InputFrac, b.Path, len(b.Layers))
	}
	for i, la := range a.Layers {
		lb := b.Layers[i]
		type q struct {
			Op                                        nnq.Op
			Out                                       nnq.Act
			In                                        []nnq.Act
			InFrac                                    []int
			OutFrac, WantFrac                         int
			WeightFrac, BiasFrac, BiasShift, OutShift int
			Weights, Bias                             []int16
			Shifts                                    []int
			IntWidth                                  int
			Kernel                                    any
		}
		pa := q{la.Op, la.Out, la.In, la.InFrac, la.OutFrac, la.WantFrac, la.WeightFrac, la.BiasFrac, la.BiasShift, la.OutShift, la.Weights, la.Bias, la.Shifts, la.IntWidth, la.Kernel}
		pb := q{lb.Op, lb.Out, lb.In, lb.InFrac, lb.OutFrac, lb.WantFrac, lb.WeightFrac, lb.BiasFrac, lb.BiasShift, lb.OutShift, lb.Weights, lb.Bias, lb.Shifts, lb.IntWidth, lb.Kernel}
		if !reflect.DeepEqual(pa, pb) || !reflect.DeepEqual(la.Geom, lb.Geom) {
			t.Fatalf("q%d layer %d (%s / %s) differs:\n%+v\n%+v", a.Bits, i, la.Name, lb.Name, pa, pb)
		}
	}
}
