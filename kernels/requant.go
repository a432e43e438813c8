package kernels

// qint is the set of fixed-point element types: q7 (int8) and q15 (int16).
type qint interface{ ~int8 | ~int16 }

// Saturation bounds of SSAT(v, 8) and SSAT(v, 16).
const (
	q7Min  = -128
	q7Max  = 127
	q15Min = -32768
	q15Max = 32767
)

// requant finishes one output of a conv/FC kernel (§1.1 of the facts
// sheet): acc = int32(bias << bs) + R + dot computed mod 2^32, then
// SSAT(acc >> os). dot is the exact sum of products (int64), rt the
// rounding term. The Stats bookkeeping is only reached when st != nil.
func requant(st *Stats, dot int64, bias int32, bs, os uint, rt int64, lo, hi int32) int32 {
	y := int32(int64(bias<<bs)+rt+dot) >> os // int32 shift and sum wrap like the library
	if st != nil {
		st.record(dot, bias, bs, rt, y, lo, hi)
	}
	return min(max(y, lo), hi)
}

// requantFast is requant without instrumentation, small enough to be
// inlined into the kernels' loops (which call requant only when Stats is
// set).
func requantFast(dot int64, bias int32, bs, os uint, rt int64, lo, hi int32) int32 {
	return min(max(int32(int64(bias<<bs)+rt+dot)>>os, lo), hi)
}

// record counts one requantised output (y before saturation).
func (st *Stats) record(dot int64, bias int32, bs uint, rt int64, y, lo, hi int32) {
	st.Values++
	exactBias := int64(bias) << bs
	if exactBias != int64(bias<<bs) {
		st.BiasWraps++
	}
	if exact := exactBias + rt + dot; exact != int64(int32(exact)) {
		st.AccWraps++
	}
	if y > hi {
		st.SatHigh++
	} else if y < lo {
		st.SatLow++
	}
}

// sat counts a saturation of y into [lo, hi] when st != nil and returns the
// clamped value.
func sat(st *Stats, y, lo, hi int32) int32 {
	if y > hi {
		if st != nil {
			st.SatHigh++
		}
		return hi
	}
	if y < lo {
		if st != nil {
			st.SatLow++
		}
		return lo
	}
	return y
}

// dot is the exact dot product of two equally long slices (b may be
// longer; only len(a) elements are used).
func dot[A, B qint](a []A, b []B) int64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		aa := a[i : i+4 : i+4]
		bb := b[i : i+4 : i+4]
		s0 += int64(aa[0]) * int64(bb[0])
		s1 += int64(aa[1]) * int64(bb[1])
		s2 += int64(aa[2]) * int64(bb[2])
		s3 += int64(aa[3]) * int64(bb[3])
	}
	for ; i < len(a); i++ {
		s0 += int64(a[i]) * int64(b[i])
	}
	return s0 + s1 + s2 + s3
}
