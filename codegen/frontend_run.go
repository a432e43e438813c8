package codegen

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// FrontendRun is what the exported front end computed on clips.
type FrontendRun struct {
	Model  *nnq.QModel
	Target string
	// Path is "float" or "fixed"; ClipSource "stored", "given" or
	// "synthetic".
	Path, ClipSource string
	// Clips are the clips as the C code read them (16-bit PCM, padded or
	// cut to the clip length).
	Clips []Clip
	// Features[i] is the network input the front end streamed from clip i
	// (its quantized MFCC map, HWC order); Outputs[i] the network's output
	// on it (nn_run).
	Features, Outputs [][]int16
	// Instructions holds the exact count of every hop that added a frame
	// (Cortex-M only).
	Instructions []uint64
	// Footprint is the front end's fe_* code, tables and static RAM in the
	// image, DSPFootprint CMSIS-DSP's FFT when used (Cortex-M only).
	Footprint, DSPFootprint harness.Footprint
}

// RunFrontend builds the exported front end (frontend.c) with the network
// on the host or a Cortex-M core (Path: the float or fixed-point
// implementation) and streams every clip through it hop by hop, as an
// application does: a fresh stream per clip, then nn_run on the feature
// window. The driver also checks that streaming gives what fe_features()
// computes in one go.
func RunFrontend(ctx context.Context, dir string, opt FrontendVerifyOptions) (*FrontendRun, error) {
	man, q, err := loadExport(dir)
	if err != nil {
		return nil, err
	}
	fe := q.Float.Frontend
	if man.Frontend == nil || fe == nil {
		return nil, fmt.Errorf("codegen: %s: %w (the model records none; export a model with a front end)", dir, ErrNoFrontend)
	}
	for _, f := range []string{FrontendHeader, FrontendSource, FrontendTables} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("codegen: %s: the manifest records a front end but %s is missing (re-export the project)", dir, f)
		}
	}
	tg, err := target(opt.Target)
	if err != nil {
		return nil, err
	}
	run := &FrontendRun{Model: q, Target: tg.Name, Path: opt.Path}
	switch run.Path {
	case "":
		run.Path = "float"
		if !tg.IsHost() && !tg.FPU() {
			run.Path = "fixed"
		}
	case "float":
		if !tg.IsHost() && !tg.FPU() {
			return nil, fmt.Errorf("codegen: %s has no FPU: verify the fixed-point front end there (path \"fixed\")", tg.Name)
		}
	case "fixed":
	default:
		return nil, fmt.Errorf("codegen: front end path %q: want float or fixed", run.Path)
	}
	clips, source, err := frontendClips(dir, man, fe, opt.Clips)
	if err != nil {
		return nil, err
	}
	run.ClipSource = source
	flags, err := modelFlags(q, tg, "")
	if err != nil {
		return nil, err
	}
	flags = append(flags, fmt.Sprintf("-DFE_FIXED_POINT=%d", map[string]int{"float": 0, "fixed": 1}[run.Path]))
	flags = append(flags, opt.ExtraCFlags...)
	bin, err := harness.Build(ctx, tg, harness.BuildOptions{ProjectDir: dir, Sanitize: opt.Sanitize, ExtraCFlags: flags,
		Driver: map[string][]byte{"fe_main.c": feDriver}, StartSymbol: "nnq_fe_call", EndSymbol: "nnq_fe_done"})
	if err != nil {
		return nil, fmt.Errorf("codegen: building the front end of %s: %w", dir, err)
	}
	defer bin.Close()
	n := q.Float.InputSize()
	if bin.Info.InputSize != n {
		return nil, fmt.Errorf("codegen: %s: nn.h says %d inputs, the model %d (re-export the project)", dir, bin.Info.InputSize, n)
	}
	// The C front end reads 16-bit PCM; the clips returned hold the same
	// samples.
	clipLen := fe.MFCC.ClipLength
	pcm := make([]byte, 0, 2*clipLen*len(clips))
	for _, c := range clips {
		s := make([]float32, clipLen)
		copy(s, c.Samples)
		for j, v := range audio.ToPCM16(s) {
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
			s[j] = float32(v) / 32768
		}
		run.Clips = append(run.Clips, Clip{Name: c.Name, Samples: s})
	}
	ex, err := bin.Exec(ctx, map[string][]byte{"clips.bin": pcm}, []string{"clips.bin", "features.bin", "outputs.bin"}, []string{"features.bin", "outputs.bin"})
	if err != nil {
		return nil, fmt.Errorf("codegen: running the front end of %s on %s: %w", dir, tg.Name, err)
	}
	info := bin.Info
	feats, outs := ex.Files["features.bin"], ex.Files["outputs.bin"]
	if len(feats) != len(clips)*info.InputBytes() || len(outs) != len(clips)*info.OutputBytes() {
		return nil, fmt.Errorf("codegen: %s: the front end driver wrote %d feature and %d output bytes for %d clips, want %d and %d",
			dir, len(feats), len(outs), len(clips), len(clips)*info.InputBytes(), len(clips)*info.OutputBytes())
	}
	for i := range clips {
		run.Features = append(run.Features, words(feats[i*info.InputBytes():], info.InputSize, info.InputElemBytes))
		run.Outputs = append(run.Outputs, words(outs[i*info.OutputBytes():], info.OutputSize, info.OutputElemBytes))
	}
	if !tg.IsHost() {
		if len(ex.Instructions) == 0 {
			return nil, fmt.Errorf("codegen: %s: no front end hop was counted on %s", dir, tg.Name)
		}
		run.Instructions = ex.Instructions
		if run.Footprint, err = bin.SymbolFootprint("fe_"); err != nil {
			return nil, err
		}
		if slices.Contains(opt.ExtraCFlags, "-DFE_USE_CMSIS_DSP") {
			for _, prefix := range cmsisDSPSymbols {
				fp, err := bin.SymbolFootprint(prefix)
				if err != nil {
					return nil, err
				}
				run.DSPFootprint.Code += fp.Code
				run.DSPFootprint.ReadOnly += fp.ReadOnly
			}
		}
	}
	return run, nil
}

