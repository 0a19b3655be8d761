package ops

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// nextID numbers stateful op instances, so that gorgonia's node deduplication (which
// merges nodes whose op hashes and children agree) never merges two of them.
var nextID atomic.Uint64

func newID() uint64 { return nextID.Add(1) }

// runner is the part each op supplies: the computation on checked float32 data.
type runner interface {
	run(out []float32, in [][]float32) error
}

// base carries what every op of this package shares: the fixed input and output shapes
// (gorgonia graphs are statically shaped), type, hash, and Do/UsePreallocDo, which check
// the values and hand their data to the op's run method. An op instance belongs to one
// node and must not be run by two machines at once.
type base struct {
	kind   string
	params string
	id     uint64 // nonzero for ops with per-instance state
	ins    []tensor.Shape
	out    tensor.Shape
	kern   Kernels
	self   runner
	inbuf  [][]float32
}

func newBase(self runner, kind, params string, stateful bool, out tensor.Shape, ins ...tensor.Shape) base {
	b := base{kind: kind, params: params, out: out.Clone(), kern: CPU{}, self: self}
	for _, s := range ins {
		b.ins = append(b.ins, s.Clone())
	}
	if stateful {
		b.id = newID()
	}
	return b
}

func typeOf(s tensor.Shape) hm.Type {
	if len(s) == 0 {
		return tensor.Float32
	}
	return G.TensorType{Dims: len(s), Of: tensor.Float32}
}

// Arity implements gorgonia.Op.
func (b *base) Arity() int { return len(b.ins) }

// Type implements gorgonia.Op: float32 tensors of the construction-time ranks.
func (b *base) Type() hm.Type {
	ts := make([]hm.Type, 0, len(b.ins)+1)
	for _, s := range b.ins {
		ts = append(ts, typeOf(s))
	}
	ts = append(ts, typeOf(b.out))
	return hm.NewFnType(ts...)
}

// InferShape implements gorgonia.Op; it fails unless the inputs have the shapes the op was built for.
func (b *base) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	if len(ds) != len(b.ins) {
		return nil, fmt.Errorf("%s: got %d inputs, want %d", b.kind, len(ds), len(b.ins))
	}
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input %d: expected a tensor.Shape, got %T", b.kind, i, d)
		}
		if !sameShape(s, b.ins[i]) {
			return nil, fmt.Errorf("%s: input %d has shape %v, want %v", b.kind, i, s, b.ins[i])
		}
	}
	return b.out.Clone(), nil
}

// ReturnsPtr implements gorgonia.Op.
func (b *base) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (b *base) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op: outputs never alias inputs.
func (b *base) OverwritesInput() int { return -1 }

// WriteHash implements gorgonia.Op. Stateful ops include their unique id.
func (b *base) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "selfsup.%s{%s}#%d", b.kind, b.params, b.id)
}

// Hashcode implements gorgonia.Op.
func (b *base) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}

// String implements gorgonia.Op.
func (b *base) String() string {
	var sb strings.Builder
	sb.WriteString(b.kind)
	if b.params != "" {
		sb.WriteString("{" + b.params + "}")
	}
	if b.id != 0 {
		fmt.Fprintf(&sb, "#%d", b.id)
	}
	return sb.String()
}

// DiffWRT is the default for gradient ops: not differentiable.
func (b *base) DiffWRT(n int) []bool { return make([]bool, n) }

// SymDiff is the default for gradient ops: an error (no second derivatives).
func (b *base) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%s: no second derivative", b.kind)
}

// Do implements gorgonia.Op: it allocates the output and runs the op.
func (b *base) Do(in ...G.Value) (G.Value, error) {
	var out G.Value
	if len(b.out) == 0 {
		out = G.NewF32(0)
	} else {
		out = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(b.out...))
	}
	return b.UsePreallocDo(out, in...)
}

// UsePreallocDo implements gorgonia.UsePreallocDoer: it writes the result into prealloc
// (a float32 *tensor.Dense of the output shape, or a *gorgonia.F32 for a scalar output).
func (b *base) UsePreallocDo(prealloc G.Value, in ...G.Value) (G.Value, error) {
	if len(in) != len(b.ins) {
		return nil, fmt.Errorf("%v: got %d inputs, want %d", b, len(in), len(b.ins))
	}
	out, err := valueData(prealloc, b.out)
	if err != nil {
		return nil, fmt.Errorf("%v: output: %w", b, err)
	}
	if cap(b.inbuf) < len(in) {
		b.inbuf = make([][]float32, len(in))
	}
	ins := b.inbuf[:len(in)]
	for i, v := range in {
		if ins[i], err = valueData(v, b.ins[i]); err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", b, i, err)
		}
	}
	err = b.self.run(out, ins)
	clear(ins)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", b, err)
	}
	return prealloc, nil
}

func size(s tensor.Shape) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// sameShape compares shapes, treating every shape of one element as a scalar.
func sameShape(a, b tensor.Shape) bool {
	if size(a) == 1 && size(b) == 1 {
		return true
	}
	return slices.Equal(a, b)
}

// valueData returns the float32 data of v, which must have shape want.
func valueData(v G.Value, want tensor.Shape) ([]float32, error) {
	switch t := v.(type) {
	case *tensor.Dense:
		if t.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("dtype %v, want float32", t.Dtype())
		}
		if !sameShape(t.Shape(), want) {
			return nil, fmt.Errorf("shape %v, want %v", t.Shape(), want)
		}
		if t.RequiresIterator() || t.DataOrder().IsColMajor() {
			return nil, errors.New("not a contiguous row-major tensor; materialize it first")
		}
		d := t.Float32s()
		n := size(want)
		if len(d) < n {
			return nil, fmt.Errorf("%d values for shape %v", len(d), want)
		}
		return d[:n], nil
	case *G.F32:
		if size(want) != 1 {
			return nil, fmt.Errorf("a scalar, want shape %v", want)
		}
		return unsafe.Slice((*float32)(t), 1), nil
	case nil:
		return nil, errors.New("no value")
	default:
		return nil, fmt.Errorf("value of type %T, want a float32 *tensor.Dense", v)
	}
}

// apply builds a node of op over children, wrapping errors with the op's name.
func apply(op G.Op, children ...*G.Node) (*G.Node, error) {
	for i, c := range children {
		if c == nil {
			return nil, fmt.Errorf("%v: input %d is nil", op, i)
		}
	}
	n, err := G.ApplyOp(op, children...)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", op, err)
	}
	return n, nil
}

// checkFloat32 returns an error unless n is a float32 node.
func checkFloat32(what string, n *G.Node) error {
	if n == nil {
		return fmt.Errorf("%s is nil", what)
	}
	if n.Dtype() != tensor.Float32 {
		return fmt.Errorf("%s has dtype %v, want float32", what, n.Dtype())
	}
	return nil
}
