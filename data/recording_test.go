package data_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

// kws/recording.wav and kws/recording.csv, the streaming app's 30 s test
// recording, are what tools/kwsrecording makes from the bundled clips:
// a fresh run writes the same bytes.
func TestRecordingIsReproducible(t *testing.T) {
	goTool := testenv.Tool(t, "go", "golang-go")
	dir := t.TempDir()
	wav, truth := filepath.Join(dir, "r.wav"), filepath.Join(dir, "r.csv")
	cmd := exec.Command(goTool, "run", "./tools/kwsrecording", "-wav", wav, "-truth", truth)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kwsrecording: %v\n%s", err, out)
	}
	for _, f := range [][2]string{{"kws/recording.wav", wav}, {"kws/recording.csv", truth}} {
		want, got := mustRead(t, f[0]), mustRead(t, f[1])
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from a fresh run of tools/kwsrecording (%d bytes, fresh %d)", f[0], len(want), len(got))
		}
	}
	// Its words are the bundled clips the truth names, 12 in 30 s.
	if n := bytes.Count(mustRead(t, truth), []byte("\n")); n != 13 {
		t.Errorf("recording.csv has %d lines, want a header and 12 words", n)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
