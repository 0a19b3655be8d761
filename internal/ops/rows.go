package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// rowsOp is rows [lo, hi) of the first axis of its input. Those rows are one contiguous
// run of the input's elements, so under the project's executor the node is a view of
// its input (exec.Slicer) and costs neither memory nor work; Do and UsePreallocDo copy.
type rowsOp struct {
	base
	lo, hi, rowSize int
}

// Rows returns rows lo..hi-1 of the first axis of x [N, ...], shape [hi-lo, ...]
// (PyTorch's x[lo:hi]). The gradient of x is the output's gradient in those rows and
// zero elsewhere. Under the project's executor the result is a view of x's memory.
func Rows(x *G.Node, lo, hi int) (*G.Node, error) {
	if err := checkFloat32("rows input", x); err != nil {
		return nil, err
	}
	s := x.Shape()
	if s.Dims() < 1 {
		return nil, fmt.Errorf("rows: input must have a first axis, got shape %v", s)
	}
	if lo < 0 || hi > s[0] || lo >= hi {
		return nil, fmt.Errorf("rows: range [%d, %d) is empty or outside the %d rows of %v", lo, hi, s[0], s)
	}
	out := s.Clone()
	out[0] = hi - lo
	op := &rowsOp{lo: lo, hi: hi, rowSize: size(s[1:])}
	op.base = newBase(op, "rows", fmt.Sprintf("%d:%d", lo, hi), false, out, s)
	return apply(op, x)
}

func (op *rowsOp) run(out []float32, in [][]float32) error {
	return op.kern.Copy(out, in[0][op.lo*op.rowSize:op.hi*op.rowSize])
}

// SliceOf implements exec.Slicer: the output is the input's elements from row lo on.
func (op *rowsOp) SliceOf() (int, int) { return 0, op.lo * op.rowSize }

// DiffWRT implements gorgonia.SDOp.
func (op *rowsOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: dx is dy placed in rows [lo, hi) of zeros.
func (op *rowsOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &rowsGradOp{lo: op.lo, hi: op.hi, rowSize: op.rowSize}
	g.base = newBase(g, "rowsGrad", op.params, false, op.ins[0], grad.Shape())
	dx, err := apply(g, grad)
	return G.Nodes{dx}, err
}

// rowsGradOp writes its input into rows [lo, hi) of an output that is zero elsewhere.
type rowsGradOp struct {
	base
	lo, hi, rowSize int
}

func (op *rowsGradOp) run(out []float32, in [][]float32) error {
	a, b := op.lo*op.rowSize, op.hi*op.rowSize
	if err := op.kern.Fill(0, out[:a]); err != nil {
		return err
	}
	if err := op.kern.Copy(out[a:b], in[0]); err != nil {
		return err
	}
	return op.kern.Fill(0, out[b:])
}

// SplitRows returns x [N, ...] cut along the first axis into parts blocks of N/parts
// rows each, in order (the views of a view-major batch); N must be a multiple of parts.
func SplitRows(x *G.Node, parts int) ([]*G.Node, error) {
	if err := checkFloat32("split-rows input", x); err != nil {
		return nil, err
	}
	s := x.Shape()
	if s.Dims() < 1 {
		return nil, fmt.Errorf("splitRows: input must have a first axis, got shape %v", s)
	}
	if parts < 1 || s[0]%parts != 0 {
		return nil, fmt.Errorf("splitRows: %d rows of %v do not split into %d equal parts", s[0], s, parts)
	}
	k := s[0] / parts
	res := make([]*G.Node, parts)
	for i := range res {
		r, err := Rows(x, i*k, (i+1)*k)
		if err != nil {
			return nil, err
		}
		res[i] = r
	}
	return res, nil
}
