package nnq

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// PatternSet is a selection of the patterns of an Arrow IPC pattern file,
// read from the file batch by batch whenever it is used instead of held in
// memory: a pass over it keeps one batch resident (the file is
// memory-mapped and its pages are handed back after each batch), so
// statistics, evaluation and the report run in memory that does not grow
// with the file. The set itself keeps 9 bytes per selected pattern (row,
// label, split). Passes that need the patterns twice read the file twice.
type PatternSet struct {
	// Path is the pattern file.
	Path string
	// Shape is the shape of one pattern, Layout its layout.
	Shape  []int
	Layout Layout

	rows   []int32 // selected rows of the file, ascending
	labels []int32 // their labels
	splits []uint8 // their splits (index into splitOrder; nil: no split column)
}

var splitOrder = []string{"", "train", "val", "test"}

// setBatchRows caps the patterns a PatternSet hands to a pass at once.
const setBatchRows = DefaultPatternBatchRows

// OpenPatternSet reads the labels and splits of a pattern file (one pass,
// which also checks every value) and selects all its patterns.
func OpenPatternSet(path string) (*PatternSet, error) {
	pf, err := OpenPatterns(path)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	s := &PatternSet{Path: path, Shape: pf.Shape, Layout: pf.Layout,
		rows: make([]int32, 0, pf.Len()), labels: make([]int32, 0, pf.Len())}
	if pf.HasSplits {
		s.splits = make([]uint8, 0, pf.Len())
	}
	for i := range pf.rows {
		_, labels, splits, release, err := pf.batchViews(i)
		if err != nil {
			return nil, err
		}
		for j, l := range labels {
			s.rows = append(s.rows, int32(pf.start[i]+j))
			s.labels = append(s.labels, l)
		}
		for _, sp := range splits {
			s.splits = append(s.splits, uint8(slices.Index(splitOrder, sp)))
		}
		release()
	}
	return s, nil
}

// Len is the number of selected patterns.
func (s *PatternSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rows)
}

// Size is the number of values in one pattern.
func (s *PatternSet) Size() int { return shapeSize(s.Shape) }

// Label returns the label of selected pattern i.
func (s *PatternSet) Label(i int) int { return int(s.labels[i]) }

// HasSplits reports whether the file has a split column.
func (s *PatternSet) HasSplits() bool { return s.splits != nil }

// HasSplit reports whether any selected pattern has the given split.
func (s *PatternSet) HasSplit(name string) bool {
	k := slices.Index(splitOrder, name)
	return k > 0 && slices.Contains(s.splits, uint8(k))
}

// pick returns the set of the selected patterns keep says yes to.
func (s *PatternSet) pick(keep func(i int) bool) *PatternSet {
	out := &PatternSet{Path: s.Path, Shape: s.Shape, Layout: s.Layout}
	if s.splits != nil {
		out.splits = []uint8{}
	}
	for i := range s.rows {
		if keep(i) {
			out.rows = append(out.rows, s.rows[i])
			out.labels = append(out.labels, s.labels[i])
			if s.splits != nil {
				out.splits = append(out.splits, s.splits[i])
			}
		}
	}
	return out
}

// Split returns the patterns whose split is one of names, like
// Patterns.Split: with no split column, every pattern belongs to every
// split.
func (s *PatternSet) Split(names ...string) *PatternSet {
	if s.splits == nil {
		return s
	}
	var want [4]bool
	for _, n := range names {
		if k := slices.Index(splitOrder, n); k > 0 {
			want[k] = true
		}
	}
	return s.pick(func(i int) bool { return want[s.splits[i]] })
}

// Slice returns selected patterns lo..hi-1.
func (s *PatternSet) Slice(lo, hi int) *PatternSet {
	out := *s
	out.rows, out.labels = s.rows[lo:hi:hi], s.labels[lo:hi:hi]
	if s.splits != nil {
		out.splits = s.splits[lo:hi:hi]
	}
	return &out
}

// Head returns the first n patterns, Tail the last n.
func (s *PatternSet) Head(n int) *PatternSet { return s.Slice(0, min(max(n, 0), s.Len())) }

// Tail returns the last n patterns.
func (s *PatternSet) Tail(n int) *PatternSet { return s.Slice(max(s.Len()-n, 0), s.Len()) }

// Sample returns n of the patterns (all when n >= Len), chosen at random
// but reproducibly from seed, and spread over the whole set: the set is cut
// into n runs of (nearly) equal length and one pattern is drawn from each,
// so a file sorted by class or by speaker still gives every part its
// share. The order of the set is kept.
func (s *PatternSet) Sample(n int, seed uint64) *PatternSet {
	L := s.Len()
	if n >= L {
		return s
	}
	pick := sampleIndexes(L, n, seed)
	k := 0
	return s.pick(func(i int) bool {
		if k < len(pick) && pick[k] == i {
			k++
			return true
		}
		return false
	})
}

