package kernels

import "fmt"

// nnq's recurrent kernels: the Go twins of nnq_gru_q7/q15 and
// nnq_lstm_q7/q15 (codegen/crt/c/nnq_recurrent.c). CMSIS-NN has no recurrent
// layer; these run the time-step loop of a PyTorch-convention GRU or LSTM
// (batch first, zero initial state) with library building blocks only:
//
//   - the gate FCs: arm_fully_connected_mat_q7_vec_q15 (q7 network: q7
//     weights and bias, q15 vector) or arm_fully_connected_q15 (q15 network),
//     one call for x_t·W_ih and one for h·W_hh, each producing all gates at
//     once in the same q15 gate format;
//   - arm_nn_activations_direct_q15 (sigmoid, tanh) on the gate sums;
//   - CMSIS-DSP-style element-wise q15 functions (dsp_q15.go): saturating
//     add/sub, truncating multiply, shift, q7<->q15 conversion;
//   - arm_nn_mult_q15 (rounding multiply with a shift) for the LSTM cell.
//
// The state h is always q15 Q0.15 (it is a convex combination of tanh
// outputs, or o·tanh(c), so |h| < 1). A q7 network's q7 input step is
// widened with nnq_q7_to_q15 (x << 8) before its FC and h is narrowed with
// nnq_q15_to_q7 (h >> 8) into the q7 output. Everything else lives in the
// caller's q15 scratch buffer (RNNScratchQ15 elements).
//
// GRU step (gates r, z, n; gx = W_ih·x + b_ih, gh = W_hh·h + b_hh; both FCs
// output the gate format Q(15-GateFrac).GateFrac; [a:b] are row ranges in
// units of Hidden; "(shift)" is nnq_shift_q15 by GateShift, done only when
// GateShift > 0, which brings a gate sum into the activation's input format
// Q(GateIntWidth).(15-GateIntWidth), saturating where sigmoid and tanh are
// flat anyway):
//
//	gx[0:2] = SAT(gx[0:2] + gh[0:2]);  (shift);  sigmoid -> r = gx[0:1], z = gx[1:2]  (Q0.15)
//	gh[2:3] = (r·gh[2:3]) >> 15                                                      (gate format)
//	gx[2:3] = SAT(gx[2:3] + gh[2:3]);  (shift);  tanh -> n = gx[2:3]                 (Q0.15)
//	gh[0:1] = (z·n) >> 15;  gh[1:2] = (z·h) >> 15
//	gx[0:1] = SAT(n - gh[0:1]);  h = SAT(gx[0:1] + gh[1:2])                 (h' = n - z·n + z·h)
//
// LSTM step (gates i, f, g, o; cell c in Q(15-CellFrac).CellFrac):
//
//	gx = SAT(gx + gh);  (shift);  sigmoid on i, f; tanh on g; sigmoid on o
//	c = arm_nn_mult_q15(f, c, 15)                  (rounded, cell format)
//	gh[0:1] = arm_nn_mult_q15(i, g, CellOutShift)  (CellOutShift = 30 - CellFrac)
//	c = SAT(c + gh[0:1])
//	gh[1:2] = shift(c, CellShift); tanh with CellIntWidth
//	h = (o·gh[1:2]) >> 15
//
// Every step's FCs and activations use the same Opts (rounding); the
// results are identical on the C and DSP paths.

