package kernels

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// Edge cases of the CMSIS-DSP q15 element-wise twins, derived from the
// documented behaviour (no DSP test vectors exist here).
func TestDSPQ15Edges(t *testing.T) {
	a := []int16{-32768, -32768, 32767, 32767, -1, 1, 16384, -16384, 3, -3, 0, -32767}
	b := []int16{-32768, 32767, 32767, -32768, -1, -1, 16384, 16384, 5, 5, 12345, -32767}
	mult := []int16{
		32767,  // -32768·-32768 = 2^30, >>15 = 32768: the only saturating product
		-32767, // -32768·32767 = -1073709056, >>15 = -32767 (exact)
		32766,  // 32767² = 1073676289 >> 15 = 32766 (floor of 32766.00003)
		-32767, // 32767·-32768 = -1073709056 >> 15 = -32767
		0,      // 1 >> 15 = 0
		-1,     // -1 >> 15 = -1: the shift floors, it does not round toward zero
		8192,   // 0.5·0.5 = 0.25
		-8192,  // -0.25
		0,      // 15 >> 15
		-1,     // -15 >> 15 = -1
		0,      // 0
		32766,  // (-32767)² = 1073676289 >> 15 = 32766
	}
	add := []int16{-32768, -1, 32767, -1, -2, 0, 32767, 0, 8, 2, 12345, -32768}
	sub := []int16{0, -32768, 0, 32767, 0, 2, 0, -32768, -2, -8, -12345, 0}
	check := func(name string, f func(Opts, []int16, []int16, []int16) error, want []int16, sh, sl int64) {
		t.Helper()
		var st Stats
		got := make([]int16, len(a))
		if err := f(Opts{Stats: &st}, a, b, got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s(%d, %d) = %d, want %d", name, a[i], b[i], got[i], want[i])
			}
		}
		if st.SatHigh != sh || st.SatLow != sl || st.Values != int64(len(a)) {
			t.Errorf("%s: stats %v, want sat_high %d sat_low %d", name, st, sh, sl)
		}
		// In place: dst aliases a.
		c := append([]int16(nil), a...)
		if err := f(Opts{}, c, b, c); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if c[i] != want[i] {
				t.Errorf("%s in place: element %d = %d, want %d", name, i, c[i], want[i])
			}
		}
		if err := f(Opts{}, a[:2], b, got); !errors.Is(err, ErrShortBuffer) {
			t.Errorf("%s: short source: %v", name, err)
		}
	}
	check("nnq_mult_q15_dsp", NNQMultQ15DSP, mult, 1, 0)
	check("nnq_add_q15_sat", NNQAddQ15Sat, add, 2, 2)
	check("nnq_sub_q15_sat", NNQSubQ15Sat, sub, 1, 1)

	off := make([]int16, len(a))
	if err := NNQOffsetQ15Sat(Opts{}, a, 32767, off); err != nil {
		t.Fatal(err)
	}
	for i, x := range a {
		if want := int16(min(int32(x)+32767, 32767)); off[i] != want {
			t.Errorf("offset(%d, 32767) = %d, want %d", x, off[i], want)
		}
	}
	if err := NNQOffsetQ15Sat(Opts{}, []int16{-32768, -100, 100}, -32768, off[:3]); err != nil {
		t.Fatal(err)
	}
	if off[0] != -32768 || off[1] != -32768 || off[2] != -32668 {
		t.Errorf("offset(-32768) = %v", off[:3])
	}

	sh := make([]int16, 6)
	src := []int16{1, -1, 16384, -16385, 32767, -32768}
	for _, c := range []struct {
		s    int
		want []int16
	}{
		{0, []int16{1, -1, 16384, -16385, 32767, -32768}},
		{1, []int16{2, -2, 32767, -32768, 32767, -32768}},
		{3, []int16{8, -8, 32767, -32768, 32767, -32768}},
		{-1, []int16{0, -1, 8192, -8193, 16383, -16384}},
		{-15, []int16{0, -1, 0, -1, 0, -1}},
		{15, []int16{32767, -32768, 32767, -32768, 32767, -32768}}, // 1<<15 = 32768 saturates
	} {
		if err := NNQShiftQ15(Opts{}, src, c.s, sh); err != nil {
			t.Fatal(err)
		}
		for i := range sh {
			if sh[i] != c.want[i] {
				t.Errorf("shift(%d, %d) = %d, want %d", src[i], c.s, sh[i], c.want[i])
			}
		}
	}
	for _, s := range []int{-16, 16} {
		if err := NNQShiftQ15(Opts{}, src, s, sh); !errors.Is(err, ErrInvalid) {
			t.Errorf("shift %d: %v", s, err)
		}
	}

	q7 := []int8{-128, -1, 0, 1, 127}
	w := make([]int16, len(q7))
	if err := NNQQ7ToQ15(Opts{}, q7, w); err != nil {
		t.Fatal(err)
	}
	for i, x := range q7 {
		if w[i] != int16(x)*256 {
			t.Errorf("q7_to_q15(%d) = %d", x, w[i])
		}
	}
	n := make([]int8, 6)
	if err := NNQQ15ToQ7(Opts{}, []int16{-32768, -1, 255, 256, 32767, -257}, n); err != nil {
		t.Fatal(err)
	}
	if want := []int8{-128, -1, 0, 1, 127, -2}; string(int8Bytes(n)) != string(int8Bytes(want)) {
		t.Errorf("q15_to_q7 = %v, want %v", n, want)
	}
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// Random inputs against the definitions in 64-bit arithmetic.
func TestDSPQ15Random(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 4096
	a, b, got := make([]int16, n), make([]int16, n), make([]int16, n)
	for i := range a {
		a[i], b[i] = int16(r.IntN(65536)-32768), int16(r.IntN(65536)-32768)
	}
	clamp := func(v int64) int16 { return int16(min(max(v, -32768), 32767)) }
	floorDiv := func(v, d int64) int64 {
		q := v / d
		if v%d != 0 && v < 0 {
			q--
		}
		return q
	}
	if err := NNQMultQ15DSP(Opts{}, a, b, got); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if want := clamp(floorDiv(int64(a[i])*int64(b[i]), 32768)); got[i] != want {
			t.Fatalf("mult(%d, %d) = %d, want %d", a[i], b[i], got[i], want)
		}
	}
	if err := NNQAddQ15Sat(Opts{}, a, b, got); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if want := clamp(int64(a[i]) + int64(b[i])); got[i] != want {
			t.Fatalf("add(%d, %d) = %d, want %d", a[i], b[i], got[i], want)
		}
	}
	if err := NNQSubQ15Sat(Opts{}, a, b, got); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if want := clamp(int64(a[i]) - int64(b[i])); got[i] != want {
			t.Fatalf("sub(%d, %d) = %d, want %d", a[i], b[i], got[i], want)
		}
	}
	for s := -15; s <= 15; s++ {
		if err := NNQShiftQ15(Opts{}, a, s, got); err != nil {
			t.Fatal(err)
		}
		for i := range a {
			var want int16
			if s >= 0 {
				want = clamp(int64(a[i]) << uint(s))
			} else {
				want = int16(floorDiv(int64(a[i]), int64(1)<<uint(-s)))
			}
			if got[i] != want {
				t.Fatalf("shift(%d, %d) = %d, want %d", a[i], s, got[i], want)
			}
		}
	}
}
