package nnq

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// Frontend records how a model's input is computed from a raw signal, so
// that an export can compute it on the device too (codegen's frontend.c).
// It travels in the Arrow model file (graph key "frontend", docs/FORMAT.md),
// the quantized model and an export's manifest.
//
// The only kind is "mfcc": 16-bit PCM → nnq/audio's MFCC (TensorFlow's
// AudioSpectrogram + Mfcc, the Hello Edge front end), frame-major
// [frames][coefficients]. The fields that name fixed parts of that
// algorithm (window, spectrum, log floor, PCM scale) are recorded so a
// reader of the file sees the whole definition; nnq accepts only the values
// it computes.
type Frontend struct {
	// Kind is FrontendMFCC.
	Kind string `json:"kind"`
	// Name names a known configuration ("helloedge"); informational.
	Name string `json:"name,omitempty"`
	// Window is "hann_periodic": w[i] = 0.5 - 0.5 cos(2 pi i / window_size).
	Window string `json:"window"`
	// Spectrum is "magnitude": the mel filterbank weighs |X[k]| (as
	// TensorFlow's Mfcc does), not |X[k]|^2.
	Spectrum string `json:"spectrum"`
	// LogFloor is the smallest mel band energy fed to the natural log.
	LogFloor float64 `json:"log_floor"`
	// PCMScale maps 16-bit PCM to the samples the front end sees
	// (1/32768: [-1, 1)).
	PCMScale float64 `json:"pcm_scale"`
	// MFCC holds the sizes and frequencies.
	MFCC audio.MFCCConfig `json:"mfcc"`
}

// Frontend kinds and the fixed values of the "mfcc" kind.
const (
	FrontendMFCC       = "mfcc"
	FrontendHelloEdge  = "helloedge"
	FrontendWindowHann = "hann_periodic"
	FrontendMagnitude  = "magnitude"
	FrontendPCMScale   = 1.0 / 32768
)

// HelloEdgeFrontend returns the record of audio.HelloEdge, the front end of
// the bundled KWS networks (16 kHz, 40 ms windows every 20 ms, FFT 1024, 40
// mel bands 20-4000 Hz, 10 coefficients, 1 s → 49x10).
func HelloEdgeFrontend() *Frontend {
	return MFCCFrontend(FrontendHelloEdge, audio.HelloEdge)
}

// MFCCFrontend returns the record of an nnq/audio MFCC configuration.
func MFCCFrontend(name string, cfg audio.MFCCConfig) *Frontend {
	if r, err := cfg.Resolved(); err == nil {
		cfg = r
	}
	return &Frontend{Kind: FrontendMFCC, Name: name, Window: FrontendWindowHann, Spectrum: FrontendMagnitude,
		LogFloor: audio.FilterbankFloor, PCMScale: FrontendPCMScale, MFCC: cfg}
}

// Check reports a front end record nnq cannot compute.
func (f *Frontend) Check() error {
	if f == nil {
		return errors.New("frontend: no record")
	}
	if f.Kind != FrontendMFCC {
		return fmt.Errorf("frontend: kind %q is not supported (nnq knows %q)", f.Kind, FrontendMFCC)
	}
	if f.Window != FrontendWindowHann {
		return fmt.Errorf("frontend: window %q is not supported (nnq computes %q)", f.Window, FrontendWindowHann)
	}
	if f.Spectrum != FrontendMagnitude {
		return fmt.Errorf("frontend: spectrum %q is not supported (nnq's filterbank weighs the %q)", f.Spectrum, FrontendMagnitude)
	}
	if f.LogFloor != audio.FilterbankFloor {
		return fmt.Errorf("frontend: log floor %g is not supported (nnq uses %g)", f.LogFloor, audio.FilterbankFloor)
	}
	if f.PCMScale != FrontendPCMScale {
		return fmt.Errorf("frontend: PCM scale %g is not supported (nnq uses 1/32768)", f.PCMScale)
	}
	cfg, err := f.MFCC.Resolved()
	if err != nil {
		return fmt.Errorf("frontend: %w", err)
	}
	if cfg.FFTSize != f.MFCC.FFTSize {
		return fmt.Errorf("frontend: fft_size is %d; record the resolved size %d", f.MFCC.FFTSize, cfg.FFTSize)
	}
	if cfg.ClipLength < cfg.WindowSize {
		return fmt.Errorf("frontend: clip length %d is shorter than the window %d", cfg.ClipLength, cfg.WindowSize)
	}
	return nil
}

