// Package audio is the keyword-spotting front end of nnq: 16-bit PCM WAV
// input/output, noise mixing and the MFCC feature extractor of the Hello
// Edge KWS networks (Zhang et al., "Hello Edge: Keyword Spotting on
// Microcontrollers", 2017), which computes its features with TensorFlow's
// AudioSpectrogram and Mfcc ops.
//
// The front end, step by step, for a 1 s clip at 16 kHz (HelloEdge):
//
//  1. Samples are floats in [-1, 1) (16-bit PCM / 32768, as TensorFlow's
//     DecodeWav).
//  2. Framing: 640-sample (40 ms) windows every 320 samples (20 ms); a frame
//     is produced only where a whole window fits, so 16000 samples give
//     1 + (16000-640)/320 = 49 frames. No pre-emphasis, no dithering.
//  3. Each frame is multiplied by a periodic Hann window
//     w[i] = 0.5 - 0.5*cos(2*pi*i/640), zero-padded to 1024 samples (the
//     next power of two, as TensorFlow does) and transformed with an FFT;
//     the power spectrum |X[k]|^2 has 513 bins 15.625 Hz apart.
//  4. Mel filterbank: 40 triangular bands, evenly spaced on the mel scale
//     mel(f) = 1127*ln(1+f/700) between 20 Hz and 4000 Hz, unnormalised
//     (peak weight 1). Exactly as TensorFlow's MfccMelFilterbank, the
//     filterbank is applied to the square root of the power spectrum (the
//     magnitude), and only bins int(1.5+20/df) .. int(4000/df) contribute.
//  5. Natural log of each band energy, floored at 1e-12.
//  6. DCT-II, c[i] = sqrt(2/40) * sum_j logmel[j]*cos(pi/40*i*(j+0.5)),
//     keeping i = 0..9 (TensorFlow's MfccDct: the same sqrt(2/N) scale for
//     every coefficient, c0 included).
//
// The result is a 49x10 map, frame-major ([frame][coefficient]), which is
// the NCHW pattern [1][49][10] of the KWS networks.
package audio

import (
	"fmt"
	"math"
)

// SampleRate is the sample rate of the KWS data, in Hz.
const SampleRate = 16000

// MFCCConfig describes an MFCC front end.
// The JSON names are those of the "frontend" record of nnq's model files
// (docs/FORMAT.md).
type MFCCConfig struct {
	SampleRate int     `json:"sample_rate"` // Hz
	WindowSize int     `json:"window_size"` // samples per frame
	Stride     int     `json:"stride"`      // samples between frame starts
	FFTSize    int     `json:"fft_size"`    // power of two >= WindowSize; 0 means the next power of two
	NumMel     int     `json:"num_mel"`     // mel bands
	LowHz      float64 `json:"low_hz"`      // lower edge of the filterbank
	HighHz     float64 `json:"high_hz"`     // upper edge of the filterbank
	NumCoeffs  int     `json:"num_coeffs"`  // DCT coefficients kept per frame
	ClipLength int     `json:"clip_length"` // samples per clip for Features (pad/crop); 0 = no pad/crop
}

// HelloEdge is the front end of the Hello Edge KWS networks: 40 ms windows,
// 20 ms stride, FFT 1024, 40 mel bands 20-4000 Hz, 10 coefficients, 1 s
// clips → 49 frames x 10 coefficients.
var HelloEdge = MFCCConfig{
	SampleRate: SampleRate,
	WindowSize: 640,
	Stride:     320,
	FFTSize:    1024,
	NumMel:     40,
	LowHz:      20,
	HighHz:     4000,
	NumCoeffs:  10,
	ClipLength: SampleRate,
}

// FilterbankFloor is TensorFlow's kFilterbankFloor: the smallest band
// energy fed to the log.
const FilterbankFloor = 1e-12

