package exec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Replacer returns an op that computes the same value as node n's op from
// the same inputs, only faster (for example a kernel of the project's own for
// a stock gorgonia op), or nil to leave n alone. The op it returns must have
// n's output shape and dtype.
type Replacer func(n *G.Node) G.Op

var (
	replacersMu sync.Mutex
	replacers   []Replacer
)

// RegisterReplacer makes every later New consult r for each op node, in
// registration order (the first non-nil answer wins). A package providing
// faster kernels registers its replacers in an init function; they must be
// safe for concurrent use. NoReplacement turns them off for one machine.
func RegisterReplacer(r Replacer) {
	if r == nil {
		return
	}
	replacersMu.Lock()
	replacers = append(replacers, r)
	replacersMu.Unlock()
}

// replacement returns the op a registered Replacer offers for n, or nil.
func replacement(n *G.Node) G.Op {
	replacersMu.Lock()
	rs := replacers
	replacersMu.Unlock()
	for _, r := range rs {
		if op := r(n); op != nil {
			return op
		}
	}
	return nil
}

// Fuser is implemented by ops that can compute, in one pass over memory, their own
// result followed by the op of the node that consumes it, such as a batch norm
// followed by a ReLU: the intermediate value is then neither written nor read
// back. New fuses a node whose op implements Fuser into its consumer when that
// consumer is the only node that reads it (once) and the node is not kept (see
// Keep, Outputs and NoFusion); the node then has no value of its own. Fused ops
// may implement Fuser again, so chains fuse (a convolution, a batch norm and a
// ReLU).
type Fuser interface {
	G.Op
	// FuseInto returns an op that produces next applied to this op's result,
	// when this op's result is next's input number arg, or nil when it cannot.
	// The returned op takes this op's inputs followed by next's other inputs
	// (in order, without input arg); it must implement G.UsePreallocDoer, have
	// next's output shape and dtype, and have the effects of running this op
	// and next (such as state they keep for their gradient ops).
	FuseInto(next G.Op, arg int) G.Op
}

// Slicer is implemented by ops whose output is a contiguous run of the
// elements of one input (for example one of several results an op packs into
// one tensor): the machine gives such a node no buffer and no work, its value
// is a header over that part of the input's memory. An op implementing Slicer
// must not be used where the run does not fit in the input or the dtypes
// differ; New then falls back to running it.
type Slicer interface {
	G.Op
	// SliceOf returns the index of the input and the offset, in elements, of
	// the run of its elements that is the output (as many as the output has).
	SliceOf() (input, offset int)
}

// Viewer is implemented by ops whose output reinterprets the memory of one
// input with a new shape (same elements in the same order, as reshape or
// flatten do). The machine gives such a node no buffer and no work: its value
// is a header over input ViewOf()'s memory, whose buffer then lives as long
// as the view is needed. An op implementing Viewer must not be used where its
// output has a different element count or dtype from that input; New then
// falls back to running it.
type Viewer interface {
	G.Op
	// ViewOf returns the index of the input whose memory the output is.
	ViewOf() int
}

var (
	stockTypesOnce sync.Once
	reshapeType    reflect.Type // gorgonia's unexported reshape op
	stmtTypes      map[reflect.Type]bool
)

// stockTypes finds the types of stock ops the planner treats specially by
// building them in a throwaway graph (they are unexported).
func stockTypes() {
	stockTypesOnce.Do(func() {
		g := G.NewGraph()
		x := G.NewVector(g, tensor.Float32, G.WithShape(2), G.WithName("x"))
		if r, err := G.Reshape(x, tensor.Shape{2, 1}); err == nil {
			reshapeType = reflect.TypeOf(r.Op())
		}
		var v G.Value
		stmtTypes = map[reflect.Type]bool{
			reflect.TypeOf(G.Read(x, &v).Op()): true,
			reflect.TypeOf(G.Set(x, x).Op()):   true,
		}
	})
}

