package nnq

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Runtimes: which C kernels an export calls.
const (
	// RuntimeNNQ (the default) runs every layer on nnq's own kernels
	// (codegen/crt: SIMD on cores with the DSP extension, plain C
	// elsewhere); ReLUs are fused into the layer before them.
	RuntimeNNQ = "nnq"
	// RuntimeCMSIS calls the legacy CMSIS-NN 5.x arm_* functions (the real
	// library, or nnq's bit-exact portable implementation of them), and
	// nnq's kernels only for layers the library has no kernel for.
	RuntimeCMSIS = "cmsis"
)

// Optimization goals of the nnq runtime.
const (
	// OptimizeSpeed (the default) stores the weights of the largest
	// convolutions pre-expanded to 16 bits on DSP cores (nnq_conv_q7_wide),
	// within WideFlashBudget.
	OptimizeSpeed = "speed"
	// OptimizeSize keeps every weight in 8 bits.
	OptimizeSize = "size"
)

// WideFlashBudget is the share of a q7 network's 8-bit parameter bytes
// that OptimizeSpeed may add by storing convolution weights pre-expanded to
// q15 (nnq_conv_q7_wide), largest gain first.
const WideFlashBudget = 0.5

// ParseRuntime checks a runtime name ("" is the default).
func ParseRuntime(s string) (string, error) {
	return parseChoice("runtime", s, RuntimeNNQ, RuntimeCMSIS)
}

// ParseOptimize checks an optimization goal ("" is the default).
func ParseOptimize(s string) (string, error) {
	return parseChoice("optimization goal", s, OptimizeSpeed, OptimizeSize)
}

// parseChoice accepts def (also for "") or alt as a value of kind.
func parseChoice(kind, s, def, alt string) (string, error) {
	switch s {
	case "", def:
		return def, nil
	case alt:
		return alt, nil
	}
	return "", fmt.Errorf("unknown %s %q (%s or %s)", kind, s, def, alt)
}

// convGeom maps a float window onto the legacy kernels' geometry (padding
// is the top/left padding; the bottom/right one is implied by the output
// size, as in the library).
func convGeom(g kernels.Window2D) kernels.ConvGeom {
	return kernels.ConvGeom{InX: g.InW, InY: g.InH, InC: g.InC, OutC: g.OutC, KX: g.KW, KY: g.KH,
		PadX: g.PadL, PadY: g.PadT, StrideX: g.SW, StrideY: g.SH, OutX: g.OutW, OutY: g.OutH}
}

// candidates lists, fastest first, the kernels that can run a layer.
func (q *QModel) candidates(l *QLayer) []kernels.Variant {
	q15 := q.Bits == 16
	if q.Runtime != RuntimeCMSIS {
		switch l.Op {
		case OpConv2D:
			return pick(q15, kernels.VarNNQConvQ7, kernels.VarNNQConvQ15)
		case OpDepthwiseConv2D:
			return pick(q15, kernels.VarNNQDWConvQ7, kernels.VarNNQDWConvQ15)
		case OpDense:
			return pick(q15, kernels.VarNNQFCQ7, kernels.VarNNQFCQ15)
		case OpMaxPool2D:
			return pick(q15, kernels.VarNNQMaxpoolQ7, kernels.VarNNQMaxpoolQ15)
		case OpAvgPool2D:
			return pick(q15, kernels.VarNNQAvgpoolQ7, kernels.VarNNQAvgpoolQ15)
		case OpReLU:
			return pick(q15, kernels.VarNNQReluQ7, kernels.VarNNQReluQ15)
		case OpSigmoid, OpTanh:
			return pick(q15, kernels.VarNNQActQ7, kernels.VarNNQActQ15)
		case OpSoftmax:
			return pick(q15, kernels.VarNNQSoftmaxQ7, kernels.VarNNQSoftmaxQ15)
		case OpAdd:
			return pick(q15, kernels.VarNNQAddQ7, kernels.VarNNQAddQ15)
		case OpMul:
			return pick(q15, kernels.VarNNQMultQ7, kernels.VarNNQMultQ15)
		case OpGRU:
			return pick(q15, kernels.VarNNQGRUQ7, kernels.VarNNQGRUQ15)
		case OpLSTM:
			return pick(q15, kernels.VarNNQLSTMQ7, kernels.VarNNQLSTMQ15)
		}
		return nil
	}
	switch l.Op {
	case OpConv2D:
		if q15 {
			return []kernels.Variant{kernels.VarConvolveHWCQ15Fast, kernels.VarConvolveHWCQ15FastNonsquare, kernels.VarConvolveHWCQ15Basic, kernels.VarNNQConvQ15}
		}
		return []kernels.Variant{kernels.VarConvolve1x1HWCQ7FastNonsquare, kernels.VarConvolveHWCQ7Fast, kernels.VarConvolveHWCQ7FastNonsquare,
			kernels.VarConvolveHWCQ7RGB, kernels.VarConvolveHWCQ7Basic, kernels.VarConvolveHWCQ7BasicNonsquare}
	case OpDepthwiseConv2D:
		if q15 {
			return []kernels.Variant{kernels.VarNNQDWConvQ15}
		}
		return []kernels.Variant{kernels.VarDepthwiseSeparableConvHWCQ7, kernels.VarDepthwiseSeparableConvHWCQ7Nonsquare}
	case OpDense:
		if q15 {
			return []kernels.Variant{kernels.VarFullyConnectedQ15Opt, kernels.VarFullyConnectedQ15}
		}
		return []kernels.Variant{kernels.VarFullyConnectedQ7Opt, kernels.VarFullyConnectedQ7}
	case OpMaxPool2D:
		if q15 {
			return []kernels.Variant{kernels.VarNNQMaxpoolQ15}
		}
		return []kernels.Variant{kernels.VarMaxpoolQ7HWC, kernels.VarNNQMaxpoolQ7}
	case OpAvgPool2D:
		if q15 {
			return []kernels.Variant{kernels.VarNNQAvgpoolQ15}
		}
		return []kernels.Variant{kernels.VarAvepoolQ7HWC, kernels.VarNNQAvgpoolQ7}
	case OpReLU:
		return pick(q15, kernels.VarReluQ7, kernels.VarReluQ15)
	case OpSigmoid, OpTanh:
		return pick(q15, kernels.VarActivationsDirectQ7, kernels.VarActivationsDirectQ15)
	case OpSoftmax:
		return pick(q15, kernels.VarSoftmaxQ7, kernels.VarSoftmaxQ15)
	case OpAdd:
		return pick(q15, kernels.VarNNQAddQ7, kernels.VarNNQAddQ15)
	case OpMul:
		return pick(q15, kernels.VarNNMultQ7, kernels.VarNNMultQ15)
	case OpGRU:
		return pick(q15, kernels.VarNNQGRUCMSISQ7, kernels.VarNNQGRUCMSISQ15)
	case OpLSTM:
		return pick(q15, kernels.VarNNQLSTMCMSISQ7, kernels.VarNNQLSTMCMSISQ15)
	}
	return nil
}

