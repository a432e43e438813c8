package codegen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnq-toolkit/nnq/nnq"
)

// TestKernelWhyRules exports one small network per rule that decides a
// layer's kernel and checks that the exported README gives, for that
// layer, the reason that applies to its geometry and target, and none of
// the reasons that do not.
func TestKernelWhyRules(t *testing.T) {
	pw := func(h, w, c int) netSpec { // a 1x1 convolution after a 3x3 one
		return netSpec{name: "pw", input: []int{h, w, c}, layers: []lspec{
			conv("c0", nil, 3, 3, c, 4, "same", 1, 0),
			conv("pw", nil, 1, 1, 4, 4, "valid", 1, 0),
		}}
	}
	cases := []struct {
		name, target, runtime string
		bits                  int
		net                   netSpec
		layer                 string
		// poolShift is set on the layer before the kernels are chosen
		// again for the runtime.
		poolShift int
		want      []string
		not       []string
	}{
		{name: "q15 1x1 with an odd output width on the DSP path (kws-dscnn's pw)", target: "cortex-m4", bits: 16, net: pw(25, 5, 4), layer: "pw",
			want: []string{"no CMSIS-NN q15 conv2d kernel fits", "arm_convolve_HWC_q15_fast_nonsquare: odd dim_im_out_x 5: the DSP path pairs pixels",
				"arm_convolve_HWC_q15_fast: square-only function", "input is 5x25 (x by y)", "arm_convolve_HWC_q15_basic: square-only"},
			not: []string{"even channel counts", "ch_im_in % 2"}},
		{name: "the same layer on the C path: fast_nonsquare fits", target: "cortex-m3", bits: 16, net: pw(25, 5, 4), layer: "pw",
			want: []string{"the fastest variant that fits", "arm_convolve_HWC_q15_fast: square-only"},
			not:  []string{"odd dim_im_out_x", "no CMSIS-NN"}},
		{name: "q15 convolution of one input channel (kws-dscnn's conv1)", target: "cortex-m4", bits: 16, net: pw(10, 6, 1), layer: "c0",
			want: []string{"no CMSIS-NN q15 conv2d kernel fits", "needs ch_im_in % 2 == 0 and ch_im_out % 2 == 0 (got 1, 4)", "input is 6x10 (x by y)"},
			not:  []string{"odd dim_im_out_x"}},
		{name: "square q15 layer with an odd output width on the DSP path: basic fits", target: "cortex-m4", bits: 16, net: pw(5, 5, 4), layer: "pw",
			want: []string{"the fastest variant that fits", "arm_convolve_HWC_q15_fast: DSP build needs an even dim_im_out (got 5)", "arm_convolve_HWC_q15_fast_nonsquare: odd dim_im_out_x 5"},
			not:  []string{"square-only", "no CMSIS-NN"}},
		{name: "non-square q7 average pool", target: "cortex-m3", bits: 8, layer: "ap",
			net:  netSpec{name: "ap", input: []int{6, 4, 4}, layers: []lspec{pool("ap", nnq.OpAvgPool2D, nil, 2, 2, 2, 2, "valid", 0)}},
			want: []string{"arm_avepool_q7_HWC: square-only function", "input is 4x6 (x by y)"},
			not:  []string{"DSP algorithm", "cannot shift"}},
		{name: "q7 max pool whose input another layer reads, on the DSP path", target: "cortex-m4", bits: 8, layer: "mp",
			net: netSpec{name: "mp", input: []int{4, 4, 4}, layers: []lspec{
				conv("c0", nil, 1, 1, 4, 4, "valid", 1, 0),
				pool("mp", nnq.OpMaxPool2D, nil, 2, 2, 2, 2, "valid", 0),
				pool("mp2", nnq.OpMaxPool2D, []string{"c0"}, 2, 2, 2, 2, "valid", 0),
				simple("a", nnq.OpAdd, "mp", "mp2"),
			}},
			want: []string{`arm_maxpool_q7_HWC: its DSP algorithm overwrites the input "c0", which another layer still reads`},
			not:  []string{"square-only", "padding >= stride"}},
		{name: "q7 max pool with padding >= stride on the DSP path", target: "cortex-m4", bits: 8, layer: "mp",
			net:  netSpec{name: "mp", input: []int{4, 4, 4}, layers: []lspec{pool("mp", nnq.OpMaxPool2D, nil, 3, 3, 1, 1, "same", 0)}},
			want: []string{"arm_maxpool_q7_HWC: with padding >= stride (padding 1x1, stride 1x1) its DSP algorithm mixes neighbouring windows"},
			not:  []string{"square-only", "overwrites the input"}},
		{name: "the same pool on the C path: the library's pool fits", target: "cortex-m3", bits: 8, layer: "mp",
			net:  netSpec{name: "mp", input: []int{4, 4, 4}, layers: []lspec{pool("mp", nnq.OpMaxPool2D, nil, 3, 3, 1, 1, "same", 0)}},
			want: []string{"| 0 | mp | `arm_maxpool_q7_HWC` |  |"},
			not:  []string{"padding >= stride", "nnq_maxpool"}},
		{name: "q7 average pool with a pool shift", target: "cortex-m3", bits: 8, layer: "ap", poolShift: 2,
			net:  netSpec{name: "ap", input: []int{4, 4, 4}, layers: []lspec{pool("ap", nnq.OpAvgPool2D, nil, 2, 2, 2, 2, "valid", 0)}},
			want: []string{"arm_avepool_q7_HWC: it cannot shift the average (the layer's pool shift is 2)"},
			not:  []string{"square-only"}},
		{name: "q15 pool", target: "cortex-m4", bits: 16, layer: "mp",
			net:  netSpec{name: "mp", input: []int{4, 4, 4}, layers: []lspec{pool("mp", nnq.OpMaxPool2D, nil, 2, 2, 2, 2, "valid", 0)}},
			want: []string{"CMSIS-NN has no q15 pooling"}},
		{name: "q15 depthwise", target: "cortex-m4", bits: 16, layer: "d",
			net:  netSpec{name: "d", input: []int{4, 4, 4}, layers: []lspec{dw("d", nil, 3, 3, 4, "same", 0)}},
			want: []string{"CMSIS-NN has no q15 depthwise convolution"}},
		{name: "nnq runtime, plain C core", target: "cortex-m3", bits: 8, runtime: nnq.RuntimeNNQ, net: pw(6, 6, 4), layer: "pw",
			want: []string{"plain C (the core has no DSP extension)"},
			not:  []string{"SIMD", "SMLAD", "pre-expanded"}},
		{name: "nnq runtime, DSP core, --optimize size", target: "cortex-m4", bits: 8, runtime: nnq.RuntimeNNQ, net: pw(6, 6, 4), layer: "pw",
			want: []string{"8-bit weights", "SMLAD"},
			not:  []string{"plain C", "flash budget", "pre-expanded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := c.runtime
			if rt == "" {
				rt = nnq.RuntimeCMSIS
			}
			opt := ""
			if rt == nnq.RuntimeNNQ {
				opt = nnq.OptimizeSize
			}
			q, _ := quantizedRT(t, c.net, c.bits, c.target, rt, opt)
			if c.poolShift != 0 {
				for _, l := range q.Layers {
					if l.Name == c.layer {
						l.PoolShift = c.poolShift
					}
				}
				var err error
				if q, err = q.WithRuntime(rt, opt); err != nil {
					t.Fatal(err)
				}
			}
			proj, err := Export(q, t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			readme, err := os.ReadFile(filepath.Join(proj.Dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			row := ""
			for _, line := range strings.Split(string(readme), "\n") {
				if strings.Contains(line, "| "+c.layer+" | `") {
					row = line
					break
				}
			}
			if row == "" {
				t.Fatalf("README has no kernel row for %s:\n%s", c.layer, readme)
			}
			for _, w := range c.want {
				if !strings.Contains(row, w) {
					t.Errorf("row lacks %q:\n%s", w, row)
				}
			}
			for _, w := range c.not {
				if strings.Contains(row, w) {
					t.Errorf("row has %q, which does not apply:\n%s", w, row)
				}
			}
		})
	}
}