// ParseFrontend decodes a front end record from JSON (unknown keys are
// errors) and checks it.
func ParseFrontend(data []byte) (*Frontend, error) {
	var f Frontend
	if err := strictJSON(bytes.TrimSpace(data), &f); err != nil {
		return nil, fmt.Errorf("frontend: not a front end record: %v", err)
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Clone returns a copy (nil for nil).
func (f *Frontend) Clone() *Frontend {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}

// Shape returns [frames, coefficients] of the map of one clip.
func (f *Frontend) Shape() (frames, coeffs int) {
	c := f.MFCC
	if c.ClipLength < c.WindowSize || c.Stride <= 0 {
		return 0, c.NumCoeffs
	}
	return 1 + (c.ClipLength-c.WindowSize)/c.Stride, c.NumCoeffs
}

// String is a one-line description.
func (f *Frontend) String() string {
	if f == nil {
		return "none"
	}
	c := f.MFCC
	fr, k := f.Shape()
	name := f.Kind
	if f.Name != "" {
		name += " " + f.Name
	}
	return fmt.Sprintf("%s: %d Hz 16-bit PCM, %d-sample %s windows every %d samples, FFT %d, %d mel bands (%s) %g-%g Hz, log, DCT-II → %d coefficients; %d samples → %dx%d",
		name, c.SampleRate, c.WindowSize, f.Window, c.Stride, c.FFTSize, c.NumMel, f.Spectrum, c.LowHz, c.HighHz, c.NumCoeffs, c.ClipLength, fr, k)
}

// MFCC returns the nnq/audio front end the record describes.
func (f *Frontend) Extractor() (*audio.MFCC, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	return audio.NewMFCC(f.MFCC)
}

// CheckFrontend reports a front end whose output does not fill the model's
// input frame by frame: the [frames][coefficients] map must be the input's
// HWC order, i.e. the input is [1,frames,coeffs] (NCHW), [frames,coeffs,1]
// (NHWC, CMSIS) or a vector of frames*coeffs values. Nil is fine.
func (m *Model) CheckFrontend() error {
	f := m.Frontend
	if f == nil {
		return nil
	}
	if err := f.Check(); err != nil {
		return fmt.Errorf("model %q: %w", m.Name, err)
	}
	fr, k := f.Shape()
	s := m.InputShape
	ok := false
	switch len(s) {
	case 1:
		ok = s[0] == fr*k
	case 3:
		if m.Layout == NCHW {
			ok = s[0] == 1 && s[1] == fr && s[2] == k
		} else {
			ok = s[0] == fr && s[1] == k && s[2] == 1
		}
	}
	if !ok {
		return fmt.Errorf("model %q: the %s front end makes %dx%d maps (frames x coefficients), which do not fill the %s input %v frame by frame",
			m.Name, f.Kind, fr, k, m.Layout, s)
	}
	return nil
}

// Features computes the front end's map of a clip (padded or cropped to
// the clip length) in the model's pattern layout: the float input the
// network was trained on.
func (f *Frontend) Features(samples []float32) ([]float32, error) {
	x, err := f.Extractor()
	if err != nil {
		return nil, err
	}
	return x.Features(samples), nil
}

// Front end choices of SetFrontend (and nnq convert/import --frontend).
const (
	FrontendAuto = "auto" // keep what the model records ("" too)
	FrontendNone = "none" // no front end
)

// CheckFrontendChoice reports a front end choice SetFrontend does not know.
func CheckFrontendChoice(choice string) error {
	switch choice {
	case "", FrontendAuto, FrontendNone, FrontendMFCC:
		return nil
	}
	return fmt.Errorf("front end %q: want %s, %s or %s", choice, FrontendMFCC, FrontendNone, FrontendAuto)
}

// SetFrontend applies a front end choice to m: "" or "auto" keeps the
// record, "none" removes it, "mfcc" keeps an MFCC record or, for a model
// without one, records the HelloEdge MFCC (which must fill the input).
func (m *Model) SetFrontend(choice string) error {
	if err := CheckFrontendChoice(choice); err != nil {
		return err
	}
	switch choice {
	case FrontendNone:
		m.Frontend = nil
	case FrontendMFCC:
		if m.Frontend == nil || m.Frontend.Kind != FrontendMFCC {
			m.Frontend = HelloEdgeFrontend()
		}
	}
	if err := m.CheckFrontend(); err != nil {
		return fmt.Errorf("front end %s: %w", choice, err)
	}
	return nil
}
