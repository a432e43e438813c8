package nnq

import (
	"os"
	"runtime"
	"strconv"
	"testing"
)

// BenchmarkCalibrateKWS measures calibration of the bundled KWS DS-CNN on
// its patterns with 1 and with all cores (patterns/s is reported; compare
// the two sub-benchmarks to see the cores used).
func BenchmarkCalibrateKWS(b *testing.B) {
	const model, pats = "../data/kws-dscnn/model.arrow", "../data/kws/patterns.arrow"
	if _, err := os.Stat(model); err != nil {
		b.Skip("bundled KWS DS-CNN not present")
	}
	fw, err := Load(model)
	if err != nil {
		b.Fatal(err)
	}
	cm, err := fw.ToCMSIS()
	if err != nil {
		b.Fatal(err)
	}
	all, err := ReadPatterns(pats)
	if err != nil {
		b.Fatal(err)
	}
	p := all.Split("train", "val").Head(2000)
	for _, procs := range []int{1, runtime.NumCPU()} {
		b.Run("procs="+strconv.Itoa(procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for i := 0; i < b.N; i++ {
				if _, err := Calibrate(cm, p, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.Len()*b.N)/b.Elapsed().Seconds(), "patterns/s")
		})
	}
}