// New plans the execution of g: it sorts the graph, decides for every op
// node how its value is computed, and allocates the buffers that Run reuses.
//
// Nodes without an op (inputs, parameters) are bound by the caller: New binds
// a zero value of the node's shape with G.Let to any such node that has none,
// so the caller can write into it in place. Constants and other nodes without
// inputs run through their Do and keep its result. Every other node with a
// tensor output gets a planned buffer of its shape and dtype. Buffers are
// shared between nodes whose lifetimes do not overlap, except for kept nodes:
// with Outputs, the outputs; otherwise the graph's sinks (nodes nothing
// consumes) and the gradients of caller-bound nodes (G.Grad's results); and
// any node named in Keep. KeepAll keeps every node.
//
// Each op node's op may be swapped for a faster equivalent that a registered
// Replacer offers (see RegisterReplacer), unless NoReplacement is given.
//
// A node whose op implements Fuser is computed fused into its consumer when
// that consumer is the only node reading it, unless the node is kept or
// NoFusion is given: the consumer's step runs the op FuseInto returns on the
// node's inputs followed by the consumer's other inputs.
//
// How an op node runs (Stats counts each kind):
//   - an op implementing G.UsePreallocDoer writes into its buffer;
//   - an op implementing G.UnsafeDoer whose OverwritesInput() names an input
//     of the output's shape and dtype runs in place on its buffer, into which
//     that input is copied first (no copy when the input is not needed
//     afterwards: the buffer is then the input's own);
//   - G.Iop, gorgonia's reshape and ops implementing Viewer become views of
//     their input's memory, ops implementing Slicer views of part of it;
//   - any other op runs through Do, which allocates, and its result is
//     copied into the buffer (it is not adopted: a stock op may return
//     memory it shares with an input, and the copy keeps buffer sharing
//     sound). Scalar outputs keep Do's result.
//
// New reports an error for a nil graph, a cyclic graph, nodes of other graphs
// in the options, kept nodes that Outputs prunes, statement nodes
// (G.Read, G.Set) among the nodes to run, and tensor nodes without a shape.
func New(g *G.ExprGraph, opts ...Option) (*Machine, error) {
	if g == nil {
		return nil, errors.New("exec.New: graph is nil")
	}
	stockTypes()
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("exec.New: sorting the graph: %w", err)
	}
	order := make([]*G.Node, len(sorted)) // inputs first
	for i, n := range sorted {
		order[len(sorted)-1-i] = n
	}
	for _, n := range append(append([]*G.Node(nil), c.outputs...), c.keep...) {
		if n == nil {
			return nil, errors.New("exec.New: nil node in exec.Outputs or exec.Keep")
		}
		if n.Graph() != g {
			return nil, fmt.Errorf("exec.New: node %q (id %d) in exec.Outputs or exec.Keep belongs to another graph", n.Name(), n.ID())
		}
	}
	if len(c.outputs) > 0 {
		need := make(map[int64]bool)
		stack := append([]*G.Node(nil), c.outputs...)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if need[n.ID()] {
				continue
			}
			need[n.ID()] = true
			stack = append(stack, children(g, n)...)
		}
		kept := order[:0:0]
		for _, n := range order {
			if need[n.ID()] {
				kept = append(kept, n)
			}
		}
		order = kept
	}

	m := &Machine{g: g, index: make(map[int64]int, len(order)), alloc: c.alloc}
	if m.alloc == nil {
		m.alloc = HostAllocator{}
	}
	m.slots = make([]slot, len(order))
	kids := make([][]int, len(order))
	consumers := make([]int, len(order))
	for i, n := range order {
		m.index[n.ID()] = i
		s := &m.slots[i]
		if n.Op() != nil && stmtTypes[reflect.TypeOf(n.Op())] {
			return nil, fmt.Errorf("exec.New: node %q (id %d) is a statement (%v), which the executor does not run; read values with Machine.Value", n.Name(), n.ID(), n.Op())
		}
		*s = slot{node: n, dtype: n.Dtype(), root: -1, arena: -1, fusedInto: -1, input: n.Op() == nil}
		if n.IsScalar() {
			s.shape = tensor.ScalarShape()
		} else {
			s.shape = n.Shape()
			if s.shape == nil {
				return nil, fmt.Errorf("exec.New: node %q (id %d) has no shape", n.Name(), n.ID())
			}
			s.size = s.shape.TotalSize()
		}
		if s.input {
			continue
		}
		for _, ch := range children(g, n) {
			j, ok := m.index[ch.ID()]
			if !ok {
				return nil, fmt.Errorf("exec.New: node %q (id %d) uses node %q (id %d), which is not sorted before it", n.Name(), n.ID(), ch.Name(), ch.ID())
			}
			kids[i] = append(kids[i], j)
			consumers[j]++
		}
	}

	// Kept nodes.
	keep := func(n *G.Node) error {
		i, ok := m.index[n.ID()]
		if !ok {
			return fmt.Errorf("exec.New: kept node %q (id %d) is not among the nodes exec.Outputs runs", n.Name(), n.ID())
		}
		m.slots[i].kept = true
		return nil
	}
	for _, n := range c.outputs {
		if err := keep(n); err != nil {
			return nil, err
		}
	}
	for _, n := range c.keep {
		if err := keep(n); err != nil {
			return nil, err
		}
	}
	if len(c.outputs) == 0 {
		for i := range m.slots {
			s := &m.slots[i]
			if consumers[i] == 0 {
				s.kept = true
			}
			for _, of := range s.node.DerivOf() {
				if of.Op() == nil {
					s.kept = true
				}
			}
		}
	}
	if c.keepAll {
		for i := range m.slots {
			m.slots[i].kept = true
		}
	}

	// Steps and modes.
	slotStep := make([]int, len(order))
	for i := range m.slots {
		s := &m.slots[i]
		slotStep[i] = -1
		if s.input {
			m.inputs = append(m.inputs, i)
			if s.node.Value() == nil {
				if err := bindZero(s); err != nil {
					return nil, err
				}
			}
			continue
		}
		st := step{out: i, op: s.node.Op(), in: kids[i], args: make([]G.Value, len(kids[i])), k: -1}
		if !c.noReplace {
			if op := replacement(s.node); op != nil {
				st.op = op
				m.replaced++
			}
		}
		st.mode, st.k, st.off = m.classify(s, st.op, kids[i])
		st.slice = st.mode == modeView && isSlicer(st.op)
		slotStep[i] = len(m.steps)
		m.steps = append(m.steps, st)
	}
	if !c.noFusion {
		m.fuse(slotStep, consumers)
	}

	// Roots: which slot's arena holds each value.
	for si := range m.steps {
		st := &m.steps[si]
		s := &m.slots[st.out]
		switch st.mode {
		case modePrealloc, modeInPlace, modeCopy:
			s.root = st.out
		case modeView:
			in := &m.slots[st.in[st.k]]
			s.root = in.root // -1 for caller memory
			s.off = in.off + st.off
		}
	}
	// A kept view keeps its root.
	for i := range m.slots {
		if s := &m.slots[i]; s.kept && s.root >= 0 {
			m.slots[s.root].kept = true
		}
	}
	// end[r]: the last step that reads memory rooted at r.
	const forever = math.MaxInt
	end := make([]int, len(m.slots))
	for i := range end {
		end[i] = -1
	}
	for si := range m.steps {
		st := &m.steps[si]
		for _, in := range st.in {
			if r := m.slots[in].root; r >= 0 && end[r] < si {
				end[r] = si
			}
		}
	}
	for i := range m.slots {
		if m.slots[i].kept && m.slots[i].root == i {
			end[i] = forever
		}
	}

	// Lifetimes in execution order. A value occupies memory from its step to
	// its last reader (end); an in-place step whose input dies there takes that
	// input's memory over, continuing its block. live follows the bytes held
	// at each step for Stats.PeakLiveBytes.
	var blocks []block
	var live int64
	bytesOf := func(s *slot) int64 { return int64(s.size) * int64(s.dtype.Size()) }
	for si := range m.steps {
		st := &m.steps[si]
		s := &m.slots[st.out]
		if s.root == st.out {
			live += bytesOf(s)
			if end[st.out] < 0 {
				end[st.out] = si // nothing reads it: free it right away
			}
			s.block = -1
			if st.mode == modeInPlace {
				if r := m.slots[st.in[st.k]].root; r >= 0 && end[r] == si && m.slots[r].dtype == s.dtype && m.slots[st.in[st.k]].off == 0 {
					alone := true
					for j, in := range st.in {
						if j != st.k && m.slots[in].root == r {
							alone = false
						}
					}
					if alone {
						st.inherited = true
						s.block = m.slots[r].block
						b := &blocks[s.block]
						b.last, b.size = max(b.last, end[st.out]), max(b.size, s.size)
						live -= bytesOf(&m.slots[r])
					}
				}
			}
			if s.block < 0 {
				s.block = len(blocks)
				blocks = append(blocks, block{dtype: s.dtype, first: si, last: end[st.out], size: s.size})
			}
			m.peakLive = max(m.peakLive, live)
		}
		// Release the memory whose last reader is this step.
		for j, in := range st.in {
			r := m.slots[in].root
			if r < 0 || end[r] != si || seenRoot(m, st.in[:j], r) {
				continue
			}
			if st.inherited && m.slots[st.in[st.k]].root == r {
				continue
			}
			live -= bytesOf(&m.slots[r])
		}
		if s.root == st.out && end[st.out] == si {
			live -= bytesOf(s)
		}
	}
	m.arenas = placeBlocks(blocks)
	for i := range m.slots {
		if s := &m.slots[i]; s.root == i && s.block >= 0 {
			s.arena, s.base = blocks[s.block].arena, blocks[s.block].off
		}
	}

	// Allocate the arenas and the headers over them.
	if err := m.allocate(); err != nil {
		return nil, err
	}
	for si := range m.steps {
		st := &m.steps[si]
		s := &m.slots[st.out]
		if s.root < 0 {
			continue
		}
		r := &m.slots[s.root]
		s.buf = tensor.New(tensor.WithShape(s.shape.Clone()...), tensor.WithBacking(window(m.arenas[r.arena].data, r.base+s.off, s.size)))
		s.val = s.buf
	}
	return m, nil
}

