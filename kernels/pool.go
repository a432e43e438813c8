package kernels

import "fmt"

// Pooling (facts sheet §5) and nnq's own non-square / q15 pools.
//
// Buffer ownership: the CMSIS pools mirror the library exactly, including
// what they do to the input. On CPath imIn is only read. On DSPPath imIn is
// the work space of the separable algorithm and is overwritten in place with
// the same contents the library leaves in Im_in (the row-pass results); a
// caller that still needs the input must pass a copy (ClobbersInput tells).
// No scratch is needed from the caller: the library's bufferA only holds
// intermediate sums. The nnq_* pools never modify their input.

func checkPool(v Variant, o *Opts, g ConvGeom, nIn, nOut int) error {
	if err := v.Valid(g, o.Target); err != nil {
		return err
	}
	if nIn < g.InSize() || nOut < g.OutX*g.OutY*g.InC {
		return ErrShortBuffer
	}
	return nil
}

// MaxpoolQ7HWC is arm_maxpool_q7_HWC (square geometry g, e.g. from
// PoolGeom). CPath: maximum over the in-range window positions (an empty
// window gives 127, like the library). DSPPath: the library's separable
// in-place algorithm; imIn is overwritten. It equals CPath whenever padding
// < stride.
func MaxpoolQ7HWC(o Opts, g ConvGeom, imIn, imOut []int8) error {
	if err := checkPool(VarMaxpoolQ7HWC, &o, g, len(imIn), len(imOut)); err != nil {
		return err
	}
	if o.Target == DSPPath {
		poolDSP(g, imIn, imOut, false)
	} else {
		poolCore(g, imIn, imOut, false, 127, q7Min, poolShift{})
	}
	o.Stats.countValues(g.OutX * g.OutY * g.InC)
	return nil
}

// AvepoolQ7HWC is arm_avepool_q7_HWC (square geometry). CPath: sum over the
// in-range window positions divided by their count, truncating toward zero.
// DSPPath: the library's separable algorithm (row pass in place, then
// column pass, each truncating); imIn is overwritten. With padding < stride
// the DSP result is within 2 LSB of the mean (usually ±1 from CPath); with
// padding >= stride the row pass re-reads columns it already averaged and
// the result can be far off (the library's own vectors differ from CPath by
// up to 73) — emulated bit-exactly, but a poor choice for a deployment.
func AvepoolQ7HWC(o Opts, g ConvGeom, imIn, imOut []int8) error {
	if err := checkPool(VarAvepoolQ7HWC, &o, g, len(imIn), len(imOut)); err != nil {
		return err
	}
	if o.Target == DSPPath {
		poolDSP(g, imIn, imOut, true)
	} else {
		poolCore(g, imIn, imOut, true, 0, 0, poolShift{})
	}
	o.Stats.countValues(g.OutX * g.OutY * g.InC)
	return nil
}

// MaxPoolShift bounds the output left shift of nnq's average pools.
const MaxPoolShift = 16

func checkPoolShift(shift int) error {
	if shift < 0 || shift > MaxPoolShift {
		return fmt.Errorf("%w: average pool output shift %d is outside 0..%d", ErrInvalid, shift, MaxPoolShift)
	}
	return nil
}

// countValues adds n computed values and one call (nil-safe).
func (st *Stats) countValues(n int) {
	if st != nil {
		st.Calls++
		st.Values += int64(n)
	}
}

// poolChunk channels are accumulated at once, on the stack.
const poolChunk = 64

// poolShift is the output left shift of nnq's average pools (k 0: the plain
// mean) with the word's bounds and the counters for its saturations.
type poolShift struct {
	k      int
	lo, hi int32
	st     *Stats
}

