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
		net  netSpec
		bits int
	}{{netPool, 8}, {netPool, 16}} {
		q, _ := quantized(t, c.net, c.bits, "cortex-m4")
		var pl *nnq.QLayer
		for _, l := range q.Layers {
			if l.Op == nnq.OpAvgPool2D {
				pl = l
			}
		}
		if pl == nil || pl.PoolShift <= 0 || pl.OutFrac != pl.InFrac[0]+pl.PoolShift || !pl.Kernel.NNQ() {
			t.Fatalf("%s: average pool %+v does not shift", c.net.name, pl)
		}
		dir, _ := exportT(t, c.net, c.bits, "cortex-m4")
		src, err := os.ReadFile(filepath.Join(dir, "nn.c"))
		if err != nil {
			t.Fatal(err)
		}
		g := pl.Geom
		call := fmt.Sprintf("%s(", pl.Kernel)
		args := fmt.Sprintf("%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d,", g.InX, g.InY, g.InC, g.KX, g.KY, g.PadX, g.PadY, g.StrideX, g.StrideY, g.OutX, g.OutY)
		tail := fmt.Sprintf(", %d);", pl.PoolShift)
		found := false
		for _, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, call) && strings.Contains(line, args) && strings.HasSuffix(strings.TrimSpace(line), tail) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: nn.c has no %s call ending in %q", c.net.name, pl.Kernel, tail)
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
