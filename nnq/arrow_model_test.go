package nnq

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// normModel fills in what decoding fills in, for comparisons.
func normModel(m *Model) *Model {
	c := m.Clone()
	if c.InputName == "" {
		c.InputName = "input"
	}
	for k, t := range c.Tensors {
		t.Name = k
	}
	if len(c.Classes) == 0 {
		c.Classes = nil
	}
	if len(c.Notes) == 0 {
		c.Notes = nil
	}
	for _, l := range c.Layers {
		if len(l.Inputs) == 0 {
			l.Inputs = nil
		}
		if len(l.Params) == 0 {
			l.Params = nil
		}
		a := &l.Attrs
		for _, s := range []*[]int{&a.Kernel, &a.Strides, &a.Pads, &a.Shape} {
			if len(*s) == 0 {
				*s = nil
			}
		}
	}
	return c
}

func sameModel(t *testing.T, got, want *Model) {
	t.Helper()
	g, w := normModel(got), normModel(want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(modelHeader{Layers: g.Layers, Input: modelInput{Shape: g.InputShape}})
		wj, _ := json.Marshal(modelHeader{Layers: w.Layers, Input: modelInput{Shape: w.InputShape}})
		t.Fatalf("model differs after round trip\n got %s %v %v\nwant %s %v %v", gj, g.Name, g.TensorNames(), wj, w.Name, w.TensorNames())
	}
}

// allAttrsModel uses every op and sets every attribute field at least once.
// It is not meant to pass Check.
func allAttrsModel() *Model {
	t := func(name string, shape ...int) *Tensor {
		d := make([]float32, shapeSize(shape))
		for i := range d {
			d[i] = float32(i)*0.25 - 1
		}
		return &Tensor{Name: name, Shape: shape, Data: d}
	}
	m := &Model{
		Name: "every-op", Layout: NHWC, InputName: "image", InputShape: []int{8, 8, 3},
		Classes: []string{"cat", "dog"}, Notes: []string{"note 1", "note ü"}, Source: NCHW,
		Tensors: map[string]*Tensor{},
	}
	for _, x := range []*Tensor{t("c.w", 3, 3, 3, 4), t("c.b", 4), t("d.w", 3, 3, 4, 1), t("d.b", 4),
		t("bn.g", 4), t("bn.b", 4), t("bn.m", 4), t("bn.v", 4), t("fc.w", 64, 2), t("fc.b", 2),
		t("gru.wih", 6, 2), t("gru.whh", 6, 2), t("gru.bih", 6), t("gru.bhh", 6), t("lstm.wih", 8, 2), t("lstm.whh", 8, 2)} {
		m.Tensors[x.Name] = x
	}
	m.Layers = []*Layer{
		{Name: "c", Op: OpConv2D, Inputs: []string{"image"}, Attrs: Attrs{Kernel: []int{3, 3}, Strides: []int{2, 1},
			Padding: "explicit", Pads: []int{1, 0, 1, 2}, Filters: 4, Activation: "relu"},
			Params: map[string]string{"weight": "c.w", "bias": "c.b"}},
		{Name: "d", Op: OpDepthwiseConv2D, Attrs: Attrs{Kernel: []int{3, 3}, Padding: "same"}, Params: map[string]string{"weight": "d.w", "bias": "d.b"}},
		{Name: "bn", Op: OpBatchNorm, Attrs: Attrs{Epsilon: 1.5e-3}, Params: map[string]string{"gamma": "bn.g", "beta": "bn.b", "mean": "bn.m", "var": "bn.v"}},
		{Name: "r", Op: OpReLU},
		{Name: "mp", Op: OpMaxPool2D, Attrs: Attrs{Kernel: []int{2, 2}, Strides: []int{2, 2}, Padding: "valid"}},
		{Name: "ap", Op: OpAvgPool2D, Attrs: Attrs{Global: true}},
		{Name: "s", Op: OpSigmoid},
		{Name: "th", Op: OpTanh, Inputs: []string{"r"}},
		{Name: "add", Op: OpAdd, Inputs: []string{"th", "r"}},
		{Name: "mul", Op: OpMul, Inputs: []string{"add", "r"}},
		{Name: "drop", Op: OpDropout},
		{Name: "id", Op: OpIdentity},
		{Name: "rs", Op: OpReshape, Attrs: Attrs{Shape: []int{4, 4, 4}}},
		{Name: "fl", Op: OpFlatten},
		{Name: "fc", Op: OpDense, Attrs: Attrs{Units: 2, Activation: "relu"}, Params: map[string]string{"weight": "fc.w", "bias": "fc.b"}},
		{Name: "sm", Op: OpSoftmax},
		{Name: "gru", Op: OpGRU, Attrs: Attrs{Hidden: 2, ReturnSequences: true},
			Params: map[string]string{"weight_ih": "gru.wih", "weight_hh": "gru.whh", "bias_ih": "gru.bih", "bias_hh": "gru.bhh"}},
		{Name: "lstm", Op: OpLSTM, Params: map[string]string{"weight_ih": "lstm.wih", "weight_hh": "lstm.whh"}},
	}
	return m
}

