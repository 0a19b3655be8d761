package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
)

// BatchNormConfig holds the settings of a batch normalization.
type BatchNormConfig struct {
	// Training selects batch statistics (and updates of the moving statistics) over the
	// moving statistics.
	Training bool
	// Momentum of the moving averages: moving = moving·Momentum + batch·(1-Momentum).
	Momentum float32
	// Epsilon is added to the variance before the square root.
	Epsilon float32
	// UnbiasedMovingVariance feeds the moving variance with the batch variance times
	// M/(M-1) (M values per channel), as TensorFlow's fused batch norm (which tf.keras 2
	// uses for 4-D inputs) does; otherwise the biased batch variance is used, as tf.keras'
	// non-fused path (2-D inputs) and Keras 3 do. Normalization always uses the biased variance.
	UnbiasedMovingVariance bool
}

// batchNormOp normalizes x [N,C,...] per channel: inputs x, gamma [C], beta [C], moving
// mean [C], moving variance [C]. In training mode it normalizes with the batch statistics
// and updates the moving statistics (its inputs 3 and 4) in place; it keeps the mean and
// 1/sqrt(var+eps) it used for the gradient ops.
type batchNormOp struct {
	base
	cfg          BatchNormConfig
	n, c, s      int
	state        opState   // the memory of the five [C] vectors below
	mean, invstd []float32 // statistics of the last forward run
	variance     []float32
	scale, shift []float32
}

// BatchNorm returns the node of the batch normalization of x [N,C,H,W] (over N, H, W) or
// [N,C] (over N) with trainable gamma and beta [C] and moving statistics movingMean and
// movingVar [C], whose values a training run updates in place.
func BatchNorm(x, gamma, beta, movingMean, movingVar *G.Node, cfg BatchNormConfig) (*G.Node, error) {
	for i, n := range []*G.Node{x, gamma, beta, movingMean, movingVar} {
		if err := checkFloat32([]string{"batch-norm input", "gamma", "beta", "moving mean", "moving variance"}[i], n); err != nil {
			return nil, err
		}
	}
	n, c, s, err := channels(x.Shape())
	if err != nil {
		return nil, fmt.Errorf("batchNorm: %w", err)
	}
	for i, p := range []*G.Node{gamma, beta, movingMean, movingVar} {
		if !sameShape(p.Shape(), tensor.Shape{c}) {
			return nil, fmt.Errorf("batchNorm: %s has shape %v, want [%d]",
				[]string{"gamma", "beta", "moving mean", "moving variance"}[i], p.Shape(), c)
		}
	}
	if !(cfg.Epsilon > 0) || !(cfg.Momentum >= 0 && cfg.Momentum <= 1) {
		return nil, fmt.Errorf("batchNorm: epsilon %g must be > 0 and momentum %g in [0, 1]", cfg.Epsilon, cfg.Momentum)
	}
	op := &batchNormOp{cfg: cfg, n: n, c: c, s: s}
	vs := tensor.Shape{c}
	op.base = newBase(op, "batchNorm", fmt.Sprintf("train=%v,m=%g,eps=%g,unbiased=%v", cfg.Training, cfg.Momentum, cfg.Epsilon, cfg.UnbiasedMovingVariance),
		true, x.Shape(), x.Shape(), vs, vs, vs, vs)
	if err := op.setKernels(op.kern); err != nil {
		return nil, fmt.Errorf("batchNorm: %w", err)
	}
	return apply(op, x, gamma, beta, movingMean, movingVar)
}

func (op *batchNormOp) run(out []float32, in [][]float32) error { return op.forward(out, in, false) }

// forward normalizes (training: with the batch statistics, which it keeps and folds into
// the moving ones), then applies a ReLU when relu is set.
func (op *batchNormOp) forward(out []float32, in [][]float32, relu bool) error {
	x := in[0]
	if err := op.prepare(x, in[1], in[2], in[3], in[4]); err != nil {
		return err
	}
	if relu {
		return op.kern.ScaleShiftReLU(op.n, op.c, op.s, x, op.scale, op.shift, out)
	}
	return op.kern.ScaleShift(op.n, op.c, op.s, x, op.scale, op.shift, out)
}

// prepare sets the statistics the op keeps for its gradient ops and the per-channel
// scale and shift of the normalization: in training from x's batch statistics (and
// folds them into the moving statistics mm and mv), otherwise from mm and mv (x unused).
// All of it runs as kernels on the kernels' memory.
func (op *batchNormOp) prepare(x, gamma, beta, mm, mv []float32) error {
	k := op.kern
	if op.cfg.Training {
		if err := k.ChannelMoments(op.n, op.c, op.s, x, op.mean, op.variance); err != nil {
			return err
		}
		total := op.n * op.s
		corr := float32(1)
		if op.cfg.UnbiasedMovingVariance && total > 1 {
			corr = float32(total) / float32(total-1)
		}
		if err := k.BatchNormUpdate(op.c, op.cfg.Momentum, corr, op.cfg.Epsilon, op.mean, op.variance, mm, mv, op.invstd); err != nil {
			return err
		}
	} else if err := k.BatchNormFixed(op.c, op.cfg.Epsilon, mm, mv, op.mean, op.invstd); err != nil {
		return err
	}
	return k.BatchNormAffine(op.c, gamma, beta, op.mean, op.invstd, op.scale, op.shift)
}