func pick(q15 bool, v7, v15 kernels.Variant) []kernels.Variant {
	if q15 {
		return []kernels.Variant{v15}
	}
	return []kernels.Variant{v7}
}

// geometries sets every layer's kernel geometry.
func (q *QModel) geometries() error {
	for i, l := range q.Layers {
		switch l.Op {
		case OpFlatten, OpReshape:
			continue
		case OpConv2D, OpDepthwiseConv2D, OpMaxPool2D, OpAvgPool2D:
			w, err := q.Float.windowOf(q.Float.Layers[i], l.In[0])
			if err != nil {
				return err
			}
			l.Geom = convGeom(w)
		case OpDense:
			l.Geom = kernels.FCGeom(l.In[0].Size(), l.Out.Size())
		case OpGRU, OpLSTM:
			l.Geom = recurrentGeom(l)
		default:
			l.Geom = kernels.VecGeom(l.Out.Size())
		}
	}
	return nil
}

// chooseKernels picks, for every layer, the fastest kernel whose checked
// constraints hold and whose geometry is safe on the target's code path,
// and records why faster ones were refused. With the nnq runtime it then
// fuses each ReLU into the layer before it and, optimizing for speed on a
// DSP core, stores the weights of the largest convolutions pre-expanded.
func (q *QModel) chooseKernels() error {
	if err := q.geometries(); err != nil {
		return err
	}
	readers := q.readerCounts()
	for _, l := range q.Layers {
		l.Kernel, l.Rejected, l.ReLU = kernels.VarInvalid, nil, false
		if l.Op == OpFlatten || l.Op == OpReshape {
			continue
		}
		for _, v := range q.candidates(l) {
			why := q.refusals(l, v, readers)
			if len(why) == 0 {
				l.Kernel = v
				break
			}
			l.Rejected = append(l.Rejected, fmt.Sprintf("%s: %s", v, strings.Join(why, "; and ")))
		}
		if l.Kernel == kernels.VarInvalid {
			return fmt.Errorf("layer %q: no %s kernel fits %s on %s: %v", l.Name, q.TypeName(), l.Op, q.Target, l.Rejected)
		}
	}
	if q.Runtime == RuntimeCMSIS {
		return nil
	}
	q.fuseReLUs(readers)
	if q.Optimize != OptimizeSize && q.Path == kernels.DSPPath && q.Bits == 8 {
		q.widenConvolutions()
	}
	return nil
}

