package playground

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
	"github.com/nnq-toolkit/nnq/nnq/plots"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

var kwsClasses = []string{"silence", "unknown", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"}

// writeToyKWS writes a small random conv net over the 49x10 MFCC map with
// the 12 KWS classes, patterns made of the features of synthetic clips,
// and a clips directory (tones standing for words, and a noise clip).
func writeToyKWS(t *testing.T) (model, patterns, clips string) {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 0))
	rt := func(name string, scale float64, shape ...int) *nnq.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64() * scale)
		}
		return &nnq.Tensor{Name: name, Shape: shape, Data: d}
	}
	m := &nnq.Model{Name: "toy-kws", Layout: nnq.NCHW, InputShape: []int{1, 49, 10}, Classes: kwsClasses, Tensors: map[string]*nnq.Tensor{}}
	for _, tt := range []*nnq.Tensor{rt("c1.w", 0.05, 4, 1, 5, 5), rt("c1.b", 0.1, 4), rt("fc.w", 0.05, 12, 4*12*2), rt("fc.b", 0.1, 12)} {
		m.Tensors[tt.Name] = tt
	}
	m.Layers = []*nnq.Layer{
		{Name: "c1", Op: nnq.OpConv2D, Attrs: nnq.Attrs{Strides: []int{2, 2}, Padding: "explicit", Pads: []int{2, 2, 2, 2}}, Params: map[string]string{"weight": "c1.w", "bias": "c1.b"}},
		{Name: "relu", Op: nnq.OpReLU},
		{Name: "pool", Op: nnq.OpMaxPool2D, Attrs: nnq.Attrs{Kernel: []int{2, 2}}},
		{Name: "flat", Op: nnq.OpFlatten},
		{Name: "fc", Op: nnq.OpDense, Params: map[string]string{"weight": "fc.w", "bias": "fc.b"}},
		{Name: "prob", Op: nnq.OpSoftmax},
	}
	model = filepath.Join(dir, "toy.arrow")
	if err := nnq.WriteModel(model, m); err != nil {
		t.Fatal(err)
	}
	clips = filepath.Join(dir, "clips")
	if err := os.MkdirAll(clips, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &nnq.Patterns{Shape: []int{1, 49, 10}, Layout: nnq.NCHW}
	for i := 0; i < 60; i++ {
		x := tone(200+float64(i%12)*60, r)
		p.Append(audio.Features(x), i%12, []string{"train", "val", "test"}[i%3])
	}
	patterns = filepath.Join(dir, "patterns.arrow")
	if err := nnq.WritePatterns(patterns, p); err != nil {
		t.Fatal(err)
	}
	for i, w := range []string{"yes", "no", "go"} {
		for k := 0; k < 2; k++ {
			name := filepath.Join(clips, w+"-"+string(rune('0'+k))+"-voice.wav")
			if err := audio.WriteWAVFile(name, tone(300+float64(i*100+k*20), r), audio.SampleRate); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := audio.WriteWAVFile(filepath.Join(clips, "noise-pink.wav"), audio.Noise("pink", audio.SampleRate/2, r), audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	return model, patterns, clips
}

// tone is a 0.5 s tone burst in the middle of a 1 s clip.
func tone(hz float64, r *rand.Rand) []float32 {
	x := make([]float32, audio.SampleRate)
	ph := r.Float64()
	for i := audio.SampleRate / 4; i < 3*audio.SampleRate/4; i++ {
		x[i] = float32(0.2 * math.Sin(2*math.Pi*hz*float64(i)/audio.SampleRate+ph))
	}
	return x
}

func TestScores(t *testing.T) {
	model, patterns, clips := writeToyKWS(t)
	calls := 0
	pg, err := NewWithOptions(model, patterns, clips, Options{Progress: func(d, n int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("calibration reported no progress")
	}
	if pg.Q15.Bits != 16 || pg.Q7.Bits != 8 {
		t.Fatalf("bits: q15 %d, q7 %d", pg.Q15.Bits, pg.Q7.Bits)
	}
	if got := strings.Join(pg.Words(), ","); got != "yes,no,go" {
		t.Errorf("Words() = %s, want class order yes,no,go", got)
	}
	if pg.Noise != "pink" {
		t.Errorf("default noise %q, want the bundled pink", pg.Noise)
	}
	if k := pg.NoiseKinds(); k[0] != "pink" || len(k) != len(audio.NoiseKinds) {
		t.Errorf("NoiseKinds() = %v", k)
	}

	s, err := pg.Scores("no", 10, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Float) != 12 || len(s.Q15) != 12 || len(s.Q7) != 12 || len(s.Features) != 490 || len(s.Samples) != audio.SampleRate {
		t.Fatalf("sizes: float %d q15 %d q7 %d features %d samples %d", len(s.Float), len(s.Q15), len(s.Q7), len(s.Features), len(s.Samples))
	}
	for name, v := range map[string][]float64{"float": s.Float, "q15": s.Q15, "q7": s.Q7} {
		sum := 0.0
		for _, x := range v {
			if x < 0 || x > 1 {
				t.Errorf("%s score %g outside [0,1]", name, x)
			}
			sum += x
		}
		if math.Abs(sum-1) > 0.15 {
			t.Errorf("%s scores sum to %g, want about 1", name, sum)
		}
	}
	if len(s.FloatLogits) != 12 || len(s.Q15Logits) != 12 || len(s.Q7Logits) != 12 {
		t.Fatalf("logit sizes: %d %d %d", len(s.FloatLogits), len(s.Q15Logits), len(s.Q7Logits))
	}
	for i := range s.FloatLogits {
		if d := math.Abs(s.FloatLogits[i] - s.Q15Logits[i]); d > 0.01 {
			t.Errorf("class %s: q15 logit %g is %g away from float %g", s.Classes[i], s.Q15Logits[i], d, s.FloatLogits[i])
		}
		if d := math.Abs(s.FloatLogits[i] - s.Q7Logits[i]); d > 0.2 {
			t.Errorf("class %s: q7 logit %g is %g away from float %g", s.Classes[i], s.Q7Logits[i], d, s.FloatLogits[i])
		}
	}
	tf, _ := Top(s.Float)
	if t15, _ := Top(s.Q15); t15 != tf {
		t.Errorf("q15 hears %s, float %s", s.Classes[t15], s.Classes[tf])
	}
	if s.Noise != "pink" || s.SNRdB != 10 || s.Clip != filepath.Base(pg.Clips("no")[7%2]) {
		t.Errorf("scores describe %q %q %g", s.Clip, s.Noise, s.SNRdB)
	}

	// Deterministic in the seed; the noise changes the input.
	again, err := pg.Scores("no", 10, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Q7 {
		if again.Q7[i] != s.Q7[i] || again.Float[i] != s.Float[i] {
			t.Fatalf("Scores is not deterministic: class %d float %g/%g q7 %g/%g", i, s.Float[i], again.Float[i], s.Q7[i], again.Q7[i])
		}
	}
	clean, err := pg.Scores("no", math.Inf(1), 7)
	if err != nil {
		t.Fatal(err)
	}
	if clean.Noise != "" || !strings.Contains(clean.Title(), "clean") {
		t.Errorf("clean scores: noise %q, title %q", clean.Noise, clean.Title())
	}
	if same(clean.Features, s.Features) {
		t.Error("noise at 10 dB did not change the features")
	}

	pg.Noise = "hum" // synthesized
	if _, err := pg.Scores("yes", 0, 1); err != nil {
		t.Errorf("synthesized noise: %v", err)
	}
	pg.Noise = "thunder"
	if _, err := pg.Scores("yes", 0, 1); err == nil || !strings.Contains(err.Error(), "thunder") {
		t.Errorf("unknown noise kind: err = %v", err)
	}
	if _, err := pg.Scores("banana", 0, 1); err == nil || !strings.Contains(err.Error(), "yes, no, go") {
		t.Errorf("unknown word: err = %v", err)
	}

	tab := s.Table()
	for _, want := range []string{"class", "float", "q15", "q7", "silence", "heard:", "*"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	for name, plotFn := range map[string]func() (*plot.Plot, error){"Plot": s.Plot, "LogitPlot": s.LogitPlot} {
		p, err := plotFn()
		if err != nil {
			t.Fatal(err)
		}
		png, err := plots.PNG(p, 7*vg.Inch, 3.5*vg.Inch)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("%s did not render to PNG", name)
		}
	}
}

func TestNewErrors(t *testing.T) {
	model, patterns, _ := writeToyKWS(t)
	if _, err := New(model, patterns, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no <word>") {
		t.Errorf("empty clips dir: err = %v", err)
	}
	if _, err := New(filepath.Join(t.TempDir(), "none.arrow"), patterns, t.TempDir()); err == nil {
		t.Error("missing model: no error")
	}
}

// TestBundled checks the playground on the bundled DS-CNN: test-voice clips
// under a quiet noise floor (30 dB SNR, as in training: the bundled clips
// are digitally silent around the word, which the network never heard) are
// mostly heard right, and q15 agrees with float.
func TestBundled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	root := os.Getenv("NNQ_DATA") // another data directory, as in the notebooks
	if root == "" {
		root = filepath.Join("..", "..", "data")
	}
	model, patterns, clips := filepath.Join(root, "kws-dscnn", "model.arrow"), filepath.Join(root, "kws", "patterns.arrow"), filepath.Join(root, "kws", "playground")
	for _, f := range []string{model, patterns, clips} {
		if _, err := os.Stat(f); err != nil {
			testenv.Missing(t, "bundled data missing (it is committed): %v", err)
		}
	}
	pg, err := NewWithOptions(model, patterns, clips, Options{CalibPatterns: 300})
	if err != nil {
		t.Fatal(err)
	}
	n, right, agree := 0, 0, 0
	for _, w := range pg.Words() {
		for seed := range int64(len(pg.Clips(w))) {
			s, err := pg.Scores(w, 30, seed)
			if err != nil {
				t.Fatal(err)
			}
			tf, _ := Top(s.Float)
			t15, _ := Top(s.Q15)
			n++
			if s.Classes[tf] == w {
				right++
			}
			if t15 == tf {
				agree++
			}
		}
	}
	t.Logf("clips at 30 dB SNR: float right %d/%d, q15 agrees with float %d/%d", right, n, agree, n)
	if right*10 < n*6 {
		t.Errorf("float network heard only %d of %d clips right", right, n)
	}
	if agree*10 < n*9 {
		t.Errorf("q15 agreed with float on only %d of %d clips", agree, n)
	}
}

func same(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
