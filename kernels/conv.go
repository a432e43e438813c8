package kernels

// Convolutions and depthwise convolutions.
//
// All conv variants compute the same function (facts sheet §2): for every
// output pixel and channel, requant(bias[o] + Σ in·w) over the in-range taps.
// Within their valid geometries the library's variants, on both code paths,
// are bit-identical to each other, so the Go functions differ only in the
// constraints they check (see Variant.Valid). None of them allocates or
// needs scratch.

// checkConv validates a conv-like call: geometry, shifts and buffer lengths.
func checkConv(v Variant, o *Opts, g ConvGeom, nIn, nW, nBias, nOut, biasShift, outShift int) error {
	if err := v.Valid(g, o.Target); err != nil {
		return err
	}
	if err := ValidShifts(biasShift, outShift); err != nil {
		return err
	}
	wantW := g.WeightSize()
	if v.Kind() == KindDepthwise {
		wantW = g.DepthwiseWeightSize()
	}
	if nIn < g.InSize() || nW < wantW || nBias < g.OutC || nOut < g.OutSize() {
		return ErrShortBuffer
	}
	return nil
}

// ConvolveHWCQ7Basic is arm_convolve_HWC_q7_basic (square geometry, no
// constraints). in: HWC InY×InX×InC; wt: OHWI; bias: OutC; out: HWC
// OutY×OutX×OutC. Returns nil, or an error (output untouched) whose
// StatusOf is the library's status.
func ConvolveHWCQ7Basic(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return convQ7(VarConvolveHWCQ7Basic, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ7Fast is arm_convolve_HWC_q7_fast: ch_in%4 == 0 and
// ch_out%2 == 0 or -3; plain OHWI weights. DSP-unsafe for non-standard
// output sizes.
func ConvolveHWCQ7Fast(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return convQ7(VarConvolveHWCQ7Fast, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ7RGB is arm_convolve_HWC_q7_RGB: ch_in == 3 or -3.
func ConvolveHWCQ7RGB(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return convQ7(VarConvolveHWCQ7RGB, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ7BasicNonsquare is arm_convolve_HWC_q7_basic_nonsquare (no
// constraints).
func ConvolveHWCQ7BasicNonsquare(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return convQ7(VarConvolveHWCQ7BasicNonsquare, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ7FastNonsquare is arm_convolve_HWC_q7_fast_nonsquare: ch_in%4
// == 0 and ch_out%2 == 0 or -3. DSP-unsafe for non-standard output sizes.
func ConvolveHWCQ7FastNonsquare(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return convQ7(VarConvolveHWCQ7FastNonsquare, &o, g, in, wt, bias, biasShift, outShift, out)
}

// Convolve1x1HWCQ7FastNonsquare is arm_convolve_1x1_HWC_q7_fast_nonsquare:
// ch_in%4 == 0, ch_out%2 == 0, 1×1 kernel, no padding, stride 1, or -3.
// DSP-unsafe unless the output size equals the input size.
func Convolve1x1HWCQ7FastNonsquare(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return convQ7(VarConvolve1x1HWCQ7FastNonsquare, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ15Basic is arm_convolve_HWC_q15_basic (square, no
// constraints; q15 bias, SSAT to 16 bits).
func ConvolveHWCQ15Basic(o Opts, g ConvGeom, in, wt, bias []int16, biasShift, outShift int, out []int16) error {
	return convQ15(VarConvolveHWCQ15Basic, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ15Fast is arm_convolve_HWC_q15_fast: ch_in and ch_out even
// or -3; on DSPPath also an even dim_im_out or -3.
func ConvolveHWCQ15Fast(o Opts, g ConvGeom, in, wt, bias []int16, biasShift, outShift int, out []int16) error {
	return convQ15(VarConvolveHWCQ15Fast, &o, g, in, wt, bias, biasShift, outShift, out)
}

// ConvolveHWCQ15FastNonsquare is arm_convolve_HWC_q15_fast_nonsquare: ch_in
// and ch_out even or -3; DSP-unsafe for odd OutX.
func ConvolveHWCQ15FastNonsquare(o Opts, g ConvGeom, in, wt, bias []int16, biasShift, outShift int, out []int16) error {
	return convQ15(VarConvolveHWCQ15FastNonsquare, &o, g, in, wt, bias, biasShift, outShift, out)
}

// DepthwiseSeparableConvHWCQ7 is arm_depthwise_separable_conv_HWC_q7
// (depthwise, multiplier 1): ch_in == ch_out or -3. wt is [ky][kx][ch].
func DepthwiseSeparableConvHWCQ7(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return depthwiseQ7(VarDepthwiseSeparableConvHWCQ7, &o, g, in, wt, bias, biasShift, outShift, out)
}

// DepthwiseSeparableConvHWCQ7Nonsquare is
// arm_depthwise_separable_conv_HWC_q7_nonsquare.
func DepthwiseSeparableConvHWCQ7Nonsquare(o Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	return depthwiseQ7(VarDepthwiseSeparableConvHWCQ7Nonsquare, &o, g, in, wt, bias, biasShift, outShift, out)
}

func convQ7(v Variant, o *Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	if err := checkConv(v, o, g, len(in), len(wt), len(bias), len(out), biasShift, outShift); err != nil {
		return err
	}
	convCoreQ7(o, g, in, wt, bias, biasShift, outShift, out, q7Min, q7Max)
	return nil
}

func convQ15(v Variant, o *Opts, g ConvGeom, in, wt, bias []int16, biasShift, outShift int, out []int16) error {
	if err := checkConv(v, o, g, len(in), len(wt), len(bias), len(out), biasShift, outShift); err != nil {
		return err
	}
	convCore(o, g, in, wt, bias, biasShift, outShift, out, q15Min, q15Max)
	return nil
}

func depthwiseQ7(v Variant, o *Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8) error {
	if err := checkConv(v, o, g, len(in), len(wt), len(bias), len(out), biasShift, outShift); err != nil {
		return err
	}
	depthwiseCore(o, g, in, wt, bias, biasShift, outShift, out, q7Min, q7Max)
	return nil
}

// axisRange returns the in-range kernel taps [k0, k1) of the window starting
// at input position i0 on an axis of length n.
func axisRange(i0, k, n int) (k0, k1 int) {
	return max(0, -i0), min(k, n-i0)
}

// convColMax bounds the im2col column convCore keeps on the stack
// (KY*KX*InC elements); larger kernels take convCoreRuns.
const convColMax = 2048

// convCore gathers the taps of each output pixel into a zero-filled column
// (out-of-range taps contribute exactly 0, as skipping them does) and
// computes 4 output channels per pass over it. A 1×KX×InC kernel over an
// interior pixel reads the input in place.
// q7 words take the two-pixel form convCoreQ7, which gives the same
// results.
func convCore[T qint](o *Opts, g ConvGeom, in, wt, bias []T, biasShift, outShift int, out []T, lo, hi int32) {
	if x, ok := any(in).([]int8); ok {
		convCoreQ7(o, g, x, any(wt).([]int8), any(bias).([]int8), biasShift, outShift, any(out).([]int8), lo, hi)
		return
	}
	convCoreOne(o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
}

// convCoreOne is convCore one output pixel at a time.
func convCoreOne[T qint](o *Opts, g ConvGeom, in, wt, bias []T, biasShift, outShift int, out []T, lo, hi int32) {
	k := g.KY * g.KX * g.InC
	if k > convColMax {
		convCoreRuns(o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
		return
	}
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	cout := g.OutC
	var colBuf [convColMax]T
	for oy := 0; oy < g.OutY; oy++ {
		for ox := 0; ox < g.OutX; ox++ {
			col := convColumn(g, in, oy*g.OutX+ox, colBuf[:k])
			ob := out[(oy*g.OutX+ox)*cout : (oy*g.OutX+ox+1)*cout]
			oc := 0
			for ; oc+4 <= cout; oc += 4 {
				a0, a1, a2, a3 := dot4(col, wt[oc*k:(oc+4)*k])
				b := bias[oc : oc+4 : oc+4]
				if st == nil {
					ob[oc] = T(requantFast(a0, int32(b[0]), bs, os, rt, lo, hi))
					ob[oc+1] = T(requantFast(a1, int32(b[1]), bs, os, rt, lo, hi))
					ob[oc+2] = T(requantFast(a2, int32(b[2]), bs, os, rt, lo, hi))
					ob[oc+3] = T(requantFast(a3, int32(b[3]), bs, os, rt, lo, hi))
				} else {
					ob[oc] = T(requant(st, a0, int32(b[0]), bs, os, rt, lo, hi))
					ob[oc+1] = T(requant(st, a1, int32(b[1]), bs, os, rt, lo, hi))
					ob[oc+2] = T(requant(st, a2, int32(b[2]), bs, os, rt, lo, hi))
					ob[oc+3] = T(requant(st, a3, int32(b[3]), bs, os, rt, lo, hi))
				}
			}
			for ; oc < cout; oc++ {
				ob[oc] = T(requant(st, dot(col, wt[oc*k:(oc+1)*k]), int32(bias[oc]), bs, os, rt, lo, hi))
			}
		}
	}
	if st != nil {
		st.Calls++
	}
}

// dot4 returns the dot products of x with the four consecutive rows of
// length len(x) in w.
func dot4[X qint | ~int32, W qint](x []X, w []W) (a0, a1, a2, a3 int64) {
	n := len(x)
	w0, w1, w2, w3 := w[:n], w[n:2*n], w[2*n:3*n], w[3*n:4*n]
	for i, xv := range x {
		xi := int64(xv)
		a0 += xi * int64(w0[i])
		a1 += xi * int64(w1[i])
		a2 += xi * int64(w2[i])
		a3 += xi * int64(w3[i])
	}
	return
}

// convCoreRuns is the scratch-free form for kernels larger than
// convColMax: the in-range taps of one kernel row form a contiguous run of
// (kx1-kx0)*InC elements in both the HWC input and the OHWI weights.
func convCoreRuns[T qint](o *Opts, g ConvGeom, in, wt, bias []T, biasShift, outShift int, out []T, lo, hi int32) {
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	cin, cout := g.InC, g.OutC
	for oy := 0; oy < g.OutY; oy++ {
		iy0 := oy*g.StrideY - g.PadY
		ky0, ky1 := axisRange(iy0, g.KY, g.InY)
		for ox := 0; ox < g.OutX; ox++ {
			ix0 := ox*g.StrideX - g.PadX
			kx0, kx1 := axisRange(ix0, g.KX, g.InX)
			seg := (kx1 - kx0) * cin
			if ky1 <= ky0 || seg <= 0 {
				ky1, seg = ky0, 0
			}
			ob := out[(oy*g.OutX+ox)*cout : (oy*g.OutX+ox+1)*cout]
			for oc := 0; oc < cout; oc++ {
				var acc int64
				for ky := ky0; ky < ky1; ky++ {
					ib := ((iy0+ky)*g.InX + ix0 + kx0) * cin
					wb := ((oc*g.KY+ky)*g.KX + kx0) * cin
					acc += dot(in[ib:ib+seg], wt[wb:wb+seg])
				}
				ob[oc] = T(requant(st, acc, int32(bias[oc]), bs, os, rt, lo, hi))
			}
		}
	}
	if st != nil {
		st.Calls++
	}
}

// dwChunk is the number of channels depthwiseCore accumulates at once (on
// the stack).
const dwChunk = 64

func depthwiseCore[T qint](o *Opts, g ConvGeom, in, wt, bias []T, biasShift, outShift int, out []T, lo, hi int32) {
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	ch := g.InC
	var accBuf [dwChunk]int64
	// The q7 vector path: bias terms per channel, and whether no output
	// can wrap with the largest window (then the instrumented run counts
	// only saturations).
	var rqBuf [256]int32
	var rq []int32
	vecQ7, vecStats := false, false
	if b8, ok := any(bias).([]int8); ok && haveIntSIMD {
		vecQ7 = true
		vecStats = noQ7Wraps(b8[:ch], bs, rt, g.KY*g.KX)
		rq = q7BiasTerms(rqBuf[:0], b8[:ch], bs, rt)
	}
	for oy := 0; oy < g.OutY; oy++ {
		iy0 := oy*g.StrideY - g.PadY
		ky0, ky1 := axisRange(iy0, g.KY, g.InY)
		for ox := 0; ox < g.OutX; ox++ {
			ix0 := ox*g.StrideX - g.PadX
			kx0, kx1 := axisRange(ix0, g.KX, g.InX)
			obase := (oy*g.OutX + ox) * ch
			for cb := 0; cb < ch; cb += dwChunk {
				n := min(dwChunk, ch-cb)
				acc := accBuf[:n]
				clear(acc)
				c0 := 0
				done := 0 // channels already written (the vector requantization)
				if vecQ7 && ky1 > ky0 && kx1 > kx0 {
					// Sixteen q7 channels per vector step.
					x8, w8 := any(in).([]int8), any(wt).([]int8)
					var a [16]int32
					ib := ((iy0+ky0)*g.InX+ix0+kx0)*ch + cb
					wb := (ky0*g.KX+kx0)*ch + cb
					if n >= 16 && (st == nil || vecStats) {
						o8 := any(out).([]int8)
						if st == nil {
							for ; c0+16 <= n; c0 += 16 {
								depthwiseQ7x16Requant(&x8[ib+c0], ch, g.InX*ch, &w8[wb+c0], ch, g.KX*ch, ky1-ky0, kx1-kx0, &rq[cb+c0], uint64(os), lo, hi, &o8[obase+cb+c0])
							}
						} else {
							// Instrumented, but nothing can wrap: the
							// saturations are counted in the vector pass.
							var sat [2]int64
							for ; c0+16 <= n; c0 += 16 {
								depthwiseQ7x16RequantSat(&x8[ib+c0], ch, g.InX*ch, &w8[wb+c0], ch, g.KX*ch, ky1-ky0, kx1-kx0, &rq[cb+c0], uint64(os), lo, hi, &o8[obase+cb+c0], &sat)
							}
							st.SatHigh += sat[0]
							st.SatLow += sat[1]
							st.Values += int64(c0)
						}
						done = c0
					}
					for ; c0+16 <= n; c0 += 16 {
						a = [16]int32{}
						depthwiseQ7x16(&a, &x8[ib+c0], ch, g.InX*ch, &w8[wb+c0], ch, g.KX*ch, ky1-ky0, kx1-kx0)
						for j, v := range a {
							acc[c0+j] = int64(v)
						}
					}
				}
				for ky := ky0; ky < ky1 && c0 < n; ky++ {
					for kx := kx0; kx < kx1; kx++ {
						ib := ((iy0+ky)*g.InX+ix0+kx)*ch + cb
						wb := (ky*g.KX+kx)*ch + cb
						x := in[ib : ib+n]
						w := wt[wb : wb+n]
						for c := c0; c < n; c++ {
							acc[c] += int64(x[c]) * int64(w[c])
						}
					}
				}
				ob := out[obase+cb : obase+cb+n]
				bb := bias[cb : cb+n]
				if st == nil {
					for c := done; c < n; c++ {
						ob[c] = T(requantFast(acc[c], int32(bb[c]), bs, os, rt, lo, hi))
					}
				} else {
					for c := done; c < n; c++ {
						ob[c] = T(requant(st, acc[c], int32(bb[c]), bs, os, rt, lo, hi))
					}
				}
			}
		}
	}
	if st != nil {
		st.Calls++
	}
}
