package ops

import (
	"fmt"
	"strconv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reluOp is y = max(x, 0); its gradient is 0 at 0.
type reluOp struct{ base }

// ReLU returns max(x, 0) elementwise. Unlike gorgonia.Rectify, its gradient at 0 is 0.
func ReLU(x *G.Node) (*G.Node, error) {
	if err := checkFloat32("relu input", x); err != nil {
		return nil, err
	}
	op := &reluOp{}
	op.base = newBase(op, "relu", "", false, x.Shape(), x.Shape())
	return apply(op, x)
}

func (op *reluOp) run(out []float32, in [][]float32) error { return op.kern.ReLU(in[0], out) }

// DiffWRT implements gorgonia.SDOp.
func (op *reluOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: dx = dy·[y > 0].
func (op *reluOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &reluGradOp{}
	g.base = newBase(g, "reluGrad", "", false, output.Shape(), output.Shape(), output.Shape())
	dx, err := apply(g, output, grad)
	return G.Nodes{dx}, err
}

type reluGradOp struct{ base }

func (op *reluGradOp) run(out []float32, in [][]float32) error {
	return op.kern.ReLUGrad(in[0], in[1], out)
}

// addOp is y = a + b for equal shapes.
type addOp struct{ base }

// Add returns a + b for a and b of the same shape (a residual connection, or a sum of losses).
func Add(a, b *G.Node) (*G.Node, error) {
	if err := checkFloat32("add input 0", a); err != nil {
		return nil, err
	}
	if err := checkFloat32("add input 1", b); err != nil {
		return nil, err
	}
	if !sameShape(a.Shape(), b.Shape()) {
		return nil, fmt.Errorf("add: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	op := &addOp{}
	op.base = newBase(op, "add", "", false, a.Shape(), a.Shape(), b.Shape())
	return apply(op, a, b)
}

func (op *addOp) run(out []float32, in [][]float32) error { return op.kern.Add(in[0], in[1], out) }

// FuseInto implements exec.Fuser: an addition followed by a ReLU (a residual block's
// output) runs as one pass.
func (op *addOp) FuseInto(next G.Op, arg int) G.Op {
	if rg, ok := next.(*reluGradOp); ok && arg == 1 && sameShape(rg.out, op.out) {
		// A sum of gradients followed by a ReLU's gradient (the gradient of a residual
		// block's input, where it meets the previous block's ReLU): inputs (a, b, y).
		f := &addReLUGradOp{add: op}
		f.base = newBase(f, "addReLUGrad", "", false, op.out, op.out, op.out, op.out)
		return f
	}
	r, ok := next.(*reluOp)
	if !ok || arg != 0 || !sameShape(r.out, op.out) {
		return nil
	}
	f := &addReLUOp{add: op}
	f.base = newBase(f, "addReLU", "", false, op.out, op.ins...)
	return f
}

// addReLUGradOp is reluGrad(y, a + b) in one pass, with the add op's kernels; its inputs
// are (a, b, y).
type addReLUGradOp struct {
	base
	add *addOp
}

func (op *addReLUGradOp) run(out []float32, in [][]float32) error {
	return op.add.kern.ReLUGradAdd(in[2], in[0], in[1], out)
}

// addReLUOp is relu(a + b) in one pass, with the kernels of the add op it replaces.
type addReLUOp struct {
	base
	add *addOp
}

func (op *addReLUOp) run(out []float32, in [][]float32) error {
	return op.add.kern.AddReLU(in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *addOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *addOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}

// scaleOp is y = alpha·x.
type scaleOp struct {
	base
	alpha float32
}

// Scale returns alpha·x.
func Scale(x *G.Node, alpha float32) (*G.Node, error) {
	if err := checkFloat32("scale input", x); err != nil {
		return nil, err
	}
	op := &scaleOp{alpha: alpha}
	op.base = newBase(op, "scale", strconv.FormatFloat(float64(alpha), 'g', -1, 32), false, x.Shape(), x.Shape())
	return apply(op, x)
}

func (op *scaleOp) run(out []float32, in [][]float32) error {
	return op.kern.Scale(op.alpha, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *scaleOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *scaleOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := Scale(grad, op.alpha)
	return G.Nodes{dx}, err
}

// scaleByOp is y = alpha·g·x for a scalar node g (a gradient seed).
type scaleByOp struct {
	base
	alpha float32
}

func scaleBy(x, g *G.Node, alpha float32) (*G.Node, error) {
	op := &scaleByOp{alpha: alpha}
	op.base = newBase(op, "scaleBy", strconv.FormatFloat(float64(alpha), 'g', -1, 32), false, x.Shape(), x.Shape(), g.Shape())
	return apply(op, x, g)
}

func (op *scaleByOp) run(out []float32, in [][]float32) error {
	return op.kern.ScaleBy(op.alpha, in[1], in[0], out)
}

// fillOp is y (of a fixed shape) = alpha·g everywhere, for a scalar node g.
type fillOp struct {
	base
	alpha float32
}

func fill(g *G.Node, shape tensor.Shape, alpha float32) (*G.Node, error) {
	op := &fillOp{alpha: alpha}
	op.base = newBase(op, "fill", fmt.Sprintf("%v*%g", shape, alpha), false, shape, g.Shape())
	return apply(op, g)
}

func (op *fillOp) run(out []float32, in [][]float32) error {
	return op.kern.FillBy(op.alpha, in[0], out)
}

// meanOp is the mean of all elements, a scalar.
type meanOp struct{ base }

// Mean returns the mean of all elements of x as a scalar node.
func Mean(x *G.Node) (*G.Node, error) {
	if err := checkFloat32("mean input", x); err != nil {
		return nil, err
	}
	op := &meanOp{}
	op.base = newBase(op, "mean", "", false, tensor.ScalarShape(), x.Shape())
	return apply(op, x)
}

func (op *meanOp) run(out []float32, in [][]float32) error {
	return op.kern.Mean(in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *meanOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *meanOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := fill(grad, inputs[0].Shape(), 1/float32(size(inputs[0].Shape())))
	return G.Nodes{dx}, err
}

// reshapeOp copies x into a tensor of another shape with the same number of elements.
type reshapeOp struct{ base }

// Reshape returns x with a new shape of the same size (a copy; Flatten is Reshape to [N, rest]).
func Reshape(x *G.Node, shape tensor.Shape) (*G.Node, error) {
	if err := checkFloat32("reshape input", x); err != nil {
		return nil, err
	}
	if size(shape) != size(x.Shape()) {
		return nil, fmt.Errorf("reshape: cannot reshape %v (%d elements) to %v", x.Shape(), size(x.Shape()), shape)
	}
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("reshape: non-positive dimension in %v", shape)
		}
	}
	op := &reshapeOp{}
	op.base = newBase(op, "reshape", fmt.Sprint(shape), false, shape, x.Shape())
	return apply(op, x)
}

func (op *reshapeOp) run(out []float32, in [][]float32) error {
	return op.kern.Copy(out, in[0])
}

// DiffWRT implements gorgonia.SDOp.
func (op *reshapeOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *reshapeOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := Reshape(grad, inputs[0].Shape())
	return G.Nodes{dx}, err
}

// stopGradientOp is the identity with no gradient.
type stopGradientOp struct{ base }

// StopGradient returns a copy of x through which no gradient flows (SimSiam's stop-gradient).
func StopGradient(x *G.Node) (*G.Node, error) {
	if err := checkFloat32("stop-gradient input", x); err != nil {
		return nil, err
	}
	op := &stopGradientOp{}
	op.base = newBase(op, "stopGradient", "", false, x.Shape(), x.Shape())
	return apply(op, x)
}

func (op *stopGradientOp) run(out []float32, in [][]float32) error {
	return op.kern.Copy(out, in[0])
}

// ViewOf implements exec.Viewer: under the project's executor the output is the
// input's memory, not a copy (a MoCo queue behind a stop-gradient costs nothing).
func (op *stopGradientOp) ViewOf() int { return 0 }

// SymDiff implements gorgonia.SDOp; DiffWRT (all false) keeps it from being called.
func (op *stopGradientOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{nil}, nil
}

// concatOp stacks its inputs along the first axis.
type concatOp struct {
	base
	rows []int
}

// Concat stacks xs, which agree in every dimension but the first, along the first axis
// (e.g. the two views of a batch for NT-Xent).
func Concat(xs ...*G.Node) (*G.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("concat: no inputs")
	}
	var shapes []tensor.Shape
	var rows []int
	total := 0
	for i, x := range xs {
		if err := checkFloat32(fmt.Sprintf("concat input %d", i), x); err != nil {
			return nil, err
		}
		s := x.Shape()
		if s.Dims() < 1 || s.Dims() != xs[0].Shape().Dims() || !sameShape(s[1:], xs[0].Shape()[1:]) {
			return nil, fmt.Errorf("concat: input %d has shape %v, incompatible with %v", i, s, xs[0].Shape())
		}
		shapes = append(shapes, s)
		rows = append(rows, s[0])
		total += s[0]
	}
	out := xs[0].Shape().Clone()
	out[0] = total
	op := &concatOp{rows: rows}
	op.base = newBase(op, "concat", "", false, out, shapes...)
	return apply(op, xs...)
}

func (op *concatOp) run(out []float32, in [][]float32) error {
	off := 0
	for _, x := range in {
		if err := op.kern.Copy(out[off:off+len(x)], x); err != nil {
			return err
		}
		off += len(x)
	}
	return nil
}

// DiffWRT implements gorgonia.SDOp.
func (op *concatOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: each input gets its slice of the gradient.
func (op *concatOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, len(inputs))
	lo := 0
	for i, r := range op.rows {
		s, err := Rows(grad, lo, lo+r)
		if err != nil {
			return nil, err
		}
		res[i] = s
		lo += r
	}
	return res, nil
}
