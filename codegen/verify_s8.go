package codegen

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/codegen/harness"
	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// checkLibrary refuses a library of the wrong API: CMSIS_5 (legacy q7/q15)
// for an s8/s16 export, CMSIS-NN (s8/s16) for a q7/q15 one.
func checkLibrary(q *nnq.QModel, opt VerifyOptions) error {
	switch {
	case q.IsAffine() && opt.CMSISPath != "":
		return fmt.Errorf("%s is an %s export: it builds against a CMSIS-NN checkout (the s8/s16 API; CMSISNNPath, --cmsis-nn), not CMSIS_5", q.Name, q.TypeName())
	case !q.IsAffine() && opt.CMSISNNPath != "":
		return fmt.Errorf("%s is a %s export of the legacy API: it builds against CMSIS_5 <= 5.9.0 (CMSISPath, --cmsis), not CMSIS-NN's s8/s16 API", q.Name, q.TypeName())
	case opt.CMSISPath != "" && opt.CMSISNNPath != "":
		return fmt.Errorf("give one library, not CMSIS_5 and CMSIS-NN")
	}
	return nil
}

// s8BuildFlags are the compiler flags of an s8/s16 export on target tg
// (with -DCMSIS_NN_USE_SINGLE_ROUNDING for the single and onnx roundings):
// the s8/s16 kernels give the same results on the C and DSP paths except
// the s16 fully connected and fast depthwise kernels, which accumulate in
// 32 bits on the DSP path; a DSP-path model on the host therefore builds
// nnq's runtime with its DSP kernels emulated (NNQ_S8_DSP_EMULATE).
func s8BuildFlags(q *nnq.QModel, tg harness.Target, opt VerifyOptions) ([]string, error) {
	flags, err := s8PathFlags(q, tg, opt)
	if err != nil {
		return nil, err
	}
	// Single rounding: nnq's runtime and the library (compiled with the
	// same flags) both honour the macro.
	if m := q.AffineRounding.Macro(); m != "" {
		flags = append(flags, "-D"+m)
	}
	return flags, nil
}

// s8PathFlags are the flags that make an s8/s16 export follow q's code
// path on target tg.
func s8PathFlags(q *nnq.QModel, tg harness.Target, opt VerifyOptions) ([]string, error) {
	dsp := q.Path == kernels.DSPPath
	if tg.IsHost() {
		if !dsp {
			return nil, nil
		}
		if opt.CMSISNNPath != "" && q.Bits == 16 {
			return nil, fmt.Errorf("codegen: %s was quantized for the DSP path (%s): the real CMSIS-NN library cannot compile its DSP code for the host; verify on host without CMSISNNPath (nnq's runtime emulates it) or on a DSP Cortex-M target", q.Name, q.Target)
		}
		if opt.CMSISNNPath != "" {
			return nil, nil // s8: the C path gives the DSP path's results
		}
		return []string{"-DNNQ_S8_DSP_EMULATE"}, nil
	}
	if tg.DSP() != dsp {
		return nil, fmt.Errorf("codegen: %s was quantized for %s (%s path) but %s compiles the %s path; re-quantize for %s or pick a matching target",
			q.Name, q.Target, q.Path, tg.Name, map[bool]string{true: "DSP", false: "C"}[tg.DSP()], tg.Name)
	}
	return nil, nil
}

// ExportArithmetic returns the arithmetic of the export in dir: "q7" or
// "q15" (legacy API), "s8" or "s16".
func ExportArithmetic(dir string) (string, error) {
	m, err := readManifest(dir)
	if err != nil {
		return "", err
	}
	if m.Arithmetic != "" {
		return m.Arithmetic, nil
	}
	if m.Bits == 16 {
		return "q15", nil
	}
	return "q7", nil
}
