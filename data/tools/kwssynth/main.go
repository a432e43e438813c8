// Command kwssynth synthesizes the nnq keyword-spotting data set with
// espeak-ng and sox: 1 s, 16 kHz, 16-bit mono WAV clips of 12 classes
// (silence, unknown, yes, no, up, down, left, right, on, off, stop, go),
// spoken by many espeak-ng voices (accent + voice variant), at varied
// speeds and pitches, placed at a random offset, optionally reverberated or
// band-limited, and mixed with synthetic background noise at varied SNR
// (always at least a low noise floor).
//
// The split is by voice: every (accent, variant) pair belongs to exactly
// one of train, val and test, chosen per accent with a fixed seed, so test
// voices are never heard in training. Every clip's parameters come from its
// own seeded generator, so the output does not depend on worker scheduling.
//
// Usage:
//
//	kwssynth -out build/kws [-playground kws/playground] [-testclips kws/testclips]
//
// writes out/wav/<split>/<class>/<voice>-<n>.wav and out/index.csv
// (file,label,class,word,voice,split,speed,pitch,snr_db,noise,offset,fx).
// With -testclips it also writes, for every class, -testclips-n clips of
// the test split (the very clips of the data set, noise and all) as
// <class>-<voice>-<n>.wav; with -out "" it writes only those.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// Classes in Hello Edge / Speech Commands order.
var Classes = []string{"silence", "unknown", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"}

// Accents are espeak-ng English voices.
var Accents = []string{"en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"}

// Variants are espeak-ng voice variants ("" = the accent's default voice).
var Variants = []string{"",
	"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
	"croak", "whisper", "whisperf", "klatt", "klatt2", "klatt3", "klatt4",
	"Alex", "Andy", "Annie", "Denis", "Gene", "Jacky", "Lee", "Mario", "Michael", "Storm", "Tweaky",
	"adam", "anika", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "edward", "grandma",
	"grandpa", "iven", "john", "linda", "max", "norbert", "paul", "quincy", "robert", "steph",
	"travis", "victor", "zac"}

// UnknownWords are the Speech Commands auxiliary words.
var UnknownWords = strings.Fields("bed bird cat dog eight five four happy house marvin nine one seven sheila six three tree two wow zero backward forward follow learn visual")

type voice struct {
	Accent, Variant, Split string
}

func (v voice) ID() string {
	if v.Variant == "" {
		return v.Accent
	}
	return v.Accent + "+" + v.Variant
}

type job struct {
	v     voice
	class int
	n     int
	seq   int
}

type clip struct {
	File, Word, Noise, FX string
	Speed, Pitch, Offset  int
	SNR                   float64
	job                   job
	samples               []float32
}

var (
	out        = flag.String("out", "build/kws", "output directory")
	playground = flag.String("playground", "", "if set, also write clean test-voice keyword WAVs and a noise WAV here")
	seed       = flag.Uint64("seed", 7, "random seed")
	perTrain   = flag.Int("train", 5, "clips per class per train voice")
	perEval    = flag.Int("eval", 4, "clips per class per val/test voice")
	workers    = flag.Int("j", runtime.NumCPU(), "parallel workers")
	fracTest   = flag.Float64("test", 0.2, "fraction of each accent's voices held out for test")
	fracVal    = flag.Float64("val", 0.1, "fraction of each accent's voices held out for val")
	testClips  = flag.String("testclips", "", "if set, also write test-split clips of every class here")
	testClipsN = flag.Int("testclips-n", 2, "test-split clips per class for -testclips")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	start := time.Now()
	voices := splitVoices()
	if *testClips != "" {
		if err := writeTestClips(voices); err != nil {
			log.Fatal(err)
		}
		if *out == "" {
			return
		}
	}
	var jobs []job
	for _, v := range voices {
		per := *perEval
		if v.Split == "train" {
			per = *perTrain
		}
		for c := range Classes {
			for n := 0; n < per; n++ {
				jobs = append(jobs, job{v: v, class: c, n: n, seq: len(jobs)})
			}
		}
	}
	counts := map[string]int{}
	for _, v := range voices {
		counts[v.Split]++
	}
	log.Printf("kwssynth: %d voices (train %d, val %d, test %d), %d clips", len(voices), counts["train"], counts["val"], counts["test"], len(jobs))

	results := make([]clip, len(jobs))
	var wg sync.WaitGroup
	ch := make(chan int)
	errs := make(chan error, *workers)
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				c, err := render(jobs[i])
				if err != nil {
					errs <- err
					return
				}
				results[i] = c
			}
		}()
	}
	go func() {
		for i := range jobs {
			select {
			case err := <-errs:
				log.Fatal(err)
			case ch <- i:
			}
		}
		close(ch)
	}()
	wg.Wait()
	select {
	case err := <-errs:
		log.Fatal(err)
	default:
	}

	f, err := os.Create(filepath.Join(*out, "index.csv"))
	if err != nil {
		log.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"file", "label", "class", "word", "voice", "split", "speed", "pitch", "snr_db", "noise", "offset", "fx"})
	for _, c := range results {
		w.Write([]string{c.File, fmt.Sprint(c.job.class), Classes[c.job.class], c.Word, c.job.v.ID(), c.job.v.Split,
			fmt.Sprint(c.Speed), fmt.Sprint(c.Pitch), fmt.Sprintf("%.1f", c.SNR), c.Noise, fmt.Sprint(c.Offset), c.FX})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if *playground != "" {
		if err := writePlayground(voices); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("kwssynth: done in %s", time.Since(start).Round(time.Second))
}

// splitVoices assigns each (accent, variant) pair to a split, per accent.
func splitVoices() []voice {
	var voices []voice
	for ai, a := range Accents {
		rng := rand.New(rand.NewPCG(*seed, uint64(ai)))
		perm := rng.Perm(len(Variants))
		nTest := int(math.Round(*fracTest * float64(len(Variants))))
		nVal := int(math.Round(*fracVal * float64(len(Variants))))
		split := make([]string, len(Variants))
		for k, i := range perm {
			switch {
			case k < nTest:
				split[i] = "test"
			case k < nTest+nVal:
				split[i] = "val"
			default:
				split[i] = "train"
			}
		}
		for i, v := range Variants {
			voices = append(voices, voice{Accent: a, Variant: v, Split: split[i]})
		}
	}
	return voices
}

func jobRNG(j job) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d|%d", j.v.ID(), j.class, j.n)
	return rand.New(rand.NewPCG(*seed, h.Sum64()))
}

