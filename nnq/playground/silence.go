package playground

import (
	"math"
	"math/rand/v2"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// QuietClip returns the MFCC features of one second of digital silence
// (near false: every sample 0) or of near-silence (a 16-bit recording of
// a few LSB of noise, sometimes with a DC offset), what an always-on
// microphone delivers most of the time.
func QuietClip(r *rand.Rand, near bool) []float32 {
	x := make([]float32, 16000)
	if near {
		rms, dc := 0.3+3*r.Float64(), 0.0
		if r.IntN(3) == 0 {
			dc = float64(r.IntN(5) - 2)
		}
		for i := range x {
			x[i] = float32(math.Round(r.NormFloat64()*rms+dc) / 32768)
		}
	}
	return audio.Features(x)
}

// SilenceHeavy returns KWS patterns p with quiet clips (QuietClip,
// alternately digital silence and near-silence, label 0: "silence")
// interleaved evenly so that they make frac of the result, in the split
// of the pattern they follow. seed makes it reproducible.
func SilenceHeavy(p *nnq.Patterns, frac float64, seed uint64) *nnq.Patterns {
	r := rand.New(rand.NewPCG(seed, 0x5113))
	out := &nnq.Patterns{Shape: p.Shape, Layout: p.Layout}
	n := p.Len()
	k := int(math.Ceil(frac * float64(n) / (1 - frac)))
	j := 0
	for i := 0; i < n; i++ {
		split := ""
		if len(p.Splits) > 0 {
			split = p.Splits[i]
		}
		out.Append(p.Input(i), p.Label(i), split)
		for j < k && (j+1)*n <= (i+1)*k {
			out.Append(QuietClip(r, j%2 == 1), 0, split)
			j++
		}
	}
	return out
}