// tinyModel is a small NCHW model that passes Check.
func tinyModel() *Model {
	m := &Model{Name: "tiny", Layout: NCHW, InputShape: []int{1, 4, 4}, Tensors: map[string]*Tensor{}}
	r := rand.New(rand.NewSource(1))
	for _, x := range []*Tensor{randTensor(r, "conv.w", 2, 1, 3, 3), randTensor(r, "conv.b", 2), randTensor(r, "fc.w", 3, 8), randTensor(r, "fc.b", 3)} {
		m.Tensors[x.Name] = x
	}
	m.Layers = []*Layer{
		{Name: "conv", Op: OpConv2D, Attrs: Attrs{Kernel: []int{3, 3}, Filters: 2}, Params: map[string]string{"weight": "conv.w", "bias": "conv.b"}},
		{Name: "relu", Op: OpReLU},
		{Name: "flat", Op: OpFlatten},
		{Name: "fc", Op: OpDense, Attrs: Attrs{Units: 3}, Params: map[string]string{"weight": "fc.w", "bias": "fc.b"}},
		{Name: "prob", Op: OpSoftmax},
	}
	return m
}

func TestArrowModelRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		m    *Model
	}{
		{"tiny", tinyModel()},
		{"testnet-NCHW", testNet(rand.New(rand.NewSource(2)), NCHW)},
		{"testnet-NHWC", testNet(rand.New(rand.NewSource(3)), NHWC)},
		{"testnet-CMSIS", func() *Model {
			m := testNet(rand.New(rand.NewSource(4)), NHWC)
			m.Classes = []string{"v", "w", "x", "y", "z"}
			m.Notes = []string{"hello"}
			c, err := m.ToCMSIS()
			if err != nil {
				t.Fatal(err)
			}
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".arrow")
			if err := WriteModel(path, tc.m); err != nil {
				t.Fatal(err)
			}
			got, err := ReadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			sameModel(t, got, tc.m)
			// Decoding from memory gives the same model.
			data, _ := os.ReadFile(path)
			got2, err := DecodeModel(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			sameModel(t, got2, tc.m)
			// Writing is deterministic.
			var buf bytes.Buffer
			if err := EncodeModel(&buf, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), data) {
				t.Error("re-encoding the decoded model gives different bytes")
			}
		})
	}
}

