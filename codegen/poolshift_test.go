package codegen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// netPool ends like the KWS DS-CNN: a global average pool whose mean is
// known more finely than its input, so nnq's pool shifts it.
var netPool = netSpec{name: "gap", input: []int{7, 5, 3}, layers: []lspec{
	conv("c1", nil, 3, 3, 3, 8, "same", 1, 0),
	simple("r1", nnq.OpReLU),
	{name: "gap", op: nnq.OpAvgPool2D, attrs: nnq.Attrs{Global: true}},
	simple("f", nnq.OpFlatten),
	dense("fc", nil, 8, 4, 0),
	simple("sm", nnq.OpSoftmax),
}}

// TestPoolShiftEmitted checks that the average pools of the bit-exact test
// networks (TestExportVerify on the host, TestCortexM under QEMU) shift
// their output, that nn.c passes the shift, and that quant.json keeps it;
// with NoPoolShift the same pool keeps its input format.
func TestPoolShiftEmitted(t *testing.T) {
	for _, c := range []struct {
		net     netSpec
		bits    int
		runtime string
	}{{netPool, 8, nnq.RuntimeCMSIS}, {netPool, 16, nnq.RuntimeCMSIS}, {netPool, 8, nnq.RuntimeNNQ}, {netPool, 16, nnq.RuntimeNNQ}} {
		q, p := quantizedRT(t, c.net, c.bits, "cortex-m4", c.runtime, "")
		var pl *nnq.QLayer
		for _, l := range q.Layers {
			if l.Op == nnq.OpAvgPool2D {
				pl = l
			}
		}
		if pl == nil || pl.PoolShift <= 0 || pl.OutFrac != pl.InFrac[0]+pl.PoolShift || !pl.Kernel.NNQ() {
			t.Fatalf("%s: average pool %+v does not shift", c.net.name, pl)
		}
		dir := t.TempDir()
		if _, err := Export(q, dir, Options{Patterns: p}); err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join(dir, "nn.c"))
		if err != nil {
			t.Fatal(err)
		}
		// nnq's pools read the shift from their parameter block's out_shift.
		params := convParams(q, pl, pl.PoolShift, false)
		if !strings.Contains(params, fmt.Sprintf(".out_shift = %d,", pl.PoolShift)) || !strings.Contains(string(src), params) ||
			!strings.Contains(string(src), fmt.Sprintf("%s(", pl.Kernel)) {
			t.Errorf("%s: nn.c has no %s call with the parameters %s", c.net.name, pl.Kernel, params)
		}
		lq, err := nnq.LoadQModel(filepath.Join(dir, QuantFile))
		if err != nil {
			t.Fatal(err)
		}
		if l := lq.Layer(pl.Name); l.PoolShift != pl.PoolShift || l.Kernel != pl.Kernel {
			t.Errorf("%s: quant.json round trip: pool_shift %d kernel %s, want %d %s", c.net.name, l.PoolShift, l.Kernel, pl.PoolShift, pl.Kernel)
		}
	}
	s := netAllQ7
	s.noPoolShift = true
	q, _ := quantized(t, s, 8, "cortex-m4")
	if l := q.Layer("ap"); l.PoolShift != 0 || l.OutFrac != l.InFrac[0] {
		t.Errorf("NoPoolShift: pool shift %d, formats %v -> %d", l.PoolShift, l.InFrac, l.OutFrac)
	}
}
