package crt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestS8NNQKernelsBuild compiles nnq's own s8/s16 kernels (nnq_s8_nnq.c,
// always part of an s8/s16 export) strictly: with nnq's runtime on the host
// and for Cortex-M0/M4, and with NNQ_USE_CMSIS_NN against a CMSIS-NN
// checkout when CMSIS_NN_PATH is set. Unlike the library replacements they
// must define their nnq_* symbols in both modes. Their results are checked
// against the Go twins through whole exported networks (codegen's s8 tests).
func TestS8NNQKernelsBuild(t *testing.T) {
	cc := requireCC(t)
	rt := runtimeDir(t)
	dir := t.TempDir()
	src := filepath.Join(rt, "nnq_s8_nnq.c")
	want := []string{"nnq_act_s16", "nnq_add_s16", "nnq_avgpool_s8_even", "nnq_avgpool_s16_even", "nnq_mul_s16", "nnq_clamp_s16", "nnq_clamp_s8", "nnq_gru_s16", "nnq_gru_s8", "nnq_lstm_s16", "nnq_lstm_s8", "nnq_lut_s8", "nnq_softmax_s16_unwrap"}
	check := func(name, compiler string, args ...string) {
		obj := filepath.Join(dir, name+".o")
		args = append(args, "-c", "-o", obj, src)
		if msg, err := exec.Command(compiler, args...).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, msg)
			return
		}
		nm := "nm"
		if strings.Contains(compiler, "arm-none-eabi") {
			nm = "arm-none-eabi-nm"
		}
		p, err := exec.LookPath(nm)
		if err != nil {
			return
		}
		out, err := exec.Command(p, "-g", "--defined-only", obj).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", nm, obj, err, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), " "+w+"\n") {
				t.Errorf("%s: %s is not defined:\n%s", name, w, out)
			}
		}
	}
	check("host", cc, append(append([]string{}, strictFlags...), "-Wpedantic", "-I", rt)...)
	if root := os.Getenv("CMSIS_NN_PATH"); root != "" {
		check("host-cmsis-nn", cc, append(append([]string{}, strictFlags...), "-Wpedantic", "-DNNQ_USE_CMSIS_NN", "-I", rt, "-I", filepath.Join(root, "Include"))...)
	}
	armcc := needTool(t, "arm-none-eabi-gcc")
	for _, cpu := range [][]string{{"-mcpu=cortex-m0"}, {"-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"}} {
		check(cpu[0][6:], armcc, append(cpu, "-mthumb", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-I", rt)...)
	}
}
