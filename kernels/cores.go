package kernels

import (
	"fmt"
	"strings"
)

// Core is a target nnq converts for and verifies on: the host, or a
// Cortex-M core that qemu-system-arm emulates. Its Path is the code path
// CMSIS 5.9.0 compiles for it.
type Core struct {
	Name string
	Path Target
}

// cores is the one list of targets: the command-line help and checks, the
// quantizer, the build harness and the docs all take it from here. Other
// cores map onto these by code path: M0+, M1 and M23 compile like cortex-m0
// and cortex-m3 (CPath), M35P like cortex-m33 (DSPPath), and the MVE cores
// M55/M85 take CPath (ARM_MATH_MVEI disables the legacy DSP code).
var cores = [...]Core{
	{"host", CPath},
	{"cortex-m0", CPath},
	{"cortex-m3", CPath},
	{"cortex-m4", DSPPath},
	{"cortex-m7", DSPPath},
	{"cortex-m33", DSPPath},
}

// Cores returns every target, host first.
func Cores() []Core { return append([]Core(nil), cores[:]...) }

// CoreNames returns the target names in the order of Cores.
func CoreNames() []string {
	names := make([]string, len(cores))
	for i, c := range cores {
		names[i] = c.Name
	}
	return names
}

// CoreByName returns the target named name. Case and surrounding space do
// not matter, and the "cortex-" prefix may be left out ("M4" is cortex-m4).
func CoreByName(name string) (Core, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if strings.HasPrefix(n, "m") {
		n = "cortex-" + n
	}
	for _, c := range cores {
		if c.Name == n {
			return c, nil
		}
	}
	return Core{}, fmt.Errorf("unknown target %q (one of %s)", name, strings.Join(CoreNames(), ", "))
}
