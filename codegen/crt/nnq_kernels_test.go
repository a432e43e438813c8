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

	"github.com/nnq-toolkit/nnq/kernels"
)

// Every nnq kernel against its Go twin (package kernels) on random shapes:
// odd channel counts, the leftovers of every blocking (channel blocks of
// 4/2/1, pixel pairs, tap groups of 8, word lanes), 1-channel inputs,
// non-square kernels, padding on every side (an output larger than the
// standard one pads bottom/right), strides 1 and 2, fused ReLU or not, and
// for the depthwise SIMD path random channels and rows per pass. The
// generated C program copies every array into an exactly sized heap block
// before the call, so the sanitizer builds catch reads and writes out of
// bounds. nnqKernelProgram is run on the host (plain C and the emulated
// SIMD paths, each with and without ASan/UBSan) and under QEMU (Cortex-M4:
// the real SIMD paths; Cortex-M3: plain C) in qemu_nnq_test.go.

type kCase struct {
	name string
	decl strings.Builder // file-scope arrays
	body strings.Builder // statements of the case's block in main
	want string          // the expected output line
}

func joinInts[T int8 | int16 | int32](v []T) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(int(x))
	}
	return strings.Join(parts, " ")
}

func cArr[T int8 | int16 | int32](typ, name string, v []T) string {
	if len(v) == 0 {
		return fmt.Sprintf("static const %s %s[1] = {0};\n", typ, name)
	}
	return fmt.Sprintf("static const %s %s[%d] = {%s};\n", typ, name, len(v), strings.ReplaceAll(joinInts(v), " ", ","))
}

func randVals[T int8 | int16](r *rand.Rand, n, lo, hi int) []T {
	v := make([]T, n)
	for i := range v {
		switch r.IntN(10) {
		case 0:
			v[i] = T(lo)
		case 1:
			v[i] = T(hi)
		default:
			v[i] = T(lo + r.IntN(hi-lo+1))
		}
	}
	return v
}

func widen16[T int8 | int16](v []T) []int16 {
	out := make([]int16, len(v))
	for i, x := range v {
		out[i] = int16(x)
	}
	return out
}

// randGeom draws a convolution or pooling geometry (InC == OutC for
// depthwise and pooling).
func randGeom(r *rand.Rand, sameC bool) kernels.ConvGeom {
	chans := []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17}
	for {
		g := kernels.ConvGeom{InX: 1 + r.IntN(9), InY: 1 + r.IntN(9), InC: chans[r.IntN(len(chans))], OutC: 1 + r.IntN(11),
			KX: 1 + r.IntN(4), KY: 1 + r.IntN(4), StrideX: 1 + r.IntN(2), StrideY: 1 + r.IntN(2)}
		g.PadX, g.PadY = r.IntN(g.KX), r.IntN(g.KY)
		g.OutX, g.OutY = g.StdOut()
		if g.OutX < 1 || g.OutY < 1 {
			continue
		}
		g.OutX += r.IntN(2) * r.IntN(2)
		g.OutY += r.IntN(2) * r.IntN(2)
		if sameC {
			g.OutC = g.InC
		}
		return g
	}
}

// special geometries: the kernels' fast paths and the bundled networks'
// shapes, scaled down.
func specialGeoms() []kernels.ConvGeom {
	return []kernels.ConvGeom{
		{InX: 5, InY: 7, InC: 16, OutC: 12, KX: 1, KY: 1, StrideX: 1, StrideY: 1, OutX: 5, OutY: 7},  // 1x1, taps read in place
		{InX: 10, InY: 13, InC: 1, OutC: 9, KX: 4, KY: 10, PadX: 1, PadY: 4, StrideX: 2, StrideY: 2}, // kws conv1 style
		{InX: 9, InY: 4, InC: 8, OutC: 6, KX: 3, KY: 1, PadX: 1, StrideX: 1, StrideY: 1},             // one-row window
		{InX: 5, InY: 9, InC: 8, OutC: 8, KX: 3, KY: 3, PadX: 1, PadY: 1, StrideX: 1, StrideY: 1},    // dw 3x3 s1
		{InX: 6, InY: 5, InC: 7, OutC: 7, KX: 3, KY: 3, PadX: 1, PadY: 1, StrideX: 1, StrideY: 2},    // dw 3x3 stride y 2
	}
}

