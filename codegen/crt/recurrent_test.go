package crt

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/kernels"
)

// The CMSIS-DSP-style element-wise functions (nnq_dsp.c) and the recurrent
// kernels (nnq_recurrent.c) against their Go twins on random data: a
// generated C program holds the inputs, calls each function and prints
// the outputs, one case a line.

type rnnCCase struct {
	v                            kernels.Variant
	p                            kernels.RNNParams
	in, wih, bih, whh, bhh, want []int16
}

func cArray(typ, name string, v []int16) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(int(x))
	}
	if len(v) == 0 {
		parts = []string{"0"}
	}
	return fmt.Sprintf("static const %s %s[] = {%s};\n", typ, name, strings.Join(parts, ","))
}

// cArray32 is cArray for int32_t values.
func cArray32(name string, v []int32) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(int(x))
	}
	if len(v) == 0 {
		parts = []string{"0"}
	}
	return fmt.Sprintf("static const int32_t %s[] = {%s};\n", name, strings.Join(parts, ","))
}

func randQ(r *rand.Rand, n, bits int) []int16 {
	v := make([]int16, n)
	for i := range v {
		switch r.IntN(8) {
		case 0:
			v[i] = int16(-1 << (bits - 1))
		case 1:
			v[i] = int16(1<<(bits-1) - 1)
		default:
			v[i] = int16(r.IntN(1<<bits) - 1<<(bits-1))
		}
	}
	return v
}

func rnnCases(r *rand.Rand, rd kernels.Rounding) []rnnCCase {
	var cases []rnnCCase
	for _, v := range []kernels.Variant{kernels.VarNNQGRUQ7, kernels.VarNNQGRUQ15, kernels.VarNNQLSTMQ7, kernels.VarNNQLSTMQ15,
		kernels.VarNNQGRUCMSISQ7, kernels.VarNNQGRUCMSISQ15, kernels.VarNNQLSTMCMSISQ7, kernels.VarNNQLSTMCMSISQ15} {
		for it := 0; it < 8; it++ {
			p := kernels.RNNParams{Steps: 1 + r.IntN(6), DimIn: 1 + r.IntN(7), Hidden: 1 + r.IntN(9), ReturnSequences: r.IntN(2) == 0,
				IHBiasShift: r.IntN(10), IHOutShift: 6 + r.IntN(14), HHBiasShift: r.IntN(10), HHOutShift: 6 + r.IntN(14),
				GateShift: r.IntN(2) * r.IntN(5), GateIntWidth: r.IntN(4), CellOutShift: 15 + r.IntN(16), CellShift: r.IntN(2) * r.IntN(6), CellIntWidth: r.IntN(4)}
			bits := 8
			if v.Q15() {
				bits = 16
			}
			G := kernels.RNNGates(v) * p.Hidden
			c := rnnCCase{v: v, p: p, in: randQ(r, p.Steps*p.DimIn, bits), wih: randQ(r, G*p.DimIn, bits), bih: randQ(r, G, bits),
				whh: randQ(r, G*p.Hidden, bits), bhh: randQ(r, G, bits)}
			n := p.Hidden
			if p.ReturnSequences {
				n *= p.Steps
			}
			scratch := make([]int16, kernels.RNNScratchQ15(v, p.DimIn, p.Hidden))
			o := kernels.Opts{Rounding: rd}
			var err error
			if v.Q15() {
				c.want = make([]int16, n)
				f := kernels.NNQGRUQ15
				if kernels.RNNGates(v) == 4 {
					f = kernels.NNQLSTMQ15
				}
				err = f(o, p, c.in, c.wih, c.bih, c.whh, c.bhh, c.want, scratch)
			} else {
				n8 := func(s []int16) []int8 {
					out := make([]int8, len(s))
					for i, x := range s {
						out[i] = int8(x)
					}
					return out
				}
				got := make([]int8, n)
				f := kernels.NNQGRUQ7
				if kernels.RNNGates(v) == 4 {
					f = kernels.NNQLSTMQ7
				}
				err = f(o, p, n8(c.in), n8(c.wih), n8(c.bih), n8(c.whh), n8(c.bhh), got, scratch)
				for _, x := range got {
					c.want = append(c.want, int16(x))
				}
			}
			if err != nil {
				panic(fmt.Sprintf("%s %+v: %v", v, p, err))
			}
			cases = append(cases, c)
		}
	}
	return cases
}