// words decodes n little-endian words of eb bytes.
func words(b []byte, n, eb int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(word(b, i, eb))
	}
	return out
}

// frontendClips returns the clips to verify: given, stored or synthetic.
func frontendClips(dir string, man *manifest, fe *nnq.Frontend, given []Clip) ([]Clip, string, error) {
	if len(given) > 0 {
		return given, "given", nil
	}
	if len(man.Clips) > 0 {
		var clips []Clip
		for _, rel := range man.Clips {
			s, rate, err := audio.ReadWAVFile(filepath.Join(dir, filepath.FromSlash(rel)))
			if err != nil {
				return nil, "", fmt.Errorf("codegen: %s: stored clip: %w", dir, err)
			}
			if rate != fe.MFCC.SampleRate {
				return nil, "", fmt.Errorf("codegen: %s: stored clip %s is %d Hz, the front end needs %d Hz", dir, rel, rate, fe.MFCC.SampleRate)
			}
			clips = append(clips, Clip{Name: filepath.Base(rel), Samples: s})
		}
		return clips, "stored", nil
	}
	return SyntheticClips(fe), "synthetic", nil
}

// SyntheticClips makes four deterministic test clips for a front end: a
// chirp over the filterbank's range on a white noise floor at -70 dBFS,
// white noise, a tone burst in pink noise, and digital silence.
//
// Like recorded audio (and the KWS training data), the clips with sound
// have a noise floor: a pure tone over nothing but 16-bit rounding noise
// (about 100 dB below it) leaves the far mel bands 100 dB under the FFT's
// peak, beyond the fixed-point path's 20-bit block precision (and at the
// edge of float32's), where their log energies no longer follow Go's
// float64 ones to a q15 step.
func SyntheticClips(fe *nnq.Frontend) []Clip {
	c := fe.MFCC
	n, sr := c.ClipLength, float64(c.SampleRate)
	rng := rand.New(rand.NewPCG(21, 0))
	chirp := make([]float32, n)
	for i := range chirp {
		t := float64(i) / sr
		dur := float64(n) / sr
		f := c.LowHz + (c.HighHz-c.LowHz)*t/dur
		chirp[i] = float32(0.3*math.Sin(2*math.Pi*(c.LowHz*t+(f-c.LowHz)*t/2)) + 3.16e-4*rng.NormFloat64())
	}
	white := make([]float32, n)
	for i := range white {
		white[i] = float32(0.03 * rng.NormFloat64())
	}
	burst := audio.Scale(audio.Noise("pink", n, rand.New(rand.NewPCG(21, 1))), 0.1)
	for i := n / 3; i < 2*n/3; i++ {
		burst[i] += float32(0.2 * math.Sin(2*math.Pi*1000*float64(i)/sr))
	}
	return []Clip{{Name: "chirp", Samples: chirp}, {Name: "white-noise", Samples: white}, {Name: "tone-burst", Samples: burst}, {Name: "silence", Samples: make([]float32, n)}}
}
