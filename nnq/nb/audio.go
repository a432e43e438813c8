package nb

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// AudioHTML is an HTML audio player for mono samples in [-1, 1] at rate
// Hz: the samples as a 16-bit PCM WAV file (audio.WriteWAV) in a data URL,
// so a stored notebook plays the clip without the kernel.
func AudioHTML(samples []float32, rate int) string {
	var b bytes.Buffer
	Must(audio.WriteWAV(&b, samples, rate))
	return `<audio controls src="data:audio/wav;base64,` + base64.StdEncoding.EncodeToString(b.Bytes()) + `"></audio>`
}

// Audio shows an audio player for mono samples at rate Hz in the notebook
// (see AudioHTML); outside a notebook it prints the clip's length.
func Audio(samples []float32, rate int) {
	if !inNotebook() {
		outMu.Lock()
		defer outMu.Unlock()
		out.markdown(fmt.Sprintf("[audio: %d samples, %.2f s at %d Hz]", len(samples), float64(len(samples))/float64(rate), rate))
		return
	}
	HTML(AudioHTML(samples, rate))
}
