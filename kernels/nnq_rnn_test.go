package kernels

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// refRNN is a naive per-element model of the recurrent kernels written from
// the step equations in nnq_rnn.go (int64 arithmetic, explicit saturation),
// sharing only the library-verified table activation and arm_nn_mult_q15.
func refRNN(t *testing.T, v Variant, rd Rounding, p RNNParams, in, wih, bih, whh, bhh []int16) []int16 {
	I, H, T := p.DimIn, p.Hidden, p.Steps
	lstm := RNNGates(v) == 4
	G := RNNGates(v) * H
	sat := func(x int64) int16 { return int16(min(max(x, -32768), 32767)) }
	floorShift := func(x int64, s int) int64 { return x >> uint(s) }
	fc := func(x, w, b []int16, n, bs, os int) []int16 {
		out := make([]int16, G)
		for r := 0; r < G; r++ {
			acc := int64(int32(int32(b[r]) << uint(bs)))
			acc += rd.roundTerm(os)
			for j := 0; j < n; j++ {
				acc += int64(x[j]) * int64(w[r*n+j])
			}
			out[r] = sat(floorShift(int64(int32(acc)), os))
		}
		return out
	}
	act := func(x []int16, iw int, typ ActivationType) []int16 {
		y := append([]int16(nil), x...)
		if err := ActivationsDirectQ15(Opts{}, y, iw, typ); err != nil {
			t.Fatal(err)
		}
		return y
	}
	mul := func(a, b int16) int16 { return sat(floorShift(int64(a)*int64(b), 15)) }
	gsh := func(x int16) int16 { return sat(int64(x) << uint(p.GateShift)) }
	h := make([]int16, H)
	c := make([]int16, H)
	var out []int16
	for step := 0; step < T; step++ {
		x := make([]int16, I)
		for j := range x {
			x[j] = in[step*I+j]
			if !v.Q15() {
				x[j] <<= 8
			}
		}
		gx := fc(x, wih, bih, I, p.IHBiasShift, p.IHOutShift)
		gh := fc(h, whh, bhh, H, p.HHBiasShift, p.HHOutShift)
		nh := make([]int16, H)
		if !lstm {
			pre := make([]int16, 2*H)
			for j := range pre {
				pre[j] = gsh(sat(int64(gx[j]) + int64(gh[j])))
			}
			rz := act(pre, p.GateIntWidth, Sigmoid)
			pn := make([]int16, H)
			for j := range pn {
				pn[j] = gsh(sat(int64(gx[2*H+j]) + int64(mul(rz[j], gh[2*H+j]))))
			}
			n := act(pn, p.GateIntWidth, Tanh)
			for j := range nh {
				z := rz[H+j]
				nh[j] = sat(int64(sat(int64(n[j])-int64(mul(z, n[j])))) + int64(mul(z, h[j])))
			}
		} else {
			pre := make([]int16, G)
			for j := range pre {
				pre[j] = gsh(sat(int64(gx[j]) + int64(gh[j])))
			}
			i := act(pre[:H], p.GateIntWidth, Sigmoid)
			f := act(pre[H:2*H], p.GateIntWidth, Sigmoid)
			g := act(pre[2*H:3*H], p.GateIntWidth, Tanh)
			o := act(pre[3*H:], p.GateIntWidth, Sigmoid)
			fc, ig := make([]int16, H), make([]int16, H)
			if err := NNMultQ15(Opts{Rounding: rd}, f, c, fc, 15); err != nil {
				t.Fatal(err)
			}
			if err := NNMultQ15(Opts{Rounding: rd}, i, g, ig, p.CellOutShift); err != nil {
				t.Fatal(err)
			}
			tc := make([]int16, H)
			for j := range c {
				c[j] = sat(int64(fc[j]) + int64(ig[j]))
				tc[j] = sat(int64(c[j]) << uint(p.CellShift))
			}
			tc = act(tc, p.CellIntWidth, Tanh)
			for j := range nh {
				nh[j] = mul(o[j], tc[j])
			}
		}
		h = nh
		if p.ReturnSequences {
			out = append(out, h...)
		}
	}
	if !p.ReturnSequences {
		out = append(out, h...)
	}
	if !v.Q15() {
		for j := range out {
			out[j] >>= 8
		}
	}
	return out
}

func TestRNNKernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range []Variant{VarNNQGRUQ7, VarNNQGRUQ15, VarNNQLSTMQ7, VarNNQLSTMQ15} {
		for it := 0; it < 30; it++ {
			p := RNNParams{Steps: 1 + r.IntN(6), DimIn: 1 + r.IntN(7), Hidden: 1 + r.IntN(9), ReturnSequences: r.IntN(2) == 0,
				IHBiasShift: r.IntN(8), IHOutShift: 8 + r.IntN(12), HHBiasShift: r.IntN(8), HHOutShift: 8 + r.IntN(12),
				GateShift: r.IntN(3) * r.IntN(4), GateIntWidth: r.IntN(4), CellOutShift: 15 + r.IntN(16), CellShift: r.IntN(5), CellIntWidth: r.IntN(4)}
			rd := Rounding(r.IntN(2))
			G := RNNGates(v) * p.Hidden
			wlo, whi := -128, 127
			if v.Q15() {
				wlo, whi = -32768, 32767
			}
			rnd := func(n, lo, hi int) []int16 {
				s := make([]int16, n)
				for i := range s {
					s[i] = int16(lo + r.IntN(hi-lo+1))
				}
				return s
			}
			in := rnd(p.Steps*p.DimIn, wlo, whi)
			wih, whh := rnd(G*p.DimIn, wlo, whi), rnd(G*p.Hidden, wlo, whi)
			bih, bhh := rnd(G, wlo, whi), rnd(G, wlo, whi)
			want := refRNN(t, v, rd, p, in, wih, bih, whh, bhh)
			got := make([]int16, len(want))
			scratch := make([]int16, RNNScratchQ15(v, p.DimIn, p.Hidden))
			var st Stats
			o := Opts{Rounding: rd, Stats: &st, Target: Target(r.IntN(2))}
			var err error
			if v.Q15() {
				f := NNQGRUQ15
				if RNNGates(v) == 4 {
					f = NNQLSTMQ15
				}
				err = f(o, p, in, wih, bih, whh, bhh, got, scratch)
			} else {
				f := NNQGRUQ7
				if RNNGates(v) == 4 {
					f = NNQLSTMQ7
				}
				g8 := make([]int8, len(want))
				err = f(o, p, narrow(in), narrow(wih), narrow(bih), narrow(whh), narrow(bhh), g8, scratch)
				for i, x := range g8 {
					got[i] = int16(x)
				}
			}
			if err != nil {
				t.Fatalf("%s %+v: %v", v, p, err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %+v rounding %v: output %d = %d, reference %d", v, p, rd, i, got[i], want[i])
				}
			}
			if st.Calls != 1 || st.Values != int64(len(want)) {
				t.Errorf("%s: stats %v, want one call and %d values", v, st, len(want))
			}
		}
	}
}

func narrow(v []int16) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = int8(x)
	}
	return out
}

func TestRNNKernelErrors(t *testing.T) {
	p := RNNParams{Steps: 2, DimIn: 3, Hidden: 4, IHOutShift: 10, HHOutShift: 10, GateIntWidth: 3, CellOutShift: 18}
	w := make([]int16, 64)
	s := make([]int16, RNNScratchQ15(VarNNQLSTMQ15, 3, 4))
	out := make([]int16, 4)
	if err := NNQLSTMQ15(Opts{}, p, w[:6], w, w, w, w, out, s); err != nil {
		t.Fatal(err)
	}
	if err := NNQLSTMQ15(Opts{}, p, w[:5], w, w, w, w, out, s); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short input: %v", err)
	}
	if err := NNQLSTMQ15(Opts{}, p, w[:6], w, w, w, w, out, s[:len(s)-1]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short scratch: %v", err)
	}
	bad := p
	bad.GateIntWidth = 4
	if err := NNQGRUQ15(Opts{}, bad, w, w, w, w, w, out, s); !errors.Is(err, ErrInvalid) {
		t.Errorf("int_width 4: %v", err)
	}
	bad = p
	bad.GateShift = -1
	if err := NNQGRUQ15(Opts{}, bad, w, w, w, w, w, out, s); !errors.Is(err, ErrInvalid) {
		t.Errorf("gate shift -1: %v", err)
	}
	bad = p
	bad.CellShift = 16
	if err := NNQLSTMQ15(Opts{}, bad, w, w, w, w, w, out, s); !errors.Is(err, ErrInvalid) {
		t.Errorf("cell shift 16: %v", err)
	}
	bad = p
	bad.Hidden = 20000 // 4·20000 gate rows > 65535
	if err := VarNNQLSTMQ15.Valid(bad.Geom(), CPath); !errors.Is(err, ErrInvalid) {
		t.Errorf("hidden 20000: %v", err)
	}
	if err := VarNNQGRUQ15.Valid(bad.Geom(), DSPPath); err != nil {
		t.Errorf("GRU hidden 20000 (60000 rows): %v", err)
	}
	// The legacy-FC kernels need the state only; nnq's FC kernels also the
	// vector (max(dim_in, hidden) rounded up to 8 q15 values) after it,
	// word-aligned.
	if got := VarNNQGRUCMSISQ7.ScratchBytes(RNNGeom(49, 10, 64, false)); got != 2*(6*64+64+10) {
		t.Errorf("GRU q7 scratch %d bytes", got)
	}
	if got := VarNNQLSTMCMSISQ15.ScratchBytes(RNNGeom(49, 10, 64, true)); got != 2*(8*64+2*64) {
		t.Errorf("LSTM q15 scratch %d bytes", got)
	}
	if got := VarNNQGRUQ7.ScratchBytes(RNNGeom(49, 10, 64, false)); got != 2*(6*64+64+10+64) {
		t.Errorf("nnq GRU q7 scratch %d bytes", got)
	}
	if got := VarNNQGRUQ7.ScratchBytes(RNNGeom(49, 8, 3, false)); got != 2*(6*3+3+8+1+8) {
		t.Errorf("nnq GRU q7 odd scratch %d bytes", got)
	}
}
