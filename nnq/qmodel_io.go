package nnq

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/nnq-toolkit/nnq/kernels"
)

// The quantized model file is JSON: the CMSIS-layout float graph with its
// tensors, and per layer the formats, shifts, integer parameters and
// kernel. codegen writes it into every exported project so verification
// can rebuild the simulator.

type jsonTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

type jsonQLayer struct {
	Name       string         `json:"name"`
	Op         Op             `json:"op"`
	Inputs     []string       `json:"inputs"`
	InFrac     []int          `json:"in_frac"`
	OutFrac    int            `json:"out_frac"`
	WantFrac   int            `json:"wanted_frac"`
	WeightFrac int            `json:"weight_frac"`
	BiasFrac   int            `json:"bias_frac"`
	BiasShift  int            `json:"bias_shift"`
	OutShift   int            `json:"out_shift"`
	Weights    []int16        `json:"weights,omitempty"`
	Bias       []int16        `json:"bias,omitempty"`
	Shifts     []int          `json:"shifts,omitempty"`
	IntWidth   int            `json:"int_width"`
	PoolShift  int            `json:"pool_shift,omitempty"`
	ReLU       bool           `json:"relu,omitempty"`
	Sub        []QParam       `json:"sub,omitempty"`
	Internal   map[string]int `json:"internal,omitempty"`
	Kernel     string         `json:"kernel"`
	Rejected   []string       `json:"rejected,omitempty"`
	Notes      []string       `json:"notes,omitempty"`
	S8         *S8Layer       `json:"s8,omitempty"`
	Reason     string         `json:"reason,omitempty"`
}

type jsonQModel struct {
	Version  int               `json:"version"`
	Name     string            `json:"name"`
	Bits     int               `json:"bits"`
	Format   Format            `json:"format,omitempty"`
	Affine   map[string]Affine `json:"affine,omitempty"`
	Scheme   string            `json:"scheme"`
	Target   string            `json:"target"`
	Truncate bool              `json:"truncate"`
	// AffineRounding is an s8/s16 model's arithmetic, absent for the
	// default (CMSIS-NN's double rounding) and in files of earlier versions.
	AffineRounding AffineRounding `json:"affine_rounding,omitempty"`
	// Runtime and Optimize are absent from files of earlier versions,
	// which always used the legacy CMSIS-NN functions.
	Runtime   string                `json:"runtime,omitempty"`
	Optimize  string                `json:"optimize,omitempty"`
	InputFrac int                   `json:"input_frac"`
	InputWhy  string                `json:"input_reason,omitempty"`
	Notes     []string              `json:"notes,omitempty"`
	Float     jsonGraph             `json:"float"`
	Tensors   map[string]jsonTensor `json:"tensors"`
	Layers    []jsonQLayer          `json:"layers"`
}

type jsonGraph struct {
	Name       string    `json:"name"`
	Layout     Layout    `json:"layout"`
	Source     Layout    `json:"source,omitempty"`
	InputName  string    `json:"input_name"`
	InputShape []int     `json:"input_shape"`
	Classes    []string  `json:"classes,omitempty"`
	Layers     []*Layer  `json:"layers"`
	Notes      []string  `json:"notes,omitempty"`
	Frontend   *Frontend `json:"frontend,omitempty"`
}

