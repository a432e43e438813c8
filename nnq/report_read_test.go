package nnq

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleReport is the report of a small conversion.
func sampleReport(t testing.TB) *Report {
	r := rand.New(rand.NewSource(21))
	m, _ := testNet(r, NCHW).Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 12)
	p.Labels[3] = -1
	st, err := Calibrate(cm, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Quantize(cm, st, QConfig{Bits: 8, Scheme: MinMax{}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := q.Evaluate(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewReport(q, ev)
}

func reportJSON(t testing.TB, r *Report) []byte {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadReport(t *testing.T) {
	want := sampleReport(t)
	path := filepath.Join(t.TempDir(), "report.json")
	if err := want.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back differs:\n%+v\n%+v", got, want)
	}
	good := reportJSON(t, want)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not an nnq report"},
		{"not JSON", []byte("PK\x03\x04"), "not an nnq report"},
		{"null", []byte("null"), "null"},
		{"trailing", append(append([]byte(nil), good...), "{}"...), "trailing data"},
		{"unknown key", edit(func(m map[string]any) { m["acuracy"] = 1 }), `unknown field "acuracy"`},
		{"bits", edit(func(m map[string]any) { m["bits"] = 12 }), "bits 12 is not 8 or 16"},
		{"accuracy", edit(func(m map[string]any) { m["fixed_accuracy"] = 1.5 }), "fixed_accuracy 1.5 is outside [0, 1]"},
		{"unlabelled", edit(func(m map[string]any) { m["unlabelled_patterns"] = 99 }), "12 patterns, 99 unlabelled"},
		{"no layers", edit(func(m map[string]any) { m["layers"] = []any{} }), "no layers"},
		{"ragged confusion", edit(func(m map[string]any) { m["fixed_confusion"] = [][]int{{1, 2}, {3}} }), "fixed_confusion is not square"},
		{"negative", edit(func(m map[string]any) { m["input_saturated"] = -1 }), "negative count -1"},
	} {
		_, err := DecodeReport(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	os.WriteFile(path, []byte("{"), 0o644)
	if _, err := ReadReport(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("error does not name the file: %v", err)
	}
}

// FuzzReadReport: report.json reading never panics, and what it accepts
// renders and round-trips.
func FuzzReadReport(f *testing.F) {
	f.Add(reportJSON(f, sampleReport(f)))
	f.Add([]byte(`{"bits":8,"layers":[{"name":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReport(data)
		if err != nil {
			return
		}
		r.Markdown()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted report does not encode: %v", err)
		}
		r2, err := DecodeReport(b)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
