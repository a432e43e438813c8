package nnq

import (
	"fmt"
	"math"
)

// QDQ is the quantization an already-quantized model came with (an ONNX
// graph in the QDQ form PyTorch and ONNX Runtime write: QuantizeLinear /
// DequantizeLinear pairs on the activations, DequantizeLinear on int8
// weights). The importer records it next to the float graph (the weights
// are their dequantized values); quantizing for s8 keeps these formats
// instead of choosing them from statistics, so the int8 network is the
// framework's.
type QDQ struct {
	// Act maps activation tensors (the model input, layer outputs) to the
	// int8 format of their QuantizeLinear (uint8 formats are moved to int8:
	// same scale, zero point − 128, which gives the same real values).
	Act map[string]Affine
	// Weight maps weight tensors to their symmetric int8 scales: one per
	// output channel, or one for the tensor.
	Weight map[string][]float64
}

// importedAffine is the imported int8 format of tensor name, if any.
func (c *qctx) importedAffine(name string) (Affine, bool) {
	if c.m.QDQ == nil || c.bits != 8 {
		return Affine{}, false
	}
	a, ok := c.m.QDQ.Act[name]
	return a, ok
}

// importedWeights quantizes weight tensor w with its imported scales (one
// per channel of nScales, chanOf mapping a weight index to its channel):
// the dequantized values must lie on the int8 grid of the scales, which
// holds unless the float graph changed them (a folded batchnorm). ok is
// false when there is nothing usable to keep.
func (c *qctx) importedWeights(w *Tensor, nScales int, chanOf func(int) int) (q []int8, scales []float64, ok bool) {
	if c.m.QDQ == nil || c.bits != 8 {
		return nil, nil, false
	}
	sc, found := c.m.QDQ.Weight[w.Name]
	if !found {
		return nil, nil, false
	}
	if len(sc) == 1 && nScales > 1 {
		sc = repeat(sc[0], nScales)
	}
	if len(sc) != nScales {
		// A per-channel scale where the kernel takes one (fully connected).
		return nil, nil, false
	}
	q = make([]int8, len(w.Data))
	for i, v := range w.Data {
		s := sc[chanOf(i)]
		r := float64(v) / s
		k := math.Round(r)
		if !(s > 0) || math.Abs(r-k) > 1e-3 || k < -128 || k > 127 {
			return nil, nil, false
		}
		q[i] = int8(k)
	}
	return q, append([]float64(nil), sc...), true
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// qdqNotes summarizes what an s8 quantization kept of the imported QDQ
// formats.
func qdqNotes(m *Model, q *QModel, keptW, refusedW []string) []string {
	if m.QDQ == nil {
		return nil
	}
	if q.Bits != 8 {
		return []string{fmt.Sprintf("the model's imported int8 (QDQ) formats do not apply to %s: formats chosen from the statistics", q.Format)}
	}
	kept := 0
	for n := range q.Affine {
		if a, ok := m.QDQ.Act[n]; ok && a == q.Affine[n] {
			kept++
		}
	}
	out := []string{fmt.Sprintf("kept the imported QDQ formats of %d activation tensors and the weight scales of %d layers", kept, len(keptW))}
	for _, r := range refusedW {
		out = append(out, "imported weight scales not kept: "+r)
	}
	if q.AffineRounding != RoundingONNX {
		out = append(out, fmt.Sprintf("the framework that quantized the model (ONNX QuantizeLinear, PyTorch) rounds each requantization once and average-pool means half to even; "+
			"with rounding %s some values differ from its int8 results by one step: convert with --rounding onnx (QConfig.AffineRounding RoundingONNX) to reproduce them bit for bit", q.AffineRounding.Name()))
	}
	return out
}
