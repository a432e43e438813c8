package main

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/nnq"
)

// cortexProfile is what one emulated Cortex-M run measures.
type cortexProfile struct {
	Target string `json:"target"`
	// InstructionsPerInference is the mean over the patterns of an
	// untraced build (exact counts from the QEMU TCG plugin).
	InstructionsPerInference uint64 `json:"instructions_per_inference"`
	// Layers holds per-layer counts from a traced build (one pattern).
	Layers   []layerInstr `json:"layers"`
	Text     int          `json:"text"`
	Data     int          `json:"data"`
	BSS      int          `json:"bss"`
	Patterns int          `json:"patterns"`
	BitExact bool         `json:"bit_exact"`
}

// Flash is what the image occupies in flash (code, constants, initialised
// data); RAM is initialised plus zeroed data (the arena is in .bss).
func (p *cortexProfile) Flash() int { return p.Text + p.Data }
func (p *cortexProfile) RAM() int   { return p.Data + p.BSS }

// quantizedBytes quantizes patterns into the raw input file of the
// harness driver (little-endian words of the model's size).
func quantizedBytes(q *nnq.QModel, p *nnq.Patterns) []byte {
	x := make([]int16, q.Float.InputSize())
	var b []byte
	for k := 0; k < p.Len(); k++ {
		q.QuantizeInput(p.Input(k), x)
		b = appendWords(b, x, q.Bits)
	}
	return b
}

func appendWords(b []byte, x []int16, bits int) []byte {
	for _, v := range x {
		if bits == 16 {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		} else {
			b = append(b, byte(int8(v)))
		}
	}
	return b
}

// profileCortexM builds the exported project in dir for a Cortex-M target
// (with nnq's runtime, with the CMSIS_5 tree cmsis for a --runtime cmsis
// export, or an s8/s16 export against the CMSIS-NN checkout cmsisNN), runs
// the patterns under QEMU and measures instructions and footprint, checking
// the outputs against the simulator.
func profileCortexM(ctx context.Context, q *nnq.QModel, dir, target, cmsis string, p *nnq.Patterns, cmsisNN string) (*cortexProfile, error) {
	t, err := harness.TargetByName(target)
	if err != nil {
		return nil, err
	}
	if t.IsHost() {
		return nil, fmt.Errorf("profiling needs a Cortex-M target, not %s", target)
	}
	n := p.Len()
	if n == 0 {
		return nil, fmt.Errorf("no patterns to profile with")
	}
	in := quantizedBytes(q, p)
	plain, err := harness.Build(ctx, t, harness.BuildOptions{ProjectDir: dir, CMSISPath: cmsis, CMSISNNPath: cmsisNN})
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	res, err := plain.Run(ctx, in, n)
	if err != nil {
		return nil, err
	}
	prof := &cortexProfile{Target: t.Name, Patterns: n, BitExact: true}
	var sum uint64
	for _, c := range res.Instructions {
		sum += c
	}
	if len(res.Instructions) > 0 {
		prof.InstructionsPerInference = sum / uint64(len(res.Instructions))
	}
	if prof.Text, prof.Data, prof.BSS, err = plain.Size(); err != nil {
		return nil, err
	}
	sim, err := q.NewSim(false)
	if err != nil {
		return nil, err
	}
	x := make([]int16, q.Float.InputSize())
	for k := 0; k < n; k++ {
		q.QuantizeInput(p.Input(k), x)
		want, err := sim.Run(x)
		if err != nil {
			return nil, err
		}
		if got := appendWords(nil, want, q.Bits); string(got) != string(res.Output(k)) {
			prof.BitExact = false
		}
	}
	traced, err := harness.Build(ctx, t, harness.BuildOptions{ProjectDir: dir, CMSISPath: cmsis, Trace: true, CMSISNNPath: cmsisNN})
	if err != nil {
		return nil, err
	}
	defer traced.Close()
	tr, err := traced.Run(ctx, in[:len(in)/n], 1)
	if err != nil {
		return nil, err
	}
	for i, l := range q.Layers {
		k := "(buffer view)"
		switch f := q.FusedInto(l); {
		case f != nil:
			k = "(fused into " + f.Name + ")"
		case l.S8 != nil && l.S8.Function != "":
			k = l.S8.Function
		case l.S8 == nil && l.Kernel != 0:
			k = l.Kernel.String()
		}
		var c uint64
		if len(tr.LayerInstructions) > 0 && i < len(tr.LayerInstructions[0]) {
			c = tr.LayerInstructions[0][i]
		}
		prof.Layers = append(prof.Layers, layerInstr{Name: l.Name, Kernel: k, Instructions: c})
	}
	return prof, nil
}