// sampleIndexes draws n ascending indexes of 0..L-1, one from each of n
// runs of nearly equal length, from a PCG seeded with seed.
func sampleIndexes(L, n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 0x6e6e71)) // "nnq"
	out := make([]int, n)
	for k := range out {
		lo, hi := int(int64(k)*int64(L)/int64(n)), int(int64(k+1)*int64(L)/int64(n))
		out[k] = lo + r.IntN(hi-lo)
	}
	return out
}

// Each calls fn with the selected patterns in order, in batches of at most
// DefaultPatternBatchRows; first is the index (in the set) of the batch's
// first pattern. A batch is valid only during fn: it views the mapped file
// or a buffer the next batch reuses. An error from fn stops the scan.
func (s *PatternSet) Each(fn func(first int, b *Patterns) error) error {
	if s.Len() == 0 {
		return nil
	}
	pf, err := OpenPatterns(s.Path)
	if err != nil {
		return err
	}
	defer pf.Close()
	if !slices.Equal(pf.Shape, s.Shape) || pf.Layout != s.Layout {
		return pf.errorf("the file changed since it was opened (patterns of shape %v %s, was %v %s)", pf.Shape, pf.Layout, s.Shape, s.Layout)
	}
	size := pf.size
	gather := &Patterns{Shape: s.Shape, Layout: s.Layout}
	k := 0 // next selected pattern
	for bi := range pf.rows {
		if k == len(s.rows) {
			break
		}
		start, end := pf.start[bi], pf.start[bi]+pf.rows[bi]
		if int(s.rows[k]) >= end {
			continue
		}
		vals, labels, _, release, err := pf.batchViews(bi)
		if err != nil {
			return err
		}
		for k < len(s.rows) && int(s.rows[k]) < end {
			// The next run of selected rows in this batch, up to
			// setBatchRows of them.
			j := k + 1
			for j < len(s.rows) && j-k < setBatchRows && int(s.rows[j]) < end {
				j++
			}
			var b *Patterns
			if lo, hi := int(s.rows[k])-start, int(s.rows[j-1])-start+1; hi-lo == j-k {
				// Contiguous rows: a view of the file.
				b = &Patterns{Shape: s.Shape, Layout: s.Layout, Inputs: vals[lo*size : hi*size : hi*size], Labels: labels[lo:hi:hi]}
			} else {
				gather.Inputs, gather.Labels = gather.Inputs[:0], gather.Labels[:0]
				for _, r := range s.rows[k:j] {
					r := int(r) - start
					gather.Inputs = append(gather.Inputs, vals[r*size:(r+1)*size]...)
					gather.Labels = append(gather.Labels, labels[r])
				}
				b = gather
			}
			if err := fn(k, b); err != nil {
				release()
				return err
			}
			k = j
		}
		release()
	}
	if k != len(s.rows) {
		return pf.errorf("the file changed since it was opened (%d patterns, was at least %d)", pf.Len(), s.rows[len(s.rows)-1]+1)
	}
	return nil
}

// Load reads the selected patterns into memory (copies).
func (s *PatternSet) Load() (*Patterns, error) {
	out := &Patterns{Shape: append([]int(nil), s.Shape...), Layout: s.Layout,
		Inputs: make([]float32, 0, s.Len()*s.Size()), Labels: make([]int32, 0, s.Len())}
	err := s.Each(func(first int, b *Patterns) error {
		out.Inputs = append(out.Inputs, b.Inputs...)
		out.Labels = append(out.Labels, b.Labels...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.splits != nil {
		out.Splits = make([]string, s.Len())
		for i, k := range s.splits {
			out.Splits[i] = splitOrder[k]
		}
	}
	return out, nil
}

// header is an empty pattern set of the same shape, for shape checks.
func (s *PatternSet) header() *Patterns {
	return &Patterns{Shape: s.Shape, Layout: s.Layout}
}

// CheckPatternSet is CheckPatterns for a file-backed set: shape, layout and
// labels, from what the set keeps (the values were checked on opening).
func (m *Model) CheckPatternSet(s *PatternSet) error {
	if err := m.CheckPatterns(s.header()); err != nil {
		return err
	}
	return m.checkLabels(s.labels)
}

// String describes the set.
func (s *PatternSet) String() string {
	return fmt.Sprintf("%d patterns of %s from %s", s.Len(), shapeString(s.Shape), s.Path)
}
