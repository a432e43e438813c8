// Package data_test checks nnq's bundled example data and networks: the
// KWS split by voice, the pattern files, the size budget, and that nnq's own
// float pass reproduces the training scripts' test accuracy.
package data_test

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

var kwsClasses = []string{"silence", "unknown", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"}

type voiceRow struct{ split, voice string }

func readVoices(t *testing.T) []voiceRow {
	t.Helper()
	f, err := os.Open("kws/voices.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"pattern", "split", "voice"}) {
		t.Fatalf("voices.csv header %v", rows[0])
	}
	var out []voiceRow
	for _, r := range rows[1:] {
		out = append(out, voiceRow{r[1], r[2]})
	}
	return out
}

// No test voice (accent+variant) is heard in train or val, and no val voice
// in train.
func TestKWSSplitByVoice(t *testing.T) {
	voices := map[string]map[string]bool{"train": {}, "val": {}, "test": {}}
	counts := map[string]int{}
	for _, r := range readVoices(t) {
		if voices[r.split] == nil {
			t.Fatalf("unknown split %q", r.split)
		}
		voices[r.split][r.voice] = true
		counts[r.split]++
	}
	for v := range voices["test"] {
		if voices["train"][v] || voices["val"][v] {
			t.Errorf("test voice %s also appears in train/val", v)
		}
	}
	for v := range voices["val"] {
		if voices["train"][v] {
			t.Errorf("val voice %s also appears in train", v)
		}
	}
	if counts["test"] < 3000 || len(voices["test"]) < 50 {
		t.Errorf("test split has %d patterns from %d voices; want >= 3000 from >= 50", counts["test"], len(voices["test"]))
	}
	t.Logf("patterns train/val/test %d/%d/%d, voices %d/%d/%d", counts["train"], counts["val"], counts["test"],
		len(voices["train"]), len(voices["val"]), len(voices["test"]))
}

func readPatterns(t *testing.T, path string) *nnq.Patterns {
	t.Helper()
	p, err := nnq.ReadPatterns(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The KWS pattern file matches voices.csv row by row and holds 1x49x10
// NCHW maps.
func TestKWSPatterns(t *testing.T) {
	p := readPatterns(t, "kws/patterns.arrow")
	v := readVoices(t)
	if p.Len() != len(v) {
		t.Fatalf("%d patterns, voices.csv has %d rows", p.Len(), len(v))
	}
	for i := range v {
		if p.Splits[i] != v[i].split {
			t.Fatalf("pattern %d: split %q, voices.csv says %q", i, p.Splits[i], v[i].split)
		}
	}
	if !slices.Equal(p.Shape, []int{1, 49, 10}) || p.Layout != nnq.NCHW {
		t.Errorf("shape %v layout %s, want [1 49 10] NCHW", p.Shape, p.Layout)
	}
	seen := make([]int, len(kwsClasses))
	for _, l := range p.Labels {
		seen[l]++
	}
	for c, n := range seen {
		if n == 0 {
			t.Errorf("class %s has no patterns", kwsClasses[c])
		}
	}
}

func TestMNISTPatterns(t *testing.T) {
	p := readPatterns(t, "mnist/patterns.arrow")
	if !slices.Equal(p.Shape, []int{1, 28, 28}) || p.Layout != nnq.NCHW {
		t.Errorf("shape %v layout %s, want [1 28 28] NCHW", p.Shape, p.Layout)
	}
	if n := p.Split("test").Len(); n != 10000 {
		t.Errorf("%d test patterns, want the full 10000", n)
	}
	for _, v := range p.Inputs {
		if v < 0 || v > 1 {
			t.Fatalf("pixel value %g outside [0, 1]", v)
		}
	}
}

// Everything committed under data/ stays under 25 MB.
func TestSizeBudget(t *testing.T) {
	var total int64
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// build/ is git-ignored scratch; node_modules belong to JS fixtures
		// and are not committed either.
		if d.IsDir() && (path == "build" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 25<<20 {
		t.Errorf("data/ holds %.1f MB, budget 25 MB", float64(total)/(1<<20))
	}
	t.Logf("data/ without build/: %.2f MB", float64(total)/(1<<20))
}

// The DS-CNN records TensorFlow's "same" padding for its first conv
// explicitly, and keeps its batchnorms unfolded.
func TestKWSDSCNNGraph(t *testing.T) {
	m, err := nnq.ReadModel("kws-dscnn/model.arrow")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.InputShape, []int{1, 49, 10}) || m.Layout != nnq.NCHW || !slices.Equal(m.Classes, kwsClasses) {
		t.Fatalf("input %v layout %s classes %v", m.InputShape, m.Layout, m.Classes)
	}
	c := m.Layer("conv1")
	if c == nil || c.Attrs.Padding != "explicit" || !slices.Equal(c.Attrs.Pads, []int{4, 1, 5, 1}) ||
		!slices.Equal(c.Attrs.Strides, []int{2, 2}) || c.Attrs.Filters != 64 {
		t.Fatalf("conv1 = %+v", c)
	}
	ops := map[nnq.Op]int{}
	for _, l := range m.Layers {
		ops[l.Op]++
	}
	if ops[nnq.OpBatchNorm] != 9 || ops[nnq.OpDepthwiseConv2D] != 4 || ops[nnq.OpConv2D] != 5 {
		t.Errorf("op counts %v", ops)
	}
}

// loadCMSIS loads a model (batchnorm folded) and reorders it for the
// CMSIS-layout float pass.
func loadCMSIS(t *testing.T, path string) *nnq.Model {
	t.Helper()
	fw, err := nnq.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := fw.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type floatAccuracy struct {
	TestAccuracy float64 `json:"test_accuracy"`
	TestSize     int     `json:"test_size"`
	Correct      int     `json:"correct"`
}

// nnq's float pass (batchnorm folded at load) reproduces each training
// script's test accuracy within 0.05 points.
func TestFloatAccuracyMatchesTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every network over its test split")
	}
	for _, c := range []struct{ net, patterns string }{
		{"kws-dscnn", "kws/patterns.arrow"},
		{"kws-cnn", "kws/patterns.arrow"},
		{"mnist-cnn", "mnist/patterns.arrow"},
		{"kws-gru", "kws/patterns.arrow"},
	} {
		t.Run(c.net, func(t *testing.T) {
			var want floatAccuracy
			b, err := os.ReadFile(filepath.Join(c.net, "float_accuracy.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			m := loadCMSIS(t, filepath.Join(c.net, "model.arrow"))
			test := readPatterns(t, c.patterns).Split("test")
			if test.Len() != want.TestSize {
				t.Fatalf("%d test patterns, training measured %d", test.Len(), want.TestSize)
			}
			got, err := m.Accuracy(test)
			if err != nil {
				t.Fatal(err)
			}
			trained := float64(want.Correct) / float64(want.TestSize)
			if d := (got - trained) * 100; d > 0.05 || d < -0.05 {
				t.Errorf("nnq float accuracy %.4f, training script %.4f", got, trained)
			}
			t.Logf("%s: nnq float test accuracy %.4f on %d patterns (training script %.4f)", c.net, got, test.Len(), want.TestAccuracy)
		})
	}
}

// The playground clips (clean test voices, WAV) go through nnq/audio
// (noise mixing, MFCC) and the float DS-CNN end to end; most must be
// recognized.
func TestPlaygroundClips(t *testing.T) {
	m := loadCMSIS(t, "kws-dscnn/model.arrow")
	r, err := m.NewRunner()
	if err != nil {
		t.Fatal(err)
	}
	// The clips are clean (digital silence around the word); like the
	// training data, the network needs a noise floor: mix the pink noise
	// clip in at 30 dB SNR.
	noise, _, err := audio.ReadWAVFile("kws/playground/noise-pink.wav")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("kws/playground/*.wav")
	total, ok := 0, 0
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "noise") {
			continue
		}
		word := strings.SplitN(base, "-", 2)[0]
		s, rate, err := audio.ReadWAVFile(f)
		if err != nil || rate != audio.SampleRate {
			t.Fatalf("%s: rate %d, %v", f, rate, err)
		}
		got := kwsClasses[nnq.Predict(r.Run(audio.Features(audio.MixNoise(s, noise, 30))))]
		total++
		if got == word {
			ok++
		} else {
			t.Logf("%s: predicted %s", base, got)
		}
	}
	if total < 20 || ok*10 < total*8 {
		t.Errorf("%d of %d playground clips recognized; want >= 80%%", ok, total)
	}
	t.Logf("%d of %d playground clips recognized", ok, total)
}

// The test clips (kws/testclips, written by kwssynth -testclips) are clips
// of the data set itself: the features of each are a test-split pattern of
// kws/patterns.arrow, with the clip's class, spoken by the clip's voice;
// and every model records the front end that computes them.
func TestTestClipsAreDataSetClips(t *testing.T) {
	p := readPatterns(t, "kws/patterns.arrow")
	voices := readVoices(t)
	files, _ := filepath.Glob("kws/testclips/*.wav")
	if len(files) != 2*len(kwsClasses) {
		t.Fatalf("%d test clips, want 2 per class", len(files))
	}
	index := map[string]int{}
	for i := 0; i < p.Len(); i++ {
		index[featureKey(p.Input(i))] = i
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".wav")
		class, rest, _ := strings.Cut(base, "-")
		s, rate, err := audio.ReadWAVFile(f)
		if err != nil || rate != audio.SampleRate {
			t.Fatalf("%s: rate %d, %v", f, rate, err)
		}
		i, ok := index[featureKey(audio.Features(s))]
		if !ok {
			t.Errorf("%s: its features are no pattern of kws/patterns.arrow", base)
			continue
		}
		voice := strings.ReplaceAll(rest[:strings.LastIndex(rest, "-")], "_", "+")
		if got := kwsClasses[p.Label(i)]; got != class || voices[i].split != "test" || voices[i].voice != voice {
			t.Errorf("%s is pattern %d: class %s, split %s, voice %s", base, i, got, voices[i].split, voices[i].voice)
		}
	}
	for _, net := range []string{"kws-dscnn", "kws-cnn", "kws-gru"} {
		m, err := nnq.ReadModel(net + "/model.arrow")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Frontend, nnq.HelloEdgeFrontend()) {
			t.Errorf("%s records the front end %v, want the HelloEdge MFCC", net, m.Frontend)
		}
	}
}

func featureKey(x []float32) string {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return string(b)
}
