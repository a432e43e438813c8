package codegen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// TestKWSGRUBitExact exports the bundled recurrent KWS example
// (data/kws-gru, issue 9) in q7 (Cortex-M4, DSP path) and q15 (Cortex-M3, C
// path) and verifies the generated C against the simulator on the host,
// layer by layer.
//
// Note: to keep `go test ./...` fast the test calibrates on 300 train/val
// patterns and verifies every 16th test pattern (264 of 4,224); the
// recurrent kernel is target- and data-independent code, so the sample
// covers it, and `nnq verify` on a full export checks all patterns.
func TestKWSGRUBitExact(t *testing.T) {
	needCC(t)
	model := filepath.Join("..", "data", "kws-gru", "model.arrow")
	pats := filepath.Join("..", "data", "kws", "patterns.arrow")
	for _, f := range []string{model, pats} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s not built (make -C data): %v", f, err)
		}
	}
	fw, err := nnq.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := fw.ToCMSIS()
	if err != nil {
		t.Fatal(err)
	}
	all, err := nnq.ReadPatterns(pats)
	if err != nil {
		t.Fatal(err)
	}
	test := all.Split("test")
	sample := &nnq.Patterns{Shape: test.Shape, Layout: test.Layout}
	for i := 0; i < test.Len(); i += 16 {
		sample.Append(test.Input(i), test.Label(i), "test")
	}
	st, err := nnq.Calibrate(cm, all.Split("train", "val").Head(300), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		bits   int
		target string
	}{{8, "cortex-m4"}, {16, "cortex-m3"}} {
		t.Run(c.target, func(t *testing.T) {
			t.Parallel()
			q, err := nnq.Quantize(cm, st, nnq.QConfig{Bits: c.bits, Target: c.target})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := Export(q, dir, Options{Patterns: sample}); err != nil {
				t.Fatal(err)
			}
			res, err := Verify(testCtx(t), dir, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.BitExact || res.Patterns != sample.Len() {
				t.Fatalf("%+v", res)
			}
			t.Logf("%s %s: %d test patterns bit-exact", q.TypeName(), c.target, res.Patterns)
		})
	}
}
