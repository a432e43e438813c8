package nb

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq/audio"
)

func TestAudioPlaysTheSamples(t *testing.T) {
	r := record(t)
	samples := []float32{0, 0.5, -0.5, 0.25, -1}
	Audio(samples, 8000)
	if len(r.md) != 1 {
		t.Fatalf("%d outputs, want the player", len(r.md))
	}
	h := r.md[0]
	prefix, suffix := `<audio controls src="data:audio/wav;base64,`, `"></audio>`
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, suffix) {
		t.Fatalf("player %q", h)
	}
	wav, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(h, prefix), suffix))
	if err != nil {
		t.Fatal(err)
	}
	got, rate, err := audio.ReadWAV(bytes.NewReader(wav))
	if err != nil {
		t.Fatal(err)
	}
	if rate != 8000 || len(got) != len(samples) {
		t.Fatalf("%d samples at %d Hz, want %d at 8000", len(got), rate, len(samples))
	}
	for i := range samples {
		if got[i] != samples[i] {
			t.Errorf("sample %d: %g, want %g", i, got[i], samples[i])
		}
	}
}

func TestAudioOutsideANotebook(t *testing.T) {
	sb := textOutput(t)
	Audio(make([]float32, 24000), 16000)
	if want := "[audio: 24000 samples, 1.50 s at 16000 Hz]\n"; sb.String() != want {
		t.Errorf("text output %q, want %q", sb.String(), want)
	}
}
