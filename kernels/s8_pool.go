package kernels

// Average and max pooling of the s8/s16 API (NHWC, any window, stride and
// top/left padding; positions outside the input are not counted).

type poolGeom struct {
	batches, inH, inW, c, kH, kW, outH, outW, strideH, strideW, padH, padW int
}

func checkPoolArgs(fn string, avg bool, p PoolParams, inDims Dims, nIn int, fDims Dims, outDims Dims, nOut int, tmin, tmax int32) (poolGeom, error) {
	var g poolGeom
	if err := checkDims(fn, "input_dims", inDims); err != nil {
		return g, err
	}
	if err := checkDims(fn, "output_dims", outDims); err != nil {
		return g, err
	}
	if fDims.H < 1 || fDims.W < 1 || fDims.H > maxDim || fDims.W > maxDim {
		return g, invalid(fn, "pooling window %dx%d", fDims.H, fDims.W)
	}
	if err := checkTile(fn, "stride", p.Stride, 1); err != nil {
		return g, err
	}
	if err := checkTile(fn, "padding", p.Padding, 0); err != nil {
		return g, err
	}
	if err := checkAct(fn, p.Activation, tmin, tmax); err != nil {
		return g, err
	}
	if outDims.C != inDims.C || outDims.N != inDims.N {
		return g, invalid(fn, "output_dims %+v must have the input's %d batches and %d channels", outDims, inDims.N, inDims.C)
	}
	if nIn < inDims.Size() {
		return g, short(fn, "input", nIn, inDims.Size())
	}
	if nOut < outDims.Size() {
		return g, short(fn, "output", nOut, outDims.Size())
	}
	g = poolGeom{batches: inDims.N, inH: inDims.H, inW: inDims.W, c: inDims.C, kH: fDims.H, kW: fDims.W,
		outH: outDims.H, outW: outDims.W, strideH: p.Stride.H, strideW: p.Stride.W, padH: p.Padding.H, padW: p.Padding.W}
	// Every window must hold at least one input position.
	for _, ax := range [][5]int{{g.outH, g.strideH, g.padH, g.kH, g.inH}, {g.outW, g.strideW, g.padW, g.kW, g.inW}} {
		for _, o := range []int{0, ax[0] - 1} {
			i0 := o*ax[1] - ax[2]
			if k0, k1 := axisRange(i0, ax[3], ax[4]); k1 <= k0 {
				return g, emptyPoolWindow(fn, avg, o)
			}
		}
	}
	return g, nil
}

// emptyPoolWindow is the error of a window outside the input: the average
// pools' ErrArg (the library's status), an invalid call for the max pools.
func emptyPoolWindow(fn string, avg bool, o int) error {
	if avg {
		return argErr(fn, "a pooling window lies entirely outside the input")
	}
	return invalid(fn, "the window of output %d lies entirely outside the input", o)
}

// poolVisit visits every output position with its in-bounds window.
func poolVisit(g *poolGeom, visit func(b, outIdx, inBase, ky0, ky1, kx0, kx1 int)) {
	outIdx := 0
	for b := 0; b < g.batches; b++ {
		inBase := b * g.inH * g.inW * g.c
		for oy := 0; oy < g.outH; oy++ {
			iy0 := oy*g.strideH - g.padH
			ky0, ky1 := axisRange(iy0, g.kH, g.inH)
			for ox := 0; ox < g.outW; ox++ {
				ix0 := ox*g.strideW - g.padW
				kx0, kx1 := axisRange(ix0, g.kW, g.inW)
				visit(b, outIdx, inBase+((iy0+ky0)*g.inW+ix0+kx0)*g.c, ky0, ky1, kx0, kx1)
				outIdx += g.c
			}
		}
	}
}

// avgpool averages every window: the library's rounding (half away from
// zero), or half to even when even is set (nnq's own pool).
func avgpool[T int8 | int16](o *Opts, g *poolGeom, act Activation, in, out []T, tmin, tmax int32, even bool) {
	st := o.Stats
	var sumBuf [dwAccMax]int32
	var sum []int32
	if g.c <= dwAccMax {
		sum = sumBuf[:g.c]
	} else {
		sum = make([]int32, g.c)
	}
	poolVisit(g, func(_, outIdx, base, ky0, ky1, kx0, kx1 int) {
		clear(sum)
		for ky := ky0; ky < ky1; ky++ {
			row := in[base+(ky-ky0)*g.inW*g.c:]
			for kx := 0; kx < kx1-kx0; kx++ {
				px := row[kx*g.c : (kx+1)*g.c]
				for c, v := range px {
					sum[c] += int32(v)
				}
			}
		}
		count := int32((ky1 - ky0) * (kx1 - kx0))
		ob := out[outIdx : outIdx+g.c]
		for c, s := range sum {
			var y int32
			if even {
				y = divRoundEven(s, count)
			} else if s > 0 {
				y = (s + count/2) / count
			} else {
				y = (s - count/2) / count
			}
			ob[c] = T(clampAct(st, y, act.Min, act.Max, tmin, tmax))
		}
	})
	if st != nil {
		st.Calls++
	}
}