// RNNParams holds the scalar arguments of a recurrent kernel (the C struct
// nnq_rnn_params).
type RNNParams struct {
	// Steps is the sequence length T, DimIn the features per step I,
	// Hidden the state size H.
	Steps, DimIn, Hidden int
	// ReturnSequences writes h after every step (output [T][H]); otherwise
	// only the last h (output [H]).
	ReturnSequences bool
	// Shifts of the input-to-hidden FC (W_ih [G·H][I]) and of the
	// hidden-to-hidden FC (W_hh [G·H][H]); G = 3 (GRU) or 4 (LSTM).
	IHBiasShift, IHOutShift int
	HHBiasShift, HHOutShift int
	// GateShift (0..15) is the saturating left shift from the FCs' gate
	// format to the activations' input format, whose int_width (0..3) is
	// GateIntWidth: the gate format has 15-GateIntWidth-GateShift
	// fractional bits.
	GateShift, GateIntWidth int
	// LSTM only. CellOutShift is the arm_nn_mult_q15 out_shift of i·g
	// (30 - the cell's fractional bits); CellShift (0..15) is the
	// saturating left shift that brings c into the format of the tanh
	// input, whose int_width is CellIntWidth (0..3).
	CellOutShift, CellShift, CellIntWidth int
}

// RNNGeom is the geometry used to query recurrent variants: InX = steps,
// InC = features per step, OutC = hidden size, OutX = steps (full sequence
// returned) or 1 (last step only).
func RNNGeom(steps, dimIn, hidden int, returnSequences bool) ConvGeom {
	out := 1
	if returnSequences {
		out = steps
	}
	return ConvGeom{InX: steps, InY: 1, InC: dimIn, OutC: hidden, KX: 1, KY: 1, StrideX: 1, StrideY: 1, OutX: out, OutY: 1}
}

// Geom returns the geometry of the call.
func (p RNNParams) Geom() ConvGeom { return RNNGeom(p.Steps, p.DimIn, p.Hidden, p.ReturnSequences) }

// RNNGates is the number of gates of a recurrent variant (GRU 3, LSTM 4;
// 0 for other variants).
func RNNGates(v Variant) int {
	switch v {
	case VarNNQGRUQ7, VarNNQGRUQ15, VarNNQGRUCMSISQ7, VarNNQGRUCMSISQ15:
		return 3
	case VarNNQLSTMQ7, VarNNQLSTMQ15, VarNNQLSTMCMSISQ7, VarNNQLSTMCMSISQ15:
		return 4
	}
	return 0
}

// RNNScratchQ15 is the number of q15 scratch elements a recurrent kernel
// needs: the two gate vectors (2·G·H), h (H), for an LSTM the cell c (H),
// and for a q7 network the widened input step (I).
func RNNScratchQ15(v Variant, dimIn, hidden int) int {
	g := RNNGates(v)
	if g == 0 {
		return 0
	}
	n := 2*g*hidden + hidden
	if g == 4 {
		n += hidden
	}
	if !v.Q15() {
		n += dimIn
	}
	return n
}

func rnnInvalidReason(v Variant, g ConvGeom) string {
	gates := RNNGates(v)
	switch {
	case g.InX < 1 || g.InX > maxU16:
		return fmt.Sprintf("steps %d outside [1, 65535]", g.InX)
	case g.InC < 1 || g.InC > maxU16:
		return fmt.Sprintf("dim_in %d outside [1, 65535]", g.InC)
	case g.OutC < 1 || gates*g.OutC > maxU16:
		return fmt.Sprintf("hidden %d: %d gate rows outside [1, 65535]", g.OutC, gates*g.OutC)
	case g.OutX != 1 && g.OutX != g.InX:
		return fmt.Sprintf("output steps %d is neither 1 nor the %d input steps", g.OutX, g.InX)
	}
	return ""
}

var errRNNParam = fmt.Errorf("%w: recurrent kernel parameter out of range", ErrInvalid)

