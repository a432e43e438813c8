package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// frontendHelp is the --frontend flag's help text.
const frontendHelp = "input front end: mfcc (the HelloEdge MFCC, or the one the model records), none, or auto (what the model file records)"

// frontendRule accepts the --frontend choices of nnq.CheckFrontendChoice.
func frontendRule(flag string, v *string) rule {
	return rule{flag, func() error { return nnq.CheckFrontendChoice(*v) }}
}

// readClips reads every .wav file of dir (sorted by name) as clips for the
// front end fe: 16-bit mono at its sample rate.
func readClips(dir string, fe *nnq.Frontend) ([]codegen.Clip, error) {
	if fe == nil {
		return nil, fmt.Errorf("--clips %s: the model has no input front end (see --frontend)", dir)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("--clips %s: no .wav files", dir)
	}
	sort.Strings(paths)
	clips := make([]codegen.Clip, 0, len(paths))
	for _, p := range paths {
		s, rate, err := audio.ReadWAVFile(p)
		if err != nil {
			return nil, err
		}
		if rate != fe.MFCC.SampleRate {
			return nil, fmt.Errorf("%s: %d Hz; the front end needs %d Hz", p, rate, fe.MFCC.SampleRate)
		}
		clips = append(clips, codegen.Clip{Name: strings.TrimSuffix(filepath.Base(p), ".wav"), Samples: s})
	}
	return clips, nil
}

// convertClips resolves the front end of the model file for --frontend and
// reads --clips, before the slow steps of a conversion.
func convertClips(model, frontend, clipsDir string) ([]codegen.Clip, error) {
	if clipsDir == "" {
		return nil, nil
	}
	m, err := nnq.Load(model)
	if err != nil {
		return nil, err
	}
	if err := m.SetFrontend(frontend); err != nil {
		return nil, fmt.Errorf("%s: %w", model, err)
	}
	return readClips(clipsDir, m.Frontend)
}

// reportFrontend is the report's record of an exported front end (nil
// for none).
func reportFrontend(fe *codegen.FrontendInfo) *nnq.ReportFrontend {
	if fe == nil {
		return nil
	}
	return &nnq.ReportFrontend{Frontend: fe.Frontend.String(), HopMs: 1000 * float64(fe.Frontend.MFCC.Stride) / float64(fe.Frontend.MFCC.SampleRate),
		FloatTableBytes: fe.SharedTableBytes + fe.FloatTableBytes, FixedTableBytes: fe.SharedTableBytes + fe.FixedTableBytes,
		RingBytes: fe.RingBytes, FeatureBytes: fe.FeatureBytes, InferEvery: fe.InferEvery}
}

// addFrontendRun records a passed Cortex-M run of the front end in rep.
func addFrontendRun(rep *nnq.Report, res *codegen.FrontendResult) {
	f := rep.Frontend
	if f == nil || res == nil || !res.Passed || res.Hops == 0 {
		return
	}
	f.Target, f.Path, f.InstructionsPerHop, f.MaxInstructionsPerHop = res.Target, res.Path, res.InstructionsPerHop, res.MaxInstructionsPerHop
	f.CodeBytes, f.EqualShare, f.ClassesAgree, f.Clips = res.CodeBytes, res.Share, res.ClassesAgree, len(res.Clips)
}

// verifyFrontend runs codegen.VerifyFrontend for `nnq verify` on an export
// with a front end and prints the result; networkInstr is the network's
// instruction count per inference on the same target (0 on the host).
func verifyFrontend(ctx context.Context, dir, target, path, clipsDir string, sanitize bool, networkInstr float64, stdout io.Writer) (*codegen.FrontendResult, error) {
	q, err := nnq.LoadQModel(filepath.Join(dir, filepath.FromSlash(codegen.QuantFile)))
	if err != nil {
		return nil, err
	}
	opt := codegen.FrontendVerifyOptions{Target: target, Path: path, Sanitize: sanitize}
	if clipsDir != "" {
		if opt.Clips, err = readClips(clipsDir, q.Float.Frontend); err != nil {
			return nil, err
		}
	}
	res, err := codegen.VerifyFrontend(ctx, dir, opt)
	var mm *codegen.FrontendMismatchError
	if err != nil && !errors.As(err, &mm) {
		return nil, err
	}
	if res == nil {
		res = mm.Result
	}
	status := "passed"
	if !res.Passed {
		status = "FAILED"
	}
	fmt.Fprintf(stdout, "front end (%s path) on %s: %d %s clips: %d of %d feature values equal Go's (%.2f%%), %d off by one, %d off by more (max %d); class of %d of %d clips as in Go; network on the C features exact: %v: %s\n",
		res.Path, res.Target, len(res.Clips), res.ClipSource, res.Equal, res.Features, 100*res.Share, res.OffByOne, res.Worse, res.MaxDiff, res.ClassesAgree, len(res.Clips), res.NetworkExact, status)
	for _, c := range res.Clips {
		if c.GoClass != c.CClass || c.Worse > 0 {
			fmt.Fprintf(stdout, "  %s: Go %s, C %s, %d values off by more than one\n", c.Name, c.GoClass, c.CClass, c.Worse)
		}
	}
	if res.Hops > 0 {
		fe := q.Float.Frontend.MFCC
		hopsPerSecond := float64(fe.SampleRate) / float64(fe.Stride)
		fmt.Fprintf(stdout, "front end on %s: %.0f instructions per hop (max %d over %d hops) = %.2f M per second of audio; code %d B, tables %d B (flash), static work RAM %d B, ring %d B + feature window %d B per stream\n",
			res.Target, res.InstructionsPerHop, res.MaxInstructionsPerHop, res.Hops, res.InstructionsPerHop*hopsPerSecond/1e6,
			res.CodeBytes, res.TableBytes, res.StaticRAMBytes, res.RingBytes, res.FeatureBytes)
		if networkInstr > 0 {
			fmt.Fprintf(stdout, "network on %s: %.0f instructions per inference (%.1f hops' worth of front end)\n", res.Target, networkInstr, networkInstr/res.InstructionsPerHop)
		}
	}
	return res, err
}

// hasFrontend reports whether the export in dir has an input front end.
func hasFrontend(dir string) bool {
	q, err := nnq.LoadQModel(filepath.Join(dir, filepath.FromSlash(codegen.QuantFile)))
	return err == nil && q.Float.Frontend != nil
}
