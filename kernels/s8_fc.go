package kernels

// Fully connected layers of the s8/s16 API. Weights are row-major
// [output_depth][accum_depth]; filter_dims = {n: accum_depth, c:
// output_depth}, input_dims = {n: batches, h·w·c = accum_depth},
// output_dims = {n: batches, c: output_depth}.

func checkFCArgs(fn string, p FCParams, inDims Dims, nIn int, fDims Dims, nF int, nBias int, outDims Dims, nOut int,
	tmin, tmax int32) (batches, depth, rows int, err error) {
	for _, d := range []struct {
		name string
		d    Dims
	}{{"input_dims", inDims}, {"filter_dims", fDims}, {"output_dims", outDims}} {
		if err := checkDims(fn, d.name, d.d); err != nil {
			return 0, 0, 0, err
		}
	}
	if err := checkAct(fn, p.Activation, tmin, tmax); err != nil {
		return 0, 0, 0, err
	}
	batches, depth, rows = inDims.N, fDims.N, outDims.C
	if inDims.H*inDims.W*inDims.C != depth {
		return 0, 0, 0, invalid(fn, "input_dims %+v hold %d elements per batch, filter_dims.n (accumulation depth) is %d",
			inDims, inDims.H*inDims.W*inDims.C, depth)
	}
	if fDims.C != rows || outDims.N != batches {
		return 0, 0, 0, invalid(fn, "filter_dims.c %d / output_dims %+v do not match %d batches of %d outputs", fDims.C, outDims, batches, rows)
	}
	switch {
	case nIn < batches*depth:
		return 0, 0, 0, short(fn, "input", nIn, batches*depth)
	case nF < depth*rows:
		return 0, 0, 0, short(fn, "filter", nF, depth*rows)
	case nBias >= 0 && nBias < rows:
		return 0, 0, 0, short(fn, "bias", nBias, rows)
	case nOut < batches*rows:
		return 0, 0, 0, short(fn, "output", nOut, batches*rows)
	}
	return batches, depth, rows, nil
}

// FullyConnectedS8 is arm_fully_connected_s8: for each batch b and output
// o, acc = Σ_k (input[b,k] + input_offset)·(filter[o,k] + filter_offset)
// (int32, wraps) + bias[o], per-tensor Requantize, + output_offset, clamp.
// A non-zero filter_offset is computed as written (the C and DSP paths of
// v7.0.0 implement it although the header documents 0). bias nil = NULL.
// No scratch on the C and DSP paths.
func FullyConnectedS8(o Opts, p FCParams, q PerTensorQuantParams, inDims Dims, in []int8, fDims Dims, filter []int8,
	bias []int32, outDims Dims, out []int8) error {
	const fn = "arm_fully_connected_s8"
	batches, depth, rows, err := checkFCArgs(fn, p, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s8Min, s8Max)
	if err != nil {
		return err
	}
	if err := checkMultShift(fn, q.Multiplier, q.Shift); err != nil {
		return err
	}
	st := o.Stats
	inOff, fOff := int64(p.InputOffset), int64(p.FilterOffset)
	for b := 0; b < batches; b++ {
		x := in[b*depth : (b+1)*depth]
		for r := 0; r < rows; r++ {
			w := filter[r*depth : (r+1)*depth]
			w = w[:len(x)]
			var s int64
			if fOff == 0 {
				var s0, s1 int64
				i := 0
				for ; i+2 <= len(x); i += 2 {
					s0 += (int64(x[i]) + inOff) * int64(w[i])
					s1 += (int64(x[i+1]) + inOff) * int64(w[i+1])
				}
				if i < len(x) {
					s0 += (int64(x[i]) + inOff) * int64(w[i])
				}
				s = s0 + s1
			} else {
				for i, xv := range x {
					s += (int64(xv) + inOff) * (int64(w[i]) + fOff)
				}
			}
			out[b*rows+r] = finishS8(st, o.Requant, s, bias, r, q.Multiplier, q.Shift, p.OutputOffset, p.Activation)
		}
	}
	if st != nil {
		st.Calls++
	}
	return nil
}

// FullyConnectedS16 is arm_fully_connected_s16: int16 input, int8 weights,
// int64 bias (nil = NULL); offsets must be 0. The C path accumulates in
// int64; the DSP path accumulates the first 4·⌊min(accum_depth, 512)/4⌋
// products in int32 (wrapping) and the rest in int64, which Opts.Target
// selects. Then + bias, RequantizeS64 with the reduced multiplier, clamp.
func FullyConnectedS16(o Opts, p FCParams, q PerTensorQuantParams, inDims Dims, in []int16, fDims Dims, filter []int8,
	bias []int64, outDims Dims, out []int16) error {
	const fn = "arm_fully_connected_s16"
	if p.InputOffset != 0 || p.OutputOffset != 0 || p.FilterOffset != 0 {
		return invalid(fn, "s16 offsets must be 0")
	}
	batches, depth, rows, err := checkFCArgs(fn, p, inDims, len(in), fDims, len(filter), nBias(bias), outDims, len(out), s16Min, s16Max)
	if err != nil {
		return err
	}
	if err := checkMultShift(fn, q.Multiplier, q.Shift); err != nil {
		return err
	}
	if q.Shift > 14 {
		return invalid(fn, "shift %d above 14 (arm_nn_requantize_s64)", q.Shift)
	}
	n32 := 0
	if o.Target == DSPPath {
		n32 = min(depth, 512) &^ 3
	}
	st := o.Stats
	for b := 0; b < batches; b++ {
		x := in[b*depth : (b+1)*depth]
		for r := 0; r < rows; r++ {
			w := filter[r*depth : (r+1)*depth]
			var head, tail int64
			for i := 0; i < n32; i++ {
				head += int64(x[i]) * int64(w[i])
			}
			for i := n32; i < depth; i++ {
				tail += int64(x[i]) * int64(w[i])
			}
			out[b*rows+r] = finishS16(st, head+tail, int64(int32(head))+tail, bias, r, q.Multiplier, q.Shift, p.Activation)
		}
	}
	if st != nil {
		st.Calls++
	}
	return nil
}

// FullyConnectedS8GetBufferSize is arm_fully_connected_s8_get_buffer_size:
// 0 on the C and DSP paths (only the MVE path keeps kernel sums there).
func FullyConnectedS8GetBufferSize(t Target, fDims Dims) int { return 0 }

// FullyConnectedS16GetBufferSize is arm_fully_connected_s16_get_buffer_size:
// 0 on the C and DSP paths.
func FullyConnectedS16GetBufferSize(t Target, fDims Dims) int { return 0 }
