package kernels

import "fmt"

// The Go twins of nnq's own C kernels (codegen/crt: nnq_conv.c,
// nnq_dwconv.c, nnq_fc.c, nnq_pool.c, nnq_act.c). They define what the C
// kernels compute, the same on every target (SIMD or not): the legacy
// CMSIS-NN requantisation
//
//	out = SAT((int32(bias << biasShift) + R + sum in*w) >> outShift)
//
// with the sum wrapping in int32 (so in any order), R = NN_ROUND(outShift)
// (0 with Truncate), SAT the saturation to q7/q15, and with relu the output
// also clamped at 0 (a ReLU fused into the layer). The C kernels take the
// bias pre-shifted (NNQBias32) and the weights in the order they read them
// (NNQConvWeights, NNQFCWeights); the twins take plain CMSIS-order weights.

// NNQConv is the twin of nnq_conv_q7 / nnq_conv_q7_wide / nnq_conv_q15: a
// convolution of any geometry, HWC input, OHWI weights, out-of-range window
// positions counting as zero. T is int8 (q7) or int16 (q15).
func NNQConv[T qint](o Opts, g ConvGeom, in, wt, bias []T, biasShift, outShift int, relu bool, out []T) error {
	v := VarNNQConvQ7
	lo, hi := int32(q7Min), int32(q7Max)
	if isQ15[T]() {
		v, lo, hi = VarNNQConvQ15, q15Min, q15Max
	}
	if err := checkConv(v, &o, g, len(in), len(wt), len(bias), len(out), biasShift, outShift); err != nil {
		return err
	}
	lo, fused := reluFused(&o, relu, lo)
	convCore(&o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
	reluAfter(relu && !fused, out[:g.OutSize()])
	return nil
}

// NNQDWConv is the twin of nnq_dwconv_q7 / nnq_dwconv_q15: a depthwise
// convolution (multiplier 1, InC == OutC), weights [ky][kx][c].
func NNQDWConv[T qint](o Opts, g ConvGeom, in, wt, bias []T, biasShift, outShift int, relu bool, out []T) error {
	v := VarNNQDWConvQ7
	lo, hi := int32(q7Min), int32(q7Max)
	if isQ15[T]() {
		v, lo, hi = VarNNQDWConvQ15, q15Min, q15Max
	}
	if err := checkConv(v, &o, g, len(in), len(wt), len(bias), len(out), biasShift, outShift); err != nil {
		return err
	}
	lo, fused := reluFused(&o, relu, lo)
	depthwiseCore(&o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
	reluAfter(relu && !fused, out[:g.OutSize()])
	return nil
}

// NNQFC is the twin of nnq_fc_q7 / nnq_fc_q15: out[r] over the plain
// row-major weights [rows][dimVec].
func NNQFC[T qint](o Opts, in, wt []T, dimVec, rows, biasShift, outShift int, bias []T, relu bool, out []T) error {
	v := VarNNQFCQ7
	lo, hi := int32(q7Min), int32(q7Max)
	if isQ15[T]() {
		v, lo, hi = VarNNQFCQ15, q15Min, q15Max
	}
	if err := v.Valid(FCGeom(dimVec, rows), o.Target); err != nil {
		return err
	}
	if err := ValidShifts(biasShift, outShift); err != nil {
		return err
	}
	if len(in) < dimVec || len(wt) < dimVec*rows || len(bias) < rows || len(out) < rows {
		return ErrShortBuffer
	}
	fcCore(&o, in[:dimVec], wt, dimVec, rows, biasShift, outShift, bias, out, lo, hi)
	reluAfter(relu, out[:rows])
	return nil
}

// NNQMaxpool is the twin of nnq_maxpool_q7 / nnq_maxpool_q15: the maximum
// over the in-range window positions; a window without any gives 0. The
// input is not modified.
func NNQMaxpool[T qint](o Opts, g ConvGeom, in, out []T) error {
	v, start := VarNNQMaxpoolQ7, int32(q7Min)
	if isQ15[T]() {
		v, start = VarNNQMaxpoolQ15, q15Min
	}
	if err := checkPool(v, &o, g, len(in), len(out)); err != nil {
		return err
	}
	poolCore(g, in, out, false, 0, start, poolShift{})
	o.Stats.countValues(g.OutX * g.OutY * g.InC)
	return nil
}

// NNQAvgpool is the twin of nnq_avgpool_q7 / nnq_avgpool_q15: over the
// in-range window positions, the int32 sum shifted left by shift bits (in
// 64 bits), divided by their count (C division, truncating toward zero) and
// saturated to the type, each saturation counted in o.Stats; a window
// without any position gives 0. shift (0..MaxPoolShift, QLayer.PoolShift)
// gives the output shift more fractional bits than the input: the mean of
// many values is known more finely than any one of them. shift 0 is the
// plain mean (which never saturates). The input is not modified.
func NNQAvgpool[T qint](o Opts, g ConvGeom, in, out []T, shift int) error {
	v, lo, hi := VarNNQAvgpoolQ7, int32(q7Min), int32(q7Max)
	if isQ15[T]() {
		v, lo, hi = VarNNQAvgpoolQ15, q15Min, q15Max
	}
	if err := checkPoolShift(shift); err != nil {
		return err
	}
	if err := checkPool(v, &o, g, len(in), len(out)); err != nil {
		return err
	}
	poolCore(g, in, out, true, 0, 0, poolShift{shift, lo, hi, o.Stats})
	o.Stats.countValues(g.OutX * g.OutY * g.InC)
	return nil
}

// NNQRelu is the twin of nnq_relu_q7 / nnq_relu_q15: data[i] = max(data[i],
// 0) in place.
func NNQRelu[T qint](o Opts, data []T) {
	for i, x := range data {
		if x < 0 {
			data[i] = 0
		}
	}
	o.Stats.countValues(len(data))
}

// reluAfter clamps out at 0 when relu is set: max(SAT(v), 0) is the fused
// kernel's clamp to [0, max]. Done after the requantisation so that Stats
// count saturations of the type's range only, as for a separate ReLU.
func reluAfter[T qint](relu bool, out []T) {
	if !relu {
		return
	}
	for i, x := range out {
		out[i] = T(int16(x) &^ (int16(x) >> 15)) // branch-free max(x, 0)
	}
}

// reluFused returns the lower output bound for a kernel whose ReLU can
// be the bound itself (clamp(v, 0, hi) == max(clamp(v, lo, hi), 0)): the
// uninstrumented run; with Stats the kernel saturates to lo and the ReLU
// follows (saturation counts only what the word cannot hold). It reports
// whether the ReLU is done.
func reluFused(o *Opts, relu bool, lo int32) (int32, bool) {
	if relu && o.Stats == nil {
		return 0, true
	}
	return lo, false
}

func isQ15[T qint]() bool {
	var z T
	_, ok := any(z).(int16)
	return ok
}

// ---- weight orders of the C kernels ----

// NNQKP is the padded tap count of nnq's convolution and FC kernels: k
// rounded up to a multiple of 8.
func NNQKP(k int) int { return (k + 7) &^ 7 }

// NNQConvPairs tells whether conv variant v stores its weights in the
// channel-pairs layout for target t (the nnq_conv_params nb field 2): always
// for VarNNQConvQ7Wide, for VarNNQConvQ15 on DSP cores (their SIMD path
// multiplies three pixels by two channels), never for VarNNQConvQ7 (rows).
func NNQConvPairs(v Variant, t Target) bool {
	return v == VarNNQConvQ7Wide || (v == VarNNQConvQ15 && t == DSPPath)
}

// NNQConvWeights returns OHWI convolution weights w (outC rows of k =
// KY*KX*InC taps) in the order v reads them (nnq_conv.c), the taps
// zero-padded to KP = NNQKP(k). Rows (pairs false; VarNNQConvQ7 and
// VarNNQConvQ15): one row of KP taps per output channel, in order. Channel
// pairs (pairs true; VarNNQConvQ7Wide, q15 values, and VarNNQConvQ15):
// channels 2i and 2i+1 (zeros for a missing last one) share a block of
// 2*KP values; per group of 4 taps g..g+3 two steps, each channel 2i's pair
// then channel 2i+1's: q7 wide the steps (w[g], w[g+2]), (w[g+1], w[g+3]),
// q15 (w[g], w[g+1]), (w[g+2], w[g+3]). For the FC variants see
// NNQFCWeights (pairs is ignored).
func NNQConvWeights(v Variant, outC, k int, w []int16, pairs bool) ([]int16, error) {
	if len(w) != outC*k {
		return nil, fmt.Errorf("%w: %d weights for %d channels of %d taps", ErrShortBuffer, len(w), outC, k)
	}
	switch v {
	case VarNNQFCQ7, VarNNQFCQ15:
		return nnqFCOrder(v, outC, k, w), nil
	case VarNNQConvQ7, VarNNQConvQ15:
	case VarNNQConvQ7Wide:
		pairs = true
	default:
		return nil, fmt.Errorf("%w: %s has no nnq weight order", ErrInvalid, v)
	}
	kp := NNQKP(k)
	tap := func(c, t int) int16 {
		if c >= outC || t >= k {
			return 0
		}
		return w[c*k+t]
	}
	if !pairs {
		out := make([]int16, outC*kp)
		for c := 0; c < outC; c++ {
			copy(out[c*kp:], w[c*k:(c+1)*k])
		}
		return out, nil
	}
	// The two steps of a group: the taps of each pair.
	steps := [2][2]int{{0, 1}, {2, 3}}
	if v == VarNNQConvQ7Wide {
		steps = [2][2]int{{0, 2}, {1, 3}}
	}
	out := make([]int16, 0, (outC+1)/2*2*kp)
	for c := 0; c < outC; c += 2 {
		for g := 0; g < kp; g += 4 {
			for _, st := range steps {
				for h := 0; h < 2; h++ {
					out = append(out, tap(c+h, g+st[0]), tap(c+h, g+st[1]))
				}
			}
		}
	}
	return out, nil
}

// nnqFCOrder is NNQFCWeights' order: the rows in blocks of 4, then 2, then
// 1; within a block of n rows, for each group of 4 columns g..g+3: q7
// (VarNNQFCQ7) n words, row j's W[j][g..g+3]; q15 (VarNNQFCQ15) n pairs
// (W[j][g], W[j][g+1]), then n pairs (W[j][g+2], W[j][g+3]).
func nnqFCOrder(v Variant, rows, k int, w []int16) []int16 {
	kp := NNQKP(k)
	tap := func(r, t int) int16 {
		if t >= k {
			return 0
		}
		return w[r*k+t]
	}
	out := make([]int16, 0, rows*kp)
	for r := 0; r < rows; {
		n := nnqBlock(rows-r, 4)
		for g := 0; g < kp; g += 4 {
			if v == VarNNQFCQ7 {
				for j := 0; j < n; j++ {
					for t := 0; t < 4; t++ {
						out = append(out, tap(r+j, g+t))
					}
				}
				continue
			}
			for h := 0; h < 4; h += 2 {
				for j := 0; j < n; j++ {
					out = append(out, tap(r+j, g+h), tap(r+j, g+h+1))
				}
			}
		}
		r += n
	}
	return out
}

// nnqBlock is the channel block size the C kernels take next: nmax while
// that many are left, then 2, then 1.
func nnqBlock(left, nmax int) int {
	switch {
	case left >= nmax:
		return nmax
	case left >= 2:
		return 2
	}
	return 1
}

// NNQFCWeights returns row-major FC weights [rows][dimVec] in the order
// nnq_fc_q7 (VarNNQFCQ7, also nnq_fc_q7_q15) or nnq_fc_q15 (VarNNQFCQ15)
// reads them (nnq_fc.c): dimVec zero-padded to NNQKP(dimVec), the rows in
// blocks of 4, then 2, then 1; within a block of n rows, for each group of 4
// columns g..g+3: q7 n words, row j's W[j][g..g+3]; q15 n pairs
// (W[j][g], W[j][g+1]), then n pairs (W[j][g+2], W[j][g+3]).
func NNQFCWeights(v Variant, rows, dimVec int, w []int16) ([]int16, error) {
	return NNQConvWeights(v, rows, dimVec, w, false)
}

// NNQBias32 returns the int32 biases nnq's kernels take:
// int32(bias << biasShift) + R, the shift wrapping in 32 bits, R the
// rounding term of outShift (0 with Truncate).
func NNQBias32(bias []int16, biasShift, outShift int, r Rounding) []int32 {
	rt := uint32(r.roundTerm(outShift))
	out := make([]int32, len(bias))
	for i, b := range bias {
		out[i] = int32(uint32(int32(b)<<uint(biasShift)) + rt)
	}
	return out
}

// ---- scratch ----

// NNQDWScratchBudget bounds the scratch of nnq_dwconv's SIMD path: it
// copies as many channels (up to 4) and output rows as fit.
const NNQDWScratchBudget = 2048

// nnqDW3Params is the number of int32 parameters of nnq_dwconv's 3x3 kernel.
const nnqDW3Params = 9

// NNQDWScratch is the scratch nnq_dwconv's SIMD path needs for geometry g
// with nb channels and band output rows per pass: nb q15 planes of
// (OutX-1)*StrideX+KX columns of cs = ((band-1)*StrideY+KY+2) rounded down
// to even values, one channel's KX*kyp q15 weights (kyp = KY rounded up to
// even), band int32 accumulators and the 3x3 kernel's parameters.
func NNQDWScratch(g ConvGeom, nb, band int) int {
	pw := (g.OutX-1)*g.StrideX + g.KX
	cs := ((band-1)*g.StrideY + g.KY + 2) &^ 1
	kyp := (g.KY + 1) &^ 1
	return 2*(nb*pw*cs+g.KX*kyp) + 4*(band+nnqDW3Params)
}

// NNQDWPlan returns the channels per pass nb (1..4) and output rows per
// pass band (>= 1) nnq_dwconv's SIMD path uses for geometry g (the
// nnq_conv_params nb and band fields: as many as fit NNQDWScratchBudget),
// and the scratch bytes they take (NNQDWScratch).
func NNQDWPlan(g ConvGeom) (nb, band, bytes int) {
	nb, band = min(4, max(1, g.InC)), max(1, g.OutY)
	for NNQDWScratch(g, nb, band) > NNQDWScratchBudget && band > 1 {
		band = max(1, band/2)
	}
	for NNQDWScratch(g, nb, band) > NNQDWScratchBudget && nb > 1 {
		nb--
	}
	return nb, band, NNQDWScratch(g, nb, band)
}

// NNQScratchBytes is the scratch an nnq kernel needs for geometry g (FC:
// FCGeom; recurrent: RNNGeom): convolutions one pixel's KP gathered taps
// plus the q15 expansion of a block of pixels, depthwise NNQDWPlan's bytes, FC the
// vector as KP q15 values, recurrent layers their state (RNNScratchQ15),
// aligned, plus the FC scratch (q15 values) of max(DimIn, Hidden).
func NNQScratchBytes(v Variant, g ConvGeom) int {
	switch v {
	// One pixel's gathered window (KP elements) and the q15 expansion of a
	// block of pixels (4 for rows, 3 for channel pairs; 2*KP bytes each);
	// more than the plain-C path's two gathered windows.
	case VarNNQConvQ7:
		return (1 + 2*4) * NNQKP(g.KX*g.KY*g.InC)
	case VarNNQConvQ7Wide:
		return (1 + 2*3) * NNQKP(g.KX*g.KY*g.InC)
	case VarNNQConvQ15:
		return (2 + 2*4) * NNQKP(g.KX*g.KY*g.InC)
	case VarNNQDWConvQ7, VarNNQDWConvQ15:
		_, _, n := NNQDWPlan(g)
		return n
	case VarNNQFCQ7, VarNNQFCQ15:
		return 2 * NNQKP(g.InC)
	case VarNNQGRUQ7, VarNNQGRUQ15, VarNNQLSTMQ7, VarNNQLSTMQ15:
		n := RNNScratchQ15(v, g.InC, g.OutC)
		return 2 * ((n+1)&^1 + NNQKP(max(g.InC, g.OutC)))
	case VarNNQGRUCMSISQ7, VarNNQGRUCMSISQ15, VarNNQLSTMCMSISQ7, VarNNQLSTMCMSISQ15:
		return 2 * RNNScratchQ15(v, g.InC, g.OutC)
	}
	return 0
}