// MFCC computes MFCC features. It is safe for concurrent use.
type MFCC struct {
	cfg    MFCCConfig
	window []float64
	// Filterbank as TensorFlow builds it: bin i (start..end) adds
	// weight[i]*x to band bandMapper[i] (if >= 0) and (1-weight[i])*x to
	// band bandMapper[i]+1 (if < NumMel).
	bandMapper []int
	weights    []float64
	start, end int
	dct        [][]float64 // [coeff][band]
	fft        *fft
}

// Resolved returns cfg with FFTSize set (the next power of two >=
// WindowSize when it is 0) and checks it.
func (cfg MFCCConfig) Resolved() (MFCCConfig, error) {
	if cfg.FFTSize == 0 && cfg.WindowSize > 0 && cfg.WindowSize <= 1<<24 {
		cfg.FFTSize = 1
		for cfg.FFTSize < cfg.WindowSize {
			cfg.FFTSize *= 2
		}
	}
	switch {
	case cfg.WindowSize > 1<<24 || cfg.FFTSize > 1<<24:
		return cfg, fmt.Errorf("audio: window %d / FFT size %d larger than 2^24 samples", cfg.WindowSize, cfg.FFTSize)
	case cfg.SampleRate <= 0 || cfg.WindowSize <= 0 || cfg.Stride <= 0:
		return cfg, fmt.Errorf("audio: sample rate, window and stride must be positive")
	case cfg.FFTSize < cfg.WindowSize || cfg.FFTSize&(cfg.FFTSize-1) != 0:
		return cfg, fmt.Errorf("audio: FFT size %d must be a power of two >= window %d", cfg.FFTSize, cfg.WindowSize)
	case cfg.NumMel <= 0 || cfg.NumCoeffs <= 0 || cfg.NumCoeffs > cfg.NumMel:
		return cfg, fmt.Errorf("audio: need 0 < coefficients (%d) <= mel bands (%d)", cfg.NumCoeffs, cfg.NumMel)
	case !(cfg.LowHz >= 0) || !(cfg.HighHz > cfg.LowHz) || cfg.HighHz > float64(cfg.SampleRate)/2:
		return cfg, fmt.Errorf("audio: bad filterbank range %g-%g Hz at %d Hz", cfg.LowHz, cfg.HighHz, cfg.SampleRate)
	case cfg.ClipLength < 0:
		return cfg, fmt.Errorf("audio: negative clip length %d", cfg.ClipLength)
	}
	return cfg, nil
}

// NewMFCC validates cfg and precomputes windows, filterbank and DCT tables.
func NewMFCC(cfg MFCCConfig) (*MFCC, error) {
	cfg, err := cfg.Resolved()
	if err != nil {
		return nil, err
	}
	m := &MFCC{cfg: cfg, fft: newFFT(cfg.FFTSize)}

	// Periodic Hann window.
	m.window = make([]float64, cfg.WindowSize)
	for i := range m.window {
		m.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(cfg.WindowSize))
	}

	// Mel filterbank (TensorFlow MfccMelFilterbank::Initialize).
	nbins := cfg.FFTSize/2 + 1
	melLow, melHigh := HzToMel(cfg.LowHz), HzToMel(cfg.HighHz)
	spacing := (melHigh - melLow) / float64(cfg.NumMel+1)
	centers := make([]float64, cfg.NumMel+1)
	for i := range centers {
		centers[i] = melLow + spacing*float64(i+1)
	}
	hzPerBin := 0.5 * float64(cfg.SampleRate) / float64(nbins-1)
	m.start = int(1.5 + cfg.LowHz/hzPerBin)
	m.end = int(cfg.HighHz / hzPerBin)
	m.bandMapper = make([]int, nbins)
	m.weights = make([]float64, nbins)
	ch := 0
	for i := 0; i < nbins; i++ {
		if i < m.start || i > m.end {
			m.bandMapper[i] = -2
			continue
		}
		mel := HzToMel(float64(i) * hzPerBin)
		for ch < cfg.NumMel && centers[ch] < mel {
			ch++
		}
		m.bandMapper[i] = ch - 1
		if b := ch - 1; b >= 0 {
			m.weights[i] = (centers[b+1] - mel) / (centers[b+1] - centers[b])
		} else {
			m.weights[i] = (centers[0] - mel) / (centers[0] - melLow)
		}
	}

	// DCT-II table (TensorFlow MfccDct).
	norm := math.Sqrt(2 / float64(cfg.NumMel))
	m.dct = make([][]float64, cfg.NumCoeffs)
	for i := range m.dct {
		m.dct[i] = make([]float64, cfg.NumMel)
		for j := range m.dct[i] {
			m.dct[i][j] = norm * math.Cos(math.Pi/float64(cfg.NumMel)*float64(i)*(float64(j)+0.5))
		}
	}
	return m, nil
}

