package exec

import (
	"context"
	"errors"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Machine runs the nodes of a gorgonia expression graph in topological order
// with buffers planned once by New. It is not safe for concurrent use.
type Machine struct {
	g        *G.ExprGraph
	slots    []slot
	index    map[int64]int // node ID -> slot index
	inputs   []int         // slots of caller-bound nodes
	steps    []step
	arenas   []arena
	fused    int   // nodes computed fused into their consumer
	replaced int   // nodes whose op a registered Replacer swapped
	peakLive int64 // the most planned bytes live at once (Stats.PeakLiveBytes)
	valid    bool  // the last Run completed
	copies   int   // results copied into a planned buffer during the last Run
	copied   int64
	alloc    Allocator
	closed   bool
}

// mode says how a step computes its node's value.
type mode uint8

const (
	// modePrealloc: UsePreallocDo writes into the node's planned buffer.
	modePrealloc mode = iota
	// modeInPlace: input k is copied into the planned buffer (no copy when
	// the buffer is input k's own memory, inherited because input k dies
	// here) and UnsafeDo overwrites it.
	modeInPlace
	// modeView: the value is a header over input k's memory (from element
	// off of the step), reshaped.
	modeView
	// modeCopy: Do allocates, the result is copied into the planned buffer.
	modeCopy
	// modeAdopt: Do's result is kept as returned (scalar outputs and
	// zero-input ops such as constants and random nodes).
	modeAdopt
)

func (md mode) String() string {
	switch md {
	case modePrealloc:
		return "prealloc"
	case modeInPlace:
		return "in-place"
	case modeView:
		return "view"
	case modeCopy:
		return "copy"
	case modeAdopt:
		return "adopt"
	}
	return fmt.Sprintf("mode(%d)", uint8(md))
}

type slot struct {
	node  *G.Node
	shape tensor.Shape
	dtype tensor.Dtype
	size  int  // elements; 0 for scalar-typed nodes
	input bool // no op: the caller binds the value
	kept  bool
	root  int           // slot whose arena holds this value, or -1
	arena int           // arena holding this slot's value (roots only), or -1
	base  int           // first element of a root's value in its arena
	block int           // the root's block in the plan (see placeBlocks)
	buf   *tensor.Dense // planned header over the arena (roots and views of roots)
	val   G.Value       // current value
	// off is the element offset of a view's value within its root's
	// memory (0 for roots).
	off int
	// fusedInto is the slot whose step computes this node's op fused with
	// its own (see Fuser), or -1.
	fusedInto int
}

type step struct {
	out     int
	op      G.Op
	mode    mode
	k       int  // in-place or viewed input
	off     int  // first element of a view within input k
	slice   bool // the view is a Slicer's (a part of input k, not all of it)
	in      []int
	args    []G.Value
	demoted error // why a prealloc step fell back to copy
	// inherited: an in-place step whose buffer is input k's arena
	inherited bool
	// cached view over memory that is not planned (caller-bound inputs,
	// adopted values)
	viewSrc *tensor.Dense
	viewPtr uintptr
}

type arena struct {
	dtype tensor.Dtype
	size  int         // elements
	data  interface{} // the []T backing, after allocation
}

// NodeError reports the node whose op failed during Run.
type NodeError struct {
	Node *G.Node
	Op   G.Op
	Err  error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("exec: node %q (id %d, op %v): %v", e.Node.Name(), e.Node.ID(), e.Op, e.Err)
}

// Unwrap returns the op's error.
func (e *NodeError) Unwrap() error { return e.Err }

// Run executes every planned node once, in topological order. The value of
// each caller-bound node (no op: inputs and parameters) is read from the node
// at the start of the call, so both G.Let with a new value and in-place
// writes into the bound tensor take effect. An op's failure is returned as a
// *NodeError; a cancelled ctx stops Run between two nodes and returns
// ctx.Err(). After a failed Run, Value reports an error until a Run succeeds.
func (m *Machine) Run(ctx context.Context) error {
	m.valid = false
	m.copies, m.copied = 0, 0
	if m.closed {
		return errors.New("exec: Run on a closed machine")
	}
	for _, i := range m.inputs {
		s := &m.slots[i]
		v := s.node.Value()
		if v == nil {
			return fmt.Errorf("exec: input node %q (id %d) has no value: bind one with G.Let", s.node.Name(), s.node.ID())
		}
		if v.Dtype() != s.dtype {
			return fmt.Errorf("exec: input node %q (id %d) is bound to a %v value, want %v", s.node.Name(), s.node.ID(), v.Dtype(), s.dtype)
		}
		if !shapeEq(v.Shape(), s.shape) {
			return fmt.Errorf("exec: input node %q (id %d) is bound to a value of shape %v, want %v", s.node.Name(), s.node.ID(), v.Shape(), s.shape)
		}
		s.val = v
	}
	done := ctx.Done()
	for si := range m.steps {
		if done != nil {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		st := &m.steps[si]
		if err := m.exec(st); err != nil {
			return &NodeError{Node: m.slots[st.out].node, Op: st.op, Err: err}
		}
	}
	m.valid = true
	return nil
}

func (m *Machine) exec(st *step) error {
	out := &m.slots[st.out]
	for j, in := range st.in {
		st.args[j] = m.slots[in].val
	}
	switch st.mode {
	case modePrealloc:
		res, err := st.op.(G.UsePreallocDoer).UsePreallocDo(out.buf, st.args...)
		if err != nil {
			// Like the TapeMachine, try the plain Do; if that works, the
			// step stays on Do (and a copy) from now on.
			res2, err2 := st.op.Do(st.args...)
			if err2 != nil {
				return err
			}
			st.mode, st.demoted = modeCopy, err
			res = res2
		}
		return m.store(out, res)
	case modeInPlace:
		in := st.args[st.k]
		if !sameMemory(in, out.buf) {
			if err := copyInto(out.buf, in); err != nil {
				return fmt.Errorf("copying input %d for an in-place op: %w", st.k, err)
			}
		}
		st.args[st.k] = out.buf
		res, err := st.op.(G.UnsafeDoer).UnsafeDo(st.args...)
		if err != nil {
			return err
		}
		return m.store(out, res)
	case modeView:
		return m.view(st, out)
	case modeCopy:
		res, err := st.op.Do(st.args...)
		if err != nil {
			return err
		}
		return m.store(out, res)
	case modeAdopt:
		res, err := st.op.Do(st.args...)
		if err != nil {
			return err
		}
		if res == nil {
			return errors.New("op returned no value")
		}
		// A value that shares memory with an input would be overwritten
		// when that input's buffer is reused: keep a copy instead.
		if d, ok := res.(*tensor.Dense); ok {
			for _, a := range st.args {
				if sameMemory(a, d) {
					res = d.Clone().(*tensor.Dense)
					break
				}
			}
		}
		out.val = res
		return nil
	}
	return fmt.Errorf("unknown execution mode %v", st.mode)
}

// store makes the planned buffer hold res.
func (m *Machine) store(out *slot, res G.Value) error {
	if res == nil {
		return errors.New("op returned no value")
	}
	if d, ok := res.(*tensor.Dense); ok && (d == out.buf || (sameMemory(d, out.buf) && len(d.Raw) == len(out.buf.Raw))) {
		out.val = out.buf
		return nil
	}
	if err := copyInto(out.buf, res); err != nil {
		return err
	}
	m.copies++
	m.copied += int64(len(out.buf.Raw))
	out.val = out.buf
	return nil
}

func (m *Machine) view(st *step, out *slot) error {
	if out.root >= 0 {
		out.val = out.buf // header planned over the root's arena
		return nil
	}
	src, ok := m.slots[st.in[st.k]].val.(*tensor.Dense)
	if !ok {
		return fmt.Errorf("cannot view a %T; want *tensor.Dense", m.slots[st.in[st.k]].val)
	}
	if out.buf != nil && src == st.viewSrc && len(src.Raw) > 0 && src.Uintptr() == st.viewPtr && !src.RequiresIterator() {
		out.val = out.buf
		return nil
	}
	mat := src
	if src.RequiresIterator() {
		mat = src.Materialize().(*tensor.Dense)
	}
	if n := mat.Shape().TotalSize(); n < st.off+out.size || (st.off == 0 && !st.slice && n != out.size) || mat.DataSize() < st.off+out.size {
		return fmt.Errorf("cannot view elements [%d, %d) of %v elements (shape %v) as shape %v", st.off, st.off+out.size, n, mat.Shape(), out.shape)
	}
	hdr := tensor.New(tensor.WithShape(out.shape.Clone()...), tensor.WithBacking(window(mat.Data(), st.off, out.size)))
	st.viewSrc, st.viewPtr = src, 0
	if len(src.Raw) > 0 {
		st.viewPtr = src.Uintptr()
	}
	out.buf, out.val = hdr, hdr
	return nil
}

// Value returns the value of n computed by the last Run, or the value bound
// to n when n is a caller-bound node. Tensor values of op nodes are the
// machine's planned buffers: they stay valid, and are overwritten, by the
// next Run; clone them to keep them. Value reports an error when n is not
// part of the machine, when no Run has succeeded yet, or when n was not kept
// (its buffer is shared with other nodes; see Keep and Outputs).
func (m *Machine) Value(n *G.Node) (G.Value, error) {
	s, err := m.slot(n)
	if err != nil {
		return nil, err
	}
	if s.input {
		v := n.Value()
		if v == nil {
			return nil, fmt.Errorf("exec: input node %q has no value", n.Name())
		}
		return v, nil
	}
	if s.fusedInto >= 0 {
		return nil, fmt.Errorf("exec: node %q has no value: it is computed fused into node %q; name it in exec.Keep or exec.Outputs, or use exec.NoFusion, to keep its value", n.Name(), m.slots[s.fusedInto].node.Name())
	}
	if !m.valid {
		return nil, fmt.Errorf("exec: node %q has no value: no Run has succeeded since the machine was built or since the last failed Run", n.Name())
	}
	if s.root >= 0 && !m.slots[s.root].kept {
		return nil, fmt.Errorf("exec: node %q is not kept: its buffer is shared with other nodes; name it in exec.Keep or exec.Outputs", n.Name())
	}
	return s.val, nil
}

// Tensor returns Value(n) as a *tensor.Dense. It reports an error for
// scalar values.
func (m *Machine) Tensor(n *G.Node) (*tensor.Dense, error) {
	v, err := m.Value(n)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("exec: node %q holds a %T, not a *tensor.Dense", n.Name(), v)
	}
	return d, nil
}

// Float32s returns the elements of a float32 tensor node's value. The slice
// is the value's memory, not a copy: for op nodes it is overwritten by the
// next Run; for a parameter it is the bound tensor, which an optimiser may
// update in place.
func (m *Machine) Float32s(n *G.Node) ([]float32, error) {
	d, err := m.Tensor(n)
	if err != nil {
		return nil, err
	}
	f, ok := d.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("exec: node %q holds %v data, not float32", n.Name(), d.Dtype())
	}
	return f, nil
}

