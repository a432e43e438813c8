package kernels

// nnq's recurrent kernels for s8/s16 networks: the Go twins of
// nnq_gru_s8/s16 and nnq_lstm_s8/s16 (codegen/crt/c/nnq_s8_nnq.c). Today's
// CMSIS-NN has no GRU; its LSTM (arm_lstm_unidirectional_s8/s16) follows
// TFLite's integer LSTM, whose hidden state is fed back in the int8 output
// format, so an int8 network's state error compounds over the steps (the
// reason nnq's legacy q7 recurrent layers keep a q15 state). These kernels
// decompose a PyTorch-convention GRU/LSTM (batch first, zero initial state)
// the way the legacy ones do (docs/RECURRENT.md) with an int16 state:
//
//   - the gate FCs are arm_convolve_wrapper_s16 calls on a 1×1 map (a fully
//     connected layer with one weight scale per row, which
//     arm_fully_connected_s16 cannot take: int16 vector, int8 weights, int64
//     bias, zero offsets): one call for all gates of x_t, one for all gates
//     of h, both into one int16 gate scale (the IH and HH per-row
//     multipliers); an int8 input step is first widened to int16 with its
//     zero point removed (x + InputOffset);
//   - sigmoid and tanh are 513-entry interpolated int16 tables over Q3.12
//     (ActTableS16, LUTS16), reached from the int32 gate sum by Requantize
//     (Gate), saturated to int16; their outputs are Q0.15;
//   - products of Q0.15 values round half up: (a·b + 2^14) >> 15.
//
// The state h is Q0.15; the output is h (s16) or SAT8((h + 128) >> 8)
// (s8, scale 2^-7, zero point 0).
//
// GRU step (gates r, z, n; rows [a:b] in units of Hidden):
//
//	gx = FC(x_t), gh = FC(h)                         (gate scale)
//	r, z = sigmoid(SAT16(Requantize(gx[0:2] + gh[0:2], Gate)))
//	n = tanh(SAT16(Requantize(gx[2:3] + ((r·gh[2:3] + 2^14) >> 15), Gate)))
//	h = SAT16(n + ((z·(h − n) + 2^14) >> 15))        (h' = (1 − z)·n + z·h)
//
// LSTM step (gates i, f, g, o; cell c int16 at the cell scale):
//
//	i, f, o = sigmoid(...), g = tanh(...)           (as the GRU's r, z)
//	c = SAT16(((f·c + 2^14) >> 15) + Requantize(i·g, Cell))
//	h = (o·tanh(SAT16(Requantize(c, CellAct))) + 2^14) >> 15
//
// Every building block is target-independent (arm_convolve_s16 accumulates
// in int32 on both paths).

// NNQRNNS8Params holds the scalar arguments of the s8/s16 recurrent kernels
// (the C struct nnq_rnn_s8_params).
type NNQRNNS8Params struct {
	// Steps T, features per step DimIn (I), state size Hidden (H).
	Steps, DimIn, Hidden int
	// ReturnSequences writes h after every step ([T][H]), else the last h.
	ReturnSequences bool
	// InputOffset is the negated zero point of an int8 input (0 for s16).
	InputOffset int32
	// IH and HH requantize the two FCs' accumulators to the gate scale,
	// one multiplier and shift per row (G·Hidden each).
	IH, HH PerChannelQuantParams
	// Gate brings a gate sum (gate scale) to Q3.12.
	Gate PerTensorQuantParams
	// LSTM: Cell brings i·g (Q0.30) to the cell scale, CellAct the cell
	// to Q3.12.
	Cell, CellAct PerTensorQuantParams
}

// NNQRNNS8Scratch is the int16 scratch a recurrent kernel needs: the
// convolutions' ctx buffer (arm_convolve_s16_get_buffer_size of a 1×1
// kernel over max(dimIn, hidden) channels: 4 bytes per channel), the
// widened input step, gx and gh (G·H each), h, and the LSTM's c.
func NNQRNNS8Scratch(lstm bool, dimIn, hidden int) int {
	ctx := 2 * max(dimIn, hidden)
	if lstm {
		return dimIn + 8*hidden + 2*hidden + ctx
	}
	return dimIn + 6*hidden + hidden + ctx
}

