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

// needTool returns the path of a tool, skipping the test when it is
// missing, or failing it when CI=true (testenv.Tool).
func needTool(t *testing.T, name string) string {
	t.Helper()
	pkg := name
	if name == "arm-none-eabi-gcc" {
		pkg = "gcc-arm-none-eabi"
	}
	return testenv.Tool(t, name, pkg)
}

// cmTarget is a Cortex-M core and the QEMU board that runs it.
type cmTarget struct {
	cpu, machine string
	dsp          bool // the core has the DSP extension (m4 results)
}

var (
	cortexM3 = cmTarget{"cortex-m3", "mps2-an385", false}
	cortexM4 = cmTarget{"cortex-m4", "mps2-an386", true}
)

// cmBuild cross-compiles the given sources with the test start-up code and
// linker script into dir/driver.elf, with the semihosted case/result file
// names of the driver protocol.
func cmBuild(t *testing.T, tg cmTarget, dir string, incs, defs, srcs []string) string {
	t.Helper()
	armcc := needTool(t, "arm-none-eabi-gcc")
	if out, err := exec.Command(armcc, "-print-file-name=rdimon.specs").Output(); err != nil || !filepath.IsAbs(strings.TrimSpace(string(out))) {
		testenv.Missing(t, "newlib rdimon.specs not installed (Debian package libnewlib-arm-none-eabi)")
	}
	elf := filepath.Join(dir, "driver.elf")
	args := []string{"-mcpu=" + tg.cpu, "-mthumb", "-mfloat-abi=soft", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror",
		`-DNNQ_DRIVER_IN="cases.txt"`, `-DNNQ_DRIVER_OUT="results.txt"`}
	for _, i := range incs {
		args = append(args, "-I", i)
	}
	args = append(args, defs...)
	args = append(args, srcs...)
	args = append(args, filepath.Join("c", "testdriver", "cm_startup.c"), "-T", filepath.Join("c", "testdriver", "cm.ld"),
		"--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles", "-o", elf)
	if msg, err := exec.Command(armcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("building %s driver: %v\n%s", tg.cpu, err, msg)
	}
	return elf
}

// cmRun runs the cases through elf under QEMU (files in dir) and parses
// the results.
func cmRun(t *testing.T, tg cmTarget, dir, elf string, cases []dCase) []dResult {
	t.Helper()
	qemu := needTool(t, "qemu-system-arm")
	if err := os.WriteFile(filepath.Join(dir, "cases.txt"), encodeCases(cases), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-M", tg.machine, "-cpu", tg.cpu, "-nographic", "-monitor", "none",
		"-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel", elf)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemu %s: %v\n%s", tg.machine, err, tail(string(msg), 4000))
	}
	out, err := os.ReadFile(filepath.Join(dir, "results.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return parseDriverOutput(t, string(out), cases)
}

// TestS8VectorsQEMU runs every s8/s16 vector case through nnq's runtime
// cross-compiled for Cortex-M3 (plain C path, against the host results) and
// Cortex-M4 (DSP kernels with ACLE intrinsics, against the m4 results).
func TestS8VectorsQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	rt := runtimeDir(t)
	cases, full := s8Vectors(t)
	// The DSP kernels' inline assembly is also checked at -Os and -O0
	// (other register allocations).
	for _, run := range []struct {
		tg  cmTarget
		opt string
	}{{cortexM3, "-O2"}, {cortexM4, "-O2"}, {cortexM4, "-Os"}, {cortexM4, "-O0"}} {
		tg := run.tg
		t.Run(tg.cpu+run.opt, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			srcs := []string{filepath.Join("c", "testdriver", "driver_s8.c")}
			for _, f := range s8DriverSources {
				srcs = append(srcs, filepath.Join(rt, f))
			}
			elf := cmBuild(t, tg, dir, []string{rt}, []string{run.opt}, srcs)
			start := time.Now()
			pass := s8RunCases(t, tg.cpu+run.opt, cases, tg.dsp, func(dcs []dCase) []dResult { return cmRun(t, tg, dir, elf, dcs) })
			if full && len(pass) != librarySpecs() {
				t.Errorf("%d functions pass, want %d", len(pass), librarySpecs())
			}
			t.Logf("%s on %s: %.1fs", tg.cpu, tg.machine, time.Since(start).Seconds())
		})
	}
}
