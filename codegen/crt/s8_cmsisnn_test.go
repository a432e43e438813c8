package crt

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Cross-check against the real CMSIS-NN library (a checkout of
// ARM-software/CMSIS-NN, e.g. tag v7.0.0, in $CMSIS_NN_PATH): the s8 driver
// is built with -DNNQ_USE_CMSIS_NN against the library's own sources and
// must reproduce, on random cases, the results of the Go kernels, which
// nnq's runtime reproduces too (TestS8RandomVsGo, TestS8RandomQEMU).

// cmsisNNSources lists the library sources the s8/s16 API needs.
func cmsisNNSources(t *testing.T, root string) []string {
	t.Helper()
	var srcs []string
	for _, d := range []string{"ConvolutionFunctions", "FullyConnectedFunctions", "NNSupportFunctions", "PoolingFunctions",
		"SoftmaxFunctions", "BasicMathFunctions", "ActivationFunctions"} {
		err := filepath.WalkDir(filepath.Join(root, "Source", d), func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && filepath.Ext(p) == ".c" {
				srcs = append(srcs, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("CMSIS_NN_PATH=%s: %v", root, err)
		}
	}
	sort.Strings(srcs)
	return srcs
}

func cmsisNNRoot(t *testing.T) string {
	t.Helper()
	root := os.Getenv("CMSIS_NN_PATH")
	if root == "" {
		t.Skip("CMSIS_NN_PATH not set; skipping the cross-check with the real CMSIS-NN library")
	}
	if _, err := os.Stat(filepath.Join(root, "Include", "arm_nnfunctions.h")); err != nil {
		t.Fatalf("CMSIS_NN_PATH=%s is not a CMSIS-NN checkout: %v", root, err)
	}
	return root
}

// TestS8CMSISNNHost builds the library for the host (plain C path) and
// runs the random cases, in its default build and with
// CMSIS_NN_USE_SINGLE_ROUNDING (cases expecting single rounding). nnq's
// own kernels (nnq_s8_nnq.c: the ties-to-even pools) are linked next to it
// as in an export.
func TestS8CMSISNNHost(t *testing.T) {
	root := cmsisNNRoot(t)
	cc := requireCC(t)
	rt := runtimeDir(t)
	for _, run := range []struct {
		name string
		seed int64
		rq   kernels.Requant
		defs []string
	}{{"CMSIS-NN host", 21, kernels.DoubleRounding, nil}, {"CMSIS-NN host single rounding", 23, kernels.SingleRounding, []string{"-DCMSIS_NN_USE_SINGLE_ROUNDING"}}} {
		dir := t.TempDir()
		exe := filepath.Join(dir, "driver-cmsis-nn")
		args := append([]string{"-std=gnu17", "-O2", "-fwrapv", "-w", "-DNNQ_USE_CMSIS_NN"}, run.defs...)
		args = append(args, "-I", filepath.Join(root, "Include"), "-I", rt,
			"-o", exe, filepath.Join("c", "testdriver", "driver_s8.c"), filepath.Join(rt, "nnq_s8_nnq.c"))
		args = append(args, cmsisNNSources(t, root)...)
		if msg, err := exec.Command(cc, append(args, "-lm")...).CombinedOutput(); err != nil {
			t.Fatalf("building the library driver: %v\n%s", err, tail(string(msg), 4000))
		}
		cases := randomS8CasesWith(t, run.seed, 800, run.rq)
		pass := s8RunCases(t, run.name, cases, false, func(dcs []dCase) []dResult { return runDriver(t, exe, dcs) })
		reportCrossCheck(t, pass, len(cases))
	}
}

// TestS8CMSISNNQEMU builds the library for Cortex-M4 (its DSP path) and
// runs the random cases under QEMU, also with CMSIS_NN_USE_SINGLE_ROUNDING
// (a smaller sample).
func TestS8CMSISNNQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU runs skipped in -short mode")
	}
	root := cmsisNNRoot(t)
	rt := runtimeDir(t)
	srcs := append([]string{filepath.Join("c", "testdriver", "driver_s8.c"), filepath.Join(rt, "nnq_s8_nnq.c")}, cmsisNNSources(t, root)...)
	for _, run := range []struct {
		name string
		seed int64
		n    int
		rq   kernels.Requant
		defs []string
	}{{"CMSIS-NN cortex-m4", 22, 800, kernels.DoubleRounding, nil}, {"CMSIS-NN cortex-m4 single rounding", 24, 300, kernels.SingleRounding, []string{"-DCMSIS_NN_USE_SINGLE_ROUNDING"}}} {
		dir := t.TempDir()
		elf := cmBuild(t, cortexM4, dir, []string{filepath.Join(root, "Include"), rt}, append([]string{"-DNNQ_USE_CMSIS_NN", "-w", "-Wno-error"}, run.defs...), srcs)
		cases := randomS8CasesWith(t, run.seed, run.n, run.rq)
		pass := s8RunCases(t, run.name, cases, true, func(dcs []dCase) []dResult { return cmRun(t, cortexM4, dir, elf, dcs) })
		reportCrossCheck(t, pass, len(cases))
	}
}

func reportCrossCheck(t *testing.T, pass map[string]int, n int) {
	t.Helper()
	total := 0
	for _, v := range pass {
		total += v
	}
	if total != n {
		t.Errorf("the real library differs from nnq on %d of %d random cases", n-total, n)
	}
	if len(pass) < 20 {
		t.Errorf("only %d functions exercised: %v", len(pass), fmt.Sprint(pass))
	}
}
