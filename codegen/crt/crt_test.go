package crt

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

var (
	nnqFiles = []string{"nnq_act.c", "nnq_conv.c", "nnq_dsp.c", "nnq_dwconv.c", "nnq_fc.c", "nnq_internal.h", "nnq_kernels.h", "nnq_pool.c", "nnq_recurrent.c", "nnq_tables.c"}
	allFiles = []string{"nnq_act.c", "nnq_cmsis.h", "nnq_cmsis_rnn.c", "nnq_conv.c", "nnq_dsp.c", "nnq_dwconv.c", "nnq_fc.c", "nnq_internal.h", "nnq_kernels.h", "nnq_legacy.c", "nnq_pool.c", "nnq_recurrent.c", "nnq_tables.c"}
)

var wantS8Files = []string{"nnq_cmsis_s8.h", "nnq_s8_conv.c", "nnq_s8_dw.c", "nnq_s8_fc.c", "nnq_s8_internal.h", "nnq_s8_nnq.c", "nnq_s8_nnq.h",
	"nnq_s8_pool.c", "nnq_s8_softmax.c"}

func TestFiles(t *testing.T) {
	if got := Files(false); !reflect.DeepEqual(got, nnqFiles) {
		t.Errorf("Files(false) = %v, want %v", got, nnqFiles)
	}
	if got := Files(true); !reflect.DeepEqual(got, allFiles) {
		t.Errorf("Files(true) = %v, want %v", got, allFiles)
	}
	for _, f := range allFiles {
		if LegacyOnly(f) == slices.Contains(nnqFiles, f) {
			t.Errorf("LegacyOnly(%s) = %v", f, LegacyOnly(f))
		}
	}
	if got := RuntimeFiles(S8); !reflect.DeepEqual(got, wantS8Files) {
		t.Fatalf("RuntimeFiles(S8) = %v, want %v", got, wantS8Files)
	}
	if got := RuntimeFiles(Legacy); !reflect.DeepEqual(got, allFiles) {
		t.Errorf("RuntimeFiles(Legacy) = %v, want %v", got, allFiles)
	}
}

func TestWriteTo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gen", "crt")
	if err := WriteTo(dir, false); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(nnqFiles) {
		t.Fatalf("WriteTo wrote %d entries, want %d", len(entries), len(nnqFiles))
	}
	for _, name := range nnqFiles {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := Source(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: written content differs from Source", name)
		}
	}
	// Overwriting an existing copy works too.
	if err := WriteTo(dir, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Source("nnq_missing.c"); err == nil {
		t.Error("Source of an unknown file: no error")
	}
}

// TestExpansion checks that every template expands into C that reads as if
// written by hand: no template action or "<no value>" left, the generated
// notice present, each kernel defined once per word size, and the expansion
// deterministic.
func TestExpansion(t *testing.T) {
	for _, name := range Files(true) {
		b, err := Source(name)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, bad := range []string{"{{", "}}", "<no value>", "%!"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		if !strings.HasSuffix(src, "\n") || strings.Contains(src, "\n\n\n") || strings.Contains(src, " \n") {
			t.Errorf("%s: untidy blank lines or trailing blanks", name)
		}
		tmpl := name != "nnq_internal.h" && name != "nnq_tables.c" && name != "nnq_dsp.c"
		if tmpl != strings.Contains(src, Generated) {
			t.Errorf("%s: generated notice present = %v, want %v", name, !tmpl, tmpl)
		}
	}
	for _, fn := range []string{"void nnq_conv_q7(", "void nnq_conv_q15(", "void nnq_conv_q7_wide(", "void nnq_dwconv_q7(", "void nnq_dwconv_q15(",
		"void nnq_fc_q7(", "void nnq_fc_q15(", "void nnq_fc_q7_q15(", "void nnq_maxpool_q7(", "void nnq_avgpool_q15(", "void nnq_relu_q15(",
		"void nnq_act_q7(", "void nnq_softmax_q15(", "void nnq_mult_q7(", "arm_status nnq_gru_q7(", "arm_status nnq_lstm_q15(",
		"arm_status nnq_gru_cmsis_q15(", "arm_status arm_convolve_HWC_q15_fast_nonsquare(", "arm_status arm_fully_connected_mat_q7_vec_q15_opt("} {
		defs := 0
		for _, name := range Files(true) {
			if strings.HasSuffix(name, ".c") {
				b, _ := Source(name)
				defs += strings.Count(string(b), "\n"+fn)
			}
		}
		if defs != 1 {
			t.Errorf("%s...) defined %d times, want once", fn, defs)
		}
	}
	a, err := expandAll()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range expanded {
		if !bytes.Equal(a[name], want) {
			t.Errorf("%s: expansion not deterministic", name)
		}
	}
}

// TestTablesUpToDate regenerates nnq_tables.c and compares it with the committed file.
func TestTablesUpToDate(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			testenv.Missing(t, "go command not found")
		}
	}
	out := filepath.Join(t.TempDir(), "tables.c")
	cmd := exec.Command(goBin, "run", "gentables.go", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gentables.go: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("c", "nnq_tables.c"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("c/nnq_tables.c is stale: run go generate in codegen/crt")
	}
	// Spot values from the facts sheet.
	for _, s := range []string{
		"const q7_t nnq_sigmoid_table_q7[256] = {\n    64, 66,",
		"const q15_t nnq_tanh_table_q15[256] = {\n    0, 2045,",
	} {
		if !bytes.Contains(want, []byte(s)) {
			t.Errorf("nnq_tables.c lacks %q", s)
		}
	}
}

