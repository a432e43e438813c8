package codegen

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nnq-toolkit/nnq/kernels"
	"github.com/nnq-toolkit/nnq/nnq"
)

// Align is the alignment of every tensor offset, tensor size and region of
// the activation arena (the legacy kernels read words; the scratch buffers
// must be 4-byte aligned).
const Align = 4

// MemPlan places every activation tensor of a network in one static arena.
//
// Time is measured in layer steps: the network input is written at step -1
// (nn_run copies it in), layer i runs at step i, and the network output is
// read at step len(layers) (nn_run copies it out). A tensor is live from the
// step that writes it to the last step that reads it, both included; two
// tensors may share bytes only if their lifetimes are disjoint, or if one is
// a view of the other (flatten/reshape) or a kernel legally writes its output
// over a dying input (relu, sigmoid/tanh in place; nnq_add over one of its
// inputs).
//
// The arena has two regions: activations at [0, ActivationBytes) and the
// kernels' scratch buffer (bufferA / vec_buffer, shared by all layers) at
// [ScratchOffset, ScratchOffset+ScratchBytes).
type MemPlan struct {
	// Tensors holds the network input (index 0), then each layer's output
	// in layer order, then any work copies.
	Tensors []TensorPlan
	// Steps has one entry per layer.
	Steps []StepPlan

	ActivationBytes int // activation region, a multiple of Align
	ScratchOffset   int // == ActivationBytes
	ScratchBytes    int // largest scratch any layer needs (DSP builds), aligned
	ArenaBytes      int // ScratchOffset + ScratchBytes

	// LowerBound is the peak over all steps of the aligned sizes of the
	// simultaneously live buffers, plus ScratchBytes: no placement of these
	// buffers can use less.
	LowerBound int
	// Naive is the arena of a plan giving every tensor its own buffer
	// (views still share), plus ScratchBytes.
	Naive int
	// Strategy names the placement that won: "ping-pong" (two-ended, exact
	// for chains) or "greedy-size", "greedy-time", "greedy-lifetime",
	// "greedy-area" (best-fit placement in that order).
	Strategy string
}

// TensorPlan is one activation tensor's place in the arena.
type TensorPlan struct {
	Name string
	// Producer is the layer that writes the tensor (-1 for the network
	// input; for a work copy, the layer it is made for).
	Producer int
	// Bytes is the payload size; Spare extra bytes after it must also be
	// addressable (arm_convolve_HWC_q7_RGB reads one byte past its input
	// on DSP builds).
	Bytes, Spare int
	Offset       int
	// First and Last are the steps that write and last read the tensor.
	First, Last int
	// AliasOf is the tensor whose bytes this one reuses (-1 if none): the
	// source of a view, or the dying input a kernel overwrites in place.
	AliasOf int
	// Role is "input", "output", "view", "in-place" or "copy" ("" for an
	// ordinary layer output).
	Role string
}

// End is Offset+Bytes.
func (t *TensorPlan) End() int { return t.Offset + t.Bytes }

// StepPlan says how one layer uses the arena.
type StepPlan struct {
	Layer  int
	Name   string
	Inputs []int // tensor indexes read
	Output int   // tensor index written
	// View: flatten/reshape, nothing runs; Output aliases Inputs[0].
	View bool
	// InPlace: the kernel works in place on one buffer (relu, sigmoid,
	// tanh). When Reuses is -1 the input is still needed later, so the
	// generated code first copies it into the output buffer.
	InPlace bool
	// Reuses is the index into Inputs whose buffer the output takes over
	// (-1: a fresh buffer). Only in-place kernels (input 0) and nnq_add
	// (either input) may reuse an input.
	Reuses int
	// Clobbers: the kernel destroys its input 0 (the library's pools on
	// DSP builds). When the input is still needed later, Copy is the work
	// copy the kernel gets instead.
	Clobbers bool
	Copy     int // tensor index or -1
}

