//go:build !unix

package nnq

import "os"

// mapFile maps nothing here: pattern files are read with ReadAt.
func mapFile(f *os.File, size int64) []byte { return nil }

func unmapFile(b []byte) error { return nil }

func dropMapped(b []byte) {}
