package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

// ONNX TensorProto data types the importer decodes.
const (
	onnxFloat    = int32(onnxpb.TensorProto_FLOAT)
	onnxUint8    = int32(onnxpb.TensorProto_UINT8)
	onnxInt8     = int32(onnxpb.TensorProto_INT8)
	onnxUint16   = int32(onnxpb.TensorProto_UINT16)
	onnxInt16    = int32(onnxpb.TensorProto_INT16)
	onnxInt32    = int32(onnxpb.TensorProto_INT32)
	onnxInt64    = int32(onnxpb.TensorProto_INT64)
	onnxBool     = int32(onnxpb.TensorProto_BOOL)
	onnxFloat16  = int32(onnxpb.TensorProto_FLOAT16)
	onnxDouble   = int32(onnxpb.TensorProto_DOUBLE)
	onnxUint32   = int32(onnxpb.TensorProto_UINT32)
	onnxUint64   = int32(onnxpb.TensorProto_UINT64)
	onnxBfloat16 = int32(onnxpb.TensorProto_BFLOAT16)
)

// onnxMaxElems bounds the elements of one constant tensor (weights or a
// folded shape computation); onnxMaxDim bounds one dimension, attribute
// value (kernel, stride, pad) or input size.
const (
	onnxMaxElems = 1 << 25
	onnxMaxDim   = 1 << 20
)

// ctensor is a constant ONNX tensor: an initializer, a Constant node or the
// result of folding a shape computation over constants. Values are held as
// float64, which represents every float32 and every integer a shape uses
// exactly.
type ctensor struct {
	dims  []int
	v     []float64
	dtype int32
	// qscale holds the symmetric int8 scales (one, or one per index of
	// axis 0) of a constant made by DequantizeLinear (qdq.go).
	qscale []float64
}

func (t *ctensor) size() int { return len(t.v) }

func (t *ctensor) isInt() bool {
	switch t.dtype {
	case onnxFloat, onnxDouble, onnxFloat16, onnxBfloat16:
		return false
	}
	return true
}

// ints returns the values as ints (for shapes, axes, pads), or an error if
// one is not a whole number. Magnitudes beyond 2^40 saturate (exporters
// write INT64_MIN/MAX as "to the end" in Slice); sizes that large fail the
// later range checks.
func (t *ctensor) ints() ([]int, error) {
	out := make([]int, len(t.v))
	for i, v := range t.v {
		if v != math.Trunc(v) {
			return nil, fmt.Errorf("value %v is not an integer", v)
		}
		out[i] = int(math.Max(-(1 << 40), math.Min(v, 1<<40)))
	}
	return out, nil
}

func (t *ctensor) float32s() []float32 {
	out := make([]float32, len(t.v))
	for i, v := range t.v {
		out[i] = float32(v)
	}
	return out
}

// dimsSize multiplies dims, failing on a negative dimension or a product
// over limit.
func dimsSize(dims []int, limit int) (int, error) {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", dims)
		}
		if d == 0 {
			n = 0
			continue
		}
		if n != 0 && n > limit/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", dims, limit)
		}
		n *= d
	}
	if n > limit {
		return 0, fmt.Errorf("shape %v has more than %d elements", dims, limit)
	}
	return n, nil
}