// planOp is what the planner needs to know about a layer.
type planOp struct {
	name     string
	inputs   []int // tensor ids
	bytes    int   // output size
	view     bool
	inPlace  bool // may run in place on input 0
	mayAlias bool // output may coincide with either input (nnq_add)
	clobbers bool // destroys input 0
	spareIn  int  // spare bytes needed after input 0
}

type planGraph struct {
	inputName  string
	inputBytes int
	ops        []planOp
	scratch    int
}

// PlanMemory computes the static arena of q.
func PlanMemory(q *nnq.QModel) (*MemPlan, error) {
	g, err := graphOf(q)
	if err != nil {
		return nil, err
	}
	return g.plan()
}

func elemBytes(q *nnq.QModel) int {
	if q.Bits == 16 {
		return 2
	}
	return 1
}

// graphOf extracts the planner's view of q.
func graphOf(q *nnq.QModel) (*planGraph, error) {
	if q == nil || len(q.Layers) == 0 {
		return nil, errors.New("codegen: model has no layers")
	}
	if q.Bits != 8 && q.Bits != 16 {
		return nil, fmt.Errorf("codegen: model word size %d bits is not 8 or 16", q.Bits)
	}
	eb := elemBytes(q)
	ids := map[string]int{}
	inName := q.InputName
	if inName == "" {
		inName = "input"
	}
	g := &planGraph{inputName: inName}
	ids[inName] = 0
	for i, l := range q.Layers {
		if i == 0 && len(l.In) > 0 {
			g.inputBytes = l.In[0].Size() * eb
		}
		op := planOp{name: l.Name, bytes: l.Out.Size() * eb}
		for _, n := range layerInputs(q, i) {
			id, ok := ids[n]
			if !ok {
				return nil, fmt.Errorf("codegen: layer %q reads %q, which no earlier layer writes", l.Name, n)
			}
			op.inputs = append(op.inputs, id)
		}
		if _, dup := ids[l.Name]; dup {
			return nil, fmt.Errorf("codegen: tensor name %q used twice", l.Name)
		}
		ids[l.Name] = i + 1
		switch {
		case l.Kernel == kernels.VarInvalid:
			// flatten/reshape, or a ReLU fused into the layer before it
			op.view = true
		case l.Op == nnq.OpReLU || l.Op == nnq.OpSigmoid || l.Op == nnq.OpTanh:
			op.inPlace = true
		case l.Op == nnq.OpAdd:
			op.mayAlias = l.Kernel.NNQ()
		}
		if l.S8 != nil {
			op.view, op.inPlace, op.mayAlias = l.S8.Function == "", false, s8ElementWise(l)
		}
		// The library pools destroy Im_in on DSP builds. Plan for it on
		// every target: the same project may be built for either path.
		op.clobbers = l.Kernel.ClobbersInput(kernels.DSPPath) && !op.inPlace
		if l.Kernel == kernels.VarConvolveHWCQ7RGB {
			op.spareIn = 1
		}
		if n := scratchBytes(l); n > g.scratch {
			g.scratch = n
		}
		g.ops = append(g.ops, op)
	}
	if g.inputBytes == 0 {
		return nil, fmt.Errorf("codegen: first layer %q has no input shape", q.Layers[0].Name)
	}
	return g, nil
}

// layerInputs returns the tensor names layer i reads (the previous layer,
// or the model input, when QLayer.Inputs is empty).
func layerInputs(q *nnq.QModel, i int) []string {
	if len(q.Layers[i].Inputs) > 0 {
		return q.Layers[i].Inputs
	}
	if i == 0 {
		if q.InputName == "" {
			return []string{"input"}
		}
		return []string{q.InputName}
	}
	return []string{q.Layers[i-1].Name}
}

// scratchBytes is the bufferA / vec_buffer size layer l's kernel needs on
// DSP builds.
func scratchBytes(l *nnq.QLayer) int {
	if l.S8 != nil {
		return l.S8.Scratch
	}
	switch l.Kernel.Kind() {
	case kernels.KindFC:
		if len(l.In) == 0 {
			return 0
		}
		return l.Kernel.ScratchBytes(kernels.FCGeom(l.In[0].Size(), l.Out.Size()))
	case kernels.KindConv, kernels.KindDepthwise, kernels.KindPool, kernels.KindRecurrent:
		return l.Kernel.ScratchBytes(l.Geom)
	}
	return 0
}

