package codegen

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// VerifyOptions selects how Verify builds and runs the project.
type VerifyOptions struct {
	// Target is "host" (default) or a Cortex-M core the harness runs under
	// QEMU ("cortex-m0", "cortex-m3", "cortex-m4", "cortex-m7",
	// "cortex-m33").
	Target string
	// Sanitize builds the host binary with AddressSanitizer and
	// UndefinedBehaviorSanitizer.
	Sanitize bool
	// CMSISPath builds a q7/q15 export against a CMSIS_5 checkout instead of
	// nnq's runtime.
	CMSISPath string
	// LibCFlags are extra flags for the library's own sources (see
	// harness.BuildOptions.LibCFlags).
	LibCFlags []string
	// CMSISNNPath builds an s8/s16 export against a CMSIS-NN checkout (the
	// s8/s16 API, e.g. v7.0.0) instead of nnq's runtime.
	CMSISNNPath string
	// MaxPatterns caps the number of patterns run (0: all).
	MaxPatterns int
	// RandomPatterns is the number of random inputs (uniform over the
	// input's integer range, seeded with Seed) run when the project stores
	// no patterns; default 64.
	RandomPatterns int
	Seed           int64
	// ExtraCFlags are passed to the compiler after the harness's flags.
	ExtraCFlags []string
	// Progress, when set, reports the steps "build" (0/1, 1/1), "run
	// TARGET" (the host binary or QEMU running every pattern: 0/1, 1/1) and
	// "compare" (patterns compared with the simulator); it fits
	// nnq.ConvertOptions.Progress and progress.Reporter.Step.
	Progress func(step string, done, total int)
}

// Mismatch locates the first differing value.
type Mismatch struct {
	Pattern   int    `json:"pattern"`
	Layer     int    `json:"layer"`
	LayerName string `json:"layer_name"`
	Index     int    `json:"index"`
	Got       int    `json:"got"`
	Want      int    `json:"want"`
}

// VerifyResult is what Verify found; it is also written to verify.json in
// the project.
type VerifyResult struct {
	Model    string `json:"model"`
	Target   string `json:"target"`
	CodePath string `json:"code_path"`
	Patterns int    `json:"patterns"`
	// PatternSource is "stored" (nnq/patterns.arrow) or "random".
	PatternSource string `json:"pattern_source"`
	Layers        int    `json:"layers"`
	// Mismatches counts (pattern, layer) pairs whose output bytes differ,
	// plus patterns whose final output differs.
	Mismatches    int       `json:"mismatches"`
	BitExact      bool      `json:"bit_exact"`
	FirstMismatch *Mismatch `json:"first_mismatch,omitempty"`
	Sanitize      bool      `json:"sanitize"`
	CMSIS         bool      `json:"cmsis"`
	CMSISNN       bool      `json:"cmsis_nn,omitempty"`
	CFlags        []string  `json:"cflags,omitempty"`
	LibCFlags     []string  `json:"lib_cflags,omitempty"`
	// Instructions is the mean instruction count of one nn_run on a
	// Cortex-M target (0 on the host).
	Instructions float64 `json:"instructions,omitempty"`
}

// ErrNotExport is returned (wrapped) by Verify for a directory that is not
// an nnq export.
var ErrNotExport = errors.New("not an nnq export")

// MismatchError is returned by Verify when the C code and the simulator
// disagree.
type MismatchError struct{ Result *VerifyResult }

func (e *MismatchError) Error() string {
	r := e.Result
	m := r.FirstMismatch
	return fmt.Sprintf("codegen: %s on %s is NOT bit-exact: %d mismatch(es) over %d patterns; first: pattern %d, layer %d %q, index %d: C %d, simulator %d",
		r.Model, r.Target, r.Mismatches, r.Patterns, m.Pattern, m.Layer, m.LayerName, m.Index, m.Got, m.Want)
}

// readManifest checks that dir is an nnq export and reads its manifest.
func readManifest(dir string) (*manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ManifestFile)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("codegen: %s: %w (no %s; export the model with nnq first)", dir, ErrNotExport, ManifestFile)
		}
		return nil, fmt.Errorf("codegen: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Format != manifestFormat {
		return nil, fmt.Errorf("codegen: %s: %w (%s is not an nnq export manifest)", dir, ErrNotExport, ManifestFile)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("codegen: %s: export format version %d is not supported (want 1)", dir, m.Version)
	}
	return &m, nil
}

// loadExport reads the manifest and the quantized model of an export.
func loadExport(dir string) (*manifest, *nnq.QModel, error) {
	man, err := readManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	q, err := nnq.LoadQModel(filepath.Join(dir, filepath.FromSlash(man.Quant)))
	if err != nil {
		return nil, nil, fmt.Errorf("codegen: %s: %w", dir, err)
	}
	if len(q.Layers) != man.NumLayers {
		return nil, nil, fmt.Errorf("codegen: %s: %s has %d layers, the manifest %d (re-export the project)", dir, man.Quant, len(q.Layers), man.NumLayers)
	}
	return man, q, nil
}

