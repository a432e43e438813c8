package crt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

// armQEMUTools finds arm-none-eabi-gcc (with newlib's rdimon specs) and
// qemu-system-arm, or skips (fails when CI=true) without them.
func armQEMUTools(t *testing.T) (armcc, qemu string) {
	t.Helper()
	armcc = testenv.Tool(t, "arm-none-eabi-gcc", "gcc-arm-none-eabi")
	qemu = testenv.Tool(t, "qemu-system-arm", "qemu-system-arm")
	if out, err := exec.Command(armcc, "-print-file-name=rdimon.specs").Output(); err != nil || !filepath.IsAbs(strings.TrimSpace(string(out))) {
		testenv.Missing(t, "newlib rdimon.specs not installed (Debian package libnewlib-arm-none-eabi)")
	}
	return armcc, qemu
}

// TestCortexMQEMU cross-compiles the test driver with arm-none-eabi-gcc and
// runs every vector case (plus the nnq kernel unit cases) under
// qemu-system-arm: Cortex-M3 (C path, host results) on mps2-an385 and
// Cortex-M4 (ARM_MATH_DSP implied by the compiler, m4 results) on
// mps2-an386. Skipped when the toolchain, newlib's rdimon specs or QEMU are
// missing, and in -short mode.
func TestCortexMQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	armcc, qemu := armQEMUTools(t)
	rt := runtimeDir(t)
	for _, tg := range []struct {
		cpu, machine string
		dsp          bool
	}{
		{"cortex-m3", "mps2-an385", false},
		{"cortex-m4", "mps2-an386", true},
	} {
		t.Run(tg.cpu, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			elf := filepath.Join(dir, "driver.elf")
			args := []string{"-mcpu=" + tg.cpu, "-mthumb", "-mfloat-abi=soft"}
			args = append(args, strictFlags...)
			args = append(args, "-I", rt, `-DNNQ_DRIVER_IN="cases.txt"`, `-DNNQ_DRIVER_OUT="results.txt"`)
			args = append(args, runtimeSources(rt)...)
			args = append(args, filepath.Join("c", "testdriver", "driver.c"), filepath.Join("c", "testdriver", "cm_startup.c"),
				"-T", filepath.Join("c", "testdriver", "cm.ld"), "--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
				"-o", elf)
			if msg, err := exec.Command(armcc, args...).CombinedOutput(); err != nil {
				t.Fatalf("building %s driver: %v\n%s", tg.cpu, err, msg)
			}

			// Vector cases, then the nnq kernel unit cases.
			var cases []dCase
			var used []*vecRecord
			for _, r := range loadVectors(t) {
				if tg.dsp && r.DSPUnsafe {
					continue
				}
				c, err := vecCase(r)
				if err != nil {
					t.Fatalf("%s: %v", r.ID, err)
				}
				cases = append(cases, c)
				used = append(used, r)
			}
			units := nnqKernelCases()
			for _, u := range units {
				cases = append(cases, u.c)
			}
			if err := os.WriteFile(filepath.Join(dir, "cases.txt"), encodeCases(cases), 0o644); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, qemu, "-M", tg.machine, "-cpu", tg.cpu, "-nographic", "-monitor", "none",
				"-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel", elf)
			cmd.Dir = dir
			start := time.Now()
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("qemu %s: %v\n%s", tg.machine, err, tail(string(msg), 4000))
			}
			elapsed := time.Since(start)
			out, err := os.ReadFile(filepath.Join(dir, "results.txt"))
			if err != nil {
				t.Fatal(err)
			}
			res := parseDriverOutput(t, string(out), cases)

			failed := 0
			for i, r := range used {
				want := r.Host
				if tg.dsp {
					want = r.M4
				}
				if err := checkVector(r, cases[i], res[i], want); err != nil {
					failed++
					if failed <= 20 {
						t.Errorf("%s [%s]: %v", r.ID, tg.cpu, err)
					}
				}
			}
			for j, u := range units {
				got := res[len(used)+j]
				for k, w := range u.want {
					if w == nil {
						w = u.c.arrays[k].data
					}
					if !equalInts(got.arrays[k], w) {
						failed++
						t.Errorf("%s [%s]: array %d = %v, want %v", u.name, tg.cpu, k, got.arrays[k], w)
					}
				}
			}
			t.Logf("%s on %s: %d vector cases and %d nnq kernel cases, %d failures, %.1fs", tg.cpu, tg.machine, len(used), len(units), failed, elapsed.Seconds())
		})
	}
}
