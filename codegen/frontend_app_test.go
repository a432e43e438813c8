package codegen

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// spoken is one item of a test recording: a word centred at At seconds
// (Word "" for a non-keyword).
type spoken struct {
	Clip string
	Word string
	At   float64
}

// kwsRecording concatenates 10 keyword clips (one per keyword, clean,
// data/kws/playground: clip `variant` (0 or 1) of each) and 2 unknown-word
// clips (data/kws/testclips), one every 2.5 s, over a pink noise floor at
// -50 dBFS: 30 s of audio and the truth.
func kwsRecording(t *testing.T, variant int) ([]float32, []spoken) {
	t.Helper()
	const sr = audio.SampleRate
	items := []spoken{}
	for _, w := range []string{"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"} {
		p, _ := filepath.Glob(filepath.Join("..", "data", "kws", "playground", fmt.Sprintf("%s-%d-*.wav", w, variant)))
		if len(p) != 1 {
			t.Fatalf("playground clip of %q: %v", w, p)
		}
		items = append(items, spoken{Clip: p[0], Word: w})
	}
	unk, _ := filepath.Glob(filepath.Join("..", "data", "kws", "testclips", "unknown-*.wav"))
	if len(unk) < 2 {
		t.Fatalf("unknown test clips: %v", unk)
	}
	// Unknown words third and eighth.
	items = append(items[:2], append([]spoken{{Clip: unk[variant]}}, items[2:]...)...)
	items = append(items[:7], append([]spoken{{Clip: unk[1-variant]}}, items[7:]...)...)
	rec := make([]float32, 30*sr)
	floor := audio.Noise("pink", len(rec), rand.New(rand.NewPCG(21, uint64(30+variant))))
	audio.SetRMS(floor, math.Pow(10, -50.0/20))
	copy(rec, floor)
	for i := range items {
		s, rate, err := audio.ReadWAVFile(items[i].Clip)
		if err != nil || rate != sr {
			t.Fatalf("%s: %d Hz, %v", items[i].Clip, rate, err)
		}
		items[i].At = 1.25 + 2.5*float64(i)
		start := int(items[i].At*sr) - len(s)/2
		for j, v := range s {
			rec[start+j] += v
		}
		items[i].Clip = filepath.Base(items[i].Clip)
	}
	return rec, items
}

// detection is one line of kws_app's output.
type detection struct {
	At    float64
	Word  string
	Score float64
	Truth int // index of the matched item, -1: false
}

// parseApp reads kws_app -v output: detections and per-inference tops.
func parseApp(t *testing.T, out []byte) (det, infer []detection) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 8 && f[0] == "infer":
			at, _ := strconv.ParseFloat(f[1], 64)
			p, _ := strconv.ParseFloat(f[3], 64)
			infer = append(infer, detection{At: at, Word: f[2], Score: p})
		case len(f) == 3:
			at, err1 := strconv.ParseFloat(f[0], 64)
			p, err2 := strconv.ParseFloat(f[2], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad kws_app line %q", sc.Text())
			}
			det = append(det, detection{At: at, Word: f[1], Score: p})
		default:
			t.Fatalf("bad kws_app line %q", sc.Text())
		}
	}
	return det, infer
}

// plainDetections is per-window classification: every inference whose top
// class is a keyword, consecutive inferences with the same top merged.
func plainDetections(infer []detection) []detection {
	var out []detection
	prev := ""
	for _, d := range infer {
		if d.Word == "silence" || d.Word == "unknown" {
			prev = ""
			continue
		}
		if d.Word != prev {
			out = append(out, d)
		}
		prev = d.Word
	}
	return out
}

// match marks each detection with the item it finds: same word, the
// detection (end of the one-second window) from 0.5 s before to 1.5 s after
// the word's centre, each item found at most once. It returns the number of items found and of false
// detections.
func match(det []detection, items []spoken) (found, false_ int) {
	used := make([]bool, len(items))
	for i := range det {
		det[i].Truth = -1
		for j, it := range items {
			if it.Word == det[i].Word && !used[j] && det[i].At-it.At >= -0.5 && det[i].At-it.At <= 1.5 {
				det[i].Truth, used[j] = j, true
				found++
				break
			}
		}
		if det[i].Truth < 0 {
			false_++
		}
	}
	return found, false_
}

func detectionTable(det []detection, items []spoken) string {
	var b strings.Builder
	for _, d := range det {
		truth := "FALSE"
		if d.Truth >= 0 {
			truth = fmt.Sprintf("= %q at %.2f s (%s)", items[d.Truth].Word, items[d.Truth].At, items[d.Truth].Clip)
		}
		fmt.Fprintf(&b, "  %6.2f s  %-7s %.3f  %s\n", d.At, d.Word, d.Score, truth)
	}
	return b.String()
}

// TestStreamingApp builds the exported app/app.c on the host with `make
// app` (ASan + UBSan, -Werror) and runs it on a 30 s recording of 10
// keywords and 2 unknown words: every keyword must be detected exactly
// once, with fewer false detections than plain per-window classification.
func TestStreamingApp(t *testing.T) {
	needCC(t)
	testenv.Tool(t, "make", "make")
	q := kwsQModel(t, 8, "cortex-m4")
	dir := t.TempDir()
	if _, err := Export(q, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), "make", "-s", "app",
		"CFLAGS=-O1 -g -Werror -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make app: %v\n%s", err, out)
	}
	app := filepath.Join(dir, "build", "host-dsp", "kws_app")
	rec, items := kwsRecording(t, 0)
	wav := filepath.Join(dir, "recording.wav")
	if err := audio.WriteWAVFile(wav, rec, audio.SampleRate); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(testCtx(t), app, "-v", wav).CombinedOutput()
	if err != nil {
		t.Fatalf("kws_app: %v\n%s", err, out)
	}
	det, infer := parseApp(t, out)
	plain := plainDetections(infer)
	found, falseDet := match(det, items)
	plainFound, plainFalse := match(plain, items)
	keywords := 0
	var truth strings.Builder
	for _, it := range items {
		w := it.Word
		if w == "" {
			w = "(unknown)"
		} else {
			keywords++
		}
		fmt.Fprintf(&truth, "  %6.2f s  %-9s %s\n", it.At, w, it.Clip)
	}
	t.Logf("truth (30 s, words every 2.5 s over pink noise at -50 dBFS):\n%s", truth.String())
	t.Logf("kws_app (every %d hops, average of %d, threshold %.2f): %d detections, %d of %d keywords found, %d false:\n%s",
		appEvery, appAverage, appThreshold, len(det), found, keywords, falseDet, detectionTable(det, items))
	t.Logf("plain per-window classification (%d inferences): %d detections, %d of %d keywords found, %d false:\n%s",
		len(infer), len(plain), plainFound, keywords, plainFalse, detectionTable(plain, items))
	if found != keywords || len(det) != found+falseDet {
		t.Errorf("kws_app found %d of %d keywords", found, keywords)
	}
	if falseDet >= plainFalse {
		t.Errorf("kws_app made %d false detections, plain per-window classification %d", falseDet, plainFalse)
	}
	// NNQ_KEEP_APP=DIR keeps the app and the recording (and the tuning
	// recording of the second clips) for experiments with -e, -k and -t.
	if d := os.Getenv("NNQ_KEEP_APP"); d != "" {
		exec.Command("cp", app, wav, d).Run()
		rec1, _ := kwsRecording(t, 1)
		audio.WriteWAVFile(filepath.Join(d, "recording1.wav"), rec1, audio.SampleRate)
	}
}
