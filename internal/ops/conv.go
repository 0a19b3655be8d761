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

// FuseInto implements exec.Fuser: an inference batch norm (moving statistics) of the
// convolution's output runs on each image's output while it is in cache, and so, in a
// second fusion, does a ReLU after it. In training the batch norm needs every image's
// output first, and its gradient reads the convolution's output, so nothing fuses.
func (op *conv2dOp) FuseInto(next G.Op, arg int) G.Op {
	bn, ok := next.(*batchNormOp)
	if !ok || arg != 0 || bn.cfg.Training || !sameShape(bn.out, op.out) || bn.c != op.g.O {
		return nil
	}
	f := &convBNOp{conv: op, bn: bn}
	ins := append(append([]tensor.Shape(nil), op.ins...), bn.ins[1:]...)
	f.base = newBase(f, "conv2dBatchNorm", op.params, false, op.out, ins...)
	f.base.id = bn.id
	return f
}

// convBNOp is batchNorm(conv2d(...)) in inference, then a ReLU when relu is set; its
// inputs are the convolution's followed by the batch norm's gamma, beta and moving
// statistics.
type convBNOp struct {
	base
	conv *conv2dOp
	bn   *batchNormOp
	relu bool
}

func (op *convBNOp) run(out []float32, in [][]float32) error {
	nc := len(op.conv.ins)
	if err := op.bn.prepare(nil, in[nc], in[nc+1], in[nc+2], in[nc+3]); err != nil {
		return err
	}
	var bias []float32
	if op.conv.hasBias {
		bias = in[2]
	}
	return op.conv.kern.ConvForwardAffine(&op.conv.g, in[0], in[1], bias, op.bn.scale, op.bn.shift, op.relu, out)
}

// FuseInto implements exec.Fuser: a ReLU after the batch norm runs in the same pass.
func (op *convBNOp) FuseInto(next G.Op, arg int) G.Op {
	r, ok := next.(*reluOp)
	if !ok || arg != 0 || op.relu || !sameShape(r.out, op.out) {
		return nil
	}
	f := &convBNOp{conv: op.conv, bn: op.bn, relu: true}
	f.base = newBase(f, "conv2dBatchNormReLU", op.params, false, op.out, op.ins...)
	f.base.id = op.id
	return f
}

// SymDiff implements gorgonia.SDOp: one op computes dx, dw and db together into one
// tensor [dx | dw | db] (conv2dGrads: for a stride-1 convolution the im2col matrix of dy
// serves both dx and dw), and three part ops pick them out: dx as a view of that tensor
// under the project's executor (exec.Slicer), dw and db as copies (they are small, and
// kept, so a view would keep the whole tensor alive).
func (op *conv2dOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	if x.Op() == nil {
		return op.leafGrads(x, w, grad)
	}
	nx, nw := size(op.g.XShape()), size(op.g.WShape())
	total := nx + nw
	if op.hasBias {
		total += op.g.O
	}
	gr := &conv2dGradsOp{g: op.g, hasBias: op.hasBias}
	gr.base = newBase(gr, "conv2dGrads", fmt.Sprintf("%v,bias=%v", op.g.String(), op.hasBias), false,
		tensor.Shape{total}, op.g.XShape(), op.g.WShape(), op.g.YShape())
	all, err := apply(gr, x, w, grad)
	if err != nil {
		return nil, err
	}
	dx, err := part(all, 0, op.g.XShape(), true)
	if err != nil {
		return nil, err
	}
	dw, err := part(all, nx, op.g.WShape(), false)
	if err != nil {
		return nil, err
	}
	res := G.Nodes{dx, dw}
	if op.hasBias {
		db, err := part(all, nx+nw, tensor.Shape{op.g.O}, false)
		if err != nil {
			return nil, err
		}
		res = append(res, db)
	}
	return res, nil
}

// leafGrads returns dx, dw (and db) as separate nodes, for a convolution of a leaf node
// (the network's input, or a parameter): the gradient of a leaf is seldom wanted, and an
// executor skips a node that nothing reads, which it could not do for a part of
// conv2dGrads.
func (op *conv2dOp) leafGrads(x, w, grad *G.Node) (G.Nodes, error) {
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

// conv2dGradsOp is [dx | dw | db] from (x, w, dy).
type conv2dGradsOp struct {
	base
	g       ConvGeom
	hasBias bool
}

func (op *conv2dGradsOp) run(out []float32, in [][]float32) error {
	nx, nw := size(op.g.XShape()), size(op.g.WShape())
	var db []float32
	if op.hasBias {
		db = out[nx+nw:]
	}
	return op.kern.ConvBackward(&op.g, in[0], in[1], in[2], out[:nx], out[nx:nx+nw], db)
}

// partOp is the run of its input's elements from off, with its own shape: a copy, or
// with view set, a view under the project's executor (exec.Slicer).
type partOp struct {
	base
	off  int
	view bool
}

// partView is a partOp that the executor runs as a view.
type partView struct{ partOp }

// SliceOf implements exec.Slicer.
func (op *partView) SliceOf() (int, int) { return 0, op.off }

// part returns the node of the elements [off, off+size(shape)) of the 1-D node x.
func part(x *G.Node, off int, shape tensor.Shape, view bool) (*G.Node, error) {
	if off < 0 || off+size(shape) > size(x.Shape()) {
		return nil, fmt.Errorf("part: elements [%d, %d) of %v", off, off+size(shape), x.Shape())
	}
	if view {
		op := &partView{partOp{off: off, view: true}}
		op.base = newBase(op, "partView", fmt.Sprintf("%d:%v", off, shape), false, shape, x.Shape())
		return apply(op, x)
	}
	op := &partOp{off: off}
	op.base = newBase(op, "part", fmt.Sprintf("%d:%v", off, shape), false, shape, x.Shape())
	return apply(op, x)
}

func (op *partOp) run(out []float32, in [][]float32) error {
	return op.kern.Copy(out, in[0][op.off:op.off+len(out)])
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