// refusals lists every reason that keeps kernel v from running layer l on
// q's code path (none: v fits): the argument checks of v.Valid, and for
// the library's DSP pooling, which works in its input buffer, a tensor
// another layer still reads, padding >= stride, and an average it cannot
// shift.
func (q *QModel) refusals(l *QLayer, v kernels.Variant, readers map[string]int) []string {
	var why []string
	g := l.Geom
	if err := v.Valid(g, q.Path); err != nil {
		var ge *kernels.GeomError
		if errors.As(err, &ge) {
			why = append(why, ge.Reason)
		} else {
			why = append(why, err.Error())
		}
	}
	if v != kernels.VarMaxpoolQ7HWC && v != kernels.VarAvepoolQ7HWC {
		return why
	}
	if q.Path == kernels.DSPPath {
		if readers[l.Inputs[0]] > 1 {
			why = append(why, fmt.Sprintf("its DSP algorithm overwrites the input %q, which another layer still reads", l.Inputs[0]))
		}
		if g.PadX >= g.StrideX || g.PadY >= g.StrideY {
			// The in-place row pass then reads columns it has already
			// overwritten: values leak between windows (average pools end
			// up far from the float result).
			why = append(why, fmt.Sprintf("with padding >= stride (padding %dx%d, stride %dx%d) its DSP algorithm mixes neighbouring windows", g.PadX, g.PadY, g.StrideX, g.StrideY))
		}
	}
	if l.PoolShift != 0 && v == kernels.VarAvepoolQ7HWC {
		why = append(why, fmt.Sprintf("it cannot shift the average (the layer's pool shift is %d)", l.PoolShift))
	}
	return why
}

// readerCounts maps every tensor to the number of layers reading it (the
// network output counts as read once more).
func (q *QModel) readerCounts() map[string]int {
	readers := map[string]int{}
	for _, l := range q.Layers {
		for _, n := range l.Inputs {
			readers[n]++
		}
	}
	if len(q.Layers) > 0 {
		readers[q.Output()]++
	}
	return readers
}

// fuseReLUs folds every ReLU that is the only reader of a convolution,
// depthwise or dense layer's output into that layer (its kernel clamps at
// 0); the ReLU becomes a view of the same buffer.
func (q *QModel) fuseReLUs(readers map[string]int) {
	byName := map[string]*QLayer{}
	for _, l := range q.Layers {
		byName[l.Name] = l
	}
	for _, l := range q.Layers {
		if l.Op != OpReLU || len(l.Inputs) != 1 {
			continue
		}
		p := byName[l.Inputs[0]]
		if p == nil || readers[p.Name] != 1 || p.ReLU || len(l.InFrac) != 1 || l.InFrac[0] != l.OutFrac {
			continue
		}
		switch p.Kernel {
		case kernels.VarNNQConvQ7, kernels.VarNNQConvQ15, kernels.VarNNQDWConvQ7, kernels.VarNNQDWConvQ15,
			kernels.VarNNQFCQ7, kernels.VarNNQFCQ15:
			p.ReLU = true
			l.Kernel = kernels.VarInvalid
		}
	}
}

// widenConvolutions switches q7 convolutions to pre-expanded q15 weights
// (nnq_conv_q7_wide: fewer instructions per MAC on DSP cores), the ones
// that save the most instructions per extra flash byte first (the most
// output pixels per weight), as long as the extra bytes stay within
// WideFlashBudget of the network's 8-bit parameter bytes.
func (q *QModel) widenConvolutions() {
	// The parameter count of the float model (the same as the quantized
	// one's, and known before quantization: inspect chooses kernels too).
	params := 0
	for _, fl := range q.Float.Layers {
		for _, t := range fl.Params {
			if tn := q.Float.Tensors[t]; tn != nil {
				params += tn.Size()
			}
		}
	}
	var convs []*QLayer
	for _, l := range q.Layers {
		if l.Kernel == kernels.VarNNQConvQ7 {
			convs = append(convs, l)
		}
	}
	extra := func(l *QLayer) int { return l.Geom.OutC * kernels.NNQKP(l.Geom.KX*l.Geom.KY*l.Geom.InC) }
	sort.SliceStable(convs, func(i, j int) bool {
		return convs[i].Geom.OutX*convs[i].Geom.OutY > convs[j].Geom.OutX*convs[j].Geom.OutY
	})
	budget := int(WideFlashBudget * float64(params))
	for _, l := range convs {
		if n := extra(l); n <= budget {
			budget -= n
			l.Kernel = kernels.VarNNQConvQ7Wide
		}
	}
}

// FusedInto returns the layer a fused ReLU was folded into (nil if l is
// not a fused ReLU).
func (q *QModel) FusedInto(l *QLayer) *QLayer {
	if l.Op != OpReLU || l.Kernel != kernels.VarInvalid || len(l.Inputs) != 1 {
		return nil
	}
	if p := q.Layer(l.Inputs[0]); p != nil && p.ReLU {
		return p
	}
	return nil
}

// WithRuntime returns a copy of q whose kernels are chosen for another
// runtime and optimization goal: the same formats, shifts and parameters
// (shared, not copied), so the two compute the same values. nnq verify uses
// it to build the --runtime cmsis twin of an export against the real
// library.
func (q *QModel) WithRuntime(runtime, optimize string) (*QModel, error) {
	rt, err := ParseRuntime(runtime)
	if err != nil {
		return nil, err
	}
	opt, err := ParseOptimize(optimize)
	if err != nil {
		return nil, err
	}
	c := *q
	c.Runtime, c.Optimize = rt, opt
	c.Layers = make([]*QLayer, len(q.Layers))
	for i, l := range q.Layers {
		lc := *l
		c.Layers[i] = &lc
	}
	if err := c.chooseKernels(); err != nil {
		return nil, err
	}
	return &c, nil
}
