package audio

import (
	"math"
	"math/rand/v2"
)

// Power is the mean square of samples (0 for an empty slice).
func Power(samples []float32) float64 {
	if len(samples) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range samples {
		s += float64(v) * float64(v)
	}
	return s / float64(len(samples))
}

// MixNoise returns clip + g*noise, with the gain g chosen so that the
// signal-to-noise ratio Power(clip)/Power(g*noise) is snrDB decibels. Both
// powers are measured over the whole clip length (so for a 1 s clip holding
// a short word the SNR counts the silent parts too). noise is repeated when
// shorter than clip and cut when longer. The result has len(clip) samples
// and is not clipped (WriteWAV saturates). If clip or noise is silent (zero
// power) the result is a copy of clip.
func MixNoise(clip, noise []float32, snrDB float64) []float32 {
	out := append([]float32(nil), clip...)
	if len(noise) == 0 {
		return out
	}
	tiled := make([]float32, len(clip))
	for i := range tiled {
		tiled[i] = noise[i%len(noise)]
	}
	ps, pn := Power(clip), Power(tiled)
	if ps == 0 || pn == 0 {
		return out
	}
	g := math.Sqrt(ps / pn / math.Pow(10, snrDB/10))
	for i := range out {
		out[i] += float32(g * float64(tiled[i]))
	}
	return out
}

// Scale multiplies samples in place by g and returns them.
func Scale(samples []float32, g float64) []float32 {
	for i := range samples {
		samples[i] = float32(float64(samples[i]) * g)
	}
	return samples
}

// SetRMS scales samples in place to the given root-mean-square level (no-op
// on silence) and returns them.
func SetRMS(samples []float32, rms float64) []float32 {
	p := Power(samples)
	if p == 0 {
		return samples
	}
	return Scale(samples, rms/math.Sqrt(p))
}

// NoiseKinds lists the kinds Noise synthesizes.
var NoiseKinds = []string{"white", "pink", "brown", "hum", "babble-like", "fan"}

// Noise synthesizes n samples of background noise of the given kind at RMS
// 0.1, from rng (16 kHz assumed for the tonal kinds):
//
//	white       Gaussian white noise
//	pink        1/f noise (Paul Kellet's filter on white noise)
//	brown       1/f^2 noise (leaky integrated white noise)
//	hum         mains hum: 50 or 60 Hz and harmonics plus a little white noise
//	babble-like pink noise amplitude-modulated at syllable rates (2-6 Hz)
//	fan         low-passed white noise plus a blade tone (80-250 Hz)
//
// An unknown kind gives white noise.
func Noise(kind string, n int, rng *rand.Rand) []float32 {
	out := make([]float32, n)
	switch kind {
	case "pink":
		var b0, b1, b2, b3, b4, b5, b6 float64
		for i := range out {
			w := rng.NormFloat64()
			b0 = 0.99886*b0 + w*0.0555179
			b1 = 0.99332*b1 + w*0.0750759
			b2 = 0.96900*b2 + w*0.1538520
			b3 = 0.86650*b3 + w*0.3104856
			b4 = 0.55000*b4 + w*0.5329522
			b5 = -0.7616*b5 - w*0.0168980
			out[i] = float32(b0 + b1 + b2 + b3 + b4 + b5 + b6 + w*0.5362)
			b6 = w * 0.115926
		}
	case "brown":
		x := 0.0
		for i := range out {
			x = 0.995*x + rng.NormFloat64()*0.1
			out[i] = float32(x)
		}
	case "hum":
		f0 := 50.0
		if rng.IntN(2) == 1 {
			f0 = 60
		}
		var amp, phase [6]float64
		for h := range amp {
			amp[h] = rng.Float64() / float64(h+1)
			phase[h] = rng.Float64() * 2 * math.Pi
		}
		for i := range out {
			t := float64(i) / SampleRate
			v := 0.02 * rng.NormFloat64()
			for h := range amp {
				v += amp[h] * math.Sin(2*math.Pi*f0*float64(h+1)*t+phase[h])
			}
			out[i] = float32(v)
		}
	case "babble-like":
		pink := Noise("pink", n, rng)
		rate := 2 + 4*rng.Float64()
		ph := rng.Float64() * 2 * math.Pi
		for i := range out {
			t := float64(i) / SampleRate
			env := 0.3 + 0.7*math.Pow(math.Abs(math.Sin(math.Pi*rate*t+ph)), 2)
			out[i] = float32(env) * pink[i]
		}
	case "fan":
		f := 80 + 170*rng.Float64()
		lp := 0.0
		for i := range out {
			lp = 0.9*lp + 0.1*rng.NormFloat64()
			out[i] = float32(lp + 0.05*math.Sin(2*math.Pi*f*float64(i)/SampleRate))
		}
	default:
		for i := range out {
			out[i] = float32(rng.NormFloat64())
		}
	}
	return SetRMS(out, 0.1)
}
