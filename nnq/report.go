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
}

// Report is what nnq convert writes as report.json and report.md. Keys
// after Layers are filled by later steps (export, Cortex-M runs) when they
// happen.
type Report struct {
	Model    string `json:"model"`
	Target   string `json:"target"`
	CodePath string `json:"code_path"`
	Rounding string `json:"rounding"`
	Bits     int    `json:"bits"`
	Type     string `json:"type"`
	Runtime  string `json:"runtime,omitempty"`
	Optimize string `json:"optimize,omitempty"`
	Scheme   string `json:"scheme"`
	Patterns int    `json:"patterns"`
	// Unlabelled counts test patterns with label -1, left out of the
	// accuracies (not of the agreement).
	Unlabelled     int           `json:"unlabelled_patterns"`
	FloatAccuracy  float64       `json:"float_accuracy"`
	FixedAccuracy  float64       `json:"fixed_accuracy"`
	Agreement      float64       `json:"agreement"`
	InputFrac      int           `json:"input_frac"`
	OutputFrac     int           `json:"output_frac"`
	InputSaturated int64         `json:"input_saturated"`
	Classes        []string      `json:"classes,omitempty"`
	Layers         []ReportLayer `json:"layers"`
	Notes          []string      `json:"notes,omitempty"`
	FloatConfusion [][]int       `json:"float_confusion"`
	FixedConfusion [][]int       `json:"fixed_confusion"`

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
}

// NewReport assembles a report from a quantized model and its evaluation.
func NewReport(q *QModel, ev *Evaluation) *Report {
	r := &Report{Model: q.Name, Target: q.Target, CodePath: q.Path.String(), Rounding: q.Rounding.String(), Bits: q.Bits, Type: q.TypeName(),
		Scheme: q.Scheme, Patterns: ev.Patterns, Unlabelled: ev.Unlabelled, FloatAccuracy: ev.Float, FixedAccuracy: ev.Fixed, Agreement: ev.Agreement,
		InputFrac: q.InputFrac, OutputFrac: q.OutputFrac(), InputSaturated: ev.InputSaturated, Classes: q.Float.Classes,
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
			WantFrac: l.WantFrac, Rejected: l.Rejected, Notes: l.Notes, FusedReLU: l.ReLU, MACs: macs[l.Name]}
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
			if !math.IsInf(le.SQNR, 0) && !math.IsNaN(le.SQNR) {
				v := math.Round(le.SQNR*100) / 100
				rl.SQNRdB = &v
			}
		}
		r.Layers = append(r.Layers, rl)
	}
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
	fmt.Fprintf(&b, "Input format %s, output format %s; %d input values saturated.\n\n", QFormat(r.Bits, r.InputFrac), QFormat(r.Bits, r.OutputFrac), r.InputSaturated)
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
	instr := r.InstructionsPerInference > 0
	b.WriteString("| layer | op | kernel | in | out | weights | bias | bias_shift | out_shift | saturations | SQNR dB |")
	if instr {
		b.WriteString(" instructions | per MAC |")
	}
	if lib {
		b.WriteString(" library kernel | library instructions |")
	}
	b.WriteString("\n|---|---|---|---|---|---|---|---|---|---|---|")
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
		k := "`" + l.Kernel + "`"
		if l.FusedReLU {
			k += " + ReLU"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |", l.Name, l.Op, k, QFormat(r.Bits, l.InFrac), QFormat(r.Bits, l.OutFrac),
			f(l.WeightFrac, true), f(l.BiasFrac, true), f(l.BiasShift, false), f(l.OutShift, false), l.Saturations, s)
		if instr {
			fmt.Fprintf(&b, " %d | %s |", l.Instructions, perMAC(l.Instructions, l.MACs))
		}
		if lib {
			fmt.Fprintf(&b, " `%s` | %d |", l.LibraryKernel, l.LibraryInstructions)
		}
		b.WriteString("\n")
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
