package kernels

// Weight interleavings of the _opt fully connected kernels (facts sheet §4).
// Rows are taken in groups of four (r0..r3); within a group the columns are
// taken in blocks (4 columns for q7_opt, 2 for q15_opt and
// mat_q7_vec_q15_opt) whose elements are emitted in a fixed order; leftover
// columns (cols % block) follow as W[r0][j], W[r1][j], W[r2][j], W[r3][j];
// rows left over after the last full group (rows % 4) are appended
// unchanged, row-major. These functions allocate; they are for codegen and
// tests, not the hot path.

// q7OptBlock: element i of a 16-element block holds W[r0+row][c+col].
var q7OptBlock = [16][2]int{
	{0, 0}, {1, 0}, {0, 2}, {1, 2}, {2, 0}, {3, 0}, {2, 2}, {3, 2},
	{0, 1}, {1, 1}, {0, 3}, {1, 3}, {2, 1}, {3, 1}, {2, 3}, {3, 3},
}

func pairBlock(l *pairLayout) [][2]int {
	b := make([][2]int, 8)
	for i := range b {
		b[i] = [2]int{l.row[i], l.col[i]}
	}
	return b
}

// optPerm returns perm with interleaved[k] = plain[perm[k]].
func optPerm(rows, cols, width int, block [][2]int) []int {
	perm := make([]int, 0, rows*cols)
	for r0 := 0; r0+4 <= rows; r0 += 4 {
		c := 0
		for ; c+width <= cols; c += width {
			for _, e := range block {
				perm = append(perm, (r0+e[0])*cols+c+e[1])
			}
		}
		for ; c < cols; c++ {
			for i := 0; i < 4; i++ {
				perm = append(perm, (r0+i)*cols+c)
			}
		}
	}
	for k := rows - rows%4; k < rows; k++ {
		for c := 0; c < cols; c++ {
			perm = append(perm, k*cols+c)
		}
	}
	return perm
}

func applyPerm[T qint](w []T, perm []int, inverse bool) []T {
	if len(w) < len(perm) {
		panic("kernels: weight slice shorter than rows*cols")
	}
	out := make([]T, len(perm))
	for k, p := range perm {
		if inverse {
			out[p] = w[k]
		} else {
			out[k] = w[p]
		}
	}
	return out
}

func q7OptPerm(rows, cols int) []int { return optPerm(rows, cols, 4, q7OptBlock[:]) }
func q15OptPerm(rows, cols int) []int {
	return optPerm(rows, cols, 2, pairBlock(&q15OptPair))
}
func matOptPerm(rows, cols int) []int {
	return optPerm(rows, cols, 2, pairBlock(&matOptPair))
}

// InterleaveQ7Opt converts plain row-major weights [rows][cols] into the
// layout of arm_fully_connected_q7_opt. It panics if len(w) < rows*cols.
func InterleaveQ7Opt(w []int8, rows, cols int) []int8 {
	return applyPerm(w, q7OptPerm(rows, cols), false)
}

// DeinterleaveQ7Opt inverts InterleaveQ7Opt.
func DeinterleaveQ7Opt(w []int8, rows, cols int) []int8 {
	return applyPerm(w, q7OptPerm(rows, cols), true)
}

// InterleaveQ15Opt converts plain row-major weights into the layout of
// arm_fully_connected_q15_opt.
func InterleaveQ15Opt(w []int16, rows, cols int) []int16 {
	return applyPerm(w, q15OptPerm(rows, cols), false)
}

// DeinterleaveQ15Opt inverts InterleaveQ15Opt.
func DeinterleaveQ15Opt(w []int16, rows, cols int) []int16 {
	return applyPerm(w, q15OptPerm(rows, cols), true)
}

// InterleaveMatQ7VecQ15Opt converts plain row-major q7 weights into the
// layout of arm_fully_connected_mat_q7_vec_q15_opt.
func InterleaveMatQ7VecQ15Opt(w []int8, rows, cols int) []int8 {
	return applyPerm(w, matOptPerm(rows, cols), false)
}

// DeinterleaveMatQ7VecQ15Opt inverts InterleaveMatQ7VecQ15Opt.
func DeinterleaveMatQ7VecQ15Opt(w []int8, rows, cols int) []int8 {
	return applyPerm(w, matOptPerm(rows, cols), true)
}
