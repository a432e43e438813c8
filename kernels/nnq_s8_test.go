package kernels

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testvec"
)

// TestGenLUTS16MatchesVectors: the tables nnq generates for arm_softmax_s16
// are the ones recorded in every softmax_s16 case of the CMSIS-NN vectors
// (TFLite's generator).
func TestGenLUTS16MatchesVectors(t *testing.T) {
	cases, err := testvec.Load(s8SubsetDir)
	if err != nil {
		t.Fatal(err)
	}
	exp := GenLUTS16(math.Exp, -10, 0)
	one := GenLUTS16(func(x float64) float64 { return 1 / (1 + x) }, 0, 1)
	n := 0
	for _, c := range cases {
		if c.Function != "arm_softmax_s16" {
			continue
		}
		n++
		for name, want := range map[string][]int16{"softmax_params.exp_lut": exp, "softmax_params.one_by_one_lut": one} {
			got := c.Inputs[name]
			if len(got) != len(want) {
				t.Fatalf("%s: %s has %d entries", c.ID, name, len(got))
			}
			for i := range want {
				if int64(want[i]) != got[i] {
					t.Fatalf("%s: %s[%d] = %d, nnq generates %d", c.ID, name, i, got[i], want[i])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no arm_softmax_s16 case in the subset")
	}
}

func TestNNQActS16(t *testing.T) {
	sig := ActTableS16(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) })
	tanh := ActTableS16(math.Tanh)
	// Input scale 2^-10 (Q5.10): multiplier 0.5·2^1 → Q3.12 = x·4.
	mult, shift := int32(1<<30), int32(3)
	in := make([]int16, 0, 65536)
	for v := -32768; v < 32768; v += 7 {
		in = append(in, int16(v))
	}
	out := make([]int16, len(in))
	var st Stats
	for _, c := range []struct {
		t []int16
		f func(float64) float64
	}{{sig, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }}, {tanh, math.Tanh}} {
		if err := NNQActS16(Opts{Stats: &st}, in, mult, shift, c.t, out, len(in)); err != nil {
			t.Fatal(err)
		}
		for i, x := range in {
			want := c.f(math.Min(math.Max(float64(x)/1024, -8), 8-1.0/4096)) * 32768
			if d := math.Abs(float64(out[i]) - math.Min(want, 32767)); d > 3 {
				t.Fatalf("input %d: %d, want %.1f", x, out[i], want)
			}
		}
	}
	if st.SatHigh == 0 || st.SatLow == 0 || st.Calls != 2 {
		t.Errorf("inputs beyond ±8 must count as saturations into Q3.12: %+v", st)
	}
	if err := NNQActS16(Opts{}, in, mult, shift, sig[:100], out, len(in)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short table: %v", err)
	}
}

func TestNNQClampAndLUT(t *testing.T) {
	in := []int8{-128, -5, 0, 7, 127}
	out := make([]int8, 5)
	var st Stats
	if err := NNQClampS8(Opts{Stats: &st}, in, -5, 100, out, 5); err != nil {
		t.Fatal(err)
	}
	if want := []int8{-5, -5, 0, 7, 100}; string(int8s(out)) != string(int8s(want)) || st.ClampLow != 1 || st.ClampHigh != 1 {
		t.Errorf("clamp: %v, stats %+v", out, st)
	}
	if err := NNQClampS8(Opts{}, in, 5, -5, out, 5); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty range: %v", err)
	}
	in16, out16 := []int16{-32768, -1, 0, 1, 32767}, make([]int16, 5)
	if err := NNQClampS16(Opts{}, in16, 0, 32767, out16, 5); err != nil || out16[0] != 0 || out16[1] != 0 || out16[4] != 32767 {
		t.Errorf("clamp s16: %v %v", out16, err)
	}
	lut := make([]int8, 256)
	for i := range lut {
		lut[i] = int8(255 - i)
	}
	if err := NNQLUTS8(Opts{}, in, lut, out, 5); err != nil || out[0] != -1 || out[4] != 0 || out[2] != 127 {
		t.Errorf("lut: %v %v", out, err)
	}
	v := []int16{-32768, 5, -1}
	NNQSoftmaxS16Unwrap(v, 3)
	if v[0] != 32767 || v[1] != 5 || v[2] != 32767 {
		t.Errorf("unwrap: %v", v)
	}
}

