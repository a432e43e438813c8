package crt

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Ground-truth vectors of the real CMSIS-NN 5.9.0 library (host = C path,
// m4 = DSP path), committed as fixtures of package kernels.
const vectorDir = "../../kernels/testdata/cmsis-nn-5.9.0"

const totalVectorCases = 1202

type vecResult struct {
	Status  *int               `json:"status"`
	Outputs map[string][]int64 `json:"outputs"` // nil slice = null (untouched)
}

type vecScratch struct {
	Type     string `json:"type"`
	Elements int    `json:"elements"`
}

type vecRecord struct {
	ID        string                 `json:"id"`
	Function  string                 `json:"function"`
	Tags      []string               `json:"tags"`
	DSPUnsafe bool                   `json:"dsp_unsafe"`
	Args      map[string]int64       `json:"args"`
	Types     map[string]string      `json:"types"`
	Inputs    map[string][]int64     `json:"inputs"`
	Scratch   map[string]*vecScratch `json:"scratch"`
	Host      vecResult              `json:"host"`
	M4        vecResult              `json:"m4"`
}

// Array roles in a function's parameter list.
const (
	roleIn      = iota // const input, must be left unchanged
	roleOut            // output
	roleInOut          // input whose content after the call is recorded in outputs
	roleScratch        // scratch buffer as listed in the record (NULL if null)
	roleNull           // always NULL (bufferB)
)

type vecArray struct {
	name string
	role int
}

type vecSpec struct {
	scalars []string
	arrays  []vecArray
}

var (
	convSquare = vecSpec{
		scalars: []string{"dim_im_in", "ch_im_in", "ch_im_out", "dim_kernel", "padding", "stride", "bias_shift", "out_shift", "dim_im_out"},
		arrays:  []vecArray{{"Im_in", roleIn}, {"wt", roleIn}, {"bias", roleIn}, {"Im_out", roleOut}, {"bufferA", roleScratch}, {"bufferB", roleNull}},
	}
	convNonSquare = vecSpec{
		scalars: []string{"dim_im_in_x", "dim_im_in_y", "ch_im_in", "ch_im_out", "dim_kernel_x", "dim_kernel_y", "padding_x", "padding_y",
			"stride_x", "stride_y", "bias_shift", "out_shift", "dim_im_out_x", "dim_im_out_y"},
		arrays: convSquare.arrays,
	}
	fcSpec = vecSpec{
		scalars: []string{"dim_vec", "num_of_rows", "bias_shift", "out_shift"},
		arrays:  []vecArray{{"pV", roleIn}, {"pM", roleIn}, {"bias", roleIn}, {"pOut", roleOut}, {"vec_buffer", roleScratch}},
	}
	poolSpec = vecSpec{
		scalars: []string{"dim_im_in", "ch_im_in", "dim_kernel", "padding", "stride", "dim_im_out"},
		arrays:  []vecArray{{"Im_in", roleInOut}, {"bufferA", roleScratch}, {"Im_out", roleOut}},
	}
	reluSpec    = vecSpec{scalars: []string{"size"}, arrays: []vecArray{{"data", roleInOut}}}
	directSpec  = vecSpec{scalars: []string{"size", "int_width", "type"}, arrays: []vecArray{{"data", roleInOut}}}
	softmaxSpec = vecSpec{scalars: []string{"dim_vec"}, arrays: []vecArray{{"vec_in", roleIn}, {"p_out", roleOut}}}
	multSpec    = vecSpec{scalars: []string{"out_shift", "blockSize"}, arrays: []vecArray{{"pSrcA", roleIn}, {"pSrcB", roleIn}, {"pDst", roleOut}}}
)

// vecSpecs gives, per function, the scalar and array parameters in the order
// c/testdriver/driver.c passes them.
var vecSpecs = map[string]vecSpec{
	"arm_convolve_HWC_q7_basic":                     convSquare,
	"arm_convolve_HWC_q7_fast":                      convSquare,
	"arm_convolve_HWC_q7_RGB":                       convSquare,
	"arm_convolve_HWC_q7_basic_nonsquare":           convNonSquare,
	"arm_convolve_HWC_q7_fast_nonsquare":            convNonSquare,
	"arm_convolve_1x1_HWC_q7_fast_nonsquare":        convNonSquare,
	"arm_convolve_HWC_q15_basic":                    convSquare,
	"arm_convolve_HWC_q15_fast":                     convSquare,
	"arm_convolve_HWC_q15_fast_nonsquare":           convNonSquare,
	"arm_depthwise_separable_conv_HWC_q7":           convSquare,
	"arm_depthwise_separable_conv_HWC_q7_nonsquare": convNonSquare,
	"arm_fully_connected_q7":                        fcSpec,
	"arm_fully_connected_q7_opt":                    fcSpec,
	"arm_fully_connected_q15":                       fcSpec,
	"arm_fully_connected_q15_opt":                   fcSpec,
	"arm_fully_connected_mat_q7_vec_q15":            fcSpec,
	"arm_fully_connected_mat_q7_vec_q15_opt":        fcSpec,
	"arm_maxpool_q7_HWC":                            poolSpec,
	"arm_avepool_q7_HWC":                            poolSpec,
	"arm_relu_q7":                                   reluSpec,
	"arm_relu_q15":                                  reluSpec,
	"arm_nn_activations_direct_q7":                  directSpec,
	"arm_nn_activations_direct_q15":                 directSpec,
	"arm_softmax_q7":                                softmaxSpec,
	"arm_softmax_q15":                               softmaxSpec,
	"arm_nn_mult_q7":                                multSpec,
	"arm_nn_mult_q15":                               multSpec,
}

var (
	vectorsOnce sync.Once
	vectors     []*vecRecord
	vectorsErr  error
)

func loadVectors(t *testing.T) []*vecRecord {
	t.Helper()
	vectorsOnce.Do(func() {
		files, err := filepath.Glob(filepath.Join(vectorDir, "*.jsonl"))
		if err != nil {
			vectorsErr = err
			return
		}
		if len(files) == 0 {
			vectorsErr = fmt.Errorf("no test vectors found in %s", vectorDir)
			return
		}
		sort.Strings(files)
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				vectorsErr = err
				return
			}
			sc := bufio.NewScanner(fh)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				if len(strings.TrimSpace(sc.Text())) == 0 {
					continue
				}
				r := new(vecRecord)
				if err := json.Unmarshal(sc.Bytes(), r); err != nil {
					fh.Close()
					vectorsErr = fmt.Errorf("%s: %v", f, err)
					return
				}
				vectors = append(vectors, r)
			}
			fh.Close()
			if err := sc.Err(); err != nil {
				vectorsErr = fmt.Errorf("%s: %v", f, err)
				return
			}
		}
	})
	if vectorsErr != nil {
		t.Fatal(vectorsErr)
	}
	return vectors
}