// fuse runs each node whose op implements Fuser, and whose value only one
// step reads, fused into that step (in execution order, so chains fuse too),
// and drops its own step. A step takes in at most one fused input.
func (m *Machine) fuse(slotStep, consumers []int) {
	removed := make([]bool, len(m.steps))
	n := 0
	for si := range m.steps {
		b := &m.steps[si]
		for j, in := range b.in {
			ai := slotStep[in]
			if ai < 0 || removed[ai] {
				continue
			}
			a := &m.steps[ai]
			as := &m.slots[a.out]
			if as.kept || consumers[a.out] != 1 || a.mode != modePrealloc {
				continue
			}
			f, ok := a.op.(Fuser)
			if !ok {
				continue
			}
			op := f.FuseInto(b.op, j)
			if op == nil {
				continue
			}
			if _, ok := op.(G.UsePreallocDoer); !ok {
				continue
			}
			ins := append([]int(nil), a.in...)
			ins = append(ins, b.in[:j]...)
			ins = append(ins, b.in[j+1:]...)
			b.op, b.mode, b.k, b.in = op, modePrealloc, -1, ins
			b.args = make([]G.Value, len(b.in))
			removed[ai] = true
			as.fusedInto = b.out
			n++
			break
		}
	}
	if n == 0 {
		return
	}
	kept := m.steps[:0]
	for si, st := range m.steps {
		if !removed[si] {
			kept = append(kept, st)
		}
	}
	m.steps = kept
	m.fused = n
}

