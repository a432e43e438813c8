package harness

import (
	"fmt"

	"github.com/nnq-toolkit/nnq/kernels"
)

// Target is a machine a generated network is built for: the host (native
// cc, for fast functional checks and sanitizers) or a Cortex-M core run
// under qemu-system-arm.
type Target struct {
	// Name is one of kernels.CoreNames(): host, cortex-m0, cortex-m3,
	// cortex-m4, cortex-m7, cortex-m33.
	Name string

	cpu       string   // -mcpu value
	fpu       []string // float ABI and FPU flags
	mathCore  string   // legacy CMSIS core define, e.g. ARM_MATH_CM4
	dsp       bool     // ARMv7E-M / ARMv8-M Mainline DSP extension (from kernels.Core.Path)
	fp        bool     // has an FPU (hard-float ABI)
	machine   string   // qemu-system-arm -M value
	flash     memRegion
	ram       memRegion
	stackSize int
}

type memRegion struct {
	origin, length uint32
}

// Boards and memory maps used under QEMU 7.2. The mps2 boards model their
// "flash" as 4 MiB of RAM at 0 (0x10000000 on the AN505, its secure alias),
// so code and constant data have plenty of room. QEMU 7.2 has no Cortex-M0
// mps2 image and its mps2 boards refuse -cpu cortex-m0, so cortex-m0 runs
// on the BBC micro:bit model (nRF51: 256 KiB flash, 16 KiB RAM), which
// bounds the size of networks that can run there. The list of names and
// their code paths is kernels.Cores; this table adds how to build and run
// each (a test checks that every core has an entry).
var boards = []Target{
	{Name: "host"},
	{
		Name: "cortex-m0", cpu: "cortex-m0", fpu: []string{"-mfloat-abi=soft"},
		mathCore: "ARM_MATH_CM0", machine: "microbit",
		flash: memRegion{0x00000000, 256 << 10}, ram: memRegion{0x20000000, 16 << 10},
		stackSize: 2 << 10,
	},
	{
		Name: "cortex-m3", cpu: "cortex-m3", fpu: []string{"-mfloat-abi=soft"},
		mathCore: "ARM_MATH_CM3", machine: "mps2-an385",
		flash: memRegion{0x00000000, 4 << 20}, ram: memRegion{0x20000000, 4 << 20},
		stackSize: 64 << 10,
	},
	{
		Name: "cortex-m4", cpu: "cortex-m4", fpu: []string{"-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"},
		mathCore: "ARM_MATH_CM4", fp: true, machine: "mps2-an386",
		flash: memRegion{0x00000000, 4 << 20}, ram: memRegion{0x20000000, 4 << 20},
		stackSize: 64 << 10,
	},
	{
		Name: "cortex-m7", cpu: "cortex-m7", fpu: []string{"-mfloat-abi=hard", "-mfpu=fpv5-d16"},
		mathCore: "ARM_MATH_CM7", fp: true, machine: "mps2-an500",
		flash: memRegion{0x00000000, 4 << 20}, ram: memRegion{0x20000000, 4 << 20},
		stackSize: 64 << 10,
	},
	{
		Name: "cortex-m33", cpu: "cortex-m33", fpu: []string{"-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"},
		mathCore: "ARM_MATH_ARMV8MML", fp: true, machine: "mps2-an505",
		// Secure alias of SSRAM1 (where the AN505 boots) and the 16 MiB
		// PSRAM at 0x80000000, which sits behind no TrustZone MPC.
		flash: memRegion{0x10000000, 4 << 20}, ram: memRegion{0x80000000, 16 << 20},
		stackSize: 64 << 10,
	},
}

// targets is boards in the order of kernels.Cores, with the DSP flag
// taken from the core's code path.
var targets = func() []Target {
	var ts []Target
	for _, c := range kernels.Cores() {
		for _, b := range boards {
			if b.Name == c.Name {
				b.dsp = c.Path == kernels.DSPPath
				ts = append(ts, b)
			}
		}
	}
	return ts
}()

// Targets returns all known targets, host first.
func Targets() []Target {
	return append([]Target(nil), targets...)
}

// TargetNames returns the names of all known targets: kernels.CoreNames
// (every core has a board; a test checks it).
func TargetNames() []string { return kernels.CoreNames() }

// TargetByName returns the target with the given name, as
// kernels.CoreByName reads it (case-insensitive; "m4" is cortex-m4).
func TargetByName(name string) (Target, error) {
	c, err := kernels.CoreByName(name)
	if err != nil {
		return Target{}, fmt.Errorf("harness: %w", err)
	}
	for _, t := range targets {
		if t.Name == c.Name {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("harness: no board for target %q", c.Name)
}

// IsHost reports whether t is the native host target.
func (t Target) IsHost() bool { return t.cpu == "" }

// DSP reports whether the core has the DSP (SIMD) extension; the build then
// defines ARM_MATH_DSP. True for cortex-m4, cortex-m7 and cortex-m33.
func (t Target) DSP() bool { return t.dsp }

// FPU reports whether the target is built for the hard-float ABI.
func (t Target) FPU() bool { return t.fp }

// CPU returns the -mcpu value ("" for the host).
func (t Target) CPU() string { return t.cpu }

// Board returns the qemu-system-arm machine the target runs on ("" for the
// host).
func (t Target) Board() string { return t.machine }

// String returns t.Name.
func (t Target) String() string { return t.Name }

// archFlags are the compiler flags selecting the core, ABI and the
// core-dependent defines.
func (t Target) archFlags() []string {
	if t.IsHost() {
		return nil
	}
	f := []string{"-mcpu=" + t.cpu, "-mthumb"}
	f = append(f, t.fpu...)
	f = append(f, "-D"+t.mathCore)
	if t.dsp {
		f = append(f, "-DARM_MATH_DSP")
	}
	return f
}
