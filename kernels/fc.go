package kernels

// Fully connected kernels (facts sheet §4):
// out[r] = SSAT(((bias[r] << bias_shift) + R + Σ_j pV[j]·W[r][j]) >> out_shift).
// Argument order follows the C functions. They never fail on size (the
// library checks nothing); errors are only for invalid shifts, sizes outside
// uint16 or short slices. Plain variants take row-major weights
// [numRows][dimVec]; _opt variants take the interleaved layout produced by
// InterleaveQ7Opt, InterleaveQ15Opt and InterleaveMatQ7VecQ15Opt.

func checkFC(v Variant, o *Opts, dimVec, rows, nV, nM, nBias, nOut, biasShift, outShift int) error {
	if err := v.Valid(FCGeom(dimVec, rows), o.Target); err != nil {
		return err
	}
	if err := ValidShifts(biasShift, outShift); err != nil {
		return err
	}
	if nV < dimVec || nM < dimVec*rows || nBias < rows || nOut < rows {
		return ErrShortBuffer
	}
	return nil
}

// FullyConnectedQ7 is arm_fully_connected_q7.
func FullyConnectedQ7(o Opts, pV, pM []int8, dimVec, numRows, biasShift, outShift int, bias, pOut []int8) error {
	if err := checkFC(VarFullyConnectedQ7, &o, dimVec, numRows, len(pV), len(pM), len(bias), len(pOut), biasShift, outShift); err != nil {
		return err
	}
	fcCore(&o, pV, pM, dimVec, numRows, biasShift, outShift, bias, pOut, q7Min, q7Max)
	return nil
}

// FullyConnectedQ7Opt is arm_fully_connected_q7_opt; pM is interleaved by
// InterleaveQ7Opt.
func FullyConnectedQ7Opt(o Opts, pV, pM []int8, dimVec, numRows, biasShift, outShift int, bias, pOut []int8) error {
	if err := checkFC(VarFullyConnectedQ7Opt, &o, dimVec, numRows, len(pV), len(pM), len(bias), len(pOut), biasShift, outShift); err != nil {
		return err
	}
	fcQ7OptCore(&o, pV, pM, dimVec, numRows, biasShift, outShift, bias, pOut)
	return nil
}

// FullyConnectedQ15 is arm_fully_connected_q15 (q15 bias).
func FullyConnectedQ15(o Opts, pV, pM []int16, dimVec, numRows, biasShift, outShift int, bias, pOut []int16) error {
	if err := checkFC(VarFullyConnectedQ15, &o, dimVec, numRows, len(pV), len(pM), len(bias), len(pOut), biasShift, outShift); err != nil {
		return err
	}
	fcCore(&o, pV, pM, dimVec, numRows, biasShift, outShift, bias, pOut, q15Min, q15Max)
	return nil
}

// FullyConnectedQ15Opt is arm_fully_connected_q15_opt; pM is interleaved by
// InterleaveQ15Opt.
func FullyConnectedQ15Opt(o Opts, pV, pM []int16, dimVec, numRows, biasShift, outShift int, bias, pOut []int16) error {
	if err := checkFC(VarFullyConnectedQ15Opt, &o, dimVec, numRows, len(pV), len(pM), len(bias), len(pOut), biasShift, outShift); err != nil {
		return err
	}
	fcPairOptCore(&o, pV, pM, dimVec, numRows, biasShift, outShift, bias, pOut, &q15OptPair)
	return nil
}

// FullyConnectedMatQ7VecQ15 is arm_fully_connected_mat_q7_vec_q15: q15
// vector, q7 weights and bias, q15 output.
func FullyConnectedMatQ7VecQ15(o Opts, pV []int16, pM []int8, dimVec, numRows, biasShift, outShift int, bias []int8, pOut []int16) error {
	if err := checkFC(VarFullyConnectedMatQ7VecQ15, &o, dimVec, numRows, len(pV), len(pM), len(bias), len(pOut), biasShift, outShift); err != nil {
		return err
	}
	fcCore(&o, pV, pM, dimVec, numRows, biasShift, outShift, bias, pOut, q15Min, q15Max)
	return nil
}

// FullyConnectedMatQ7VecQ15Opt is arm_fully_connected_mat_q7_vec_q15_opt;
// pM is interleaved by InterleaveMatQ7VecQ15Opt.
func FullyConnectedMatQ7VecQ15Opt(o Opts, pV []int16, pM []int8, dimVec, numRows, biasShift, outShift int, bias []int8, pOut []int16) error {
	if err := checkFC(VarFullyConnectedMatQ7VecQ15Opt, &o, dimVec, numRows, len(pV), len(pM), len(bias), len(pOut), biasShift, outShift); err != nil {
		return err
	}
	fcPairOptCore(&o, pV, pM, dimVec, numRows, biasShift, outShift, bias, pOut, &matOptPair)
	return nil
}

func fcCore[V, W, B, O qint](o *Opts, pV []V, pM []W, dimVec, rows, biasShift, outShift int, bias []B, pOut []O, lo, hi int32) {
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	v := pV[:dimVec]
	for r := 0; r < rows; r++ {
		acc := dot(v, pM[r*dimVec:(r+1)*dimVec])
		if st == nil {
			pOut[r] = O(requantFast(acc, int32(bias[r]), bs, os, rt, lo, hi))
		} else {
			pOut[r] = O(requant(st, acc, int32(bias[r]), bs, os, rt, lo, hi))
		}
	}
	if st != nil {
		st.Calls++
	}
}

