package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// convertToy converts the toy network for target with extra convert
// options into DIR/name and returns that directory.
func convertToy(t *testing.T, dir, name, target string, extra ...string) string {
	t.Helper()
	model, patterns := writeToyNet(t, dir)
	out := filepath.Join(dir, name)
	args := append([]string{"convert", "--model", model, "--patterns", patterns, "--target", target, "--max-test", "20", "--out", out, "-q"}, extra...)
	if r := nnqRun(t, args...); r.code != 0 {
		t.Fatalf("convert: %s", r)
	}
	return out
}

// CMSIS_PATH in the environment is a default, applied where the library
// can be built: on the host an nnq-runtime export ignores it, and a
// --runtime cmsis export for a DSP core says why it cannot use it, while
// an explicit --cmsis for that export is refused with the reason.
func TestBinaryVerifyCMSISPathOnHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C")
	}
	dir := t.TempDir()
	tree := t.TempDir() // never built: every case here leaves the library out
	withEnv := func(args ...string) result {
		cmd := exec.Command(nnqBinary(t), args...)
		cmd.Env = append(os.Environ(), "CMSIS_PATH="+tree)
		return runCmd(t, cmd)
	}
	own := convertToy(t, dir, "nnq", "cortex-m4")
	r := withEnv("verify", own)
	if r.code != 0 || !strings.Contains(r.stdout, "nnq's runtime): 20 stored patterns, every layer compared: bit-exact") || strings.Contains(r.stdout, "note:") {
		t.Errorf("nnq runtime, CMSIS_PATH set: %s", r)
	}
	r = withEnv("verify", own, "--cmsis", tree)
	if r.code != 0 || !strings.Contains(r.stdout, "note: --cmsis on the host: this export runs nnq's kernels") {
		t.Errorf("nnq runtime, --cmsis: %s", r)
	}
	lib := convertToy(t, dir, "cmsis", "cortex-m4", "--runtime", "cmsis")
	r = withEnv("verify", lib)
	if r.code != 0 || !strings.Contains(r.stdout, "note: CMSIS_PATH ignored on the host: the library's DSP code path (cortex-m4) does not build there") ||
		!strings.Contains(r.stdout, "bit-exact") {
		t.Errorf("cmsis runtime, DSP path, CMSIS_PATH set: %s", r)
	}
	r = withEnv("verify", lib, "--cmsis", tree)
	if r.code != 1 || !strings.Contains(r.stderr, "the real CMSIS-NN library's DSP code does not build for the host") {
		t.Errorf("cmsis runtime, DSP path, --cmsis: %s", r)
	}
}

// With a real CMSIS_5 tree (CMSIS_PATH), verify on a Cortex-M target
// counts nnq's kernels and, next to them, the --runtime cmsis twin linked
// with the library, and records both in report.json and report.md; a
// sanitized host build of a --runtime cmsis export links the library with
// ASan and UBSan but shift-base.
func TestBinaryVerifyLibraryTwin(t *testing.T) {
	lib := os.Getenv("CMSIS_PATH")
	if lib == "" {
		t.Skip("CMSIS_PATH (a CMSIS_5 5.x tree) not set")
	}
	if testing.Short() {
		t.Skip("builds C and runs QEMU")
	}
	dir := t.TempDir()
	out := convertToy(t, dir, "nnq", "cortex-m4")
	r := nnqRun(t, "verify", out, "--target", "cortex-m4", "--cmsis", lib, "--max-patterns", "4")
	if r.code != 0 || !strings.Contains(r.stdout, "--runtime cmsis twin on the CMSIS-NN library at "+lib) || !strings.Contains(r.stdout, "lib/nnq") {
		t.Fatalf("verify --cmsis on cortex-m4: %s", r)
	}
	rep, err := nnq.ReadReport(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.LibraryPath != lib || rep.LibraryInstructionsPerInference == 0 || rep.InstructionsPerInference == 0 || rep.LibraryFlashBytes == 0 {
		t.Errorf("report: library %q %d instructions (nnq %d), flash %d", rep.LibraryPath, rep.LibraryInstructionsPerInference, rep.InstructionsPerInference, rep.LibraryFlashBytes)
	}
	arm := 0
	for _, l := range rep.Layers {
		if strings.HasPrefix(l.LibraryKernel, "arm_") && l.LibraryInstructions > 0 {
			arm++
		}
		if strings.HasPrefix(l.Kernel, "arm_") {
			t.Errorf("layer %s of the nnq export runs %s", l.Name, l.Kernel)
		}
	}
	if arm == 0 {
		t.Errorf("no layer ran a library kernel in the twin: %+v", rep.Layers)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "| library kernel | library instructions |") || !strings.Contains(string(md), "twin linked with the real CMSIS-NN library") {
		t.Errorf("report.md lacks the library columns:\n%s", md)
	}
	c := convertToy(t, dir, "cmsis-m3", "cortex-m3", "--runtime", "cmsis")
	if r := nnqRun(t, "verify", c, "--sanitize", "--cmsis", lib); r.code != 0 || !strings.Contains(r.stdout, "the CMSIS-NN library at "+lib) || !strings.Contains(r.stdout, "bit-exact") {
		t.Errorf("verify --sanitize --cmsis: %s", r)
	}
}
