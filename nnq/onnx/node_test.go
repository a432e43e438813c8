package onnx

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// The ONNX backend node tests (Debian package libonnx-testdata, ONNX
// 1.12.0) run through nnq's importer and float pass: model.onnx plus
// test_data_set_0/input_*.pb and output_0.pb. Only the cases whose operator
// and attributes nnq supports run; a few are adapted to nnq's single-input,
// batch-1 models, as each case says. Cases nnq must refuse check that the
// importer's error says why.

// onnxNodeDir is where libonnx-testdata installs the node tests.
func onnxNodeDir(t *testing.T) string {
	dir := os.Getenv("NNQ_ONNX_TESTDATA")
	if dir == "" {
		dir = "/usr/share/libonnx-testdata/data/node"
	}
	if _, err := os.Stat(filepath.Join(dir, "test_relu", "model.onnx")); err != nil {
		testenv.Missing(t, "ONNX node tests not found in %s: install the Debian package libonnx-testdata (or set NNQ_ONNX_TESTDATA)", dir)
	}
	return dir
}

type onnxNodeCase struct {
	// freeze turns graph inputs 1.. (weights, biases, batchnorm
	// statistics) into initializers holding the test's input values.
	freeze bool
	// split runs each sample of a batch-N input separately (the node's
	// output batch is split the same way).
	split bool
	// vector declares the input as one [1,N] vector (element-wise ops on
	// rank-3 test tensors).
	vector bool
	// wantErr is a substring of the error nnq must give ("" = must convert).
	wantErr string
	// skip says why the case does not fit nnq at all.
	skip string
}

var onnxNodeCases = map[string]onnxNodeCase{
	"test_relu":                 {vector: true},
	"test_sigmoid":              {vector: true},
	"test_sigmoid_example":      {},
	"test_tanh":                 {vector: true},
	"test_tanh_example":         {},
	"test_softmax_example":      {},
	"test_softmax_large_number": {split: true},
	"test_softmax_axis_0":       {skip: "3-D [3,4,5] input: nnq models take [N,C,H,W] maps or vectors"},
	"test_softmax_axis_1":       {skip: "3-D [3,4,5] input: nnq models take [N,C,H,W] maps or vectors"},

	"test_conv_with_strides_padding":                {freeze: true},
	"test_conv_with_strides_no_padding":             {freeze: true},
	"test_conv_with_strides_and_asymmetric_padding": {freeze: true},
	"test_conv_with_autopad_same":                   {freeze: true}, // SAME_LOWER

	"test_maxpool_2d_default":                      {},
	"test_maxpool_2d_pads":                         {},
	"test_maxpool_2d_precomputed_pads":             {},
	"test_maxpool_2d_precomputed_same_upper":       {},
	"test_maxpool_2d_precomputed_strides":          {},
	"test_maxpool_2d_same_lower":                   {},
	"test_maxpool_2d_same_upper":                   {},
	"test_maxpool_2d_strides":                      {},
	"test_maxpool_2d_ceil":                         {wantErr: "ceil_mode=1 gives a 2x2 output where CMSIS-NN pools give 1x1"},
	"test_maxpool_2d_dilations":                    {wantErr: "dilations [2 2]"},
	"test_maxpool_1d_default":                      {wantErr: "1-D"},
	"test_maxpool_3d_default":                      {wantErr: "rank 5"},
	"test_maxpool_with_argmax_2d_precomputed_pads": {wantErr: "has 2 outputs"},

	"test_averagepool_2d_default":                            {},
	"test_averagepool_2d_pads":                               {},
	"test_averagepool_2d_precomputed_pads":                   {},
	"test_averagepool_2d_precomputed_same_upper":             {},
	"test_averagepool_2d_precomputed_strides":                {},
	"test_averagepool_2d_same_lower":                         {},
	"test_averagepool_2d_same_upper":                         {},
	"test_averagepool_2d_strides":                            {},
	"test_averagepool_2d_pads_count_include_pad":             {wantErr: "count_include_pad=1 with padding [2 2 2 2]"},
	"test_averagepool_2d_precomputed_pads_count_include_pad": {wantErr: "count_include_pad=1"},
	"test_averagepool_2d_ceil":                               {wantErr: "ceil_mode=1"},

	"test_globalaveragepool":             {},
	"test_globalaveragepool_precomputed": {},
	"test_globalmaxpool":                 {},
	"test_globalmaxpool_precomputed":     {},

	"test_gemm_default_no_bias":                 {freeze: true, split: true},
	"test_gemm_default_vector_bias":             {freeze: true, split: true},
	"test_gemm_default_scalar_bias":             {freeze: true, split: true},
	"test_gemm_default_single_elem_vector_bias": {freeze: true, split: true},
	"test_gemm_default_zero_bias":               {freeze: true, split: true},
	"test_gemm_transposeB":                      {freeze: true, split: true},
	"test_gemm_alpha":                           {freeze: true, split: true},
	"test_gemm_beta":                            {freeze: true, split: true},
	"test_gemm_transposeA":                      {freeze: true, split: true, wantErr: "transA=1"},
	"test_gemm_all_attributes":                  {freeze: true, split: true, wantErr: "transA=1"},
	"test_gemm_default_matrix_bias":             {freeze: true, split: true, wantErr: "bias of shape [3 4] does not broadcast"},
	"test_matmul_2d":                            {freeze: true, split: true},

	"test_batchnorm_example":               {freeze: true, split: true},
	"test_batchnorm_epsilon":               {freeze: true, split: true},
	"test_batchnorm_example_training_mode": {freeze: true, split: true, wantErr: "has 3 outputs"},
	"test_batchnorm_epsilon_training_mode": {freeze: true, split: true, wantErr: "has 3 outputs"},

	"test_flatten_axis0":          {split: true},
	"test_flatten_axis1":          {split: true},
	"test_flatten_default_axis":   {split: true},
	"test_flatten_negative_axis3": {split: true},
	"test_flatten_negative_axis4": {split: true},
	"test_flatten_axis2":          {split: true, wantErr: "only flattening everything after the batch"},

	"test_add":      {skip: "both operands are graph inputs; nnq models have one input (two-activation add is covered by testdata/ops.onnx)"},
	"test_mul":      {skip: "both operands are graph inputs; nnq models have one input (two-activation mul is covered by testdata/ops.onnx)"},
	"test_identity": {wantErr: "not computed by any layer"},
}