// poolCore is the bounds-checked single-pass pool (the library's C path and
// nnq's kernels). An average with sh.k > 0 is sat(trunc((sum << k) /
// count)) in 64 bits. Max starts from maxStart (the type's minimum; the
// library's -129 start only matters for an empty window, where its int8
// wrap gives 127); a window without in-range positions outputs empty.
func poolCore[T qint](g ConvGeom, in, out []T, ave bool, empty T, maxStart int32, sh poolShift) {
	ch := g.InC
	var accBuf [poolChunk]int32
	for oy := 0; oy < g.OutY; oy++ {
		iy0 := oy*g.StrideY - g.PadY
		ky0, ky1 := axisRange(iy0, g.KY, g.InY)
		for ox := 0; ox < g.OutX; ox++ {
			ix0 := ox*g.StrideX - g.PadX
			kx0, kx1 := axisRange(ix0, g.KX, g.InX)
			ob := out[(oy*g.OutX+ox)*ch : (oy*g.OutX+ox+1)*ch]
			count := int32(max(0, ky1-ky0) * max(0, kx1-kx0))
			if count == 0 {
				for c := range ob {
					ob[c] = empty
				}
				continue
			}
			for cb := 0; cb < ch; cb += poolChunk {
				n := min(poolChunk, ch-cb)
				acc := accBuf[:n]
				if ave {
					clear(acc)
				} else {
					for c := range acc {
						acc[c] = maxStart
					}
				}
				for ky := ky0; ky < ky1; ky++ {
					for kx := kx0; kx < kx1; kx++ {
						ib := ((iy0+ky)*g.InX+ix0+kx)*ch + cb
						x := in[ib : ib+n]
						if ave {
							for c := range acc {
								acc[c] += int32(x[c])
							}
						} else {
							for c := range acc {
								acc[c] = max(acc[c], int32(x[c]))
							}
						}
					}
				}
				o := ob[cb : cb+n]
				switch {
				case ave && sh.k > 0:
					for c, a := range acc {
						v := (int64(a) << sh.k) / int64(count)
						if v > int64(sh.hi) || v < int64(sh.lo) {
							v = min(max(v, int64(sh.lo)), int64(sh.hi))
							if sh.st != nil && v > 0 {
								sh.st.SatHigh++
							} else if sh.st != nil {
								sh.st.SatLow++
							}
						}
						o[c] = T(v)
					}
				case ave:
					for c := range acc {
						o[c] = T(acc[c] / count) // Go's / truncates toward zero like C
					}
				default:
					for c := range acc {
						o[c] = T(acc[c])
					}
				}
			}
		}
	}
}

// poolDSP is the library's DSP-path pooling: a separable algorithm working
// in place on in (square geometry; Valid has excluded the unsafe cases).
//
//  1. Row pass, every input row, ox increasing: start = ox*s-p (a negative
//     start becomes ox, not 0), stop = min(ox*s-p+k, dim). max: column ox :=
//     column start, then max with columns start+1..stop-1 as they are now;
//     ave: sum of columns start..stop-1, column ox := sum/(stop-start).
//  2. Column pass over the first dimOut columns: rows max(0, oy*s-p) ..
//     min(oy*s-p+k, dim)-1, max or sum/count → out row oy.
func poolDSP(g ConvGeom, in, out []int8, ave bool) {
	dim, dimOut, ch := g.InX, g.OutX, g.InC
	k, s, p := g.KX, g.StrideX, g.PadX
	rowLen := dim * ch
	for y := 0; y < dim; y++ {
		row := in[y*rowLen : (y+1)*rowLen]
		for ox := 0; ox < dimOut; ox++ {
			start := ox*s - p
			stop := min(start+k, dim)
			if start < 0 {
				start = ox
			}
			dst := row[ox*ch : (ox+1)*ch]
			if ave {
				cnt := int32(stop - start)
				for c := 0; c < ch; c++ {
					var sum int32
					for col := start; col < stop; col++ {
						sum += int32(row[col*ch+c])
					}
					dst[c] = int8(sum / cnt)
				}
			} else {
				copy(dst, row[start*ch:(start+1)*ch])
				for col := start + 1; col < stop; col++ {
					src := row[col*ch : (col+1)*ch]
					for c := range dst {
						dst[c] = max(dst[c], src[c])
					}
				}
			}
		}
	}
	for oy := 0; oy < dimOut; oy++ {
		a := max(0, oy*s-p)
		b := min(oy*s-p+k, dim)
		cnt := int32(b - a)
		dst := out[oy*dimOut*ch : (oy+1)*dimOut*ch]
		if ave {
			for i := range dst {
				var sum int32
				for r := a; r < b; r++ {
					sum += int32(in[r*rowLen+i])
				}
				dst[i] = int8(sum / cnt)
			}
		} else {
			copy(dst, in[a*rowLen:a*rowLen+dimOut*ch])
			for r := a + 1; r < b; r++ {
				src := in[r*rowLen : r*rowLen+dimOut*ch]
				for i := range dst {
					dst[i] = max(dst[i], src[i])
				}
			}
		}
	}
}