// TestArrowModelAllAttrs round-trips every op and every attribute through
// the file (without Check, which this made-up graph would not pass).
func TestArrowModelAllAttrs(t *testing.T) {
	m := allAttrsModel()
	var buf bytes.Buffer
	if err := EncodeModel(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := decodeModelArrow(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, got, m)
	seen := map[Op]bool{}
	for _, l := range got.Layers {
		seen[l.Op] = true
	}
	for _, op := range []Op{OpConv2D, OpDepthwiseConv2D, OpDense, OpFlatten, OpReshape, OpMaxPool2D, OpAvgPool2D, OpReLU,
		OpSigmoid, OpTanh, OpSoftmax, OpBatchNorm, OpAdd, OpMul, OpDropout, OpIdentity} {
		if !seen[op] {
			t.Errorf("op %s not covered", op)
		}
	}
	for _, op := range SupportedOps() {
		if !seen[op] {
			t.Errorf("registered op %s not covered", op)
		}
	}
}

// TestArrowModelSchema checks the file is plain canonical Arrow: one
// single-row batch of fixed_size_list<float32> columns tagged as
// arrow.fixed_shape_tensor, the graph JSON in the schema metadata.
func TestArrowModelSchema(t *testing.T) {
	m := tinyModel()
	var buf bytes.Buffer
	if err := EncodeModel(&buf, m); err != nil {
		t.Fatal(err)
	}
	fr, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	js, ok := fr.Schema().Metadata().GetValue("nnq.model")
	if !ok {
		t.Fatal("no nnq.model metadata")
	}
	var g map[string]any
	if err := json.Unmarshal([]byte(js), &g); err != nil {
		t.Fatal(err)
	}
	if g["version"] != 1.0 || g["layout"] != "NCHW" || g["input"].(map[string]any)["name"] != "input" {
		t.Errorf("graph header %v", js)
	}
	if fr.NumRecords() != 1 {
		t.Fatalf("%d batches", fr.NumRecords())
	}
	for _, f := range fr.Schema().Fields() {
		want := m.Tensors[f.Name]
		fl, ok := f.Type.(*arrow.FixedSizeListType)
		if !ok || fl.Elem().ID() != arrow.FLOAT32 || int(fl.Len()) != want.Size() {
			t.Errorf("%s: type %s", f.Name, f.Type)
		}
		if v, _ := f.Metadata.GetValue("ARROW:extension:name"); v != "arrow.fixed_shape_tensor" {
			t.Errorf("%s: extension name %q", f.Name, v)
		}
		var ext struct{ Shape []int }
		v, _ := f.Metadata.GetValue("ARROW:extension:metadata")
		if err := json.Unmarshal([]byte(v), &ext); err != nil || !reflect.DeepEqual(ext.Shape, want.Shape) {
			t.Errorf("%s: extension metadata %q", f.Name, v)
		}
	}
}

// arrowFile writes an Arrow IPC file with the given schema metadata, fields
// and single-row-or-more columns (one batch per entry of batches).
func arrowFile(t testing.TB, md map[string]string, fields []arrow.Field, batches ...[]arrow.Array) []byte {
	t.Helper()
	var meta *arrow.Metadata
	if md != nil {
		x := arrow.MetadataFrom(md)
		meta = &x
	}
	schema := arrow.NewSchema(fields, meta)
	var buf bytes.Buffer
	fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	for _, cols := range batches {
		n := int64(0)
		if len(cols) > 0 {
			n = int64(cols[0].Len())
		}
		rec := array.NewRecordBatch(schema, cols, n)
		if err := fw.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listOf builds a fixed-size list array of rows lists of size values of
// type elem, with optional null rows and null values (flat indices).
func listOf(elem arrow.DataType, size int, vals []float64, nullRows, nullVals []int) arrow.Array {
	mem := memory.DefaultAllocator
	b := array.NewFixedSizeListBuilder(mem, int32(size), elem)
	defer b.Release()
	rows := len(vals) / size
	isNull := func(list []int, i int) bool {
		for _, j := range list {
			if j == i {
				return true
			}
		}
		return false
	}
	for r := 0; r < rows; r++ {
		if isNull(nullRows, r) {
			b.AppendNull()
			continue
		}
		b.Append(true)
		for k := 0; k < size; k++ {
			i := r*size + k
			switch vb := b.ValueBuilder().(type) {
			case *array.Float32Builder:
				if isNull(nullVals, i) {
					vb.AppendNull()
				} else {
					vb.Append(float32(vals[i]))
				}
			case *array.Float64Builder:
				vb.Append(vals[i])
			case *array.Int32Builder:
				vb.Append(int32(vals[i]))
			}
		}
	}
	return b.NewArray()
}

func extMeta(shape string) arrow.Metadata {
	return arrow.MetadataFrom(map[string]string{"ARROW:extension:name": "arrow.fixed_shape_tensor", "ARROW:extension:metadata": `{"shape":` + shape + `}`})
}

func seq(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i%7) * 0.1
	}
	return v
}

// tinyGraph is tinyModel's graph JSON with edits applied.
func tinyGraph(edit func(g map[string]any)) string {
	var buf bytes.Buffer
	if err := encodeModel(&buf, tinyModel()); err != nil {
		panic(err)
	}
	fr, err := ipc.NewFileReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		panic(err)
	}
	js, _ := fr.Schema().Metadata().GetValue(ModelMetadataKey)
	fr.Close()
	var g map[string]any
	if err := json.Unmarshal([]byte(js), &g); err != nil {
		panic(err)
	}
	if edit != nil {
		edit(g)
	}
	out, _ := json.Marshal(g)
	return string(out)
}

