package codegen

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

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
// hop by hop (RunFrontend), and compares the quantized features and the
// network's class with the Go pipeline (nnq/audio, the input quantizer,
// the simulator). It writes verify_frontend.json into dir and returns a
// *FrontendMismatchError when the comparison fails.
func VerifyFrontend(ctx context.Context, dir string, opt FrontendVerifyOptions) (*FrontendResult, error) {
	run, err := RunFrontend(ctx, dir, opt)
	if err != nil {
		return nil, err
	}
	q := run.Model
	x, err := q.Float.Frontend.Extractor()
	if err != nil {
		return nil, fmt.Errorf("codegen: %s: %w", dir, err)
	}
	res := &FrontendResult{Model: q.Name, Target: run.Target, Path: run.Path, ClipSource: run.ClipSource, Sanitize: opt.Sanitize, NetworkExact: true,
		CodeBytes: run.Footprint.Code, TableBytes: run.Footprint.ReadOnly, StaticRAMBytes: run.Footprint.RAM,
		DSPCodeBytes: run.DSPFootprint.Code, DSPTableBytes: run.DSPFootprint.ReadOnly}
	if err := compareFrontend(q, x, run, res); err != nil {
		return nil, fmt.Errorf("codegen: %s: %w", dir, err)
	}
	res.RingBytes, res.FeatureBytes = ringAndFeatureBytes(q)
	if len(run.Instructions) > 0 {
		var sum float64
		for _, c := range run.Instructions {
			sum += float64(c)
			res.MaxInstructionsPerHop = max(res.MaxInstructionsPerHop, c)
		}
		res.Hops = len(run.Instructions)
		res.InstructionsPerHop = sum / float64(len(run.Instructions))
	}
	res.Passed = res.Worse == 0 && res.Share >= MinFeatureShare && res.ClassesAgree == len(res.Clips) && res.NetworkExact
	if err := writeJSON(filepath.Join(dir, FrontendVerifyFile), res); err != nil {
		return nil, err
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
func compareFrontend(q *nnq.QModel, x *audio.MFCC, run *FrontendRun, res *FrontendResult) error {
	sim, err := q.NewSim(false)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	goIn := make([]int16, q.Float.InputSize())
	for i, c := range run.Clips {
		q.QuantizeInput(x.Features(c.Samples), goIn)
		goOut, err := sim.Run(goIn)
		if err != nil {
			return fmt.Errorf("simulating clip %q: %w", c.Name, err)
		}
		cr := ClipResult{Name: c.Name, GoClass: className(q, nnq.PredictInt(goOut)), CClass: className(q, nnq.PredictInt(run.Outputs[i]))}
		for j, v := range run.Features[i] {
			d := int(v) - int(goIn[j])
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
		want, err := sim.Run(run.Features[i])
		if err != nil {
			return fmt.Errorf("simulating clip %q on the C features: %w", c.Name, err)
		}
		if !slices.Equal(want, run.Outputs[i]) {
			res.NetworkExact = false
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

func className(q *nnq.QModel, i int) string {
	if i < len(q.Float.Classes) {
		return q.Float.Classes[i]
	}
	return fmt.Sprintf("class%d", i)
}
