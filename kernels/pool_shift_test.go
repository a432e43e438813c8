package kernels

import (
	"testing"
)

func TestNNQAvgpoolShiftHandComputed(t *testing.T) {
	// One channel, 1x4 input, window 4: sum = 3+4+4+4 = 15.
	g := PoolGeom(4, 1, 1, 4, 1, 0, 0, 4, 1, 1, 1)
	in := []int8{3, 4, 4, 4}
	// shift 0: 15/4 = 3; shift 2: 60/4 = 15; shift 3: 120/4 = 30;
	// shift 4: 240/4 = 60.
	for shift, want := range map[int]int8{0: 3, 2: 15, 3: 30, 4: 60} {
		out := []int8{99}
		if err := NNQAvgpool(Opts{}, g, in, out, shift); err != nil || out[0] != want {
			t.Errorf("shift %d: %d (%v), want %d", shift, out[0], err, want)
		}
	}
	// Negative sums truncate toward zero: -15<<1 = -30, /4 = -7 (floor -8).
	out := []int8{0}
	_ = NNQAvgpool(Opts{}, g, []int8{-3, -4, -4, -4}, out, 1)
	if out[0] != -7 {
		t.Errorf("negative: %d, want -7", out[0])
	}
	// Saturation: 15<<5 / 4 = 120; 15<<6/4 = 240 -> 127, counted.
	st := &Stats{}
	_ = NNQAvgpool(Opts{Stats: st}, g, in, out, 6)
	if out[0] != 127 || st.SatHigh != 1 || st.Values != 1 {
		t.Errorf("saturation: %d, stats %+v", out[0], *st)
	}
	_ = NNQAvgpool(Opts{Stats: st}, g, []int8{-128, -128, -128, -128}, out, 1)
	if out[0] != -128 || st.SatLow != 1 {
		t.Errorf("low saturation: %d, stats %+v", out[0], *st)
	}
	// q15: sum 3+4+4+4 with shift 10: 15360/4 = 3840.
	o15 := []int16{0}
	if err := NNQAvgpool(Opts{}, g, []int16{3, 4, 4, 4}, o15, 10); err != nil || o15[0] != 3840 {
		t.Errorf("q15 shift 10: %d (%v)", o15[0], err)
	}
	if err := NNQAvgpool(Opts{}, g, in, out, MaxPoolShift+1); err == nil {
		t.Error("shift beyond MaxPoolShift accepted")
	}
	if err := NNQAvgpool(Opts{}, g, in, out, -1); err == nil {
		t.Error("negative shift accepted")
	}
}

// The shifted average equals the definition on random geometries (empty
// windows included; shift 0 is the plain pool).
func TestPropertyNNQAvgpoolShift(t *testing.T) {
	r := ptRand(9)
	for it := 0; it < 200; it++ {
		g := ptPoolGeom(r, VarNNQAvgpoolQ7)
		in := ptSlice[int8](r, g.InSize(), -128, 127)
		n := g.OutX * g.OutY * g.InC
		shift := r.IntN(9)
		got := make([]int8, n)
		if err := NNQAvgpool(Opts{}, g, in, got, shift); err != nil {
			t.Fatal(err)
		}
		for oy := 0; oy < g.OutY; oy++ {
			for ox := 0; ox < g.OutX; ox++ {
				for c := 0; c < g.InC; c++ {
					var sum, cnt int64
					for ky := 0; ky < g.KY; ky++ {
						for kx := 0; kx < g.KX; kx++ {
							y, x := oy*g.StrideY-g.PadY+ky, ox*g.StrideX-g.PadX+kx
							if y >= 0 && y < g.InY && x >= 0 && x < g.InX {
								sum += int64(in[(y*g.InX+x)*g.InC+c])
								cnt++
							}
						}
					}
					var want int64
					if cnt > 0 {
						want = min(max((sum<<shift)/cnt, -128), 127)
					}
					if v := got[(oy*g.OutX+ox)*g.InC+c]; int64(v) != want {
						t.Fatalf("geometry %+v shift %d: out (%d,%d,%d) = %d, want %d", g, shift, oy, ox, c, v, want)
					}
				}
			}
		}
	}
}
