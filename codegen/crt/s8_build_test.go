package crt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestS8CortexMBuilds cross-compiles the s8 runtime with -Wpedantic for the
// core classes the QEMU tests do not build (M0, M7, M33; M3 and M4 are
// built and run there at several optimisation levels) and checks that the
// DSP kernels are selected exactly on cores with the DSP extension.
func TestS8CortexMBuilds(t *testing.T) {
	armcc := needTool(t, "arm-none-eabi-gcc")
	rt := runtimeDir(t)
	probe := filepath.Join(t.TempDir(), "probe.c")
	src := "#include \"nnq_s8_internal.h\"\n#if NNQ_S8_DSP != WANT_DSP\n#error \"unexpected NNQ_S8_DSP\"\n#endif\nint nnq_probe(void) { return NNQ_S8_DSP; }\n"
	if err := os.WriteFile(probe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []struct {
		cpu, dsp string
		more     []string
		full     bool // compile every source, not just the probe
	}{
		{"cortex-m0", "0", nil, true},
		{"cortex-m3", "0", nil, false},
		{"cortex-m4", "1", []string{"-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"}, false},
		{"cortex-m7", "1", nil, true},
		{"cortex-m33", "1", nil, true},
	} {
		base := append([]string{"-mcpu=" + tg.cpu, "-mthumb"}, tg.more...)
		base = append(base, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-I", rt, "-c", "-o", os.DevNull)
		for _, f := range s8Sources {
			if !tg.full {
				break
			}
			if msg, err := exec.Command(armcc, append(append([]string{}, base...), filepath.Join(rt, f))...).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", tg.cpu, f, err, msg)
			}
		}
		if msg, err := exec.Command(armcc, append(append([]string{}, base...), "-DWANT_DSP="+tg.dsp, probe)...).CombinedOutput(); err != nil {
			t.Errorf("%s: NNQ_S8_DSP is not %s: %v\n%s", tg.cpu, tg.dsp, err, msg)
		}
	}
}

// TestS8LibraryMode compiles the s8 runtime with NNQ_USE_CMSIS_NN (and the
// legacy NNQ_USE_CMSIS) against a stub arm_nnfunctions.h: the files must
// define no symbols, so the real library provides every function.
func TestS8LibraryMode(t *testing.T) {
	cc := requireCC(t)
	rt := runtimeDir(t)
	stub := t.TempDir()
	if err := os.WriteFile(filepath.Join(stub, "arm_nnfunctions.h"), []byte("#include <stdint.h>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nm, nmErr := exec.LookPath("nm")
	for _, def := range []string{"-DNNQ_USE_CMSIS_NN", "-DNNQ_USE_CMSIS"} {
		for _, f := range s8Sources {
			obj := filepath.Join(stub, f+".o")
			args := append(append([]string{}, strictFlags...), "-Wpedantic", def, "-I", stub, "-I", rt, "-c", "-o", obj, filepath.Join(rt, f))
			if msg, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", f, def, err, msg)
			}
			if nmErr != nil {
				continue
			}
			syms, err := exec.Command(nm, obj).CombinedOutput()
			if err != nil {
				t.Fatalf("nm %s: %v", obj, err)
			}
			if s := strings.TrimSpace(string(syms)); s != "" {
				t.Errorf("%s with %s defines symbols:\n%s", f, def, s)
			}
		}
	}
}