// Float64s is Float32s for float64 tensors.
func (m *Machine) Float64s(n *G.Node) ([]float64, error) {
	d, err := m.Tensor(n)
	if err != nil {
		return nil, err
	}
	f, ok := d.Data().([]float64)
	if !ok {
		return nil, fmt.Errorf("exec: node %q holds %v data, not float64", n.Name(), d.Dtype())
	}
	return f, nil
}

// Scalar returns a scalar or one-element floating-point value (such as a
// loss) as a float64.
func (m *Machine) Scalar(n *G.Node) (float64, error) {
	v, err := m.Value(n)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case *G.F32:
		return float64(*x), nil
	case *G.F64:
		return float64(*x), nil
	case *tensor.Dense:
		if x.Shape().TotalSize() == 1 {
			switch e := x.Get(0).(type) {
			case float32:
				return float64(e), nil
			case float64:
				return e, nil
			}
		}
	}
	return math.NaN(), fmt.Errorf("exec: node %q holds %v of type %v, not a floating-point scalar", n.Name(), v.Shape(), v.Dtype())
}

func (m *Machine) slot(n *G.Node) (*slot, error) {
	if n == nil {
		return nil, errors.New("exec: node is nil")
	}
	i, ok := m.index[n.ID()]
	if !ok || m.slots[i].node != n {
		return nil, fmt.Errorf("exec: node %q (id %d) is not part of this machine (another graph, or pruned by exec.Outputs)", n.Name(), n.ID())
	}
	return &m.slots[i], nil
}

