package codegen

import (
	"testing"
)

func TestExportVerify(t *testing.T) {
	needCC(t)
	cases := []struct {
		net    netSpec
		bits   int
		target string
	}{
		{netAllQ7, 8, "cortex-m3"},
		{netAllQ7, 8, "cortex-m4"},
		{netPool, 8, "cortex-m3"},
		{netPool, 8, "cortex-m4"},
		{netPool, 16, "cortex-m4"},
		{netSquareQ7, 8, "cortex-m4"},
		{netNonsquareQ7, 8, "cortex-m3"},
		{netQ15, 16, "cortex-m4"},
		{netQ15Conv, 16, "cortex-m3"},
	}
	for _, c := range cases {
		t.Run(c.net.name+"/"+c.target, func(t *testing.T) {
			t.Parallel()
			q, p := quantized(t, c.net, c.bits, c.target)
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
