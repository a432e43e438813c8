package nnq

import (
	"fmt"
	"math"
	"sync"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Recurrent layers of s8/s16 networks: nnq_gru_s8/s16 and
// nnq_lstm_s8/s16 (kernels/nnq_s8_rnn.go, docs/RECURRENT.md), the legacy
// decomposition on arm_fully_connected_s16 with an int16 state.

// S8RNN is the quantized form of a gru or lstm layer in an s8/s16 network.
type S8RNN struct {
	kernels.NNQRNNS8Params
	LSTM bool `json:"lstm,omitempty"`
	// Scales of the weight matrices' rows (G·H each), of the gates (both FC
	// outputs) and of the LSTM cell.
	WihScale, WhhScale   []float64
	GateScale, CellScale float64
	// Wih [G·H][I] (CMSIS order) and Whh [G·H][H], int8 with one scale per
	// row; Bx at input·W_ih scale and Bh at 2^-15·W_hh scale, int64 (the
	// folded biases of docs/RECURRENT.md).
	Wih, Whh []int8
	Bx, Bh   []int64
}

// ScratchBytes is the scratch the kernel needs (int16 words).
func (r *S8RNN) ScratchBytes() int { return 2 * kernels.NNQRNNS8Scratch(r.LSTM, r.DimIn, r.Hidden) }

// rnnTables are the int16 sigmoid and tanh tables (Q3.12 → Q0.15) of the
// s16 activations and recurrent kernels.
var rnnTables = sync.OnceValues(func() ([]int16, []int16) {
	return kernels.ActTableS16(sigmoid64), kernels.ActTableS16(math.Tanh)
})

// ActTablesS16 returns the sigmoid and tanh tables of nnq_act_s16 and the
// recurrent kernels (513 entries over Q3.12, outputs Q0.15; shared, do not
// modify).
func ActTablesS16() (sigmoid, tanh []int16) { return rnnTables() }

// symScale is the int16 scale of internal tensor name from the scheme.
func (c *qctx) symScale(name string) float64 {
	lo, hi := SchemeRange(c.scheme, c.stats.Tensor(name), 16)
	r := math.Max(-lo, hi)
	if d := c.delta[name]; d != 0 {
		r *= math.Exp2(-float64(d) / 2)
	}
	if r <= 0 {
		return math.Exp2(-12)
	}
	return r / 32767
}

func (c *qctx) recurrentS8(l *Layer, ql *QLayer) error {
	s := ql.S8
	for _, n := range rnnInternals(l) {
		if st := c.stats.Tensor(n); st == nil || st.Count == 0 {
			return fmt.Errorf("layer %q: no statistics for its internal tensor %q (calibrate with this version of nnq)", l.Name, n)
		}
	}
	T, I, H := rnnSizes(c.m, l, ql.In[0])
	r := &S8RNN{LSTM: l.Op == OpLSTM}
	r.Steps, r.DimIn, r.Hidden, r.ReturnSequences = T, I, H, l.Attrs.ReturnSequences
	in := s.In[0]
	if c.bits == 8 {
		r.InputOffset = -in.Zero
		s.Out = Affine{Scale: math.Exp2(-7)}
	} else {
		s.Out = Affine{Scale: math.Exp2(-15)}
	}
	G := rnnGates(l.Op) * H
	r.Wih, r.WihScale = quantizeWeights(c.m.Param(l, "weight_ih").Data, G, func(i int) int { return i / I })
	r.Whh, r.WhhScale = quantizeWeights(c.m.Param(l, "weight_hh").Data, G, func(i int) int { return i / H })
	bx, bh := rnnBiases(c.m, l, H)
	r.GateScale = c.symScale(l.Name + "/gates")
	for k := 0; k < G; k++ {
		sx, sh := in.Scale*r.WihScale[k], math.Exp2(-15)*r.WhhScale[k]
		r.Bx = append(r.Bx, int64(math.Round(float64(bx[k])/sx)))
		r.Bh = append(r.Bh, int64(math.Round(float64(bh[k])/sh)))
		for _, f := range []struct {
			what string
			m    float64
			q    *kernels.PerChannelQuantParams
		}{{"input-to-hidden", sx / r.GateScale, &r.IH}, {"hidden-to-hidden", sh / r.GateScale, &r.HH}} {
			mult, shift, err := c.multiplier(l, f.what, f.m, true)
			if err != nil {
				return fmt.Errorf("%w (row %d)", err, k)
			}
			f.q.Multiplier, f.q.Shift = append(f.q.Multiplier, mult), append(f.q.Shift, shift)
		}
	}
	q := func(what string, m float64, s64 bool) (kernels.PerTensorQuantParams, error) {
		mult, shift, err := c.multiplier(l, what, m, s64)
		return kernels.PerTensorQuantParams{Multiplier: mult, Shift: shift}, err
	}
	var err error
	if r.Gate, err = q("gate", r.GateScale*4096, false); err != nil {
		return err
	}
	if r.LSTM {
		r.CellScale = c.symScale(l.Name + "/c")
		if r.Cell, err = q("cell", math.Exp2(-30)/r.CellScale, false); err != nil {
			return err
		}
		if r.CellAct, err = q("cell activation", r.CellScale*4096, false); err != nil {
			return err
		}
	}
	s.RNN = r
	wl, wh := minMax(r.WihScale)
	hl, hh := minMax(r.WhhScale)
	ql.Notes = append(ql.Notes, fmt.Sprintf("gates int16 at scale %.3g, state h Q0.15%s; W_ih row scales %.3g..%.3g, W_hh row scales %.3g..%.3g",
		r.GateScale, map[bool]string{true: fmt.Sprintf(", cell at scale %.3g", r.CellScale), false: ""}[r.LSTM], wl, wh, hl, hh))
	return nil
}