func alignUp(n int) int { return (n + Align - 1) / Align * Align }

// buffer is a group of tensors sharing one placement.
type buffer struct {
	size        int // aligned
	first, last int
	members     []int
	offset      int
}

func (b *buffer) overlaps(c *buffer) bool { return b.first <= c.last && c.first <= b.last }

func (g *planGraph) plan() (*MemPlan, error) {
	L := len(g.ops)
	p := &MemPlan{}
	// Tensors: input, then outputs.
	p.Tensors = append(p.Tensors, TensorPlan{Name: g.inputName, Producer: -1, Bytes: g.inputBytes, First: -1, Last: -1, AliasOf: -1, Role: "input"})
	for i, op := range g.ops {
		p.Tensors = append(p.Tensors, TensorPlan{Name: op.name, Producer: i, Bytes: op.bytes, First: i, Last: i, AliasOf: -1})
	}
	// Last reads.
	for i, op := range g.ops {
		for _, in := range op.inputs {
			p.Tensors[in].Last = max(p.Tensors[in].Last, i)
		}
		if op.spareIn > 0 {
			t := &p.Tensors[op.inputs[0]]
			t.Spare = max(t.Spare, op.spareIn)
		}
	}
	out := L // the output tensor's index (layer L-1's output)
	p.Tensors[out].Last = L
	if p.Tensors[out].Role == "" {
		p.Tensors[out].Role = "output"
	}

	// Buffers: union of aliasing tensors, decided in step order.
	bufOf := make([]int, len(p.Tensors))
	var bufs []*buffer
	newBuf := func(t int) {
		bufOf[t] = len(bufs)
		bufs = append(bufs, &buffer{first: p.Tensors[t].First, last: p.Tensors[t].Last, members: []int{t}})
	}
	join := func(t, src int) {
		b := bufs[bufOf[src]]
		bufOf[t] = bufOf[src]
		b.members = append(b.members, t)
		b.last = max(b.last, p.Tensors[t].Last)
		p.Tensors[t].AliasOf = src
	}
	// diesAt reports whether the buffer of tensor t is read by no step
	// after step i (its members' last reads are all <= i).
	diesAt := func(t, i int) bool {
		for _, m := range bufs[bufOf[t]].members {
			if p.Tensors[m].Last > i {
				return false
			}
		}
		return true
	}
	newBuf(0)
	for i, op := range g.ops {
		t := i + 1
		st := StepPlan{Layer: i, Name: op.name, Inputs: op.inputs, Output: t, Reuses: -1, Copy: -1,
			View: op.view, InPlace: op.inPlace, Clobbers: op.clobbers}
		switch {
		case op.view:
			join(t, op.inputs[0])
			if p.Tensors[t].Role == "" {
				p.Tensors[t].Role = "view"
			}
		case op.inPlace && diesAt(op.inputs[0], i):
			st.Reuses = 0
			join(t, op.inputs[0])
		case op.mayAlias && diesAt(op.inputs[0], i):
			st.Reuses = 0
			join(t, op.inputs[0])
		case op.mayAlias && len(op.inputs) > 1 && diesAt(op.inputs[1], i):
			st.Reuses = 1
			join(t, op.inputs[1])
		default:
			newBuf(t)
		}
		if st.Reuses >= 0 && p.Tensors[t].Role == "" {
			p.Tensors[t].Role = "in-place"
		}
		if op.clobbers && !diesAt(op.inputs[0], i) {
			c := len(p.Tensors)
			src := p.Tensors[op.inputs[0]]
			p.Tensors = append(p.Tensors, TensorPlan{Name: op.name + ".in_copy", Producer: i, Bytes: src.Bytes,
				First: i, Last: i, AliasOf: -1, Role: "copy"})
			bufOf = append(bufOf, 0)
			newBuf(c)
			st.Copy = c
		}
		p.Steps = append(p.Steps, st)
	}
	for _, b := range bufs {
		for _, m := range b.members {
			b.size = max(b.size, alignUp(p.Tensors[m].Bytes+p.Tensors[m].Spare))
		}
	}

	// Lower bound and naive figures.
	peak := 0
	for s := -1; s <= L; s++ {
		sum := 0
		for _, b := range bufs {
			if b.first <= s && s <= b.last {
				sum += b.size
			}
		}
		peak = max(peak, sum)
	}
	// Naive: every tensor its own buffer, except that views share their
	// source's (which must then hold the views' spare bytes too).
	isView := func(i int) bool { return i > 0 && i <= L && g.ops[i-1].view }
	spare := make([]int, len(p.Tensors))
	for i := len(p.Tensors) - 1; i >= 0; i-- {
		spare[i] = max(spare[i], p.Tensors[i].Spare)
		if isView(i) {
			a := p.Tensors[i].AliasOf
			spare[a] = max(spare[a], spare[i])
		}
	}
	naive := 0
	for i, t := range p.Tensors {
		if !isView(i) {
			naive += alignUp(t.Bytes + spare[i])
		}
	}

	// Placement: try the strategies, keep the smallest.
	best, bestName := -1, ""
	var bestOff []int
	try := func(name string, off []int, ok bool) {
		if !ok {
			return
		}
		top := 0
		for i, b := range bufs {
			top = max(top, off[i]+b.size)
		}
		if best < 0 || top < best {
			best, bestName, bestOff = top, name, off
		}
	}
	try(pingPong(bufs))
	try("greedy-size", greedy(bufs, func(a, b *buffer) bool {
		if a.size != b.size {
			return a.size > b.size
		}
		return a.first < b.first
	}), true)
	try("greedy-time", greedy(bufs, func(a, b *buffer) bool {
		if a.first != b.first {
			return a.first < b.first
		}
		return a.size > b.size
	}), true)
	try("greedy-lifetime", greedy(bufs, func(a, b *buffer) bool {
		la, lb := a.last-a.first, b.last-b.first
		if la != lb {
			return la > lb
		}
		return a.size > b.size
	}), true)
	try("greedy-area", greedy(bufs, func(a, b *buffer) bool {
		return a.size*(a.last-a.first+1) > b.size*(b.last-b.first+1)
	}), true)
	for i, b := range bufs {
		b.offset = bestOff[i]
		for _, m := range b.members {
			p.Tensors[m].Offset = b.offset
		}
	}
	p.ActivationBytes = alignUp(best)
	p.ScratchOffset = p.ActivationBytes
	p.ScratchBytes = alignUp(g.scratch)
	p.ArenaBytes = p.ScratchOffset + p.ScratchBytes
	p.LowerBound = peak + p.ScratchBytes
	p.Naive = naive + p.ScratchBytes
	p.Strategy = bestName
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("codegen: internal error: memory plan: %w\n%s", err, p)
	}
	return p, nil
}

