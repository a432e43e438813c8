package codegen

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// randomQModel makes a random DAG of planner-relevant layers (shapes and
// kernels only; no parameters).
func randomQModel(r *rand.Rand, n int, sequential bool) *nnq.QModel {
	q := &nnq.QModel{Name: "rand", Bits: 8 << r.Intn(2), InputName: "x"}
	type tensor struct {
		name string
		size int
	}
	ts := []tensor{{"x", 1 + r.Intn(300)}}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("l%d", i)
		pick := func() tensor {
			if sequential || r.Intn(3) > 0 {
				return ts[len(ts)-1]
			}
			return ts[r.Intn(len(ts))]
		}
		a := pick()
		l := &nnq.QLayer{Name: name, Inputs: []string{a.name}, In: []nnq.Act{{Shape: []int{a.size}}}}
		size := a.size
		switch k := r.Intn(9); {
		case k == 0:
			l.Op, l.Kernel = nnq.OpFlatten, kernels.VarInvalid
		case k == 1:
			l.Op, l.Kernel = nnq.OpReLU, kernels.VarReluQ7
		case k == 2:
			l.Op, l.Kernel = nnq.OpSigmoid, kernels.VarActivationsDirectQ7
		case k == 3 && !sequential:
			// add of two same-sized tensors
			var cands []tensor
			for _, t := range ts {
				if t.size == a.size {
					cands = append(cands, t)
				}
			}
			b := cands[r.Intn(len(cands))]
			l.Op, l.Kernel = nnq.OpAdd, kernels.VarNNQAddQ7
			l.Inputs = append(l.Inputs, b.name)
			l.In = append(l.In, nnq.Act{Shape: []int{b.size}})
		case k == 4:
			l.Op, l.Kernel = nnq.OpMaxPool2D, kernels.VarMaxpoolQ7HWC
			size = 1 + r.Intn(a.size)
		case k == 5:
			l.Op, l.Kernel = nnq.OpConv2D, kernels.VarConvolveHWCQ7RGB
			size = 1 + r.Intn(400)
		default:
			l.Op, l.Kernel = nnq.OpDense, kernels.VarFullyConnectedQ7
			size = 1 + r.Intn(400)
			l.Geom = kernels.FCGeom(a.size, size)
		}
		l.Out = nnq.Act{Shape: []int{size}}
		q.Layers = append(q.Layers, l)
		ts = append(ts, tensor{name, size})
	}
	return q
}

func TestPlanRandomDAGs(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	worse, excess, total := 0, 0, 0
	for it := 0; it < 3000; it++ {
		seq := it%3 == 0
		q := randomQModel(r, 1+r.Intn(25), seq)
		p, err := PlanMemory(q)
		if err != nil {
			t.Fatalf("iteration %d: %v", it, err)
		}
		if err := p.Check(); err != nil {
			t.Fatalf("iteration %d: %v\n%s", it, err, p)
		}
		if p.ArenaBytes < p.LowerBound || p.LowerBound > p.Naive {
			t.Fatalf("iteration %d: arena %d, lower bound %d, naive %d", it, p.ArenaBytes, p.LowerBound, p.Naive)
		}
		if seq && p.ArenaBytes != p.LowerBound {
			t.Fatalf("iteration %d: sequential network: arena %d != lower bound %d\n%s", it, p.ArenaBytes, p.LowerBound, p)
		}
		if p.ArenaBytes > p.LowerBound {
			worse++
		}
		excess += p.ArenaBytes - p.LowerBound
		total += p.LowerBound
	}
	t.Logf("%d of 3000 random graphs above the lower bound, by %.2f%% in total", worse, 100*float64(excess)/float64(total))
}

// TestPlanCheckCatches corrupts valid plans and expects Check to object.
func TestPlanCheckCatches(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	caught, tried := 0, 0
	for it := 0; it < 500; it++ {
		q := randomQModel(r, 3+r.Intn(12), false)
		p, err := PlanMemory(q)
		if err != nil {
			t.Fatal(err)
		}
		// Move one non-alias tensor onto another live one's offset.
		i := 1 + r.Intn(len(p.Tensors)-1)
		ti := &p.Tensors[i]
		if ti.AliasOf >= 0 {
			continue
		}
		for j := range p.Tensors {
			tj := p.Tensors[j]
			if j == i || tj.AliasOf == i || ti.AliasOf == j || tj.First > ti.Last || ti.First > tj.Last || tj.Offset == ti.Offset {
				continue
			}
			if tj.Offset+ti.Bytes+ti.Spare > p.ActivationBytes {
				continue
			}
			old := ti.Offset
			ti.Offset = tj.Offset
			for k := range p.Tensors {
				if p.Tensors[k].AliasOf == i {
					p.Tensors[k].Offset = tj.Offset
				}
			}
			tried++
			if p.Check() != nil {
				caught++
			}
			ti.Offset = old
			break
		}
	}
	if tried == 0 || caught != tried {
		t.Fatalf("Check caught %d of %d overlapping placements", caught, tried)
	}
}

func TestPlanRules(t *testing.T) {
	// x -> relu (in place) -> pool (clobbers, input read later by add) -> ...
	q := &nnq.QModel{Name: "rules", Bits: 8, InputName: "x", Layers: []*nnq.QLayer{
		{Name: "r", Op: nnq.OpReLU, Kernel: kernels.VarReluQ7, Inputs: []string{"x"}, In: []nnq.Act{{Shape: []int{4, 4, 2}}}, Out: nnq.Act{Shape: []int{4, 4, 2}}},
		{Name: "p", Op: nnq.OpMaxPool2D, Kernel: kernels.VarMaxpoolQ7HWC, Inputs: []string{"r"}, In: []nnq.Act{{Shape: []int{4, 4, 2}}}, Out: nnq.Act{Shape: []int{4, 4, 2}},
			Geom: kernels.PoolGeom(4, 4, 2, 3, 3, 1, 1, 1, 1, 4, 4)},
		{Name: "s", Op: nnq.OpSigmoid, Kernel: kernels.VarActivationsDirectQ7, Inputs: []string{"p"}, In: []nnq.Act{{Shape: []int{4, 4, 2}}}, Out: nnq.Act{Shape: []int{4, 4, 2}}},
		{Name: "a", Op: nnq.OpAdd, Kernel: kernels.VarNNQAddQ7, Inputs: []string{"r", "s"}, In: []nnq.Act{{Shape: []int{4, 4, 2}}, {Shape: []int{4, 4, 2}}}, Out: nnq.Act{Shape: []int{4, 4, 2}}},
		{Name: "f", Op: nnq.OpFlatten, Kernel: kernels.VarInvalid, Inputs: []string{"a"}, In: []nnq.Act{{Shape: []int{4, 4, 2}}}, Out: nnq.Act{Shape: []int{32}}},
	}}
	p, err := PlanMemory(q)
	if err != nil {
		t.Fatal(err)
	}
	s := p.String()
	if p.Steps[0].Reuses != 0 || p.Steps[1].Copy < 0 || p.Steps[2].Reuses != 0 || p.Steps[3].Reuses < 0 || !p.Steps[4].View {
		t.Fatalf("unexpected steps %+v\n%s", p.Steps, s)
	}
	if p.Tensors[5].Offset != p.Tensors[4].Offset || !strings.Contains(s, "copy") {
		t.Fatalf("flatten does not alias\n%s", s)
	}
	// 3 buffers of 32 live at step 1 (r, its copy, p).
	if p.LowerBound != 96 || p.ArenaBytes != 96 {
		t.Fatalf("lower bound %d, arena %d\n%s", p.LowerBound, p.ArenaBytes, s)
	}
}