func int8s(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// TestNNQAddMulS16 checks the int16 element-wise kernels against the real
// arithmetic they stand for (TFLite's quantized ADD and MUL), to within
// one step.
func TestNNQAddMulS16(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	quant := func(m float64) (int32, int32) {
		frac, exp := math.Frexp(m)
		q := math.Round(frac * (1 << 31))
		if q == 1<<31 {
			q /= 2
			exp++
		}
		return int32(q), int32(exp)
	}
	for trial := 0; trial < 50; trial++ {
		s1, s2, so := math.Exp2(-8-4*r.Float64()), math.Exp2(-8-4*r.Float64()), math.Exp2(-7-4*r.Float64())
		n := 200
		a, b := testvec.RandS16(r, n), testvec.RandS16(r, n)
		twice := 2 * math.Max(s1, s2)
		p := ElementwiseAddS8Params{LeftShift: 15, OutActivationMin: s16Min, OutActivationMax: s16Max}
		p.Input1Mult, p.Input1Shift = quant(s1 / twice)
		p.Input2Mult, p.Input2Shift = quant(s2 / twice)
		p.OutMult, p.OutShift = quant(twice / (32768 * so))
		out := make([]int16, n)
		if err := NNQAddS16(Opts{}, a, b, p, out, n); err != nil {
			t.Fatal(err)
		}
		mp := ElementwiseMulS8Params{OutActivationMin: s16Min, OutActivationMax: s16Max}
		mp.OutMult, mp.OutShift = quant(s1 * s2 / so)
		prod := make([]int16, n)
		if err := NNQMulS16(Opts{}, a, b, mp, prod, n); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			want := math.Min(math.Max(math.Round((s1*float64(a[i])+s2*float64(b[i]))/so), -32768), 32767)
			if d := math.Abs(float64(out[i]) - want); d > 1 {
				t.Fatalf("trial %d add %d: %d + %d -> %d, want %g", trial, i, a[i], b[i], out[i], want)
			}
			want = math.Min(math.Max(math.Round(s1*float64(a[i])*s2*float64(b[i])/so), -32768), 32767)
			if d := math.Abs(float64(prod[i]) - want); d > 1 {
				t.Fatalf("trial %d mul %d: %d · %d -> %d, want %g", trial, i, a[i], b[i], prod[i], want)
			}
		}
	}
	if err := NNQAddS16(Opts{}, nil, nil, ElementwiseAddS8Params{LeftShift: 16, OutActivationMax: 1}, nil, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("left_shift 16: %v", err)
	}
}

// rnnRef is a float model of the s8/s16 recurrent kernels' step equations
// on the dequantized parameters (per-row weight scales).
func rnnRef(lstm bool, p NNQRNNS8Params, x []float64, wih, whh []float64, bx, bh []float64, T, I, H int) []float64 {
	G := 3
	if lstm {
		G = 4
	}
	h, c := make([]float64, H), make([]float64, H)
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	var out []float64
	for t := 0; t < T; t++ {
		gx, gh := make([]float64, G*H), make([]float64, G*H)
		for r := 0; r < G*H; r++ {
			gx[r], gh[r] = bx[r], bh[r]
			for k := 0; k < I; k++ {
				gx[r] += wih[r*I+k] * x[t*I+k]
			}
			for k := 0; k < H; k++ {
				gh[r] += whh[r*H+k] * h[k]
			}
		}
		nh := make([]float64, H)
		for j := 0; j < H; j++ {
			if lstm {
				i, f, g, o := sig(gx[j]+gh[j]), sig(gx[H+j]+gh[H+j]), math.Tanh(gx[2*H+j]+gh[2*H+j]), sig(gx[3*H+j]+gh[3*H+j])
				c[j] = f*c[j] + i*g
				nh[j] = o * math.Tanh(c[j])
			} else {
				rr, z := sig(gx[j]+gh[j]), sig(gx[H+j]+gh[H+j])
				n := math.Tanh(gx[2*H+j] + rr*gh[2*H+j])
				nh[j] = (1-z)*n + z*h[j]
			}
		}
		h = nh
		if p.ReturnSequences || t == T-1 {
			out = append(out, h...)
		}
	}
	return out
}

