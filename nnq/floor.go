package nnq

import (
	"fmt"
	"math"
	"strings"
)

// Constant blocks: the MFCC features of digital silence sit at one
// constant floor far below every other value, padding fills a tensor with
// one constant, and a floor at the input turns into constant outputs
// downstream. Such a block says nothing about the range the other values
// need, and saturating it costs nothing, so the floorless statistics leave
// it out.

// floorlessMSE is MSE on the statistics without a constant block at an
// extreme (FloorBlock).
type floorlessMSE struct{}

func (floorlessMSE) Name() string { return "floorless mse" }

func (floorlessMSE) Frac(s *TensorStats, bits int) int {
	if f, _ := FloorBlock(s); f != nil {
		return MSE{}.Frac(f, bits)
	}
	return MSE{}.Frac(s, bits)
}

func (floorlessMSE) Why(s *TensorStats, bits int) string {
	if f, d := FloorBlock(s); f != nil {
		return "mse without its constant floor: " + d
	}
	return MSE{}.Why(s, bits)
}

// FloorBlock detects constant blocks at the extremes of a tensor: at
// least 0.1% of the values (and 2) exactly equal to the minimum, or to the
// maximum, or one block at each, with every other value at most half as
// large in magnitude as each block (the MFCC floor of digital silence, a
// padding constant, and the constant outputs a floor produces downstream,
// e.g. the logits of silence). It returns the statistics without the
// blocks (the bulk; nil when there is none) and a description.
func FloorBlock(s *TensorStats) (*TensorStats, string) {
	if s == nil || s.Count == 0 {
		return nil, ""
	}
	need := max(2, s.Count/1000)
	lo, hi := constBlock{s.Min, s.MinCount}, constBlock{s.Max, s.MaxCount}
	ok := func(b constBlock) bool { return b.v != 0 && b.count >= need && b.count < s.Count }
	var tries [][]constBlock
	if ok(lo) && ok(hi) && lo.v != hi.v {
		tries = append(tries, []constBlock{lo, hi})
	}
	for _, b := range []constBlock{lo, hi} {
		if ok(b) {
			tries = append(tries, []constBlock{b})
		}
	}
	for _, blocks := range tries {
		if r, d := withoutBlocks(s, blocks); r != nil {
			return r, d
		}
	}
	return nil, ""
}

// constBlock is a constant block: count values equal to v.
type constBlock struct {
	v     float64
	count int64
}

// withoutBlocks removes constant blocks from s; nil when the rest is not at most half as large as every block.
func withoutBlocks(s *TensorStats, blocks []constBlock) (*TensorStats, string) {
	r := *s
	var descs []string
	for _, b := range blocks {
		r.Count -= b.count
		a := math.Abs(b.v)
		k := min(max(int(math.Floor(math.Log2(a)*FineSub))-(Pow2Lo-1)*FineSub, 0), nFine-1)
		r.Fine[k] = max(r.Fine[k]-b.count, 0)
		descs = append(descs, fmt.Sprintf("%.2f%% of the values at %.4g", 100*float64(b.count)/float64(s.Count), b.v))
	}
	top := -1
	for i := nFine - 1; i >= 0; i-- {
		if r.Fine[i] > 0 {
			top = i
			break
		}
	}
	bulk := 0.0
	if top >= 0 {
		bulk = fineEdge(top)
	}
	for _, b := range blocks {
		if bulk > math.Abs(b.v)/2 {
			return nil, "" // a block is not separated from the rest
		}
		if b.v < 0 {
			r.Min, r.MinCount = math.Max(-bulk, math.Min(s.Max, 0)), 0
		} else {
			r.Max, r.MaxCount = math.Min(bulk, math.Max(s.Min, 0)), 0
		}
	}
	r.Min, r.Max = math.Max(r.Min, -bulk), math.Min(r.Max, bulk)
	return &r, fmt.Sprintf("constant blocks (%s), with the rest within ±%.3g", strings.Join(descs, ", "), bulk)
}
