package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gapOp averages each plane: [N,C,H,W] -> [N,C].
type gapOp struct {
	base
	n, c, s int
}

// GlobalAvgPool returns the mean of x [N,C,H,W] over H and W, shape [N,C].
func GlobalAvgPool(x *G.Node) (*G.Node, error) {
	if err := checkFloat32("global-average-pool input", x); err != nil {
		return nil, err
	}
	if x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("globalAvgPool: input must be 4-D [N,C,H,W], got %v", x.Shape())
	}
	n, c, s, _ := channels(x.Shape())
	op := &gapOp{n: n, c: c, s: s}
	op.base = newBase(op, "globalAvgPool", "", false, tensor.Shape{n, c}, x.Shape())
	return apply(op, x)
}

func (op *gapOp) run(out []float32, in [][]float32) error {
	return op.kern.GlobalAvgPool(op.n, op.c, op.s, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *gapOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *gapOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &gapGradOp{n: op.n, c: op.c, s: op.s}
	g.base = newBase(g, "globalAvgPoolGrad", "", false, inputs[0].Shape(), output.Shape())
	dx, err := apply(g, grad)
	return G.Nodes{dx}, err
}

type gapGradOp struct {
	base
	n, c, s int
}

func (op *gapGradOp) run(out []float32, in [][]float32) error {
	return op.kern.GlobalAvgPoolGrad(op.n, op.c, op.s, in[0], out)
}

// maxPoolOp is 2-D max pooling in NCHW layout.
type maxPoolOp struct {
	base
	g PoolGeom
}

// MaxPool2D returns the kh×kw max pooling of x [N,C,H,W] with the given strides and
// padding (padded positions never win).
func MaxPool2D(x *G.Node, kh, kw, sh, sw int, pad Padding2D) (*G.Node, error) {
	if err := checkFloat32("max-pool input", x); err != nil {
		return nil, err
	}
	g, err := NewPoolGeom(x.Shape(), kh, kw, sh, sw, pad)
	if err != nil {
		return nil, err
	}
	op := &maxPoolOp{g: g}
	op.base = newBase(op, "maxPool2D", g.String(), false, tensor.Shape{g.N, g.C, g.OH, g.OW}, x.Shape())
	return apply(op, x)
}

func (op *maxPoolOp) run(out []float32, in [][]float32) error {
	return op.kern.MaxPool(&op.g, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *maxPoolOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: the gradient goes to the first maximum of each window.
func (op *maxPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &maxPoolGradOp{g: op.g}
	g.base = newBase(g, "maxPool2DGrad", op.g.String(), false, inputs[0].Shape(), inputs[0].Shape(), output.Shape())
	dx, err := apply(g, inputs[0], grad)
	return G.Nodes{dx}, err
}

type maxPoolGradOp struct {
	base
	g PoolGeom
}

func (op *maxPoolGradOp) run(out []float32, in [][]float32) error {
	return op.kern.MaxPoolGrad(&op.g, in[0], in[1], out)
}