func fixStd(g kernels.ConvGeom) kernels.ConvGeom {
	if g.OutX == 0 {
		g.OutX, g.OutY = g.StdOut()
	}
	return g
}

// convCase builds a case of nnq_conv_q7 / nnq_conv_q7_wide / nnq_conv_q15.
func convCase(r *rand.Rand, id int, v kernels.Variant, g kernels.ConvGeom) *kCase {
	q15 := v == kernels.VarNNQConvQ15
	c := &kCase{name: fmt.Sprintf("%s %+v", v, g)}
	relu := r.IntN(2) == 0
	bs := r.IntN(8)
	k := g.KX * g.KY * g.InC
	var in, wt, bias []int16
	var os int
	if q15 {
		in, wt, bias = widen16(randVals[int16](r, g.InSize(), -32768, 32767)), widen16(randVals[int16](r, g.OutC*k, -3000, 3000)), widen16(randVals[int16](r, g.OutC, -32768, 32767))
		os = 12 + r.IntN(10)
	} else {
		in, wt, bias = widen16(randVals[int8](r, g.InSize(), -128, 127)), widen16(randVals[int8](r, g.OutC*k, -128, 127)), widen16(randVals[int8](r, g.OutC, -128, 127))
		os = 4 + r.IntN(10)
	}
	// Both weight layouts of q15: rows (nb 0) and channel pairs (nb 2).
	pairs := v == kernels.VarNNQConvQ7Wide || (q15 && r.IntN(2) == 0)
	nb := 0
	if pairs {
		nb = 2
	}
	lw, err := kernels.NNQConvWeights(v, g.OutC, k, wt, pairs)
	if err != nil {
		panic(err)
	}
	out := make([]int16, g.OutSize())
	if q15 {
		err = kernels.NNQConv(kernels.Opts{}, g, in, wt, bias, bs, os, relu, out)
	} else {
		o8 := make([]int8, len(out))
		err = kernels.NNQConv(kernels.Opts{}, g, narrowTo8(in), narrowTo8(wt), narrowTo8(bias), bs, os, relu, o8)
		out = widen16(o8)
	}
	if err != nil {
		panic(fmt.Sprintf("%s: %v", c.name, err))
	}
	t, wtyp := elemTypes(q15, v == kernels.VarNNQConvQ7Wide)
	fmt.Fprintf(&c.decl, "%s%s%s", cArr(t, fmt.Sprintf("c%d_in", id), in), cArr(wtyp, fmt.Sprintf("c%d_w", id), lw),
		cArr("int32_t", fmt.Sprintf("c%d_b", id), kernels.NNQBias32(bias, bs, os, kernels.RoundHalfUp)))
	fmt.Fprintf(&c.body, "nnq_conv_params p = %s;\n", paramsC(g, os, relu, nb, 0))
	callC(&c.body, t, id, v.String(), "&p, W, B", len(in), len(lw), wtyp, g.OutC, len(out), kernels.NNQScratchBytes(v, g))
	c.want = joinInts(out)
	return c
}

