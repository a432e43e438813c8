package testvec

import "math/rand"

// RandS8 returns n uniformly random int8 values.
func RandS8(r *rand.Rand, n int) []int8 {
	x := make([]int8, n)
	for i := range x {
		x[i] = int8(r.Intn(256) - 128)
	}
	return x
}

// RandS16 returns n uniformly random int16 values.
func RandS16(r *rand.Rand, n int) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(r.Intn(65536) - 32768)
	}
	return x
}
