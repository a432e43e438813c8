package nnq

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// S8Call is the call of one layer of an s8/s16 network with the arguments
// of today's CMSIS-NN API (the structs of package kernels mirror the C
// ones member by member). The simulator passes them to the Go kernels and
// codegen prints them, so both run the same call.
type S8Call struct {
	// Function is the C function; Kernel the one a wrapper runs.
	Function, Kernel string
	// Scratch is the ctx.buf size (bytes) the call needs: the larger of
	// the library's C-path and DSP-path *_get_buffer_size values.
	Scratch int
	// Per family, the parameter structs and dims (unused ones stay zero).
	Conv        kernels.ConvParams
	Dw          kernels.DwConvParams
	FC          kernels.FCParams
	Pool        kernels.PoolParams
	Quant       kernels.PerChannelQuantParams
	TensorQuant kernels.PerTensorQuantParams
	In, Filter  kernels.Dims
	Out         kernels.Dims
	// N is the element count of element-wise calls and the row size of a
	// softmax (one row).
	N int
}

// s8Families maps an op to its C function for s8 and s16 networks ("" =
// no function: refused).
var s8Families = map[Op][2]string{
	OpConv2D:          {"arm_convolve_wrapper_s8", "arm_convolve_wrapper_s16"},
	OpDepthwiseConv2D: {"arm_depthwise_conv_wrapper_s8", "arm_depthwise_conv_wrapper_s16"},
	OpDense:           {"arm_fully_connected_s8", "arm_fully_connected_s16"},
	OpMaxPool2D:       {"arm_max_pool_s8", "arm_max_pool_s16"},
	OpAvgPool2D:       {"arm_avgpool_s8", "arm_avgpool_s16"},
	OpSoftmax:         {"arm_softmax_s8", "arm_softmax_s16"},
	OpAdd:             {"arm_elementwise_add_s8", "nnq_add_s16"},
	OpMul:             {"arm_elementwise_mul_s8", "nnq_mul_s16"},
	OpReLU:            {"nnq_clamp_s8", "nnq_clamp_s16"},
	OpSigmoid:         {"nnq_lut_s8", "nnq_act_s16"},
	OpTanh:            {"nnq_lut_s8", "nnq_act_s16"},
	OpGRU:             {"nnq_gru_s8", "nnq_gru_s16"},
	OpLSTM:            {"nnq_lstm_s8", "nnq_lstm_s16"},
}

