package nnq_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
	"github.com/nnq-toolkit/nnq/nnq/audio"
)

// mfccNet is a tiny classifier of 49x10 MFCC maps: flatten, dense 490 → 3.
func mfccNet(fe *nnq.Frontend) *nnq.Model {
	w := &nnq.Tensor{Name: "fc.w", Shape: []int{3, 490}, Data: make([]float32, 3*490)}
	for i := range w.Data {
		w.Data[i] = float32(i%7-3) / 100
	}
	b := &nnq.Tensor{Name: "fc.b", Shape: []int{3}, Data: []float32{0.1, -0.2, 0.3}}
	return &nnq.Model{Name: "mfccnet", Layout: nnq.NCHW, InputShape: []int{1, 49, 10}, Classes: []string{"a", "b", "c"},
		Layers: []*nnq.Layer{
			{Name: "flatten", Op: nnq.OpFlatten},
			{Name: "fc", Op: nnq.OpDense, Attrs: nnq.Attrs{Units: 3}, Params: map[string]string{"weight": "fc.w", "bias": "fc.b"}},
		},
		Tensors: map[string]*nnq.Tensor{"fc.w": w, "fc.b": b}, Frontend: fe}
}

func TestFrontendRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.arrow")
	if err := nnq.WriteModel(path, mfccNet(nnq.HelloEdgeFrontend())); err != nil {
		t.Fatal(err)
	}
	m, err := nnq.ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Frontend, nnq.HelloEdgeFrontend()) {
		t.Fatalf("read back %+v", m.Frontend)
	}
	if m.Frontend.MFCC.SampleRate != 16000 || m.Frontend.MFCC.FFTSize != 1024 || m.Frontend.MFCC.NumMel != 40 {
		t.Errorf("HelloEdge record %+v", m.Frontend.MFCC)
	}
	c, err := m.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Frontend, m.Frontend) || c.Frontend == m.Frontend {
		t.Errorf("ToCMSIS must keep a copy of the front end: %+v", c.Frontend)
	}
	s, err := m.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "input front end: mfcc helloedge: 16000 Hz") || !strings.Contains(s, "→ 49x10") {
		t.Errorf("summary does not describe the front end:\n%s", s)
	}
	// A model without one stays without one.
	if err := nnq.WriteModel(path, mfccNet(nil)); err != nil {
		t.Fatal(err)
	}
	if m, err = nnq.ReadModel(path); err != nil || m.Frontend != nil {
		t.Fatalf("no front end: %v %+v", err, m)
	}
}

func TestFrontendRejectsBadRecords(t *testing.T) {
	cases := []struct {
		name string
		edit func(f *nnq.Frontend, m *nnq.Model)
		want string
	}{
		{"kind", func(f *nnq.Frontend, _ *nnq.Model) { f.Kind = "lpc" }, `kind "lpc" is not supported`},
		{"window", func(f *nnq.Frontend, _ *nnq.Model) { f.Window = "hamming" }, `window "hamming" is not supported`},
		{"spectrum", func(f *nnq.Frontend, _ *nnq.Model) { f.Spectrum = "power" }, `spectrum "power"`},
		{"floor", func(f *nnq.Frontend, _ *nnq.Model) { f.LogFloor = 1e-6 }, "log floor 1e-06"},
		{"fft", func(f *nnq.Frontend, _ *nnq.Model) { f.MFCC.FFTSize = 1000 }, "FFT size 1000"},
		{"band", func(f *nnq.Frontend, _ *nnq.Model) { f.MFCC.HighHz = 9000 }, "bad filterbank range"},
		{"shape", func(f *nnq.Frontend, _ *nnq.Model) { f.MFCC.NumCoeffs = 13 }, "49x13 maps"},
		{"clip", func(f *nnq.Frontend, _ *nnq.Model) { f.MFCC.ClipLength = 8000 }, "24x10 maps"},
		{"input", func(_ *nnq.Frontend, m *nnq.Model) { m.InputShape = []int{2, 49, 5} }, `do not fill the NCHW input [2 49 5]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fe := nnq.HelloEdgeFrontend()
			m := mfccNet(fe)
			c.edit(fe, m)
			err := m.Check()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v, want %q", err, c.want)
			}
			// The file reader says the same, naming the file.
			path := filepath.Join(t.TempDir(), "bad.arrow")
			if werr := nnq.WriteModel(path, m); werr != nil {
				t.Fatal(werr)
			}
			_, err = nnq.ReadModel(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.arrow") {
				t.Fatalf("ReadModel: %v, want %q and the file name", err, c.want)
			}
		})
	}
}

func TestFrontendFeaturesAreNNQAudio(t *testing.T) {
	fe := nnq.HelloEdgeFrontend()
	x := make([]float32, 12000) // padded to 1 s
	for i := range x {
		x[i] = float32((i*7919)%2001-1000) / 4000
	}
	got, err := fe.Features(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := audio.Features(x); !reflect.DeepEqual(got, want) {
		t.Fatal("Frontend.Features differs from audio.Features")
	}
	if fr, k := fe.Shape(); fr != 49 || k != 10 || len(got) != 490 {
		t.Fatalf("shape %dx%d, %d values", fr, k, len(got))
	}
}

func TestSetFrontend(t *testing.T) {
	m := mfccNet(nil)
	if err := m.SetFrontend("auto"); err != nil || m.Frontend != nil {
		t.Fatalf("auto on a model without a record: %v %v", err, m.Frontend)
	}
	if err := m.SetFrontend("mfcc"); err != nil || !reflect.DeepEqual(m.Frontend, nnq.HelloEdgeFrontend()) {
		t.Fatalf("mfcc: %v %v", err, m.Frontend)
	}
	m.Frontend.Name = "mine"
	if err := m.SetFrontend("mfcc"); err != nil || m.Frontend.Name != "mine" {
		t.Fatalf("mfcc keeps a recorded MFCC: %v %v", err, m.Frontend)
	}
	if err := m.SetFrontend("none"); err != nil || m.Frontend != nil {
		t.Fatalf("none: %v %v", err, m.Frontend)
	}
	if err := m.SetFrontend("lpc"); err == nil || !strings.Contains(err.Error(), `front end "lpc": want mfcc, none or auto`) {
		t.Fatalf("bad choice: %v", err)
	}
	m.InputShape = []int{1, 28, 28}
	if err := m.SetFrontend("mfcc"); err == nil || !strings.Contains(err.Error(), "49x10 maps") {
		t.Fatalf("mfcc on a 28x28 input: %v", err)
	}
}