// TestCMSISMode compiles every runtime file with NNQ_USE_CMSIS against stub
// CMSIS headers: the legacy files must compile to nothing and the nnq
// kernels must build on the library's own types.
func TestCMSISMode(t *testing.T) {
	cc := requireCC(t)
	rt := runtimeDir(t)
	stub := t.TempDir()
	hdr := `#ifndef STUB_ARM_NNFUNCTIONS_H
#define STUB_ARM_NNFUNCTIONS_H
#define _ARM_MATH_TYPES_H_
#include <stdint.h>
typedef int8_t q7_t;
typedef int16_t q15_t;
typedef int32_t q31_t;
typedef enum { ARM_MATH_SUCCESS = 0, ARM_MATH_ARGUMENT_ERROR = -1, ARM_MATH_SIZE_MISMATCH = -3 } arm_status;
typedef enum { ARM_SIGMOID = 0, ARM_TANH = 1 } arm_nn_activation_type;
/* What nnq_recurrent.c calls (CMSIS 5.9.0 signatures). */
arm_status arm_fully_connected_q15(const q15_t *pV, const q15_t *pM, const uint16_t dim_vec, const uint16_t num_of_rows,
                                   const uint16_t bias_shift, const uint16_t out_shift, const q15_t *bias, q15_t *pOut,
                                   q15_t *vec_buffer);
arm_status arm_fully_connected_mat_q7_vec_q15(const q15_t *pV, const q7_t *pM, const uint16_t dim_vec,
                                              const uint16_t num_of_rows, const uint16_t bias_shift,
                                              const uint16_t out_shift, const q7_t *bias, q15_t *pOut,
                                              q15_t *vec_buffer);
void arm_nn_activations_direct_q15(q15_t *data, uint16_t size, uint16_t int_width, arm_nn_activation_type type);
void arm_nn_mult_q15(q15_t *pSrcA, q15_t *pSrcB, q15_t *pDst, const uint16_t out_shift, uint32_t blockSize);
#endif
`
	if err := os.WriteFile(filepath.Join(stub, "arm_nnfunctions.h"), []byte(hdr), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stub, "arm_nnsupportfunctions.h"), []byte("#include \"arm_nnfunctions.h\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files(true) {
		if !strings.HasSuffix(f, ".c") {
			continue
		}
		obj := filepath.Join(stub, f+".o")
		args := append(append([]string{}, strictFlags...), "-Wpedantic", "-DNNQ_USE_CMSIS", "-I", stub, "-I", rt, "-c", "-o", obj, filepath.Join(rt, f))
		if msg, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s with NNQ_USE_CMSIS: %v\n%s", f, err, msg)
		}
		if f != "nnq_legacy.c" {
			continue // nnq's own kernels: always compiled
		}
		if nm, err := exec.LookPath("nm"); err == nil {
			syms, err := exec.Command(nm, obj).CombinedOutput()
			if err != nil {
				t.Fatalf("nm %s: %v", obj, err)
			}
			if strings.Contains(string(syms), "arm_") || strings.Contains(string(syms), "Table_q") {
				t.Errorf("%s defines library symbols under NNQ_USE_CMSIS:\n%s", f, syms)
			}
		}
	}
}

// TestStrictHostBuilds compiles the runtime alone, per configuration, with
// -Wpedantic on top of the strict flags.
func TestStrictHostBuilds(t *testing.T) {
	cc := requireCC(t)
	rt := runtimeDir(t)
	for _, defs := range [][]string{nil, {"-DARM_MATH_DSP"}, {"-DARM_NN_TRUNCATE"}, {"-DARM_MATH_DSP", "-DARM_NN_TRUNCATE"},
		{"-DNNQ_SIMD_EMULATE"}, {"-DNNQ_SIMD_EMULATE", "-DARM_NN_TRUNCATE"}} {
		for _, f := range runtimeSources(rt) {
			args := append(append(append([]string{}, strictFlags...), "-Wpedantic", "-I", rt, "-c", "-o", os.DevNull), defs...)
			args = append(args, f)
			if msg, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				t.Errorf("%s %v: %v\n%s", f, defs, err, msg)
			}
		}
	}
}

// TestCortexMBuild cross-compiles the runtime with arm-none-eabi-gcc and
// checks that the DSP-path semantics are selected exactly on DSP cores.
func TestCortexMBuild(t *testing.T) {
	armcc := testenv.Tool(t, "arm-none-eabi-gcc", "gcc-arm-none-eabi")
	rt := runtimeDir(t)
	probe := filepath.Join(t.TempDir(), "probe.c")
	src := `#include "nnq_cmsis.h"
#if NNQ_DSP_PATH != WANT_DSP
#error "unexpected NNQ_DSP_PATH"
#endif
int nnq_probe(void) { return NNQ_DSP_PATH; }
`
	if err := os.WriteFile(probe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []struct {
		cpu  string
		dsp  string
		more []string
	}{
		{"cortex-m0", "0", nil},
		{"cortex-m3", "0", nil},
		{"cortex-m4", "1", nil},
		{"cortex-m4", "1", []string{"-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"}},
		{"cortex-m7", "1", nil},
		{"cortex-m33", "1", nil},
	} {
		base := append([]string{"-mcpu=" + target.cpu, "-mthumb"}, target.more...)
		base = append(base, strictFlags...)
		base = append(base, "-Wpedantic", "-I", rt, "-c", "-o", os.DevNull)
		for _, f := range runtimeSources(rt) {
			args := append(append([]string{}, base...), f)
			if msg, err := exec.Command(armcc, args...).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", target.cpu, filepath.Base(f), err, msg)
			}
		}
		args := append(append([]string{}, base...), "-DWANT_DSP="+target.dsp, probe)
		if msg, err := exec.Command(armcc, args...).CombinedOutput(); err != nil {
			t.Errorf("%s: NNQ_DSP_PATH is not %s: %v\n%s", target.cpu, target.dsp, err, msg)
		}
	}
}
