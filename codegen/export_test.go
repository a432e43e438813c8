package codegen

import (
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

func TestExportVerify(t *testing.T) {
	needCC(t)
	cases := []struct {
		net               netSpec
		bits              int
		target            string
		runtime, optimize string
	}{
		{netAllQ7, 8, "cortex-m3", nnq.RuntimeCMSIS, ""},
		{netAllQ7, 8, "cortex-m4", nnq.RuntimeCMSIS, ""},
		{netPool, 8, "cortex-m3", nnq.RuntimeCMSIS, ""},
		{netSquareQ7, 8, "cortex-m4", nnq.RuntimeCMSIS, ""},
		{netNonsquareQ7, 8, "cortex-m3", nnq.RuntimeCMSIS, ""},
		{netQ15, 16, "cortex-m4", nnq.RuntimeCMSIS, ""},
		{netQ15Conv, 16, "cortex-m3", nnq.RuntimeCMSIS, ""},
		// nnq's kernels (the default), speed and size.
		{netAllQ7, 8, "cortex-m4", nnq.RuntimeNNQ, nnq.OptimizeSpeed},
		{netAllQ7, 8, "cortex-m4", nnq.RuntimeNNQ, nnq.OptimizeSize},
		{netPool, 8, "cortex-m3", nnq.RuntimeNNQ, ""},
		{netPool, 8, "cortex-m4", nnq.RuntimeNNQ, ""},
		{netPool, 16, "cortex-m4", nnq.RuntimeNNQ, ""},
		{netSquareQ7, 8, "cortex-m3", nnq.RuntimeNNQ, ""},
		{netNonsquareQ7, 8, "cortex-m4", nnq.RuntimeNNQ, ""},
		{netQ15, 16, "cortex-m3", nnq.RuntimeNNQ, ""},
		{netQ15Conv, 16, "cortex-m4", nnq.RuntimeNNQ, ""},
	}
	for _, c := range cases {
		t.Run(c.net.name+"/"+c.target+"/"+c.runtime+c.optimize, func(t *testing.T) {
			t.Parallel()
			q, p := quantizedRT(t, c.net, c.bits, c.target, c.runtime, c.optimize)
			dir := t.TempDir()
			proj, err := Export(q, dir, Options{Patterns: p})
			if err != nil {
				t.Fatal(err)
			}
			t.Log("\n" + proj.Report())
			res, err := Verify(testCtx(t), dir, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.BitExact || res.Patterns != p.Len() {
				t.Fatalf("%+v", res)
			}
		})
	}
}
