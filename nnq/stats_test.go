package nnq

import (
	"math"
	"math/rand"
	"testing"

	"github.com/nnq-toolkit/nnq/kernels"
)

// addSlow is the straightforward definition of TensorStats.Add (one
// logarithm per value); the fast version must give the same counts.
func addSlow(s *TensorStats, xs []float32) {
	for _, v := range xs {
		x := float64(v)
		if x != x || math.IsInf(x, 0) {
			s.NonFinite++
			continue
		}
		s.Count++
		if x < s.Min {
			s.MinCount = 0
		}
		if x > s.Max {
			s.MaxCount = 0
		}
		s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
		if x == s.Min {
			s.MinCount++
		}
		if x == s.Max {
			s.MaxCount++
		}
		if x == 0 {
			s.Zeros++
			continue
		}
		a := math.Abs(x)
		_, exp := math.Frexp(a)
		k := min(max(exp, Pow2Lo), Pow2Hi) - Pow2Lo
		if x > 0 {
			s.Pos[k]++
		} else {
			s.Neg[k]++
		}
		f := int(math.Floor(math.Log2(a)*FineSub)) - (Pow2Lo-1)*FineSub
		s.Fine[min(max(f, 0), nFine-1)]++
	}
}

func TestStatsAddMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	var xs []float32
	for i := 0; i < 200000; i++ {
		xs = append(xs, float32(r.NormFloat64()*math.Exp2(float64(r.Intn(80)-40))))
	}
	// Exact fine-bin edges and their neighbours, powers of two, zeros,
	// subnormals, extremes and non-finite values.
	for j := 0; j <= FineSub; j++ {
		e := float32(math.Exp2(float64(j) / FineSub))
		xs = append(xs, e, -e, math.Nextafter32(e, 0), math.Nextafter32(e, 10), e*1024, e/4096)
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-45, -1e-40, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.NaN()), 1, -1, 0.5, 2)
	for i := 0; i < 7; i++ { // a constant block at the minimum
		xs = append(xs, -math.MaxFloat32)
	}
	fast, slow := newTensorStats("x"), newTensorStats("x")
	fast.Add(xs[:1000])
	fast.Add(xs[1000:])
	addSlow(slow, xs)
	if fast.Count != slow.Count || fast.Zeros != slow.Zeros || fast.NonFinite != slow.NonFinite || fast.Min != slow.Min || fast.Max != slow.Max {
		t.Fatalf("fast %d/%d/%d [%g,%g], slow %d/%d/%d [%g,%g]", fast.Count, fast.Zeros, fast.NonFinite, fast.Min, fast.Max,
			slow.Count, slow.Zeros, slow.NonFinite, slow.Min, slow.Max)
	}
	if fast.MinCount != 8 || fast.MinCount != slow.MinCount || fast.MaxCount != slow.MaxCount {
		t.Fatalf("extreme counts: fast %d/%d, slow %d/%d", fast.MinCount, fast.MaxCount, slow.MinCount, slow.MaxCount)
	}
	if fast.Pos != slow.Pos || fast.Neg != slow.Neg {
		t.Fatal("power-of-two histograms differ")
	}
	for i := range fast.Fine {
		if fast.Fine[i] != slow.Fine[i] {
			t.Fatalf("fine bin %d: fast %d, slow %d", i, fast.Fine[i], slow.Fine[i])
		}
	}
}

// BenchmarkStatsAdd compares the histogram update from exponent bits with
// the one-logarithm-per-value definition (values/s).
func BenchmarkStatsAdd(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	xs := make([]float32, 8000)
	for i := range xs {
		xs[i] = float32(r.NormFloat64() * 3)
	}
	relu := make([]float32, len(xs)) // a ReLU's output: half of it zeros
	for i, v := range xs {
		relu[i] = max(v, 0)
	}
	for _, c := range []struct {
		name string
		add  func(*TensorStats, []float32)
	}{{"bits", (*TensorStats).Add}, {"log2", addSlow}} {
		for _, d := range []struct {
			name string
			xs   []float32
		}{{"normal", xs}, {"relu", relu}} {
			b.Run(c.name+"/"+d.name, func(b *testing.B) {
				s := newTensorStats("x")
				for i := 0; i < b.N; i++ {
					c.add(s, d.xs)
				}
				b.ReportMetric(float64(len(d.xs)*b.N)/b.Elapsed().Seconds(), "values/s")
			})
		}
	}
}

// TestAddWithReLUEqualsTwoAdds: recording a tensor together with its ReLU
// gives both statistics exactly as two separate Adds (on kernels.ReLUFloat's
// output) do, over several calls, with zeros of both signs, NaNs and
// infinities of both signs, subnormals and constant blocks.
func TestAddWithReLUEqualsTwoAdds(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, -1e-40, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -float32(math.NaN()), 1, -1, 0.5, -2}
	for c := 0; c < 50; c++ {
		x1, y1 := newTensorStats("x"), newTensorStats("y")
		x2, y2 := newTensorStats("x"), newTensorStats("y")
		for call := 0; call < 3; call++ {
			xs := make([]float32, r.Intn(300))
			for i := range xs {
				switch r.Intn(4) {
				case 0:
					xs[i] = special[r.Intn(len(special))]
				case 1:
					xs[i] = float32(c % 3) // constant blocks at an extreme
				default:
					xs[i] = float32(r.NormFloat64() * math.Exp2(float64(r.Intn(40)-20)))
				}
			}
			if c%5 == 0 { // finite values only (what calibration accepts)
				for i, v := range xs {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						xs[i] = 3
					}
				}
			}
			x1.addWithReLU(y1, xs)
			ys := append([]float32(nil), xs...)
			kernels.ReLUFloat(ys)
			x2.Add(xs)
			y2.Add(ys)
		}
		for _, p := range [][2]*TensorStats{{x1, x2}, {y1, y2}} {
			a, b := p[0], p[1]
			same := a.Count == b.Count && a.Zeros == b.Zeros && a.NonFinite == b.NonFinite && a.MinCount == b.MinCount && a.MaxCount == b.MaxCount &&
				math.Float64bits(a.Min) == math.Float64bits(b.Min) && math.Float64bits(a.Max) == math.Float64bits(b.Max) && a.Pos == b.Pos && a.Neg == b.Neg && a.Fine == b.Fine
			if !same {
				t.Fatalf("case %d, tensor %s: with the ReLU %+v\nseparately %+v", c, a.Name, *a, *b)
			}
		}
	}
}
