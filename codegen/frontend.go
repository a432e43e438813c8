package codegen

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// Files of the audio front end and the streaming application, written
// when the quantized model records an input front end (nnq.Frontend).
const (
	FrontendHeader = "frontend.h"
	FrontendSource = "frontend.c"
	FrontendTables = "frontend_tables.h"
	AppSource      = "app/app.c"
	// ClipsDir holds the audio clips stored for VerifyFrontend.
	ClipsDir = "nnq/clips"
)

var frontendFiles = []string{FrontendHeader, FrontendSource, FrontendTables, AppSource}

// Clip is an audio clip stored in an export for VerifyFrontend: 16-bit PCM
// at the front end's sample rate, padded or cut to the clip length.
type Clip struct {
	Name    string
	Samples []float32 // [-1, 1), as audio.ReadWAV returns them
}

// FrontendInfo describes the exported front end.
type FrontendInfo struct {
	Frontend *nnq.Frontend
	// Table bytes (flash): shared by both implementations, float only,
	// fixed point only.
	SharedTableBytes, FloatTableBytes, FixedTableBytes int
	// RingBytes is the audio ring, FeatureBytes the feature window (the
	// network input) of fe_stream_t; WorkBytes the FFT and band buffers of
	// either implementation (static in frontend.c).
	RingBytes, FeatureBytes, FloatWorkBytes, FixedWorkBytes int
	// Clips is the number of clips stored for verification.
	Clips int
	// InferEvery is app/app.c's default: the network runs every
	// InferEvery hops.
	InferEvery int
}

// feGeometry is what the C code needs beyond the MFCC configuration.
type feGeometry struct {
	log2Half, twiddles    int
	windowPad             int
	binStart, binEnd      int
	loadBoth, loadOne     int
	lastRadix4            bool
	finalRadix2           bool
	ring, mirror          int
	frames                int
	accShift              int
	outMin, outMax, zeroP int
}

// feInput is the network's input format as the front end must produce it:
// q = clamp(round(x * 2^Frac) + ZeroPoint, Min, Max) for the legacy
// Q-formats, q = clamp(round(x / Scale) + ZeroPoint, Min, Max) for an
// affine (s8/s16) input, as nnq's QModel.QuantizeInput does.
type feInput struct {
	Bits, Frac, ZeroPoint, Min, Max int
	Name                            string
	Affine                          bool
	Scale                           float64
}

// frontendInput reads the input format from the quantized model. Legacy
// q7/q15 formats are powers of two without zero point; an s8/s16 input has
// a real scale and a zero point (the fixed path's final rounding then
// multiplies by a Q31 multiplier, feAffineOut).
func frontendInput(q *nnq.QModel) (feInput, error) {
	in := feInput{Bits: q.Bits, Frac: q.InputFrac, Name: nnq.QFormat(q.Bits, q.InputFrac)}
	if q.IsAffine() {
		a := q.InputAffine()
		if !(a.Scale > 0) || math.IsInf(a.Scale, 0) {
			return in, fmt.Errorf("codegen: front end: input scale %g is not a positive number", a.Scale)
		}
		in = feInput{Bits: q.Bits, Name: fmt.Sprintf("%s, scale %g, zero point %d", q.Format, a.Scale, a.Zero),
			Affine: true, Scale: a.Scale, ZeroPoint: int(a.Zero)}
	}
	switch q.Bits {
	case 8:
		in.Min, in.Max = -128, 127
	case 16:
		in.Min, in.Max = -32768, 32767
	default:
		return in, fmt.Errorf("codegen: front end: %d-bit input words are not supported", q.Bits)
	}
	return in, nil
}

// feData is what the front end templates see.
type feData struct {
	Name, Desc, OutFmt, LogFloor string
	HopMs                        string
	SampleRate, Window, Hop      int
	FFT, NumMel, NumCoeffs       int
	Frames, Clip, Ring           int
	RingMirror                   int
	BinStart, BinEnd             int
	LoadBoth, LoadOne, AccFrac   int
	FinalRadix2, LastRadix4      bool
	Affine                       bool // s8/s16 input: scale and zero point
	Info                         FrontendInfo
	App                          appData

	tables string // frontend_tables.h
}

