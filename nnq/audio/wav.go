package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ReadWAV decodes a 16-bit PCM mono WAV stream. Samples are scaled to
// [-1, 1) by 1/32768. Unknown chunks are skipped; other formats are errors.
func ReadWAV(r io.Reader) (samples []float32, sampleRate int, err error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("wav: header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, errors.New("wav: not a RIFF/WAVE file")
	}
	gotFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if err == io.EOF && gotFmt {
				return nil, 0, errors.New("wav: no data chunk")
			}
			return nil, 0, fmt.Errorf("wav: chunk header: %w", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("wav: fmt chunk of %d bytes", size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, 0, fmt.Errorf("wav: fmt chunk: %w", err)
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			channels := binary.LittleEndian.Uint16(b[2:4])
			sampleRate = int(binary.LittleEndian.Uint32(b[4:8]))
			bits := binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: subformat GUID starts at 24
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			if format != 1 || bits != 16 || channels != 1 {
				return nil, 0, fmt.Errorf("wav: need 16-bit PCM mono, got format %d, %d bits, %d channels", format, bits, channels)
			}
			gotFmt = true
		case "data":
			if !gotFmt {
				return nil, 0, errors.New("wav: data chunk before fmt chunk")
			}
			// Some writers (streams) put 0 or 0xFFFFFFFF here: read to EOF.
			var data []byte
			if size == 0 || size == 0xFFFFFFFF {
				data, err = io.ReadAll(r)
			} else {
				data = make([]byte, size)
				_, err = io.ReadFull(r, data)
			}
			if err != nil {
				return nil, 0, fmt.Errorf("wav: data chunk: %w", err)
			}
			samples = make([]float32, len(data)/2)
			for i := range samples {
				samples[i] = float32(int16(binary.LittleEndian.Uint16(data[2*i:]))) / 32768
			}
			return samples, sampleRate, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return nil, 0, fmt.Errorf("wav: chunk %q: %w", id, err)
			}
		}
	}
}

// ReadWAVFile reads a 16-bit PCM mono WAV file.
func ReadWAVFile(path string) ([]float32, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	s, rate, err := ReadWAV(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return s, rate, nil
}

// ToPCM16 converts samples to 16-bit PCM: round(x*32768), saturated to
// [-32768, 32767].
func ToPCM16(samples []float32) []int16 {
	out := make([]int16, len(samples))
	for i, v := range samples {
		x := math.Round(float64(v) * 32768)
		out[i] = int16(max(-32768, min(32767, x)))
	}
	return out
}

// WriteWAV writes samples as a 16-bit PCM mono WAV (see ToPCM16).
func WriteWAV(w io.Writer, samples []float32, sampleRate int) error {
	bw := bufio.NewWriter(w)
	n := uint32(2 * len(samples))
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+n)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(sampleRate))
	binary.LittleEndian.PutUint32(h[28:], uint32(2*sampleRate))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], n)
	bw.Write(h[:])
	var b [2]byte
	for _, v := range ToPCM16(samples) {
		binary.LittleEndian.PutUint16(b[:], uint16(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// WriteWAVFile writes a 16-bit PCM mono WAV file.
func WriteWAVFile(path string, samples []float32, sampleRate int) error {
	var buf bytes.Buffer
	if err := WriteWAV(&buf, samples, sampleRate); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
