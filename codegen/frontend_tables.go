package codegen

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// feTable is one constant array of frontend_tables.h.
type feTable struct {
	ident, ctype, comment string
	values                []float64 // written as C literals of ctype
	elemBytes             int
	// fft marks the tables of nnq's own FFT: not compiled when the float
	// path uses CMSIS-DSP's (FE_USE_CMSIS_DSP).
	fft bool
}

func (t feTable) bytes() int { return len(t.values) * t.elemBytes }

// feTables holds the tables of both implementations and their sizes.
type feTables struct {
	shared, float, fixed []feTable
}

func sumBytes(ts []feTable) int {
	n := 0
	for _, t := range ts {
		n += t.bytes()
	}
	return n
}

// bitReverse reverses the low n bits of x.
func bitReverse(x uint32, n int) uint32 {
	return bits.Reverse32(x) >> (32 - n)
}

// makeFETables computes the window, bit-reversal, twiddle, split, mel, DCT,
// magnitude and log tables of the C front end from nnq/audio's tables.
func makeFETables(m *audio.MFCC, g feGeometry) feTables {
	cfg := m.Config()
	tb := m.Tables()
	half := cfg.FFTSize / 2
	var t feTables

	rev := make([]float64, half/2)
	for n := range rev {
		rev[n] = float64(bitReverse(uint32(n), g.log2Half))
	}
	t.shared = append(t.shared, feTable{ident: "fe_bitrev", ctype: "uint16_t", elemBytes: 2, values: rev, fft: true,
		comment: fmt.Sprintf("bit reversal of the first %d of %d complex points (where the loader writes pair n)", half/2, half)})
	nb := g.binEnd - g.binStart + 1
	count := make([]float64, cfg.NumMel+1)
	w0, w1 := make([]float64, nb), make([]float64, nb)
	for i := range nb {
		k := g.binStart + i
		count[tb.Band[k]+1]++
		w0[i], w1[i] = tb.Weight[k], math.Round(tb.Weight[k]*(1<<24))
	}
	t.shared = append(t.shared, feTable{ident: "fe_mel_count", ctype: "uint16_t", elemBytes: 2, values: count,
		comment: fmt.Sprintf("bins %d..%d in order: how many rise in band r-1 and fall in band r, r = 0..%d", g.binStart, g.binEnd, cfg.NumMel)})
	win := make([]float64, g.windowPad)
	winQ := make([]float64, g.windowPad)
	winC := make([]float64, g.windowPad)
	for i, w := range tb.Window {
		win[i] = w / 32768
		winQ[i] = math.Round(w * (1 << 30))
		winC[i] = math.Ceil(winQ[i] / (1 << 15))
	}
	tw, twQ := twiddles(half, g.twiddles)
	split := make([]float64, 2*nb)
	for i := range nb {
		a := 2 * math.Pi * float64(g.binStart+i) / float64(cfg.FFTSize)
		split[2*i], split[2*i+1] = math.Cos(a), -math.Sin(a)
	}
	splitQ := make([]float64, len(split))
	for i, v := range split {
		splitQ[i] = q31(v)
	}
	var dct, dctQ []float64
	for j := range cfg.NumMel {
		for i := range cfg.NumCoeffs {
			dct = append(dct, tb.DCT[i][j])
		}
	}
	for _, row := range tb.DCT {
		for _, v := range row {
			dctQ = append(dctQ, math.Round(v*(1<<29)))
		}
	}
	t.float = []feTable{
		{ident: "fe_window_f32", ctype: "float", elemBytes: 4, values: win, comment: "periodic Hann window / 32768 (16-bit PCM to [-1, 1))"},
		{ident: "fe_twiddle_f32", ctype: "float", elemBytes: 4, values: tw, fft: true, comment: fmt.Sprintf("W = exp(-2 pi i j / %d), j < %d: (re, im) pairs", half, g.twiddles)},
		{ident: "fe_split_f32", ctype: "float", elemBytes: 4, values: split, fft: true, comment: fmt.Sprintf("exp(-2 pi i k / %d) for the bins k = %d..%d", cfg.FFTSize, g.binStart, g.binEnd)},
		{ident: "fe_mel_w_f32", ctype: "float", elemBytes: 4, values: w0, comment: "per bin: the weight in the band it rises in (1 - weight in the next)"},
		{ident: "fe_dct_f32", ctype: "float", elemBytes: 4, values: dct, comment: fmt.Sprintf("DCT-II, transposed: [band %d][coefficient %d], sqrt(2/%d) scale", cfg.NumMel, cfg.NumCoeffs, cfg.NumMel)},
	}
	hyp := make([]float64, 258) // [257] repeats [256]: t = 1.0 reads it with weight 0
	lg := make([]float64, 257)
	for i := range hyp {
		x := float64(min(i, 256)) / 256
		hyp[i] = math.Round(math.Sqrt(1+x*x) * 32768)
	}
	for i := range lg {
		lg[i] = math.Round(math.Log2(1+float64(i)/256) * (1 << 30))
	}
	t.fixed = []feTable{
		{ident: "fe_window_q30", ctype: "int32_t", elemBytes: 4, values: winQ, comment: "periodic Hann window, Q30"},
		{ident: "fe_window_ceil", ctype: "uint16_t", elemBytes: 2, values: winC, comment: "ceil(window Q30 / 2^15): bounds the windowed peak"},
		{ident: "fe_twiddle_q31", ctype: "int32_t", elemBytes: 4, values: twQ, comment: fmt.Sprintf("W = exp(-2 pi i j / %d), j < %d: Q31 (re, im) pairs", half, g.twiddles)},
		{ident: "fe_split_q31", ctype: "int32_t", elemBytes: 4, values: splitQ, comment: fmt.Sprintf("exp(-2 pi i k / %d) for the bins k = %d..%d, Q31", cfg.FFTSize, g.binStart, g.binEnd)},
		{ident: "fe_mel_w_q24", ctype: "uint32_t", elemBytes: 4, values: w1, comment: "per bin: the weight in the band it rises in, Q24"},
		{ident: "fe_hypot_q15", ctype: "uint16_t", elemBytes: 2, values: hyp, comment: "sqrt(1 + (i/256)^2), Q15, i <= 256 (and a copy of the last)"},
		{ident: "fe_log2_q30", ctype: "int32_t", elemBytes: 4, values: lg, comment: "log2(1 + i/256), Q30"},
		{ident: "fe_dct_q29", ctype: "int32_t", elemBytes: 4, values: dctQ, comment: fmt.Sprintf("DCT-II [coefficient %d][band %d], Q29", cfg.NumCoeffs, cfg.NumMel)},
	}
	return t
}

