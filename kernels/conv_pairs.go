package kernels

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
		for i, a := range ca {
			xp[i] = int64(a) + int64(cb[i])<<32
		}
		obB := out[(p+1)*cout : (p+2)*cout]
		oc := 0
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
