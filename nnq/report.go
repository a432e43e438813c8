package nnq

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// ReportLayer is one layer row of a report.
type ReportLayer struct {
	Name       string `json:"name"`
	Op         Op     `json:"op"`
	Kernel     string `json:"kernel"`
	InFrac     int    `json:"in_frac"`
	InFracs    []int  `json:"in_fracs"`
	OutFrac    int    `json:"out_frac"`
	WantFrac   int    `json:"wanted_frac"`
	WeightFrac *int   `json:"weight_frac"`
	BiasFrac   *int   `json:"bias_frac"`
	BiasShift  *int   `json:"bias_shift"`
	OutShift   *int   `json:"out_shift"`
	// Saturations counts outputs the kernel clamped (high + low) over all
	// evaluated patterns; AccWraps accumulators that left 32 bits (sign
	// inversions); BiasWraps bias shifts that overflowed.
	Saturations int64 `json:"saturations"`
	SatHigh     int64 `json:"sat_high"`
	SatLow      int64 `json:"sat_low"`
	AccWraps    int64 `json:"acc_wraps"`
	BiasWraps   int64 `json:"bias_wraps"`
	// OutFormat is the output's Q format (e.g. "Q8.-1").
	OutFormat string `json:"out_format"`
	// SaturationPct is the share of the layer's outputs the kernel
	// clamped, in percent.
	SaturationPct float64 `json:"saturation_pct"`
	// HeadroomBits is log2 of the output format's largest value over the
	// largest float output on the test patterns: how many bits the range
	// could still grow; negative when the format clips the float values.
	// Null when the float output is zero.
	HeadroomBits *float64 `json:"headroom_bits"`
	// SensitivityAcc is the test accuracy with only this layer in fixed
	// point (on Report.SensitivityPatterns patterns) and SensitivityDrop
	// the float accuracy on the same patterns minus it, in points. Null for
	// layers that are exact on their input's format (relu, max pool,
	// flatten, reshape).
	SensitivityAcc  *float64 `json:"sensitivity_accuracy"`
	SensitivityDrop *float64 `json:"sensitivity_drop_pts"`
	// Reason says in a few words why the output has its format.
	Reason string `json:"reason"`
	// SQNRdB is null when the fixed output is exact.
	SQNRdB       *float64 `json:"sqnr_db"`
	Instructions uint64   `json:"instructions,omitempty"`
	Rejected     []string `json:"rejected,omitempty"`
	Notes        []string `json:"notes,omitempty"`
	NNQKernel    bool     `json:"nnq_kernel,omitempty"`
	// FusedReLU says the kernel clamps at 0 for the ReLU that follows it;
	// Why says why the layer runs its kernel (filled by the export).
	FusedReLU bool   `json:"fused_relu,omitempty"`
	Why       string `json:"why,omitempty"`
	// MACs is the layer's multiply-accumulates per inference.
	MACs int64 `json:"macs,omitempty"`
	// LibraryKernel and LibraryInstructions describe the same layer in the
	// --runtime cmsis twin of the export linked with the real CMSIS-NN
	// library (nnq verify --cmsis PATH on a Cortex-M target).
	LibraryKernel       string `json:"library_kernel,omitempty"`
	LibraryInstructions uint64 `json:"library_instructions,omitempty"`
	// S8 holds an s8/s16 layer's formats and requantization.
	S8 *ReportS8Layer `json:"s8,omitempty"`
}