// Save writes the quantized model to path as JSON.
func (q *QModel) Save(path string) error {
	j := jsonQModel{Version: 1, Name: q.Name, Bits: q.Bits, Format: q.Format, Affine: q.Affine, Scheme: q.Scheme, Target: q.Target, Truncate: q.Rounding == kernels.Truncate,
		Runtime: q.Runtime, Optimize: q.Optimize,
		InputFrac: q.InputFrac, InputWhy: q.InputReason, Notes: q.Notes, Tensors: map[string]jsonTensor{},
		Float: jsonGraph{Name: q.Float.Name, Layout: q.Float.Layout, Source: q.Float.Source, InputName: q.Float.inputName(),
			InputShape: q.Float.InputShape, Classes: q.Float.Classes, Layers: q.Float.Layers, Notes: q.Float.Notes, Frontend: q.Float.Frontend}}
	for n, t := range q.Float.Tensors {
		j.Tensors[n] = jsonTensor{Shape: t.Shape, Data: t.Data}
	}
	if !q.AffineRounding.IsDefault() {
		j.AffineRounding = q.AffineRounding
	}
	for _, l := range q.Layers {
		k := ""
		if l.Kernel != kernels.VarInvalid {
			k = l.Kernel.String()
		}
		j.Layers = append(j.Layers, jsonQLayer{Name: l.Name, Op: l.Op, Inputs: l.Inputs, InFrac: l.InFrac, OutFrac: l.OutFrac, WantFrac: l.WantFrac,
			WeightFrac: l.WeightFrac, BiasFrac: l.BiasFrac, BiasShift: l.BiasShift, OutShift: l.OutShift, Weights: l.Weights, Bias: l.Bias,
			Shifts: l.Shifts, IntWidth: l.IntWidth, PoolShift: l.PoolShift, ReLU: l.ReLU, Sub: l.Sub, Internal: l.Internal, Kernel: k,
			Rejected: l.Rejected, Notes: l.Notes, Reason: l.Reason, S8: l.S8})
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// LoadQModel reads a quantized model written by Save and checks it against
// its float graph (shapes, kernels, parameter sizes).
func LoadQModel(path string) (*QModel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j jsonQModel
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: not an nnq quantized model: %w", path, err)
	}
	if j.Version != 1 {
		return nil, fmt.Errorf("%s: quantized model version %d is not supported (want 1)", path, j.Version)
	}
	m := &Model{Name: j.Float.Name, Layout: j.Float.Layout, Source: j.Float.Source, InputName: j.Float.InputName, InputShape: j.Float.InputShape,
		Classes: j.Float.Classes, Layers: j.Float.Layers, Notes: j.Float.Notes, Frontend: j.Float.Frontend, Tensors: map[string]*Tensor{}}
	for n, t := range j.Tensors {
		m.Tensors[n] = &Tensor{Name: n, Shape: t.Shape, Data: t.Data}
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Layout != CMSIS {
		return nil, fmt.Errorf("%s: the float graph of a quantized model must be in CMSIS layout, not %s", path, m.Layout)
	}
	if len(j.Layers) != len(m.Layers) {
		return nil, fmt.Errorf("%s: %d quantized layers for %d float layers", path, len(j.Layers), len(m.Layers))
	}
	if j.Bits != 8 && j.Bits != 16 {
		return nil, fmt.Errorf("%s: word size %d is not 8 or 16", path, j.Bits)
	}
	if j.Format.Affine() {
		return loadQModelAffine(path, &j, m)
	}
	if !j.AffineRounding.IsDefault() {
		return nil, fmt.Errorf("%s: a %d-bit legacy model cannot have the s8/s16 rounding %q", path, j.Bits, j.AffineRounding)
	}
	if f, _ := FormatOfBits(j.Bits); j.Format != "" && j.Format != f {
		return nil, fmt.Errorf("%s: format %q does not fit %d-bit words", path, j.Format, j.Bits)
	}
	tp, err := TargetPath(j.Target)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if j.Runtime == "" {
		j.Runtime = RuntimeCMSIS
	}
	runtime, err := ParseRuntime(j.Runtime)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	optimize, err := ParseOptimize(j.Optimize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	acts, _ := m.Shapes()
	q := &QModel{Name: j.Name, Float: m, Bits: j.Bits, Format: j.Format, Scheme: j.Scheme, Target: j.Target, Path: tp, Runtime: runtime, Optimize: optimize,
		InputName: m.inputName(), InputFrac: j.InputFrac, InputReason: j.InputWhy, Notes: j.Notes, Frac: map[string]int{m.inputName(): j.InputFrac}}
	if j.Truncate {
		q.Rounding = kernels.Truncate
	}
	for i, jl := range j.Layers {
		fl := m.Layers[i]
		if jl.Name != fl.Name || jl.Op != fl.Op {
			return nil, fmt.Errorf("%s: quantized layer %d is %q (%s), the float graph has %q (%s)", path, i, jl.Name, jl.Op, fl.Name, fl.Op)
		}
		l := &QLayer{Name: jl.Name, Op: jl.Op, Inputs: m.inputsOf(i), Out: acts[jl.Name], InFrac: jl.InFrac, OutFrac: jl.OutFrac, WantFrac: jl.WantFrac,
			WeightFrac: jl.WeightFrac, BiasFrac: jl.BiasFrac, BiasShift: jl.BiasShift, OutShift: jl.OutShift, Weights: jl.Weights, Bias: jl.Bias,
			Shifts: jl.Shifts, IntWidth: jl.IntWidth, PoolShift: jl.PoolShift, Sub: jl.Sub, Internal: jl.Internal, Rejected: jl.Rejected,
			Notes: jl.Notes, Reason: jl.Reason}
		for _, n := range l.Inputs {
			l.In = append(l.In, acts[n])
		}
		if len(l.InFrac) != len(l.Inputs) {
			return nil, fmt.Errorf("%s: layer %q has %d input formats for %d inputs", path, l.Name, len(l.InFrac), len(l.Inputs))
		}
		if l.PoolShift != 0 && (l.Op != OpAvgPool2D || l.PoolShift < 0 || l.PoolShift > kernels.MaxPoolShift || l.OutFrac != l.InFrac[0]+l.PoolShift) {
			return nil, fmt.Errorf("%s: layer %q: pool_shift %d needs an avgpool2d layer, 0..%d, and out_frac = in_frac + pool_shift", path, l.Name, l.PoolShift, kernels.MaxPoolShift)
		}
		if jl.Kernel != "" {
			v, ok := kernels.ParseVariant(jl.Kernel)
			if !ok {
				return nil, fmt.Errorf("%s: layer %q names unknown kernel %q", path, l.Name, jl.Kernel)
			}
			l.Kernel = v
		}
		if w := m.Param(fl, "weight"); w != nil && len(l.Weights) != w.Size() {
			return nil, fmt.Errorf("%s: layer %q has %d quantized weights, its tensor %d", path, l.Name, len(l.Weights), w.Size())
		}
		if err := checkSub(m, fl, l, j.Bits); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		q.Frac[l.Name] = l.OutFrac
		for n, f := range l.Internal {
			q.Frac[l.Name+"/"+n] = f
		}
		q.Layers = append(q.Layers, l)
	}
	// Recompute the geometries, then check the file's kernels (and fused
	// ReLUs) against them and the target.
	chosen := make([]kernels.Variant, len(q.Layers))
	relu := make([]bool, len(q.Layers))
	for i, l := range q.Layers {
		chosen[i], relu[i] = l.Kernel, j.Layers[i].ReLU
	}
	if err := q.geometries(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, l := range q.Layers {
		l.Kernel, l.ReLU = chosen[i], relu[i]
		if l.PoolShift != 0 && l.Kernel != kernels.VarInvalid && !l.Kernel.NNQ() {
			return nil, fmt.Errorf("%s: layer %q: kernel %s cannot shift the average (pool_shift %d)", path, l.Name, l.Kernel, l.PoolShift)
		}
	}
	for _, l := range q.Layers {
		switch {
		case l.Kernel != kernels.VarInvalid:
			if err := l.Kernel.Valid(l.Geom, q.Path); err != nil {
				return nil, fmt.Errorf("%s: layer %q: kernel %s is not valid here: %v", path, l.Name, l.Kernel, err)
			}
			if l.ReLU && !l.Kernel.NNQ() {
				return nil, fmt.Errorf("%s: layer %q: kernel %s cannot fuse a ReLU", path, l.Name, l.Kernel)
			}
		case l.Op == OpFlatten || l.Op == OpReshape:
		case q.FusedInto(l) != nil:
		default:
			return nil, fmt.Errorf("%s: layer %q (%s) names no kernel", path, l.Name, l.Op)
		}
	}
	return q, nil
}
