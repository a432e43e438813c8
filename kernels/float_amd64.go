package kernels

import "golang.org/x/sys/cpu"

// haveFloatSIMD says the packed float kernels (float_amd64.s) can run.
var haveFloatSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// convBlock2x16 adds to a[0:16] (pixel 0) and a[16:32] (pixel 1), for
// rows rows of n values each: a[f] += x[r*xrow+j]·w[r*wrow+j*ws+f] and
// a[16+f] += x[dx+r*xrow+j]·w[r*wrow+j*ws+f], in the order r, j. Strides
// count elements.
//
//go:noescape
func convBlock2x16(a *[2 * floatBlock]float64, x *float64, dx, xrow int, w *float64, ws, wrow, rows, n int)

// convBlock1x16 is convBlock2x16 for pixel 0 alone.
//
//go:noescape
func convBlock1x16(a *[2 * floatBlock]float64, x *float64, xrow int, w *float64, ws, wrow, rows, n int)

// depthwise16 adds to a[0:16], for rows x cols window positions in that
// order, a[c] += x[r*xrow+k*xcol+c]·w[r*wrow+k*wcol+c].
//
//go:noescape
func depthwise16(a *[floatBlock]float64, x *float64, xcol, xrow int, w *float64, wcol, wrow, rows, cols int)

// haveIntSIMD says dot4x2Q7 (float_amd64.s) can run.
var haveIntSIMD = cpu.X86.HasAVX2

// dot4x2Q7 sums, over the first 16·blocks taps, the products of two
// pixel columns x0 and x1 with four filter rows (w, w+k, w+2k, w+3k):
// s[f] = Σ x0[i]·w[f·k+i], s[4+f] = Σ x1[i]·w[f·k+i]. Each sum is exact
// while it stays within int32 (blocks·16·2^14 < 2^31).
//
//go:noescape
func dot4x2Q7(x0, x1, w *int8, k, blocks int, s *[8]int32)

// depthwiseQ7x16 adds to a[0:16], for rows x cols window taps in that
// order, a[c] += x[r*xrow+k*xcol+c]·w[r*wrow+k*wcol+c] (q7 values, int32
// sums: exact for fewer than 2^17 taps). Strides count elements.
//
//go:noescape
func depthwiseQ7x16(a *[16]int32, x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int)

// dot4x2Q7Requant is dot4x2Q7 over all k = 16·blocks taps followed by the
// uninstrumented q7 requantization of its eight sums: out = clamp((rq[f] +
// s) >> os, lo, hi) in int32 arithmetic (rq[f] = bias<<bs + rounding term,
// wrapped to int32 as the library's accumulator is), pixel 0's four
// outputs to oa, pixel 1's to ob.
//
//go:noescape
func dot4x2Q7Requant(x0, x1, w *int8, k, blocks int, rq *int32, os uint64, lo, hi int32, oa, ob *int8)

// depthwiseQ7x16Requant is depthwiseQ7x16 from zero sums followed by the
// uninstrumented q7 requantization of the sixteen channels: out[c] =
// clamp((rq[c] + a[c]) >> os, lo, hi) in int32 arithmetic (rq as in
// dot4x2Q7Requant).
//
//go:noescape
func depthwiseQ7x16Requant(x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int, rq *int32, os uint64, lo, hi int32, out *int8)

// dot4x2Q7RequantSat is dot4x2Q7Requant that also adds to sat[0] and
// sat[1] the number of its eight values above hi and below lo before
// clamping (the saturation counters of an instrumented run).
//
//go:noescape
func dot4x2Q7RequantSat(x0, x1, w *int8, k, blocks int, rq *int32, os uint64, lo, hi int32, oa, ob *int8, sat *[2]int64)

// depthwiseQ7x16RequantSat is depthwiseQ7x16Requant that also counts its
// values above hi and below lo before clamping into sat[0] and sat[1].
//
//go:noescape
func depthwiseQ7x16RequantSat(x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int, rq *int32, os uint64, lo, hi int32, out *int8, sat *[2]int64)