// Report is what nnq convert writes as report.json and report.md. Keys
// after Layers are filled by later steps (export, Cortex-M runs) when they
// happen.
type Report struct {
	Model    string `json:"model"`
	Target   string `json:"target"`
	CodePath string `json:"code_path"`
	Rounding string `json:"rounding"`
	// AffineRounding describes an s8/s16 network's non-default arithmetic
	// (AffineRounding.Describe); absent for CMSIS-NN's default build.
	AffineRounding string `json:"affine_rounding,omitempty"`
	Bits           int    `json:"bits"`
	Type           string `json:"type"`
	Runtime        string `json:"runtime,omitempty"`
	Optimize       string `json:"optimize,omitempty"`
	Scheme         string `json:"scheme"`
	Patterns       int    `json:"patterns"`
	// Unlabelled counts test patterns with label -1, left out of the
	// accuracies (not of the agreement).
	Unlabelled     int     `json:"unlabelled_patterns"`
	FloatAccuracy  float64 `json:"float_accuracy"`
	FixedAccuracy  float64 `json:"fixed_accuracy"`
	Agreement      float64 `json:"agreement"`
	InputFrac      int     `json:"input_frac"`
	OutputFrac     int     `json:"output_frac"`
	InputSaturated int64   `json:"input_saturated"`
	// InputSaturationPct is InputSaturated as a percentage of the input
	// values; InputReason says why the input has its format.
	InputSaturationPct float64 `json:"input_saturation_pct"`
	InputReason        string  `json:"input_reason"`
	// SensitivityPatterns is how many test patterns the layer
	// sensitivities were measured on, SensitivityFloat the float accuracy
	// on them; Costliest names the (up to) three layers whose
	// quantization alone costs the most accuracy, costliest first.
	SensitivityPatterns int      `json:"sensitivity_patterns"`
	SensitivityFloat    float64  `json:"sensitivity_float_accuracy"`
	Costliest           []string `json:"costliest_layers"`
	// FormatsExplained says in words what the unusual Q formats of the
	// model (negative integer or fractional bits) mean.
	FormatsExplained []string      `json:"formats_explained,omitempty"`
	Classes          []string      `json:"classes,omitempty"`
	Layers           []ReportLayer `json:"layers"`
	Notes            []string      `json:"notes,omitempty"`
	FloatConfusion   [][]int       `json:"float_confusion"`
	FixedConfusion   [][]int       `json:"fixed_confusion"`
	// InputAffine and OutputAffine: the formats of an s8/s16 network.
	InputAffine  *Affine `json:"input_affine,omitempty"`
	OutputAffine *Affine `json:"output_affine,omitempty"`

	// Filled by codegen (memory plan) and Cortex-M runs.
	ArenaBytes      int `json:"arena_bytes,omitempty"`
	ArenaLowerBound int `json:"arena_lower_bound,omitempty"`
	ArenaNaive      int `json:"arena_naive,omitempty"`
	WeightsBytes    int `json:"weights_bytes,omitempty"`
	// ScratchBytes is the kernels' scratch buffer (part of ArenaBytes);
	// ExpandedWeightBytes the flash --optimize speed spends on weights
	// stored pre-expanded to 16 bits (part of WeightsBytes).
	ScratchBytes             int    `json:"scratch_bytes,omitempty"`
	ExpandedWeightBytes      int    `json:"expanded_weight_bytes,omitempty"`
	InstructionsPerInference uint64 `json:"instructions_per_inference,omitempty"`
	FlashBytes               int    `json:"flash_bytes,omitempty"`
	RAMBytes                 int    `json:"ram_bytes,omitempty"`
	// The same figures for the --runtime cmsis twin linked with the real
	// CMSIS-NN library (nnq verify --cmsis PATH); LibraryPath is the tree.
	LibraryPath                     string `json:"library_path,omitempty"`
	LibraryInstructionsPerInference uint64 `json:"library_instructions_per_inference,omitempty"`
	LibraryFlashBytes               int    `json:"library_flash_bytes,omitempty"`
	LibraryRAMBytes                 int    `json:"library_ram_bytes,omitempty"`

	// Frontend is the exported input front end (frontend.c), when the
	// model records one.
	Frontend *ReportFrontend `json:"frontend,omitempty"`
}

// ReportFrontend is the input front end's cost in the report: its sizes
// from the export and, once nnq verify ran it on a Cortex-M, its exact
// instructions per hop and how its features compared with Go's.
type ReportFrontend struct {
	Frontend string  `json:"frontend"`
	HopMs    float64 `json:"hop_ms"`
	// Constant tables (flash) of the float32 and of the fixed-point path;
	// per stream the audio ring and the feature window (RAM).
	FloatTableBytes int `json:"float_table_bytes"`
	FixedTableBytes int `json:"fixed_table_bytes"`
	RingBytes       int `json:"ring_bytes"`
	FeatureBytes    int `json:"feature_window_bytes"`
	// InferEvery is the streaming app's default: an inference every
	// InferEvery hops.
	InferEvery int `json:"app_infer_every_hops"`

	// From a Cortex-M run (QEMU, exact counts): target, path (float or
	// fixed), instructions of one hop (mean, max), the front end's code in
	// the image, the share of feature values equal to Go's and the clips
	// whose class is Go's.
	Target                string  `json:"target,omitempty"`
	Path                  string  `json:"path,omitempty"`
	InstructionsPerHop    float64 `json:"instructions_per_hop,omitempty"`
	MaxInstructionsPerHop uint64  `json:"max_instructions_per_hop,omitempty"`
	CodeBytes             int     `json:"code_bytes,omitempty"`
	EqualShare            float64 `json:"equal_share,omitempty"`
	ClassesAgree          int     `json:"classes_agree,omitempty"`
	Clips                 int     `json:"clips,omitempty"`
}