func int64sToInts(v []int64) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		if x < -(1<<40) || x > 1<<40 {
			return nil, fmt.Errorf("value %d is out of range", x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// decodeTensor reads a TensorProto's values.
func decodeTensor(tp *onnxpb.TensorProto) (*ctensor, error) {
	if tp == nil {
		return nil, fmt.Errorf("the tensor attribute holds no tensor")
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fmt.Errorf("tensor %q keeps its data in an external file, which nnq does not read; save the model with the weights inside (onnx.save_model(m, path, save_as_external_data=False))", tp.GetName())
	}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("tensor %q is a segment of a larger tensor, which nnq does not read", tp.GetName())
	}
	dims, err := int64sToInts(tp.GetDims())
	if err != nil {
		return nil, fmt.Errorf("tensor %q: dims %v: %v", tp.GetName(), tp.GetDims(), err)
	}
	n, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %v", tp.GetName(), err)
	}
	t := &ctensor{dims: dims, v: make([]float64, n), dtype: tp.GetDataType()}
	raw := tp.GetRawData()
	hasRaw := tp.RawData != nil
	width := map[int32]int{onnxFloat: 4, onnxDouble: 8, onnxFloat16: 2, onnxBfloat16: 2, onnxInt8: 1, onnxUint8: 1,
		onnxInt16: 2, onnxUint16: 2, onnxInt32: 4, onnxUint32: 4, onnxInt64: 8, onnxUint64: 8, onnxBool: 1}[t.dtype]
	if width == 0 {
		name, ok := onnxpb.TensorProto_DataType_name[t.dtype]
		if !ok {
			name = fmt.Sprint(t.dtype)
		}
		return nil, fmt.Errorf("tensor %q has data type %s, which nnq does not read (float, double, float16, bfloat16 and integer types only)", tp.GetName(), name)
	}
	count := func(have int) error {
		if have != n {
			return fmt.Errorf("tensor %q: %d values for shape %v (%d elements)", tp.GetName(), have, dims, n)
		}
		return nil
	}
	if hasRaw {
		if len(raw) != n*width {
			return nil, fmt.Errorf("tensor %q: %d bytes of raw data for shape %v of %d-byte elements", tp.GetName(), len(raw), dims, width)
		}
		for i := range t.v {
			b := raw[i*width:]
			var v float64
			switch t.dtype {
			case onnxFloat:
				v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			case onnxDouble:
				v = math.Float64frombits(binary.LittleEndian.Uint64(b))
			case onnxFloat16:
				v = float64(halfToFloat(binary.LittleEndian.Uint16(b)))
			case onnxBfloat16:
				v = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))
			case onnxInt8:
				v = float64(int8(b[0]))
			case onnxUint8:
				v = float64(b[0])
			case onnxBool:
				v = float64(b[0] & 1)
			case onnxInt16:
				v = float64(int16(binary.LittleEndian.Uint16(b)))
			case onnxUint16:
				v = float64(binary.LittleEndian.Uint16(b))
			case onnxInt32:
				v = float64(int32(binary.LittleEndian.Uint32(b)))
			case onnxUint32:
				v = float64(binary.LittleEndian.Uint32(b))
			case onnxInt64:
				v = float64(int64(binary.LittleEndian.Uint64(b)))
			case onnxUint64:
				v = float64(binary.LittleEndian.Uint64(b))
			}
			t.v[i] = v
		}
		return t, nil
	}
	switch t.dtype {
	case onnxFloat:
		if err := count(len(tp.GetFloatData())); err != nil {
			return nil, err
		}
		for i, v := range tp.GetFloatData() {
			t.v[i] = float64(v)
		}
	case onnxDouble:
		if err := count(len(tp.GetDoubleData())); err != nil {
			return nil, err
		}
		copy(t.v, tp.GetDoubleData())
	case onnxInt64:
		if err := count(len(tp.GetInt64Data())); err != nil {
			return nil, err
		}
		for i, v := range tp.GetInt64Data() {
			t.v[i] = float64(v)
		}
	case onnxUint32, onnxUint64:
		if err := count(len(tp.GetUint64Data())); err != nil {
			return nil, err
		}
		for i, v := range tp.GetUint64Data() {
			t.v[i] = float64(v)
		}
	default: // the small types travel in int32_data
		if err := count(len(tp.GetInt32Data())); err != nil {
			return nil, err
		}
		for i, v := range tp.GetInt32Data() {
			switch t.dtype {
			case onnxFloat16:
				t.v[i] = float64(halfToFloat(uint16(v)))
			case onnxBfloat16:
				t.v[i] = float64(math.Float32frombits(uint32(uint16(v)) << 16))
			default:
				t.v[i] = float64(v)
			}
		}
	}
	return t, nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: frac * 2^-24.
	f := float32(frac) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// strides returns row-major strides of dims.