func readONNXTensor(t *testing.T, path string) *ctensor {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		t.Fatal(err)
	}
	ct, err := decodeTensor(&tp)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestONNXNodeTests(t *testing.T) {
	dir := onnxNodeDir(t)
	for name, c := range onnxNodeCases {
		t.Run(name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			runONNXNodeCase(t, filepath.Join(dir, name), c)
		})
	}
}

func runONNXNodeCase(t *testing.T, dir string, c onnxNodeCase) {
	data, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatal(err)
	}
	g := mp.GetGraph()
	var inputs []*ctensor
	for i := range g.GetInput() {
		inputs = append(inputs, readONNXTensor(t, filepath.Join(dir, "test_data_set_0", "input_"+strconv.Itoa(i)+".pb")))
	}
	want := readONNXTensor(t, filepath.Join(dir, "test_data_set_0", "output_0.pb"))
	if c.freeze {
		for i := 1; i < len(g.GetInput()); i++ {
			tp := &onnxpb.TensorProto{Name: proto.String(g.GetInput()[i].GetName()), DataType: proto.Int32(onnxFloat)}
			for _, d := range inputs[i].dims {
				tp.Dims = append(tp.Dims, int64(d))
			}
			tp.FloatData = inputs[i].float32s()
			g.Initializer = append(g.Initializer, tp)
		}
	}
	x := inputs[0]
	batches := 1
	dims := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	switch {
	case c.vector:
		n := int64(x.size())
		g.GetInput()[0].GetType().GetTensorType().GetShape().Dim = []*onnxpb.TensorShapeProto_Dimension{
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}},
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: n}},
		}
	case c.split:
		batches = x.dims[0]
		dims[0].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}
	}
	data, err = proto.Marshal(&mp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data, filepath.Base(dir))
	if err == nil {
		m, err = m.Prepare()
	}
	if c.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Fatalf("error %v, want one containing %q", err, c.wantErr)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	cm, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	run, err := cm.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	xs := x.float32s()
	in, out := len(xs)/batches, want.size()/batches
	worst := 0.0
	last := run.Act(len(cm.Layers) - 1)
	for bi := 0; bi < batches; bi++ {
		y := run.Run(xs[bi*in : (bi+1)*in])
		// The CMSIS pass computes HWC maps (and flattens in HWC order);
		// ONNX outputs are CHW.
		hwc := last.Flat
		if last.Spatial() {
			hwc = last.Shape
		}
		if hwc != nil {
			chw := make([]float32, len(y))
			hwcToCHW(hwc[0], hwc[1], hwc[2], y, chw)
			y = chw
		}
		if len(y) != out {
			t.Fatalf("output has %d values, want %d (%v / %d batches)", len(y), out, want.dims, batches)
		}
		for j, v := range y {
			w := want.v[bi*out+j]
			d := math.Abs(float64(v) - w)
			worst = max(worst, d)
			if d > 1e-4*(1+math.Abs(w)) {
				t.Fatalf("batch %d output %d: nnq %v, ONNX %v", bi, j, v, w)
			}
		}
	}
	t.Logf("%d layers, max abs difference %.3g", len(cm.Layers), worst)
}