// S8Call builds the call of layer k of an s8/s16 network (nil for a
// buffer view). The layer's geometry (QLayer.Geom) must be set.
func (q *QModel) S8Call(k int) (*S8Call, error) {
	l := q.Layers[k]
	s := l.S8
	if s == nil {
		return nil, fmt.Errorf("layer %q has no s8/s16 parameters", l.Name)
	}
	if s.Fused || l.Op == OpFlatten || l.Op == OpReshape {
		return nil, nil
	}
	s16 := q.Bits == 16
	fam, ok := s8Families[l.Op]
	c := &S8Call{Function: fam[b2i(s16)]}
	if !ok || c.Function == "" {
		return nil, fmt.Errorf("layer %q: %s has no %s function", l.Name, l.Op, q.TypeName())
	}
	if l.Op == OpAvgPool2D && q.AffineRounding.EvenPool() {
		c.Function = [2]string{"nnq_avgpool_s8_even", "nnq_avgpool_s16_even"}[b2i(s16)]
	}
	c.Kernel = c.Function
	act := kernels.Activation{Min: s.ActMin, Max: s.ActMax}
	g := l.Geom
	inOff, outOff := -s.In[0].Zero, s.Out.Zero
	quant := kernels.PerChannelQuantParams{Multiplier: s.Mult, Shift: s.Shift}
	both := func(f func(t kernels.Target) int) int { return max(f(kernels.CPath), f(kernels.DSPPath)) }
	switch l.Op {
	case OpConv2D, OpDepthwiseConv2D, OpMaxPool2D, OpAvgPool2D:
		c.In = kernels.Dims{N: 1, H: g.InY, W: g.InX, C: g.InC}
		c.Out = kernels.Dims{N: 1, H: g.OutY, W: g.OutX, C: g.OutC}
		stride, pad := kernels.Tile{W: g.StrideX, H: g.StrideY}, kernels.Tile{W: g.PadX, H: g.PadY}
		switch l.Op {
		case OpConv2D:
			c.Filter = kernels.Dims{N: g.OutC, H: g.KY, W: g.KX, C: g.InC}
			c.Conv = kernels.ConvParams{InputOffset: inOff, OutputOffset: outOff, Stride: stride, Padding: pad,
				Dilation: kernels.Tile{W: 1, H: 1}, Activation: act}
			c.Quant = quant
			if s16 {
				c.Kernel = "arm_convolve_s16"
				c.Scratch = both(func(t kernels.Target) int {
					return kernels.ConvolveWrapperS16GetBufferSize(t, c.Conv, c.In, c.Filter, c.Out)
				})
			} else {
				c.Kernel = kernels.ConvolveWrapperS8Kernel(c.Conv, c.In, c.Filter)
				c.Scratch = both(func(t kernels.Target) int {
					return kernels.ConvolveWrapperS8GetBufferSize(t, c.Conv, c.In, c.Filter, c.Out)
				})
			}
		case OpDepthwiseConv2D:
			c.Filter = kernels.Dims{N: 1, H: g.KY, W: g.KX, C: g.OutC}
			c.Dw = kernels.DwConvParams{InputOffset: inOff, OutputOffset: outOff, ChMult: 1, Stride: stride, Padding: pad,
				Dilation: kernels.Tile{W: 1, H: 1}, Activation: act}
			c.Quant = quant
			if s16 {
				c.Kernel = kernels.DepthwiseConvWrapperS16Kernel(c.Dw, c.In, c.Filter)
				c.Scratch = both(func(t kernels.Target) int {
					return kernels.DepthwiseConvWrapperS16GetBufferSize(t, c.Dw, c.In, c.Filter, c.Out)
				})
			} else {
				c.Kernel = kernels.DepthwiseConvWrapperS8Kernel(c.Dw, c.In, c.Filter)
				c.Scratch = both(func(t kernels.Target) int {
					return kernels.DepthwiseConvWrapperS8GetBufferSize(t, c.Dw, c.In, c.Filter, c.Out)
				})
			}
		default:
			c.Filter = kernels.Dims{N: 1, H: g.KY, W: g.KX, C: 1}
			c.Pool = kernels.PoolParams{Stride: stride, Padding: pad, Activation: act}
			if l.Op == OpAvgPool2D && !q.AffineRounding.EvenPool() {
				c.Scratch = both(func(t kernels.Target) int { return kernels.AvgpoolS8GetBufferSize(t, g.OutX, g.InC) })
			}
		}
	case OpDense:
		depth, rows := l.In[0].Size(), l.Out.Size()
		c.In = kernels.Dims{N: 1, H: 1, W: 1, C: depth}
		c.Filter = kernels.Dims{N: depth, H: 1, W: 1, C: rows}
		c.Out = kernels.Dims{N: 1, H: 1, W: 1, C: rows}
		c.FC = kernels.FCParams{InputOffset: inOff, OutputOffset: outOff, Activation: act}
		c.TensorQuant = kernels.PerTensorQuantParams{Multiplier: s.Mult[0], Shift: s.Shift[0]}
	case OpSoftmax:
		c.N = l.Out.Size()
		c.TensorQuant = kernels.PerTensorQuantParams{Multiplier: s.Mult[0], Shift: s.Shift[0]}
	case OpSigmoid, OpTanh, OpReLU, OpAdd, OpMul:
		c.N = l.Out.Size()
		if s16 && (l.Op == OpSigmoid || l.Op == OpTanh) {
			c.TensorQuant = kernels.PerTensorQuantParams{Multiplier: s.Mult[0], Shift: s.Shift[0]}
		}
	case OpGRU, OpLSTM:
		if s.RNN == nil {
			return nil, fmt.Errorf("layer %q: recurrent layer without parameters", l.Name)
		}
		c.Scratch = s.RNN.ScratchBytes()
	}
	return c, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// chooseS8 sets every layer's geometry, C function and scratch size.
func (q *QModel) chooseS8() error {
	for i, l := range q.Layers {
		switch l.Op {
		case OpConv2D, OpDepthwiseConv2D, OpMaxPool2D, OpAvgPool2D:
			w, err := q.Float.windowOf(q.Float.Layers[i], l.In[0])
			if err != nil {
				return err
			}
			l.Geom = convGeom(w)
		case OpGRU, OpLSTM:
			l.Geom = recurrentGeom(l)
		}
		c, err := q.S8Call(i)
		if err != nil {
			return err
		}
		s := l.S8
		s.Function, s.Kernel, s.Scratch = "", "", 0
		if c != nil {
			s.Function, s.Kernel, s.Scratch = c.Function, c.Kernel, c.Scratch
		}
	}
	return nil
}
