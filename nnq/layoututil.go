package nnq

// fwIndex is the offset of element (y, x, c) of an H×W×C feature map stored
// in the framework layout l (CHW for NCHW, HWC otherwise).
func fwIndex(l Layout, H, W, C, y, x, c int) int {
	if l == NCHW {
		return (c*H+y)*W + x
	}
	return (y*W+x)*C + c
}

// toHWC copies a feature map from framework layout l into HWC order.
func toHWC(l Layout, H, W, C int, src, dst []float32) {
	if l != NCHW {
		copy(dst, src)
		return
	}
	for c := 0; c < C; c++ {
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				dst[(y*W+x)*C+c] = src[(c*H+y)*W+x]
			}
		}
	}
}

// fromHWC copies an HWC feature map into framework layout l.
func fromHWC(l Layout, H, W, C int, src, dst []float32) {
	if l != NCHW {
		copy(dst, src)
		return
	}
	for c := 0; c < C; c++ {
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				dst[(c*H+y)*W+x] = src[(y*W+x)*C+c]
			}
		}
	}
}

// flatOrder returns, for a vector made by flattening the map hwc in layout l,
// the framework-order index of each HWC-order element: perm[hwcIndex] =
// frameworkIndex. It is nil when the two orders agree.
func flatOrder(l Layout, hwc []int) []int {
	if l != NCHW || hwc == nil {
		return nil
	}
	H, W, C := hwc[0], hwc[1], hwc[2]
	if C == 1 || H*W == 1 {
		return nil
	}
	perm := make([]int, H*W*C)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			for c := 0; c < C; c++ {
				perm[(y*W+x)*C+c] = (c*H+y)*W + x
			}
		}
	}
	return perm
}

// axisOf returns the stride and length of one axis of a row-major shape.
func axisOf(shape []int, axis int) (stride, n int) {
	stride = 1
	for i := axis + 1; i < len(shape); i++ {
		stride *= shape[i]
	}
	return stride, shape[axis]
}

// scaleAxis multiplies every element of data (of the given shape) whose
// index along axis is k by s[k].
func scaleAxis(data []float32, shape []int, axis int, s []float64) {
	stride, n := axisOf(shape, axis)
	for i := range data {
		data[i] = float32(float64(data[i]) * s[(i/stride)%n])
	}
}

func applyFused(l *Layer, y []float32) {
	if l.Attrs.Activation == "relu" {
		for i, v := range y {
			if v < 0 {
				y[i] = 0
			}
		}
	}
}