func frontendGeometry(cfg audio.MFCCConfig, tb audio.Tables, in feInput, frames int) (feGeometry, error) {
	var g feGeometry
	half := cfg.FFTSize / 2
	switch {
	case cfg.FFTSize < 4:
		return g, fmt.Errorf("FFT size %d is below 4", cfg.FFTSize)
	case cfg.WindowSize%2 != 0:
		return g, fmt.Errorf("window of %d samples: the C front end reads samples in pairs and needs an even window", cfg.WindowSize)
	case cfg.NumMel+1 > 65535:
		return g, fmt.Errorf("%d mel bands are too many", cfg.NumMel)
	}
	g.log2Half = bits.Len(uint(half)) - 1
	g.twiddles = max(1, 3*half/4)
	g.windowPad = cfg.WindowSize
	g.binStart, g.binEnd = tb.Start, tb.End
	w2 := cfg.WindowSize / 2
	g.loadBoth = min(max(w2-half/2, 0), half/2)
	g.loadOne = min(w2, half/2)
	g.finalRadix2 = g.log2Half%2 == 0 && half > 1
	g.lastRadix4 = g.log2Half%2 == 1 && half >= 8
	for k := tb.Start + 1; k <= tb.End; k++ {
		if tb.Band[k] < tb.Band[k-1] {
			return g, fmt.Errorf("the mel bands of bins %d and %d are out of order", k-1, k)
		}
	}
	g.ring, g.mirror = ringSize(cfg)
	g.frames = frames
	if in.Affine {
		if _, err := feAffineOut(in.Scale); err != nil {
			return g, err
		}
	} else if g.accShift = 53 - in.Frac; g.accShift < 1 || g.accShift > 62 {
		return g, fmt.Errorf("input format %s has %d fractional bits; the front end handles -9..52", in.Name, in.Frac)
	}
	g.outMin, g.outMax, g.zeroP = in.Min, in.Max, in.ZeroPoint
	return g, nil
}

// feAffineShift is the magnitude shift of the fixed path's Q53 coefficient
// before it is multiplied for an affine input: |acc| >> 31 (Q22) times a
// Q31 multiplier stays below 2^63.
const feAffineShift = 31

// feAffine is the fixed path's output multiplication for an affine input:
// round(c / scale) = round(|acc| >> 31 * Mult >> RShift) with its sign,
// where 1 / scale = Mult * 2^(shift - 31).
type feAffine struct {
	Mult   int32
	RShift int
}

func feAffineOut(scale float64) (feAffine, error) {
	mult, shift, ok := nnq.QuantizeMultiplier(1 / scale)
	r := 53 - feAffineShift + 31 - int(shift)
	if !ok || mult == 0 || r < 1 || r > 62 {
		return feAffine{}, fmt.Errorf("input scale %g is out of the front end's range (1/scale from 2^-8 to 2^30)", scale)
	}
	return feAffine{Mult: mult, RShift: r}, nil
}

// ringSize returns the audio ring of the streaming front end and the
// mirror of its start. Windows start every hop; span is a window rounded
// up to whole hops: the ring holds a span and a hop, the mirror what a
// window starting in the ring's last span reads beyond its end.
func ringSize(cfg audio.MFCCConfig) (ring, mirror int) {
	h, w := cfg.Stride, cfg.WindowSize
	span := h * ((w + h - 1) / h)
	return span + h, span - h
}

