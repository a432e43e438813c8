package codegen

import (
	"fmt"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// TestCortexM verifies exports on emulated cores through the harness: a
// DSP-path model on a Cortex-M4 and a C-path model on a Cortex-M3.
func TestCortexM(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, c := range []struct {
		net     netSpec
		bits    int
		target  string
		runtime string
	}{{netAllQ7, 8, "cortex-m4", nnq.RuntimeCMSIS}, {netQ15, 16, "cortex-m3", nnq.RuntimeCMSIS}, {netPool, 8, "cortex-m3", nnq.RuntimeCMSIS},
		// nnq's SIMD average pool with main's output shift, q7 and q15.
		{netPool, 8, "cortex-m4", nnq.RuntimeNNQ}, {netPool, 16, "cortex-m4", nnq.RuntimeNNQ}} {
		t.Run(fmt.Sprintf("%s/%s/%s/%d", c.net.name, c.target, c.runtime, c.bits), func(t *testing.T) {
			needTarget(t, c.target)
			t.Parallel()
			q, p := quantizedRT(t, c.net, c.bits, c.target, c.runtime, "")
			dir := t.TempDir()
			if _, err := Export(q, dir, Options{Patterns: p}); err != nil {
				t.Fatal(err)
			}
			res, err := Verify(testCtx(t), dir, VerifyOptions{Target: c.target, MaxPatterns: 8})
			if err != nil {
				t.Fatal(err)
			}
			if !res.BitExact || res.Target != c.target || res.Instructions <= 0 {
				t.Fatalf("%+v", res)
			}
			t.Logf("%s: %.0f instructions per inference", c.target, res.Instructions)
		})
	}
}
