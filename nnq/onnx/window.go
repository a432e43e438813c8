package onnx

import (
	"github.com/nnq-toolkit/nnq/nnq"
)

type onnxWindow struct {
	kernel, strides, pads []int
	autoPad               string
}

func (n *onode) windowAttrs(needKernel bool) onnxWindow {
	w := onnxWindow{kernel: n.attrInts("kernel_shape"), strides: n.attrInts("strides"), pads: n.attrInts("pads")}
	w.autoPad = n.attrString("auto_pad", "NOTSET")
	switch w.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		n.failf("auto_pad %q is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", w.autoPad)
	}
	if w.kernel == nil && needKernel {
		n.failf("kernel_shape is missing")
	}
	if w.kernel != nil && len(w.kernel) != 2 {
		n.failf("%d-D window %v: only 2-D windows map onto CMSIS-NN (rewrite 1-D as 2-D with H=1)", len(w.kernel), w.kernel)
	}
	for _, k := range w.kernel {
		if k < 1 {
			n.failf("kernel_shape %v has a non-positive size", w.kernel)
			break
		}
	}
	if w.strides == nil {
		w.strides = []int{1, 1}
	}
	if len(w.strides) != 2 || w.strides[0] < 1 || w.strides[1] < 1 {
		n.failf("strides %v must be two positive numbers", w.strides)
	}
	if w.pads != nil {
		if len(w.pads) != 4 {
			n.failf("pads %v must be [top, left, bottom, right] (2-D)", w.pads)
		}
		for _, p := range w.pads {
			if p < 0 {
				n.failf("negative pads %v are not supported", w.pads)
				break
			}
		}
	}
	if d := n.attrInts("dilations"); d != nil {
		for _, v := range d {
			if v != 1 {
				n.failf("dilations %v: CMSIS-NN has no dilated kernels (only dilation 1); rewrite it with a larger kernel or strided layers", d)
				break
			}
		}
	}
	return w
}

// sameSplit is the ONNX SAME_* padding of one axis: total padding so that
// out = ceil(in/s), the odd pixel at the end (upper) or start (lower).
func sameSplit(in, k, s int, upper bool) (head, tail int) {
	out := (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	head = total / 2
	if !upper {
		head = total - total/2
	}
	return head, total - head
}

// padAttrs sets a layer's padding from the window attributes plus a
// pending Pad on x; it also returns the total pads [top,left,bottom,right].
func padAttrs(x *oact, kh, kw int, w onnxWindow) (nnq.Attrs, []int) {
	H, W := x.dims[2], x.dims[3] // after any pending Pad
	p := []int{0, 0, 0, 0}
	switch w.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		up := w.autoPad == "SAME_UPPER"
		p[0], p[2] = sameSplit(H, kh, w.strides[0], up)
		p[1], p[3] = sameSplit(W, kw, w.strides[1], up)
	case "VALID":
	default:
		if len(w.pads) == 4 {
			copy(p, w.pads)
		}
	}
	a := nnq.Attrs{Kernel: []int{kh, kw}, Strides: append([]int(nil), w.strides...)}
	if w.autoPad == "SAME_UPPER" && x.pads == nil {
		a.Padding = "same"
		return a, p
	}
	if x.pads != nil {
		for i := range p {
			p[i] += x.pads[i]
		}
	}
	if p[0]|p[1]|p[2]|p[3] != 0 {
		a.Padding, a.Pads = "explicit", append([]int(nil), p...)
	}
	return a, p
}

// checkCeil accepts ceil_mode=1 when it gives the floor output size.
func checkCeil(n *onode, x *oact, kh, kw int, w onnxWindow, p []int) bool {
	if w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER" {
		return true // the output size is ceil(in/s) either way
	}
	H, W := x.dims[2]+p[0]+p[2], x.dims[3]+p[1]+p[3]
	fh, fw := (H-kh)/w.strides[0]+1, (W-kw)/w.strides[1]+1
	ceil := func(in, k, s, pad int, begin int) int {
		o := (in-k+s-1)/s + 1
		// The last window must start inside the input or the top/left padding.
		if (o-1)*s >= in-pad+begin {
			o--
		}
		return o
	}
	ch, cw := ceil(H, kh, w.strides[0], p[2], p[0]), ceil(W, kw, w.strides[1], p[3], p[1])
	if ch != fh || cw != fw {
		n.failf("ceil_mode=1 gives a %dx%d output where CMSIS-NN pools give %dx%d (floor); pad the input or export with ceil_mode=0", ch, cw, fh, fw)
		return false
	}
	return true
}