func typeBits(typ string) (int, error) {
	switch typ {
	case "q7":
		return 7, nil
	case "q15":
		return 15, nil
	}
	return 0, fmt.Errorf("unknown element type %q", typ)
}

// outputLen returns the length of output array name of r.
func outputLen(r *vecRecord, name string) (int, error) {
	if v := r.Host.Outputs[name]; v != nil {
		return len(v), nil
	}
	if v := r.M4.Outputs[name]; v != nil {
		return len(v), nil
	}
	// Both builds rejected the call: size from the convolution geometry.
	a := r.Args
	if d, ok := a["dim_im_out"]; ok {
		return int(d * d * a["ch_im_out"]), nil
	}
	if x, ok := a["dim_im_out_x"]; ok {
		return int(x * a["dim_im_out_y"] * a["ch_im_out"]), nil
	}
	return 0, fmt.Errorf("cannot size output %s", name)
}

// vecCase turns a record into a driver case.
func vecCase(r *vecRecord) (dCase, error) {
	spec, ok := vecSpecs[r.Function]
	if !ok {
		return dCase{}, fmt.Errorf("no spec for function %s", r.Function)
	}
	c := dCase{fn: r.Function}
	for _, s := range spec.scalars {
		v, ok := r.Args[s]
		if !ok {
			return dCase{}, fmt.Errorf("missing arg %s", s)
		}
		c.scalars = append(c.scalars, v)
	}
	if len(c.scalars) != len(r.Args) {
		return dCase{}, fmt.Errorf("record has %d args, spec %d", len(r.Args), len(c.scalars))
	}
	for _, a := range spec.arrays {
		switch a.role {
		case roleIn, roleInOut:
			bits, err := typeBits(r.Types[a.name])
			if err != nil {
				return dCase{}, fmt.Errorf("%s: %v", a.name, err)
			}
			data, ok := r.Inputs[a.name]
			if !ok {
				return dCase{}, fmt.Errorf("missing input %s", a.name)
			}
			c.arrays = append(c.arrays, dArray{bits: bits, mode: modeIn, data: data})
		case roleOut:
			bits, err := typeBits(r.Types[a.name])
			if err != nil {
				return dCase{}, fmt.Errorf("%s: %v", a.name, err)
			}
			n, err := outputLen(r, a.name)
			if err != nil {
				return dCase{}, err
			}
			c.arrays = append(c.arrays, dArray{bits: bits, mode: modeOut, n: n})
		case roleScratch:
			s := r.Scratch[a.name]
			if s == nil {
				c.arrays = append(c.arrays, dArray{bits: 15, mode: modeNull})
				continue
			}
			bits, err := typeBits(s.Type)
			if err != nil {
				return dCase{}, fmt.Errorf("%s: %v", a.name, err)
			}
			c.arrays = append(c.arrays, dArray{bits: bits, mode: modeScratch, n: s.Elements})
		case roleNull:
			c.arrays = append(c.arrays, dArray{bits: 7, mode: modeNull})
		}
	}
	return c, nil
}

