package kernels

// SoftmaxQ7 is arm_softmax_q7 (5.8.0+, identical on all targets), a base-2
// softmax: with m = max(in) and base = m-8,
// sum = Σ 2^clamp(x-base, 0, 7), ob = 2^20/sum, out = SSAT(ob >>
// clamp(13+base-x, 0, 31), 8). A lone maximum gives 256 → 127. out must be
// at least as long as in; an empty input does nothing (the C code would
// divide by zero).
func SoftmaxQ7(o Opts, in, out []int8) {
	softmaxQ7(o.Stats, in, out)
	o.Stats.countValues(len(in))
}

func softmaxQ7(st *Stats, in, out []int8) {
	if len(in) == 0 {
		return
	}
	out = out[:len(in)]
	m := int32(q7Min)
	for _, x := range in {
		m = max(m, int32(x))
	}
	base := m - 8
	var sum int32
	for _, x := range in {
		sum += 1 << uint(min(max(int32(x)-base, 0), 7))
	}
	ob := int32(1<<20) / sum
	for i, x := range in {
		y := ob >> uint(min(max(13+base-int32(x), 0), 31))
		out[i] = int8(sat(st, y, q7Min, q7Max))
	}
}

// SoftmaxQ15 is arm_softmax_q15: with m = max(in), base = m-16, elements
// x <= base are excluded from sum = Σ 2^(x-base) and output 0; ob =
// int32(2^32/sum), out = SSAT(ob >> clamp(17+base-x, 0, 31), 16). A lone
// maximum gives 32768 → 32767.
func SoftmaxQ15(o Opts, in, out []int16) {
	if len(in) == 0 {
		return
	}
	out = out[:len(in)]
	m := int32(q15Min)
	for _, x := range in {
		m = max(m, int32(x))
	}
	base := m - 16
	var sum int32
	for _, x := range in {
		if int32(x) > base {
			sum += 1 << uint(min(int32(x)-base, 31))
		}
	}
	ob := int32(int64(1<<32) / int64(sum))
	st := o.Stats
	for i, x := range in {
		if int32(x) > base {
			y := ob >> uint(min(max(17+base-int32(x), 0), 31))
			out[i] = int16(sat(st, y, q15Min, q15Max))
		} else {
			out[i] = 0
		}
	}
	st.countValues(len(in))
}

// SoftmaxWithBatchQ7 is arm_softmax_with_batch_q7: SoftmaxQ7 on each of
// nbBatches consecutive slices of dimVec elements.
func SoftmaxWithBatchQ7(o Opts, in []int8, nbBatches, dimVec int, out []int8) {
	for b := 0; b < nbBatches; b++ {
		softmaxQ7(o.Stats, in[b*dimVec:(b+1)*dimVec], out[b*dimVec:(b+1)*dimVec])
	}
	o.Stats.countValues(nbBatches * dimVec)
}