// TestNNQRNNS8 runs the GRU and LSTM kernels on random parameters against
// rnnRef (int16 input with scale 2^-12, gate scale 2^-10, weights with a
// scale per row), and checks their argument errors.
func TestNNQRNNS8(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	sig := ActTableS16(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) })
	tanh := ActTableS16(math.Tanh)
	quant := func(m float64) (int32, int32) {
		frac, exp := math.Frexp(m)
		return int32(math.Round(frac * (1 << 31))), int32(exp)
	}
	for _, lstm := range []bool{false, true} {
		for _, rs := range []bool{false, true} {
			G, T, I, H := 3, 9, 5, 6
			if lstm {
				G = 4
			}
			p := NNQRNNS8Params{Steps: T, DimIn: I, Hidden: H, ReturnSequences: rs}
			sx, sg, sc := math.Exp2(-12), math.Exp2(-10), math.Exp2(-11)
			p.Gate.Multiplier, p.Gate.Shift = quant(sg * 4096)
			p.Cell.Multiplier, p.Cell.Shift = quant(math.Exp2(-30) / sc)
			p.CellAct.Multiplier, p.CellAct.Shift = quant(sc * 4096)
			wih, whh := make([]int8, G*H*I), make([]int8, G*H*H)
			fwih, fwhh := make([]float64, len(wih)), make([]float64, len(whh))
			bx, bh := make([]int64, G*H), make([]int64, G*H)
			fbx, fbh := make([]float64, G*H), make([]float64, G*H)
			for row := 0; row < G*H; row++ {
				swi, swh := 0.01*(1+r.Float64()), 0.01*(1+r.Float64())
				for k := 0; k < I; k++ {
					wih[row*I+k] = int8(r.Intn(255) - 127)
					fwih[row*I+k] = float64(wih[row*I+k]) * swi
				}
				for k := 0; k < H; k++ {
					whh[row*H+k] = int8(r.Intn(255) - 127)
					fwhh[row*H+k] = float64(whh[row*H+k]) * swh
				}
				bx[row], bh[row] = int64(r.Intn(20001)-10000), int64(r.Intn(2001)-1000)
				fbx[row], fbh[row] = float64(bx[row])*sx*swi, float64(bh[row])*math.Exp2(-15)*swh
				m, s := quant(sx * swi / sg)
				p.IH.Multiplier, p.IH.Shift = append(p.IH.Multiplier, m), append(p.IH.Shift, s)
				m, s = quant(math.Exp2(-15) * swh / sg)
				p.HH.Multiplier, p.HH.Shift = append(p.HH.Multiplier, m), append(p.HH.Shift, s)
			}
			in := testvec.RandS16(r, T*I)
			fx := make([]float64, len(in))
			for i, v := range in {
				fx[i] = float64(v) * sx
			}
			outN := H
			if rs {
				outN = T * H
			}
			out := make([]int16, outN)
			scratch := make([]int16, NNQRNNS8Scratch(lstm, I, H))
			run := NNQGRUS16
			if lstm {
				run = NNQLSTMS16
			}
			if err := run(Opts{Target: DSPPath}, p, in, wih, bx, whh, bh, sig, tanh, out, scratch); err != nil {
				t.Fatal(err)
			}
			want := rnnRef(lstm, p, fx, fwih, fwhh, fbx, fbh, T, I, H)
			for i := range want {
				if d := math.Abs(float64(out[i])/32768 - want[i]); d > 0.01 {
					t.Fatalf("lstm %v, sequences %v: h[%d] = %.4f, float model %.4f", lstm, rs, i, float64(out[i])/32768, want[i])
				}
			}
			// The s8 kernel on the same data narrowed to int8 (scale 2^-4,
			// offset −3) gives h rounded to Q0.7.
			in8 := make([]int8, len(in))
			for i, v := range in {
				in8[i] = int8(v >> 8)
			}
			p8 := p
			p8.InputOffset = -3
			out8 := make([]int8, outN)
			run8 := NNQGRUS8
			if lstm {
				run8 = NNQLSTMS8
			}
			if err := run8(Opts{}, p8, in8, wih, bx, whh, bh, sig, tanh, out8, scratch); err != nil {
				t.Fatal(err)
			}
			if err := run8(Opts{}, p8, in8, wih, bx, whh, bh, sig, tanh, out8, scratch[:len(scratch)-1]); !errors.Is(err, ErrShortBuffer) {
				t.Errorf("short scratch: %v", err)
			}
			p8.InputOffset = 200
			if err := run8(Opts{}, p8, in8, wih, bx, whh, bh, sig, tanh, out8, scratch); !errors.Is(err, ErrInvalid) {
				t.Errorf("input offset 200: %v", err)
			}
			p.InputOffset = 1
			if err := run(Opts{}, p, in, wih, bx, whh, bh, sig, tanh, out, scratch); !errors.Is(err, ErrInvalid) {
				t.Errorf("an int16 input with an offset: %v", err)
			}
		}
	}
}