// checkVector compares one driver result with the expected record result.
func checkVector(r *vecRecord, c dCase, got dResult, want vecResult) error {
	spec := vecSpecs[r.Function]
	wantStatus := "v"
	if want.Status != nil {
		wantStatus = fmt.Sprint(*want.Status)
	}
	if got.status != wantStatus {
		return fmt.Errorf("status %s, want %s", got.status, wantStatus)
	}
	for i, a := range spec.arrays {
		arr := c.arrays[i]
		gv := got.arrays[i]
		switch a.role {
		case roleIn:
			if !equalInts(gv, arr.data) {
				return fmt.Errorf("const input %s modified: %s", a.name, firstDiff(gv, arr.data))
			}
		case roleInOut, roleOut:
			wv, ok := want.Outputs[a.name]
			if !ok {
				return fmt.Errorf("record has no output %s", a.name)
			}
			if wv == nil { // untouched
				wv = make([]int64, arr.n)
				for j := range wv {
					wv[j] = fillValue(arr.bits)
				}
				if a.role == roleInOut {
					wv = arr.data
				}
			}
			if !equalInts(gv, wv) {
				return fmt.Errorf("output %s: %s", a.name, firstDiff(gv, wv))
			}
		}
	}
	return nil
}

// runVectors runs every vector case on one build flavour against the
// host (C path) or m4 (DSP path) results.
func runVectors(t *testing.T, flavour string, dsp bool) {
	exe := driver(t, flavour)
	recs := loadVectors(t)
	if len(recs) != totalVectorCases {
		t.Errorf("loaded %d vector cases, want %d", len(recs), totalVectorCases)
	}
	var cases []dCase
	var used []*vecRecord
	skipped := 0
	for _, r := range recs {
		if dsp && r.DSPUnsafe {
			skipped++ // nnq never emits these on DSP targets
			continue
		}
		c, err := vecCase(r)
		if err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		cases = append(cases, c)
		used = append(used, r)
	}
	results := runDriver(t, exe, cases)
	failed := 0
	perFn := map[string]int{}
	for i, r := range used {
		want := r.Host
		if dsp {
			want = r.M4
		}
		if err := checkVector(r, cases[i], results[i], want); err != nil {
			failed++
			if failed <= 30 {
				t.Errorf("%s [%s]: %v", r.ID, flavour, err)
			}
			continue
		}
		perFn[r.Function]++
	}
	if failed > 30 {
		t.Errorf("... %d failing cases in total", failed)
	}
	t.Logf("%s: %d/%d cases passed (%d dsp_unsafe skipped), %d functions", flavour, len(used)-failed, len(used), skipped, len(perFn))
}

func TestVectorsCPath(t *testing.T) {
	t.Parallel()
	runVectors(t, "c", false)
}

func TestVectorsDSPPath(t *testing.T) {
	t.Parallel()
	runVectors(t, "dsp", true)
}

func TestVectorsCPathSanitized(t *testing.T) {
	if testing.Short() {
		t.Skip("sanitizer build skipped in -short mode")
	}
	t.Parallel()
	runVectors(t, "c-san", false)
}

func TestVectorsDSPPathSanitized(t *testing.T) {
	if testing.Short() {
		t.Skip("sanitizer build skipped in -short mode")
	}
	t.Parallel()
	runVectors(t, "dsp-san", true)
}

// TestVectorsCoverage checks the fixture set itself: every function the
// runtime implements has vectors, and the per-build expectations used above
// really differ where the README says they do.
func TestVectorsCoverage(t *testing.T) {
	recs := loadVectors(t)
	seen := map[string]int{}
	unsafe, diff := 0, 0
	for _, r := range recs {
		seen[r.Function]++
		if r.DSPUnsafe {
			unsafe++
		}
		if fmt.Sprint(r.Host) != fmt.Sprint(r.M4) {
			diff++
		}
	}
	for fn := range vecSpecs {
		if seen[fn] == 0 {
			t.Errorf("no vectors for %s", fn)
		}
	}
	for fn := range seen {
		if _, ok := vecSpecs[fn]; !ok {
			t.Errorf("vectors for unknown function %s", fn)
		}
	}
	if unsafe != 38 {
		t.Errorf("%d dsp_unsafe cases, want 38", unsafe)
	}
	if diff == 0 {
		t.Errorf("no host/m4 differences found")
	}
}