// Stats describes a machine's plan and its last Run.
type Stats struct {
	// Nodes is the number of op nodes executed per Run (steps), not counting
	// the nodes fused into their consumers.
	Nodes int
	// Replaced is the number of op nodes that run an equivalent op a
	// registered Replacer offered instead of their own (see RegisterReplacer).
	Replaced int
	// Fused is the number of op nodes computed fused into their single
	// consumer (see Fuser): they have no step and no buffer of their own.
	Fused int
	// Prealloc nodes write into their planned buffer through UsePreallocDo.
	Prealloc int
	// InPlace nodes run UnsafeDo on their planned buffer after copying the
	// overwritten input into it (or after inheriting that input's buffer
	// when the input is not needed afterwards: InPlaceInherited).
	InPlace, InPlaceInherited int
	// Views reinterpret an input's memory with the node's shape (reshape,
	// G.Iop, ops implementing Viewer) or a part of it (Slicer): no work and
	// no buffer.
	Views int
	// Copy nodes run through Do, which allocates, and their result is
	// copied into the planned buffer: the fallback for ops with neither
	// UsePreallocDo nor a usable UnsafeDo.
	Copy int
	// Adopt nodes keep Do's result as returned: scalar outputs, constants,
	// random nodes. Scalar results allocate a few bytes per Run.
	Adopt int
	// PlannedBytes is the memory of the planned (shared) buffers: the
	// arenas' sizes.
	PlannedBytes int64
	// PeakLiveBytes is the most bytes of planned values live at once in the
	// execution order: the least any layout could plan for this order.
	// PlannedBytes above it is what the layout loses to fragmentation and
	// alignment.
	PeakLiveBytes int64
	// UnsharedBytes is what the same buffers take without liveness-based
	// sharing (every node its own buffer).
	UnsharedBytes int64
	// Buffers is the number of planned allocations: one arena per dtype,
	// which the planned values are windows of.
	Buffers int
	// Copies and CopiedBytes count results copied into a planned buffer
	// during the last Run (Copy nodes, and prealloc or in-place ops that
	// returned fresh memory anyway).
	Copies      int
	CopiedBytes int64
}