// NNQGRUS8 is nnq_gru_s8 (int8 input and output).
func NNQGRUS8(o Opts, p NNQRNNS8Params, in []int8, wih []int8, bx []int64, whh []int8, bh []int64, sig, tanh []int16, out []int8, scratch []int16) error {
	return rnnS8("nnq_gru_s8", false, o, p, in, wih, bx, whh, bh, sig, tanh, out, scratch)
}

// NNQGRUS16 is nnq_gru_s16 (int16 input and output).
func NNQGRUS16(o Opts, p NNQRNNS8Params, in []int16, wih []int8, bx []int64, whh []int8, bh []int64, sig, tanh []int16, out []int16, scratch []int16) error {
	return rnnS8("nnq_gru_s16", false, o, p, in, wih, bx, whh, bh, sig, tanh, out, scratch)
}

// NNQLSTMS8 is nnq_lstm_s8.
func NNQLSTMS8(o Opts, p NNQRNNS8Params, in []int8, wih []int8, bx []int64, whh []int8, bh []int64, sig, tanh []int16, out []int8, scratch []int16) error {
	return rnnS8("nnq_lstm_s8", true, o, p, in, wih, bx, whh, bh, sig, tanh, out, scratch)
}

// NNQLSTMS16 is nnq_lstm_s16.
func NNQLSTMS16(o Opts, p NNQRNNS8Params, in []int16, wih []int8, bx []int64, whh []int8, bh []int64, sig, tanh []int16, out []int16, scratch []int16) error {
	return rnnS8("nnq_lstm_s16", true, o, p, in, wih, bx, whh, bh, sig, tanh, out, scratch)
}

