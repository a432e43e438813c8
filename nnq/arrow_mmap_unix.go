//go:build unix

package nnq

import (
	"os"
	"syscall"
)

// mapFile memory-maps a whole file read-only. The caller unmaps it with
// unmapFile; a file that cannot be mapped returns nil and is read with
// ReadAt instead.
func mapFile(f *os.File, size int64) []byte {
	if size <= 0 || int64(int(size)) != size {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

func unmapFile(b []byte) error { return syscall.Munmap(b) }

// dropMapped tells the kernel the mapped pages are not needed soon: they
// leave the process's resident set (they stay in the page cache, and a
// later read faults them back in). Streaming scans call it after every
// batch, so a scan of any length holds about one batch resident.
func dropMapped(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