// tinyFile writes tinyModel's tensors as columns, replacing column name with
// the given field and array (or dropping it when arr is nil), under graph.
func tinyFile(t testing.TB, graph string, name string, f arrow.Field, arr arrow.Array) []byte {
	t.Helper()
	m := tinyModel()
	var fields []arrow.Field
	var cols []arrow.Array
	for _, n := range m.TensorNames() {
		if n == name {
			if arr != nil {
				fields = append(fields, f)
				cols = append(cols, arr)
			}
			continue
		}
		tn := m.Tensors[n]
		fl := tensorField(n, tn.Shape, tn.Size())
		fields = append(fields, fl)
		cols = append(cols, float32ListArray(fl.Type.(*arrow.FixedSizeListType), tn.Data, 1))
	}
	return arrowFile(t, map[string]string{ModelMetadataKey: graph}, fields, cols)
}

func encodeBytes(t testing.TB, m *Model) []byte {
	var buf bytes.Buffer
	if err := encodeModel(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArrowModelBadInput(t *testing.T) {
	good := encodeBytes(t, tinyModel())
	f32 := arrow.PrimitiveTypes.Float32
	fcb := func(typ arrow.DataType, md arrow.Metadata) arrow.Field {
		return arrow.Field{Name: "fc.b", Type: typ, Metadata: md}
	}
	withTensor := func(name string, edit func(*Tensor)) []byte {
		m := tinyModel()
		edit(m.Tensors[name])
		return encodeBytes(t, m)
	}
	streamBytes := func() []byte {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(arrow.NewSchema(nil, nil)))
		w.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"empty"}},
		{"text", []byte("hello, this is not arrow at all"), []string{"not an Arrow IPC file"}},
		{"parquet", []byte("PAR1\x00\x00\x00\x00PAR1"), []string{"Parquet"}},
		{"stream format", streamBytes(), []string{"Arrow IPC stream"}},
		{"truncated half", good[:len(good)/2], []string{"truncated"}},
		{"truncated one byte", good[:len(good)-1], []string{"truncated"}},
		{"footer garbage", append(append([]byte{}, good[:len(good)-10]...), 0xff, 0xff, 0, 0, 'A', 'R', 'R', 'O', 'W', '1'), []string{"corrupt"}},
		{"no metadata", arrowFile(t, nil, nil), []string{"no nnq.model schema metadata"}},
		{"pattern file", patternBytes(t, randPatterns(rand.New(rand.NewSource(1)), tinyModel(), 3), PatternWriteOptions{}), []string{"pattern file, not a model"}},
		{"bad json", arrowFile(t, map[string]string{ModelMetadataKey: `{"version":1,`}, nil), []string{"not a valid JSON graph"}},
		{"no version", arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(func(g map[string]any) { delete(g, "version") })}, nil), []string{"no version"}},
		{"version 2", arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(func(g map[string]any) { g["version"] = 2 })}, nil), []string{"version 2", "reads version 1"}},
		{"bad layout", arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(func(g map[string]any) { g["layout"] = "NWCH" })}, nil), []string{`layout "NWCH"`}},
		{"bad input shape", arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(func(g map[string]any) { g["input"] = map[string]any{"shape": []int{1, 0, 4}} })}, nil), []string{"input", "dimension < 1"}},
		{"unknown top key", arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(func(g map[string]any) { g["layerz"] = 1 })}, nil), []string{`unknown field "layerz"`}},
		{"unknown attr", tinyFile(t, tinyGraph(func(g map[string]any) {
			g["layers"].([]any)[0].(map[string]any)["attrs"].(map[string]any)["filter"] = 2
		}), "", arrow.Field{}, nil), []string{`layer 0 "conv"`, `unknown field "filter"`}},
		{"null layer", arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(func(g map[string]any) { g["layers"].([]any)[1] = nil })}, nil), []string{"layer 1 is null"}},
		{"duplicate layer", tinyFile(t, tinyGraph(func(g map[string]any) { g["layers"].([]any)[1].(map[string]any)["name"] = "conv" }), "", arrow.Field{}, nil), []string{`layer 1 "conv"`, "already used"}},
		{"missing tensor", tinyFile(t, tinyGraph(nil), "fc.b", arrow.Field{}, nil), []string{`layer 3 "fc"`, `param "bias"`, `tensor "fc.b"`, "not a column"}},
		{"count vs shape", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(4, f32), extMeta("[3]")), listOf(f32, 4, seq(4), nil, nil)),
			[]string{`tensor "fc.b"`, "shape [3] holds 3 values", "hold 4"}},
		{"bad dim", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), extMeta("[3,-1]")), listOf(f32, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, "dimension < 1"}},
		{"permutation", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), arrow.MetadataFrom(map[string]string{
			"ARROW:extension:name": "arrow.fixed_shape_tensor", "ARROW:extension:metadata": `{"shape":[1,3],"permutation":[1,0]}`})), listOf(f32, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, "permutation"}},
		{"float64 values", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float64), extMeta("[3]")), listOf(arrow.PrimitiveTypes.Float64, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, "float32"}},
		{"plain float column", tinyFile(t, tinyGraph(nil), "fc.b", fcb(f32, extMeta("[3]")), func() arrow.Array {
			b := array.NewFloat32Builder(memory.DefaultAllocator)
			b.Append(1)
			return b.NewArray()
		}()), []string{`tensor "fc.b"`, "column type is float", "fixed_size_list<float32>"}},
		{"variable list", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.ListOf(f32), extMeta("[3]")), func() arrow.Array {
			b := array.NewListBuilder(memory.DefaultAllocator, f32)
			b.Append(true)
			b.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{1, 2, 3}, nil)
			return b.NewArray()
		}()), []string{`tensor "fc.b"`, "column type is list"}},
		{"no extension", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), arrow.Metadata{}), listOf(f32, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, "ARROW:extension:name", "shape is unknown"}},
		{"other extension", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), arrow.MetadataFrom(map[string]string{"ARROW:extension:name": "my.tensor"})), listOf(f32, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, `"my.tensor"`}},
		{"bad extension json", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), arrow.MetadataFrom(map[string]string{
			"ARROW:extension:name": "arrow.fixed_shape_tensor", "ARROW:extension:metadata": `{"shape":[3`})), listOf(f32, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, "ARROW:extension:metadata JSON"}},
		{"no shape", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), arrow.MetadataFrom(map[string]string{
			"ARROW:extension:name": "arrow.fixed_shape_tensor", "ARROW:extension:metadata": `{}`})), listOf(f32, 3, seq(3), nil, nil)),
			[]string{`tensor "fc.b"`, "no shape"}},
		{"null row", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), extMeta("[3]")), listOf(f32, 3, seq(3), []int{0}, nil)),
			[]string{`tensor "fc.b"`, "row 0 is null"}},
		{"null value", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), extMeta("[3]")), listOf(f32, 3, seq(3), nil, []int{2})),
			[]string{`tensor "fc.b"`, "row 0 value 2 is null"}},
		{"two rows", tinyFile(t, tinyGraph(nil), "fc.b", fcb(arrow.FixedSizeListOf(3, f32), extMeta("[3]")), listOf(f32, 3, seq(6), nil, nil)),
			[]string{`tensor "fc.b"`, "column has 2 rows"}},
		{"NaN weight", withTensor("conv.w", func(x *Tensor) { x.Data[10] = float32(math.NaN()) }), []string{`tensor "conv.w"`, "value 10 [1,0,0,1] is NaN"}},
		{"Inf weight", withTensor("fc.w", func(x *Tensor) { x.Data[23] = float32(math.Inf(-1)) }), []string{`tensor "fc.w"`, "value 23 [2,7] is -Inf"}},
		{"check fails", withTensor("fc.w", func(x *Tensor) { x.Shape = []int{8, 3} }), []string{`"fc"`, `"fc.w"`}},
		{"duplicate column", func() []byte {
			tn := tinyModel().Tensors["fc.b"]
			f := tensorField("fc.b", tn.Shape, 3)
			a := float32ListArray(f.Type.(*arrow.FixedSizeListType), tn.Data, 1)
			return arrowFile(t, map[string]string{ModelMetadataKey: tinyGraph(nil)}, []arrow.Field{f, f}, []arrow.Array{a, a})
		}(), []string{`tensor "fc.b"`, "two columns"}},
		{"two batches", func() []byte {
			tn := tinyModel().Tensors["fc.b"]
			f := tensorField("fc.b", tn.Shape, 3)
			a := float32ListArray(f.Type.(*arrow.FixedSizeListType), tn.Data, 1)
			g := tinyGraph(func(g map[string]any) { g["layers"] = g["layers"].([]any)[4:] })
			return arrowFile(t, map[string]string{ModelMetadataKey: g}, []arrow.Field{f}, []arrow.Array{a}, []arrow.Array{a})
		}(), []string{"2 record batches"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad-"+strings.ReplaceAll(tc.name, " ", "_")+".arrow")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadModel(path)
			if err == nil {
				t.Fatal("ReadModel succeeded")
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestArrowModelMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.arrow")
	if _, err := ReadModel(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v", err)
	}
}

func TestArrowWriteModelRejects(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(m *Model)
		want string
	}{
		{"nil tensor", func(m *Model) { m.Tensors["fc.b"] = nil }, `tensor "fc.b" is nil`},
		{"short data", func(m *Model) { m.Tensors["fc.b"].Data = m.Tensors["fc.b"].Data[:2] }, `tensor "fc.b": 2 values`},
		{"NaN", func(m *Model) { m.Tensors["fc.b"].Data[1] = float32(math.NaN()) }, `tensor "fc.b": value 1 [1] is NaN`},
		{"missing param", func(m *Model) { delete(m.Tensors, "fc.b") }, `param "bias" names tensor "fc.b"`},
		{"bad layout", func(m *Model) { m.Layout = "HWC" }, `layout "HWC"`},
		{"name mismatch", func(m *Model) { m.Tensors["fc.b"].Name = "other" }, `stored under the name "fc.b"`},
		{"empty shape", func(m *Model) { m.InputShape = nil }, "input: shape is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tinyModel()
			tc.edit(m)
			path := filepath.Join(dir, tc.name+".arrow")
			err := WriteModel(path, m)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Error("a failed write left a file")
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