// buildFrontend prepares the front end files for q (nil when the model
// records no front end).
func buildFrontend(q *nnq.QModel, d *tmplData) (*feData, error) {
	fe := q.Float.Frontend
	if fe == nil {
		return nil, nil
	}
	if err := q.Float.CheckFrontend(); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	x, err := fe.Extractor()
	if err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	cfg := x.Config()
	in, err := frontendInput(q)
	if err != nil {
		return nil, err
	}
	frames, coeffs := fe.Shape()
	g, err := frontendGeometry(cfg, x.Tables(), in, frames)
	if err != nil {
		return nil, fmt.Errorf("codegen: front end %s: %w", fe.Kind, err)
	}
	tabs := makeFETables(x, g)
	f := &feData{Name: d.Name, Desc: fe.String(), OutFmt: in.Name, LogFloor: fmt.Sprint(fe.LogFloor),
		SampleRate: cfg.SampleRate, Window: cfg.WindowSize, Hop: cfg.Stride, FFT: cfg.FFTSize, NumMel: cfg.NumMel,
		NumCoeffs: coeffs, Frames: frames, Clip: cfg.ClipLength, Ring: g.ring, RingMirror: g.mirror, BinStart: g.binStart, BinEnd: g.binEnd,
		LoadBoth: g.loadBoth, LoadOne: g.loadOne, AccFrac: 53, FinalRadix2: g.finalRadix2, LastRadix4: g.lastRadix4, Affine: in.Affine,
		HopMs: fmt.Sprint(1000 * float64(cfg.Stride) / float64(cfg.SampleRate))}
	eb := elemBytes(q)
	half := cfg.FFTSize / 2
	f.Info = FrontendInfo{Frontend: fe.Clone(), SharedTableBytes: sumBytes(tabs.shared), FloatTableBytes: sumBytes(tabs.float),
		FixedTableBytes: sumBytes(tabs.fixed), RingBytes: 2 * (g.ring + g.mirror), FeatureBytes: 2 * frames * coeffs * eb,
		FloatWorkBytes: 8 * (half + 1), FixedWorkBytes: 8 * (half + 1), InferEvery: appEvery}
	f.App = makeAppData(q, d, cfg)
	return f, f.renderTables(tabs, g, fe, in)
}

// renderTables renders frontend_tables.h.
func (f *feData) renderTables(t feTables, g feGeometry, fe *nnq.Frontend, in feInput) error {
	var b strings.Builder
	fmt.Fprintf(&b, "/*\n * frontend_tables.h - tables of the audio front end of network %q,\n", f.Name)
	b.WriteString(" * generated by nnq (github.com/nnq-toolkit/nnq) from nnq/audio. Do not edit.\n")
	fmt.Fprintf(&b, " * Flash: %d bytes shared, %d bytes float32 path, %d bytes fixed-point path.\n", sumBytes(t.shared), sumBytes(t.float), sumBytes(t.fixed))
	b.WriteString(" * Included by frontend.c only.\n */\n#ifndef FRONTEND_TABLES_H\n#define FRONTEND_TABLES_H\n\n#include <stdint.h>\n\n")
	if in.Affine {
		fmt.Fprintf(&b, "/* Output: %s, q = clamp(round(c / %g) + zero point, min, max). */\n", in.Name, in.Scale)
	} else {
		fmt.Fprintf(&b, "/* Output: %s, q = clamp(round(c * 2^%d) + zero point, min, max). */\n", in.Name, in.Frac)
	}
	fmt.Fprintf(&b, "#define FE_OUT_MIN (%d)\n#define FE_OUT_MAX (%d)\n#define FE_OUT_ZERO_POINT (%d)\n\n", g.outMin, g.outMax, g.zeroP)
	for _, tt := range t.shared {
		writeFETable(&b, tt)
	}
	b.WriteString("#if !FE_FIXED_POINT\n\n")
	outScale := math.Ldexp(1, in.Frac)
	if in.Affine {
		outScale = 1 / in.Scale
	}
	fmt.Fprintf(&b, "#define FE_OUT_SCALE %s\n#define FE_LOG_FLOOR %s\n\n", cLiteral("float", outScale), cLiteral("float", fe.LogFloor))
	for _, tt := range t.float {
		writeFETable(&b, tt)
	}
	b.WriteString("#else\n\n")
	fmt.Fprintf(&b, "#define FE_LN2_Q31 %dLL\n#define FE_LN_FLOOR_Q24 (%d)\n", int64(math.Round(math.Ln2*(1<<31))), int64(math.Round(math.Log(fe.LogFloor)*(1<<24))))
	if in.Affine {
		a, err := feAffineOut(in.Scale)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "#define FE_OUT_PRESHIFT %d /* |Q53 coefficient| -> Q%d */\n", feAffineShift, 53-feAffineShift)
		fmt.Fprintf(&b, "#define FE_OUT_MULT %dLL /* 1 / scale = FE_OUT_MULT * 2^(%d - 31) */\n#define FE_OUT_RSHIFT %d\n\n", a.Mult, 53-feAffineShift+31-a.RShift, a.RShift)
	} else {
		fmt.Fprintf(&b, "#define FE_ACC_SHIFT %d /* Q53 coefficient -> %d fractional bits */\n\n", g.accShift, in.Frac)
	}
	for _, tt := range t.fixed {
		writeFETable(&b, tt)
	}
	b.WriteString("#endif /* FE_FIXED_POINT */\n\n#endif /* FRONTEND_TABLES_H */\n")
	f.tables = b.String()
	return nil
}

