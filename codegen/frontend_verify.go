package codegen

import (
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
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

//go:embed driver/fe_main.c
var feDriver []byte

// FrontendVerifyFile is where VerifyFrontend writes its result in the
// project.
const FrontendVerifyFile = "verify_frontend.json"

// MinFeatureShare is the share of feature values VerifyFrontend requires
// to equal the Go front end's exactly (the rest may be off by one: float
// rounding differs at the quantizer's half-way points).
const MinFeatureShare = 0.99

// FrontendVerifyOptions selects how VerifyFrontend builds and runs.
type FrontendVerifyOptions struct {
	// Target is "host" (default) or a Cortex-M core under QEMU.
	Target string
	// Path is "float", "fixed" or "" for the target's own: fixed point on
	// cores without an FPU (cortex-m0, cortex-m3), float otherwise.
	Path string
	// Sanitize builds the host binary with ASan and UBSan.
	Sanitize bool
	// Clips replace the clips stored in the export. Without either, four
	// synthetic clips are used (a chirp, noise, a tone burst, silence).
	Clips []Clip
	// ExtraCFlags are passed to the compiler after the harness's flags.
	ExtraCFlags []string
}

// ClipResult is the comparison of one clip.
type ClipResult struct {
	Name string `json:"name"`
	// GoClass and CClass are the top class of the Go pipeline (nnq/audio,
	// input quantizer, simulator) and of the C pipeline (frontend.c,
	// nn_run).
	GoClass string `json:"go_class"`
	CClass  string `json:"c_class"`
	// Equal, OffByOne and Worse count feature values.
	Equal    int `json:"equal"`
	OffByOne int `json:"off_by_one"`
	Worse    int `json:"worse"`
}

// FrontendResult is what VerifyFrontend found; it is also written to
// verify_frontend.json in the project.
type FrontendResult struct {
	Model  string `json:"model"`
	Target string `json:"target"`
	// Path is "float" or "fixed".
	Path string `json:"path"`
	// ClipSource is "stored", "given" or "synthetic".
	ClipSource string       `json:"clip_source"`
	Clips      []ClipResult `json:"clips"`
	// Feature values compared over all clips, and how they differ.
	Features int     `json:"features"`
	Equal    int     `json:"equal"`
	OffByOne int     `json:"off_by_one"`
	Worse    int     `json:"worse"`
	MaxDiff  int     `json:"max_diff"`
	Share    float64 `json:"equal_share"`
	// ClassesAgree counts clips whose C class is the Go class.
	ClassesAgree int `json:"classes_agree"`
	// NetworkExact says nn_run on the C features gave exactly what the
	// simulator gives on them.
	NetworkExact bool `json:"network_exact"`
	// Passed: no value off by more than one, at least MinFeatureShare
	// equal, every class agrees, the network exact.
	Passed   bool `json:"passed"`
	Sanitize bool `json:"sanitize"`
	// Cortex-M only: exact instructions of one hop that adds a frame
	// (fe_stream_push: ring write, frame, feature shift), mean and max
	// over every counted hop, and the front end's measured footprint in
	// the image (fe_* symbols): code, constant tables, static RAM.
	InstructionsPerHop    float64 `json:"instructions_per_hop,omitempty"`
	MaxInstructionsPerHop uint64  `json:"max_instructions_per_hop,omitempty"`
	Hops                  int     `json:"hops,omitempty"`
	CodeBytes             int     `json:"code_bytes,omitempty"`
	TableBytes            int     `json:"table_bytes,omitempty"`
	StaticRAMBytes        int     `json:"static_ram_bytes,omitempty"`
	// DSPCodeBytes and DSPTableBytes are CMSIS-DSP's FFT code and tables
	// in the image when the float path uses it (FE_USE_CMSIS_DSP).
	DSPCodeBytes  int `json:"cmsis_dsp_code_bytes,omitempty"`
	DSPTableBytes int `json:"cmsis_dsp_table_bytes,omitempty"`
	// RingBytes and FeatureBytes are the audio ring and the feature window
	// of one fe_stream_t (the application's RAM).
	RingBytes    int `json:"ring_bytes"`
	FeatureBytes int `json:"feature_bytes"`
}

// FrontendMismatchError is returned by VerifyFrontend when the C front end
// and the Go one disagree beyond what is allowed.
type FrontendMismatchError struct{ Result *FrontendResult }

func (e *FrontendMismatchError) Error() string {
	r := e.Result
	return fmt.Sprintf("codegen: front end of %s on %s (%s path) does not match Go: %.2f%% of %d feature values equal (need %.0f%%), %d off by more than one (max %d), %d of %d clips with the same class, network exact %v",
		r.Model, r.Target, r.Path, 100*r.Share, r.Features, 100*MinFeatureShare, r.Worse, r.MaxDiff, r.ClassesAgree, len(r.Clips), r.NetworkExact)
}

// ErrNoFrontend is returned (wrapped) by VerifyFrontend for an export
// without an input front end.
var ErrNoFrontend = errors.New("the export has no input front end")

// VerifyFrontend builds the exported front end (frontend.c) with the
// network on the host or a Cortex-M core, streams every clip through it
// hop by hop, and compares the quantized features and the network's class
// with the Go pipeline (nnq/audio, the input quantizer, the simulator). It
// writes verify_frontend.json into dir and returns a
// *FrontendMismatchError when the comparison fails.
func VerifyFrontend(ctx context.Context, dir string, opt FrontendVerifyOptions) (*FrontendResult, error) {
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
	x, err := fe.Extractor()
	if err != nil {
		return nil, fmt.Errorf("codegen: %s: %w", dir, err)
	}
	tname := opt.Target
	if tname == "" {
		tname = "host"
	}
	tg, err := harness.TargetByName(tname)
	if err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	path := opt.Path
	switch path {
	case "":
		path = "float"
		if !tg.IsHost() && !tg.FPU() {
			path = "fixed"
		}
	case "float":
		if !tg.IsHost() && !tg.FPU() {
			return nil, fmt.Errorf("codegen: %s has no FPU: verify the fixed-point front end there (path \"fixed\")", tg.Name)
		}
	case "fixed":
	default:
		return nil, fmt.Errorf("codegen: front end path %q: want float or fixed", path)
	}
	clips, source, err := frontendClips(dir, man, fe, opt.Clips)
	if err != nil {
		return nil, err
	}
	clips = append([]Clip(nil), clips...)
	flags, err := modelFlags(q, tg, "")
	if err != nil {
		return nil, err
	}
	flags = append(flags, fmt.Sprintf("-DFE_FIXED_POINT=%d", map[string]int{"float": 0, "fixed": 1}[path]))
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
	// The C front end reads 16-bit PCM: Go gets the same samples.
	clipLen := fe.MFCC.ClipLength
	pcm := make([]byte, 0, 2*clipLen*len(clips))
	for i, c := range clips {
		s := make([]float32, clipLen)
		copy(s, c.Samples)
		for j, v := range audio.ToPCM16(s) {
			pcm = binary.LittleEndian.AppendUint16(pcm, uint16(v))
			s[j] = float32(v) / 32768
		}
		clips[i].Samples = s
	}
	run, err := bin.Exec(ctx, map[string][]byte{"clips.bin": pcm}, []string{"clips.bin", "features.bin", "outputs.bin"}, []string{"features.bin", "outputs.bin"})
	if err != nil {
		return nil, fmt.Errorf("codegen: running the front end of %s on %s: %w", dir, tg.Name, err)
	}
	res := &FrontendResult{Model: q.Name, Target: tg.Name, Path: path, ClipSource: source, Sanitize: opt.Sanitize, NetworkExact: true}
	if err := compareFrontend(q, x, clips, run, bin.Info, res); err != nil {
		return nil, fmt.Errorf("codegen: %s: %w", dir, err)
	}
	res.RingBytes, res.FeatureBytes = ringAndFeatureBytes(q)
	if !tg.IsHost() {
		if len(run.Instructions) == 0 {
			return nil, fmt.Errorf("codegen: %s: no front end hop was counted on %s", dir, tg.Name)
		}
		var sum float64
		for _, c := range run.Instructions {
			sum += float64(c)
			res.MaxInstructionsPerHop = max(res.MaxInstructionsPerHop, c)
		}
		res.Hops = len(run.Instructions)
		res.InstructionsPerHop = sum / float64(len(run.Instructions))
		fp, err := bin.SymbolFootprint("fe_")
		if err != nil {
			return nil, err
		}
		res.CodeBytes, res.TableBytes, res.StaticRAMBytes = fp.Code, fp.ReadOnly, fp.RAM
		if slices.Contains(opt.ExtraCFlags, "-DFE_USE_CMSIS_DSP") {
			for _, prefix := range cmsisDSPSymbols {
				fp, err := bin.SymbolFootprint(prefix)
				if err != nil {
					return nil, err
				}
				res.DSPCodeBytes += fp.Code
				res.DSPTableBytes += fp.ReadOnly
			}
		}
	}
	res.Passed = res.Worse == 0 && res.Share >= MinFeatureShare && res.ClassesAgree == len(res.Clips) && res.NetworkExact
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, FrontendVerifyFile), append(js, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	if !res.Passed {
		return res, &FrontendMismatchError{Result: res}
	}
	return res, nil
}

// cmsisDSPSymbols are the name prefixes of CMSIS-DSP's real FFT: its
// functions and tables.
var cmsisDSPSymbols = []string{"arm_rfft", "arm_cfft", "arm_radix8", "arm_bitreversal", "stage_rfft", "merge_rfft", "twiddleCoef", "armBitRevIndexTable"}

// ringAndFeatureBytes are the sizes of fe_stream_t's audio ring and
// feature window for q's front end.
func ringAndFeatureBytes(q *nnq.QModel) (int, int) {
	ring, mirror := ringSize(q.Float.Frontend.MFCC)
	return 2 * (ring + mirror), 2 * q.Float.InputSize() * elemBytes(q)
}

// compareFrontend compares the C run with the Go pipeline, clip by clip.
func compareFrontend(q *nnq.QModel, x *audio.MFCC, clips []Clip, run *harness.ExecResult, info harness.Info, res *FrontendResult) error {
	n, eb := q.Float.InputSize(), info.InputElemBytes
	feats, outs := run.Files["features.bin"], run.Files["outputs.bin"]
	if len(feats) != len(clips)*n*eb || len(outs) != len(clips)*info.OutputBytes() {
		return fmt.Errorf("the front end driver wrote %d feature and %d output bytes for %d clips, want %d and %d",
			len(feats), len(outs), len(clips), len(clips)*n*eb, len(clips)*info.OutputBytes())
	}
	sim, err := q.NewSim(false)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	goIn := make([]int16, n)
	cIn := make([]int16, n)
	cOut := make([]int16, info.OutputSize)
	for i, c := range clips {
		q.QuantizeInput(x.Features(c.Samples), goIn)
		goOut, err := sim.Run(goIn)
		if err != nil {
			return fmt.Errorf("simulating clip %q: %w", c.Name, err)
		}
		cr := ClipResult{Name: c.Name, GoClass: className(q, argmax(goOut))}
		for j := range cIn {
			cIn[j] = int16(word(feats[i*n*eb:], j, eb))
			d := int(cIn[j]) - int(goIn[j])
			switch {
			case d == 0:
				cr.Equal++
			case d == 1 || d == -1:
				cr.OffByOne++
			default:
				cr.Worse++
			}
			res.MaxDiff = max(res.MaxDiff, d, -d)
		}
		ob := info.OutputBytes()
		for j := range cOut {
			cOut[j] = int16(word(outs[i*ob:], j, info.OutputElemBytes))
		}
		cr.CClass = className(q, argmax(cOut))
		want, err := sim.Run(cIn)
		if err != nil {
			return fmt.Errorf("simulating clip %q on the C features: %w", c.Name, err)
		}
		for j := range want {
			if want[j] != cOut[j] {
				res.NetworkExact = false
			}
		}
		if cr.CClass == cr.GoClass {
			res.ClassesAgree++
		}
		res.Equal += cr.Equal
		res.OffByOne += cr.OffByOne
		res.Worse += cr.Worse
		res.Clips = append(res.Clips, cr)
	}
	res.Features = res.Equal + res.OffByOne + res.Worse
	if res.Features > 0 {
		res.Share = float64(res.Equal) / float64(res.Features)
	}
	return nil
}

func argmax(v []int16) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func className(q *nnq.QModel, i int) string {
	if i < len(q.Float.Classes) {
		return q.Float.Classes[i]
	}
	return fmt.Sprintf("class%d", i)
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