// fcGroupOut requantises the four accumulators of the row group at r0.
func fcGroupOut[B, O qint](st *Stats, a *[4]int64, r0 int, bias []B, pOut []O, bs, os uint, rt int64, lo, hi int32) {
	for i := 0; i < 4; i++ {
		if st == nil {
			pOut[r0+i] = O(requantFast(a[i], int32(bias[r0+i]), bs, os, rt, lo, hi))
		} else {
			pOut[r0+i] = O(requant(st, a[i], int32(bias[r0+i]), bs, os, rt, lo, hi))
		}
	}
}

func fcQ7OptCore(o *Opts, pV, pM []int8, dimVec, rows, biasShift, outShift int, bias, pOut []int8) {
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	idx := 0
	for r0 := 0; r0+4 <= rows; r0 += 4 {
		var a [4]int64
		c := 0
		for ; c+4 <= dimVec; c += 4 {
			m := pM[idx : idx+16 : idx+16]
			v0, v1, v2, v3 := int64(pV[c]), int64(pV[c+1]), int64(pV[c+2]), int64(pV[c+3])
			a[0] += int64(m[0])*v0 + int64(m[2])*v2 + int64(m[8])*v1 + int64(m[10])*v3
			a[1] += int64(m[1])*v0 + int64(m[3])*v2 + int64(m[9])*v1 + int64(m[11])*v3
			a[2] += int64(m[4])*v0 + int64(m[6])*v2 + int64(m[12])*v1 + int64(m[14])*v3
			a[3] += int64(m[5])*v0 + int64(m[7])*v2 + int64(m[13])*v1 + int64(m[15])*v3
			idx += 16
		}
		for ; c < dimVec; c++ {
			m := pM[idx : idx+4 : idx+4]
			v := int64(pV[c])
			a[0] += int64(m[0]) * v
			a[1] += int64(m[1]) * v
			a[2] += int64(m[2]) * v
			a[3] += int64(m[3]) * v
			idx += 4
		}
		fcGroupOut(st, &a, r0, bias, pOut, bs, os, rt, q7Min, q7Max)
	}
	for r := rows - rows%4; r < rows; r++ {
		acc := dot(pV[:dimVec], pM[idx:idx+dimVec])
		pOut[r] = int8(requant(st, acc, int32(bias[r]), bs, os, rt, q7Min, q7Max))
		idx += dimVec
	}
	if st != nil {
		st.Calls++
	}
}

// pairLayout describes the 8-element block of the column-pair _opt layouts
// (q15_opt and mat_q7_vec_q15_opt): element i holds W[r0+row[i]][c+col[i]].
type pairLayout struct{ row, col [8]int }

var (
	q15OptPair = pairLayout{row: [8]int{0, 0, 1, 1, 2, 2, 3, 3}, col: [8]int{0, 1, 0, 1, 0, 1, 0, 1}}
	matOptPair = pairLayout{row: [8]int{0, 1, 0, 1, 2, 3, 2, 3}, col: [8]int{0, 0, 1, 1, 0, 0, 1, 1}}
)

func fcPairOptCore[W, B qint](o *Opts, pV []int16, pM []W, dimVec, rows, biasShift, outShift int, bias []B, pOut []int16, lay *pairLayout) {
	st := o.Stats
	rt := o.Rounding.roundTerm(outShift)
	bs, os := uint(biasShift), uint(outShift)
	idx := 0
	for r0 := 0; r0+4 <= rows; r0 += 4 {
		var a [4]int64
		c := 0
		if lay == &q15OptPair {
			for ; c+2 <= dimVec; c += 2 {
				m := pM[idx : idx+8 : idx+8]
				v0, v1 := int64(pV[c]), int64(pV[c+1])
				a[0] += int64(m[0])*v0 + int64(m[1])*v1
				a[1] += int64(m[2])*v0 + int64(m[3])*v1
				a[2] += int64(m[4])*v0 + int64(m[5])*v1
				a[3] += int64(m[6])*v0 + int64(m[7])*v1
				idx += 8
			}
		} else {
			for ; c+2 <= dimVec; c += 2 {
				m := pM[idx : idx+8 : idx+8]
				v0, v1 := int64(pV[c]), int64(pV[c+1])
				a[0] += int64(m[0])*v0 + int64(m[2])*v1
				a[1] += int64(m[1])*v0 + int64(m[3])*v1
				a[2] += int64(m[4])*v0 + int64(m[6])*v1
				a[3] += int64(m[5])*v0 + int64(m[7])*v1
				idx += 8
			}
		}
		if c < dimVec {
			m := pM[idx : idx+4 : idx+4]
			v := int64(pV[c])
			a[0] += int64(m[0]) * v
			a[1] += int64(m[1]) * v
			a[2] += int64(m[2]) * v
			a[3] += int64(m[3]) * v
			idx += 4
		}
		fcGroupOut(st, &a, r0, bias, pOut, bs, os, rt, q15Min, q15Max)
	}
	for r := rows - rows%4; r < rows; r++ {
		acc := dot(pV[:dimVec], pM[idx:idx+dimVec])
		pOut[r] = int16(requant(st, acc, int32(bias[r]), bs, os, rt, q15Min, q15Max))
		idx += dimVec
	}
	if st != nil {
		st.Calls++
	}
}
