package kernels_test

import (
	"errors"
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// A 3×3 single-channel input convolved with one 2×2 filter, stride 1, no
// padding. Input Q0.7 (x/128), weights Q0.7, so products have 14 fractional
// bits; bias Q0.7 needs bias_shift 7 and out_shift 7 gives a Q0.7 output.
func ExampleConvolveHWCQ7Basic() {
	g := kernels.SquareGeom(3, 1, 1, 2, 0, 1, 2)
	in := []int8{
		64, 32, 0,
		-64, 16, 8,
		0, 0, 127,
	}
	wt := []int8{64, 64, 64, 64} // 0.5 each
	bias := []int8{16}           // 0.125
	out := make([]int8, g.OutSize())
	if err := kernels.ConvolveHWCQ7Basic(kernels.Opts{}, g, in, wt, bias, 7, 7, out); err != nil {
		panic(err)
	}
	fmt.Println(out)
	// Output:
	// [40 44 -8 92]
}

// Variant.Valid tells the variant selector which functions may run a
// geometry on a target, and why not.
func ExampleVariant_Valid() {
	g := kernels.SquareGeom(8, 4, 2, 3, 1, 1, 9) // one more output row/column than standard
	for _, t := range []kernels.Target{kernels.CPath, kernels.DSPPath} {
		err := kernels.VarConvolveHWCQ7Fast.Valid(g, t)
		fmt.Printf("%s on %s: ok=%v unsafe=%v\n", kernels.VarConvolveHWCQ7Fast, t, err == nil, errors.Is(err, kernels.ErrDSPUnsafe))
	}
	fmt.Println(kernels.VarConvolveHWCQ7Basic.Valid(g, kernels.DSPPath) == nil)
	// Output:
	// arm_convolve_HWC_q7_fast on C: ok=true unsafe=false
	// arm_convolve_HWC_q7_fast on DSP: ok=false unsafe=true
	// true
}

// On a Cortex-M4 the library's average pool is separable and truncates
// twice, and it overwrites its input.
func ExampleAvepoolQ7HWC() {
	g := kernels.SquareGeom(2, 1, 1, 2, 0, 2, 1)
	out := make([]int8, 1)

	in := []int8{1, 2, 3, 2}
	_ = kernels.AvepoolQ7HWC(kernels.Opts{Target: kernels.CPath}, g, in, out)
	fmt.Println("C:  ", out, in)

	in = []int8{1, 2, 3, 2}
	_ = kernels.AvepoolQ7HWC(kernels.Opts{Target: kernels.DSPPath}, g, in, out)
	fmt.Println("DSP:", out, in)
	// Output:
	// C:   [2] [1 2 3 2]
	// DSP: [1] [1 2 2 2]
}

// Counting saturations while simulating a fully connected layer.
func ExampleStats() {
	var st kernels.Stats
	o := kernels.Opts{Stats: &st}
	v := []int8{100, 100}
	w := []int8{100, 100, -100, -100, 1, 1} // 3 rows × 2 columns
	out := make([]int8, 3)
	_ = kernels.FullyConnectedQ7(o, v, w, 2, 3, 0, 7, []int8{0, 0, 0}, out)
	fmt.Println(out, st.SatHigh, st.SatLow, st.Values)
	// Output:
	// [127 -128 2] 1 1 3
}
