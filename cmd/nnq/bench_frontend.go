package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// frontendRun is one emulated run of the exported front end.
type frontendRun struct {
	Target             string  `json:"target"`
	Path               string  `json:"path"`
	FFT                string  `json:"fft"`
	InstructionsPerHop float64 `json:"instructions_per_hop"`
	MaxPerHop          uint64  `json:"max_instructions_per_hop"`
	EqualShare         float64 `json:"equal_share"`
	OffByOne           int     `json:"off_by_one"`
	Worse              int     `json:"off_by_more"`
	Features           int     `json:"features"`
	ClassesAgree       int     `json:"classes_agree"`
	Clips              int     `json:"clips"`
	CodeBytes          int     `json:"code_bytes"`
	TableBytes         int     `json:"table_bytes"`
	StaticRAMBytes     int     `json:"static_ram_bytes"`
	DSPCodeBytes       int     `json:"cmsis_dsp_code_bytes,omitempty"`
	DSPTableBytes      int     `json:"cmsis_dsp_table_bytes,omitempty"`
}

// frontendBench is the front end section of a network that records an
// input front end (nnq.Frontend): the exported frontend.c on the bundled
// clips, q7, default scheme.
type frontendBench struct {
	Frontend     string        `json:"frontend"`
	ClipSource   string        `json:"clip_source"`
	HopsPerSec   float64       `json:"hops_per_second"`
	RingBytes    int           `json:"ring_bytes"`
	FeatureBytes int           `json:"feature_window_bytes"`
	Runs         []frontendRun `json:"runs"`
	// NetworkM4 is the network's own count per inference on the M4;
	// InferEvery app/app.c's default hops per inference.
	NetworkM4  uint64 `json:"network_instructions_per_inference_m4"`
	InferEvery int    `json:"app_infer_every_hops"`
}

// benchClips reads the WAV clips next to the pattern file (kws/testclips
// and kws/playground for the bundled KWS data); none: the synthetic clips.
func benchClips(patterns string, fe *nnq.Frontend) ([]codegen.Clip, error) {
	var paths []string
	for _, d := range []string{"testclips", "playground"} {
		p, _ := filepath.Glob(filepath.Join(filepath.Dir(patterns), d, "*.wav"))
		paths = append(paths, p...)
	}
	sort.Strings(paths)
	var clips []codegen.Clip
	for _, p := range paths {
		s, rate, err := audio.ReadWAVFile(p)
		if err != nil {
			return nil, err
		}
		if rate == fe.MFCC.SampleRate {
			clips = append(clips, codegen.Clip{Name: filepath.Base(p), Samples: s})
		}
	}
	return clips, nil
}

// cmsisDSPRule checks the CMSIS-DSP checkout of the front end section
// (CMSIS_DSP_PATH with CMSIS_PATH) when both are set.
func cmsisDSPRule() rule {
	return rule{"CMSIS_DSP_PATH", func() error {
		dsp, core := os.Getenv("CMSIS_DSP_PATH"), os.Getenv("CMSIS_PATH")
		if dsp == "" || core == "" {
			return nil
		}
		_, err := codegen.CMSISDSPFlags(dsp, core)
		return err
	}}
}

// benchFrontend measures the front end of cm (CMSIS layout, calibrated as
// st) quantized with scheme: float path on the Cortex-M4, fixed point on
// the Cortex-M3 and, with CMSIS_DSP_PATH and CMSIS_PATH set, the float path
// on CMSIS-DSP's real FFT.
func benchFrontend(ctx context.Context, n benchNet, cm *nnq.Model, st *nnq.Stats, scheme nnq.Scheme, test *nnq.Patterns, log io.Writer) (*frontendBench, error) {
	fe := cm.Frontend
	clips, err := benchClips(n.Patterns, fe)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "nnq-bench-frontend-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	b := &frontendBench{Frontend: fe.String(), HopsPerSec: float64(fe.MFCC.SampleRate) / float64(fe.MFCC.Stride)}
	type variant struct {
		target, path, fft string
		flags             []string
	}
	variants := []variant{{"cortex-m4", "float", "nnq", nil}, {"cortex-m3", "fixed", "nnq", nil}}
	if dsp, core := os.Getenv("CMSIS_DSP_PATH"), os.Getenv("CMSIS_PATH"); dsp != "" && core != "" {
		flags, err := codegen.CMSISDSPFlags(dsp, core)
		if err != nil {
			return nil, err
		}
		variants = append(variants, variant{"cortex-m4", "float", "CMSIS-DSP arm_rfft_fast_f32", flags})
	}
	dirs := map[string]string{}
	for _, v := range variants {
		dir, ok := dirs[v.target]
		if !ok {
			q, err := nnq.Quantize(cm, st, nnq.QConfig{Bits: 8, Scheme: scheme, Target: v.target})
			if err != nil {
				return nil, err
			}
			dir = filepath.Join(tmp, v.target)
			proj, err := codegen.Export(q, dir, codegen.Options{Patterns: test.Head(8), Clips: clips})
			if err != nil {
				return nil, err
			}
			b.RingBytes, b.FeatureBytes, b.InferEvery = proj.Frontend.RingBytes, proj.Frontend.FeatureBytes, proj.Frontend.InferEvery
			dirs[v.target] = dir
			if v.target == "cortex-m4" {
				m4, err := profileCortexM(ctx, q, dir, v.target, "", test.Head(4), "")
				if err != nil {
					return nil, err
				}
				b.NetworkM4 = m4.InstructionsPerInference
			}
		}
		res, err := codegen.VerifyFrontend(ctx, dir, codegen.FrontendVerifyOptions{Target: v.target, Path: v.path, ExtraCFlags: v.flags})
		if err != nil {
			return nil, err
		}
		b.ClipSource = fmt.Sprintf("%d %s clips", len(res.Clips), res.ClipSource)
		b.Runs = append(b.Runs, frontendRun{Target: v.target, Path: v.path, FFT: v.fft, InstructionsPerHop: res.InstructionsPerHop,
			MaxPerHop: res.MaxInstructionsPerHop, EqualShare: res.Share, OffByOne: res.OffByOne, Worse: res.Worse, Features: res.Features,
			ClassesAgree: res.ClassesAgree, Clips: len(res.Clips), CodeBytes: res.CodeBytes, TableBytes: res.TableBytes, StaticRAMBytes: res.StaticRAMBytes,
			DSPCodeBytes: res.DSPCodeBytes, DSPTableBytes: res.DSPTableBytes})
		fmt.Fprintf(log, "bench: %s: front end %s %s (%s FFT): %.0f instructions per hop, %.2f%% of features equal Go's\n",
			n.Name, v.target, v.path, v.fft, res.InstructionsPerHop, 100*res.Share)
	}
	return b, nil
}

