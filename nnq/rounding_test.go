package nnq

import (
	"math/rand"
	"os"
	"strings"
	"testing"
)

// TestS8AffineRounding quantizes a conv → avg pool → dense network for s8
// and s16 with each rounding: single and onnx requantize once (the s8
// simulation differs from the default somewhere), onnx runs nnq's
// ties-to-even pool, the choice survives save/load and reaches the report,
// and q7/q15 or unknown names are refused.
func TestS8AffineRounding(t *testing.T) {
	r := rand.New(rand.NewSource(1818))
	fw := convPoolDenseNet(r, 8, 3, 6, 4)
	fw.Layers[2].Op = OpAvgPool2D
	cm, p, st := calibratedCMSIS(t, r, fw, 40)
	for _, f := range []Format{FormatS8, FormatS16} {
		base, err := Quantize(cm, st, QConfig{Format: f, Scheme: MSE{}})
		if err != nil {
			t.Fatal(err)
		}
		if base.AffineRounding != RoundingDouble || base.Layer("pool").S8.Function != "arm_avgpool_"+string(f) {
			t.Fatalf("%s default: rounding %q, pool %s", f, base.AffineRounding, base.Layer("pool").S8.Function)
		}
		for _, rd := range []AffineRounding{RoundingSingle, RoundingONNX} {
			q, err := Quantize(cm, st, QConfig{Format: f, Scheme: MSE{}, AffineRounding: rd})
			if err != nil {
				t.Fatalf("%s %s: %v", f, rd, err)
			}
			wantPool := "arm_avgpool_" + string(f)
			if rd == RoundingONNX {
				wantPool = "nnq_avgpool_" + string(f) + "_even"
			}
			if q.AffineRounding != rd || q.Layer("pool").S8.Function != wantPool {
				t.Fatalf("%s %s: rounding %q, pool %s, want %s", f, rd, q.AffineRounding, q.Layer("pool").S8.Function, wantPool)
			}
			// The same formats; the arithmetic differs somewhere.
			s0, _ := base.NewSim(false)
			s1, _ := q.NewSim(false)
			x := make([]int16, cm.InputSize())
			differ := 0
			for i := 0; i < p.Len(); i++ {
				q.QuantizeInput(p.Input(i), x)
				if _, err := s0.Run(x); err != nil {
					t.Fatal(err)
				}
				if _, err := s1.Run(x); err != nil {
					t.Fatal(err)
				}
				for k := range q.Layers {
					a, b := s0.Output(k), s1.Output(k)
					for j := range a {
						if a[j] != b[j] {
							differ++
						}
					}
				}
			}
			// s16 convolutions and dense layers requantize with
			// arm_nn_requantize_s64 (int64 bias), which the macro leaves
			// alone: this network's s16 arithmetic changes only in the pool.
			if differ == 0 && (f == FormatS8 || rd == RoundingONNX) {
				t.Errorf("%s %s: the simulation never differs from the default rounding", f, rd)
			}
			q2, path := checkSaveLoad(t, q, p, 10)
			if q2.AffineRounding != rd || q2.Layer("pool").S8.Function != wantPool {
				t.Errorf("%s %s: reloaded with rounding %q, pool %s", f, rd, q2.AffineRounding, q2.Layer("pool").S8.Function)
			}
			b, _ := os.ReadFile(path)
			if !strings.Contains(string(b), `"affine_rounding":"`+string(rd)+`"`) {
				t.Errorf("%s %s: the saved model does not record its rounding", f, rd)
			}
			ev, err := q.Evaluate(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			md := NewReport(q, ev).Markdown()
			if !strings.Contains(md, SingleRoundingMacro) || !strings.Contains(md, "rounding "+string(rd)) {
				t.Errorf("%s %s: the report does not state the rounding:\n%s", f, rd, md)
			}
		}
		_, path := checkSaveLoad(t, base, p, 1)
		if b, _ := os.ReadFile(path); strings.Contains(string(b), "affine_rounding") {
			t.Errorf("%s: the default rounding is saved (files of the default must not change)", f)
		}
	}
	for _, c := range []struct {
		cfg  QConfig
		want string
	}{
		{QConfig{Format: FormatQ7, AffineRounding: RoundingSingle}, "rounding single is an option of the s8/s16 formats"},
		{QConfig{Bits: 16, AffineRounding: RoundingONNX}, "legacy q15 API"},
		{QConfig{Format: FormatS8, AffineRounding: "half-even"}, `unknown rounding "half-even"`},
	} {
		if _, err := Quantize(cm, st, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
