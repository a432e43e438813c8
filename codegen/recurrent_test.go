package codegen

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// rnnModel is a CMSIS-layout float network on a [T, W, C] input: a GRU
// returning the whole sequence, an LSTM on it (last step, or the whole
// sequence then flattened), a dense layer and a softmax.
func rnnModel(t testing.TB, seed int64, T, W, C, H1, H2 int, lstmSeq bool) *nnq.Model {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	m := &nnq.Model{Name: "rnn", Layout: nnq.CMSIS, InputShape: []int{T, W, C}, Tensors: map[string]*nnq.Tensor{}, Classes: []string{"a", "b", "c", "d"}}
	tensor := func(name string, scale float64, shape ...int) string {
		n := 1
		for _, d := range shape {
			n *= d
		}
		tt := &nnq.Tensor{Name: name, Shape: shape, Data: make([]float32, n)}
		for i := range tt.Data {
			tt.Data[i] = float32(r.NormFloat64() * scale)
		}
		m.Tensors[name] = tt
		return name
	}
	rec := func(name string, g, in, h int) map[string]string {
		return map[string]string{"weight_ih": tensor(name+".wih", 0.6, g*h, in), "weight_hh": tensor(name+".whh", 0.5, g*h, h),
			"bias_ih": tensor(name+".bih", 0.3, g*h), "bias_hh": tensor(name+".bhh", 0.3, g*h)}
	}
	m.Layers = []*nnq.Layer{
		{Name: "gru", Op: nnq.OpGRU, Attrs: nnq.Attrs{ReturnSequences: true}, Params: rec("gru", 3, W*C, H1)},
		{Name: "lstm", Op: nnq.OpLSTM, Attrs: nnq.Attrs{ReturnSequences: lstmSeq}, Params: rec("lstm", 4, H1, H2)},
	}
	nin := H2
	if lstmSeq {
		m.Layers = append(m.Layers, &nnq.Layer{Name: "flat", Op: nnq.OpFlatten})
		nin = T * H2
	}
	m.Layers = append(m.Layers,
		&nnq.Layer{Name: "fc", Op: nnq.OpDense, Params: map[string]string{"weight": tensor("fc.w", 0.5, 4, nin), "bias": tensor("fc.b", 0.2, 4)}},
		&nnq.Layer{Name: "prob", Op: nnq.OpSoftmax})
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	return m
}

func quantizedRNN(t testing.TB, m *nnq.Model, bits int, target string, runtime ...string) (*nnq.QModel, *nnq.Patterns) {
	t.Helper()
	rt := ""
	if len(runtime) > 0 {
		rt = runtime[0]
	}
	return quantizedRNNWith(t, m, nnq.QConfig{Bits: bits, Target: target, Runtime: rt})
}

