package onnx

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/nnq/onnx/internal/onnxpb"
)

func matmulConst(a, c *ctensor) (*ctensor, error) {
	if len(a.dims) != 2 || len(c.dims) != 2 || a.dims[1] != c.dims[0] {
		return nil, fmt.Errorf("constant MatMul of shapes %v and %v: only 2-D matrices are folded", a.dims, c.dims)
	}
	m, k, nn := a.dims[0], a.dims[1], c.dims[1]
	if _, err := dimsSize([]int{m, nn}, onnxMaxElems); err != nil {
		return nil, err
	}
	out := &ctensor{dims: []int{m, nn}, v: make([]float64, m*nn), dtype: a.dtype}
	for i := 0; i < m; i++ {
		for j := 0; j < nn; j++ {
			var s float64
			for t := 0; t < k; t++ {
				s += a.v[i*k+t] * c.v[t*nn+j]
			}
			out.v[i*nn+j] = s
		}
	}
	return out, nil
}

func onnxConstant(b *onnxImporter, n *onode) []*oval {
	var t *ctensor
	set := 0
	for _, name := range []string{"value", "value_float", "value_floats", "value_int", "value_ints"} {
		c, ok := n.constantAttr(name)
		if !ok {
			return nil
		}
		if c != nil {
			t, set = c, set+1
		}
	}
	for _, s := range []string{"value_string", "value_strings", "sparse_value"} {
		if n.attrs[s] != nil {
			n.failf("%s constants are not supported", s)
			return nil
		}
	}
	if len(n.why) > 0 {
		return nil
	}
	if set != 1 {
		n.failf("needs exactly one value attribute, has %d", set)
		return nil
	}
	return b.spend(n, t)
}

// constantAttr decodes value attribute name of a Constant node: nil when
// it is absent or has the wrong type, not ok when its tensor is bad.
func (n *onode) constantAttr(name string) (*ctensor, bool) {
	switch name {
	case "value":
		if a := n.attr(name, onnxpb.AttributeProto_TENSOR); a != nil {
			t, err := decodeTensor(a.GetT())
			if err != nil {
				n.failf("value: %v", err)
				return nil, false
			}
			return t, true
		}
	case "value_float":
		if a := n.attr(name, onnxpb.AttributeProto_FLOAT); a != nil {
			return &ctensor{v: []float64{float64(a.GetF())}, dtype: onnxFloat}, true
		}
	case "value_floats":
		if a := n.attr(name, onnxpb.AttributeProto_FLOATS); a != nil {
			v := make([]float64, len(a.GetFloats()))
			for i, f := range a.GetFloats() {
				v[i] = float64(f)
			}
			return &ctensor{dims: []int{len(v)}, v: v, dtype: onnxFloat}, true
		}
	case "value_int":
		if a := n.attr(name, onnxpb.AttributeProto_INT); a != nil {
			return &ctensor{v: []float64{float64(a.GetI())}, dtype: onnxInt64}, true
		}
	case "value_ints":
		if a := n.attr(name, onnxpb.AttributeProto_INTS); a != nil {
			v := make([]float64, len(a.GetInts()))
			for i, x := range a.GetInts() {
				v[i] = float64(x)
			}
			return &ctensor{dims: []int{len(v)}, v: v, dtype: onnxInt64}, true
		}
	}
	return nil, true
}

func onnxShape(b *onnxImporter, n *onode) []*oval {
	start := n.attrInt("start", 0)
	end, hasEnd := int64(0), n.attrs["end"] != nil
	end = n.attrInt("end", 0)
	if n.blocked() {
		return nil
	}
	v := n.first()
	if v == nil {
		return nil
	}
	dims := v.dims()
	r := int64(len(dims))
	clamp := func(i int64) int64 {
		if i < 0 {
			i += r
		}
		return min(max(i, 0), r)
	}
	s, e := clamp(start), r
	if hasEnd {
		e = clamp(end)
	}
	t := &ctensor{dims: []int{0}, dtype: onnxInt64}
	for i := s; i < e; i++ {
		t.v = append(t.v, float64(dims[i]))
	}
	t.dims[0] = len(t.v)
	return constVal(t)
}

func onnxGather(b *onnxImporter, n *onode) []*oval {
	axis := n.attrInt("axis", 0)
	if n.blocked() {
		return nil
	}
	if v := n.in(0); v != nil && v.stack != nil {
		return actVal(b.gatherStack(n, v.stack, int(axis)))
	}
	if v := n.in(0); v != nil && v.a != nil && b.seqViews(n, v.a) {
		return actVal(b.gatherView(n, v.a, int(axis)))
	}
	in := b.constInputs(n, "gathering from activations has no CMSIS-NN equivalent (only shape computations over constants are folded)")
	if in == nil {
		return nil
	}
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		n.failf("needs data and indices")
		return nil
	}
	t, err := gatherConst(in[0], in[1], int(axis))
	return b.folded(n, t, err)
}

