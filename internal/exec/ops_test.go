package exec

import (
	"errors"
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

var errFail = errors.New("deliberate failure")

// failOp is a unary op whose Do always fails.
type failOp struct{}

func (failOp) Arity() int    { return 1 }
func (failOp) Type() hm.Type { a := hm.TypeVariable('a'); return hm.NewFnType(a, a) }
func (failOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (failOp) Do(...G.Value) (G.Value, error) { return nil, errFail }
func (failOp) ReturnsPtr() bool               { return false }
func (failOp) CallsExtern() bool              { return false }
func (failOp) OverwritesInput() int           { return -1 }
func (failOp) WriteHash(h hash.Hash)          { fmt.Fprint(h, "failOp") }
func (failOp) Hashcode() uint32               { return 1 }
func (failOp) String() string                 { return "failOp" }

// flattenOp reshapes its input to a vector and declares itself a Viewer.
// Its Do allocates (a copy), so a machine that ran it would show copies.
type flattenOp struct{ size int }

func (flattenOp) Arity() int { return 1 }
func (op flattenOp) Type() hm.Type {
	return hm.NewFnType(G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}, G.TensorType{Dims: 1, Of: hm.TypeVariable('a')})
}
func (op flattenOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.size}, nil
}
func (op flattenOp) Do(vs ...G.Value) (G.Value, error) {
	c := vs[0].(*tensor.Dense).Clone().(*tensor.Dense)
	return c, c.Reshape(op.size)
}
func (flattenOp) ReturnsPtr() bool      { return false }
func (flattenOp) CallsExtern() bool     { return false }
func (flattenOp) OverwritesInput() int  { return -1 }
func (flattenOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "flatten") }
func (flattenOp) Hashcode() uint32      { return 2 }
func (flattenOp) String() string        { return "flatten" }
func (flattenOp) ViewOf() int           { return 0 }

// scaleOp multiplies a float32 tensor by c, into the preallocated value
// without allocating.
type scaleOp struct{ c float32 }

func (scaleOp) Arity() int { return 1 }
func (scaleOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (scaleOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (op scaleOp) Do(vs ...G.Value) (G.Value, error) {
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(vs[0].Shape().Clone()...))
	return op.UsePreallocDo(out, vs...)
}
func (op scaleOp) UsePreallocDo(p G.Value, vs ...G.Value) (G.Value, error) {
	dst, src := p.(*tensor.Dense).Float32s(), vs[0].(*tensor.Dense).Float32s()
	for i, v := range src {
		dst[i] = op.c * v
	}
	return p, nil
}
func (scaleOp) ReturnsPtr() bool         { return false }
func (scaleOp) CallsExtern() bool        { return false }
func (scaleOp) OverwritesInput() int     { return -1 }
func (op scaleOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "scale", op.c) }
func (scaleOp) Hashcode() uint32         { return 3 }
func (op scaleOp) String() string        { return fmt.Sprintf("scale%v", op.c) }

// addOp adds two float32 tensors of one shape into the preallocated value.
type addOp struct{}

func (addOp) Arity() int { return 2 }
func (addOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}
func (addOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (op addOp) Do(vs ...G.Value) (G.Value, error) {
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(vs[0].Shape().Clone()...))
	return op.UsePreallocDo(out, vs...)
}
func (addOp) UsePreallocDo(p G.Value, vs ...G.Value) (G.Value, error) {
	dst, a, b := p.(*tensor.Dense).Float32s(), vs[0].(*tensor.Dense).Float32s(), vs[1].(*tensor.Dense).Float32s()
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
	return p, nil
}
func (addOp) ReturnsPtr() bool      { return false }
func (addOp) CallsExtern() bool     { return false }
func (addOp) OverwritesInput() int  { return -1 }
func (addOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "add") }
func (addOp) Hashcode() uint32      { return 4 }
func (addOp) String() string        { return "add" }

// negOp negates its input in place through UnsafeDo.
type negOp struct{}

func (negOp) Arity() int { return 1 }
func (negOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (negOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (op negOp) Do(vs ...G.Value) (G.Value, error) {
	return op.UnsafeDo(vs[0].(*tensor.Dense).Clone().(*tensor.Dense))
}
func (negOp) UnsafeDo(vs ...G.Value) (G.Value, error) {
	d := vs[0].(*tensor.Dense).Float32s()
	for i := range d {
		d[i] = -d[i]
	}
	return vs[0], nil
}
func (negOp) ReturnsPtr() bool      { return true }
func (negOp) CallsExtern() bool     { return false }
func (negOp) OverwritesInput() int  { return 0 }
func (negOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "neg") }
func (negOp) Hashcode() uint32      { return 5 }
func (negOp) String() string        { return "neg" }

// aliasOp returns its input value itself, like an identity that does not
// declare itself a view.
type aliasOp struct{}

func (aliasOp) Arity() int { return 1 }
func (aliasOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (aliasOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (aliasOp) Do(vs ...G.Value) (G.Value, error) { return vs[0], nil }
func (aliasOp) ReturnsPtr() bool                  { return true }
func (aliasOp) CallsExtern() bool                 { return false }
func (aliasOp) OverwritesInput() int              { return -1 }
func (aliasOp) WriteHash(h hash.Hash)             { fmt.Fprint(h, "alias") }
func (aliasOp) Hashcode() uint32                  { return 6 }
func (aliasOp) String() string                    { return "alias" }

// stubbornOp has a UsePreallocDo that always fails; its Do works.
type stubbornOp struct{ scaleOp }

func (stubbornOp) UsePreallocDo(G.Value, ...G.Value) (G.Value, error) {
	return nil, errors.New("no prealloc today")
}
func (op stubbornOp) Do(vs ...G.Value) (G.Value, error) {
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(vs[0].Shape().Clone()...))
	return op.scaleOp.UsePreallocDo(out, vs...)
}
func (stubbornOp) String() string { return "stubborn" }