// pingPong places the buffers at the two ends of the arena when no three of
// them are live at once and the conflict graph is two-colourable (always
// the case for a chain of layers): colour 0 at offset 0, colour 1 flush
// against the top. The arena is then the largest sum of two conflicting
// buffers, which is the lower bound.
func pingPong(bufs []*buffer) (string, []int, bool) {
	n := len(bufs)
	adj := make([][]int, n)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if bufs[i].overlaps(bufs[j]) {
				adj[i] = append(adj[i], j)
				adj[j] = append(adj[j], i)
			}
		}
	}
	color := make([]int, n)
	for i := range color {
		color[i] = -1
	}
	for s := 0; s < n; s++ {
		if color[s] >= 0 {
			continue
		}
		color[s] = 0
		queue := []int{s}
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for _, v := range adj[u] {
				if color[v] < 0 {
					color[v] = 1 - color[u]
					queue = append(queue, v)
				} else if color[v] == color[u] {
					return "", nil, false
				}
			}
		}
	}
	top := 0
	for i, b := range bufs {
		top = max(top, b.size)
		for _, j := range adj[i] {
			top = max(top, b.size+bufs[j].size)
		}
	}
	off := make([]int, n)
	for i, b := range bufs {
		if color[i] == 1 {
			off[i] = top - b.size
		}
	}
	return "ping-pong", off, true
}