// dwCase builds a case of nnq_dwconv_q7 / nnq_dwconv_q15 with nb channels
// and band output rows per SIMD pass.
func dwCase(r *rand.Rand, id int, q15 bool, g kernels.ConvGeom) *kCase {
	v := kernels.VarNNQDWConvQ7
	if q15 {
		v = kernels.VarNNQDWConvQ15
	}
	c := &kCase{name: fmt.Sprintf("%s %+v", v, g)}
	relu := r.IntN(2) == 0
	bs := r.IntN(8)
	nw := g.DepthwiseWeightSize()
	var in, wt, bias []int16
	var os int
	if q15 {
		in, wt, bias = widen16(randVals[int16](r, g.InSize(), -32768, 32767)), widen16(randVals[int16](r, nw, -30000, 30000)), widen16(randVals[int16](r, g.OutC, -32768, 32767))
		os = 14 + r.IntN(6)
	} else {
		in, wt, bias = widen16(randVals[int8](r, g.InSize(), -128, 127)), widen16(randVals[int8](r, nw, -128, 127)), widen16(randVals[int8](r, g.OutC, -128, 127))
		os = 3 + r.IntN(9)
	}
	out := make([]int16, g.OutSize())
	var err error
	if q15 {
		err = kernels.NNQDWConv(kernels.Opts{}, g, in, wt, bias, bs, os, relu, out)
	} else {
		o8 := make([]int8, len(out))
		err = kernels.NNQDWConv(kernels.Opts{}, g, narrowTo8(in), narrowTo8(wt), narrowTo8(bias), bs, os, relu, o8)
		out = widen16(o8)
	}
	if err != nil {
		panic(fmt.Sprintf("%s: %v", c.name, err))
	}
	nb, band := 1+r.IntN(min(4, g.InC)), 1+r.IntN(g.OutY)
	if r.IntN(3) == 0 {
		nb, band, _ = kernels.NNQDWPlan(g)
	}
	t, _ := elemTypes(q15, false)
	fmt.Fprintf(&c.decl, "%s%s%s", cArr(t, fmt.Sprintf("c%d_in", id), in), cArr(t, fmt.Sprintf("c%d_w", id), wt),
		cArr("int32_t", fmt.Sprintf("c%d_b", id), kernels.NNQBias32(bias, bs, os, kernels.RoundHalfUp)))
	fmt.Fprintf(&c.body, "nnq_conv_params p = %s;\n", paramsC(g, os, relu, nb, band))
	callC(&c.body, t, id, v.String(), "&p, W, B", len(in), len(wt), t, g.OutC, len(out), kernels.NNQDWScratch(g, nb, band))
	c.want = joinInts(out)
	return c
}

// fcCase builds a case of nnq_fc_q7 / nnq_fc_q15 / nnq_fc_q7_q15.
func fcCase(r *rand.Rand, id int, fn string) *kCase {
	dim, rows := 1+r.IntN(40), 1+r.IntN(11)
	c := &kCase{name: fmt.Sprintf("%s %dx%d", fn, rows, dim)}
	relu := fn != "nnq_fc_q7_q15" && r.IntN(2) == 0
	bs := r.IntN(8)
	vecQ15, wQ15 := fn != "nnq_fc_q7", fn == "nnq_fc_q15"
	var in, wt, bias []int16
	if vecQ15 {
		in = widen16(randVals[int16](r, dim, -32768, 32767))
	} else {
		in = widen16(randVals[int8](r, dim, -128, 127))
	}
	if wQ15 {
		wt, bias = widen16(randVals[int16](r, dim*rows, -30000, 30000)), widen16(randVals[int16](r, rows, -32768, 32767))
	} else {
		wt, bias = widen16(randVals[int8](r, dim*rows, -128, 127)), widen16(randVals[int8](r, rows, -128, 127))
	}
	os := 6 + r.IntN(8)
	if wQ15 {
		os += 10
	}
	lv := kernels.VarNNQFCQ7
	if wQ15 {
		lv = kernels.VarNNQFCQ15
	}
	lw, err := kernels.NNQFCWeights(lv, rows, dim, wt)
	if err != nil {
		panic(err)
	}
	out := make([]int16, rows)
	switch fn {
	case "nnq_fc_q15":
		err = kernels.NNQFC(kernels.Opts{}, in, wt, dim, rows, bs, os, bias, relu, out)
	case "nnq_fc_q7_q15":
		err = kernels.FullyConnectedMatQ7VecQ15(kernels.Opts{}, in, narrowTo8(wt), dim, rows, bs, os, narrowTo8(bias), out)
	default:
		o8 := make([]int8, rows)
		err = kernels.NNQFC(kernels.Opts{}, narrowTo8(in), narrowTo8(wt), dim, rows, bs, os, narrowTo8(bias), relu, o8)
		out = widen16(o8)
	}
	if err != nil {
		panic(fmt.Sprintf("%s: %v", c.name, err))
	}
	vt, _ := elemTypes(vecQ15, false)
	wt2, _ := elemTypes(wQ15, false)
	fmt.Fprintf(&c.decl, "%s%s%s", cArr(vt, fmt.Sprintf("c%d_in", id), in), cArr(wt2, fmt.Sprintf("c%d_w", id), lw),
		cArr("int32_t", fmt.Sprintf("c%d_b", id), kernels.NNQBias32(bias, bs, os, kernels.RoundHalfUp)))
	r0 := 0
	if relu {
		r0 = 1
	}
	fmt.Fprintf(&c.body, "nnq_fc_params p = {%d, %d, %d, %d};\n", dim, rows, os, r0)
	callC(&c.body, vt, id, fn, "&p, W, B", len(in), len(lw), wt2, rows, len(out), 2*kernels.NNQKP(dim))
	c.want = joinInts(out)
	return c
}

