package crt

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkS8KWSInstructions reports the exact Cortex-M4 instruction counts
// of the kws-dscnn layer shapes with nnq's s8 runtime and, when
// CMSIS_NN_PATH is set, with the real CMSIS-NN library
// (go test ./codegen/crt -run '^$' -bench S8KWS -benchtime 1x).
func BenchmarkS8KWSInstructions(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for i := 0; i < b.N; i++ {
		counts, err := MeasureS8KWS(ctx, "cortex-m4", os.Getenv("CMSIS_NN_PATH"))
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.Logf("Cortex-M4 instructions per call:\n%s", FormatS8Counts(counts))
			var nnq, lib uint64
			for _, c := range counts {
				nnq += c.NNQ
				lib += c.Library
			}
			b.ReportMetric(float64(nnq), "nnq-instr")
			if lib > 0 {
				b.ReportMetric(float64(lib), "cmsis-nn-instr")
			}
		}
	}
}

// TestS8KWSCounts checks that the measurement runs and gives sane counts
// (at least one instruction per MAC pair, at most 10 per MAC).
func TestS8KWSCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	needTool(t, "arm-none-eabi-gcc")
	needTool(t, "qemu-system-arm")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	counts, err := MeasureS8KWS(ctx, "cortex-m4", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if per := c.PerMAC(c.NNQ); per < 0.5 || per > 10 {
			t.Errorf("%s: %.2f instructions per MAC", c.Layer, per)
		}
	}
	t.Logf("\n%s", FormatS8Counts(counts))
	if _, err := MeasureS8KWS(ctx, "host", ""); err == nil {
		t.Error("MeasureS8KWS accepted the host target")
	}
}
