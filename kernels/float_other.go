//go:build !amd64

package kernels

// Without the amd64 kernels ConvFloat.Run calls the plain kernels.
const haveFloatSIMD = false

func convBlock2x16(a *[2 * floatBlock]float64, x *float64, dx, xrow int, w *float64, ws, wrow, rows, n int) {
	panic("unreachable")
}

func convBlock1x16(a *[2 * floatBlock]float64, x *float64, xrow int, w *float64, ws, wrow, rows, n int) {
	panic("unreachable")
}

func depthwise16(a *[floatBlock]float64, x *float64, xcol, xrow int, w *float64, wcol, wrow, rows, cols int) {
	panic("unreachable")
}

const haveIntSIMD = false

func dot4x2Q7(x0, x1, w *int8, k, blocks int, s *[8]int32) { panic("unreachable") }

func depthwiseQ7x16(a *[16]int32, x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int) {
	panic("unreachable")
}

func dot4x2Q7Requant(x0, x1, w *int8, k, blocks int, rq *int32, os uint64, lo, hi int32, oa, ob *int8) {
	panic("unreachable")
}

func depthwiseQ7x16Requant(x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int, rq *int32, os uint64, lo, hi int32, out *int8) {
	panic("unreachable")
}

func dot4x2Q7RequantSat(x0, x1, w *int8, k, blocks int, rq *int32, os uint64, lo, hi int32, oa, ob *int8, sat *[2]int64) {
	panic("unreachable")
}

func depthwiseQ7x16RequantSat(x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int, rq *int32, os uint64, lo, hi int32, out *int8, sat *[2]int64) {
	panic("unreachable")
}