// poolCase builds a case of nnq_maxpool_* / nnq_avgpool_* (with a shift).
func poolCase(r *rand.Rand, id int, q15, avg bool, g kernels.ConvGeom) *kCase {
	shift := 0
	fn := "nnq_maxpool_q7"
	if avg {
		fn, shift = "nnq_avgpool_q7", r.IntN(4)
		if r.IntN(2) == 0 {
			// Large shifts: sums whose shifted value leaves int32 (the
			// kernel's 64-bit division) and saturation.
			shift = r.IntN(kernels.MaxPoolShift + 1)
		}
	}
	if q15 {
		fn = strings.Replace(fn, "q7", "q15", 1)
	}
	c := &kCase{name: fmt.Sprintf("%s shift %d %+v", fn, shift, g)}
	var in, out []int16
	var err error
	if q15 {
		in = widen16(randVals[int16](r, g.InSize(), -32768, 32767))
		out = make([]int16, g.OutX*g.OutY*g.InC)
		if avg {
			err = kernels.NNQAvgpool(kernels.Opts{}, g, in, out, shift)
		} else {
			err = kernels.NNQMaxpool(kernels.Opts{}, g, in, out)
		}
	} else {
		in8 := randVals[int8](r, g.InSize(), -128, 127)
		in = widen16(in8)
		o8 := make([]int8, g.OutX*g.OutY*g.InC)
		if avg {
			err = kernels.NNQAvgpool(kernels.Opts{}, g, in8, o8, shift)
		} else {
			err = kernels.NNQMaxpool(kernels.Opts{}, g, in8, o8)
		}
		out = widen16(o8)
	}
	if err != nil {
		panic(fmt.Sprintf("%s: %v", c.name, err))
	}
	t, _ := elemTypes(q15, false)
	fmt.Fprintf(&c.decl, "%s", cArr(t, fmt.Sprintf("c%d_in", id), in))
	fmt.Fprintf(&c.body, "nnq_conv_params p = %s;\n", paramsC(g, shift, false, 0, 0))
	fmt.Fprintf(&c.body, "%s *I = dup(c%d_in, %d); %s *O = dup(NULL, %d);\n", t, id, len(in)*elemSize(t), t, len(out)*elemSize(t))
	fmt.Fprintf(&c.body, "%s(I, &p, O);\n", fn)
	fmt.Fprintf(&c.body, "pr_%s(O, %d); free(I); free(O);\n", t, len(out))
	c.want = joinInts(out)
	return c
}