// Verify builds the exported project in dir with the harness, runs every
// stored pattern (quantized on the Go side) with per-layer tracing and
// compares each layer's output bytes with nnq's simulator. It writes
// verify.json into dir and returns a *MismatchError when any byte differs.
func Verify(ctx context.Context, dir string, opt VerifyOptions) (*VerifyResult, error) {
	man, q, err := loadExport(dir)
	if err != nil {
		return nil, err
	}
	tg, err := target(opt.Target)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Model: q.Name, Target: tg.Name, CodePath: q.Path.String(), Layers: len(q.Layers), Sanitize: opt.Sanitize, CMSIS: opt.CMSISPath != "",
		CMSISNN: opt.CMSISNNPath != ""}
	if err := checkLibrary(q, opt); err != nil {
		return nil, fmt.Errorf("codegen: %s: %w", dir, err)
	}

	// Inputs, quantized by the Go side.
	n := q.Float.InputSize()
	var inputs [][]int16
	if man.Patterns != "" {
		p, err := nnq.ReadPatterns(filepath.Join(dir, filepath.FromSlash(man.Patterns)))
		if err != nil {
			return nil, fmt.Errorf("codegen: %s: test patterns: %w", dir, err)
		}
		if err := q.Float.CheckPatterns(p); err != nil {
			return nil, fmt.Errorf("codegen: %s: the stored patterns do not fit the model: %w", dir, err)
		}
		if opt.MaxPatterns > 0 {
			p = p.Head(opt.MaxPatterns)
		}
		for i := 0; i < p.Len(); i++ {
			x := make([]int16, n)
			q.QuantizeInput(p.Input(i), x)
			inputs = append(inputs, x)
		}
		res.PatternSource = "stored"
	} else {
		cnt := opt.RandomPatterns
		if cnt <= 0 {
			cnt = 64
		}
		if opt.MaxPatterns > 0 {
			cnt = min(cnt, opt.MaxPatterns)
		}
		inputs = RandomInputs(q, cnt, opt.Seed)
		res.PatternSource = "random"
	}
	res.Patterns = len(inputs)
	if len(inputs) == 0 {
		return nil, fmt.Errorf("codegen: %s: no patterns to verify", dir)
	}

	// Build.
	var flags []string
	if q.IsAffine() {
		flags, err = s8BuildFlags(q, tg, opt)
	} else {
		flags, err = modelFlags(q, tg, opt.CMSISPath)
	}
	if err != nil {
		return nil, err
	}
	flags = append(flags, opt.ExtraCFlags...)
	res.CFlags = flags
	var libFlags []string
	if opt.CMSISPath != "" {
		libFlags = opt.LibCFlags
		res.LibCFlags = libFlags
	}
	step := func(name string, done, total int) {
		if opt.Progress != nil {
			opt.Progress(name, done, total)
		}
	}
	step("build", 0, 1)
	bin, err := harness.Build(ctx, tg, harness.BuildOptions{ProjectDir: dir, CMSISPath: opt.CMSISPath, CMSISNNPath: opt.CMSISNNPath, Sanitize: opt.Sanitize, Trace: true, ExtraCFlags: flags, LibCFlags: libFlags})
	if err != nil {
		return nil, fmt.Errorf("codegen: building %s: %w", dir, err)
	}
	defer bin.Close()
	step("build", 1, 1)
	if bin.Info.InputSize != n || bin.Info.NumLayers != len(q.Layers) {
		return nil, fmt.Errorf("codegen: %s: nn.h says %d inputs and %d layers, the model %d and %d (re-export the project)", dir, bin.Info.InputSize, bin.Info.NumLayers, n, len(q.Layers))
	}
	eb := bin.Info.InputElemBytes
	if eb != elemBytes(q) {
		return nil, fmt.Errorf("codegen: %s: nn.h uses %d-byte words, the model is %s (re-export the project)", dir, eb, q.TypeName())
	}
	raw := make([]byte, 0, len(inputs)*n*eb)
	for _, x := range inputs {
		raw = appendWords(raw, x, eb)
	}
	step("run "+tg.Name, 0, 1)
	run, err := bin.Run(ctx, raw, len(inputs))
	if err != nil {
		return nil, fmt.Errorf("codegen: running %s on %s: %w", dir, tg.Name, err)
	}
	step("run "+tg.Name, 1, 1)
	if len(run.Instructions) > 0 {
		var sum float64
		for _, c := range run.Instructions {
			sum += float64(c)
		}
		res.Instructions = sum / float64(len(run.Instructions))
	}

	// Compare with the simulator.
	sim, err := q.NewSim(false)
	if err != nil {
		return nil, fmt.Errorf("codegen: simulator: %w", err)
	}
	var want []byte
	for p, x := range inputs {
		step("compare", p, len(inputs))
		y, err := sim.Run(x)
		if err != nil {
			return nil, fmt.Errorf("codegen: simulating pattern %d: %w", p, err)
		}
		for l := range q.Layers {
			want = appendWords(want[:0], sim.Output(l), eb)
			got := run.LayerTrace(p, l)
			if len(got) != len(want) {
				return nil, fmt.Errorf("codegen: layer %d %q traced %d bytes, the simulator has %d", l, q.Layers[l].Name, len(got), len(want))
			}
			if i := firstDiff(got, want, eb); i >= 0 {
				res.Mismatches++
				if res.FirstMismatch == nil {
					res.FirstMismatch = &Mismatch{Pattern: p, Layer: l, LayerName: q.Layers[l].Name, Index: i, Got: word(got, i, eb), Want: word(want, i, eb)}
				}
			}
		}
		want = appendWords(want[:0], y, eb)
		if i := firstDiff(run.Output(p), want, eb); i >= 0 {
			res.Mismatches++
			if res.FirstMismatch == nil {
				last := len(q.Layers) - 1
				res.FirstMismatch = &Mismatch{Pattern: p, Layer: last, LayerName: q.Layers[last].Name + " (nn_run output)", Index: i, Got: word(run.Output(p), i, eb), Want: word(want, i, eb)}
			}
		}
	}
	step("compare", len(inputs), len(inputs))
	res.BitExact = res.Mismatches == 0
	if err := writeJSON(filepath.Join(dir, VerifyFile), res); err != nil {
		return nil, err
	}
	if !res.BitExact {
		return res, &MismatchError{Result: res}
	}
	return res, nil
}

