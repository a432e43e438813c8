package nnq

import "fmt"

// Patterns is a set of input patterns with labels, held in memory. Inputs
// are stored back to back, each of Size() float32 values in the layout named
// by Layout (the layout of the model the patterns were made for).
type Patterns struct {
	// Shape is the shape of one pattern, without batch.
	Shape  []int
	Layout Layout
	Inputs []float32
	// Labels holds one class index per pattern (-1 when unknown).
	Labels []int32
	// Splits optionally holds "train", "val" or "test" per pattern.
	Splits []string
}

// Size is the number of values in one pattern.
func (p *Patterns) Size() int { return shapeSize(p.Shape) }

// Len is the number of patterns.
func (p *Patterns) Len() int {
	if p == nil || p.Size() == 0 {
		return 0
	}
	return len(p.Inputs) / p.Size()
}

// Input returns pattern i (a view, not a copy).
func (p *Patterns) Input(i int) []float32 {
	n := p.Size()
	return p.Inputs[i*n : (i+1)*n : (i+1)*n]
}

// Label returns the label of pattern i, or -1.
func (p *Patterns) Label(i int) int {
	if i < len(p.Labels) {
		return int(p.Labels[i])
	}
	return -1
}

// Split returns the patterns whose split is one of names (copies). With no
// split column, every pattern belongs to every split.
func (p *Patterns) Split(names ...string) *Patterns {
	if len(p.Splits) == 0 {
		return p
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := &Patterns{Shape: append([]int(nil), p.Shape...), Layout: p.Layout}
	for i := 0; i < p.Len(); i++ {
		if want[p.Splits[i]] {
			out.Append(p.Input(i), p.Label(i), p.Splits[i])
		}
	}
	return out
}

// HasSplit reports whether any pattern has the given split.
func (p *Patterns) HasSplit(name string) bool {
	for _, s := range p.Splits {
		if s == name {
			return true
		}
	}
	return false
}

// Append adds one pattern. split may be "" when the set has no splits.
func (p *Patterns) Append(input []float32, label int, split string) {
	p.Inputs = append(p.Inputs, input...)
	p.Labels = append(p.Labels, int32(label))
	if split != "" || len(p.Splits) > 0 {
		for len(p.Splits) < len(p.Labels)-1 {
			p.Splits = append(p.Splits, "")
		}
		p.Splits = append(p.Splits, split)
	}
}

// Head returns the first n patterns (a view).
func (p *Patterns) Head(n int) *Patterns {
	if n >= p.Len() {
		return p
	}
	out := *p
	out.Inputs = p.Inputs[:n*p.Size()]
	if len(p.Labels) > n {
		out.Labels = p.Labels[:n]
	}
	if len(p.Splits) > n {
		out.Splits = p.Splits[:n]
	}
	return &out
}

// Sample returns n of the patterns (copies; the set itself when n >=
// Len), drawn reproducibly from seed and spread over the set like
// PatternSet.Sample: one from each of n runs of nearly equal length.
func (p *Patterns) Sample(n int, seed uint64) *Patterns {
	if n >= p.Len() {
		return p
	}
	out := &Patterns{Shape: append([]int(nil), p.Shape...), Layout: p.Layout}
	for _, i := range sampleIndexes(p.Len(), n, seed) {
		split := ""
		if len(p.Splits) > 0 {
			split = p.Splits[i]
		}
		out.Append(p.Input(i), p.Label(i), split)
	}
	return out
}

// Tail returns the last n patterns (a view).
func (p *Patterns) Tail(n int) *Patterns {
	k := p.Len() - n
	if k <= 0 {
		return p
	}
	out := *p
	out.Inputs = p.Inputs[k*p.Size():]
	if len(p.Labels) > k {
		out.Labels = p.Labels[k:]
	}
	if len(p.Splits) > k {
		out.Splits = p.Splits[k:]
	}
	return &out
}

// Check verifies the set is internally consistent.
func (p *Patterns) Check() error {
	n := p.Size()
	if n <= 0 {
		return fmt.Errorf("patterns: shape %v has no elements", p.Shape)
	}
	if len(p.Inputs)%n != 0 {
		return fmt.Errorf("patterns: %d values is not a whole number of %s patterns", len(p.Inputs), shapeString(p.Shape))
	}
	if len(p.Labels) != p.Len() {
		return fmt.Errorf("patterns: %d labels for %d patterns", len(p.Labels), p.Len())
	}
	if len(p.Splits) != 0 && len(p.Splits) != p.Len() {
		return fmt.Errorf("patterns: %d splits for %d patterns", len(p.Splits), p.Len())
	}
	if i, ok := checkFinite(p.Inputs); !ok {
		return fmt.Errorf("patterns: pattern %d holds a NaN or Inf", i/n)
	}
	return nil
}