// reluCase builds a case of nnq_relu_q7 / nnq_relu_q15.
func reluCase(r *rand.Rand, id int, q15 bool) *kCase {
	n := 1 + r.IntN(37)
	t, _ := elemTypes(q15, false)
	c := &kCase{name: fmt.Sprintf("nnq_relu %s n %d", t, n)}
	var in, want []int16
	if q15 {
		in = widen16(randVals[int16](r, n, -32768, 32767))
		want = append([]int16(nil), in...)
		kernels.NNQRelu(kernels.Opts{}, want)
	} else {
		in8 := randVals[int8](r, n, -128, 127)
		in = widen16(in8)
		kernels.NNQRelu(kernels.Opts{}, in8)
		want = widen16(in8)
	}
	fn := "nnq_relu_q7"
	if q15 {
		fn = "nnq_relu_q15"
	}
	fmt.Fprintf(&c.decl, "%s", cArr(t, fmt.Sprintf("c%d_in", id), in))
	fmt.Fprintf(&c.body, "%s *I = dup(c%d_in, %d);\n%s(I, %du);\npr_%s(I, %d); free(I);\n", t, id, n*elemSize(t), fn, n, t, n)
	c.want = joinInts(want)
	return c
}

func narrowTo8(v []int16) []int8 {
	out := make([]int8, len(v))
	for i, x := range v {
		out[i] = int8(x)
	}
	return out
}

func elemTypes(q15, wide bool) (string, string) {
	if q15 {
		return "q15_t", "q15_t"
	}
	if wide {
		return "q7_t", "q15_t"
	}
	return "q7_t", "q7_t"
}

func elemSize(t string) int {
	if t == "q15_t" {
		return 2
	}
	return 1
}

func paramsC(g kernels.ConvGeom, shift int, relu bool, nb, band int) string {
	r := 0
	if relu {
		r = 1
	}
	return fmt.Sprintf("{%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d}",
		g.InX, g.InY, g.InC, g.OutC, g.KX, g.KY, g.PadX, g.PadY, g.StrideX, g.StrideY, g.OutX, g.OutY, shift, r, nb, band)
}

// callC emits the exact-size copies, the call fn(I, args with W and B, O,
// S) and the print.
func callC(b *strings.Builder, t string, id int, fn, args string, nIn, nW int, wt string, nB, nOut, scratch int) {
	fmt.Fprintf(b, "%s *I = dup(c%d_in, %d); %s *W = dup(c%d_w, %d); int32_t *B = dup(c%d_b, %d);\n",
		t, id, nIn*elemSize(t), wt, id, nW*elemSize(wt), id, 4*nB)
	fmt.Fprintf(b, "%s *O = dup(NULL, %d); void *S = dup(NULL, %d);\n", outType(fn, t), nOut*elemSize(outType(fn, t)), scratch)
	fmt.Fprintf(b, "%s(I, %s, O, S);\n", fn, args)
	fmt.Fprintf(b, "pr_%s(O, %d); free(I); free(W); free(B); free(O); free(S);\n", outType(fn, t), nOut)
}

func outType(fn, t string) string {
	if fn == "nnq_fc_q7_q15" {
		return "q15_t"
	}
	return t
}

// randomKernelCases draws the cases; scale 1 is the host set, smaller scales
// sample it for the emulated cores (QEMU runs are slower by two orders).
func randomKernelCases(seed uint64, scale float64) []*kCase {
	r := rand.New(rand.NewPCG(seed, 7))
	n := func(base int) int { return max(1, int(float64(base)*scale)) }
	var cs []*kCase
	add := func(c *kCase) { cs = append(cs, c) }
	for _, v := range []kernels.Variant{kernels.VarNNQConvQ7, kernels.VarNNQConvQ7Wide, kernels.VarNNQConvQ15} {
		for _, g := range specialGeoms() {
			add(convCase(r, len(cs), v, fixStd(g)))
		}
		for i := 0; i < n(40); i++ {
			add(convCase(r, len(cs), v, randGeom(r, false)))
		}
	}
	for _, q15 := range []bool{false, true} {
		for _, g := range specialGeoms() {
			g = fixStd(g)
			g.OutC = g.InC
			add(dwCase(r, len(cs), q15, g))
		}
		for i := 0; i < n(40); i++ {
			add(dwCase(r, len(cs), q15, randGeom(r, true)))
		}
		for _, avg := range []bool{false, true} {
			for i := 0; i < n(20); i++ {
				add(poolCase(r, len(cs), q15, avg, randGeom(r, true)))
			}
		}
		// A q7 average over more than 256 positions takes the 32-bit path.
		big := kernels.PoolGeom(17, 17, 5, 17, 17, 0, 0, 1, 1, 1, 1)
		add(poolCase(r, len(cs), q15, true, big))
		for i := 0; i < n(6); i++ {
			add(reluCase(r, len(cs), q15))
		}
	}
	for _, fn := range []string{"nnq_fc_q7", "nnq_fc_q15", "nnq_fc_q7_q15"} {
		for i := 0; i < n(20); i++ {
			add(fcCase(r, len(cs), fn))
		}
	}
	return cs
}

