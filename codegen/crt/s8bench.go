package crt

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnq-toolkit/nnq/codegen/harness"
)

// S8KernelCount is the instruction count of one s8 kernel call on a
// Cortex-M core, with nnq's runtime and with the real CMSIS-NN library.
type S8KernelCount struct {
	Layer    string // shape description
	Function string // the API function called (a wrapper where one exists)
	MACs     int64  // multiply-accumulates (additions for pooling)
	NNQ      uint64 // instructions with nnq's runtime
	Library  uint64 // instructions with CMSIS-NN (0 if not measured)
}

// PerMAC returns instructions per MAC for n instructions.
func (c S8KernelCount) PerMAC(n uint64) float64 { return float64(n) / float64(c.MACs) }

// s8BenchLayers are the layer shapes of the bundled kws-dscnn network (49x10
// MFCC input, 64 channels), each one call of the s8 API.
var s8BenchLayers = []struct{ layer, function string }{
	{"conv 10x4, 1->64, stride 2x2 on 49x10 (SAME)", "arm_convolve_wrapper_s8"},
	{"depthwise 3x3, 64 ch on 25x5 (SAME)", "arm_depthwise_conv_wrapper_s8"},
	{"conv 1x1, 64->64 on 25x5", "arm_convolve_wrapper_s8"},
	{"avgpool 25x5, 64 ch", "arm_avgpool_s8"},
	{"fully connected 64->12", "arm_fully_connected_s8"},
}

// s8BenchMACs are the layers' multiply-accumulates (additions for the pool).
var s8BenchMACs = []int64{25 * 5 * 64 * 40, 25 * 5 * 64 * 9, 25 * 5 * 64 * 64, 25 * 5 * 64, 64 * 12}

// MeasureS8KWS runs the kws-dscnn layer shapes once each on a Cortex-M
// target under QEMU ("cortex-m4", "cortex-m7", ...) with nnq's s8 runtime
// and, when cmsisNNPath is a CMSIS-NN checkout, with the real library, and
// returns exact instruction counts per call (harness TCG plugin, traced
// build: each count includes the few instructions of the trace call). The
// two builds' layer outputs must agree bit for bit.
func MeasureS8KWS(ctx context.Context, target, cmsisNNPath string) ([]S8KernelCount, error) {
	tg, err := harness.TargetByName(target)
	if err != nil {
		return nil, err
	}
	if tg.IsHost() {
		return nil, fmt.Errorf("crt: instruction counts need a Cortex-M target, not %s", target)
	}
	nnq, trace, err := s8BenchRun(ctx, tg, "")
	if err != nil {
		return nil, err
	}
	counts := make([]S8KernelCount, len(s8BenchLayers))
	for i, l := range s8BenchLayers {
		counts[i] = S8KernelCount{Layer: l.layer, Function: l.function, MACs: s8BenchMACs[i], NNQ: nnq[i]}
	}
	if cmsisNNPath == "" {
		return counts, nil
	}
	lib, libTrace, err := s8BenchRun(ctx, tg, cmsisNNPath)
	if err != nil {
		return nil, err
	}
	if string(libTrace) != string(trace) {
		return nil, fmt.Errorf("crt: nnq's runtime and CMSIS-NN (%s) give different layer outputs", cmsisNNPath)
	}
	for i := range counts {
		counts[i].Library = lib[i]
	}
	return counts, nil
}

// FormatS8Counts renders counts as a Markdown table.
func FormatS8Counts(counts []S8KernelCount) string {
	var b strings.Builder
	b.WriteString("| layer | function | MACs | nnq instr. | nnq /MAC | CMSIS-NN instr. | CMSIS-NN /MAC | nnq / CMSIS-NN |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range counts {
		lib, libPer, ratio := "—", "—", "—"
		if c.Library > 0 {
			lib = fmt.Sprint(c.Library)
			libPer = fmt.Sprintf("%.2f", c.PerMAC(c.Library))
			ratio = fmt.Sprintf("%.2f", float64(c.NNQ)/float64(c.Library))
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %d | %.2f | %s | %s | %s |\n", c.Layer, c.Function, c.MACs, c.NNQ,
			c.PerMAC(c.NNQ), lib, libPer, ratio)
	}
	return b.String()
}