// dspProgram writes the C source and returns it with the expected lines.
func dspProgram(r *rand.Rand, rd kernels.Rounding) (string, []string) {
	var src strings.Builder
	var want []string
	src.WriteString("#include <stdio.h>\n#include \"nnq_cmsis.h\"\n")
	line := func(v []int16) string {
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.Itoa(int(x))
		}
		return strings.Join(parts, " ")
	}
	const n = 512
	a, b := randQ(r, n, 16), randQ(r, n, 16)
	a8 := randQ(r, n, 8)
	src.WriteString(cArray("q15_t", "da", a) + cArray("q15_t", "db", b) + cArray("q7_t", "da8", a8))
	src.WriteString("static void pr(const q15_t *v, int n) { int i; for (i = 0; i < n; i++) printf(\"%s%d\", i ? \" \" : \"\", v[i]); printf(\"\\n\"); }\n")
	src.WriteString("static void pr7(const q7_t *v, int n) { int i; for (i = 0; i < n; i++) printf(\"%s%d\", i ? \" \" : \"\", v[i]); printf(\"\\n\"); }\n")
	var body strings.Builder
	body.WriteString("int main(void)\n{\n    static q15_t o[4096]; static q7_t o8[4096]; static q15_t s[4096]; arm_status st;\n")
	got := make([]int16, n)
	for _, f := range []struct {
		c string
		g func(kernels.Opts, []int16, []int16, []int16) error
	}{{"nnq_mult_q15_dsp", kernels.NNQMultQ15DSP}, {"nnq_add_q15_sat", kernels.NNQAddQ15Sat}, {"nnq_sub_q15_sat", kernels.NNQSubQ15Sat}} {
		fmt.Fprintf(&body, "    %s(da, db, o, %d); pr(o, %d);\n", f.c, n, n)
		if err := f.g(kernels.Opts{}, a, b, got); err != nil {
			panic(err)
		}
		want = append(want, line(got))
	}
	for _, off := range []int16{-32768, -1234, 0, 777, 32767} {
		fmt.Fprintf(&body, "    nnq_offset_q15_sat(da, (q15_t)%d, o, %d); pr(o, %d);\n", off, n, n)
		if err := kernels.NNQOffsetQ15Sat(kernels.Opts{}, a, off, got); err != nil {
			panic(err)
		}
		want = append(want, line(got))
	}
	for s := -15; s <= 15; s++ {
		fmt.Fprintf(&body, "    nnq_shift_q15(da, (int8_t)%d, o, %d); pr(o, %d);\n", s, n, n)
		if err := kernels.NNQShiftQ15(kernels.Opts{}, a, s, got); err != nil {
			panic(err)
		}
		want = append(want, line(got))
	}
	fmt.Fprintf(&body, "    nnq_q7_to_q15(da8, o, %d); pr(o, %d);\n", n, n)
	a8s := make([]int8, n)
	for i, x := range a8 {
		a8s[i] = int8(x)
	}
	_ = kernels.NNQQ7ToQ15(kernels.Opts{}, a8s, got)
	want = append(want, line(got))
	fmt.Fprintf(&body, "    nnq_q15_to_q7(da, o8, %d); pr7(o8, %d);\n", n, n)
	g8 := make([]int8, n)
	_ = kernels.NNQQ15ToQ7(kernels.Opts{}, a, g8)
	w8 := make([]int16, n)
	for i, x := range g8 {
		w8[i] = int16(x)
	}
	want = append(want, line(w8))
	// In place: dst aliases a.
	fmt.Fprintf(&body, "    { int i; for (i = 0; i < %d; i++) o[i] = da[i]; } nnq_mult_q15_dsp(o, db, o, %d); pr(o, %d);\n", n, n, n)
	_ = kernels.NNQMultQ15DSP(kernels.Opts{}, a, b, got)
	want = append(want, line(got))

	for k, c := range rnnCases(r, rd) {
		typ := "q7_t"
		if c.v.Q15() {
			typ = "q15_t"
		}
		cmsis := strings.Contains(c.v.String(), "_cmsis_")
		if cmsis {
			for _, arr := range []struct {
				name string
				v    []int16
			}{{"in", c.in}, {"wih", c.wih}, {"bih", c.bih}, {"whh", c.whh}, {"bhh", c.bhh}} {
				src.WriteString(cArray(typ, fmt.Sprintf("r%d_%s", k, arr.name), arr.v))
			}
		} else {
			// nnq's recurrent kernels: weights in nnq's FC order, int32
			// pre-shifted biases.
			fc := kernels.VarNNQFCQ7
			if c.v.Q15() {
				fc = kernels.VarNNQFCQ15
			}
			G := kernels.RNNGates(c.v) * c.p.Hidden
			wih, err := kernels.NNQFCWeights(fc, G, c.p.DimIn, c.wih)
			if err != nil {
				panic(err)
			}
			whh, err := kernels.NNQFCWeights(fc, G, c.p.Hidden, c.whh)
			if err != nil {
				panic(err)
			}
			src.WriteString(cArray(typ, fmt.Sprintf("r%d_in", k), c.in) + cArray(typ, fmt.Sprintf("r%d_wih", k), wih) +
				cArray(typ, fmt.Sprintf("r%d_whh", k), whh))
			src.WriteString(cArray32(fmt.Sprintf("r%d_bih", k), kernels.NNQBias32(c.bih, c.p.IHBiasShift, c.p.IHOutShift, rd)))
			src.WriteString(cArray32(fmt.Sprintf("r%d_bhh", k), kernels.NNQBias32(c.bhh, c.p.HHBiasShift, c.p.HHOutShift, rd)))
		}
		p := c.p
		rs := 0
		if p.ReturnSequences {
			rs = 1
		}
		out := "o8"
		printer := "pr7"
		if c.v.Q15() {
			out, printer = "o", "pr"
		}
		fmt.Fprintf(&body, "    { static const nnq_rnn_params p = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n", p.Steps, p.DimIn, p.Hidden, rs,
			p.IHBiasShift, p.IHOutShift, p.HHBiasShift, p.HHOutShift, p.GateShift, p.GateIntWidth, p.CellOutShift, p.CellShift, p.CellIntWidth)
		fmt.Fprintf(&body, "      st = %s(r%d_in, r%d_wih, r%d_bih, r%d_whh, r%d_bhh, &p, %s, s); if (st != ARM_MATH_SUCCESS) { printf(\"status %%d\\n\", (int)st); } else { %s(%s, %d); } }\n",
			c.v, k, k, k, k, k, out, printer, out, len(c.want))
		want = append(want, line(c.want))
	}
	body.WriteString("    return 0;\n}\n")
	src.WriteString(body.String())
	return src.String(), want
}

