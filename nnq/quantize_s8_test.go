package nnq

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAffineFromRangeAndMultiplier(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		bits   int
		want   Affine
	}{
		{0, 2.55, 8, Affine{Scale: 0.01, Zero: -128}},
		{-1.28, 1.27, 8, Affine{Scale: 0.01, Zero: 0}},
		{1, 2.55, 8, Affine{Scale: 0.01, Zero: -128}},  // widened to contain 0
		{-2.55, -1, 8, Affine{Scale: 0.01, Zero: 127}}, // likewise
		{-0.5, 3, 16, Affine{Scale: 3.0 / 32767}},      // symmetric
		{0, 0, 8, Affine{Scale: math.Exp2(-7)}},        // empty
		{0, 0, 16, Affine{Scale: math.Exp2(-15)}},      // empty
		{-1, 1.55, 8, Affine{Scale: 0.01, Zero: -28}},  // asymmetric
	} {
		got := affineFromRange(c.lo, c.hi, c.bits)
		if math.Abs(got.Scale-c.want.Scale) > 1e-12 || got.Zero != c.want.Zero {
			t.Errorf("affineFromRange(%g, %g, %d) = %v, want %v", c.lo, c.hi, c.bits, got, c.want)
		}
	}
	for _, c := range []struct {
		m           float64
		mult, shift int32
	}{
		{0.5, 1 << 30, 0}, {1, 1 << 30, 1}, {0.75, 3 << 29, 0}, {0.25, 1 << 30, -1}, {3, 3 << 29, 2}, {0, 0, 0}, {1e-12, 0, 0},
		{1 - 1e-12, 1 << 30, 1}, // rounds up to 2^31: halved, shift + 1
	} {
		mult, shift, ok := QuantizeMultiplier(c.m)
		if !ok || mult != c.mult || shift != c.shift {
			t.Errorf("QuantizeMultiplier(%g) = %d, %d, %v; want %d, %d", c.m, mult, shift, ok, c.mult, c.shift)
		}
		if c.mult != 0 && math.Abs(EffectiveMultiplier(mult, shift)-c.m) > c.m*1e-9 {
			t.Errorf("EffectiveMultiplier(%d, %d) = %g, want %g", mult, shift, EffectiveMultiplier(mult, shift), c.m)
		}
	}
	if _, _, ok := QuantizeMultiplier(math.Exp2(31)); ok {
		t.Error("a multiplier of 2^31 needs a shift of 32 and must be refused")
	}
}

// fracOnly is a scheme without a Range method.
type fracOnly struct{ f int }

func (fracOnly) Name() string                         { return "fraconly" }
func (s fracOnly) Frac(st *TensorStats, bits int) int { return s.f }

func TestSchemeRanges(t *testing.T) {
	// 10000 values uniform in [0, 1), a few negatives down to -0.5 and one
	// outlier at 40.
	var vals []float64
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 10000; i++ {
		vals = append(vals, r.Float64())
	}
	for i := 0; i < 100; i++ {
		vals = append(vals, -0.5*r.Float64())
	}
	vals = append(vals, 40)
	st := statsOf("t", vals...)
	// A long tail (Laplace, 50000 values): MSE trades the rarest large
	// values for resolution (the optimum for 8 bits is near 9.9 times the
	// scale parameter, a little below the sample maximum); a uniform
	// distribution keeps its whole range.
	var lap, uni []float64
	for i := 0; i < 50000; i++ {
		lap = append(lap, r.ExpFloat64()*float64(1-2*r.Intn(2)))
		uni = append(uni, 2*r.Float64()-1)
	}
	lapSt, uniSt := statsOf("lap", lap...), statsOf("uni", uni...)
	if _, hi := SchemeRange(MSE{}, lapSt, 8); hi >= lapSt.Max || hi < 7 {
		t.Errorf("mse on a Laplace tail: hi %g of max %g, want it clipped", hi, lapSt.Max)
	}
	if lo, hi := SchemeRange(MSE{}, uniSt, 8); hi < 0.95*uniSt.Max || lo > 0.95*uniSt.Min {
		t.Errorf("mse on a uniform distribution: [%g, %g] of [%g, %g], want the whole range", lo, hi, uniSt.Min, uniSt.Max)
	}
	lo, hi := SchemeRange(MinMax{}, st, 8)
	if lo != st.Min || math.Abs(hi-40) > 1e-6 {
		t.Errorf("minmax range [%g, %g], want [%g, 40]", lo, hi, st.Min)
	}
	lo, hi = SchemeRange(Percentile{P: 99.9}, st, 8)
	if hi < 0.95 || hi > 1.1 || lo > -0.4 || lo < -0.55 {
		t.Errorf("percentile:99.9 range [%g, %g], want about [-0.5, 1]", lo, hi)
	}
	if lo, hi = SchemeRange(MSE{}, lapSt, 16); lo != -hi || hi < 0.9*math.Max(lapSt.Max, -lapSt.Min) {
		t.Errorf("s16 range [%g, %g] must be symmetric and wide", lo, hi)
	}
	// A Frac-only scheme: 3 fractional bits of 8 give the power-of-two
	// bound 16, which clips the outlier.
	if lo, hi = SchemeRange(fracOnly{3}, st, 8); hi != 16 || lo != st.Min {
		t.Errorf("Frac fallback range [%g, %g], want [%g, 16]", lo, hi, st.Min)
	}
	// Search starts from its base's range.
	a1, b1 := SchemeRange(Search{Base: Percentile{P: 99}}, st, 8)
	a2, b2 := SchemeRange(Percentile{P: 99}, st, 8)
	if a1 != a2 || b1 != b2 {
		t.Errorf("search range [%g, %g], its base gives [%g, %g]", a1, b1, a2, b2)
	}
}