// s8BenchRun builds and runs the benchmark network once with nnq's runtime
// (cmsisNN == "") or the library, returning per-layer counts and the trace.
func s8BenchRun(ctx context.Context, tg harness.Target, cmsisNN string) ([]uint64, []byte, error) {
	dir, err := os.MkdirTemp("", "nnq-s8bench-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "nn.h"), []byte(s8BenchHeader), 0o644); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.c"), []byte(s8BenchSource()), 0o644); err != nil {
		return nil, nil, err
	}
	var extra []string
	if cmsisNN == "" {
		if err := WriteRuntimeTo(dir, S8); err != nil {
			return nil, nil, err
		}
	} else {
		if _, err := os.Stat(filepath.Join(cmsisNN, "Include", "arm_nnfunctions.h")); err != nil {
			return nil, nil, fmt.Errorf("crt: %s is not a CMSIS-NN checkout: %w", cmsisNN, err)
		}
		data, err := sources.ReadFile(srcDir + "/nnq_cmsis_s8.h")
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "nnq_cmsis_s8.h"), data, 0o644); err != nil {
			return nil, nil, err
		}
		err = filepath.WalkDir(filepath.Join(cmsisNN, "Source"), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || filepath.Ext(p) != ".c" {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "cmsisnn_"+filepath.Base(p)), src, 0o644)
		})
		if err != nil {
			return nil, nil, err
		}
		extra = []string{"-DNNQ_USE_CMSIS_NN", "-I" + filepath.Join(cmsisNN, "Include"), "-w"}
	}
	bin, err := harness.Build(ctx, tg, harness.BuildOptions{ProjectDir: dir, Trace: true, ExtraCFlags: extra})
	if err != nil {
		return nil, nil, err
	}
	defer bin.Close()
	input := make([]byte, 49*10)
	r := rand.New(rand.NewSource(7))
	for i := range input {
		input[i] = byte(r.Intn(256))
	}
	res, err := bin.Run(ctx, input, 1)
	if err != nil {
		return nil, nil, err
	}
	if len(res.LayerInstructions) != 1 || len(res.LayerInstructions[0]) != len(s8BenchLayers) {
		return nil, nil, fmt.Errorf("crt: benchmark returned %d layer counts", len(res.LayerInstructions))
	}
	return res.LayerInstructions[0], res.PatternTrace(0), nil
}

const s8BenchHeader = `#include <stdint.h>
#define NN_INPUT_SIZE (49 * 10)
#define NN_OUTPUT_SIZE 12
#define NN_NUM_LAYERS 5
typedef int8_t nn_in_t;
typedef int8_t nn_out_t;
int nn_run(const nn_in_t *input, nn_out_t *output);
`

// s8BenchSource generates the network: random int8 weights, per-channel
// multipliers in [2^30, 2^31) (fixed seed), offsets of a ReLU network.
func s8BenchSource() string {
	r := rand.New(rand.NewSource(1))
	var b strings.Builder
	arr := func(typ, name string, n int, gen func() int64) {
		fmt.Fprintf(&b, "static %s %s[%d] = {", typ, name, n)
		for i := 0; i < n; i++ {
			if i%24 == 0 {
				b.WriteString("\n   ")
			}
			fmt.Fprintf(&b, " %d,", gen())
		}
		b.WriteString("\n};\n")
	}
	w8 := func() int64 { return int64(r.Intn(255) - 127) }
	mult := func() int64 { return 1<<30 + r.Int63n(1<<30) }
	bias := func() int64 { return int64(r.Intn(4001) - 2000) }
	b.WriteString("#include <stddef.h>\n#include \"nn.h\"\n#include \"nnq_cmsis_s8.h\"\n")
	arr("const int8_t", "w0", 64*10*4, w8)
	arr("const int32_t", "b0", 64, bias)
	arr("int32_t", "m0", 64, mult)
	arr("int32_t", "s0", 64, func() int64 { return -9 })
	arr("const int8_t", "w1", 9*64, w8)
	arr("const int32_t", "b1", 64, bias)
	arr("int32_t", "m1", 64, mult)
	arr("int32_t", "s1", 64, func() int64 { return -8 })
	arr("const int8_t", "w2", 64*64, w8)
	arr("const int32_t", "b2", 64, bias)
	arr("int32_t", "m2", 64, mult)
	arr("int32_t", "s2", 64, func() int64 { return -11 })
	arr("const int8_t", "w3", 12*64, w8)
	arr("const int32_t", "b3", 12, bias)
	b.WriteString(s8BenchBody)
	return b.String()
}