// render returns the front end's files.
func (f *feData) render() (map[string][]byte, error) {
	out := map[string][]byte{FrontendTables: []byte(f.tables)}
	for name, tmpl := range map[string]string{FrontendHeader: "frontend.h.tmpl", FrontendSource: "frontend.c.tmpl", AppSource: "app.c.tmpl"} {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, tmpl, f); err != nil {
			return nil, fmt.Errorf("codegen: %s: %w", name, err)
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

// writeClips stores clips as WAV files under ClipsDir (replacing earlier
// ones) and returns their paths relative to dir.
func writeClips(dir string, fe *nnq.Frontend, clips []Clip) ([]string, error) {
	cdir := filepath.Join(dir, filepath.FromSlash(ClipsDir))
	if err := os.RemoveAll(cdir); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	if len(clips) == 0 {
		return nil, nil
	}
	if fe == nil {
		return nil, fmt.Errorf("codegen: %d clips given but the model records no input front end", len(clips))
	}
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	var names []string
	seen := map[string]bool{}
	for i, c := range clips {
		base := strings.TrimSuffix(filepath.Base(c.Name), filepath.Ext(c.Name))
		if base == "" || base == "." || seen[base] {
			base = fmt.Sprintf("clip%03d", i)
		}
		seen[base] = true
		x := make([]float32, fe.MFCC.ClipLength)
		copy(x, c.Samples)
		rel := ClipsDir + "/" + base + ".wav"
		if err := audio.WriteWAVFile(filepath.Join(dir, filepath.FromSlash(rel)), x, fe.MFCC.SampleRate); err != nil {
			return nil, fmt.Errorf("codegen: clip %q: %w", c.Name, err)
		}
		names = append(names, rel)
	}
	return names, nil
}

// appData configures app/app.c.
type appData struct {
	Every, Average, SuppressMs int
	HopMs                      string
	Threshold                  float64 // score
	ThresholdQ                 int     // in output units
	OutFmt, OutScale           string
	Softmax                    bool
	KeywordList                string
	Affine                     bool // s8/s16 output: score = scale * (output - OutZero)
	OutZero                    int
}

// Streaming defaults: an inference every 8 hops (160 ms at 20 ms hops), the
// average of the last 4 outputs (0.64 s: partial words at the window's
// edges average out), a score of 0.6, one detection per class and second.
// Chosen on a 30 s recording of the playground's second clip of each
// keyword (every 8 or more hops times 4 or more outputs made no false
// detection at scores 0.5 to 0.8), checked on one of the first clips by
// TestStreamingApp.
const (
	appEvery      = 8
	appAverage    = 4
	appThreshold  = 0.6
	appSuppressMs = 1000
)

// nonKeywords are class names that are never detected.
var nonKeywords = map[string]bool{"silence": true, "_silence_": true, "unknown": true, "_unknown_": true,
	"background": true, "_background_noise_": true, "noise": true}

func makeAppData(q *nnq.QModel, d *tmplData, cfg audio.MFCCConfig) appData {
	a := appData{Every: appEvery, Average: appAverage, SuppressMs: appSuppressMs, Threshold: appThreshold,
		HopMs: fmt.Sprint(1000 * float64(cfg.Stride) / float64(cfg.SampleRate)), OutFmt: d.OutFmt,
		OutScale: fmt.Sprintf("%g", math.Ldexp(1, -d.OutFrac))}
	a.ThresholdQ = int(math.Round(appThreshold * math.Ldexp(1, d.OutFrac)))
	if q.IsAffine() {
		// score = scale * (output - zero point)
		o := q.OutputAffine()
		a.Affine, a.OutZero, a.OutScale = true, int(o.Zero), fmt.Sprintf("%g", o.Scale)
		a.ThresholdQ = int(math.Round(appThreshold/o.Scale)) + int(o.Zero)
	}
	last := q.Layers[len(q.Layers)-1]
	a.Softmax = last.Op == nnq.OpSoftmax
	kw := make([]string, d.OutSize)
	for i := range kw {
		kw[i] = "1"
		if i < len(d.Classes) && nonKeywords[strings.ToLower(d.Classes[i])] {
			kw[i] = "0"
		}
	}
	a.KeywordList = strings.Join(kw, ", ")
	return a
}

// addFrontendFiles renders the front end files into files and records
// them in p.
func addFrontendFiles(d *tmplData, p *Project, files map[string][]byte) error {
	if d.Frontend == nil {
		return nil
	}
	fs, err := d.Frontend.render()
	if err != nil {
		return err
	}
	for name, b := range fs {
		files[name] = b
	}
	info := d.Frontend.Info
	p.Frontend = &info
	return nil
}

// prepareFrontendDirs makes app/ for a front end (or removes the front end
// files an earlier export left: the harness compiles every .c file of the
// project) and stores the clips.
func prepareFrontendDirs(dir string, fe *nnq.Frontend, has bool, clips []Clip) ([]string, error) {
	if has {
		if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
			return nil, fmt.Errorf("codegen: %w", err)
		}
	} else {
		for _, f := range frontendFiles {
			os.Remove(filepath.Join(dir, filepath.FromSlash(f)))
		}
		fe = nil
	}
	return writeClips(dir, fe, clips)
}

// CMSISDSPFlags returns the compiler arguments that build frontend.c's
// float path on CMSIS-DSP's arm_rfft_fast_f32 instead of nnq's FFT
// (FE_USE_CMSIS_DSP): CMSIS-DSP's include directories and the sources the
// real FFT needs from a CMSIS-DSP checkout (dspPath, with Include and
// Source), and CMSIS Core's headers from a CMSIS_5 checkout (corePath).
// Pass them as FrontendVerifyOptions.ExtraCFlags.
func CMSISDSPFlags(dspPath, corePath string) ([]string, error) {
	core := filepath.Join(corePath, "CMSIS", "Core", "Include")
	if _, err := os.Stat(filepath.Join(core, "cmsis_compiler.h")); err != nil {
		return nil, fmt.Errorf("codegen: %s has no CMSIS/Core/Include/cmsis_compiler.h (need a CMSIS_5 checkout)", corePath)
	}
	flags := []string{"-DFE_USE_CMSIS_DSP", "-DARM_MATH_LOOPUNROLL", "-I" + filepath.Join(dspPath, "Include"),
		"-I" + filepath.Join(dspPath, "PrivateInclude"), "-I" + core}
	for _, f := range []string{
		"TransformFunctions/arm_rfft_fast_f32.c", "TransformFunctions/arm_rfft_fast_init_f32.c",
		"TransformFunctions/arm_cfft_f32.c", "TransformFunctions/arm_cfft_init_f32.c",
		"TransformFunctions/arm_cfft_radix8_f32.c", "TransformFunctions/arm_bitreversal2.c",
		"CommonTables/arm_common_tables.c", "CommonTables/arm_const_structs.c",
	} {
		p := filepath.Join(dspPath, "Source", filepath.FromSlash(f))
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("codegen: CMSIS-DSP checkout %s lacks Source/%s", dspPath, f)
		}
		flags = append(flags, p)
	}
	return flags, nil
}