// check validates p and the slice lengths (elements of the weight type W).
func (p *RNNParams) check(v Variant, nIn, nWIH, nBIH, nWHH, nBHH, nOut, nScratch int) error {
	if err := v.Valid(p.Geom(), CPath); err != nil {
		return err
	}
	if err := ValidShifts(p.IHBiasShift, p.IHOutShift); err != nil {
		return err
	}
	if err := ValidShifts(p.HHBiasShift, p.HHOutShift); err != nil {
		return err
	}
	if p.GateIntWidth < 0 || p.GateIntWidth > 3 {
		return errIntWidth
	}
	if p.GateShift < 0 || p.GateShift > 15 {
		return errRNNParam
	}
	if RNNGates(v) == 4 && (p.CellOutShift < 0 || p.CellOutShift > 30 || p.CellShift < 0 || p.CellShift > 15 ||
		p.CellIntWidth < 0 || p.CellIntWidth > 3) {
		return errRNNParam
	}
	G := RNNGates(v) * p.Hidden
	out := p.Hidden
	if p.ReturnSequences {
		out *= p.Steps
	}
	if nIn < p.Steps*p.DimIn || nWIH < G*p.DimIn || nBIH < G || nWHH < G*p.Hidden || nBHH < G || nOut < out ||
		nScratch < RNNScratchQ15(v, p.DimIn, p.Hidden) {
		return ErrShortBuffer
	}
	return nil
}

// NNQGRUQ7 is nnq_gru_q7: a GRU over a q7 sequence in[Steps][DimIn] with q7
// weights W_ih [3H][I], W_hh [3H][H] (PyTorch gate order r, z, n) and q7
// biases, writing q7 h (Q0.7) to out. scratch holds
// RNNScratchQ15(VarNNQGRUQ7, ...) q15 elements.
func NNQGRUQ7(o Opts, p RNNParams, in, wIH, bIH, wHH, bHH, out []int8, scratch []int16) error {
	return rnnRun(VarNNQGRUQ7, &o, &p, in, wIH, bIH, wHH, bHH, out, scratch)
}

// NNQGRUQ15 is nnq_gru_q15: the q15 network version (q15 input, weights,
// biases and output Q0.15).
func NNQGRUQ15(o Opts, p RNNParams, in, wIH, bIH, wHH, bHH, out []int16, scratch []int16) error {
	return rnnRun(VarNNQGRUQ15, &o, &p, in, wIH, bIH, wHH, bHH, out, scratch)
}

// NNQLSTMQ7 is nnq_lstm_q7: an LSTM (PyTorch gate order i, f, g, o;
// W_ih [4H][I], W_hh [4H][H]) over a q7 sequence with q7 weights.
func NNQLSTMQ7(o Opts, p RNNParams, in, wIH, bIH, wHH, bHH, out []int8, scratch []int16) error {
	return rnnRun(VarNNQLSTMQ7, &o, &p, in, wIH, bIH, wHH, bHH, out, scratch)
}

// NNQLSTMQ15 is nnq_lstm_q15: the q15 network version.
func NNQLSTMQ15(o Opts, p RNNParams, in, wIH, bIH, wHH, bHH, out []int16, scratch []int16) error {
	return rnnRun(VarNNQLSTMQ15, &o, &p, in, wIH, bIH, wHH, bHH, out, scratch)
}

