package kernels

import (
	"slices"
	"sync"
)

// convCoreQ7 is convCore for q7 words: it computes two output pixels per
// pass. The two pixels' columns are packed into one int64 per tap
// (colA[i] + colB[i]·2^32), so one 64-bit multiply-add per tap and output
// channel accumulates both dot products: Σ (a+b·2^32)·w = Σa·w + 2^32·Σb·w.
// Every q7 dot product of at most convColMax taps stays within ±2^31
// (2048·128·128 = 2^25), so the low half sign-extends back to Σa·w exactly
// and the high half is (acc - Σa·w) >> 32: the sums, and hence every output
// and counter, are those of the one-pixel loop.
// Outputs saturate to [lo, hi].
func convCoreQ7(o *Opts, g ConvGeom, in, wt, bias []int8, biasShift, outShift int, out []int8, lo, hi int32) {
	k := g.KY * g.KX * g.InC
	if k > convColMax {
		convCoreRuns(o, g, in, wt, bias, biasShift, outShift, out, lo, hi)
		return
	}
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	cout := g.OutC
	var bufA, bufB [convColMax]int8
	var packed [convColMax]int64
	xp := packed[:k]
	n := g.OutY * g.OutX
	put := func(ob []int8, oc int, acc int64) {
		if st == nil {
			ob[oc] = int8(requantFast(acc, int32(bias[oc]), bs, os, rt, lo, hi))
		} else {
			ob[oc] = int8(requant(st, acc, int32(bias[oc]), bs, os, rt, lo, hi))
		}
	}
	// The vector path takes sixteen taps per step: columns and filters of
	// kk = k rounded up to 16 taps, the filters zero-padded (a copy) when
	// k is not a multiple of 16.
	simd := haveIntSIMD && k >= 16 && cout >= 4
	// satOnly: no output of an instrumented run can wrap its bias or
	// accumulator (|bias<<bs| + rounding + k·2^14 < 2^31), so Stats only
	// needs the saturations.
	satOnly := st != nil && noQ7Wraps(bias, bs, rt, k)
	kk, wv := k, wt
	if simd && k%16 != 0 {
		kk = (k + 15) / 16 * 16
		if kk > convColMax {
			simd = false
		} else {
			var wvBuf [4096]int8 // small layers (the first conv) pad on the stack
			if n := cout / 4 * 4 * kk; n <= len(wvBuf) {
				wv = wvBuf[:n]
			} else {
				// Larger ones borrow a buffer: a call per pattern must not
				// allocate.
				pw := paddedWeights.Get().(*[]int8)
				defer paddedWeights.Put(pw)
				*pw = slices.Grow((*pw)[:0], n)[:n]
				wv = *pw
			}
			for o := 0; o < cout/4*4; o++ {
				copy(wv[o*kk:], wt[o*k:(o+1)*k])
				clear(wv[o*kk+k : (o+1)*kk])
			}
		}
	}
	var rqBuf [256]int32
	var rq []int32 // bias<<bs + rounding term per filter (vector requantization)
	if simd && (st == nil || satOnly) {
		rq = q7BiasTerms(rqBuf[:0], bias, bs, rt)
	}
	for p := 0; p < n; p += 2 {
		ca := convColumn(g, in, p, bufA[:k])
		obA := out[p*cout : (p+1)*cout]
		if p+1 == n {
			// The last pixel of an odd count runs alone.
			for oc := 0; oc < cout; oc++ {
				put(obA, oc, dot(ca, wt[oc*k:(oc+1)*k]))
			}
			break
		}
		cb := convColumn(g, in, p+1, bufB[:k])
		cb = cb[:len(ca)]
		obB := out[(p+1)*cout : (p+2)*cout]
		oc := 0
		if simd {
			xa, xb := ca, cb
			if kk != k {
				// Zero-padded columns (bufA/bufB past k stay zero).
				if &ca[0] != &bufA[0] {
					copy(bufA[:k], ca)
				}
				if &cb[0] != &bufB[0] {
					copy(bufB[:k], cb)
				}
				xa, xb = bufA[:kk], bufB[:kk]
			}
			if st == nil {
				// Sums and requantization in one vector pass.
				for ; oc+4 <= cout; oc += 4 {
					dot4x2Q7Requant(&xa[0], &xb[0], &wv[oc*kk], kk, kk/16, &rq[oc], uint64(os), lo, hi, &obA[oc], &obB[oc])
				}
			} else if satOnly {
				// Instrumented, but no output can wrap: only the
				// saturations are counted, in the vector pass.
				var sat [2]int64
				for ; oc+4 <= cout; oc += 4 {
					dot4x2Q7RequantSat(&xa[0], &xb[0], &wv[oc*kk], kk, kk/16, &rq[oc], uint64(os), lo, hi, &obA[oc], &obB[oc], &sat)
				}
				st.SatHigh += sat[0]
				st.SatLow += sat[1]
				st.Values += int64(2 * (cout / 4 * 4))
			} else {
				var s [8]int32
				for ; oc+4 <= cout; oc += 4 {
					dot4x2Q7(&xa[0], &xb[0], &wv[oc*kk], kk, kk/16, &s)
					for j := 0; j < 4; j++ {
						bv := int32(bias[oc+j])
						obA[oc+j] = int8(requant(st, int64(s[j]), bv, bs, os, rt, lo, hi))
						obB[oc+j] = int8(requant(st, int64(s[4+j]), bv, bs, os, rt, lo, hi))
					}
				}
			}
		}
		if oc < cout {
			for i, a := range ca {
				xp[i] = int64(a) + int64(cb[i])<<32
			}
		}
		for ; oc+4 <= cout; oc += 4 {
			a0, a1, a2, a3 := dot4Packed(xp, wt[oc*k:(oc+4)*k])
			for j, acc := range [4]int64{a0, a1, a2, a3} {
				a := int64(int32(acc))
				put(obA, oc+j, a)
				put(obB, oc+j, (acc-a)>>32)
			}
		}
		for ; oc < cout; oc++ {
			var acc int64
			for i, w := range wt[oc*k : (oc+1)*k] {
				acc += xp[i] * int64(w)
			}
			a := int64(int32(acc))
			put(obA, oc, a)
			put(obB, oc, (acc-a)>>32)
		}
	}
	if st != nil {
		st.Calls++
	}
}

