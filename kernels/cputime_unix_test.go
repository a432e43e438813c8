//go:build unix

package kernels

import "syscall"

// processCPU returns the user+system CPU time of the process in ns. The
// benchmarks report it per op ("cpu-ns/op") because wall time is unreliable
// on a shared, loaded machine.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
