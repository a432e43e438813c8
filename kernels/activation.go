package kernels

import (
	"fmt"
	"math"
)

// ReluQ7 is arm_relu_q7: in place, x := max(x, 0). (The C size argument is
// uint16: codegen splits longer tensors; the Go function takes any length.)
func ReluQ7(o Opts, data []int8) {
	for i, x := range data {
		data[i] = x &^ (x >> 7) // branch-free: x >> 7 is -1 exactly when x < 0
	}
	o.Stats.countValues(len(data))
}

// ReluQ15 is arm_relu_q15.
func ReluQ15(o Opts, data []int16) {
	for i, x := range data {
		data[i] = x &^ (x >> 15)
	}
	o.Stats.countValues(len(data))
}

// ActivationType is arm_nn_activation_type.
type ActivationType int

// Activation types. Any other value behaves as Tanh in the library.
const (
	Sigmoid ActivationType = 0 // ARM_SIGMOID
	Tanh    ActivationType = 1 // ARM_TANH
)

// String returns "sigmoid" or "tanh".
func (t ActivationType) String() string {
	if t == Sigmoid {
		return "sigmoid"
	}
	return "tanh"
}

// The library's lookup tables, regenerated from their definition (facts
// sheet §6): entry i represents t = int8(i)/16 and holds
// clamp(floor(f(t)·2^7 + 0.5)) (q7) or clamp(floor(f(t)·2^15 + 0.5)) (q15).
var (
	sigmoidTableQ7, tanhTableQ7   [256]int8
	sigmoidTableQ15, tanhTableQ15 [256]int16
)

func init() {
	sig := func(t float64) float64 { return 1 / (1 + math.Exp(-t)) }
	for i := 0; i < 256; i++ {
		t := float64(int8(uint8(i))) / 16
		sigmoidTableQ7[i] = int8(tableEntry(sig(t), 7))
		tanhTableQ7[i] = int8(tableEntry(math.Tanh(t), 7))
		sigmoidTableQ15[i] = int16(tableEntry(sig(t), 15))
		tanhTableQ15[i] = int16(tableEntry(math.Tanh(t), 15))
	}
}

func tableEntry(f float64, frac int) int64 {
	one := math.Ldexp(1, frac)
	v := math.Floor(f*one + 0.5)
	return int64(math.Max(-one, math.Min(one-1, v)))
}

// TableQ7 returns a copy of sigmoidTable_q7 or tanhTable_q7.
func TableQ7(t ActivationType) [256]int8 {
	if t == Sigmoid {
		return sigmoidTableQ7
	}
	return tanhTableQ7
}

// TableQ15 returns a copy of sigmoidTable_q15 or tanhTable_q15.
func TableQ15(t ActivationType) [256]int16 {
	if t == Sigmoid {
		return sigmoidTableQ15
	}
	return tanhTableQ15
}

var errIntWidth = fmt.Errorf("%w: int_width must be in [0, 3]", ErrInvalid)

// ActivationsDirectQ7 is arm_nn_activations_direct_q7: in place,
// y = table[uint8(x >> (3-intWidth))]. Input Q(intWidth).(7-intWidth),
// output Q0.7. intWidth outside 0..3 is undefined in C and rejected.
func ActivationsDirectQ7(o Opts, data []int8, intWidth int, typ ActivationType) error {
	if intWidth < 0 || intWidth > 3 {
		return errIntWidth
	}
	tab := &tanhTableQ7
	if typ == Sigmoid {
		tab = &sigmoidTableQ7
	}
	sh := uint(3 - intWidth)
	for i, x := range data {
		data[i] = tab[uint8(x>>sh)]
	}
	o.Stats.countValues(len(data))
	return nil
}

// ActivationsDirectQ15 is arm_nn_activations_direct_q15 (5.8.0+
// semantics): linear interpolation between table entries idx = x >> sh and
// idx+1 (sh = 11-intWidth; idx+1 wraps through uint8, so idx = -1 uses entry
// 0; idx = 127 returns its entry directly). Input Q(intWidth).(15-intWidth),
// output Q0.15.
func ActivationsDirectQ15(o Opts, data []int16, intWidth int, typ ActivationType) error {
	if intWidth < 0 || intWidth > 3 {
		return errIntWidth
	}
	tab := &tanhTableQ15
	if typ == Sigmoid {
		tab = &sigmoidTableQ15
	}
	sh := uint(11 - intWidth)
	mask := int32(0x7FF) >> uint(intWidth)
	full := mask + 1
	for i, x := range data {
		idx := int32(x) >> sh
		frac := int32(x) & mask
		v1 := int32(tab[uint8(idx)])
		if idx == 127 {
			data[i] = int16(v1)
			continue
		}
		v2 := int32(tab[uint8(idx+1)])
		data[i] = int16(((full-frac)*v1 + frac*v2) >> sh)
	}
	o.Stats.countValues(len(data))
	return nil
}