// speak runs espeak-ng | sox and returns 16 kHz samples.
func speak(voiceID, word string, speed, pitch int, fx []string) ([]float32, error) {
	es := exec.Command("espeak-ng", "-v", voiceID, "-s", fmt.Sprint(speed), "-p", fmt.Sprint(pitch), "--stdout", word)
	args := append([]string{"-R", "-q", "-t", "wav", "-", "-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", "-"}, fx...)
	sx := exec.Command("sox", args...) // -R: repeatable (seeded) dither

	pipe, err := es.StdoutPipe()
	if err != nil {
		return nil, err
	}
	sx.Stdin = pipe
	var outb, errb bytes.Buffer
	sx.Stdout, sx.Stderr = &outb, &errb
	if err := es.Start(); err != nil {
		return nil, fmt.Errorf("espeak-ng: %w", err)
	}
	if err := sx.Run(); err != nil {
		es.Wait()
		return nil, fmt.Errorf("sox %v: %w: %s", fx, err, errb.String())
	}
	if err := es.Wait(); err != nil {
		return nil, fmt.Errorf("espeak-ng -v %s %q: %w", voiceID, word, err)
	}
	b := outb.Bytes()
	s := make([]float32, len(b)/2)
	for i := range s {
		s[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return s, nil
}

// trim cuts leading and trailing parts quieter than 2% of the peak (in
// 5 ms blocks).
func trim(s []float32) []float32 {
	peak := 0.0
	for _, v := range s {
		peak = math.Max(peak, math.Abs(float64(v)))
	}
	if peak == 0 {
		return s[:0]
	}
	th := 0.02 * peak
	const blk = 80
	loud := func(i int) bool {
		for k := i; k < i+blk && k < len(s); k++ {
			if math.Abs(float64(s[k])) > th {
				return true
			}
		}
		return false
	}
	a, b := 0, len(s)
	for a < b && !loud(a) {
		a += blk
	}
	for b > a && !loud(max(b-blk, a)) {
		b -= blk
	}
	return s[a:b]
}

func dbToAmp(db float64) float64 { return math.Pow(10, db/20) }

func render(j job) (clip, error) {
	c, x, err := synthesize(j)
	if err != nil {
		return c, err
	}
	id := strings.ReplaceAll(j.v.ID(), "+", "_")
	c.File = filepath.Join("wav", j.v.Split, Classes[j.class], fmt.Sprintf("%s-%d.wav", id, j.n))
	path := filepath.Join(*out, c.File)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return c, err
	}
	return c, audio.WriteWAVFile(path, x, audio.SampleRate)
}

// writeTestClips writes -testclips-n clips of each class, spoken by test
// voices picked with a seeded generator (clip n of the voice, as in the
// data set).
func writeTestClips(voices []voice) error {
	if err := os.MkdirAll(*testClips, 0o755); err != nil {
		return err
	}
	var test []voice
	for _, v := range voices {
		if v.Split == "test" {
			test = append(test, v)
		}
	}
	rng := rand.New(rand.NewPCG(*seed, 21))
	for c, class := range Classes {
		for k := 0; k < *testClipsN; k++ {
			j := job{v: test[rng.IntN(len(test))], class: c, n: rng.IntN(*perEval)}
			_, x, err := synthesize(j)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("%s-%s-%d.wav", class, strings.ReplaceAll(j.v.ID(), "+", "_"), j.n)
			if err := audio.WriteWAVFile(filepath.Join(*testClips, name), x, audio.SampleRate); err != nil {
				return err
			}
		}
	}
	return nil
}

// synthesize renders the clip of job j.
func synthesize(j job) (clip, []float32, error) {
	rng := jobRNG(j)
	c := clip{job: j, Offset: -1}
	class := Classes[j.class]
	x := make([]float32, audio.SampleRate)
	if class == "silence" {
		c.Word = ""
	} else {
		c.Word = class
		if class == "unknown" {
			c.Word = UnknownWords[rng.IntN(len(UnknownWords))]
		}
		c.Speed = 110 + rng.IntN(111) // wpm
		c.Pitch = 15 + rng.IntN(71)
		var fx []string
		switch r := rng.Float64(); {
		case r < 0.15:
			fx = []string{"reverb", fmt.Sprint(20 + rng.IntN(60)), "50", fmt.Sprint(20 + rng.IntN(80))}
		case r < 0.25:
			fx = []string{"sinc", "300-3400"}
		case r < 0.35:
			fx = []string{"speed", fmt.Sprintf("%.3f", 0.9+0.2*rng.Float64())}
		}
		c.FX = strings.Join(fx, " ")
		s, err := speak(j.v.ID(), c.Word, c.Speed, c.Pitch, fx)
		if err != nil {
			return c, nil, err
		}
		s = trim(s)
		if len(s) == 0 {
			return c, nil, fmt.Errorf("%s %q: no audio", j.v.ID(), c.Word)
		}
		if len(s) > len(x) {
			s = s[:len(x)]
		}
		// Speech level: -32..-12 dBFS RMS over the spoken part.
		audio.SetRMS(s, dbToAmp(-32+20*rng.Float64()))
		c.Offset = rng.IntN(len(x) - len(s) + 1)
		copy(x[c.Offset:], s)
	}
	// Background: a noise kind at an SNR (speech) or a level (silence).
	c.Noise = audio.NoiseKinds[rng.IntN(len(audio.NoiseKinds))]
	noise := audio.Noise(c.Noise, len(x), rng)
	if class == "silence" {
		level := -75 + 50*rng.Float64() // dBFS RMS
		c.SNR = math.Inf(-1)
		for i := range x {
			x[i] = noise[i] * float32(dbToAmp(level)/0.1)
		}
	} else {
		if rng.Float64() < 0.25 {
			c.SNR = 35 + 15*rng.Float64() // a quiet noise floor only
		} else {
			c.SNR = 3 + 27*rng.Float64()
		}
		x = audio.MixNoise(x, noise, c.SNR)
	}
	// A faint white floor (-80..-65 dBFS) on every clip.
	floor := dbToAmp(-80 + 15*rng.Float64())
	for i := range x {
		x[i] += float32(floor * rng.NormFloat64())
	}
	return c, x, nil
}

// writePlayground writes a few clean (noise-free, untrimmed-offset) keyword
// clips from test voices and a noise clip for the playground notebook.
func writePlayground(voices []voice) error {
	if err := os.MkdirAll(*playground, 0o755); err != nil {
		return err
	}
	var test []voice
	for _, v := range voices {
		if v.Split == "test" && (v.Variant == "" || v.Variant[0] == 'm' || v.Variant[0] == 'f') {
			test = append(test, v)
		}
	}
	rng := rand.New(rand.NewPCG(*seed, 99))
	for _, word := range Classes[2:] {
		for k := 0; k < 2; k++ {
			v := test[rng.IntN(len(test))]
			s, err := speak(v.ID(), word, 150, 50, nil)
			if err != nil {
				return err
			}
			s = trim(s)
			audio.SetRMS(s, dbToAmp(-20))
			x := make([]float32, audio.SampleRate)
			copy(x[(len(x)-min(len(s), len(x)))/2:], s)
			name := fmt.Sprintf("%s-%d-%s.wav", word, k, strings.ReplaceAll(v.ID(), "+", "_"))
			if err := audio.WriteWAVFile(filepath.Join(*playground, name), x, audio.SampleRate); err != nil {
				return err
			}
		}
	}
	noise := audio.Noise("babble-like", audio.SampleRate, rng)
	if err := audio.WriteWAVFile(filepath.Join(*playground, "noise-babble-like.wav"), noise, audio.SampleRate); err != nil {
		return err
	}
	noise = audio.Noise("pink", audio.SampleRate, rng)
	return audio.WriteWAVFile(filepath.Join(*playground, "noise-pink.wav"), noise, audio.SampleRate)
}