// greedy places the buffers in the given order, each in the smallest gap
// (best fit) left by the already placed buffers it conflicts with, or on
// top of them.
func greedy(bufs []*buffer, less func(a, b *buffer) bool) []int {
	order := make([]int, len(bufs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return less(bufs[order[i]], bufs[order[j]]) })
	off := make([]int, len(bufs))
	placed := []int{}
	for _, i := range order {
		b := bufs[i]
		type span struct{ lo, hi int }
		var busy []span
		for _, j := range placed {
			if bufs[j].overlaps(b) {
				busy = append(busy, span{off[j], off[j] + bufs[j].size})
			}
		}
		sort.Slice(busy, func(x, y int) bool { return busy[x].lo < busy[y].lo })
		bestOff, bestGap := -1, 0
		pos := 0
		for _, s := range busy {
			if s.lo > pos {
				if gap := s.lo - pos; gap >= b.size && (bestOff < 0 || gap < bestGap) {
					bestOff, bestGap = pos, gap
				}
			}
			pos = max(pos, s.hi)
		}
		if bestOff < 0 {
			bestOff = pos
		}
		off[i] = bestOff
		placed = append(placed, i)
	}
	return off
}

// Check verifies the plan: every tensor must lie inside the activation
// region at an aligned offset; no two tensors that are live at the same step
// may overlap unless one aliases the other; and, replaying the steps on a
// byte map of the region, no kernel may write over a tensor that is read
// later (or over its own inputs, except the exact in-place reuse its step
// declares), and every read must find the bytes the producing step wrote.
func (p *MemPlan) Check() error {
	if p.ActivationBytes%Align != 0 || p.ScratchOffset%Align != 0 || p.ScratchBytes%Align != 0 {
		return fmt.Errorf("regions not %d-byte aligned", Align)
	}
	if p.ScratchOffset < p.ActivationBytes || p.ArenaBytes != p.ScratchOffset+p.ScratchBytes {
		return errors.New("scratch region overlaps the activations or the arena size is wrong")
	}
	for _, t := range p.Tensors {
		if t.Offset%Align != 0 || t.Offset < 0 || t.Offset+t.Bytes+t.Spare > p.ActivationBytes || t.Bytes <= 0 {
			return fmt.Errorf("tensor %q at [%d,%d)+%d is misaligned or outside the %d-byte activation region", t.Name, t.Offset, t.End(), t.Spare, p.ActivationBytes)
		}
		if t.AliasOf >= 0 && (p.Tensors[t.AliasOf].Offset != t.Offset || p.Tensors[t.AliasOf].Bytes != t.Bytes) {
			return fmt.Errorf("tensor %q aliases %q but does not coincide with it", t.Name, p.Tensors[t.AliasOf].Name)
		}
	}
	// Pairwise: tensors of different buffers (not linked by AliasOf) that
	// are live at the same step must not share bytes.
	root := func(t int) int {
		for n := 0; p.Tensors[t].AliasOf >= 0 && n <= len(p.Tensors); n++ {
			t = p.Tensors[t].AliasOf
		}
		return t
	}
	for i := range p.Tensors {
		a := &p.Tensors[i]
		for j := i + 1; j < len(p.Tensors); j++ {
			b := &p.Tensors[j]
			if a.First > b.Last || b.First > a.Last || root(i) == root(j) {
				continue
			}
			if a.Offset < b.End()+b.Spare && b.Offset < a.End()+a.Spare {
				return fmt.Errorf("tensors %q [%d,%d) and %q [%d,%d) are both live at step %d but overlap",
					a.Name, a.Offset, a.End(), b.Name, b.Offset, b.End(), max(a.First, b.First))
			}
		}
	}
	const free, garbage = -1, -2
	owner := make([]int, p.ActivationBytes)
	for i := range owner {
		owner[i] = free
	}
	// value maps a tensor to the tensor whose data it holds (views hold
	// their source's data).
	isView := make([]bool, len(p.Tensors))
	for _, st := range p.Steps {
		if st.View && st.Output >= 0 && st.Output < len(isView) {
			isView[st.Output] = true
		}
	}
	value := func(t int) int {
		for isView[t] && p.Tensors[t].AliasOf >= 0 {
			t = p.Tensors[t].AliasOf
		}
		return t
	}
	name := func(v int) string {
		switch v {
		case free:
			return "nothing (never written)"
		case garbage:
			return "a pooling kernel's work space"
		}
		return fmt.Sprintf("tensor %q", p.Tensors[v].Name)
	}
	write := func(t int) {
		v := value(t)
		tp := &p.Tensors[t]
		for i := tp.Offset; i < tp.End(); i++ {
			owner[i] = v
		}
	}
	read := func(t int, step int) error {
		v := value(t)
		tp := &p.Tensors[t]
		for i := tp.Offset; i < tp.End(); i++ {
			if owner[i] != v {
				return fmt.Errorf("step %d reads tensor %q at [%d,%d) but byte %d holds %s", step, tp.Name, tp.Offset, tp.End(), i, name(owner[i]))
			}
		}
		return nil
	}
	overlap := func(a, b int) bool {
		ta, tb := &p.Tensors[a], &p.Tensors[b]
		return ta.Offset < tb.End() && tb.Offset < ta.End()
	}
	same := func(a, b int) bool {
		return p.Tensors[a].Offset == p.Tensors[b].Offset && p.Tensors[a].Bytes == p.Tensors[b].Bytes
	}
	write(0)
	for s, st := range p.Steps {
		for _, in := range st.Inputs {
			if err := read(in, s); err != nil {
				return err
			}
		}
		out := st.Output
		if st.View {
			if !same(out, st.Inputs[0]) || value(out) != value(st.Inputs[0]) {
				return fmt.Errorf("view %q does not alias its input", p.Tensors[out].Name)
			}
			continue
		}
		src := st.Inputs[0]
		if st.Copy >= 0 {
			if overlap(st.Copy, src) {
				return fmt.Errorf("step %d: work copy %q overlaps its source", s, p.Tensors[st.Copy].Name)
			}
			write(st.Copy)
			src = st.Copy
		}
		for k, in := range st.Inputs {
			if k == 0 && st.Copy >= 0 {
				in = st.Copy
			}
			if !overlap(out, in) {
				continue
			}
			if st.Reuses >= 0 && same(out, in) && value(in) == value(st.Inputs[st.Reuses]) {
				continue // the declared reuse (the same tensor may be read twice)
			}
			return fmt.Errorf("step %d (%s): output %q overlaps input %q", s, st.Name, p.Tensors[out].Name, p.Tensors[in].Name)
		}
		if st.Clobbers {
			tp := &p.Tensors[src]
			for i := tp.Offset; i < tp.End(); i++ {
				owner[i] = garbage
			}
		}
		write(out)
	}
	if len(p.Steps) > 0 {
		if err := read(p.Steps[len(p.Steps)-1].Output, len(p.Steps)); err != nil {
			return err
		}
	}
	return nil
}

// String renders the plan as a table.
func (p *MemPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arena %d bytes = activations %d + scratch %d (lower bound %d, naive %d, %s)\n",
		p.ArenaBytes, p.ActivationBytes, p.ScratchBytes, p.LowerBound, p.Naive, p.Strategy)
	fmt.Fprintf(&b, "%-24s %8s %8s %6s %6s  %s\n", "tensor", "offset", "bytes", "first", "last", "note")
	for _, t := range p.Tensors {
		note := t.Role
		if t.AliasOf >= 0 {
			note += " of " + p.Tensors[t.AliasOf].Name
		}
		fmt.Fprintf(&b, "%-24s %8d %8d %6d %6d  %s\n", t.Name, t.Offset, t.Bytes, t.First, t.Last, strings.TrimSpace(note))
	}
	return b.String()
}