func seenRoot(m *Machine, ins []int, r int) bool {
	for _, in := range ins {
		if m.slots[in].root == r {
			return true
		}
	}
	return false
}

// A block is the memory of one value, or of a chain of in-place steps that take
// their input's memory over, live from step first to step last (inclusive).
type block struct {
	dtype       tensor.Dtype
	first, last int
	size        int // elements
	arena, off  int // where placeBlocks put it
}

// blockAlign is the element granularity of the offsets of blocks of at least that
// many elements: 64 bytes for float32, a cache line and an AVX-512 vector.
const blockAlign = 16

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// placeBlocks lays the blocks out in one arena per dtype so that blocks live at the
// same step do not overlap, largest first, each at the lowest offset that fits among
// the blocks already placed whose lifetimes meet its own (the greedy-by-size heuristic
// of offline memory planners). Recycling whole buffers in execution order instead
// let early small values hold buffers that later, larger values grew: ResNet56's
// training step planned 972 MB for 553 MB of values live at once.
func placeBlocks(blocks []block) []arena {
	order := make([]int, len(blocks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := &blocks[order[i]], &blocks[order[j]]
		if a.size != b.size {
			return a.size > b.size
		}
		return a.first < b.first
	})
	var arenas []arena
	arenaOf := map[tensor.Dtype]int{}
	var placed []int // blocks placed so far, any dtype
	var meets []int
	for _, bi := range order {
		b := &blocks[bi]
		a, ok := arenaOf[b.dtype]
		if !ok {
			a = len(arenas)
			arenaOf[b.dtype] = a
			arenas = append(arenas, arena{dtype: b.dtype})
		}
		meets = meets[:0]
		for _, pi := range placed {
			p := &blocks[pi]
			if p.arena == a && p.first <= b.last && b.first <= p.last {
				meets = append(meets, pi)
			}
		}
		sort.Slice(meets, func(i, j int) bool { return blocks[meets[i]].off < blocks[meets[j]].off })
		align := 1
		if b.size >= blockAlign {
			align = blockAlign
		}
		off := 0
		for _, pi := range meets {
			p := &blocks[pi]
			if p.off >= alignUp(off, align)+b.size {
				break
			}
			off = max(off, p.off+p.size)
		}
		b.arena, b.off = a, alignUp(off, align)
		arenas[a].size = max(arenas[a].size, b.off+b.size)
		placed = append(placed, bi)
	}
	return arenas
}