const s8BenchBody = `
#ifdef NNQ_TRACE
void nnq_trace(int layer, const void *data, unsigned bytes);
#define TRACE(l, p, n) nnq_trace((l), (p), (n))
#else
#define TRACE(l, p, n) ((void)0)
#endif

static int8_t act_a[25 * 5 * 64], act_b[25 * 5 * 64];
static int16_t scratch[1024];

int nn_run(const nn_in_t *input, nn_out_t *output)
{
    cmsis_nn_context ctx = {scratch, 0};
    const cmsis_nn_activation relu = {-128, 127};
    int st = 0;
    {
        const cmsis_nn_conv_params p = {128, -128, {2, 2}, {1, 4}, {1, 1}, relu};
        const cmsis_nn_per_channel_quant_params q = {m0, s0};
        const cmsis_nn_dims in = {1, 49, 10, 1}, f = {64, 10, 4, 1}, b = {1, 1, 1, 64}, out = {1, 25, 5, 64};
        ctx.size = arm_convolve_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
        st |= arm_convolve_wrapper_s8(&ctx, &p, &q, &in, input, &f, w0, &b, b0, &out, act_a);
        TRACE(0, act_a, sizeof act_a);
    }
    {
        const cmsis_nn_dw_conv_params p = {128, -128, 1, {1, 1}, {1, 1}, {1, 1}, relu};
        const cmsis_nn_per_channel_quant_params q = {m1, s1};
        const cmsis_nn_dims in = {1, 25, 5, 64}, f = {1, 3, 3, 64}, b = {1, 1, 1, 64}, out = {1, 25, 5, 64};
        ctx.size = arm_depthwise_conv_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
        st |= arm_depthwise_conv_wrapper_s8(&ctx, &p, &q, &in, act_a, &f, w1, &b, b1, &out, act_b);
        TRACE(1, act_b, sizeof act_b);
    }
    {
        const cmsis_nn_conv_params p = {128, -128, {1, 1}, {0, 0}, {1, 1}, relu};
        const cmsis_nn_per_channel_quant_params q = {m2, s2};
        const cmsis_nn_dims in = {1, 25, 5, 64}, f = {64, 1, 1, 64}, b = {1, 1, 1, 64}, out = {1, 25, 5, 64};
        ctx.size = arm_convolve_wrapper_s8_get_buffer_size(&p, &in, &f, &out);
        st |= arm_convolve_wrapper_s8(&ctx, &p, &q, &in, act_b, &f, w2, &b, b2, &out, act_a);
        TRACE(2, act_a, sizeof act_a);
    }
    {
        const cmsis_nn_pool_params p = {{1, 1}, {0, 0}, relu};
        const cmsis_nn_dims in = {1, 25, 5, 64}, f = {1, 25, 5, 1}, out = {1, 1, 1, 64};
        ctx.size = arm_avgpool_s8_get_buffer_size(out.w, in.c);
        st |= arm_avgpool_s8(&ctx, &p, &in, act_a, &f, &out, act_b);
        TRACE(3, act_b, 64);
    }
    {
        const cmsis_nn_fc_params p = {128, 0, 10, relu};
        const cmsis_nn_per_tensor_quant_params q = {1518500250, -9};
        const cmsis_nn_dims in = {1, 1, 1, 64}, f = {64, 1, 1, 12}, b = {1, 1, 1, 12}, out = {1, 1, 1, 12};
        ctx.size = arm_fully_connected_s8_get_buffer_size(&f);
        st |= arm_fully_connected_s8(&ctx, &p, &q, &in, act_b, &f, w3, &b, b3, &out, output);
        TRACE(4, output, 12);
    }
    return st;
}
`
