// Package playground lets a person play with a keyword-spotting network
// the way the guide's last chapter suggests ("it is good to be able to play
// with the network to get an intuitive understanding of how it behaves"):
// pick a spoken word and a noise level, and compare the class scores of the
// float network with those of its q15 and q7 CMSIS-NN versions.
//
// Everything here is plain Go: the notebook 07-playground only wires
// widgets to Scores and draws Scores.Plot.
//
//	pg, err := playground.New("data/kws-dscnn/model.arrow", "data/kws/patterns.arrow", "data/kws/playground")
//	s, err := pg.Scores("yes", 10, 1) // the word "yes" at 10 dB SNR, noise seed 1
//	fmt.Print(s.Table())
//
// The clips directory holds clean 1 s, 16 kHz keyword clips named
// <word>-<n>-<voice>.wav and background noise clips named
// noise-<kind>.wav (data/kws/playground is written by data/tools/kwssynth).
// Noise kinds without a clip are synthesized with audio.Noise.
package playground

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// Options tunes NewWithOptions.
type Options struct {
	// CalibPatterns is how many patterns of the "train" and "val" splits
	// calibrate the quantized networks (default 1000; 0 means the
	// default, a negative value all of them).
	CalibPatterns int
	// Scheme picks the Q-formats (default nnq.MSE{}).
	Scheme nnq.Scheme
	// Target is the Cortex-M core whose bit-exact behaviour is simulated
	// (default nnq.DefaultTarget).
	Target string
	// Progress, when set, reports the calibration.
	Progress nnq.Progress
}

// Playground holds a float network, its q15 and q7 versions and the clips
// to feed them.
type Playground struct {
	// Float is the float network in CMSIS layout (its pass equals the
	// framework's; see nnq.VerifyLayout).
	Float *nnq.Model
	// Q15 and Q7 are the quantized networks, simulated bit-exactly.
	Q15, Q7 *nnq.QModel
	// Classes names the network outputs.
	Classes []string
	// Noise is the background noise kind Scores mixes in (default
	// "babble-like" when its clip is bundled, else "pink").
	Noise string

	clips  map[string][]string  // word -> clip paths, sorted
	noises map[string][]float32 // kind -> bundled noise samples
}

// New loads the model and the patterns, calibrates on the patterns'
// train/val splits, quantizes to q15 and q7 and indexes the clips of
// clipsDir.
func New(modelPath, patternsPath, clipsDir string) (*Playground, error) {
	return NewWithOptions(modelPath, patternsPath, clipsDir, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(modelPath, patternsPath, clipsDir string, o Options) (*Playground, error) {
	fw, err := nnq.Load(modelPath)
	if err != nil {
		return nil, err
	}
	if got := fw.InputSize(); got != 49*10 {
		return nil, fmt.Errorf("playground: model %q takes %d inputs, want the 49x10 MFCC map of a 1 s clip", fw.Name, got)
	}
	cm, err := fw.ToCMSIS()
	if err != nil {
		return nil, err
	}
	all, err := nnq.ReadPatterns(patternsPath)
	if err != nil {
		return nil, err
	}
	if err := fw.CheckPatterns(all); err != nil {
		return nil, fmt.Errorf("%s: %w", patternsPath, err)
	}
	calib := all
	if all.HasSplit("train") || all.HasSplit("val") {
		calib = all.Split("train", "val")
	}
	switch n := o.CalibPatterns; {
	case n == 0:
		calib = calib.Head(1000)
	case n > 0:
		calib = calib.Head(n)
	}
	stats, err := nnq.Calibrate(cm, calib, o.Progress)
	if err != nil {
		return nil, err
	}
	scheme := o.Scheme
	if scheme == nil {
		scheme = nnq.MSE{}
	}
	pg := &Playground{Float: cm, Classes: cm.Classes}
	for _, bits := range []int{16, 8} {
		q, err := nnq.Quantize(cm, stats, nnq.QConfig{Bits: bits, Scheme: scheme, Target: o.Target})
		if err != nil {
			return nil, fmt.Errorf("playground: q%d: %w", bits-1, err)
		}
		if bits == 16 {
			pg.Q15 = q
		} else {
			pg.Q7 = q
		}
	}
	if err := pg.loadClips(clipsDir); err != nil {
		return nil, err
	}
	return pg, nil
}

func (pg *Playground) loadClips(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil {
		return err
	}
	pg.clips = map[string][]string{}
	pg.noises = map[string][]float32{}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".wav")
		if kind, ok := strings.CutPrefix(base, "noise-"); ok {
			s, rate, err := audio.ReadWAVFile(f)
			if err != nil {
				return err
			}
			if rate != audio.SampleRate {
				return fmt.Errorf("%s: %d Hz, want %d", f, rate, audio.SampleRate)
			}
			pg.noises[kind] = s
			continue
		}
		word, _, _ := strings.Cut(base, "-")
		pg.clips[word] = append(pg.clips[word], f)
	}
	if len(pg.clips) == 0 {
		return fmt.Errorf("playground: no <word>-<n>-<voice>.wav clips in %s", dir)
	}
	for _, c := range pg.clips {
		sort.Strings(c)
	}
	pg.Noise = "pink"
	if _, ok := pg.noises["babble-like"]; ok {
		pg.Noise = "babble-like"
	}
	return nil
}

