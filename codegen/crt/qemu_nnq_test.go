package crt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNNQKernelsQEMU runs the random nnq kernel cases of
// TestNNQKernelsAgainstGo under qemu-system-arm: Cortex-M4 (mps2-an386:
// the DSP paths, their inline assembly at -O2 and the C twins at -O0),
// Cortex-M3 (mps2-an385: plain C), Cortex-M7 (mps2-an500) and Cortex-M33
// (mps2-an505), also at -O0 and with a frame pointer on the M4 (the
// assembly's register budget). Another seed than the host set, so together
// they cover more shapes. Skipped like TestCortexMQEMU.
func TestNNQKernelsQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	armcc, qemu := armQEMUTools(t)
	rt := runtimeDir(t)
	cases := randomKernelCases(2, 1)
	src, want := nnqKernelProgram(cases)
	ld, err := os.ReadFile(filepath.Join("c", "testdriver", "cm.ld"))
	if err != nil {
		t.Fatal(err)
	}
	// The AN505 (Cortex-M33) boots from the secure alias of SSRAM1 and has
	// its RAM at 0x80000000 (as codegen/harness's target table says).
	ld33 := strings.NewReplacer("ORIGIN = 0x00000000, LENGTH = 4M", "ORIGIN = 0x10000000, LENGTH = 4M",
		"ORIGIN = 0x20000000, LENGTH = 4M", "ORIGIN = 0x80000000, LENGTH = 16M").Replace(string(ld))
	for _, tg := range []struct {
		name, cpu, machine, opt string
	}{
		{"cortex-m4", "cortex-m4", "mps2-an386", "-O2"},
		{"cortex-m4-O0", "cortex-m4", "mps2-an386", "-O0"},
		{"cortex-m4-fp", "cortex-m4", "mps2-an386", "-O2 -fno-omit-frame-pointer"},
		{"cortex-m3", "cortex-m3", "mps2-an385", "-O2"},
		{"cortex-m7", "cortex-m7", "mps2-an500", "-O2"},
		{"cortex-m33", "cortex-m33", "mps2-an505", "-O2"},
	} {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			main := filepath.Join(dir, "main.c")
			if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			elf := filepath.Join(dir, "prog.elf")
			args := []string{"-mcpu=" + tg.cpu, "-mthumb", "-mfloat-abi=soft", "-std=c99", "-Wall", "-Wextra", "-Werror",
				"-Wno-overlength-strings", "-I", rt, main}
			args = append(args, strings.Fields(tg.opt)...)
			args = append(args, runtimeSources(rt)...)
			script := filepath.Join(dir, "cm.ld")
			text := string(ld)
			if tg.machine == "mps2-an505" {
				text = ld33
			}
			if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, filepath.Join("c", "testdriver", "cm_startup.c"), "-T", script,
				"--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles", "-o", elf)
			if msg, err := exec.Command(armcc, args...).CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, tail(string(msg), 3000))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			start := time.Now()
			cmd := exec.CommandContext(ctx, qemu, "-M", tg.machine, "-cpu", tg.cpu, "-nographic", "-monitor", "none",
				"-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel", elf)
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("qemu: %v\n%s", err, tail(string(out), 3000))
			}
			checkLines(t, tg.name, string(out), cases, want)
			t.Logf("%s: %.1fs", tg.name, time.Since(start).Seconds())
		})
	}
}
