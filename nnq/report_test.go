package nnq

import (
	"math/rand"
	"strings"
	"testing"
)

// oneOff is MSE except for one tensor, which gets extra fractional bits
// (a format too fine for its values: it saturates).
type oneOff struct {
	name  string
	extra int
}

func (o oneOff) Name() string { return "oneoff" }

func (o oneOff) Frac(s *TensorStats, bits int) int {
	f := MSE{}.Frac(s, bits)
	if s.Name == o.name {
		f += o.extra
	}
	return f
}

// TestReportWhereAccuracyGoes breaks one layer's format on purpose: the
// report must show it saturating (rate and negative headroom), rank it the
// costliest layer by its sensitivity, and give every layer a reason.
func TestReportWhereAccuracyGoes(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	fw := testNet(r, NCHW)
	m, _ := fw.Prepare()
	cm, _ := m.ToCMSIS()
	p := randPatterns(r, m, 300)
	fr, _ := cm.NewRunner()
	for i := 0; i < p.Len(); i++ {
		p.Labels[i] = int32(Predict(fr.Run(p.Input(i))))
	}
	st, _ := Calibrate(cm, p, nil)
	q, err := Quantize(cm, st, QConfig{Bits: 8, Scheme: oneOff{name: "fc2", extra: 4}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := q.Evaluate(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.SensitivityPatterns != p.Len() || ev.SensitivityFloat != ev.Float {
		t.Fatalf("sensitivity on %d patterns (float %.3f), want all %d (float %.3f)", ev.SensitivityPatterns, ev.SensitivityFloat, p.Len(), ev.Float)
	}
	rep := NewReport(q, ev)
	byName := map[string]ReportLayer{}
	for _, l := range rep.Layers {
		byName[l.Name] = l
		if l.Reason == "" {
			t.Errorf("layer %s has no reason", l.Name)
		}
		measured := l.Op != OpReLU && l.Op != OpMaxPool2D && l.Op != OpFlatten && l.Op != OpReshape
		if (l.SensitivityAcc != nil) != measured {
			t.Errorf("layer %s (%s): sensitivity measured %v", l.Name, l.Op, l.SensitivityAcc != nil)
		}
	}
	fc2 := byName["fc2"]
	if fc2.SaturationPct <= 5 || fc2.HeadroomBits == nil || *fc2.HeadroomBits > -2 {
		t.Errorf("fc2: %.2f%% saturated, headroom %v: the broken format should clip", fc2.SaturationPct, fc2.HeadroomBits)
	}
	if want := 100 * float64(fc2.Saturations) / float64(p.Len()*q.Layer("fc2").Out.Size()); fc2.SaturationPct < want-1e-3 || fc2.SaturationPct > want+1e-3 {
		t.Errorf("fc2 saturation %.4f%%, want %.4f%%", fc2.SaturationPct, want)
	}
	if len(rep.Costliest) != 3 || rep.Costliest[0] != "fc2" || *fc2.SensitivityDrop <= 0 {
		t.Errorf("costliest %v, fc2 drop %v", rep.Costliest, fc2.SensitivityDrop)
	}
	md := rep.Markdown()
	for _, want := range []string{"## Where accuracy goes", "1. **fc2**", "| alone |", fc2.Reason} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

// TestSensitivityOfTheOnlyLayer: in a one-layer network, that layer alone
// in fixed point is the whole fixed network.
func TestSensitivityOfTheOnlyLayer(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	fw, p := floorNet(r, 600)
	fw.Layers = fw.Layers[:1] // the dense layer, no softmax
	cm, _ := fw.ToCMSIS()
	st, _ := Calibrate(cm, p, nil)
	for _, sc := range []Scheme{MinMax{}, Auto{}} {
		q, _ := Quantize(cm, st, QConfig{Scheme: sc})
		ev, err := q.EvaluateWith(p, EvalOptions{SensitivityPatterns: p.Len()})
		if err != nil {
			t.Fatal(err)
		}
		if ev.SensitivityPatterns != p.Len() {
			t.Fatalf("sensitivity on %d of %d patterns", ev.SensitivityPatterns, p.Len())
		}
		if l := ev.Layers[0]; !l.Measured || l.Sensitivity != ev.Fixed {
			t.Errorf("%s: sensitivity %.4f, fixed accuracy %.4f", sc.Name(), l.Sensitivity, ev.Fixed)
		}
	}
}

func TestExplainQFormat(t *testing.T) {
	for _, c := range []struct {
		bits, frac int
		want       []string
	}{
		{8, -1, []string{"Q8.-1", "-1 fractional bits", "worth 2 ", "-256..254", "steps of 2"}},
		{8, 9, []string{"Q-2.9", "-2 integer bits", "below 2^-2 = 0.25", "-0.25..0.248046875"}},
		{16, 12, []string{"Q3.12", "-8..7.999755859375", "2^-12"}},
	} {
		got := ExplainQFormat(c.bits, c.frac)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("ExplainQFormat(%d, %d) = %q: lacks %q", c.bits, c.frac, got, w)
			}
		}
	}
	// The floor network's minmax input is Q8.-1: the report explains it.
	r := rand.New(rand.NewSource(2))
	fw, p := floorNet(r, 200)
	cm, _ := fw.ToCMSIS()
	st, _ := Calibrate(cm, p, nil)
	q, _ := Quantize(cm, st, QConfig{Scheme: MinMax{}})
	ev, _ := q.Evaluate(p, nil)
	rep := NewReport(q, ev)
	if len(rep.FormatsExplained) == 0 || !strings.Contains(rep.Markdown(), "## Unusual formats") || !strings.Contains(rep.Markdown(), ExplainQFormat(8, q.InputFrac)) {
		t.Errorf("input %s not explained: %v", QFormat(8, q.InputFrac), rep.FormatsExplained)
	}
}
