// Command kwsrecording makes the 30 s test recording of the streaming
// keyword spotter (the export's app/app.c) from the bundled clips: the
// 10 keywords, one clip each from kws/playground (clip -variant of the
// word, a clean test voice), and 2 unknown words from kws/testclips, one
// word every 2.5 s, centred at 1.25 s, 3.75 s, ..., over a pink noise floor
// at -50 dBFS. The unknown words are the third and the eighth item.
// Everything is fixed (the clips, their order and a seeded noise
// generator), so a run writes the same bytes every time; data/data_test.go
// checks the committed files against a fresh run.
//
// Usage:
//
//	kwsrecording [-variant 0] [-wav kws/recording.wav] [-truth kws/recording.csv]
//
// writes the recording (16 kHz, 16-bit mono WAV) and its truth: a CSV with
// one row per word (at_s: the word's centre in seconds, word: its class,
// "unknown" for the two non-keywords, clip: the source file).
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// keywords in recording order.
var keywords = []string{"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"}

const (
	seconds  = 30
	spacing  = 2.5 // seconds between word centres
	floorDB  = -50 // pink noise floor, dBFS RMS
	seedHigh = 21  // the noise generator's seed: PCG(seedHigh, 30+variant)
)

type item struct {
	path, word string
	at         float64
}

func main() {
	variant := flag.Int("variant", 0, "which playground clip of each keyword (0 or 1) and which unknown test clip comes first; 0 is the test recording, 1 a second one to tune the app's parameters on")
	playground := flag.String("playground", "kws/playground", "directory of the keyword clips <word>-<variant>-<voice>.wav")
	testclips := flag.String("testclips", "kws/testclips", "directory of the test clips (unknown-*.wav)")
	wavPath := flag.String("wav", "kws/recording.wav", "output WAV file")
	truthPath := flag.String("truth", "kws/recording.csv", "output truth CSV file")
	flag.Parse()
	log.SetFlags(0)
	if *variant != 0 && *variant != 1 {
		log.Fatalf("-variant %d: want 0 or 1", *variant)
	}
	items, err := choose(*playground, *testclips, *variant)
	if err != nil {
		log.Fatal(err)
	}
	rec, err := mix(items, *variant)
	if err != nil {
		log.Fatal(err)
	}
	if err := audio.WriteWAVFile(*wavPath, rec, audio.SampleRate); err != nil {
		log.Fatal(err)
	}
	if err := writeTruth(*truthPath, items); err != nil {
		log.Fatal(err)
	}
}

// choose lists the 12 clips in recording order with their centres.
func choose(playground, testclips string, variant int) ([]item, error) {
	var items []item
	for _, w := range keywords {
		p, _ := filepath.Glob(filepath.Join(playground, fmt.Sprintf("%s-%d-*.wav", w, variant)))
		if len(p) != 1 {
			return nil, fmt.Errorf("%s: want one clip %s-%d-*.wav, found %d", playground, w, variant, len(p))
		}
		items = append(items, item{path: p[0], word: w})
	}
	unk, _ := filepath.Glob(filepath.Join(testclips, "unknown-*.wav"))
	if len(unk) < 2 {
		return nil, fmt.Errorf("%s: want two unknown-*.wav clips, found %d", testclips, len(unk))
	}
	insert := func(at int, it item) { items = append(items[:at], append([]item{it}, items[at:]...)...) }
	insert(2, item{path: unk[variant], word: "unknown"})
	insert(7, item{path: unk[1-variant], word: "unknown"})
	for i := range items {
		items[i].at = spacing/2 + spacing*float64(i)
	}
	return items, nil
}

// mix adds the clips, centred at their times, to the noise floor.
func mix(items []item, variant int) ([]float32, error) {
	const sr = audio.SampleRate
	rec := audio.Noise("pink", seconds*sr, rand.New(rand.NewPCG(seedHigh, uint64(30+variant))))
	audio.SetRMS(rec, math.Pow(10, floorDB/20.0))
	for _, it := range items {
		s, rate, err := audio.ReadWAVFile(it.path)
		if err != nil {
			return nil, err
		}
		if rate != sr {
			return nil, fmt.Errorf("%s: %d Hz, want %d", it.path, rate, sr)
		}
		start := int(it.at*sr) - len(s)/2
		if start < 0 || start+len(s) > len(rec) {
			return nil, fmt.Errorf("%s: %d samples do not fit around %.2f s", it.path, len(s), it.at)
		}
		for j, v := range s {
			rec[start+j] += v
		}
	}
	return rec, nil
}

func writeTruth(path string, items []item) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"at_s", "word", "clip"})
	for _, it := range items {
		w.Write([]string{strconv.FormatFloat(it.at, 'f', 2, 64), it.word, filepath.Base(it.path)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