// quantizedRNNWith quantizes m with cfg, calibrated on 24 random patterns
// (doubled, to exercise the gates' range), and returns them too.
func quantizedRNNWith(t testing.TB, m *nnq.Model, cfg nnq.QConfig) (*nnq.QModel, *nnq.Patterns) {
	t.Helper()
	p := randomPatterns(m, 24, 5)
	for i := range p.Inputs {
		p.Inputs[i] *= 2
	}
	st, err := nnq.Calibrate(m, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := nnq.Quantize(m, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q, p
}

// recurrentVariantsSeen quantizes the recurrent test networks (for
// TestKernelCoverage).
func recurrentVariantsSeen(t *testing.T) map[kernels.Variant]bool {
	seen := map[kernels.Variant]bool{}
	for _, bits := range []int{8, 16} {
		for _, rt := range []string{nnq.RuntimeNNQ, nnq.RuntimeCMSIS} {
			q, _ := quantizedRNN(t, rnnModel(t, 1, 5, 3, 2, 6, 4, false), bits, "host", rt)
			for _, l := range q.Layers {
				seen[l.Kernel] = true
			}
		}
	}
	return seen
}

// Host builds of exported GRU/LSTM networks are bit-exact with the
// simulator, layer by layer, q7 and q15, last-step and full-sequence
// outputs, C and DSP code paths, rounding and truncation, with the
// sanitizers on one of them.
func TestRecurrentExportVerify(t *testing.T) {
	needCC(t)
	for _, c := range []struct {
		name     string
		bits     int
		target   string
		seq      bool
		truncate bool
		sanitize bool
	}{
		{"q7_m4", 8, "cortex-m4", false, false, true},
		{"q15_m3_seq", 16, "cortex-m3", true, false, false},
		{"q7_host_seq_trunc", 8, "host", true, true, false},
		{"q15_m4", 16, "cortex-m4", false, false, true},
	} {
		for _, rt := range []string{nnq.RuntimeNNQ, nnq.RuntimeCMSIS} {
			c, rt := c, rt
			c.name += "_" + rt
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				m := rnnModel(t, 3, 7, 3, 2, 9, 5, c.seq)
				q, p := quantizedRNNWith(t, m, nnq.QConfig{Bits: c.bits, Target: c.target, Truncate: c.truncate, Runtime: rt})
				dir := t.TempDir()
				proj, err := Export(q, dir, Options{Patterns: p})
				if err != nil {
					t.Fatal(err)
				}
				if proj.Mem.ScratchBytes < q.Layers[1].Kernel.ScratchBytes(kernels.RNNGeom(7, 9, 5, c.seq)) {
					t.Errorf("scratch %d bytes is too small for the LSTM", proj.Mem.ScratchBytes)
				}
				src, err := os.ReadFile(filepath.Join(dir, "nn.c"))
				if err != nil {
					t.Fatal(err)
				}
				typ := map[int]string{8: "q7", 16: "q15"}[c.bits]
				if rt == nnq.RuntimeCMSIS {
					typ = "cmsis_" + typ
				}
				for _, want := range []string{"nnq_gru_" + typ + "(", "nnq_lstm_" + typ + "(", "NN_SCRATCH_Q15", ".gate_int_width = ", "gates Q"} {
					if !strings.Contains(string(src), want) {
						t.Errorf("nn.c lacks %q", want)
					}
				}
				mk, _ := os.ReadFile(filepath.Join(dir, "Makefile"))
				if !strings.Contains(string(mk), "nnq_recurrent.c") || !strings.Contains(string(mk), "nnq_dsp.c") {
					t.Errorf("Makefile does not always compile nnq_recurrent.c and nnq_dsp.c")
				}
				if r := proj.Report(); !strings.Contains(r, "time-step loop") {
					t.Errorf("report does not explain the nnq kernel:\n%s", r)
				}
				res, err := Verify(testCtx(t), dir, VerifyOptions{Sanitize: c.sanitize})
				if err != nil {
					t.Fatal(err)
				}
				if !res.BitExact || res.Patterns != p.Len() {
					t.Fatalf("%+v", res)
				}
			})
		}
	}
}

// The same on an emulated Cortex-M4 (DSP build of the runtime) and
// Cortex-M0 when QEMU and the cross compiler are present.
func TestRecurrentCortexM(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, c := range []struct {
		bits   int
		target string
	}{{8, "cortex-m4"}, {16, "cortex-m0"}} {
		t.Run(c.target, func(t *testing.T) {
			needTarget(t, c.target)
			t.Parallel()
			q, p := quantizedRNN(t, rnnModel(t, 4, 6, 2, 2, 8, 4, false), c.bits, c.target)
			dir := t.TempDir()
			if _, err := Export(q, dir, Options{Patterns: p, MaxPatterns: 6}); err != nil {
				t.Fatal(err)
			}
			res, err := Verify(testCtx(t), dir, VerifyOptions{Target: c.target})
			if err != nil {
				t.Fatal(err)
			}
			if !res.BitExact || res.Instructions <= 0 {
				t.Fatalf("%+v", res)
			}
			t.Logf("%s: %.0f instructions per inference", c.target, res.Instructions)
		})
	}
}
