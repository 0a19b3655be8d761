package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// conv2dOp is y = conv(x, w) (+ b): x [N,C,H,W], w [O,C,KH,KW], optional b [O].
type conv2dOp struct {
	base
	g       ConvGeom
	hasBias bool
}

// Conv2D returns the node of the 2-D convolution (cross-correlation, as in Keras and
// PyTorch) of x [N,C,H,W] with kernel w [O,C,KH,KW], with the given strides and zero
// padding, plus bias b [O] when b is non-nil. Its gradients are conv2d ops too.
func Conv2D(x, w, b *G.Node, strideH, strideW int, pad Padding2D) (*G.Node, error) {
	if err := checkFloat32("conv2d input", x); err != nil {
		return nil, err
	}
	if err := checkFloat32("conv2d kernel", w); err != nil {
		return nil, err
	}
	g, err := NewConvGeom(x.Shape(), w.Shape(), strideH, strideW, pad)
	if err != nil {
		return nil, err
	}
	op := &conv2dOp{g: g, hasBias: b != nil}
	ins := []tensor.Shape{g.XShape(), g.WShape()}
	children := []*G.Node{x, w}
	if b != nil {
		if err := checkFloat32("conv2d bias", b); err != nil {
			return nil, err
		}
		if !sameShape(b.Shape(), tensor.Shape{g.O}) {
			return nil, fmt.Errorf("conv2d: bias has shape %v, want [%d]", b.Shape(), g.O)
		}
		ins = append(ins, tensor.Shape{g.O})
		children = append(children, b)
	}
	op.base = newBase(op, "conv2d", g.String(), false, g.YShape(), ins...)
	return apply(op, children...)
}

func (op *conv2dOp) run(out []float32, in [][]float32) error {
	var bias []float32
	if op.hasBias {
		bias = in[2]
	}
	return op.kern.ConvForward(&op.g, in[0], in[1], bias, out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *conv2dOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *conv2dOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	gd := &conv2dGradDataOp{g: op.g}
	gd.base = newBase(gd, "conv2dGradData", op.g.String(), false, op.g.XShape(), op.g.WShape(), op.g.YShape())
	dx, err := apply(gd, w, grad)
	if err != nil {
		return nil, err
	}
	gf := &conv2dGradFilterOp{g: op.g}
	gf.base = newBase(gf, "conv2dGradFilter", op.g.String(), false, op.g.WShape(), op.g.XShape(), op.g.YShape())
	dw, err := apply(gf, x, grad)
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dx, dw}
	if op.hasBias {
		db, err := ChannelSum(grad)
		if err != nil {
			return nil, err
		}
		res = append(res, db)
	}
	return res, nil
}

func trues(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// conv2dGradDataOp is dx from (w, dy).
type conv2dGradDataOp struct {
	base
	g ConvGeom
}

func (op *conv2dGradDataOp) run(out []float32, in [][]float32) error {
	return op.kern.ConvBackwardData(&op.g, in[0], in[1], out)
}

// conv2dGradFilterOp is dw from (x, dy).
type conv2dGradFilterOp struct {
	base
	g ConvGeom
}

func (op *conv2dGradFilterOp) run(out []float32, in [][]float32) error {
	return op.kern.ConvBackwardFilter(&op.g, in[0], in[1], out)
}

// channels views a shape [N, C, ...] as N×C planes of S values (S = 1 for [N, C]).
func channels(s tensor.Shape) (n, c, sz int, err error) {
	if len(s) < 2 {
		return 0, 0, 0, fmt.Errorf("shape %v: want at least 2 dimensions [N, C, ...]", s)
	}
	sz = 1
	for _, d := range s[2:] {
		sz *= d
	}
	return s[0], s[1], sz, nil
}

// channelSumOp is out[c] = Σ_{n,s} x[n,c,s].
type channelSumOp struct {
	base
	n, c, s int
}

// ChannelSum returns the node summing x [N, C, ...] over every axis but the second (the
// gradient of a per-channel bias).
func ChannelSum(x *G.Node) (*G.Node, error) {
	if err := checkFloat32("channel sum input", x); err != nil {
		return nil, err
	}
	n, c, s, err := channels(x.Shape())
	if err != nil {
		return nil, fmt.Errorf("channelSum: %w", err)
	}
	op := &channelSumOp{n: n, c: c, s: s}
	op.base = newBase(op, "channelSum", "", false, tensor.Shape{c}, x.Shape())
	return apply(op, x)
}

func (op *channelSumOp) run(out []float32, in [][]float32) error {
	return op.kern.ChannelSum(op.n, op.c, op.s, in[0], out)
}

// addChannelOp is y = x + b[c] for x [N, C, ...] and b [C].
type addChannelOp struct {
	base
	n, c, s int
}

// AddBias returns x [N, C, ...] plus b [C] broadcast along every axis but the second.
func AddBias(x, b *G.Node) (*G.Node, error) {
	if err := checkFloat32("bias-add input", x); err != nil {
		return nil, err
	}
	if err := checkFloat32("bias", b); err != nil {
		return nil, err
	}
	n, c, s, err := channels(x.Shape())
	if err != nil {
		return nil, fmt.Errorf("addBias: %w", err)
	}
	if !sameShape(b.Shape(), tensor.Shape{c}) {
		return nil, fmt.Errorf("addBias: bias has shape %v, want [%d]", b.Shape(), c)
	}
	op := &addChannelOp{n: n, c: c, s: s}
	op.base = newBase(op, "addBias", "", false, x.Shape(), x.Shape(), tensor.Shape{c})
	return apply(op, x, b)
}

func (op *addChannelOp) run(out []float32, in [][]float32) error {
	return op.kern.AddChannel(op.n, op.c, op.s, in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *addChannelOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *addChannelOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	db, err := ChannelSum(grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{grad, db}, nil
}
