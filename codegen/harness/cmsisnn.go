package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// cmsisNNDirs are the source folders of a CMSIS-NN checkout that the s8/s16
// exports need.
var cmsisNNDirs = []string{"ActivationFunctions", "BasicMathFunctions", "ConvolutionFunctions", "FullyConnectedFunctions",
	"NNSupportFunctions", "PoolingFunctions", "SoftmaxFunctions"}

// cmsisNNFiles finds the include directory and the sources of a CMSIS-NN
// checkout (ARM-software/CMSIS-NN, the s8/s16 API).
func cmsisNNFiles(path string) (inc string, srcs []string, err error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return "", nil, err
	}
	inc = filepath.Join(root, "Include")
	if _, err := os.Stat(filepath.Join(inc, "arm_nnfunctions.h")); err != nil {
		return "", nil, fmt.Errorf("harness: CMSIS-NN path %s has no Include/arm_nnfunctions.h (need a checkout of ARM-software/CMSIS-NN)", path)
	}
	for _, d := range cmsisNNDirs {
		m, err := filepath.Glob(filepath.Join(root, "Source", d, "*.c"))
		if err != nil {
			return "", nil, err
		}
		srcs = append(srcs, m...)
	}
	if len(srcs) == 0 {
		return "", nil, fmt.Errorf("harness: CMSIS-NN path %s has no Source/*/*.c", path)
	}
	sort.Strings(srcs)
	return inc, srcs, nil
}
