package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func tone(hz, amp float64, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/SampleRate))
	}
	return s
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestFrameCount(t *testing.T) {
	m := MustMFCC(HelloEdge)
	for _, c := range []struct{ n, want int }{{16000, 49}, {639, 0}, {640, 1}, {959, 1}, {960, 2}, {32000, 99}} {
		if got := m.NumFrames(c.n); got != c.want {
			t.Errorf("NumFrames(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	if s := m.Shape(); s != [2]int{49, 10} {
		t.Errorf("Shape = %v, want [49 10]", s)
	}
	if f := Features(make([]float32, 12345)); len(f) != 490 {
		t.Errorf("Features of a short clip has %d values, want 490", len(f))
	}
	if f := Features(make([]float32, 20000)); len(f) != 490 {
		t.Errorf("Features of a long clip has %d values, want 490", len(f))
	}
}

func TestFFTMatchesDFT(t *testing.T) {
	const n = 64
	rng := rand.New(rand.NewPCG(1, 2))
	re, im := make([]float64, n), make([]float64, n)
	x := make([]complex128, n)
	for i := range re {
		re[i], im[i] = rng.NormFloat64(), rng.NormFloat64()
		x[i] = complex(re[i], im[i])
	}
	newFFT(n).transform(re, im)
	for k := 0; k < n; k++ {
		var s complex128
		for j := 0; j < n; j++ {
			s += x[j] * cmplx.Exp(complex(0, -2*math.Pi*float64(k*j)/n))
		}
		if cmplx.Abs(s-complex(re[k], im[k])) > 1e-9 {
			t.Fatalf("bin %d: FFT %v, DFT %v", k, complex(re[k], im[k]), s)
		}
	}
}

// A 1000 Hz tone sits exactly on FFT bin 64 (16000/1024 = 15.625 Hz per
// bin). The periodic Hann window of 640 samples sums to 320, so the peak
// magnitude is amp*320/2 = 160*amp.
func TestPowerSpectrumTone(t *testing.T) {
	m := MustMFCC(HelloEdge)
	p := m.PowerSpectrum(tone(1000, 0.5, 640))
	if len(p) != 513 {
		t.Fatalf("%d bins, want 513", len(p))
	}
	peak := 0
	for k := range p {
		if p[k] > p[peak] {
			peak = k
		}
	}
	if peak != 64 {
		t.Errorf("peak at bin %d, want 64", peak)
	}
	if got, want := math.Sqrt(p[64]), 80.0; !near(got, want, 0.01*want) {
		t.Errorf("|X[64]| = %g, want %g", got, want)
	}
}

// Mel band centers (TensorFlow): mel(20 Hz) = 31.75, mel(4000 Hz) =
// 2146.07, spacing (2146.07-31.75)/41 = 51.57; band b peaks at mel
// 31.75+51.57*(b+1). mel(1000 Hz) = 999.99, closest to band 18 (1011.6 mel,
// about 1013 Hz); band 17 (960.0 mel, about 951 Hz) is next.
func TestToneLandsInMelBand(t *testing.T) {
	m := MustMFCC(HelloEdge)
	if got := HzToMel(1000); !near(got, 999.99, 0.01) {
		t.Errorf("HzToMel(1000) = %g, want 999.99", got)
	}
	if got := MelToHz(HzToMel(1234)); !near(got, 1234, 1e-9) {
		t.Errorf("MelToHz(HzToMel(1234)) = %g", got)
	}
	mel := m.MelEnergies(m.PowerSpectrum(tone(1000, 0.5, 640)))
	order := []int{}
	for b := range mel {
		order = append(order, b)
	}
	for i := range order {
		for j := i + 1; j < len(order); j++ {
			if mel[order[j]] > mel[order[i]] {
				order[i], order[j] = order[j], order[i]
			}
		}
	}
	if order[0] != 18 || order[1] != 17 {
		t.Errorf("strongest mel bands %v, want 18 then 17", order[:3])
	}
	// A 3000 Hz tone: mel 1876.5 → (1876.5-31.75)/51.57-1 = 34.77 → band 35.
	mel = m.MelEnergies(m.PowerSpectrum(tone(3000, 0.5, 640)))
	best := 0
	for b := range mel {
		if mel[b] > mel[best] {
			best = b
		}
	}
	if best != 35 {
		t.Errorf("3000 Hz tone peaks in band %d, want 35", best)
	}
}

// Between the first and last band centers the triangular filters form a
// partition of unity; outside 20-4000 Hz nothing contributes.
func TestFilterbankWeights(t *testing.T) {
	m := MustMFCC(HelloEdge)
	hzPerBin := 16000.0 / 1024
	for k := 0; k < 513; k++ {
		sum := 0.0
		for b := 0; b < 40; b++ {
			w := m.FilterWeight(b, k)
			if w < 0 || w > 1 {
				t.Fatalf("weight(%d,%d) = %g", b, k, w)
			}
			sum += w
		}
		hz := float64(k) * hzPerBin
		switch {
		case hz < 20 || hz > 4000:
			if sum != 0 {
				t.Errorf("bin %d (%g Hz) outside the range has weight %g", k, hz, sum)
			}
		case HzToMel(hz) > 31.75+51.57*1.01 && HzToMel(hz) < 31.75+51.57*39.99:
			if !near(sum, 1, 1e-9) {
				t.Errorf("bin %d (%g Hz): weights sum to %g, want 1", k, hz, sum)
			}
		}
	}
}

// DCT-II with TensorFlow's sqrt(2/N) scale: a constant c gives
// c*sqrt(2/40)*40 = c*sqrt(80) in c0 and 0 elsewhere.
func TestDCTOfConstant(t *testing.T) {
	m := MustMFCC(HelloEdge)
	v := make([]float64, 40)
	for i := range v {
		v[i] = 2.5
	}
	d := m.DCT(v)
	if !near(d[0], 2.5*math.Sqrt(80), 1e-9) {
		t.Errorf("c0 = %g, want %g", d[0], 2.5*math.Sqrt(80))
	}
	for i := 1; i < len(d); i++ {
		if !near(d[i], 0, 1e-9) {
			t.Errorf("c%d = %g, want 0", i, d[i])
		}
	}
	// A cosine at DCT frequency 3 lands in c3 only: sum_j cos^2 = N/2.
	for j := range v {
		v[j] = math.Cos(math.Pi / 40 * 3 * (float64(j) + 0.5))
	}
	d = m.DCT(v)
	for i := range d {
		want := 0.0
		if i == 3 {
			want = math.Sqrt(2.0/40) * 20
		}
		if !near(d[i], want, 1e-9) {
			t.Errorf("cosine: c%d = %g, want %g", i, d[i], want)
		}
	}
}

// Digital silence hits the 1e-12 floor in every band: c0 =
// ln(1e-12)*sqrt(80) = -247.14, the rest 0.
func TestSilenceFloor(t *testing.T) {
	f := Features(make([]float32, SampleRate))
	want := math.Log(1e-12) * math.Sqrt(80)
	for fr := 0; fr < 49; fr++ {
		if !near(float64(f[fr*10]), want, 1e-3) {
			t.Fatalf("frame %d c0 = %g, want %g", fr, f[fr*10], want)
		}
		for c := 1; c < 10; c++ {
			if !near(float64(f[fr*10+c]), 0, 1e-3) {
				t.Fatalf("frame %d c%d = %g, want 0", fr, c, f[fr*10+c])
			}
		}
	}
}

// Louder input raises only c0: scaling by g adds ln(g)*sqrt(80) to c0.
func TestGainMovesC0(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := Noise("pink", SampleRate, rng)
	a := Features(x)
	b := Features(Scale(append([]float32(nil), x...), 4))
	for i := range a {
		want := float64(a[i])
		if i%10 == 0 {
			want += math.Log(4) * math.Sqrt(80)
		}
		if !near(float64(b[i]), want, 1e-3) {
			t.Fatalf("value %d: %g, want %g", i, b[i], want)
		}
	}
}

func TestWAVRoundTrip(t *testing.T) {
	x := []float32{0, 0.5, -0.5, 1, -1, 0.25001, 1.5, -2}
	var buf bytes.Buffer
	if err := WriteWAV(&buf, x, 16000); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 44+2*len(x) {
		t.Fatalf("file is %d bytes, want %d", buf.Len(), 44+2*len(x))
	}
	y, rate, err := ReadWAV(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0.5, -0.5, 32767.0 / 32768, -1, 8192.0 / 32768, 32767.0 / 32768, -1}
	if rate != 16000 || len(y) != len(want) {
		t.Fatalf("rate %d, %d samples", rate, len(y))
	}
	for i := range want {
		if y[i] != want[i] {
			t.Errorf("sample %d = %g, want %g", i, y[i], want[i])
		}
	}
}

func TestWAVSkipsChunksAndRejectsStereo(t *testing.T) {
	var buf bytes.Buffer
	WriteWAV(&buf, []float32{0.5}, 8000)
	b := buf.Bytes()
	// Insert a LIST chunk (odd size, padded) between fmt and data.
	list := []byte("LIST\x03\x00\x00\x00abc\x00")
	withList := append(append(append([]byte(nil), b[:36]...), list...), b[36:]...)
	y, rate, err := ReadWAV(bytes.NewReader(withList))
	if err != nil || rate != 8000 || len(y) != 1 || y[0] != 0.5 {
		t.Fatalf("with LIST chunk: %v %d %v", y, rate, err)
	}
	stereo := append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(stereo[22:], 2)
	if _, _, err := ReadWAV(bytes.NewReader(stereo)); err == nil {
		t.Error("stereo file accepted")
	}
	if _, _, err := ReadWAV(bytes.NewReader([]byte("RIFX0000WAVE"))); err == nil {
		t.Error("non-RIFF file accepted")
	}
}

func TestMixNoiseSNR(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	clip := tone(440, 0.3, SampleRate)
	noise := Noise("white", 1000, rng) // shorter than the clip: tiled
	for _, snr := range []float64{0, 10, 20.5} {
		y := MixNoise(clip, noise, snr)
		if len(y) != len(clip) {
			t.Fatalf("len %d", len(y))
		}
		d := make([]float32, len(y))
		for i := range y {
			d[i] = y[i] - clip[i]
		}
		got := 10 * math.Log10(Power(clip)/Power(d))
		if !near(got, snr, 0.01) {
			t.Errorf("SNR %g dB: measured %g dB", snr, got)
		}
		// Tiling: the added noise repeats with the noise's period.
		if !near(float64(d[5]), float64(d[1005]), 1e-6) {
			t.Errorf("noise not tiled: %g vs %g", d[5], d[1005])
		}
	}
	if y := MixNoise(make([]float32, 10), noise, 10); Power(y) != 0 {
		t.Error("silent clip gained noise")
	}
	for _, k := range NoiseKinds {
		n := Noise(k, SampleRate, rng)
		if r := math.Sqrt(Power(n)); !near(r, 0.1, 1e-6) {
			t.Errorf("%s noise RMS %g, want 0.1", k, r)
		}
	}
}