// frontendMarkdown renders the section (empty for nil).
func frontendMarkdown(b *frontendBench) string {
	if b == nil {
		return ""
	}
	var s strings.Builder
	fmt.Fprintf(&s, "\nInput front end (frontend.c, q7, %s; QEMU, exact counts; one hop adds a frame: ring write, window, FFT, mel, log, DCT, quantization, feature window slide): %s.\n\n",
		b.ClipSource, b.Frontend)
	s.WriteString("| core | path | FFT | instructions per hop (max) | per second of audio | features equal Go's | off by one / more | classes as Go | code | tables | static RAM |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.Runs {
		code, tables := fmt.Sprintf("%d B", r.CodeBytes), fmt.Sprintf("%d B", r.TableBytes)
		if r.DSPCodeBytes > 0 {
			code += fmt.Sprintf(" + %d B CMSIS-DSP", r.DSPCodeBytes)
			tables += fmt.Sprintf(" + %d B CMSIS-DSP", r.DSPTableBytes)
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %.0f (%d) | %.2f M | %.2f%% of %d | %d / %d | %d / %d | %s | %s | %d B |\n",
			r.Target, r.Path, r.FFT, r.InstructionsPerHop, r.MaxPerHop, r.InstructionsPerHop*b.HopsPerSec/1e6, 100*r.EqualShare, r.Features,
			r.OffByOne, r.Worse, r.ClassesAgree, r.Clips, code, tables, r.StaticRAMBytes)
	}
	fmt.Fprintf(&s, "\nPer stream: audio ring %d B, feature window %d B (each frame twice, so the window is contiguous). The network itself: %d instructions per inference on the Cortex-M4 (the default export: nnq's kernels)",
		b.RingBytes, b.FeatureBytes, b.NetworkM4)
	if r := b.Runs[0]; r.Target == "cortex-m4" && r.InstructionsPerHop > 0 && b.InferEvery > 0 {
		net := float64(b.NetworkM4) / float64(b.InferEvery)
		fmt.Fprintf(&s, ", %.0f hops' worth of front end; at app/app.c's default of an inference every %d hops the network takes %.0f instructions per hop, the front end %.1f%% of the work",
			float64(b.NetworkM4)/r.InstructionsPerHop, b.InferEvery, net, 100*r.InstructionsPerHop/(r.InstructionsPerHop+net))
	}
	s.WriteString(".\n")
	return s.String()
}

// benchFrontendOnly runs only the front end section (nnq bench --only
// frontend) on the networks that record a front end.
func benchFrontendOnly(list []benchNet, maxCalib int, stdout, stderr io.Writer) error {
	ctx := context.Background()
	any := false
	for _, n := range list {
		fw, err := nnq.Load(n.Model)
		if err != nil {
			return err
		}
		if fw.Frontend == nil {
			continue
		}
		any = true
		cm, err := fw.ToCMSIS()
		if err != nil {
			return err
		}
		all, err := nnq.ReadPatterns(n.Patterns)
		if err != nil {
			return err
		}
		test, calib := all, all
		if all.HasSplit("test") {
			test, calib = all.Split("test"), all.Split("train", "val")
		}
		st, err := nnq.Calibrate(cm, calib.Head(maxCalib), nil)
		if err != nil {
			return err
		}
		b, err := benchFrontend(ctx, n, cm, st, nnq.MSE{}, test, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		fmt.Fprintf(stdout, "### %s\n%s\n", n.Name, frontendMarkdown(b))
	}
	if !any {
		return fmt.Errorf("none of the networks records an input front end")
	}
	return nil
}