func rnnRun[A qint](v Variant, o *Opts, p *RNNParams, in, wIH, bIH, wHH, bHH, out []A, scratch []int16) error {
	if err := p.check(v, len(in), len(wIH), len(bIH), len(wHH), len(bHH), len(out), len(scratch)); err != nil {
		return err
	}
	// The building blocks count into a private Stats; the layer's counters
	// get one call, its output values and every saturation/wrap inside,
	// except the intended ones of the shifts into the activations' Q3.12
	// input (sigmoid and tanh are flat there).
	var sub Stats
	st := o.Stats
	if outer := o.Stats; outer != nil {
		o2 := *o
		o2.Stats = &sub
		o = &o2
		defer func() {
			n := p.Hidden
			if p.ReturnSequences {
				n *= p.Steps
			}
			outer.Add(Stats{Calls: 1, Values: int64(n), SatHigh: sub.SatHigh, SatLow: sub.SatLow, AccWraps: sub.AccWraps, BiasWraps: sub.BiasWraps})
		}()
		st = &sub
	}
	I, H := p.DimIn, p.Hidden
	lstm := RNNGates(v) == 4
	G := RNNGates(v) * H
	gx, gh := scratch[:G:G], scratch[G:2*G:2*G]
	h := scratch[2*G : 2*G+H : 2*G+H]
	off := 2*G + H
	var c []int16
	if lstm {
		c = scratch[off : off+H : off+H]
		off += H
	}
	clear(h)
	clear(c)
	in8, _ := any(in).([]int8)
	in16, _ := any(in).([]int16)
	out8, _ := any(out).([]int8)
	out16, _ := any(out).([]int16)
	var xq []int16
	if in8 != nil {
		xq = scratch[off : off+I : off+I]
	}
	seg := func(v []int16, a, b int) []int16 { return v[a*H : b*H : b*H] }
	emit := func(dst int) {
		if out8 != nil {
			q15ToQ7(st, h, out8[dst:dst+H])
		} else {
			copy(out16[dst:dst+H], h)
		}
	}
	for t := 0; t < p.Steps; t++ {
		var x []int16
		if in8 != nil {
			q7ToQ15(st, in8[t*I:(t+1)*I], xq)
			x = xq
		} else {
			x = in16[t*I : (t+1)*I]
		}
		fcCore(o, x, wIH, I, G, p.IHBiasShift, p.IHOutShift, bIH, gx, q15Min, q15Max)
		fcCore(o, h, wHH, H, G, p.HHBiasShift, p.HHOutShift, bHH, gh, q15Min, q15Max)
		if !lstm {
			addSatQ15(st, seg(gx, 0, 2), seg(gh, 0, 2), seg(gx, 0, 2))
			if p.GateShift > 0 {
				shiftQ15(nil, seg(gx, 0, 2), p.GateShift, seg(gx, 0, 2))
			}
			if err := ActivationsDirectQ15(*o, seg(gx, 0, 2), p.GateIntWidth, Sigmoid); err != nil {
				return err
			}
			r, z, n := seg(gx, 0, 1), seg(gx, 1, 2), seg(gx, 2, 3)
			multQ15(st, r, seg(gh, 2, 3), seg(gh, 2, 3))
			addSatQ15(st, n, seg(gh, 2, 3), n)
			if p.GateShift > 0 {
				shiftQ15(nil, n, p.GateShift, n)
			}
			if err := ActivationsDirectQ15(*o, n, p.GateIntWidth, Tanh); err != nil {
				return err
			}
			zn, zh := seg(gh, 0, 1), seg(gh, 1, 2)
			multQ15(st, z, n, zn)
			multQ15(st, z, h, zh)
			subSatQ15(st, n, zn, r)
			addSatQ15(st, r, zh, h)
		} else {
			addSatQ15(st, gx, gh, gx)
			if p.GateShift > 0 {
				shiftQ15(nil, gx, p.GateShift, gx)
			}
			i, f, g, og := seg(gx, 0, 1), seg(gx, 1, 2), seg(gx, 2, 3), seg(gx, 3, 4)
			if err := ActivationsDirectQ15(*o, seg(gx, 0, 2), p.GateIntWidth, Sigmoid); err != nil {
				return err
			}
			if err := ActivationsDirectQ15(*o, g, p.GateIntWidth, Tanh); err != nil {
				return err
			}
			if err := ActivationsDirectQ15(*o, og, p.GateIntWidth, Sigmoid); err != nil {
				return err
			}
			if err := NNMultQ15(*o, f, c, c, 15); err != nil {
				return err
			}
			ig := seg(gh, 0, 1)
			if err := NNMultQ15(*o, i, g, ig, p.CellOutShift); err != nil {
				return err
			}
			addSatQ15(st, c, ig, c)
			tc := seg(gh, 1, 2)
			shiftQ15(nil, c, p.CellShift, tc)
			if err := ActivationsDirectQ15(*o, tc, p.CellIntWidth, Tanh); err != nil {
				return err
			}
			multQ15(st, og, tc, h)
		}
		if p.ReturnSequences {
			emit(t * H)
		}
	}
	if !p.ReturnSequences {
		emit(0)
	}
	return nil
}
