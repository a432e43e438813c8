package e2e

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/nnq-toolkit/nnq/codegen"
	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/internal/testenv"
	"github.com/nnq-toolkit/nnq/nnq"
)

// TestBundledS8 converts all four bundled networks (the recurrent one
// included) to s8 and s16 for a Cortex-M4, checks the accuracy the issue
// asks for (kws-dscnn s8 within 0.1 points of float, s8 no worse than q7,
// s16 within 0.02 points; MSE scheme, calibrated on the train split as
// nnq convert does, every test pattern), exports them and verifies the C on
// the host on every test pattern and under QEMU on the first s8CortexSample
// (with the CMSIS-NN library too when CMSIS_NN_PATH is set).
// e2eFull (NNQ_E2E_FULL=1) verifies the documented 500-pattern QEMU
// sample. make test samples fewer, to stay within its time budget on 2
// cores: every network, 100 patterns each under QEMU (every test pattern on
// the host either way).
var e2eFull = os.Getenv("NNQ_E2E_FULL") == "1"

var s8CortexSample = func() int {
	if e2eFull {
		return cortexSample
	}
	return 100
}()

func TestBundledS8(t *testing.T) {
	if testing.Short() {
		t.Skip("converts and verifies the bundled networks in s8 and s16 (many minutes)")
	}
	ctx := context.Background()
	all := append(append([]bundled(nil), nets...), bundled{"kws-gru", "../data/kws-gru/model.arrow", "../data/kws/patterns.arrow"})
	lib := os.Getenv("CMSIS_NN_PATH")
	for _, n := range all {
		if _, err := os.Stat(n.model); errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: bundled model %s is missing (run make data)", n.name, n.model)
		}
		t.Run(n.name, func(t *testing.T) {
			fw, err := nnq.Load(n.model)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := fw.ToCMSIS()
			if err != nil {
				t.Fatal(err)
			}
			pats, err := nnq.ReadPatterns(n.patterns)
			if err != nil {
				t.Fatal(err)
			}
			test := pats.Split("test")
			st, err := nnq.Calibrate(cm, pats.Split("train"), nil)
			if err != nil {
				t.Fatal(err)
			}
			drop := map[nnq.Format]float64{}
			models := map[nnq.Format]*nnq.QModel{}
			for _, f := range []nnq.Format{nnq.FormatQ7, nnq.FormatS8, nnq.FormatS16} {
				q, err := nnq.Quantize(cm, st, nnq.QConfig{Format: f, Scheme: nnq.MSE{}, Target: "cortex-m4"})
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				ev, err := q.Evaluate(test, nil)
				if err != nil {
					t.Fatal(err)
				}
				drop[f], models[f] = 100*(ev.Float-ev.Fixed), q
				t.Logf("%s %s: float %.2f%%, fixed %.2f%% (drop %.3f points), agreement %.2f%%", n.name, f, 100*ev.Float, 100*ev.Fixed, drop[f], 100*ev.Agreement)
			}
			if drop[nnq.FormatS8] > drop[nnq.FormatQ7]+1e-9 {
				t.Errorf("s8 loses %.3f points, q7 %.3f", drop[nnq.FormatS8], drop[nnq.FormatQ7])
			}
			if n.name == "kws-dscnn" && drop[nnq.FormatS8] > 0.1 {
				t.Errorf("kws-dscnn s8 loses %.3f points (> 0.1)", drop[nnq.FormatS8])
			}
			if drop[nnq.FormatS16] > 0.02+1e-9 {
				t.Errorf("s16 loses %.3f points (> 0.02)", drop[nnq.FormatS16])
			}
			for _, f := range []nnq.Format{nnq.FormatS8, nnq.FormatS16} {
				dir := t.TempDir()
				if _, err := codegen.Export(models[f], dir, codegen.Options{Patterns: test}); err != nil {
					t.Fatal(err)
				}
				runs := []codegen.VerifyOptions{{Target: "host"}}
				tg, _ := harness.TargetByName("cortex-m4")
				if err := harness.CheckTools(ctx, tg); err == nil {
					runs = append(runs, codegen.VerifyOptions{Target: "cortex-m4", MaxPatterns: s8CortexSample})
					if lib != "" {
						runs = append(runs, codegen.VerifyOptions{Target: "cortex-m4", MaxPatterns: s8CortexSample, CMSISNNPath: lib})
					}
				} else if testenv.InCI() {
					t.Fatal(err)
				}
				for _, o := range runs {
					res, err := codegen.Verify(ctx, dir, o)
					if err != nil {
						t.Fatalf("%s %s (library %q): %v", f, o.Target, o.CMSISNNPath, err)
					}
					want := test.Len()
					if o.MaxPatterns > 0 {
						want = min(o.MaxPatterns, want)
					}
					if !res.BitExact || res.Patterns != want {
						t.Fatalf("%s %s: bit-exact %v on %d of %d patterns", f, o.Target, res.BitExact, res.Patterns, want)
					}
					t.Logf("%s %s %s (library %v): %d patterns bit-exact, %.0f instructions per inference", n.name, f, res.Target, o.CMSISNNPath != "", res.Patterns, res.Instructions)
				}
			}
		})
	}
}