// nnqKernelProgram writes the C program and the expected output lines.
func nnqKernelProgram(cases []*kCase) (string, []string) {
	var src strings.Builder
	src.WriteString(`#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nnq_kernels.h"

/* An exactly sized heap copy (p == NULL: filled with 0x55). */
static void *dup(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q == NULL)
    {
        printf("out of memory\n");
        exit(2);
    }
    if (p != NULL)
        memcpy(q, p, n);
    else
        memset(q, 0x55, n);
    return q;
}
static void pr_q7_t(const q7_t *v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", v[i]);
    printf("\n");
}
static void pr_q15_t(const q15_t *v, int n)
{
    int i;
    for (i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", v[i]);
    printf("\n");
}
`)
	var want []string
	for _, c := range cases {
		src.WriteString(c.decl.String())
	}
	for i, c := range cases {
		fmt.Fprintf(&src, "static void case%d(void)\n{\n%s}\n", i, indent(c.body.String()))
		want = append(want, c.want)
	}
	src.WriteString("int main(void)\n{\n")
	for i := range cases {
		fmt.Fprintf(&src, "    case%d();\n", i)
	}
	src.WriteString("    return 0;\n}\n")
	return src.String(), want
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// checkLines compares the program's output with the Go twins'.
func checkLines(t *testing.T, what string, out string, cases []*kCase, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%s: %d output lines, want %d:\n%s", what, len(lines), len(want), tail(out, 2000))
	}
	bad := 0
	for i := range want {
		if lines[i] != want[i] {
			if bad++; bad <= 10 {
				t.Errorf("%s: case %d %s:\nC:  %.400s\nGo: %.400s", what, i, cases[i].name, lines[i], want[i])
			}
		}
	}
	t.Logf("%s: %d cases, %d differ", what, len(want), bad)
}

func TestNNQKernelsAgainstGo(t *testing.T) {
	cc := requireCC(t)
	rt := runtimeDir(t)
	cases := randomKernelCases(1, 1)
	src, want := nnqKernelProgram(cases)
	for _, b := range []struct {
		name  string
		flags []string
		san   bool
	}{
		{"plain", strictFlags, false},
		{"simd-emulated", append(append([]string{}, strictFlags...), "-DNNQ_SIMD_EMULATE"), false},
		{"plain-san", sanFlags, true},
		{"simd-emulated-san", append(append([]string{}, sanFlags...), "-DNNQ_SIMD_EMULATE"), true},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			if b.san {
				if testing.Short() {
					t.Skip("sanitizer builds skipped in -short mode")
				}
				if reason := sanitizerUnavailable(cc); reason != "" {
					t.Skip(reason)
				}
			}
			out := runHostProgram(t, cc, rt, src, b.flags, b.san)
			checkLines(t, b.name, out, cases, want)
		})
	}
}

// runHostProgram builds src with the runtime and returns what it prints.
func runHostProgram(t *testing.T, cc, rt, src string, flags []string, san bool) string {
	t.Helper()
	dir := t.TempDir()
	main := filepath.Join(dir, "main.c")
	if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "prog")
	args := append(append(append([]string{}, flags...), "-Wno-overlength-strings", "-I", rt, "-o", exe, main), runtimeSources(rt)...)
	if msg, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, tail(string(msg), 3000))
	}
	cmd := exec.Command(exe)
	if san {
		cmd.Env = sanEnv()
	}
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("run: %v\n%s", err, tail(msg, 3000))
	}
	return string(out)
}