func onnxCast(b *onnxImporter, n *onode) []*oval {
	to := n.attrInt("to", 0)
	n.attrInt("saturate", 1)
	if n.blocked() {
		return nil
	}
	v := n.first()
	if v == nil {
		return nil
	}
	if v.a != nil {
		if int32(to) == onnxFloat {
			return []*oval{v}
		}
		n.failf("cast of an activation to %s: nnq networks compute in float (then fixed point)", onnxpb.TensorProto_DataType(to))
		return nil
	}
	t := &ctensor{dims: v.c.dims, v: make([]float64, len(v.c.v)), dtype: int32(to)}
	for i, x := range v.c.v {
		t.v[i] = castValue(x, int32(to))
	}
	return b.spend(n, t)
}

func onnxConcat(b *onnxImporter, n *onode) []*oval {
	axis := n.attrInt("axis", 0)
	if n.blocked() {
		return nil
	}
	if st, ok := b.stackActs(n, int(axis)); ok {
		if st == nil {
			return nil
		}
		return []*oval{{stack: st}}
	}
	in := b.constInputs(n, "concatenating activations: no CMSIS-NN kernel; rewrite it as "+hint("concat"))
	if in == nil {
		return nil
	}
	var ts []*ctensor
	for _, t := range in {
		if t != nil {
			ts = append(ts, t)
		}
	}
	t, err := concatConst(ts, int(axis))
	return b.folded(n, t, err)
}

func onnxSlice(b *onnxImporter, n *onode) []*oval {
	sa, ea, aa := n.attrInts("starts"), n.attrInts("ends"), n.attrInts("axes")
	if n.blocked() {
		return nil
	}
	if v := n.in(0); v != nil && v.a != nil && b.seqViews(n, v.a) {
		return actVal(b.sliceView(n, v.a, sa, ea, aa))
	}
	in := b.constInputs(n, "slicing activations has no CMSIS-NN equivalent (only shape computations over constants are folded)")
	if in == nil {
		return nil
	}
	if len(in) == 0 || in[0] == nil {
		n.failf("input is missing")
		return nil
	}
	starts, ends, axes := sa, ea, aa
	var steps []int
	if starts == nil {
		args := make([][]int, 4)
		for i := 1; i <= 4; i++ {
			if i < len(in) && in[i] != nil {
				v, ok := n.ints(in[i], fmt.Sprintf("input %d", i))
				if !ok {
					return nil
				}
				args[i-1] = v
			}
		}
		starts, ends, axes, steps = args[0], args[1], args[2], args[3]
	}
	t, err := sliceConst(in[0], starts, ends, axes, steps)
	return b.folded(n, t, err)
}

func onnxTranspose(b *onnxImporter, n *onode) []*oval {
	perm := n.attrInts("perm")
	if n.blocked() {
		return nil
	}
	v := n.first()
	if v == nil {
		return nil
	}
	if v.a != nil && b.seqViews(n, v.a) {
		return actVal(b.transposeView(n, v.a, perm))
	}
	if v.a != nil {
		identity := true
		for i, p := range perm {
			if p != i {
				identity = false
			}
		}
		if identity && perm != nil && len(perm) == len(v.a.dims) {
			return []*oval{v}
		}
		n.failf("transposing activations: CMSIS-NN keeps one HWC order; remove the transpose from the exported graph or fold it into the next layer's weights")
		return nil
	}
	t, err := transposeConst(v.c, perm)
	return b.folded(n, t, err)
}

func onnxConstantOfShape(b *onnxImporter, n *onode) []*oval {
	val := &ctensor{v: []float64{0}, dtype: onnxFloat}
	if a := n.attr("value", onnxpb.AttributeProto_TENSOR); a != nil {
		t, err := decodeTensor(a.GetT())
		if err != nil || len(t.v) != 1 {
			n.failf("value must be a one-element tensor")
			return nil
		}
		val = t
	}
	if n.blocked() {
		return nil
	}
	in := b.constInputs(n, "shape must be a constant")
	if in == nil || len(in) == 0 || in[0] == nil {
		if len(n.why) == 0 {
			n.failf("input is missing")
		}
		return nil
	}
	dims, ok := n.ints(in[0], "shape")
	if !ok {
		return nil
	}
	size, err := dimsSize(dims, onnxMaxElems)
	if err != nil {
		n.failf("%v", err)
		return nil
	}
	t := &ctensor{dims: dims, v: make([]float64, size), dtype: val.dtype}
	for i := range t.v {
		t.v[i] = val.v[0]
	}
	return b.spend(n, t)
}

func onnxExpand(b *onnxImporter, n *onode) []*oval {
	if n.blocked() {
		return nil
	}
	in := b.constInputs(n, "broadcasting activations has no CMSIS-NN equivalent (only constants are expanded)")
	if in == nil {
		return nil
	}
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		n.failf("needs input and shape")
		return nil
	}
	shape, ok := n.ints(in[1], "shape")
	if !ok {
		return nil
	}
	t, err := expandConst(in[0], shape)
	return b.folded(n, t, err)
}
