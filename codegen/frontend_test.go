package codegen

import (
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

var kwsCalib struct {
	once  sync.Once
	cm    *nnq.Model
	stats *nnq.Stats
	err   error
}

// kwsQModel quantizes the bundled DS-CNN (calibrated on 300 train/val
// patterns) for target, with its recorded input front end.
func kwsQModel(t testing.TB, bits int, target string) *nnq.QModel {
	t.Helper()
	f, err := nnq.FormatOfBits(bits)
	if err != nil {
		t.Fatal(err)
	}
	return kwsQModelFormat(t, f, target)
}

// kwsQModelFormat is kwsQModel for a format (q7, q15, s8, s16).
func kwsQModelFormat(t testing.TB, f nnq.Format, target string) *nnq.QModel {
	t.Helper()
	model := filepath.Join("..", "data", "kws-dscnn", "model.arrow")
	pats := filepath.Join("..", "data", "kws", "patterns.arrow")
	kwsCalib.once.Do(func() {
		fw, err := nnq.Load(model)
		if err != nil {
			kwsCalib.err = err
			return
		}
		if kwsCalib.cm, err = fw.ToCMSIS(); err != nil {
			kwsCalib.err = err
			return
		}
		all, err := nnq.ReadPatterns(pats)
		if err != nil {
			kwsCalib.err = err
			return
		}
		kwsCalib.stats, kwsCalib.err = nnq.Calibrate(kwsCalib.cm, all.Split("train", "val").Head(300), nil)
	})
	if kwsCalib.err != nil {
		t.Fatal(kwsCalib.err)
	}
	if kwsCalib.cm.Frontend == nil {
		t.Fatalf("%s records no input front end", model)
	}
	q, err := nnq.Quantize(kwsCalib.cm, kwsCalib.stats, nnq.QConfig{Format: f, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// bundledClips reads the WAV clips of data/kws (playground and test
// clips), sorted by name.
func bundledClips(t testing.TB) []Clip {
	t.Helper()
	var paths []string
	for _, d := range []string{"playground", "testclips"} {
		p, _ := filepath.Glob(filepath.Join("..", "data", "kws", d, "*.wav"))
		paths = append(paths, p...)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		t.Fatal("no bundled clips under data/kws")
	}
	var clips []Clip
	for _, p := range paths {
		s, rate, err := audio.ReadWAVFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if rate != audio.SampleRate {
			t.Fatalf("%s: %d Hz", p, rate)
		}
		clips = append(clips, Clip{Name: strings.TrimSuffix(filepath.Base(p), ".wav"), Samples: s})
	}
	return clips
}

// The front end of the q7, s8 (scale and zero point 23) and s16 exports of
// the KWS network on the host under ASan+UBSan, float and fixed point, on the
// bundled clips.
func TestFrontendHostFloatAndFixed(t *testing.T) {
	needCC(t)
	for _, f := range []nnq.Format{nnq.FormatQ7, nnq.FormatS8, nnq.FormatS16} {
		t.Run(string(f), func(t *testing.T) { testFrontendHost(t, f) })
	}
}

func testFrontendHost(t *testing.T, f nnq.Format) {
	q := kwsQModelFormat(t, f, "cortex-m4")
	dir := t.TempDir()
	p, err := Export(q, dir, Options{Clips: bundledClips(t)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Frontend == nil {
		t.Fatal("no front end exported")
	}
	for _, path := range []string{"float", "fixed"} {
		res, err := VerifyFrontend(testCtx(t), dir, FrontendVerifyOptions{Path: path, Sanitize: true})
		if res != nil {
			t.Logf("%s %s: %d/%d equal (%.3f%%), %d off by one, %d worse (max %d), classes %d/%d, network exact %v",
				f, path, res.Equal, res.Features, 100*res.Share, res.OffByOne, res.Worse, res.MaxDiff, res.ClassesAgree, len(res.Clips), res.NetworkExact)
			for _, c := range res.Clips {
				if c.GoClass != c.CClass || c.Worse > 0 {
					t.Logf("  %s: Go %s C %s, %d/%d/%d", c.Name, c.GoClass, c.CClass, c.Equal, c.OffByOne, c.Worse)
				}
			}
		}
		if err != nil {
			t.Error(err)
		}
	}
}

// m4HopBudget is the most instructions one 20 ms hop of the float front
// end may take on a Cortex-M4.
const m4HopBudget = 60000

func TestFrontendCortexM(t *testing.T) {
	needCC(t)
	for _, c := range []struct {
		target, path string
		format       nnq.Format
	}{{"cortex-m4", "float", nnq.FormatQ7}, {"cortex-m3", "fixed", nnq.FormatQ7}, {"cortex-m4", "fixed", nnq.FormatQ7},
		{"cortex-m4", "float", nnq.FormatS8}, {"cortex-m3", "fixed", nnq.FormatS8}} {
		name := c.target + "-" + c.path
		if c.format != nnq.FormatQ7 {
			name += "-" + string(c.format)
		}
		t.Run(name, func(t *testing.T) {
			q := kwsQModelFormat(t, c.format, c.target)
			dir := t.TempDir()
			if _, err := Export(q, dir, Options{Clips: bundledClips(t)}); err != nil {
				t.Fatal(err)
			}
			res, err := VerifyFrontend(testCtx(t), dir, FrontendVerifyOptions{Target: c.target, Path: c.path})
			if res != nil {
				t.Logf("%s %s %s: %d/%d equal (%.3f%%), %d off by one, %d worse, classes %d/%d; %.0f instructions/hop (max %d, %d hops); code %d B, tables %d B, static RAM %d B",
					c.format, c.target, c.path, res.Equal, res.Features, 100*res.Share, res.OffByOne, res.Worse, res.ClassesAgree, len(res.Clips),
					res.InstructionsPerHop, res.MaxInstructionsPerHop, res.Hops, res.CodeBytes, res.TableBytes, res.StaticRAMBytes)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops == 0 || res.InstructionsPerHop <= 0 {
				t.Fatalf("no instruction counts: %d hops", res.Hops)
			}
			if c.target == "cortex-m4" && c.path == "float" && res.MaxInstructionsPerHop > m4HopBudget {
				t.Errorf("cortex-m4 float: up to %d instructions per hop, budget %d", res.MaxInstructionsPerHop, m4HopBudget)
			}
		})
	}
}

// A front end of another geometry (25 ms windows every 10 ms, FFT 512: a
// last radix-2 FFT stage, windows over 2.5 hops of the ring) on a small
// q15 classifier of its 98x13 maps, verified on the host with the
// synthetic clips, float and fixed point.
func TestFrontendOtherGeometry(t *testing.T) {
	needCC(t)
	fe := nnq.MFCCFrontend("test-25ms", audio.MFCCConfig{SampleRate: 16000, WindowSize: 400, Stride: 160, FFTSize: 512,
		NumMel: 40, LowHz: 20, HighHz: 7600, NumCoeffs: 13, ClipLength: 16000})
	frames, k := fe.Shape()
	s := netSpec{name: "mfcc98", input: []int{frames, k, 1}, classes: []string{"silence", "a", "b", "c"},
		layers: []lspec{simple("flat", nnq.OpFlatten), dense("fc", nil, frames*k, 4, 0), simple("prob", nnq.OpSoftmax)}}
	m := floatModel(t, s, 3)
	m.Frontend = fe
	x, err := fe.Extractor()
	if err != nil {
		t.Fatal(err)
	}
	clips := SyntheticClips(fe)
	p := &nnq.Patterns{Shape: m.InputShape, Layout: nnq.CMSIS}
	for i := range 8 {
		for _, c := range clips {
			p.Append(x.Features(audio.Scale(append([]float32(nil), c.Samples...), 1/float64(i+1))), -1, "")
		}
	}
	st, err := nnq.Calibrate(m, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	// MSE, the scheme this geometry's agreement bound was set with: the
	// default (auto) gives this synthetic model's input more fractional bits,
	// and the front end's agreement is counted in steps of the input format,
	// so a finer format shows more of float32's (and the fixed path's log's)
	// rounding as off-by-one values.
	q, err := nnq.Quantize(m, st, nnq.QConfig{Bits: 16, Target: "cortex-m3", Scheme: nnq.MSE{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	proj, err := Export(q, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if proj.Frontend == nil || proj.Frontend.RingBytes != 2*(640+320) {
		t.Fatalf("front end %+v", proj.Frontend)
	}
	for _, path := range []string{"float", "fixed"} {
		res, err := VerifyFrontend(testCtx(t), dir, FrontendVerifyOptions{Path: path, Sanitize: true})
		if res != nil {
			t.Logf("%s (%s): %d/%d equal (%.3f%%), %d off by one, %d worse, classes %d/%d", path, q.TypeName(), res.Equal, res.Features, 100*res.Share,
				res.OffByOne, res.Worse, res.ClassesAgree, len(res.Clips))
		}
		if err != nil {
			t.Error(err)
		}
		if res != nil {
			for _, c := range res.Clips {
				t.Logf("  %s: %d/%d/%d", c.Name, c.Equal, c.OffByOne, c.Worse)
			}
		}
		if res != nil && (res.ClipSource != "synthetic" || len(res.Clips) != 4) {
			t.Errorf("clips: %s, %d", res.ClipSource, len(res.Clips))
		}
	}
}