// setKernels implements kernelUser: the statistics the op keeps live in k's memory when
// k allocates (see SetKernels).
func (op *batchNormOp) setKernels(k Kernels) error {
	a, _ := k.(exec.Allocator)
	st, err := allocState(a, op.state, 5*op.c)
	if err != nil {
		return err
	}
	op.kern, op.state = k, st
	c := op.c
	d := st.data
	op.mean, op.invstd, op.variance, op.scale, op.shift = d[:c:c], d[c:2*c:2*c], d[2*c:3*c:3*c], d[3*c:4*c:4*c], d[4*c:5*c:5*c]
	return nil
}

// FuseInto implements exec.Fuser: a batch norm followed by a ReLU runs as one pass that
// writes the ReLU's output (the batch norm's own output is not needed by its gradient
// ops, which read its input and the statistics it keeps).
func (op *batchNormOp) FuseInto(next G.Op, arg int) G.Op {
	r, ok := next.(*reluOp)
	if !ok || arg != 0 || !sameShape(r.out, op.out) {
		return nil
	}
	f := &bnReLUOp{bn: op}
	f.base = newBase(f, "batchNormReLU", op.params, false, op.out, op.ins...)
	f.base.id = op.id
	return f
}

// bnReLUOp is relu(batchNorm(...)) in one pass, with the batch norm op's state and kernels.
type bnReLUOp struct {
	base
	bn *batchNormOp
}

func (op *bnReLUOp) run(out []float32, in [][]float32) error {
	return op.bn.forward(out, in, true)
}

// DiffWRT implements gorgonia.SDOp: x, gamma and beta.
func (op *batchNormOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := 0; i < n && i < 3; i++ {
		d[i] = true
	}
	return d
}

// SymDiff implements gorgonia.SDOp: one op computes dgamma and dbeta together (one pass
// over x and dy), two small ops pick them apart, and one more computes dx.
func (op *batchNormOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, gamma := inputs[0], inputs[1]
	vs := tensor.Shape{op.c}
	of := fmt.Sprintf("of#%d", op.id)
	gp := &bnGradParamsOp{fwd: op}
	gp.base = newBase(gp, "batchNormGradParams", of, false, tensor.Shape{2, op.c}, x.Shape(), x.Shape())
	params, err := apply(gp, x, grad)
	if err != nil {
		return nil, err
	}
	dgamma, err := pickRow(params, 0)
	if err != nil {
		return nil, err
	}
	dbeta, err := pickRow(params, 1)
	if err != nil {
		return nil, err
	}
	gi := &bnGradInputOp{fwd: op}
	gi.base = newBase(gi, "batchNormGradInput", of, false, x.Shape(), x.Shape(), x.Shape(), vs, tensor.Shape{2, op.c})
	dx, err := apply(gi, x, grad, gamma, params)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dgamma, dbeta, nil, nil}, nil
}

// bnGradParamsOp is [dgamma; dbeta] ([2,C]) from (x, dy) with the forward op's saved statistics.
type bnGradParamsOp struct {
	base
	fwd *batchNormOp
}

func (op *bnGradParamsOp) run(out []float32, in [][]float32) error {
	f := op.fwd
	return op.kern.BatchNormGradParams(f.n, f.c, f.s, in[0], in[1], f.mean, f.invstd, out[:f.c], out[f.c:])
}

// bnGradInputOp is dx from (x, dy, gamma, [dgamma; dbeta]) with the forward op's saved statistics.
type bnGradInputOp struct {
	base
	fwd *batchNormOp
}

func (op *bnGradInputOp) run(out []float32, in [][]float32) error {
	f := op.fwd
	return op.kern.BatchNormGradInput(f.n, f.c, f.s, f.cfg.Training, in[0], in[1], f.mean, f.invstd, in[2], in[3][:f.c], in[3][f.c:], out)
}

// pickRowOp copies row i of a [R, C] matrix into a [C] vector.
type pickRowOp struct {
	base
	row, cols int
}

func pickRow(x *G.Node, row int) (*G.Node, error) {
	s := x.Shape()
	op := &pickRowOp{row: row, cols: s[1]}
	op.base = newBase(op, "pickRow", fmt.Sprint(row), false, tensor.Shape{s[1]}, s)
	return apply(op, x)
}

func (op *pickRowOp) run(out []float32, in [][]float32) error {
	return op.kern.Copy(out, in[0][op.row*op.cols:(op.row+1)*op.cols])
}
