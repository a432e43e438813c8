package codegen

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
)

// spoken is one item of a test recording: a word centred at At seconds
// (Word "unknown" for a non-keyword).
type spoken struct {
	Clip string
	Word string
	At   float64
}

// kwsRecording is data/kws/recording.wav, the 30 s test recording written
// by data/tools/kwsrecording from the bundled clips (10 keywords and 2
// unknown words, one every 2.5 s, over pink noise at -50 dBFS), and its
// truth, data/kws/recording.csv.
func kwsRecording(t *testing.T) (wav string, items []spoken) {
	t.Helper()
	wav = filepath.Join("..", "data", "kws", "recording.wav")
	f, err := os.Open(filepath.Join("..", "data", "kws", "recording.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 || strings.Join(rows[0], ",") != "at_s,word,clip" {
		t.Fatalf("recording.csv: %v %q", err, rows)
	}
	for _, r := range rows[1:] {
		at, err := strconv.ParseFloat(r[0], 64)
		if err != nil {
			t.Fatalf("recording.csv: %v", err)
		}
		items = append(items, spoken{Clip: r[2], Word: r[1], At: at})
	}
	return wav, items
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
// The q7 export and the s8 one (scale and zero point in and out).
func TestStreamingApp(t *testing.T) {
	needCC(t)
	testenv.Tool(t, "make", "make")
	for _, f := range []nnq.Format{nnq.FormatQ7, nnq.FormatS8} {
		t.Run(string(f), func(t *testing.T) { testStreamingApp(t, f) })
	}
}

func testStreamingApp(t *testing.T, f nnq.Format) {
	q := kwsQModelFormat(t, f, "cortex-m4")
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
	wav, items := kwsRecording(t)
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
		if it.Word != "unknown" {
			keywords++
		}
		fmt.Fprintf(&truth, "  %6.2f s  %-9s %s\n", it.At, it.Word, it.Clip)
	}
	t.Logf("truth (30 s, words every 2.5 s over pink noise at -50 dBFS):\n%s", truth.String())
	t.Logf("kws_app (every %d hops, average of %d, threshold %.2f): %d detections, %d of %d keywords found, %d false:\n%s",
		appEvery, appAverage, appThreshold, len(det), found, keywords, falseDet, detectionTable(det, items))
	t.Logf("plain per-window classification (%d inferences): %d detections, %d of %d keywords found, %d false:\n%s",
		len(infer), len(plain), plainFound, keywords, plainFalse, detectionTable(plain, items))
	if found != keywords {
		t.Errorf("kws_app found %d of %d keywords", found, keywords)
	}
	// Once: no keyword is detected again around its word.
	for _, it := range items {
		n := 0
		for _, d := range det {
			if d.Word == it.Word && d.At-it.At >= -0.5 && d.At-it.At <= 1.5 {
				n++
			}
		}
		if it.Word != "unknown" && n != 1 {
			t.Errorf("kws_app detected %q at %.2f s %d times", it.Word, it.At, n)
		}
	}
	if falseDet >= plainFalse {
		t.Errorf("kws_app made %d false detections, plain per-window classification %d", falseDet, plainFalse)
	}
	// NNQ_KEEP_APP=DIR keeps the app for experiments with -e, -k and -t
	// (on the tuning recording of the second clips: kwsrecording -variant 1).
	if d := os.Getenv("NNQ_KEEP_APP"); d != "" {
		exec.Command("cp", app, d).Run()
	}
}

// TestFrontendCMakeAppS8 builds an s8 export's CMake project with the
// streaming app (NN_BUILD_APP, -Werror) and runs it on the test recording:
// it finds every keyword, as `make app` does (TestStreamingApp).
func TestFrontendCMakeAppS8(t *testing.T) {
	needCC(t)
	testenv.Tool(t, "cmake", "cmake")
	q := kwsQModelFormat(t, nnq.FormatS8, "cortex-m4")
	dir := t.TempDir()
	if _, err := Export(q, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	b := t.TempDir()
	for _, cmd := range [][]string{{"cmake", "-S", dir, "-B", b, "-DNN_BUILD_APP=ON", "-DCMAKE_C_FLAGS=-Werror"}, {"cmake", "--build", b}} {
		if out, err := exec.CommandContext(testCtx(t), cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
	}
	wav, items := kwsRecording(t)
	out, err := exec.CommandContext(testCtx(t), filepath.Join(b, "kws_app"), wav).CombinedOutput()
	if err != nil {
		t.Fatalf("kws_app: %v\n%s", err, out)
	}
	det, _ := parseApp(t, out)
	found, falseDet := match(det, items)
	keywords := 0
	for _, it := range items {
		if it.Word != "unknown" {
			keywords++
		}
	}
	t.Logf("CMake kws_app (s8): %d detections, %d of %d keywords found, %d false", len(det), found, keywords, falseDet)
	if found != keywords {
		t.Errorf("kws_app found %d of %d keywords:\n%s", found, keywords, out)
	}
	// Scores are probabilities: (output - zero point) * scale, at least
	// the threshold.
	for _, d := range det {
		if d.Score < appThreshold-0.01 || d.Score > 1 {
			t.Errorf("detection %s at %.2f s: score %.3f outside [%.2f, 1]", d.Word, d.At, d.Score, appThreshold)
		}
	}
}