// Words lists the words that have clips, in the network's class order
// (words that are not classes, if any, come last, sorted).
func (pg *Playground) Words() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range pg.Classes {
		if _, ok := pg.clips[c]; ok && !seen[c] {
			out, seen[c] = append(out, c), true
		}
	}
	var rest []string
	for w := range pg.clips {
		if !seen[w] {
			rest = append(rest, w)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Clips returns the clip files of a word.
func (pg *Playground) Clips(word string) []string { return pg.clips[word] }

// NoiseKinds lists the noise kinds Scores can mix in: the bundled noise
// clips first, then the kinds audio.Noise synthesizes.
func (pg *Playground) NoiseKinds() []string {
	var out []string
	for k := range pg.noises {
		out = append(out, k)
	}
	sort.Strings(out)
	for _, k := range audio.NoiseKinds {
		if _, ok := pg.noises[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// Scores holds the class scores (softmax outputs) of the three networks on
// one input.
type Scores struct {
	Word  string // the word spoken ("" for Classify)
	Clip  string // clip file name
	Noise string // noise kind ("" when clean)
	SNRdB float64
	Seed  int64
	// Samples is the network's audio input (16 kHz, the noisy clip) and
	// Features its 49x10 MFCC map (frame-major).
	Samples, Features []float32
	Classes           []string
	// Network names the networks compared: "kws-dscnn · float, q15, q7 ·
	// mse" (the plots' first title line).
	Network string
	// Float, Q15 and Q7 are the scores per class: the networks' outputs,
	// for the fixed-point ones dequantized from the bit-exact simulation.
	// The legacy arm_softmax_q7/q15 is a base-2 softmax over the raw
	// integers (2^(x - max) in steps of one integer unit), so fixed-point
	// scores are much peakier than the float ones even when the networks
	// agree; compare the logits to see how close they are.
	Float, Q15, Q7 []float64
	// FloatLogits, Q15Logits and Q7Logits are the inputs of the final
	// softmax (the outputs themselves when the network does not end with
	// one), dequantized.
	FloatLogits, Q15Logits, Q7Logits []float64
	// InputSaturated counts MFCC values clipped by the q15 and q7 input
	// formats.
	Q15InputSaturated, Q7InputSaturated int
}

// Scores mixes background noise (pg.Noise) into a clip of word at snrDB
// decibels (+Inf: clean) and runs the float, q15 and q7 networks on its
// MFCC features. The seed picks the clip (seed modulo the number of clips
// of the word, see Clips) and the noise (its start in a bundled noise clip,
// or the synthesized noise), so the same arguments always give the same
// scores.
//
// The bundled clips are digitally clean: exact zeros around the word. The
// KWS networks were trained with at least a quiet noise floor (35-50 dB
// SNR), so a clean clip (+Inf) is out of their training distribution (its
// silent frames give extreme MFCC values) and the float network may answer
// "unknown" where a 30 dB version is heard right.
func (pg *Playground) Scores(word string, snrDB float64, seed int64) (*Scores, error) {
	clips := pg.clips[word]
	if len(clips) == 0 {
		return nil, fmt.Errorf("playground: no clip of %q (words: %s)", word, strings.Join(pg.Words(), ", "))
	}
	if math.IsNaN(snrDB) {
		return nil, errors.New("playground: the SNR is NaN")
	}
	path := clips[int(uint64(seed)%uint64(len(clips)))]
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e6e71))
	clip, rate, err := audio.ReadWAVFile(path)
	if err != nil {
		return nil, err
	}
	if rate != audio.SampleRate {
		return nil, fmt.Errorf("%s: %d Hz, want %d", path, rate, audio.SampleRate)
	}
	x := clip
	noiseKind := ""
	if !math.IsInf(snrDB, 1) {
		noiseKind = pg.Noise
		noise, err := pg.noise(noiseKind, len(clip), rng)
		if err != nil {
			return nil, err
		}
		x = audio.MixNoise(clip, noise, snrDB)
	}
	s, err := pg.Classify(x)
	if err != nil {
		return nil, err
	}
	s.Word, s.Clip, s.Noise, s.SNRdB, s.Seed = word, filepath.Base(path), noiseKind, snrDB, seed
	return s, nil
}

// noise returns n samples of the given kind: a bundled clip from a random
// start (wrapping around), or synthesized.
func (pg *Playground) noise(kind string, n int, rng *rand.Rand) ([]float32, error) {
	if src, ok := pg.noises[kind]; ok && len(src) > 0 {
		out := make([]float32, n)
		off := rng.IntN(len(src))
		for i := range out {
			out[i] = src[(off+i)%len(src)]
		}
		return out, nil
	}
	for _, k := range audio.NoiseKinds {
		if k == kind {
			return audio.Noise(kind, n, rng), nil
		}
	}
	return nil, fmt.Errorf("playground: unknown noise kind %q (kinds: %s)", kind, strings.Join(pg.NoiseKinds(), ", "))
}

// Classify runs the three networks on a 16 kHz clip (padded or cut to 1 s),
// e.g. a recording of your own read with audio.ReadWAVFile.
func (pg *Playground) Classify(samples []float32) (*Scores, error) {
	feat := audio.Features(samples)
	s := &Scores{Samples: samples, Features: feat, Classes: pg.Classes,
		Network: fmt.Sprintf("%s · float, q15, q7 · %s", pg.Q7.Name, pg.Q7.Scheme)}
	r, err := pg.Float.NewRunner()
	if err != nil {
		return nil, err
	}
	s.Float = widen(r.Run(feat))
	s.FloatLogits = s.Float
	if k := logitLayer(pg.Float.Layers); k >= 0 {
		s.FloatLogits = widen(r.Output(k))
	}
	if s.Q15, s.Q15Logits, s.Q15InputSaturated, err = fixedScores(pg.Q15, feat); err != nil {
		return nil, err
	}
	if s.Q7, s.Q7Logits, s.Q7InputSaturated, err = fixedScores(pg.Q7, feat); err != nil {
		return nil, err
	}
	return s, nil
}

// logitLayer is the index of the layer feeding a final softmax, or -1.
func logitLayer(layers []*nnq.Layer) int {
	if n := len(layers); n >= 2 && layers[n-1].Op == nnq.OpSoftmax {
		return n - 2
	}
	return -1
}

func fixedScores(q *nnq.QModel, feat []float32) (scores, logits []float64, sat int, err error) {
	sim, err := q.NewSim(false)
	if err != nil {
		return nil, nil, 0, err
	}
	x := make([]int16, q.Float.InputSize())
	sat = q.QuantizeInput(feat, x)
	out, err := sim.Run(x)
	if err != nil {
		return nil, nil, 0, err
	}
	scores = widen(nnq.Dequantize(out, q.OutputFrac(), nil))
	logits = scores
	if k := logitLayer(q.Float.Layers); k >= 0 {
		logits = widen(sim.Dequantized(k, nil))
	}
	return scores, logits, sat, nil
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Top returns the index of the best class of scores and its score.
func Top(scores []float64) (int, float64) {
	best := 0
	for i, v := range scores {
		if v > scores[best] {
			best = i
		}
	}
	if len(scores) == 0 {
		return -1, 0
	}
	return best, scores[best]
}

func (s *Scores) class(i int) string {
	if i >= 0 && i < len(s.Classes) {
		return s.Classes[i]
	}
	return fmt.Sprint(i)
}

// Title describes the input ("yes" at 10 dB babble-like noise, clip ...).
func (s *Scores) Title() string {
	what := "your clip"
	if s.Word != "" {
		what = fmt.Sprintf("%q (%s)", s.Word, s.Clip)
	}
	if s.Noise == "" {
		return what + ", clean"
	}
	return fmt.Sprintf("%s, %s noise at %g dB SNR", what, s.Noise, s.SNRdB)
}

// Table renders the scores side by side, one class a row, marking each
// network's choice with '*'.
func (s *Scores) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", s.Title())
	fmt.Fprintf(&b, "%-10s %8s %8s %8s\n", "class", "float", "q15", "q7")
	tf, _ := Top(s.Float)
	t15, _ := Top(s.Q15)
	t7, _ := Top(s.Q7)
	mark := func(i, top int) string {
		if i == top {
			return "*"
		}
		return " "
	}
	for i := range s.Float {
		fmt.Fprintf(&b, "%-10s %7.3f%s %7.3f%s %7.3f%s\n", s.class(i), s.Float[i], mark(i, tf), s.Q15[i], mark(i, t15), s.Q7[i], mark(i, t7))
	}
	fmt.Fprintf(&b, "heard: float %q, q15 %q, q7 %q\n", s.class(tf), s.class(t15), s.class(t7))
	if s.Q15InputSaturated+s.Q7InputSaturated > 0 {
		fmt.Fprintf(&b, "input values saturated: q15 %d, q7 %d\n", s.Q15InputSaturated, s.Q7InputSaturated)
	}
	return b.String()
}