// Stats returns the plan's figures and the copy counts of the last Run.
func (m *Machine) Stats() Stats {
	var st Stats
	st.Nodes = len(m.steps)
	st.Fused = m.fused
	st.Replaced = m.replaced
	for i := range m.steps {
		s := &m.steps[i]
		switch s.mode {
		case modePrealloc:
			st.Prealloc++
		case modeInPlace:
			st.InPlace++
			if s.inherited {
				st.InPlaceInherited++
			}
		case modeView:
			st.Views++
		case modeCopy:
			st.Copy++
		case modeAdopt:
			st.Adopt++
		}
	}
	for _, a := range m.arenas {
		st.PlannedBytes += int64(a.size) * int64(a.dtype.Size())
	}
	st.Buffers = len(m.arenas)
	st.PeakLiveBytes = m.peakLive
	for i := range m.slots {
		s := &m.slots[i]
		if s.arena >= 0 {
			st.UnsharedBytes += int64(s.size) * int64(s.dtype.Size())
		}
	}
	st.Copies, st.CopiedBytes = m.copies, m.copied
	return st
}

// PlannedBytes returns the bytes of the buffers planned for op nodes
// (Stats().PlannedBytes).
func (m *Machine) PlannedBytes() int64 { return m.Stats().PlannedBytes }