func strides(dims []int) []int {
	s := make([]int, len(dims))
	n := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = n
		n *= dims[i]
	}
	return s
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// castValue converts v as ONNX Cast to type to does.
func castValue(v float64, to int32) float64 {
	switch to {
	case onnxFloat:
		return float64(float32(v))
	case onnxFloat16, onnxBfloat16:
		return float64(float32(v)) // close enough for folded shape math
	case onnxDouble:
		return v
	case onnxBool:
		if v != 0 {
			return 1
		}
		return 0
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Trunc(v)
}

// broadcastDims is numpy broadcasting of two shapes.
func broadcastDims(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastIndex maps a flat index of the broadcast shape out to a flat
// index of a tensor of shape dims.
func broadcastIndex(i int, out, outStrides, dims []int) int {
	off := len(out) - len(dims)
	idx, st := 0, 1
	for k := len(dims) - 1; k >= 0; k-- {
		c := (i / outStrides[k+off]) % out[k+off]
		if dims[k] != 1 {
			idx += c * st
		}
		st *= dims[k]
	}
	return idx
}

// binaryConst applies f element-wise with broadcasting.
func binaryConst(a, b *ctensor, f func(x, y float64) float64) (*ctensor, error) {
	dims, err := broadcastDims(a.dims, b.dims)
	if err != nil {
		return nil, err
	}
	n, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		return nil, err
	}
	st := strides(dims)
	out := &ctensor{dims: dims, v: make([]float64, n), dtype: a.dtype}
	for i := range out.v {
		out.v[i] = f(a.v[broadcastIndex(i, dims, st, a.dims)], b.v[broadcastIndex(i, dims, st, b.dims)])
	}
	return out, nil
}

// transposeConst permutes the axes of t.
func transposeConst(t *ctensor, perm []int) (*ctensor, error) {
	r := len(t.dims)
	if perm == nil {
		perm = make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm %v does not fit rank %d", perm, r)
	}
	seen := make([]bool, r)
	dims := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		seen[p] = true
		dims[i] = t.dims[p]
	}
	in := strides(t.dims)
	os := strides(dims)
	out := &ctensor{dims: dims, v: make([]float64, len(t.v)), dtype: t.dtype}
	for i := range out.v {
		src := 0
		for k := 0; k < r; k++ {
			src += ((i / os[k]) % dims[k]) * in[perm[k]]
		}
		out.v[i] = t.v[src]
	}
	return out, nil
}

// gatherConst is ONNX Gather on constants.
func gatherConst(t, idx *ctensor, axis int) (*ctensor, error) {
	axis, err := normAxis(axis, len(t.dims))
	if err != nil {
		return nil, err
	}
	ind, err := idx.ints()
	if err != nil {
		return nil, err
	}
	n := t.dims[axis]
	dims := append(append(append([]int{}, t.dims[:axis]...), idx.dims...), t.dims[axis+1:]...)
	size, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		return nil, err
	}
	outer := 1
	for _, d := range t.dims[:axis] {
		outer *= d
	}
	inner := 1
	for _, d := range t.dims[axis+1:] {
		inner *= d
	}
	out := &ctensor{dims: dims, v: make([]float64, 0, size), dtype: t.dtype}
	for o := 0; o < outer; o++ {
		for _, k := range ind {
			if k < 0 {
				k += n
			}
			if k < 0 || k >= n {
				return nil, fmt.Errorf("index %d is out of range for axis of size %d", k, n)
			}
			base := (o*n + k) * inner
			out.v = append(out.v, t.v[base:base+inner]...)
		}
	}
	return out, nil
}

// concatConst joins constants along axis.
func concatConst(ts []*ctensor, axis int) (*ctensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("nothing to concatenate")
	}
	r := len(ts[0].dims)
	axis, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	dims := append([]int(nil), ts[0].dims...)
	dims[axis] = 0
	for _, t := range ts {
		if len(t.dims) != r {
			return nil, fmt.Errorf("inputs of ranks %d and %d", r, len(t.dims))
		}
		for k := range dims {
			if k != axis && t.dims[k] != dims[k] {
				return nil, fmt.Errorf("input shapes %v and %v differ off the axis", ts[0].dims, t.dims)
			}
		}
		dims[axis] += t.dims[axis]
	}
	size, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		return nil, err
	}
	outer := 1
	for _, d := range dims[:axis] {
		outer *= d
	}
	out := &ctensor{dims: dims, v: make([]float64, 0, size), dtype: ts[0].dtype}
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			chunk := len(t.v) / max(outer, 1)
			if outer == 0 {
				chunk = 0
			}
			out.v = append(out.v, t.v[o*chunk:(o+1)*chunk]...)
		}
	}
	return out, nil
}

