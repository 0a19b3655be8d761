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
