package playground

import (
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

func TestSilenceHeavy(t *testing.T) {
	p := &nnq.Patterns{Shape: []int{1, 49, 10}, Layout: nnq.NCHW}
	for i := 0; i < 40; i++ {
		x := make([]float32, 490)
		x[0] = float32(i)
		p.Append(x, 1+i%3, "test")
	}
	s := SilenceHeavy(p, 0.15, 7)
	quiet := 0
	floor := audio.Features(make([]float32, 16000))
	digital := 0
	for i := 0; i < s.Len(); i++ {
		if s.Label(i) == 0 {
			quiet++
			if s.Input(i)[0] == floor[0] && s.Input(i)[1] == floor[1] {
				digital++
			}
		}
		if s.Splits[i] != "test" {
			t.Fatalf("pattern %d split %q", i, s.Splits[i])
		}
	}
	if s.Len() != 48 || quiet != 8 || digital != 4 {
		t.Fatalf("%d patterns, %d silence (%d digital), want 48, 8, 4", s.Len(), quiet, digital)
	}
	if frac := float64(quiet) / float64(s.Len()); frac < 0.1 {
		t.Errorf("silence fraction %.2f < 10%%", frac)
	}
	// The floor of digital silence sits far below speech MFCCs.
	if floor[0] > -100 {
		t.Errorf("digital silence c0 = %g", floor[0])
	}
}