// sliceAxis is ONNX Slice on one axis of size d: the first index taken and
// how many (step s != 0; negative starts and ends count from the end and
// are clamped).
func sliceAxis(d, st, en, s int) (begin, n int) {
	if st < 0 {
		st += d
	}
	if en < 0 {
		en += d
	}
	if s > 0 {
		st, en = min(max(st, 0), d), min(max(en, 0), d)
	} else {
		st, en = min(max(st, -1), d-1), min(max(en, -1), d-1)
	}
	if s > 0 && en > st {
		n = (en - st + s - 1) / s
	} else if s < 0 && en < st {
		n = (st - en - s - 1) / -s
	}
	return st, n
}

// sliceConst is ONNX Slice on a constant.
func sliceConst(t *ctensor, starts, ends, axes, steps []int) (*ctensor, error) {
	r := len(t.dims)
	if len(ends) != len(starts) {
		return nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		axes = make([]int, len(starts))
		for i := range axes {
			axes[i] = i
		}
	}
	if steps == nil {
		steps = make([]int, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	begin := make([]int, r)
	step := make([]int, r)
	dims := append([]int(nil), t.dims...)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i, a := range axes {
		a, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[a] = true
		d, s := t.dims[a], steps[i]
		if s == 0 {
			return nil, fmt.Errorf("step 0")
		}
		st, n := sliceAxis(d, starts[i], ends[i], s)
		begin[a], step[a], dims[a] = st, s, n
	}
	size, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		return nil, err
	}
	in := strides(t.dims)
	os := strides(dims)
	out := &ctensor{dims: dims, v: make([]float64, size), dtype: t.dtype}
	for i := range out.v {
		src := 0
		for k := 0; k < r; k++ {
			src += (begin[k] + ((i/os[k])%dims[k])*step[k]) * in[k]
		}
		out.v[i] = t.v[src]
	}
	return out, nil
}

// reshapeTarget resolves an ONNX Reshape shape (0 copies the input
// dimension unless allowzero, -1 takes the rest) for an input of shape in.
func reshapeTarget(in, shape []int, allowzero bool) ([]int, error) {
	n, err := dimsSize(in, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(shape))
	free, known := -1, 1
	for i, d := range shape {
		switch {
		case d == 0 && !allowzero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of %v, which does not exist", shape, i, in)
			}
			out[i] = in[i]
		case d == -1:
			if free >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", shape)
			}
			free = i
			continue
		case d < 0:
			return nil, fmt.Errorf("shape %v has a negative dimension", shape)
		default:
			out[i] = d
		}
		if out[i] > onnxMaxElems {
			return nil, fmt.Errorf("shape %v is too large", shape)
		}
		known *= out[i]
		if known > onnxMaxElems {
			return nil, fmt.Errorf("shape %v is too large", shape)
		}
	}
	if free >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
		}
		out[free] = n / known
	} else if known != n {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, n, shape)
	}
	return out, nil
}

// unsqueezeDims inserts unit axes.
func unsqueezeDims(in, axes []int) ([]int, error) {
	r := len(in) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		a, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[a] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		ins[a] = true
	}
	out := make([]int, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, 1)
		} else {
			out = append(out, in[j])
			j++
		}
	}
	return out, nil
}

// squeezeDims removes unit axes (all of them when axes is nil).
func squeezeDims(in, axes []int) ([]int, error) {
	drop := make([]bool, len(in))
	if axes == nil {
		for i, d := range in {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		a, err := normAxis(a, len(in))
		if err != nil {
			return nil, err
		}
		if in[a] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of size %d", a, in[a])
		}
		drop[a] = true
	}
	var out []int
	for i, d := range in {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

// expandConst is ONNX Expand on a constant: broadcast to shape.
func expandConst(t *ctensor, shape []int) (*ctensor, error) {
	ones := &ctensor{dims: shape}
	n, err := dimsSize(shape, onnxMaxElems)
	if err != nil {
		return nil, err
	}
	ones.v = make([]float64, n)
	out, err := binaryConst(t, ones, func(x, _ float64) float64 { return x })
	if err != nil {
		return nil, err
	}
	out.dtype = t.dtype
	return out, nil
}

// allZero reports whether every value of t is zero, else returns the
// first one that is not.
func (t *ctensor) allZero() (float64, bool) {
	for _, v := range t.v {
		if v != 0 {
			return v, false
		}
	}
	return 0, true
}
