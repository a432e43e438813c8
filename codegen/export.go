package codegen

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/nnq-toolkit/nnq/codegen/crt"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(templateFS, "templates/*.tmpl"))

// Paths of the files export writes for verification, relative to the
// project directory.
const (
	ManifestFile = "nnq/manifest.json"
	QuantFile    = "nnq/quant.json"
	PatternsFile = "nnq/patterns.arrow"
	VerifyFile   = "verify.json"

	manifestFormat = "nnq-export"
)

// Options tunes Export.
type Options struct {
	// Patterns, when set, are the test patterns (in the model's pattern
	// layout) stored in the project for Verify; the first one also becomes
	// the example of the host demo.
	Patterns *nnq.Patterns
	// PatternSet, when Patterns is nil, is a file-backed test set: the
	// same file is written, streamed batch by batch.
	PatternSet *nnq.PatternSet
	// MaxPatterns caps how many patterns are stored (0: all).
	MaxPatterns int
	// Clips are audio clips stored for VerifyFrontend (models with an
	// input front end only; see frontend.go).
	Clips []Clip
}

// KernelChoice is the variant report of one layer.
type KernelChoice struct {
	Layer    int
	Name     string
	Op       nnq.Op
	Function string // C function, "" for a buffer view
	// NNQ is set for nnq's own kernels (no legacy CMSIS-NN kernel fits).
	NNQ bool
	// Why explains an nnq_ kernel or a fallback.
	Why      string
	Rejected []string
	// ScratchBytes is the bufferA / vec_buffer the kernel needs on DSP
	// builds.
	ScratchBytes int
	// InPlace says the layer writes over its (dying) input; Copy that a
	// copy of the input is made first.
	InPlace, Copy bool
	// ReLU: a following ReLU is fused into this layer's kernel;
	// FusedInto names the layer a fused ReLU runs in.
	ReLU      bool
	FusedInto string
	// WideBytes is the flash the pre-expanded q15 weights of an
	// nnq_conv_q7_wide layer add over 8-bit ones (--optimize speed).
	WideBytes int
}

// Project describes an exported C project.
type Project struct {
	Dir   string
	Model *nnq.QModel
	Mem   *MemPlan
	// Kernels has one entry per layer.
	Kernels []KernelChoice
	// Files lists the written files (slash-separated, relative to Dir),
	// sorted.
	Files []string
	// WeightBytes is the size of the constant parameters (flash);
	// WideBytes the part spent on pre-expanded q15 weights (--optimize
	// speed) beyond what 8-bit weights take.
	WeightBytes, WideBytes int
	// Patterns is the number of test patterns stored for Verify.
	Patterns int
	// Frontend describes frontend.c/.h and app/app.c, written when the
	// model records an input front end (nil otherwise).
	Frontend *FrontendInfo
}

// manifest is nnq/manifest.json.
type manifest struct {
	Format      string   `json:"format"`
	Version     int      `json:"version"`
	Model       string   `json:"model"`
	Bits        int      `json:"bits"`
	Arithmetic  string   `json:"arithmetic,omitempty"`
	Target      string   `json:"target"`
	CodePath    string   `json:"code_path"`
	Runtime     string   `json:"runtime"`
	Optimize    string   `json:"optimize"`
	Rounding    string   `json:"rounding"`
	InputSize   int      `json:"input_size"`
	OutputSize  int      `json:"output_size"`
	NumLayers   int      `json:"num_layers"`
	Layers      []string `json:"layers"`
	Kernels     []string `json:"kernels"`
	ArenaBytes  int      `json:"arena_bytes"`
	WeightBytes int      `json:"weight_bytes"`
	Quant       string   `json:"quant"`
	Patterns    string   `json:"patterns,omitempty"`
	NumPatterns int      `json:"num_patterns"`
	Files       []string `json:"files"`
	// Frontend and Clips: the input front end and the clips stored for
	// VerifyFrontend (absent without a front end).
	Frontend *nnq.Frontend `json:"frontend,omitempty"`
	Clips    []string      `json:"clips,omitempty"`
}

// tmplData is what the templates see.
// MaxExamples is the bound on the demo's examples (for the templates).
func (tmplData) MaxExamples() int { return MaxExamples }

type tmplData struct {
	Name, Type, ElemC   string
	Bits                int
	Target, Path, Round string
	DSP                 bool
	Runtime, Optimize   string
	Legacy              bool // --runtime cmsis: the legacy CMSIS-NN API
	InputSize, OutSize  int
	InputShape          string
	InputLayout         string
	OutputShape         string
	InputFrac, OutFrac  int
	InputFmt, OutFmt    string
	InputScale          string
	OutputScale         string
	MinVal, MaxVal      int
	NumLayers           int
	Classes             []string
	ClassesC            []string
	Arrays              []cArray
	Decls               []string // nnq kernel parameter structs
	Tensors             []cTensor
	Layers              []*cLayer
	AnyStatus           bool
	InputMacro          string
	OutputMacro         string
	ActBytes            int
	ActElems            int
	ScratchBytes        int
	ArenaBytes          int
	LowerBound, Naive   int
	Strategy            string
	WeightBytes         int
	WideBytes           int // flash spent on pre-expanded weights (--optimize speed)
	Mem                 *MemPlan
	Kernels             []KernelChoice
	NNQKernels          []KernelChoice
	Rows                []formatRow
	RuntimeAll          []string // crt .c files compiled without CMSIS
	RuntimeNNQ          []string // crt .c files always compiled
	Headers             []string
	Example             *example
	Rounding            string
	// AffineRounding describes an s8/s16 export's non-default arithmetic.
	AffineRounding string
	// S8 holds the s8/s16 parts (nil for q7/q15 exports).
	S8       *s8Data
	Frontend *feData // nil: no input front end
}

type formatRow struct {
	Index                               int
	Name, Op, In, Out, W, B, BS, OS, Fn string
}

type example struct {
	Count   int
	Labels  []int      // per pattern, the expected class (-1: unlabelled)
	Inputs  [][]string // per pattern, value rows
	Outputs [][]string // per pattern, expected value rows (simulator)
	Floats  [][]string // per pattern, float HWC value rows
}

// Export writes a C project for q into dir (created if needed; existing
// files of the same names are overwritten).
func Export(q *nnq.QModel, dir string, opt Options) (*Project, error) {
	if q == nil || len(q.Layers) == 0 {
		return nil, errors.New("codegen: model has no layers")
	}
	if q.Float == nil {
		return nil, errors.New("codegen: quantized model has no float graph (needed to save it for verification)")
	}
	plan, err := PlanMemory(q)
	if err != nil {
		return nil, err
	}
	build, runtime, tmpls := buildData, crt.Legacy, legacyTemplates
	if q.IsAffine() {
		build, runtime, tmpls = buildDataS8, crt.S8, s8Templates
	}
	d, err := build(q, plan)
	if err != nil {
		return nil, err
	}
	p := &Project{Dir: dir, Model: q, Mem: plan, Kernels: d.Kernels, WeightBytes: d.WeightBytes, WideBytes: d.WideBytes}
	if d.Frontend, err = buildFrontend(q, d); err != nil {
		return nil, err
	}

	// Patterns for verification and the demo's example.
	var pats *nnq.Patterns
	var stream *nnq.PatternSet
	if opt.Patterns != nil && opt.Patterns.Len() > 0 {
		if err := q.Float.CheckPatterns(opt.Patterns); err != nil {
			return nil, fmt.Errorf("codegen: test patterns: %w", err)
		}
		pats = opt.Patterns
		if opt.MaxPatterns > 0 {
			pats = pats.Head(opt.MaxPatterns)
		}
		p.Patterns = pats.Len()
		ex, err := makeExample(q, pats, func(i int) ([]float32, error) { return pats.Input(i), nil })
		if err != nil {
			return nil, err
		}
		d.Example = ex
	} else if set := opt.PatternSet; set.Len() > 0 {
		if err := q.Float.CheckPatternSet(set); err != nil {
			return nil, fmt.Errorf("codegen: test patterns: %w", err)
		}
		if opt.MaxPatterns > 0 {
			set = set.Head(opt.MaxPatterns)
		}
		p.Patterns = set.Len()
		one := func(i int) ([]float32, error) {
			row, err := set.Slice(i, i+1).Load()
			if err != nil {
				return nil, err
			}
			return row.Input(0), nil
		}
		var err error
		if d.Example, err = makeExample(q, set, one); err != nil {
			return nil, err
		}
		stream = set
	}

	files := map[string][]byte{}
	for _, f := range tmpls {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, f.tmpl, d); err != nil {
			return nil, fmt.Errorf("codegen: %s: %w", f.name, err)
		}
		files[f.name] = b.Bytes()
	}
	if err := addFrontendFiles(d, p, files); err != nil {
		return nil, err
	}
	if d.Example != nil {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, "demo_example.h.tmpl", d); err != nil {
			return nil, fmt.Errorf("codegen: demo/example.h: %w", err)
		}
		files["demo/example.h"] = b.Bytes()
	}
	if err := os.MkdirAll(filepath.Join(dir, "demo"), 0o755); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "nnq"), 0o755); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	clips, err := prepareFrontendDirs(dir, q.Float.Frontend, d.Frontend != nil, opt.Clips)
	if err != nil {
		return nil, err
	}
	// Stale results of an earlier export must not survive.
	if d.Example == nil {
		os.Remove(filepath.Join(dir, "demo", "example.h"))
	}
	os.Remove(filepath.Join(dir, VerifyFile))
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data, 0o644); err != nil {
			return nil, fmt.Errorf("codegen: %w", err)
		}
	}
	// Runtime files of an earlier export into dir (the other runtime's, the
	// --runtime cmsis files in an nnq-runtime export, the retired
	// nnq_kernels.c) must not be compiled in.
	rtFiles := crt.RuntimeFiles(runtime)
	if runtime == crt.Legacy {
		rtFiles = crt.Files(q.Runtime == nnq.RuntimeCMSIS)
	}
	keep := map[string]bool{}
	for _, f := range rtFiles {
		keep[f] = true
	}
	for _, f := range append(append(crt.RuntimeFiles(crt.Legacy), crt.RuntimeFiles(crt.S8)...), "nnq_kernels.c") {
		if !keep[f] {
			os.Remove(filepath.Join(dir, f))
		}
	}
	if runtime == crt.Legacy {
		err = crt.WriteTo(dir, q.Runtime == nnq.RuntimeCMSIS)
	} else {
		err = crt.WriteRuntimeTo(dir, runtime)
	}
	if err != nil {
		return nil, err
	}
	names := []string{}
	for n := range files {
		names = append(names, n)
	}
	names = append(names, rtFiles...)

	// Verification data.
	if err := q.Save(filepath.Join(dir, filepath.FromSlash(QuantFile))); err != nil {
		return nil, fmt.Errorf("codegen: saving the quantized model: %w", err)
	}
	names = append(names, QuantFile)
	patPath := filepath.Join(dir, filepath.FromSlash(PatternsFile))
	if pats != nil || stream != nil {
		var err error
		if pats != nil {
			err = nnq.WritePatterns(patPath, pats)
		} else {
			err = nnq.WritePatternSet(patPath, stream, 0)
		}
		if err != nil {
			return nil, fmt.Errorf("codegen: writing the test patterns: %w", err)
		}
		names = append(names, PatternsFile)
	} else {
		os.Remove(patPath)
	}
	names = append(names, ManifestFile)
	names = append(names, clips...)
	sort.Strings(names)
	p.Files = names

	m := manifest{Format: manifestFormat, Version: 1, Model: q.Name, Bits: q.Bits, Target: q.Target, CodePath: q.Path.String(),
		Runtime: q.Runtime, Optimize: q.Optimize,
		Rounding: q.Rounding.String(), InputSize: d.InputSize, OutputSize: d.OutSize, NumLayers: len(q.Layers),
		ArenaBytes: plan.ArenaBytes, WeightBytes: d.WeightBytes, Quant: QuantFile, NumPatterns: p.Patterns, Files: names}
	if pats != nil || stream != nil {
		m.Patterns = PatternsFile
	}
	if q.IsAffine() {
		m.Arithmetic = q.TypeName()
	}
	if d.Frontend != nil {
		m.Frontend, m.Clips = q.Float.Frontend, clips
		p.Frontend.Clips = len(clips)
	}
	for _, k := range d.Kernels {
		m.Layers = append(m.Layers, k.Name)
		fn := k.Function
		if fn == "" {
			fn = "(view)"
		}
		m.Kernels = append(m.Kernels, fn)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(ManifestFile)), append(mb, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	return p, nil
}

// The project files and the templates that make them.
var legacyTemplates = []struct{ name, tmpl string }{
	{"nn.h", "nn.h.tmpl"},
	{"nn.c", "nn.c.tmpl"},
	{"nn_weights.h", "nn_weights.h.tmpl"},
	{"Makefile", "Makefile.tmpl"},
	{"CMakeLists.txt", "CMakeLists.txt.tmpl"},
	{"README.md", "README.md.tmpl"},
	{"demo/main.c", "demo_main.c.tmpl"},
}

var s8Templates = []struct{ name, tmpl string }{
	{"nn.h", "nn_s8.h.tmpl"},
	{"nn.c", "nn_s8.c.tmpl"},
	{"nn_weights.h", "nn_weights_s8.h.tmpl"},
	{"Makefile", "Makefile_s8.tmpl"},
	{"CMakeLists.txt", "CMakeLists_s8.txt.tmpl"},
	{"README.md", "README_s8.md.tmpl"},
	{"demo/main.c", "demo_main.c.tmpl"},
}

// makeExample quantizes the first patterns (at most 4) and runs them
// through the simulator for the demo's self-check.
// MaxExamples bounds the examples stored in demo/example.h.
const MaxExamples = 12

// Labelled is a set of patterns whose labels can be read without their
// inputs: *nnq.Patterns and the streamed *nnq.PatternSet.
type Labelled interface {
	Len() int
	Label(i int) int
}

// ExamplePatterns picks the demo's examples among the stored patterns: the
// first pattern of each class, in class order, up to MaxExamples; patterns
// without labels: the first MaxExamples.
func ExamplePatterns(p Labelled) []int {
	var idx []int
	first := map[int]int{}
	for i := 0; i < p.Len(); i++ {
		if l := p.Label(i); l >= 0 {
			if _, ok := first[l]; !ok {
				first[l] = i
			}
		}
	}
	if len(first) == 0 {
		for i := 0; i < min(p.Len(), MaxExamples); i++ {
			idx = append(idx, i)
		}
		return idx
	}
	labels := make([]int, 0, len(first))
	for l := range first {
		labels = append(labels, l)
	}
	sort.Ints(labels)
	for _, l := range labels[:min(len(labels), MaxExamples)] {
		idx = append(idx, first[l])
	}
	return idx
}

// makeExample simulates the demo's examples; input reads pattern i's
// input (from memory, or one row of a streamed set).
func makeExample(q *nnq.QModel, p Labelled, input func(i int) ([]float32, error)) (*example, error) {
	sim, err := q.NewSim(false)
	if err != nil {
		return nil, fmt.Errorf("codegen: simulator: %w", err)
	}
	picks := ExamplePatterns(p)
	ex := &example{Count: len(picks)}
	x := make([]int16, q.Float.InputSize())
	for _, i := range picks {
		in, err := input(i)
		if err != nil {
			return nil, fmt.Errorf("codegen: reading pattern %d: %w", i, err)
		}
		q.QuantizeInput(in, x)
		y, err := sim.Run(x)
		if err != nil {
			return nil, fmt.Errorf("codegen: simulating pattern %d: %w", i, err)
		}
		ex.Labels = append(ex.Labels, p.Label(i))
		ex.Inputs = append(ex.Inputs, valueRows(x, 16))
		hwc := make([]float32, len(x))
		q.Float.InputToCMSIS(in, hwc)
		ex.Floats = append(ex.Floats, floatRows(hwc, 8))
		ex.Outputs = append(ex.Outputs, valueRows(y, 16))
	}
	return ex, nil
}

// buildData prepares everything the templates need.
func buildData(q *nnq.QModel, plan *MemPlan) (*tmplData, error) {
	eb := elemBytes(q)
	d := &tmplData{Name: q.Name, Type: q.TypeName(), Bits: q.Bits, Target: q.Target, Path: q.Path.String(),
		Runtime: q.Runtime, Optimize: q.Optimize, Legacy: q.Runtime == nnq.RuntimeCMSIS,
		DSP: q.Path == kernels.DSPPath, Round: q.Rounding.String(), NumLayers: len(q.Layers), Mem: plan,
		ActBytes: plan.ActivationBytes, ScratchBytes: plan.ScratchBytes, ArenaBytes: plan.ArenaBytes,
		LowerBound: plan.LowerBound, Naive: plan.Naive, Strategy: plan.Strategy}
	if d.Name == "" {
		d.Name = "nn"
	}
	d.ElemC = "int8_t"
	d.MinVal, d.MaxVal = -128, 127
	if q.Bits == 16 {
		d.ElemC = "int16_t"
		d.MinVal, d.MaxVal = -32768, 32767
	}
	d.ActElems = plan.ActivationBytes / eb
	first, last := q.Layers[0], q.Layers[len(q.Layers)-1]
	d.InputSize = first.In[0].Size()
	d.InputShape = shapeStr(first.In[0].Shape)
	d.InputLayout = "vector"
	if first.In[0].Spatial() {
		d.InputLayout = "HWC order"
	}
	d.OutSize = last.Out.Size()
	d.OutputShape = shapeStr(last.Out.Shape)
	d.InputFrac, d.OutFrac = q.InputFrac, last.OutFrac
	d.InputFmt, d.OutFmt = nnq.QFormat(q.Bits, q.InputFrac), nnq.QFormat(q.Bits, last.OutFrac)
	d.InputScale, d.OutputScale = floatLit(q.InputFrac), floatLit(-last.OutFrac)
	if q.Rounding == kernels.Truncate {
		d.Rounding = "ARM_NN_TRUNCATE"
	}
	if len(q.Float.Classes) == d.OutSize {
		d.Classes = q.Float.Classes
		for _, c := range q.Float.Classes {
			d.ClassesC = append(d.ClassesC, cQuote(c))
		}
	}

	// Runtime files: nnq_legacy.c is only compiled without the real
	// library (it compiles to nothing with NNQ_USE_CMSIS).
	for _, f := range crt.Files(d.Legacy) {
		switch {
		case strings.HasSuffix(f, ".h"):
			d.Headers = append(d.Headers, f)
		case f == "nnq_legacy.c":
			d.RuntimeAll = append(d.RuntimeAll, f)
		case strings.HasSuffix(f, ".c"):
			d.RuntimeNNQ = append(d.RuntimeNNQ, f)
		}
	}

	macros := d.tensorMacros(plan, eb)
	ptr := func(t int) string { return macros[t] }

	for i, l := range q.Layers {
		st := plan.Steps[i]
		kc := KernelChoice{Layer: i, Name: l.Name, Op: l.Op, Rejected: l.Rejected, ScratchBytes: scratchBytes(l),
			InPlace: st.Reuses >= 0, Copy: st.Copy >= 0 || (st.InPlace && st.Reuses < 0)}
		if !st.View {
			kc.Function = l.Kernel.String()
			kc.NNQ = l.Kernel.NNQ()
			kc.ReLU = l.ReLU
			kc.Why = whyKernel(q, l)
		} else if p := q.FusedInto(l); p != nil {
			kc.FusedInto = p.Name
			kc.Why = fmt.Sprintf("fused into %q: its kernel clamps at 0; no code, a view of the same buffer", p.Name)
		}
		if l.Kernel == kernels.VarNNQConvQ7Wide {
			kc.WideBytes = l.Geom.OutC * kernels.NNQKP(l.Geom.KX*l.Geom.KY*l.Geom.InC) // one extra byte per stored weight
			d.WideBytes += kc.WideBytes
		}
		d.Kernels = append(d.Kernels, kc)
		if kc.NNQ {
			d.NNQKernels = append(d.NNQKernels, kc)
		}

		if l.Kernel.Kind() == kernels.KindRecurrent && !st.View {
			if err := d.addRecurrent(q, i, st, ptr, plan.ScratchBytes > 0); err != nil {
				return nil, err
			}
			d.Rows = append(d.Rows, recurrentRow(q, i, kc.Function))
			continue
		}
		wName, bName := "NULL", "NULL"
		if l.Weights != nil && !st.View && l.Kernel.NNQ() {
			var err error
			if wName, bName, err = d.addNNQParams(q, i); err != nil {
				return nil, err
			}
		} else if l.Weights != nil && !st.View {
			typ, wbits := weightType(l.Kernel)
			base := fmt.Sprintf("nn_l%d_%s", i, ident(l.Name))
			w := interleaved(l)
			order := weightOrder(l)
			arr := cArray{Ident: base + "_w", Type: typ, Len: len(w), Bytes: len(w) * wbits / 8,
				Comment: []string{fmt.Sprintf("layer %d %q (%s): weights %s, %s, %d values", i, l.Name, l.Op, nnq.QFormat(wbits, l.WeightFrac), order, len(w))},
				Rows:    valueRows(w, 16)}
			if err := checkValues(l, "weight", w, wbits); err != nil {
				return nil, err
			}
			bias := l.Bias
			nb := biasLen(l)
			if len(bias) == 0 {
				bias = make([]int16, nb)
			} else if len(bias) != nb {
				return nil, fmt.Errorf("codegen: layer %q has %d biases, want %d", l.Name, len(bias), nb)
			}
			if err := checkValues(l, "bias", bias, wbits); err != nil {
				return nil, err
			}
			barr := cArray{Ident: base + "_b", Type: typ, Len: len(bias), Bytes: len(bias) * wbits / 8,
				Comment: []string{fmt.Sprintf("layer %d %q (%s): bias %s, %d values (bias_shift %d)", i, l.Name, l.Op, nnq.QFormat(wbits, l.BiasFrac), len(bias), l.BiasShift)},
				Rows:    valueRows(bias, 16)}
			if len(l.Bias) == 0 {
				barr.Comment = append(barr.Comment, "the layer has no bias: zeros")
			}
			d.Arrays = append(d.Arrays, arr, barr)
			d.WeightBytes += arr.Bytes + barr.Bytes
			wName, bName = arr.Ident+".v", barr.Ident+".v"
		}
		cl, err := layerCode(q, i, st, ptr, wName, bName, plan.ScratchBytes > 0)
		if err != nil {
			return nil, err
		}
		cl.Comment = layerComment(q, i, st)
		d.Decls = append(d.Decls, cl.Decls...)
		if cl.Status {
			d.AnyStatus = true
		}
		d.Layers = append(d.Layers, cl)

		row := formatRow{Index: i, Name: l.Name, Op: string(l.Op), Out: nnq.QFormat(q.Bits, l.OutFrac), W: "-", B: "-", BS: "-", OS: "-", Fn: kc.Function}
		var ins []string
		for _, f := range l.InFrac {
			ins = append(ins, nnq.QFormat(q.Bits, f))
		}
		row.In = strings.Join(ins, ", ")
		if l.Weights != nil {
			_, wb := weightType(l.Kernel)
			row.W, row.B = nnq.QFormat(wb, l.WeightFrac), nnq.QFormat(wb, l.BiasFrac)
			row.BS, row.OS = fmt.Sprint(l.BiasShift), fmt.Sprint(l.OutShift)
		} else if l.Op == nnq.OpAdd || l.Op == nnq.OpMul {
			row.OS = fmt.Sprint(l.OutShift)
		}
		if row.Fn == "" {
			row.Fn = "(buffer view)"
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// tensorMacros names every tensor of the plan with a pointer macro into
// the arena (d.Tensors, d.InputMacro, d.OutputMacro) and returns the names.
func (d *tmplData) tensorMacros(plan *MemPlan, eb int) []string {
	macros := make([]string, len(plan.Tensors))
	for i, t := range plan.Tensors {
		macros[i] = fmt.Sprintf("NN_T%d_%s", i, ident(t.Name))
		note := fmt.Sprintf("%d bytes at %d, live %d..%d", t.Bytes, t.Offset, t.First, t.Last)
		if t.AliasOf >= 0 {
			note += fmt.Sprintf(", %s of %s", t.Role, plan.Tensors[t.AliasOf].Name)
		} else if t.Role != "" {
			note += ", " + t.Role
		}
		d.Tensors = append(d.Tensors, cTensor{Macro: macros[i], Expr: fmt.Sprintf("(nn_arena.act + %d)", t.Offset/eb), Comment: fmt.Sprintf("%q: %s", t.Name, note)})
	}
	d.InputMacro, d.OutputMacro = macros[0], macros[plan.Steps[len(plan.Steps)-1].Output]
	return macros
}

// runtimeFiles sorts runtime r's files into headers, files compiled only
// without the library (RuntimeAll) and nnq's own, always compiled (nnq).
func (d *tmplData) runtimeFiles(r crt.Runtime, nnq func(string) bool) {
	for _, f := range crt.RuntimeFiles(r) {
		switch {
		case strings.HasSuffix(f, ".h"):
			d.Headers = append(d.Headers, f)
		case nnq(f):
			d.RuntimeNNQ = append(d.RuntimeNNQ, f)
		case strings.HasSuffix(f, ".c"):
			d.RuntimeAll = append(d.RuntimeAll, f)
		}
	}
}

// cQuote renders s as a C string literal: printable ASCII as is, \, " and
// ? escaped, every other byte as a three-digit octal escape.
func cQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"' || c == '?':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func biasLen(l *nnq.QLayer) int {
	switch l.Kernel.Kind() {
	case kernels.KindFC:
		return l.Out.Size()
	}
	return l.Geom.OutC
}

func weightOrder(l *nnq.QLayer) string {
	switch l.Kernel.Kind() {
	case kernels.KindConv:
		g := l.Geom
		return fmt.Sprintf("OHWI [%d][%d][%d][%d]", g.OutC, g.KY, g.KX, g.InC)
	case kernels.KindDepthwise:
		g := l.Geom
		return fmt.Sprintf("[ky][kx][ch] [%d][%d][%d]", g.KY, g.KX, g.InC)
	case kernels.KindFC:
		if l.Kernel.Interleaved() {
			return fmt.Sprintf("%s interleaved from [%d][%d]", l.Kernel, l.Out.Size(), l.In[0].Size())
		}
		return fmt.Sprintf("row-major [%d][%d]", l.Out.Size(), l.In[0].Size())
	}
	return ""
}

func checkValues(l *nnq.QLayer, what string, v []int16, bits int) error {
	lo, hi := -128, 127
	if bits == 16 {
		lo, hi = -32768, 32767
	}
	for i, x := range v {
		if int(x) < lo || int(x) > hi {
			return fmt.Errorf("codegen: layer %q: %s %d = %d does not fit q%d", l.Name, what, i, x, bits-1)
		}
	}
	return nil
}
