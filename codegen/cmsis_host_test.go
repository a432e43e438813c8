package codegen

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/internal/testenv"
)

// A --runtime cmsis export quantized for the library's DSP code path
// cannot be built against the library for a host compiler (the library
// would take its C path and differ): the Makefile and the CMake project
// both refuse with the same explanation, before compiling anything.
func TestDSPLibraryBuildRefusedOnHost(t *testing.T) {
	needCC(t)
	dspDir, _ := exportT(t, netSquareQ7, 8, "cortex-m4")
	cmsis := fakeCMSIS(t, dspDir)
	const want = "does not target a core with the DSP extension (__ARM_FEATURE_DSP)"
	t.Run("make", func(t *testing.T) {
		testenv.Tool(t, "make", "make")
		cmd := exec.CommandContext(testCtx(t), "make", "-s", "check", "CMSIS_PATH="+cmsis)
		cmd.Dir = dspDir
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "cortex-m4") {
			t.Fatalf("make check CMSIS_PATH=... on the host: %v\n%s", err, out)
		}
		// make clean still works with CMSIS_PATH set.
		cmd = exec.CommandContext(testCtx(t), "make", "-s", "clean", "CMSIS_PATH="+cmsis)
		cmd.Dir = dspDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make clean: %v\n%s", err, out)
		}
	})
	t.Run("cmake", func(t *testing.T) {
		testenv.Tool(t, "cmake", "cmake")
		out, err := exec.CommandContext(testCtx(t), "cmake", "-S", dspDir, "-B", t.TempDir(), "-DCMSIS_PATH="+cmsis).CombinedOutput()
		if err == nil || !strings.Contains(strings.Join(strings.Fields(string(out)), " "), want) {
			t.Fatalf("cmake -DCMSIS_PATH=... on the host: %v\n%s", err, out)
		}
	})
}
