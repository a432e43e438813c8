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
	convCore(&o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
	reluAfter(relu, out[:g.OutSize()])
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
	depthwiseCore(&o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
	reluAfter(relu, out[:g.OutSize()])
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
	poolCore(g, in, out, false, 0, start, 0)
	o.Stats.countValues(g.OutX * g.OutY * g.InC)
	return nil
}

// MaxPoolShift is the largest average-pooling left shift nnq accepts.
const MaxPoolShift = 15

// NNQAvgpool is the twin of nnq_avgpool_q7 / nnq_avgpool_q15: over the
// in-range window positions, SAT(int32(uint32(sum) << shift) / count) with
// the int32 sum, C division (truncating toward zero) and saturation to the
// type; a window without any position gives 0. shift (0..MaxPoolShift) is
// the extra left shift that gives the output shift more fractional bits
// than the input (0: the plain mean). The input is not modified.
func NNQAvgpool[T qint](o Opts, g ConvGeom, in, out []T, shift int) error {
	v := VarNNQAvgpoolQ7
	if isQ15[T]() {
		v = VarNNQAvgpoolQ15
	}
	if shift < 0 || shift > MaxPoolShift {
		return fmt.Errorf("%w: average pooling shift %d outside [0, %d]", ErrInvalid, shift, MaxPoolShift)
	}
	if err := checkPool(v, &o, g, len(in), len(out)); err != nil {
		return err
	}
	poolCore(g, in, out, true, 0, 0, uint(shift))
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
		if x < 0 {
			out[i] = 0
		}
	}
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

// NNQConvWeights returns OHWI convolution weights w (OutC rows of
// KY*KX*InC taps) in the order v reads them (nnq_conv.c): K = KY*KX*InC
// taps zero-padded to KP = NNQKP(K), the output channels in blocks (2 and
// a last block of 1 for VarNNQConvQ7; 4, then 2, then 1 for the others),
// and within a block, for each group of 4 taps k = g..g+3:
//   - VarNNQConvQ7: each channel's w[g..g+3] (q7);
//   - VarNNQConvQ7Wide: each channel's pair (w[g], w[g+2]), then each
//     channel's pair (w[g+1], w[g+3]) (q15 values);
//   - VarNNQConvQ15: each channel's pair (w[g], w[g+1]), then each
//     channel's pair (w[g+2], w[g+3]).
//
// Fully connected weights use the same order (NNQFCWeights).
func NNQConvWeights(v Variant, outC, k int, w []int16) ([]int16, error) {
	if len(w) != outC*k {
		return nil, fmt.Errorf("%w: %d weights for %d channels of %d taps", ErrShortBuffer, len(w), outC, k)
	}
	var order [4]int
	pairs, nmax := true, 4
	switch v {
	case VarNNQConvQ7, VarNNQFCQ7:
		pairs, nmax = false, 2
	case VarNNQConvQ7Wide:
		order = [4]int{0, 2, 1, 3}
	case VarNNQConvQ15, VarNNQFCQ15:
		order = [4]int{0, 1, 2, 3}
	default:
		return nil, fmt.Errorf("%w: %s has no nnq weight order", ErrInvalid, v)
	}
	if v == VarNNQFCQ7 {
		nmax = 4
	}
	kp := NNQKP(k)
	tap := func(c, t int) int16 {
		if t >= k {
			return 0
		}
		return w[c*k+t]
	}
	out := make([]int16, 0, outC*kp)
	for c := 0; c < outC; {
		n := nnqBlock(outC-c, nmax)
		for g := 0; g < kp; g += 4 {
			if !pairs {
				for j := 0; j < n; j++ {
					for t := 0; t < 4; t++ {
						out = append(out, tap(c+j, g+t))
					}
				}
				continue
			}
			for h := 0; h < 2; h++ {
				for j := 0; j < n; j++ {
					out = append(out, tap(c+j, g+order[2*h]), tap(c+j, g+order[2*h+1]))
				}
			}
		}
		c += n
	}
	return out, nil
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
// reads them: the convolution order of NNQConvWeights with K = dimVec, the
// rows as output channels in blocks of 4, 2, 1.
func NNQFCWeights(v Variant, rows, dimVec int, w []int16) ([]int16, error) {
	return NNQConvWeights(v, rows, dimVec, w)
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

// NNQDWScratch is the scratch nnq_dwconv's SIMD path needs for geometry g
// with nb channels and band output rows per pass: nb q15 planes of
// ((band-1)*StrideY+KY) rows of rs elements, rs = ((OutX-1)*StrideX+KX+1)
// rounded up to even, and nb*KY*kxp q15 weights, kxp = KX rounded up to
// even.
func NNQDWScratch(g ConvGeom, nb, band int) int {
	rs := ((g.OutX-1)*g.StrideX + g.KX + 2) &^ 1
	kxp := (g.KX + 1) &^ 1
	return 2 * (nb*((band-1)*g.StrideY+g.KY)*rs + nb*g.KY*kxp)
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
// FCGeom; recurrent: RNNGeom): convolutions 2*KP taps of two pixels plus
// their q15 expansion (4*KP bytes), depthwise NNQDWPlan's bytes, FC the
// vector as KP q15 values, recurrent layers their state (RNNScratchQ15),
// aligned, plus the FC scratch (q15 values) of max(DimIn, Hidden).
func NNQScratchBytes(v Variant, g ConvGeom) int {
	switch v {
	case VarNNQConvQ7, VarNNQConvQ7Wide:
		return 6 * NNQKP(g.KX*g.KY*g.InC)
	case VarNNQConvQ15:
		return 8 * NNQKP(g.KX*g.KY*g.InC)
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