// target resolves a target name ("" is the host).
func target(name string) (harness.Target, error) {
	if name == "" {
		name = "host"
	}
	tg, err := harness.TargetByName(name)
	if err != nil {
		return tg, fmt.Errorf("codegen: %w", err)
	}
	return tg, nil
}

// writeJSON writes v as indented JSON (a result file of the project).
func writeJSON(path string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("codegen: %w", err)
	}
	return nil
}

// modelFlags are the compiler flags that make the network code follow q's
// code path and rounding on target tg.
func modelFlags(q *nnq.QModel, tg harness.Target, cmsisPath string) ([]string, error) {
	if q.IsAffine() {
		return s8BuildFlags(q, tg, VerifyOptions{})
	}
	var flags []string
	if tg.IsHost() {
		if q.Path == kernels.DSPPath {
			if cmsisPath != "" {
				return nil, fmt.Errorf("codegen: %s was quantized for the DSP path (%s): the real CMSIS-NN library cannot compile its DSP code for the host; verify on host without CMSISPath (nnq's runtime emulates it) or on a DSP Cortex-M target", q.Name, q.Target)
			}
			flags = append(flags, "-DARM_MATH_DSP")
		}
	} else if tg.DSP() != (q.Path == kernels.DSPPath) {
		return nil, fmt.Errorf("codegen: %s was quantized for %s (%s path) but %s compiles the %s path; re-quantize for %s or pick a matching target",
			q.Name, q.Target, q.Path, tg.Name, map[bool]string{true: "DSP", false: "C"}[tg.DSP()], tg.Name)
	}
	if q.Rounding == kernels.Truncate {
		flags = append(flags, "-DARM_NN_TRUNCATE")
	}
	return flags, nil
}

// RandomInputs makes n integer inputs for q, uniform over the word's range.
func RandomInputs(q *nnq.QModel, n int, seed int64) [][]int16 {
	r := rand.New(rand.NewSource(seed))
	size := q.Float.InputSize()
	out := make([][]int16, n)
	for i := range out {
		x := make([]int16, size)
		for j := range x {
			if q.Bits == 16 {
				x[j] = int16(r.Intn(65536) - 32768)
			} else {
				x[j] = int16(r.Intn(256) - 128)
			}
		}
		out[i] = x
	}
	return out
}

func appendWords(dst []byte, v []int16, eb int) []byte {
	for _, x := range v {
		if eb == 2 {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(x))
		} else {
			dst = append(dst, byte(int8(x)))
		}
	}
	return dst
}

func word(b []byte, i, eb int) int {
	if eb == 2 {
		return int(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	return int(int8(b[i]))
}

// firstDiff returns the index of the first differing word, or -1.
func firstDiff(got, want []byte, eb int) int {
	for i := 0; i < len(want); i += eb {
		if i+eb > len(got) {
			return i / eb
		}
		for k := 0; k < eb; k++ {
			if got[i+k] != want[i+k] {
				return i / eb
			}
		}
	}
	return -1
}