// convColumn returns the KY·KX·InC taps of output pixel p (row-major over
// OutY×OutX) in OHWI order, out-of-range taps zero: a view of the input
// when the window is one full interior row, else gathered into buf.
func convColumn[T qint](g ConvGeom, in []T, p int, buf []T) []T {
	oy, ox := p/g.OutX, p%g.OutX
	cin := g.InC
	iy0 := oy*g.StrideY - g.PadY
	ix0 := ox*g.StrideX - g.PadX
	ky0, ky1 := axisRange(iy0, g.KY, g.InY)
	kx0, kx1 := axisRange(ix0, g.KX, g.InX)
	if g.KY == 1 && ky0 == 0 && ky1 == 1 && kx0 == 0 && kx1 == g.KX {
		ib := (iy0*g.InX + ix0) * cin
		return in[ib : ib+len(buf)]
	}
	rowLen := g.KX * cin
	if ky0 != 0 || ky1 != g.KY || kx0 != 0 || kx1 != g.KX {
		clear(buf)
	}
	if kx1 > kx0 {
		for ky := ky0; ky < ky1; ky++ {
			ib := ((iy0+ky)*g.InX + ix0 + kx0) * cin
			copy(buf[ky*rowLen+kx0*cin:ky*rowLen+kx1*cin], in[ib:ib+(kx1-kx0)*cin])
		}
	}
	return buf
}

// dot4Packed is dot4 over packed columns.
func dot4Packed(x []int64, w []int8) (a0, a1, a2, a3 int64) {
	n := len(x)
	w0, w1, w2, w3 := w[:n], w[n:2*n], w[2*n:3*n], w[3*n:4*n]
	for i, xv := range x {
		a0 += xv * int64(w0[i])
		a1 += xv * int64(w1[i])
		a2 += xv * int64(w2[i])
		a3 += xv * int64(w3[i])
	}
	return
}

// paddedWeights lends convCoreQ7 the zero-padded weight copies of layers
// too large for its stack buffer.
var paddedWeights = sync.Pool{New: func() any { return new([]int8) }}

// q7BiasTerms appends to dst, per output channel, the part of the int32
// accumulator that does not depend on the input: bias<<bs plus the
// rounding term, wrapped to int32 as the library's accumulator is.
func q7BiasTerms(dst []int32, bias []int8, bs uint, rt int64) []int32 {
	for _, b := range bias {
		dst = append(dst, int32(int64(int32(b)<<bs)+rt))
	}
	return dst
}

// noQ7Wraps reports that no q7 output with these biases, bias shift,
// rounding term and k taps can wrap: |bias<<bs| + rt + k·128·128 < 2^31.
func noQ7Wraps(bias []int8, bs uint, rt int64, k int) bool {
	if bs > 31 {
		return false
	}
	for _, b := range bias {
		v := int64(b) << bs
		if v < 0 {
			v = -v
		}
		if v+rt+int64(k)*(1<<14) >= 1<<31 {
			return false
		}
	}
	return true
}