// NewReport assembles a report from a quantized model and its evaluation.
func NewReport(q *QModel, ev *Evaluation) *Report {
	if q.IsAffine() {
		return newReportS8(q, ev)
	}
	r := &Report{Model: q.Name, Target: q.Target, CodePath: q.Path.String(), Rounding: q.Rounding.String(), Bits: q.Bits, Type: q.TypeName(),
		Scheme: q.Scheme, Patterns: ev.Patterns, Unlabelled: ev.Unlabelled, FloatAccuracy: ev.Float, FixedAccuracy: ev.Fixed, Agreement: ev.Agreement,
		InputFrac: q.InputFrac, OutputFrac: q.OutputFrac(), InputSaturated: ev.InputSaturated, Classes: q.Float.Classes,
		InputSaturationPct: pct(ev.InputSaturated, ev.InputValues), InputReason: q.InputReason,
		SensitivityPatterns: ev.SensitivityPatterns, SensitivityFloat: ev.SensitivityFloat,
		Notes: append(append([]string(nil), q.Float.Notes...), q.Notes...), FloatConfusion: ev.FloatConfusion, FixedConfusion: ev.FixedConfusion,
		Runtime: q.Runtime, Optimize: q.Optimize}
	macs := map[string]int64{}
	if info, err := q.Float.Info(); err == nil {
		for _, li := range info {
			macs[li.Name] = li.MACs
		}
	}
	for k, l := range q.Layers {
		rl := ReportLayer{Name: l.Name, Op: l.Op, Kernel: viewKernel, InFrac: l.InFrac[0], InFracs: l.InFrac, OutFrac: l.OutFrac,
			WantFrac: l.WantFrac, Rejected: l.Rejected, Notes: l.Notes, OutFormat: QFormat(q.Bits, l.OutFrac), Reason: l.Reason,
			FusedReLU: l.ReLU, MACs: macs[l.Name]}
		if l.Kernel != 0 {
			rl.Kernel, rl.NNQKernel = l.Kernel.String(), l.Kernel.NNQ() && q.Runtime == RuntimeCMSIS
		} else if f := q.FusedInto(l); f != nil {
			rl.Kernel = fusedKernel(f)
		}
		if l.Weights != nil {
			rl.WeightFrac, rl.BiasFrac, rl.BiasShift, rl.OutShift = ptr(l.WeightFrac), ptr(l.BiasFrac), ptr(l.BiasShift), ptr(l.OutShift)
		} else if l.Op == OpAdd || l.Op == OpMul {
			rl.OutShift = ptr(l.OutShift)
		} else if len(l.Sub) > 0 {
			rl.Notes = append([]string{l.RecurrentFormats(q.Bits)}, rl.Notes...)
		}
		if k < len(ev.Layers) {
			le := ev.Layers[k]
			rl.SatHigh, rl.SatLow, rl.AccWraps, rl.BiasWraps = le.Kernel.SatHigh, le.Kernel.SatLow, le.Kernel.AccWraps, le.Kernel.BiasWraps
			rl.Saturations = rl.SatHigh + rl.SatLow
			rl.SaturationPct = pct(rl.Saturations, le.Outputs)
			if !math.IsInf(le.SQNR, 0) && !math.IsNaN(le.SQNR) {
				rl.SQNRdB = round2(le.SQNR)
			}
			if le.AbsMax > 0 {
				rl.HeadroomBits = round2(float64(q.Bits-1-l.OutFrac) - math.Log2(le.AbsMax))
			}
			if le.Measured {
				rl.SensitivityAcc, rl.SensitivityDrop = round2(100*le.Sensitivity), round2(100*(ev.SensitivityFloat-le.Sensitivity))
			}
		}
		r.Layers = append(r.Layers, rl)
	}
	r.Costliest = costliest(r.Layers, 3)
	r.FormatsExplained = explainFormats(q)
	return r
}

func ptr(v int) *int { return &v }