func rnnS8[T int8 | int16](fn string, lstm bool, o Opts, p NNQRNNS8Params, in []T, wih []int8, bx []int64, whh []int8, bh []int64,
	sig, tanh []int16, out []T, scratch []int16) error {
	G := 3
	if lstm {
		G = 4
	}
	S, I, H := p.Steps, p.DimIn, p.Hidden
	if S < 1 || I < 1 || H < 1 || S > maxDim || I > maxDim || H > maxDim || G*H > maxDim {
		return invalid(fn, "steps %d, dim_in %d, hidden %d", S, I, H)
	}
	_, isS16 := any(in).([]int16)
	if isS16 && p.InputOffset != 0 {
		return invalid(fn, "an int16 input has no offset, got %d", p.InputOffset)
	}
	if p.InputOffset < -127 || p.InputOffset > 128 {
		return invalid(fn, "input_offset %d outside [-127, 128]", p.InputOffset)
	}
	if len(p.IH.Multiplier) < G*H || len(p.IH.Shift) < G*H || len(p.HH.Multiplier) < G*H || len(p.HH.Shift) < G*H {
		return short(fn, "ih/hh quant params", min(len(p.IH.Multiplier), len(p.IH.Shift), len(p.HH.Multiplier), len(p.HH.Shift)), G*H)
	}
	for _, q := range []PerTensorQuantParams{p.Gate, p.Cell, p.CellAct} {
		if err := checkMultShift(fn, q.Multiplier, q.Shift); err != nil {
			return err
		}
	}
	outN := H
	if p.ReturnSequences {
		outN = S * H
	}
	switch {
	case len(in) < S*I:
		return short(fn, "input", len(in), S*I)
	case len(wih) < G*H*I || len(whh) < G*H*H:
		return short(fn, "weights", min(len(wih), len(whh)), G*H*max(I, H))
	case len(bx) < G*H || len(bh) < G*H:
		return short(fn, "bias", min(len(bx), len(bh)), G*H)
	case len(sig) < 513 || len(tanh) < 513:
		return short(fn, "activation tables", min(len(sig), len(tanh)), 513)
	case len(out) < outN:
		return short(fn, "output", len(out), outN)
	case len(scratch) < NNQRNNS8Scratch(lstm, I, H):
		return short(fn, "scratch", len(scratch), NNQRNNS8Scratch(lstm, I, H))
	}
	ctxN := 2 * max(I, H) // the C code's ctx.buf comes first
	xs, rest := scratch[ctxN:ctxN+I], scratch[ctxN+I:]
	gx, gh, h := rest[:G*H], rest[G*H:2*G*H], rest[2*G*H:2*G*H+H]
	var c []int16
	if lstm {
		c = rest[2*G*H+H : 2*G*H+2*H]
		clear(c)
	}
	clear(h)
	cp := ConvParams{Stride: Tile{1, 1}, Dilation: Tile{1, 1}, Activation: Activation{Min: s16Min, Max: s16Max}}
	inD, hD := Dims{N: 1, H: 1, W: 1, C: I}, Dims{N: 1, H: 1, W: 1, C: H}
	fxD, fhD, gD := Dims{N: G * H, H: 1, W: 1, C: I}, Dims{N: G * H, H: 1, W: 1, C: H}, Dims{N: 1, H: 1, W: 1, C: G * H}
	// The FCs' saturations and wraps count in o.Stats (the gate scale is
	// chosen to avoid them); their calls and values do not.
	fo := Opts{Target: o.Target, Requant: o.Requant}
	var fst Stats
	if o.Stats != nil {
		fo.Stats = &fst
	}
	act := func(x int32, t []int16) int16 {
		v := o.Requant.Requantize(x, p.Gate.Multiplier, p.Gate.Shift)
		return lutS16(t, min(max(v, s16Min), s16Max))
	}
	mulQ15 := func(a, b int32) int32 { return (a*b + 1<<14) >> 15 }
	sat16 := func(v int32) int16 {
		if o.Stats != nil && (v > s16Max || v < s16Min) {
			if v > s16Max {
				o.Stats.SatHigh++
			} else {
				o.Stats.SatLow++
			}
		}
		return int16(min(max(v, s16Min), s16Max))
	}
	for t := 0; t < S; t++ {
		for j := 0; j < I; j++ {
			xs[j] = int16(int32(in[t*I+j]) + p.InputOffset)
		}
		if err := ConvolveWrapperS16(fo, cp, p.IH, inD, xs, fxD, wih, BiasS16{Int64: bx}, gD, gx); err != nil {
			return err
		}
		if err := ConvolveWrapperS16(fo, cp, p.HH, hD, h, fhD, whh, BiasS16{Int64: bh}, gD, gh); err != nil {
			return err
		}
		if lstm {
			for j := 0; j < H; j++ {
				ig := int32(act(int32(gx[j])+int32(gh[j]), sig))
				fg := int32(act(int32(gx[H+j])+int32(gh[H+j]), sig))
				gg := int32(act(int32(gx[2*H+j])+int32(gh[2*H+j]), tanh))
				og := int32(act(int32(gx[3*H+j])+int32(gh[3*H+j]), sig))
				cv := sat16(mulQ15(fg, int32(c[j])) + o.Requant.Requantize(ig*gg, p.Cell.Multiplier, p.Cell.Shift))
				c[j] = cv
				v := o.Requant.Requantize(int32(cv), p.CellAct.Multiplier, p.CellAct.Shift)
				tc := int32(lutS16(tanh, min(max(v, s16Min), s16Max)))
				h[j] = int16(mulQ15(og, tc))
			}
		} else {
			for j := 0; j < H; j++ {
				r := int32(act(int32(gx[j])+int32(gh[j]), sig))
				z := int32(act(int32(gx[H+j])+int32(gh[H+j]), sig))
				n := int32(act(int32(gx[2*H+j])+mulQ15(r, int32(gh[2*H+j])), tanh))
				h[j] = sat16(n + mulQ15(z, int32(h[j])-n))
			}
		}
		if p.ReturnSequences || t == S-1 {
			dst := out
			if p.ReturnSequences {
				dst = out[t*H : (t+1)*H]
			}
			for j, v := range h {
				if !isS16 {
					dst[j] = T(min(max((int32(v)+128)>>8, s8Min), s8Max))
				} else {
					dst[j] = T(v)
				}
			}
		}
	}
	if o.Stats != nil {
		o.Stats.Calls++
		o.Stats.Values += int64(outN)
		o.Stats.SatHigh += fst.SatHigh
		o.Stats.SatLow += fst.SatLow
		o.Stats.AccWraps += fst.AccWraps
	}
	return nil
}
