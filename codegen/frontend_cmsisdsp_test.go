package codegen

import (
	"os"
	"path/filepath"
	"testing"
)

// cmsisDSPFlags returns the compiler arguments that build frontend.c on
// CMSIS-DSP's arm_rfft_fast_f32 (FE_USE_CMSIS_DSP): a CMSIS-DSP checkout
// from CMSIS_DSP_PATH (Include, PrivateInclude, Source) and the Core
// headers of the CMSIS_5 checkout in CMSIS_PATH. It skips without them.
func cmsisDSPFlags(t *testing.T) []string {
	t.Helper()
	dsp, core := os.Getenv("CMSIS_DSP_PATH"), os.Getenv("CMSIS_PATH")
	if dsp == "" || core == "" {
		t.Skip("CMSIS_DSP_PATH (a CMSIS-DSP checkout) and CMSIS_PATH (CMSIS_5, for Core/Include) not set")
	}
	flags := []string{"-DFE_USE_CMSIS_DSP", "-DARM_MATH_LOOPUNROLL", "-I" + filepath.Join(dsp, "Include"), "-I" + filepath.Join(dsp, "PrivateInclude"),
		"-I" + filepath.Join(core, "CMSIS", "Core", "Include")}
	for _, f := range []string{
		"TransformFunctions/arm_rfft_fast_f32.c", "TransformFunctions/arm_rfft_fast_init_f32.c",
		"TransformFunctions/arm_cfft_f32.c", "TransformFunctions/arm_cfft_init_f32.c",
		"TransformFunctions/arm_cfft_radix8_f32.c", "TransformFunctions/arm_bitreversal2.c",
		"CommonTables/arm_common_tables.c", "CommonTables/arm_const_structs.c",
	} {
		p := filepath.Join(dsp, "Source", filepath.FromSlash(f))
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CMSIS_DSP_PATH=%s: %v", dsp, err)
		}
		flags = append(flags, p)
	}
	return flags
}

// TestFrontendCMSISDSPFFT builds the float front end on CMSIS-DSP's
// arm_rfft_fast_f32 instead of nnq's FFT, checks that it computes the same
// features, and compares the instructions per hop on the Cortex-M4.
func TestFrontendCMSISDSPFFT(t *testing.T) {
	needCC(t)
	flags := cmsisDSPFlags(t)
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