// twiddles returns exp(-2 pi i j / n) for j < count as float and Q31
// (re, im) pairs.
func twiddles(n, count int) (f, q []float64) {
	for j := range count {
		a := 2 * math.Pi * float64(j) / float64(n)
		re, im := math.Cos(a), -math.Sin(a)
		f = append(f, re, im)
		q = append(q, q31(re), q31(im))
	}
	return f, q
}

// q31 rounds v in [-1, 1] to Q31, saturating 1.0 to 0x7fffffff.
func q31(v float64) float64 {
	return math.Max(math.Min(math.Round(v*(1<<31)), math.MaxInt32), math.MinInt32)
}

// writeFETable renders one table as a C array definition.
func writeFETable(b *strings.Builder, t feTable) {
	if t.fft {
		b.WriteString("#if FE_FIXED_POINT || !defined(FE_USE_CMSIS_DSP)\n")
		defer b.WriteString("#endif\n\n")
	}
	fmt.Fprintf(b, "/* %s (%d bytes) */\n", t.comment, t.bytes())
	fmt.Fprintf(b, "static const %s %s[%d] = {\n", t.ctype, t.ident, len(t.values))
	per := 12
	if t.ctype == "float" {
		per = 6
	}
	for i := 0; i < len(t.values); i += per {
		parts := make([]string, 0, per)
		for _, v := range t.values[i:min(i+per, len(t.values))] {
			parts = append(parts, cLiteral(t.ctype, v))
		}
		b.WriteString("    " + strings.Join(parts, ", ") + ",\n")
	}
	b.WriteString("};\n\n")
}

// cLiteral formats v as a C constant of type ctype.
func cLiteral(ctype string, v float64) string {
	switch ctype {
	case "float":
		s := strconv.FormatFloat(float64(float32(v)), 'g', -1, 32)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s + "f"
	case "int32_t":
		if v == math.MinInt32 {
			return "(-2147483647 - 1)"
		}
	}
	return strconv.FormatInt(int64(v), 10)
}