// MustMFCC is NewMFCC that panics on a bad configuration.
func MustMFCC(cfg MFCCConfig) *MFCC {
	m, err := NewMFCC(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

// Config returns the configuration (with FFTSize resolved).
func (m *MFCC) Config() MFCCConfig { return m.cfg }

// HzToMel is the mel scale used by TensorFlow: 1127*ln(1+f/700).
func HzToMel(hz float64) float64 { return 1127 * math.Log1p(hz/700) }

// MelToHz inverts HzToMel.
func MelToHz(mel float64) float64 { return 700 * math.Expm1(mel/1127) }

// NumFrames is the number of whole windows in n samples.
func (m *MFCC) NumFrames(n int) int {
	if n < m.cfg.WindowSize {
		return 0
	}
	return 1 + (n-m.cfg.WindowSize)/m.cfg.Stride
}

// PowerSpectrum returns |FFT(window*frame)|^2 (FFTSize/2+1 bins) of one
// frame of WindowSize samples.
func (m *MFCC) PowerSpectrum(frame []float32) []float64 {
	n := m.cfg.FFTSize
	re := make([]float64, n)
	im := make([]float64, n)
	for i := 0; i < m.cfg.WindowSize && i < len(frame); i++ {
		re[i] = float64(frame[i]) * m.window[i]
	}
	m.fft.transform(re, im)
	p := make([]float64, n/2+1)
	for k := range p {
		p[k] = re[k]*re[k] + im[k]*im[k]
	}
	return p
}

// MelEnergies applies the filterbank to a power spectrum (via its square
// root, as TensorFlow does) and returns NumMel band energies.
func (m *MFCC) MelEnergies(power []float64) []float64 {
	out := make([]float64, m.cfg.NumMel)
	for i := m.start; i <= m.end; i++ {
		v := math.Sqrt(power[i])
		w := v * m.weights[i]
		b := m.bandMapper[i]
		if b >= 0 {
			out[b] += w
		}
		if b+1 < m.cfg.NumMel {
			out[b+1] += v - w
		}
	}
	return out
}

// FilterWeight returns the weight of FFT bin k in mel band b (0 outside the
// band), for inspection and tests.
func (m *MFCC) FilterWeight(b, k int) float64 {
	if k < m.start || k > m.end {
		return 0
	}
	switch m.bandMapper[k] {
	case b:
		return m.weights[k]
	case b - 1:
		return 1 - m.weights[k]
	}
	return 0
}

// DCT returns the first NumCoeffs DCT-II coefficients of v (NumMel values).
func (m *MFCC) DCT(v []float64) []float64 {
	out := make([]float64, m.cfg.NumCoeffs)
	for i, row := range m.dct {
		s := 0.0
		for j, c := range row {
			s += c * v[j]
		}
		out[i] = s
	}
	return out
}

// Frame returns the NumCoeffs MFCCs of one frame of WindowSize samples.
func (m *MFCC) Frame(frame []float32) []float64 {
	mel := m.MelEnergies(m.PowerSpectrum(frame))
	for i, v := range mel {
		mel[i] = math.Log(math.Max(v, FilterbankFloor))
	}
	return m.DCT(mel)
}

// Compute returns the MFCCs of samples, frame-major: NumFrames(len) rows of
// NumCoeffs values.
func (m *MFCC) Compute(samples []float32) []float32 {
	nf := m.NumFrames(len(samples))
	out := make([]float32, 0, nf*m.cfg.NumCoeffs)
	for f := 0; f < nf; f++ {
		s := f * m.cfg.Stride
		for _, c := range m.Frame(samples[s : s+m.cfg.WindowSize]) {
			out = append(out, float32(c))
		}
	}
	return out
}

// Features pads (with zeros at the end) or crops samples to ClipLength (if
// set) and returns Compute of the result: for HelloEdge a 49x10 map.
func (m *MFCC) Features(samples []float32) []float32 {
	if n := m.cfg.ClipLength; n > 0 && len(samples) != n {
		c := make([]float32, n)
		copy(c, samples)
		samples = c
	}
	return m.Compute(samples)
}

// Shape returns [frames, coefficients] of Features' output.
func (m *MFCC) Shape() [2]int {
	return [2]int{m.NumFrames(m.cfg.ClipLength), m.cfg.NumCoeffs}
}

var helloEdge = MustMFCC(HelloEdge)

// Features computes the HelloEdge 49x10 MFCC map of a 16 kHz clip (padded
// or cropped to 1 s).
func Features(samples []float32) []float32 { return helloEdge.Features(samples) }

// fft is an iterative radix-2 complex FFT of a fixed power-of-two size.
type fft struct {
	n        int
	rev      []int
	cos, sin []float64
}

func newFFT(n int) *fft {
	f := &fft{n: n, rev: make([]int, n), cos: make([]float64, n/2), sin: make([]float64, n/2)}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for i := range f.rev {
		r := 0
		for b := 0; b < bits; b++ {
			if i&(1<<b) != 0 {
				r |= 1 << (bits - 1 - b)
			}
		}
		f.rev[i] = r
	}
	for i := range f.cos {
		a := -2 * math.Pi * float64(i) / float64(n)
		f.cos[i], f.sin[i] = math.Cos(a), math.Sin(a)
	}
	return f
}

// transform computes X[k] = sum_n x[n] exp(-2 pi i k n / N) in place.
func (f *fft) transform(re, im []float64) {
	n := f.n
	for i, r := range f.rev {
		if i < r {
			re[i], re[r] = re[r], re[i]
			im[i], im[r] = im[r], im[i]
		}
	}
	for size := 2; size <= n; size *= 2 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for k := 0; k < half; k++ {
				c, s := f.cos[k*step], f.sin[k*step]
				a, b := start+k, start+k+half
				tr := re[b]*c - im[b]*s
				ti := re[b]*s + im[b]*c
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a], im[a] = re[a]+tr, im[a]+ti
			}
		}
	}
}

// Tables are the precomputed tables of an MFCC front end, for code
// generators that compute the same features elsewhere (codegen's C front
// end).
type Tables struct {
	// Window is the periodic Hann window, WindowSize values.
	Window []float64
	// Bins Start..End (inclusive) of the power spectrum feed the
	// filterbank: bin k adds Weight[k]*|X[k]| to band Band[k] (if >= 0)
	// and (1-Weight[k])*|X[k]| to band Band[k]+1 (if < NumMel).
	Start, End int
	Band       []int
	Weight     []float64
	// DCT is the [NumCoeffs][NumMel] DCT-II matrix, scale included.
	DCT [][]float64
}

// Tables returns copies of the front end's tables.
func (m *MFCC) Tables() Tables {
	t := Tables{Window: append([]float64(nil), m.window...), Start: m.start, End: m.end,
		Band: append([]int(nil), m.bandMapper...), Weight: append([]float64(nil), m.weights...)}
	for _, row := range m.dct {
		t.DCT = append(t.DCT, append([]float64(nil), row...))
	}
	return t
}