// perMAC renders instructions per multiply-accumulate ("-" without MACs).
func perMAC(instr uint64, macs int64) string {
	if macs <= 0 || instr == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(instr)/float64(macs))
}

func round2(v float64) *float64 {
	v = math.Round(v*100) / 100
	return &v
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(1e6*float64(n)/float64(of)) / 1e4
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Markdown renders the report for people.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# nnq report: %s\n\n", r.Model)
	fmt.Fprintf(&b, "%s (%d-bit) on %s (%s code path, %s), scheme `%s`, %d test patterns", r.Type, r.Bits, r.Target, r.CodePath, r.Rounding, r.Scheme, r.Patterns)
	if r.Unlabelled > 0 {
		fmt.Fprintf(&b, " (%d unlabelled: left out of the accuracies, counted in the agreement)", r.Unlabelled)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "| | accuracy |\n|---|---|\n| float | %.2f%% |\n| %s | %.2f%% |\n| drop | %.2f points |\n| top-1 agreement | %.2f%% |\n\n",
		100*r.FloatAccuracy, r.Type, 100*r.FixedAccuracy, 100*(r.FloatAccuracy-r.FixedAccuracy), 100*r.Agreement)
	if r.InputAffine != nil {
		r.markdownS8(&b)
		return b.String()
	}
	fmt.Fprintf(&b, "Input format %s (%s), output format %s; %d input values saturated (%s).\n\n", QFormat(r.Bits, r.InputFrac), r.InputReason, QFormat(r.Bits, r.OutputFrac), r.InputSaturated, pctText(r.InputSaturationPct))
	if r.ArenaBytes > 0 {
		fmt.Fprintf(&b, "Memory: RAM %d B = activation arena %d B + kernel scratch %d B (lower bound %d B, naive plan %d B); flash: weights %d B",
			r.ArenaBytes, r.ArenaBytes-r.ScratchBytes, r.ScratchBytes, r.ArenaLowerBound, r.ArenaNaive, r.WeightsBytes)
		if r.ExpandedWeightBytes > 0 {
			fmt.Fprintf(&b, ", of which %d B are weights stored pre-expanded to 16 bits (the flash cost of `--optimize speed`; `--optimize size` keeps 8 bits)", r.ExpandedWeightBytes)
		}
		b.WriteString(", plus the code of the kernels.\n\n")
	}
	if r.Runtime != "" {
		fmt.Fprintf(&b, "Runtime: `%s`", r.Runtime)
		if r.Optimize != "" && r.Runtime == RuntimeNNQ {
			fmt.Fprintf(&b, ", `--optimize %s`", r.Optimize)
		}
		b.WriteString(".\n\n")
	}
	if r.InstructionsPerInference > 0 {
		fmt.Fprintf(&b, "Cortex-M: %d instructions per inference, flash %d B, RAM %d B.\n\n", r.InstructionsPerInference, r.FlashBytes, r.RAMBytes)
	}
	lib := r.LibraryInstructionsPerInference > 0
	if lib {
		fmt.Fprintf(&b, "The `--runtime cmsis` twin linked with the real CMSIS-NN library (%s): %d instructions per inference (%.2fx this export's), flash %d B, RAM %d B.\n\n",
			r.LibraryPath, r.LibraryInstructionsPerInference, float64(r.LibraryInstructionsPerInference)/float64(max(r.InstructionsPerInference, 1)), r.LibraryFlashBytes, r.LibraryRAMBytes)
	}
	if f := r.Frontend; f != nil {
		b.WriteString(f.markdown(r.InstructionsPerInference))
	}
	instr := r.InstructionsPerInference > 0
	b.WriteString("| layer | op | kernel | in | out | weights | bias | bias_shift | out_shift | saturated | headroom | SQNR dB | alone | reason |")
	if instr {
		b.WriteString(" instructions | per MAC |")
	}
	if lib {
		b.WriteString(" library kernel | library instructions |")
	}
	b.WriteString("\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	if instr {
		b.WriteString("---|---|")
	}
	if lib {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	for _, l := range r.Layers {
		f := func(p *int, q bool) string {
			if p == nil {
				return "-"
			}
			if q {
				return QFormat(r.Bits, *p)
			}
			return fmt.Sprint(*p)
		}
		s := "exact"
		if l.SQNRdB != nil {
			s = fmt.Sprintf("%.1f", *l.SQNRdB)
		}
		alone := "-"
		if l.SensitivityAcc != nil {
			alone = fmt.Sprintf("%.2f%%", *l.SensitivityAcc)
		}
		hr := "-"
		if l.HeadroomBits != nil {
			hr = fmt.Sprintf("%+.1f", *l.HeadroomBits)
		}
		k := "`" + l.Kernel + "`"
		if l.FusedReLU {
			k += " + ReLU"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", l.Name, l.Op, k, QFormat(r.Bits, l.InFrac), QFormat(r.Bits, l.OutFrac),
			f(l.WeightFrac, true), f(l.BiasFrac, true), f(l.BiasShift, false), f(l.OutShift, false), pctText(l.SaturationPct), hr, s, alone, strings.ReplaceAll(l.Reason, "|", "/"))
		if instr {
			fmt.Fprintf(&b, " %d | %s |", l.Instructions, perMAC(l.Instructions, l.MACs))
		}
		if lib {
			fmt.Fprintf(&b, " `%s` | %d |", l.LibraryKernel, l.LibraryInstructions)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nsaturated: share of the layer's outputs the kernel clamped; headroom: bits between the largest float output on the test patterns and the format's limit (negative: the format clips); alone: test accuracy with only this layer in fixed point.\n")
	r.markdownCosts(&b)
	if len(r.FormatsExplained) > 0 {
		b.WriteString("\n## Unusual formats\n\n")
		for _, e := range r.FormatsExplained {
			fmt.Fprintf(&b, "- %s.\n", e)
		}
	}
	var why []string
	for _, l := range r.Layers {
		if l.Why != "" {
			why = append(why, fmt.Sprintf("- %s (`%s`): %s\n", l.Name, l.Kernel, l.Why))
		}
	}
	if len(why) > 0 {
		b.WriteString("\nWhy each layer runs its kernel:\n\n" + strings.Join(why, ""))
	}
	var nnqK []string
	for _, l := range r.Layers {
		if l.NNQKernel {
			nnqK = append(nnqK, fmt.Sprintf("%s (`%s`)", l.Name, l.Kernel))
		}
	}
	if len(nnqK) > 0 {
		fmt.Fprintf(&b, "\nLayers with no legacy CMSIS-NN kernel, run by nnq's own C kernels: %s.\n", strings.Join(nnqK, ", "))
	}
	b.WriteString("\n")
	for _, l := range r.Layers {
		for _, n := range l.Notes {
			fmt.Fprintf(&b, "- %s: %s\n", l.Name, n)
		}
		for _, n := range l.Rejected {
			fmt.Fprintf(&b, "- %s: not %s\n", l.Name, n)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// WriteReport writes report.json and report.md into dir. The PNG plots
// that go with them (histograms, SQNR per layer, confusion matrix) are
// drawn by package nnq/plots: plots.SavePlots(dir+"/plots", ...).
func WriteReport(dir string, q *QModel, ev *Evaluation) (*Report, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := NewReport(q, ev)
	if err := r.WriteJSON(filepath.Join(dir, "report.json")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644); err != nil {
		return nil, err
	}
	return r, nil
}

// markdown renders the front end's paragraph; networkInstr is the
// network's count per inference on the same target (0: not measured).
func (f *ReportFrontend) markdown(networkInstr uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Input front end (frontend.c): %s. Tables (flash) %d B float32 path, %d B fixed-point path; per stream audio ring %d B and feature window %d B (RAM).",
		f.Frontend, f.FloatTableBytes, f.FixedTableBytes, f.RingBytes, f.FeatureBytes)
	if f.InstructionsPerHop > 0 {
		fmt.Fprintf(&b, " On %s (%s path): %.0f instructions per %g ms hop (max %d), code %d B; %.2f%% of the feature values equal Go's, class as Go on %d of %d clips.",
			f.Target, f.Path, f.InstructionsPerHop, f.HopMs, f.MaxInstructionsPerHop, f.CodeBytes, 100*f.EqualShare, f.ClassesAgree, f.Clips)
		if networkInstr > 0 && f.InferEvery > 0 {
			net := float64(networkInstr) / float64(f.InferEvery)
			fmt.Fprintf(&b, " The network: %d instructions per inference, %.0f per hop at an inference every %d hops; the front end is %.1f%% of the work.",
				networkInstr, net, f.InferEvery, 100*f.InstructionsPerHop/(f.InstructionsPerHop+net))
		}
	}
	b.WriteString("\n\n")
	return b.String()
}
