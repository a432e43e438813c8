package kernels

import "fmt"

// ConvGeom is the geometry of a convolution, depthwise convolution or pool
// (x = width/columns, y = height/rows). Activations are HWC: element
// (y, x, c) of an H×W×C tensor is at (y*W+x)*C+c. Convolution weights are
// OHWI, ((o*KY+ky)*KX+kx)*InC+ci; depthwise weights (ky*KX+kx)*C+c.
//
// The output size is not derived: as in the library the caller passes
// OutX/OutY. The window of output o along an axis covers input positions
// o*Stride-Pad ... o*Stride-Pad+K-1; positions outside the input are skipped.
// An output larger than StdOut therefore acts as extra bottom/right zero
// padding (only for the bounds-checked variants, see Variant.Valid).
//
// Pooling uses InC as the channel count and requires OutC == InC (or 0).
// Fully connected and element-wise variants use the degenerate geometries
// built by FCGeom and VecGeom.
type ConvGeom struct {
	InX, InY, InC    int
	OutC             int
	KX, KY           int
	PadX, PadY       int
	StrideX, StrideY int
	OutX, OutY       int
}

// SquareGeom builds the geometry of a square-signature call (dim_im_in,
// ch_im_in, ch_im_out, dim_kernel, padding, stride, dim_im_out).
func SquareGeom(dimIn, chIn, chOut, k, pad, stride, dimOut int) ConvGeom {
	return ConvGeom{InX: dimIn, InY: dimIn, InC: chIn, OutC: chOut, KX: k, KY: k,
		PadX: pad, PadY: pad, StrideX: stride, StrideY: stride, OutX: dimOut, OutY: dimOut}
}

// PoolGeom builds a pooling geometry with ch channels.
func PoolGeom(inX, inY, ch, kx, ky, padX, padY, strideX, strideY, outX, outY int) ConvGeom {
	return ConvGeom{InX: inX, InY: inY, InC: ch, OutC: ch, KX: kx, KY: ky,
		PadX: padX, PadY: padY, StrideX: strideX, StrideY: strideY, OutX: outX, OutY: outY}
}

// FCGeom is the geometry used to query fully connected variants: a 1×1
// convolution of a 1×1×dimVec input into rows channels.
func FCGeom(dimVec, rows int) ConvGeom {
	return ConvGeom{InX: 1, InY: 1, InC: dimVec, OutC: rows, KX: 1, KY: 1,
		StrideX: 1, StrideY: 1, OutX: 1, OutY: 1}
}

// VecGeom is the geometry used to query element-wise, activation and
// softmax variants on a vector of n elements (per call; per batch for
// SoftmaxWithBatchQ7).
func VecGeom(n int) ConvGeom { return FCGeom(n, n) }

// StdOut returns the standard output size floor((in+2*pad-k)/stride)+1
// along each axis (0 if the kernel does not fit or stride < 1).
func (g ConvGeom) StdOut() (outX, outY int) {
	return stdOut(g.InX, g.PadX, g.KX, g.StrideX), stdOut(g.InY, g.PadY, g.KY, g.StrideY)
}

func stdOut(in, pad, k, stride int) int {
	if stride < 1 || in+2*pad < k {
		return 0
	}
	return (in+2*pad-k)/stride + 1
}

// IsSquare reports whether the geometry is expressible with a square
// signature.
func (g ConvGeom) IsSquare() bool {
	return g.InX == g.InY && g.KX == g.KY && g.PadX == g.PadY &&
		g.StrideX == g.StrideY && g.OutX == g.OutY
}

// nonSquarePart names the first x/y pair of g that differs, as "input
// 25x5 (x by y)", for a message ("" when g is square).
func (g ConvGeom) nonSquarePart() string {
	for _, p := range [...]struct {
		name string
		x, y int
	}{{"input", g.InX, g.InY}, {"kernel", g.KX, g.KY}, {"padding", g.PadX, g.PadY}, {"stride", g.StrideX, g.StrideY}, {"output", g.OutX, g.OutY}} {
		if p.x != p.y {
			return fmt.Sprintf("%s is %dx%d (x by y)", p.name, p.x, p.y)
		}
	}
	return ""
}

// InSize, OutSize: element counts of the input and output tensors.
func (g ConvGeom) InSize() int  { return g.InX * g.InY * g.InC }
func (g ConvGeom) OutSize() int { return g.OutX * g.OutY * g.OutC }

// WeightSize is the element count of OHWI convolution weights.
func (g ConvGeom) WeightSize() int { return g.OutC * g.KY * g.KX * g.InC }

// DepthwiseWeightSize is the element count of depthwise weights.
func (g ConvGeom) DepthwiseWeightSize() int { return g.KY * g.KX * g.InC }