func maxpool[T int8 | int16](o *Opts, g *poolGeom, act Activation, in, out []T, tmin, tmax int32) {
	st := o.Stats
	poolVisit(g, func(_, outIdx, base, ky0, ky1, kx0, kx1 int) {
		ob := out[outIdx : outIdx+g.c]
		copy(ob, in[base:base+g.c])
		for ky := ky0; ky < ky1; ky++ {
			row := in[base+(ky-ky0)*g.inW*g.c:]
			for kx := 0; kx < kx1-kx0; kx++ {
				px := row[kx*g.c : (kx+1)*g.c]
				for c, v := range px {
					ob[c] = max(ob[c], v)
				}
			}
		}
		for c, v := range ob {
			ob[c] = T(clampAct(st, int32(v), act.Min, act.Max, tmin, tmax))
		}
	})
	if st != nil {
		st.Calls++
	}
}

// divRoundEven is s/n (n > 0) rounded to the nearest integer, ties to the
// even one.
func divRoundEven(s, n int32) int32 {
	q, r := s/n, s%n
	if r < 0 { // floor division: 0 <= r < n
		q, r = q-1, r+n
	}
	if d := 2 * int64(r); d > int64(n) || (d == int64(n) && q&1 != 0) {
		q++
	}
	return q
}

// Pooling kinds of runPool.
const (
	poolMax = iota
	poolAvg
	poolAvgEven
)

// runPool checks a pooling call and runs max pooling, average pooling or
// the ties-to-even average (kind).
func runPool[T int8 | int16](o *Opts, fn string, kind int, p PoolParams, inDims Dims, in []T, fDims, outDims Dims, out []T) error {
	tmin, tmax := int32(s8Min), int32(s8Max)
	var zero T
	if any(zero) == any(int16(0)) {
		tmin, tmax = s16Min, s16Max
	}
	g, err := checkPoolArgs(fn, kind != poolMax, p, inDims, len(in), fDims, outDims, len(out), tmin, tmax)
	if err != nil {
		return err
	}
	if kind != poolMax {
		avgpool(o, &g, p.Activation, in, out, tmin, tmax, kind == poolAvgEven)
	} else {
		maxpool(o, &g, p.Activation, in, out, tmin, tmax)
	}
	return nil
}

// AvgpoolS8 is arm_avgpool_s8: per window sum (int32) and count of the
// in-bounds positions, avg = (sum ± count/2) / count (C division, i.e.
// rounding half away from zero), clamp to the activation range. Only
// filter_dims.h/w (the window) are used. A window entirely outside the
// input returns ErrArg (the library's status). Scratch on the C API:
// AvgpoolS8GetBufferSize.
func AvgpoolS8(o Opts, p PoolParams, inDims Dims, in []int8, fDims, outDims Dims, out []int8) error {
	return runPool(&o, "arm_avgpool_s8", poolAvg, p, inDims, in, fDims, outDims, out)
}

// AvgpoolS16 is arm_avgpool_s16 (as AvgpoolS8 on int16 data).
func AvgpoolS16(o Opts, p PoolParams, inDims Dims, in []int16, fDims, outDims Dims, out []int16) error {
	return runPool(&o, "arm_avgpool_s16", poolAvg, p, inDims, in, fDims, outDims, out)
}

// MaxPoolS8 is arm_max_pool_s8: maximum over the in-bounds window, then
// clamp. No scratch.
func MaxPoolS8(o Opts, p PoolParams, inDims Dims, in []int8, fDims, outDims Dims, out []int8) error {
	return runPool(&o, "arm_max_pool_s8", poolMax, p, inDims, in, fDims, outDims, out)
}

// MaxPoolS16 is arm_max_pool_s16.
func MaxPoolS16(o Opts, p PoolParams, inDims Dims, in []int16, fDims, outDims Dims, out []int16) error {
	return runPool(&o, "arm_max_pool_s16", poolMax, p, inDims, in, fDims, outDims, out)
}

// NNQAvgpoolS8Even is nnq_avgpool_s8_even, nnq's own average pool for
// networks that follow ONNX/PyTorch arithmetic: as AvgpoolS8 (same
// arguments, windows, clamp and errors) but the mean sum/count is rounded
// half to even, as ONNX QuantizeLinear and PyTorch's quantized average pool
// round it. CMSIS-NN has no such function; nnq's C runtime provides it in
// every build (nnq_s8_nnq.c). No scratch.
func NNQAvgpoolS8Even(o Opts, p PoolParams, inDims Dims, in []int8, fDims, outDims Dims, out []int8) error {
	return runPool(&o, "nnq_avgpool_s8_even", poolAvgEven, p, inDims, in, fDims, outDims, out)
}

// NNQAvgpoolS16Even is nnq_avgpool_s16_even (as NNQAvgpoolS8Even on int16
// data).
func NNQAvgpoolS16Even(o Opts, p PoolParams, inDims Dims, in []int16, fDims, outDims Dims, out []int16) error {
	return runPool(&o, "nnq_avgpool_s16_even", poolAvgEven, p, inDims, in, fDims, outDims, out)
}

// AvgpoolS8GetBufferSize is arm_avgpool_s8_get_buffer_size(dim_dst_width,
// ch_src): 0 on the C path, 4·ch_src bytes (an int32 sum per channel) on
// the DSP path.
func AvgpoolS8GetBufferSize(t Target, outW, ch int) int {
	if t == DSPPath {
		return 4 * ch
	}
	return 0
}

// AvgpoolS16GetBufferSize is arm_avgpool_s16_get_buffer_size (as
// AvgpoolS8GetBufferSize).
func AvgpoolS16GetBufferSize(t Target, outW, ch int) int { return AvgpoolS8GetBufferSize(t, outW, ch) }