func isSlicer(op G.Op) bool {
	_, ok := op.(Slicer)
	return ok
}

// classify decides how the op node s runs; for views it also returns the
// viewed input and the offset in it.
func (m *Machine) classify(s *slot, op G.Op, in []int) (mode, int, int) {
	if len(in) == 0 || s.size == 0 {
		return modeAdopt, -1, 0
	}
	if sl, ok := op.(Slicer); ok {
		k, off := sl.SliceOf()
		if k >= 0 && k < len(in) && off >= 0 {
			if c := &m.slots[in[k]]; c.size > 0 && c.dtype == s.dtype && off+s.size <= c.size {
				return modeView, k, off
			}
		}
	}
	sameKind := func(k int) bool {
		if k < 0 || k >= len(in) {
			return false
		}
		c := &m.slots[in[k]]
		return c.size > 0 && c.dtype == s.dtype && c.size == s.size
	}
	view := -1
	switch o := op.(type) {
	case Viewer:
		view = o.ViewOf()
	case G.Iop:
		view = 0
	default:
		if reflect.TypeOf(op) == reshapeType {
			view = 0
		}
	}
	if view >= 0 && sameKind(view) {
		return modeView, view, 0
	}
	if _, ok := op.(G.UsePreallocDoer); ok {
		return modePrealloc, -1, 0
	}
	if _, ok := op.(G.UnsafeDoer); ok {
		if k := op.OverwritesInput(); sameKind(k) && shapeEq(m.slots[in[k]].shape, s.shape) {
			return modeInPlace, k, 0
		}
	}
	return modeCopy, -1, 0
}

// bindZero binds a zero value of s's shape to a caller-bound node.
func bindZero(s *slot) error {
	var v interface{}
	if s.size == 0 && s.shape.IsScalar() {
		v = reflect.Zero(s.dtype.Type).Interface()
	} else {
		v = tensor.New(tensor.Of(s.dtype), tensor.WithShape(s.shape.Clone()...))
	}
	if err := G.Let(s.node, v); err != nil {
		return fmt.Errorf("exec.New: binding a zero value to input node %q (id %d): %w", s.node.Name(), s.node.ID(), err)
	}
	return nil
}

func children(g *G.ExprGraph, n *G.Node) []*G.Node {
	var out []*G.Node
	it := g.From(n.ID())
	if it == nil {
		return nil
	}
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}