// s8Setup calibrates the all-ops test network.
func s8Setup(t *testing.T, seed int64) (*Model, *Patterns, *Stats) {
	t.Helper()
	r := rand.New(rand.NewSource(seed))
	return calibratedCMSIS(t, r, testNet(r, NCHW), 120)
}

// calibratedCMSIS prepares a framework network, converts it to CMSIS
// layout and calibrates it on n random labelled patterns.
func calibratedCMSIS(t *testing.T, r *rand.Rand, fw *Model, n int) (*Model, *Patterns, *Stats) {
	t.Helper()
	m, err := fw.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	p := randPatterns(r, m, n)
	return cm, p, labelledStats(t, cm, p)
}

// TestS8QuantizeRules checks the s8/s16 rules layer by layer on a network
// with every op: per-channel weight scales, bias and multiplier from the
// scales, fused and standalone ReLUs, fixed formats of softmax, sigmoid
// and tanh, the simulator against the float network, and a save/load round
// trip that simulates bit for bit the same.
func TestS8QuantizeRules(t *testing.T) {
	cm, p, st := s8Setup(t, 5)
	for _, f := range []Format{FormatS8, FormatS16} {
		q, err := Quantize(cm, st, QConfig{Format: f, Scheme: MSE{}, Target: "cortex-m4"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if q.TypeName() != string(f) || !q.IsAffine() || q.Bits != f.Bits() {
			t.Fatalf("%s: type %s, bits %d", f, q.TypeName(), q.Bits)
		}
		lo, hi := qRange(q.Bits)
		for i, l := range q.Layers {
			s := l.S8
			fl := cm.Layers[i]
			if f == FormatS16 && (s.Out.Zero != 0 || s.In[0].Zero != 0) {
				t.Errorf("s16 layer %s: zero points %d, %d must be 0", l.Name, s.In[0].Zero, s.Out.Zero)
			}
			switch l.Op {
			case OpConv2D, OpDepthwiseConv2D, OpDense:
				w := cm.Param(fl, "weight").Data
				for k, sw := range s.WeightScale {
					mx := 0.0
					for j, v := range w {
						if l.Op == OpDense || (l.Op == OpConv2D && j/(len(w)/len(s.WeightScale)) == k) || (l.Op == OpDepthwiseConv2D && j%len(s.WeightScale) == k) {
							mx = math.Max(mx, math.Abs(float64(v)))
						}
					}
					if math.Abs(sw-mx/127) > 1e-12 {
						t.Errorf("%s %s channel %d: weight scale %g, want max|w|/127 = %g", f, l.Name, k, sw, mx/127)
					}
					m := s.In[0].Scale * sw / s.Out.Scale
					if e := EffectiveMultiplier(s.Mult[k], s.Shift[k]); math.Abs(e-m) > m*1e-9 {
						t.Errorf("%s %s channel %d: multiplier %g, want %g", f, l.Name, k, e, m)
					}
				}
				if l.Op == OpDense && len(s.WeightScale) != 1 {
					t.Errorf("%s %s: a fully connected layer has one weight scale, got %d", f, l.Name, len(s.WeightScale))
				}
				if b := cm.Param(fl, "bias"); b != nil {
					for o, v := range b.Data {
						sw := s.WeightScale[min(o, len(s.WeightScale)-1)]
						want := math.Round(float64(v) / (s.In[0].Scale * sw))
						got := float64(0)
						if f == FormatS8 {
							got = float64(s.Bias32[o])
						} else {
							got = float64(s.Bias64[o])
						}
						if got != want {
							t.Errorf("%s %s bias %d: %g, want %g", f, l.Name, o, got, want)
						}
					}
				}
			case OpReLU:
				// Both ReLUs are their producer's only reader: fused.
				p := q.Layer(l.Inputs[0]).S8
				if !s.Fused || !p.FusedReLU || p.ActMin != max(lo, s.Out.Zero) || s.Out != p.Out || s.Function != "" {
					t.Errorf("%s %s: not fused into %s", f, l.Name, l.Inputs[0])
				}
			case OpSoftmax:
				want := Affine{Scale: 1.0 / 256, Zero: -128}
				if f == FormatS16 {
					want = Affine{Scale: 1.0 / 32768}
				}
				if s.Out != want {
					t.Errorf("%s softmax out %v, want %v", f, s.Out, want)
				}
			case OpSigmoid, OpTanh:
				if f == FormatS8 && len(s.LUT) != 256 {
					t.Errorf("s8 %s: table of %d entries", l.Name, len(s.LUT))
				}
			}
			if s.ActMin < lo || s.ActMax > hi {
				t.Errorf("%s %s: clamp [%d, %d]", f, l.Name, s.ActMin, s.ActMax)
			}
		}
		ev, err := q.Evaluate(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		minSQNR := map[Format]float64{FormatS8: 18, FormatS16: 30}[f]
		for _, le := range ev.Layers {
			if le.SQNR < minSQNR {
				t.Errorf("%s: layer %s SQNR %.1f dB < %.0f", f, le.Name, le.SQNR, minSQNR)
			}
		}
		if ev.Agreement < map[Format]float64{FormatS8: 0.9, FormatS16: 0.98}[f] {
			t.Errorf("%s: agreement with float %.3f", f, ev.Agreement)
		}
		tab := q.Table()
		for _, want := range []string{"arm_convolve_wrapper_s8", "arm_depthwise_conv_wrapper_s8", "arm_fully_connected_s8", "(fused into pw)"} {
			if f == FormatS16 {
				want = strings.ReplaceAll(want, "_s8", "_s16")
			}
			if !strings.Contains(tab, want) {
				t.Errorf("%s table lacks %q:\n%s", f, want, tab)
			}
		}
		// Save / load: the same simulation bit for bit.
		checkSaveLoad(t, q, p, 20)
	}
}

// TestS8SimEqualsReference recomputes a conv → ReLU → pool → flatten →
// dense network's s8 output from its quantized parameters with plain
// integer loops and float requantization, independently of the kernels.
func TestS8SimEqualsReference(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	m := convPoolDenseNet(r, 6, 3, 4, 5)
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 30)
	st, _ := Calibrate(cm, p, nil)
	q, err := Quantize(cm, st, QConfig{Format: FormatS8, Scheme: MinMax{}, Target: "host"})
	if err != nil {
		t.Fatal(err)
	}
	sim, _ := q.NewSim(false)
	x := make([]int16, cm.InputSize())
	// requant: round(acc · M) + zero point, clamped; the library's double
	// rounding may differ from it by one where acc·M is within 2^-31 of a
	// tie, so allow 1 LSB.
	requant := func(acc int64, m float64, zp int32, lo int32) int32 {
		return min(max(int32(math.Round(float64(acc)*m))+zp, lo), 127)
	}
	for i := 0; i < p.Len(); i++ {
		q.QuantizeInput(p.Input(i), x)
		got, err := sim.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		c, fc := q.Layers[0], q.Layers[4]
		g := c.Geom
		conv := make([]int32, c.Out.Size())
		for oy := 0; oy < g.OutY; oy++ {
			for ox := 0; ox < g.OutX; ox++ {
				for o := 0; o < g.OutC; o++ {
					acc := int64(c.S8.Bias32[o])
					for ky := 0; ky < g.KY; ky++ {
						for kx := 0; kx < g.KX; kx++ {
							iy, ix := oy*g.StrideY-g.PadY+ky, ox*g.StrideX-g.PadX+kx
							if iy < 0 || ix < 0 || iy >= g.InY || ix >= g.InX {
								continue
							}
							for ci := 0; ci < g.InC; ci++ {
								acc += int64(int32(x[(iy*g.InX+ix)*g.InC+ci])-c.S8.In[0].Zero) * int64(c.S8.Weights[((o*g.KY+ky)*g.KX+kx)*g.InC+ci])
							}
						}
					}
					conv[(oy*g.OutX+ox)*g.OutC+o] = requant(acc, EffectiveMultiplier(c.S8.Mult[o], c.S8.Shift[o]), c.S8.Out.Zero, c.S8.ActMin)
				}
			}
		}
		pg := q.Layers[2].Geom
		pool := make([]int32, q.Layers[2].Out.Size())
		for oy := 0; oy < pg.OutY; oy++ {
			for ox := 0; ox < pg.OutX; ox++ {
				for ch := 0; ch < pg.InC; ch++ {
					best := int32(-128)
					for ky := 0; ky < 2; ky++ {
						for kx := 0; kx < 2; kx++ {
							best = max(best, conv[((oy*2+ky)*pg.InX+ox*2+kx)*pg.InC+ch])
						}
					}
					pool[(oy*pg.OutX+ox)*pg.InC+ch] = best
				}
			}
		}
		for o := 0; o < 5; o++ {
			acc := int64(fc.S8.Bias32[o])
			for k, v := range pool {
				acc += int64(v-fc.S8.In[0].Zero) * int64(fc.S8.Weights[o*len(pool)+k])
			}
			want := requant(acc, EffectiveMultiplier(fc.S8.Mult[0], fc.S8.Shift[0]), fc.S8.Out.Zero, -128)
			if d := int32(got[o]) - want; d > 1 || d < -1 {
				t.Fatalf("pattern %d output %d: sim %d, reference %d", i, o, got[o], want)
			}
		}
	}
}

// TestS8StandaloneReLU: a ReLU on the network input, and one whose
// producer has another reader, cannot be fused: they run nnq_clamp at the
// zero point, and the simulator matches the float ReLU.
func TestS8StandaloneReLU(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	m := &Model{Name: "relus", Layout: NHWC, InputShape: []int{4, 4, 2}, Tensors: map[string]*Tensor{}}
	m.Tensors["c"] = randTensor(r, "c", 1, 1, 2, 2)
	m.Layers = []*Layer{
		{Name: "r0", Op: OpReLU},
		{Name: "conv", Op: OpConv2D, Params: map[string]string{"weight": "c"}},
		{Name: "r1", Op: OpReLU},
		{Name: "sum", Op: OpAdd, Inputs: []string{"conv", "r1"}},
	}
	cm, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	p := randPatterns(r, m, 40)
	st, _ := Calibrate(cm, p, nil)
	for _, f := range []Format{FormatS8, FormatS16} {
		q, err := Quantize(cm, st, QConfig{Format: f, Scheme: MinMax{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"r0", "r1"} {
			s := q.Layer(n).S8
			if s.Fused || s.Function != "nnq_clamp_"+string(f) || s.ActMin != max(s.In[0].Zero, -32768) || s.Out != s.In[0] {
				t.Errorf("%s %s: %+v, want nnq_clamp at the zero point", f, n, s)
			}
		}
		if q.Layer("conv").S8.FusedReLU {
			t.Errorf("%s: conv has two readers and cannot fuse", f)
		}
		if fn := q.Layer("sum").S8.Function; fn != map[Format]string{FormatS8: "arm_elementwise_add_s8", FormatS16: "nnq_add_s16"}[f] {
			t.Errorf("%s: add runs %s", f, fn)
		}
		ev, err := q.Evaluate(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, le := range ev.Layers {
			if le.SQNR < map[Format]float64{FormatS8: 30, FormatS16: 50}[f] {
				t.Errorf("%s: %s SQNR %.1f dB", f, le.Name, le.SQNR)
			}
		}
	}
}

func TestS8Errors(t *testing.T) {
	cm, _, st := s8Setup(t, 6)
	if _, err := Quantize(cm, st, QConfig{Format: FormatS8, Truncate: true}); err == nil || !strings.Contains(err.Error(), "ARM_NN_TRUNCATE") {
		t.Errorf("s8 with truncation: %v", err)
	}
	if _, err := Quantize(cm, st, QConfig{Format: FormatS8, Bits: 16}); err == nil || !strings.Contains(err.Error(), "8-bit") {
		t.Errorf("s8 with 16 bits: %v", err)
	}
	if _, err := Quantize(cm, st, QConfig{Format: "s4"}); err == nil || !strings.Contains(err.Error(), "s4") {
		t.Errorf("format s4: %v", err)
	}
	if _, err := ParseFormat("q8"); err == nil {
		t.Error("ParseFormat accepts q8")
	}
	q, err := Quantize(cm, st, QConfig{Format: FormatS8})
	if err != nil {
		t.Fatal(err)
	}
	// A corrupted saved model is refused with the layer named.
	dir := t.TempDir()
	path := filepath.Join(dir, "q.json")
	q.Layer("fc1").S8.Weights = q.Layer("fc1").S8.Weights[1:]
	if err := q.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadQModel(path); err == nil || !strings.Contains(err.Error(), `"fc1"`) {
		t.Errorf("truncated weights: %v", err)
	}
	q, _ = Quantize(cm, st, QConfig{Format: FormatS8})
	q.Layer("conv1").S8.Out.Scale = -1
	q.Save(path)
	if _, err := LoadQModel(path); err == nil || !strings.Contains(err.Error(), "conv1") {
		t.Errorf("negative scale: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"format":"s8"`) {
		t.Errorf("saved model does not name its format")
	}
}

// TestS8Recurrent quantizes a GRU feeding an LSTM (both with biases, NCHW
// so the input columns are reordered) for s8 and s16 and checks the
// recurrent outputs against the float decomposition and the save/load
// round trip of their parameters.
func TestS8Recurrent(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	fw := rnnTestNet(r, NCHW, 12, 3, 2, 10, 8, true)
	cm, err := fw.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	p := randPatterns(r, fw, 80)
	st := labelledStats(t, cm, p)
	for _, f := range []Format{FormatS8, FormatS16} {
		q, err := Quantize(cm, st, QConfig{Format: f, Target: "cortex-m4"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		g := q.Layer("gru").S8
		if g.RNN == nil || g.RNN.LSTM || !q.Layer("lstm").S8.RNN.LSTM || len(g.RNN.IH.Multiplier) != 3*10 {
			t.Fatalf("%s: recurrent parameters missing: %+v", f, g)
		}
		if want := map[Format]string{FormatS8: "nnq_gru_s8", FormatS16: "nnq_gru_s16"}[f]; g.Function != want {
			t.Errorf("%s: gru runs %s, want %s", f, g.Function, want)
		}
		ev, err := q.Evaluate(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		minSQNR := map[Format]float64{FormatS8: 25, FormatS16: 35}[f]
		for _, le := range ev.Layers[:2] {
			if le.SQNR < minSQNR {
				t.Errorf("%s: layer %s SQNR %.1f dB < %.0f", f, le.Name, le.SQNR, minSQNR)
			}
			if le.Kernel.Calls != int64(p.Len()) || le.Kernel.SatHigh+le.Kernel.SatLow > 2 {
				t.Errorf("%s: layer %s counters %+v", f, le.Name, le.Kernel)
			}
		}
		_, path := checkSaveLoad(t, q, p, 10)
		q.Layer("lstm").S8.RNN.Bh = q.Layer("lstm").S8.RNN.Bh[:3]
		q.Save(path)
		if _, err := LoadQModel(path); err == nil || !strings.Contains(err.Error(), "lstm") {
			t.Errorf("%s: truncated recurrent bias: %v", f, err)
		}
	}
}
