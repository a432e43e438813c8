package onnx

import (
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// The PyTorch GRU/LSTM fixtures (data/onnx/make_rnn_fixtures.py) are
// matched numerically by TestONNXFixturesMatchPyTorch; here their
// structure, a Go implementation of the ONNX operators' own equations
// (independent of nnq's gate reordering), and the refused variants.

func TestONNXRecurrentFixtureStructure(t *testing.T) {
	for name, want := range map[string]string{
		"gru":   "gru(8) dense",
		"lstmh": "lstm(8) dense softmax",
		"crnn":  "conv2d relu gru(8,seq) gru(8) dense",
		"lstm2": "lstm(7,seq) lstm(5) dense",
		// h_n[-1] of a 2-layer LSTM: Gather from the Concat of both Y_h.
		"lstmstack": "lstm(6,seq) lstm(6) dense",
		// The KWS GRU example's x[:, 0] and h[0].
		"gruidx": "gru(8) dense softmax",
	} {
		m, err := nnq.Load(filepath.Join("testdata", name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if got := rnnSummary(m); got != want {
			t.Errorf("%s: layers %q, want %q", name, got, want)
		}
	}
}

func rnnSummary(m *nnq.Model) string {
	var s []string
	for _, l := range m.Layers {
		x := string(l.Op)
		if l.Op == nnq.OpGRU || l.Op == nnq.OpLSTM {
			x += "(" + itoa(l.Attrs.Hidden)
			if l.Attrs.ReturnSequences {
				x += ",seq"
			}
			x += ")"
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

func itoa(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	return itoa(v/10) + itoa(v%10)
}

// rnnTestGraph builds x [1,C,T,F] → (Squeeze, or permute + Reshape when
// C > 1) → Transpose(1,0,2) → op "rnn" (hidden H, random W, R, B) and
// returns the graph and the recurrent node. Outputs: y, yh (and yc).
func rnnTestGraph(op string, C, T, F, H int) (*onnxGraph, *onnxpb.NodeProto) {
	G := 3
	if op == "LSTM" {
		G = 4
	}
	I := C * F
	b := newONNXGraph("x", 1, int64(C), int64(T), int64(F))
	b.ints("ax0", 0)
	b.ints("ax1", 1)
	if C == 1 {
		b.node("Squeeze", "squeeze", []string{"x", "ax1"}, []string{"s"})
	} else {
		b.ints("shape", 1, int64(T), int64(I))
		b.node("Transpose", "permute", []string{"x"}, []string{"p"}, aInts("perm", 0, 2, 1, 3))
		b.node("Reshape", "reshape", []string{"p", "shape"}, []string{"s"})
	}
	b.node("Transpose", "seqfirst", []string{"s"}, []string{"xt"}, aInts("perm", 1, 0, 2))
	b.init("W", nil, 1, int64(G*H), int64(I))
	b.init("R", nil, 1, int64(G*H), int64(H))
	b.init("B", nil, 1, int64(2*G*H))
	outs := []string{"y", "yh"}
	attrs := []*onnxpb.AttributeProto{aInt("hidden_size", int64(H))}
	if op == "LSTM" {
		outs = append(outs, "yc")
	} else {
		attrs = append(attrs, aInt("linear_before_reset", 1))
	}
	b.node(op, "rnn", []string{"xt", "W", "R", "B"}, outs, attrs...)
	return b, b.g.Node[len(b.g.Node)-1]
}

// scalar adds an int64 scalar initializer.
func (b *onnxGraph) scalar(name string, v int64) {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(onnxInt64), Int64Data: []int64{v}})
}

// lastStep appends y[:, -1] as PyTorch writes it (Squeeze, Transpose,
// Gather) reading Y, with index k; the result is "h".
func lastStep(b *onnxGraph, k int64) {
	b.scalar("k", k)
	b.node("Squeeze", "ysq", []string{"y", "ax1"}, []string{"y3"})
	b.node("Transpose", "ybf", []string{"y3"}, []string{"ybt"}, aInts("perm", 1, 0, 2))
	b.node("Gather", "ylast", []string{"ybt", "k"}, []string{"h"}, aInt("axis", 1))
}

func (b *onnxGraph) initData(name string) []float32 {
	for _, t := range b.g.Initializer {
		if t.GetName() == name {
			return t.FloatData
		}
	}
	return nil
}

// onnxRNNRef runs the ONNX GRU (linear_before_reset=1; W, R, B blocks z,
// r, h) or LSTM (blocks i, o, f, c) equations over x [C,T,F] read as T
// steps of C·F features and returns the last h.
func onnxRNNRef(op string, x []float32, C, T, F, H int, w, r, bias []float32) []float64 {
	G, I := 3, C*F
	if op == "LSTM" {
		G = 4
	}
	h, c := make([]float64, H), make([]float64, H)
	xt := make([]float64, I)
	// pre returns W_g x + Wb_g and R_g h + Rb_g for gate block g, unit k.
	pre := func(g, k int) (float64, float64) {
		row := g*H + k
		a, b := float64(bias[row]), float64(bias[G*H+row])
		for j, v := range xt {
			a += float64(w[row*I+j]) * v
		}
		for j, v := range h {
			b += float64(r[row*H+j]) * v
		}
		return a, b
	}
	for t := 0; t < T; t++ {
		for ch := 0; ch < C; ch++ {
			for f := 0; f < F; f++ {
				xt[ch*F+f] = float64(x[(ch*T+t)*F+f])
			}
		}
		nh := make([]float64, H)
		for k := 0; k < H; k++ {
			if op == "GRU" {
				zx, zh := pre(0, k)
				rx, rh := pre(1, k)
				hx, hh := pre(2, k)
				z, rr := sigmoid64(zx+zh), sigmoid64(rx+rh)
				n := math.Tanh(hx + rr*hh)
				nh[k] = (1-z)*n + z*h[k]
				continue
			}
			ix, ih := pre(0, k)
			ox, oh := pre(1, k)
			fx, fh := pre(2, k)
			cx, chh := pre(3, k)
			c[k] = sigmoid64(fx+fh)*c[k] + sigmoid64(ix+ih)*math.Tanh(cx+chh)
			nh[k] = sigmoid64(ox+oh) * math.Tanh(c[k])
		}
		h = nh
	}
	return h
}

// TestONNXRecurrentMatchesONNXEquations imports hand-built GRU/LSTM graphs
// (a C>1 map through permute + reshape, the last step from Y_h, from
// Gather of Y and from Slice of Y, zero initial states and full
// sequence_lens given explicitly) and checks them against the ONNX
// operators' equations.
func TestONNXRecurrentMatchesONNXEquations(t *testing.T) {
	const T, F, H = 5, 3, 4
	for _, c := range []struct {
		op   string
		C    int
		tail string
	}{
		{"GRU", 2, "yh"}, {"GRU", 1, "gather"}, {"LSTM", 2, "slice"}, {"LSTM", 1, "yh"},
	} {
		b, node := rnnTestGraph(c.op, c.C, T, F, H)
		b.init("zeros", make([]float32, H), 1, 1, H)
		b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String("lens"), Dims: []int64{1}, DataType: proto.Int32(6), Int32Data: []int32{T}})
		node.Input = append(node.Input, "lens", "zeros")
		if c.op == "LSTM" {
			node.Input = append(node.Input, "zeros")
		}
		want := "gru(4) "
		switch c.tail {
		case "yh":
			b.node("Squeeze", "hsq", []string{"yh", "ax0"}, []string{"h"})
		case "gather":
			lastStep(b, -1)
		case "slice":
			b.ints("st", -1)
			b.ints("en", math.MaxInt64)
			b.node("Slice", "yslice", []string{"y", "st", "en", "ax0"}, []string{"ys"})
			b.ints("ax12", 1, 2)
			b.node("Squeeze", "ysq", []string{"ys", "ax12"}, []string{"h"})
		}
		if c.op == "LSTM" {
			want = "lstm(4) "
		}
		b.init("fw", nil, 2, H)
		b.node("Gemm", "fc", []string{"h", "fw"}, []string{"out"}, aInt("transB", 1))
		data := b.bytes(t, "out")
		m, err := Decode(data, "t")
		if err != nil {
			t.Fatalf("%s %s: %v", c.op, c.tail, err)
		}
		if got := rnnSummary(m); got != want+"dense" {
			t.Errorf("%s %s: layers %q", c.op, c.tail, got)
		}
		r := rand.New(rand.NewSource(int64(c.C)))
		for trial := 0; trial < 2; trial++ {
			x := make([]float32, c.C*T*F)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			got := runONNXBytes(t, data, x)
			h := onnxRNNRef(c.op, x, c.C, T, F, H, b.initData("W"), b.initData("R"), b.initData("B"))
			fw := b.initData("fw")
			for o := 0; o < 2; o++ {
				want := 0.0
				for k, v := range h {
					want += float64(fw[o*H+k]) * v
				}
				if d := math.Abs(float64(got[o]) - want); d > 1e-5 {
					t.Errorf("%s %s: output %d is %v, ONNX equations give %v", c.op, c.tail, o, got[o], want)
				}
			}
		}
	}
}

func TestONNXRecurrentRefusals(t *testing.T) {
	setAttr := func(a *onnxpb.AttributeProto) func(*onnxGraph, *onnxpb.NodeProto) {
		return func(b *onnxGraph, n *onnxpb.NodeProto) {
			for i, old := range n.Attribute {
				if old.GetName() == a.GetName() {
					n.Attribute[i] = a
					return
				}
			}
			n.Attribute = append(n.Attribute, a)
		}
	}
	input := func(i int, name string, data []float32, dims ...int64) func(*onnxGraph, *onnxpb.NodeProto) {
		return func(b *onnxGraph, n *onnxpb.NodeProto) {
			if name != "" {
				b.init(name, data, dims...)
			}
			for len(n.Input) <= i {
				n.Input = append(n.Input, "")
			}
			n.Input[i] = name
		}
	}
	strs := &onnxpb.AttributeProto{Name: proto.String("activations"), Type: onnxpb.AttributeProto_STRINGS.Enum(), Strings: [][]byte{[]byte("Relu"), []byte("Tanh")}}
	for _, c := range []struct {
		name, op string
		C        int
		edit     func(*onnxGraph, *onnxpb.NodeProto)
		tail     string // "yh" (default), "gather0", "both", "yc", "relu"
		node     string
		want     string
	}{
		{"linear_before_reset=0", "GRU", 1, setAttr(aInt("linear_before_reset", 0)), "", "rnn", "linear_before_reset=0"},
		{"no linear_before_reset", "GRU", 1, func(b *onnxGraph, n *onnxpb.NodeProto) { n.Attribute = n.Attribute[:1] }, "", "rnn", "linear_before_reset=0"},
		{"bidirectional", "GRU", 1, setAttr(aString("direction", "bidirectional")), "", "rnn", `direction "bidirectional"`},
		{"reverse", "LSTM", 1, setAttr(aString("direction", "reverse")), "", "rnn", `direction "reverse"`},
		{"activations", "GRU", 1, setAttr(strs), "", "rnn", `activations ["Relu" "Tanh"]`},
		{"clip", "LSTM", 1, setAttr(aFloat("clip", 3)), "", "rnn", "clip=3"},
		{"layout", "GRU", 1, setAttr(aInt("layout", 1)), "", "rnn", "layout=1"},
		{"input_forget", "LSTM", 1, setAttr(aInt("input_forget", 1)), "", "rnn", "input_forget=1"},
		{"sequence_lens", "GRU", 1, func(b *onnxGraph, n *onnxpb.NodeProto) {
			b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String("lens"), Dims: []int64{1}, DataType: proto.Int32(6), Int32Data: []int32{3}})
			n.Input = append(n.Input, "lens")
		}, "", "rnn", "sequence_lens [3]"},
		{"initial_h", "GRU", 1, input(5, "h0", nil, 1, 1, 4), "", "rnn", "initial_h (input 5) is not zero"},
		{"initial_c", "LSTM", 1, input(6, "c0", nil, 1, 1, 4), "", "rnn", "initial_c (input 6) is not zero"},
		{"initial_h activation", "GRU", 1, func(b *onnxGraph, n *onnxpb.NodeProto) {
			for len(n.Input) <= 5 {
				n.Input = append(n.Input, "")
			}
			n.Input[5] = "x"
		}, "", "rnn", "initial_h (input 5, \"x\") is computed by the network"},
		{"peepholes", "LSTM", 1, input(7, "P", nil, 1, 12), "", "rnn", "P (peephole weights) (input 7) is not zero: nnq's lstm has no peephole"},
		{"W shape", "GRU", 1, func(b *onnxGraph, n *onnxpb.NodeProto) { b.init("W2", nil, 1, 12, 4); n.Input[1] = "W2" }, "", "rnn", "W has shape [1 12 4], want [1, 12, 3]"},
		{"weights from an activation", "GRU", 1, func(b *onnxGraph, n *onnxpb.NodeProto) { n.Input[2] = "x" }, "", "rnn", "R (input 2, \"x\") must be a constant"},
		{"time along the features", "GRU", 1, func(b *onnxGraph, n *onnxpb.NodeProto) {
			b.g.Node[1].Attribute[0] = aInts("perm", 2, 0, 1) // [1,T,F] → [F,1,T]
		}, "", "rnn", "is not the feature map [C,T,F] = [1 5 3] read as 5 steps of 3 features"},
		{"channels reshaped without permute", "GRU", 2, func(b *onnxGraph, n *onnxpb.NodeProto) {
			b.g.Node[0].Attribute[0] = aInts("perm", 0, 1, 2, 3) // x.view(1, T, C*F) of a [1,C,T,F] map
		}, "", "reshape", "moves elements between axes; a GRU/LSTM input must be"},
		{"Y_c used", "LSTM", 1, nil, "yc", "rnn", `output Y_c ("yc", the last cell state) is used`},
		{"Y and Y_h used", "GRU", 1, nil, "both", "hsq", `input "yh" is the last h (Y_h) of gru "rnn", which nnq does not compute`},
		{"first step", "GRU", 1, nil, "gather0", "ylast", "selects time step 0 of the 5"},
		{"sequence into relu", "LSTM", 1, nil, "relu", "relu", `is "rnn" seen as a sequence`},
	} {
		b, node := rnnTestGraph(c.op, c.C, 5, 3, 4)
		if c.edit != nil {
			c.edit(b, node)
		}
		out := "h"
		switch c.tail {
		case "", "yh":
			b.node("Squeeze", "hsq", []string{"yh", "ax0"}, []string{"h"})
		case "gather0":
			lastStep(b, 0)
		case "both":
			lastStep(b, -1)
			b.node("Squeeze", "hsq", []string{"yh", "ax0"}, []string{"h2"})
			b.node("Add", "sum", []string{"h", "h2"}, []string{"hsum"})
			out = "hsum"
		case "yc":
			b.node("Squeeze", "csq", []string{"yc", "ax0"}, []string{"h"})
		case "relu":
			b.node("Relu", "relu", []string{"y"}, []string{"h"})
		}
		_, err := Decode(b.bytes(t, out), c.name)
		var oe *Error
		if !errors.As(err, &oe) {
			t.Errorf("%s: error %v is not an *Error", c.name, err)
			continue
		}
		found := false
		for _, p := range oe.Problems {
			if p.Node == c.node && strings.Contains(p.Reason, c.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v\nwant node %q saying %q", c.name, err, c.node, c.want)
		}
	}
}

// TestONNXRecurrentQuantizes takes the imported PyTorch recurrent nets
// through calibration and q15/q7 quantization: every layer of the
// simulated fixed-point network tracks the float one.
func TestONNXRecurrentQuantizes(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, name := range []string{"crnn", "lstm2"} {
		m, err := nnq.Load(filepath.Join("testdata", name+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		cm, err := m.ToCMSIS()
		if err != nil {
			t.Fatal(err)
		}
		p := randPatterns(r, m, 30)
		st, err := nnq.Calibrate(cm, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, bits := range []int{8, 16} {
			q, err := nnq.Quantize(cm, st, nnq.QConfig{Bits: bits})
			if err != nil {
				t.Fatalf("%s q%d: %v", name, bits, err)
			}
			ev, err := q.Evaluate(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			minSQNR := map[int]float64{8: 20, 16: 45}[bits]
			for _, le := range ev.Layers {
				if le.SQNR < minSQNR {
					t.Errorf("%s q%d: layer %s SQNR %.1f dB < %.0f", name, bits, le.Name, le.SQNR, minSQNR)
				}
			}
			t.Logf("%s q%d: output SQNR %.1f dB", name, bits, ev.Layers[len(ev.Layers)-1].SQNR)
		}
	}
}

// TestONNXRecurrentStackedFirstState selects h_n[0] of a 2-layer LSTM (the
// first layer's Y_h, which nnq does not compute because the layer's
// sequence feeds the second one).
func TestONNXRecurrentStackedFirstState(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "lstmstack.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatal(err)
	}
	g := mp.Graph
	g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String("first"), DataType: proto.Int32(onnxInt64), Int64Data: []int64{0}})
	found := false
	for _, n := range g.Node {
		if n.GetName() == "/Gather" {
			n.Input[1], found = "first", true
		}
	}
	if !found {
		t.Fatal("no /Gather node")
	}
	if data, err = proto.Marshal(&mp); err != nil {
		t.Fatal(err)
	}
	_, err = Decode(data, "first")
	if err == nil || !strings.Contains(err.Error(), `node "Gather" (Gather): selects part 0, which is the last h (Y_h) of lstm "lstm/LSTM"`) {
		t.Errorf("error %v", err)
	}
}