func TestDSPAndRecurrentCAgainstGo(t *testing.T) {
	cc := requireCC(t)
	rt := runtimeDir(t)
	builds := []struct {
		name string
		rd   kernels.Rounding
		defs []string
		san  bool
	}{
		{"c", kernels.RoundHalfUp, nil, false},
		{"dsp", kernels.RoundHalfUp, []string{"-DARM_MATH_DSP"}, false},
		{"truncate", kernels.Truncate, []string{"-DARM_NN_TRUNCATE"}, false},
		{"c-san", kernels.RoundHalfUp, nil, true},
	}
	for i, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			flags := strictFlags
			if b.san {
				if testing.Short() {
					t.Skip("short")
				}
				if reason := sanitizerUnavailable(cc); reason != "" {
					testenv.Missing(t, "%s", reason)
				}
				flags = sanFlags
			}
			r := rand.New(rand.NewPCG(uint64(11+i), 5))
			src, want := dspProgram(r, b.rd)
			dir := t.TempDir()
			main := filepath.Join(dir, "main.c")
			if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(dir, "prog")
			args := append(append(append([]string{}, flags...), b.defs...), "-Wno-overlength-strings", "-I", rt, "-o", exe, main)
			args = append(args, runtimeSources(rt)...)
			if msg, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, msg)
			}
			cmd := exec.Command(exe)
			if b.san {
				cmd.Env = sanEnv()
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(lines) != len(want) {
				t.Fatalf("%d output lines, want %d", len(lines), len(want))
			}
			for k := range want {
				if lines[k] != want[k] {
					t.Errorf("case %d: C and Go differ\nC:  %.300s\nGo: %.300s", k, lines[k], want[k])
				}
			}
		})
	}
}
