package codegen

import (
	"os"
	"strings"
	"testing"
)

// TestFrontendCMSISDSPFFT builds the float front end on CMSIS-DSP's
// arm_rfft_fast_f32 instead of nnq's FFT (a CMSIS-DSP checkout in
// CMSIS_DSP_PATH, CMSIS_5 in CMSIS_PATH for the Core headers), checks that
// it computes the same features, and compares the instructions per hop on
// the Cortex-M4.
func TestFrontendCMSISDSPFFT(t *testing.T) {
	needCC(t)
	if _, err := CMSISDSPFlags(t.TempDir(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "cmsis_compiler.h") {
		t.Errorf("CMSISDSPFlags on empty directories: %v", err)
	}
	dsp, core := os.Getenv("CMSIS_DSP_PATH"), os.Getenv("CMSIS_PATH")
	if dsp == "" || core == "" {
		t.Skip("CMSIS_DSP_PATH (a CMSIS-DSP checkout) and CMSIS_PATH (CMSIS_5, for Core/Include) not set")
	}
	flags, err := CMSISDSPFlags(dsp, core)
	if err != nil {
		t.Fatal(err)
	}
	q := kwsQModel(t, 8, "cortex-m4")
	dir := t.TempDir()
	if _, err := Export(q, dir, Options{Clips: bundledClips(t)}); err != nil {
		t.Fatal(err)
	}
	var counts [2]float64
	for i, extra := range [][]string{nil, flags} {
		res, err := VerifyFrontend(testCtx(t), dir, FrontendVerifyOptions{Target: "cortex-m4", ExtraCFlags: extra})
		if err != nil {
			t.Fatal(err)
		}
		counts[i] = res.InstructionsPerHop
		t.Logf("%s FFT: %.2f%% of %d values equal Go's, %d off by one; %.0f instructions per hop (max %d); front end code %d B, tables %d B (fe_* symbols)",
			[]string{"nnq", "CMSIS-DSP arm_rfft_fast_f32"}[i], 100*res.Share, res.Features, res.OffByOne, res.InstructionsPerHop, res.MaxInstructionsPerHop, res.CodeBytes, res.TableBytes)
	}
	t.Logf("per hop on cortex-m4: nnq FFT %.0f, CMSIS-DSP %.0f instructions (CMSIS-DSP / nnq = %.2f)", counts[0], counts[1], counts[1]/counts[0])
}
