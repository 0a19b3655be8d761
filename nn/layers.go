package nn

import (
	"errors"
	"fmt"

	"github.com/selfsup/selfsup/internal/ops"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// done returns n, or records err and returns nil.
func done(s *Scope, n *G.Node, err error) *G.Node {
	if err != nil {
		s.Fail(err)
		return nil
	}
	return n
}

// setL2 records the regularization coefficient on the parameter called name.
func setL2(s *Scope, name string, c *config) {
	if c.set&optL2 != 0 && !s.frozen {
		if p := s.params.Get(s.Name(name)); p != nil {
			p.L2 = c.l2
		}
	}
}

// padding2D resolves the configured padding for an h×w input.
func padding2D(c *config, h, w, kh, kw int) ops.Padding2D {
	switch c.padMode {
	case "same":
		t, b := ops.SamePadding(h, kh, c.sh)
		l, r := ops.SamePadding(w, kw, c.sw)
		return ops.Padding2D{Top: t, Left: l, Bottom: b, Right: r}
	case "explicit":
		return ops.Padding2D{Top: c.padT, Left: c.padL, Bottom: c.padB, Right: c.padR}
	}
	return ops.Padding2D{}
}

// Conv2D is Keras' Conv2D in NCHW layout: x [N,C,H,W] convolved with a kernel
// [filters,C,kh,kw] ("kernel") plus a bias [filters] ("bias"). Options: Kernel (required),
// Stride, Padding ("valid" by default) or ExplicitPadding, NoBias, L2, Init (GlorotUniform
// by default), BiasInit (Zeros by default). A ResNet layer is
// Conv2D(s.In("conv1"), x, 16, Kernel(3), Padding("same"), Init(HeNormal), L2(1e-4)).
func Conv2D(s *Scope, x *G.Node, filters int, opts ...Option) *G.Node {
	if s.Failed(x) {
		return nil
	}
	c, err := configure("Conv2D", optKernel|optStride|optPadding|optNoBias|optL2|optInit|optBiasInit, opts)
	if err != nil {
		return done(s, nil, err)
	}
	if c.set&optKernel == 0 {
		return done(s, nil, errors.New("Conv2D needs a Kernel option"))
	}
	if filters < 1 {
		return done(s, nil, fmt.Errorf("Conv2D: filters = %d, want at least 1", filters))
	}
	xs := x.Shape()
	if xs.Dims() != 4 {
		return done(s, nil, fmt.Errorf("Conv2D: input must be [N,C,H,W], got shape %v", xs))
	}
	w := s.Variable("kernel", []int{filters, xs[1], c.kh, c.kw}, c.init, true)
	if w == nil {
		return nil
	}
	setL2(s, "kernel", c)
	var b *G.Node
	if !c.noBias {
		if b = s.Variable("bias", []int{filters}, c.biasInit, true); b == nil {
			return nil
		}
	}
	y, err := ops.Conv2D(x, w, b, c.sh, c.sw, padding2D(c, xs[2], xs[3], c.kh, c.kw))
	return done(s, y, err)
}

// Dense is Keras' Dense: x [N,in] times a kernel [in,units] ("kernel") plus a bias
// [units] ("bias"). Options: NoBias, L2, Init (GlorotUniform by default), BiasInit (Zeros).
func Dense(s *Scope, x *G.Node, units int, opts ...Option) *G.Node {
	if s.Failed(x) {
		return nil
	}
	c, err := configure("Dense", optNoBias|optL2|optInit|optBiasInit, opts)
	if err != nil {
		return done(s, nil, err)
	}
	if units < 1 {
		return done(s, nil, fmt.Errorf("Dense: units = %d, want at least 1", units))
	}
	if x.Shape().Dims() != 2 {
		return done(s, nil, fmt.Errorf("Dense: input must be [N,features], got shape %v (Flatten it first)", x.Shape()))
	}
	w := s.Variable("kernel", []int{x.Shape()[1], units}, c.init, true)
	if w == nil {
		return nil
	}
	setL2(s, "kernel", c)
	var b *G.Node
	if !c.noBias {
		if b = s.Variable("bias", []int{units}, c.biasInit, true); b == nil {
			return nil
		}
	}
	y, err := ops.MatMul(x, w, b, false, false, 1)
	return done(s, y, err)
}

// BatchNorm is Keras' BatchNormalization over the channel axis (axis 1: per channel over
// N, H, W for [N,C,H,W]; per feature over N for [N,C]). Parameters: "gamma" (ones) and
// "beta" (zeros), trainable; "moving_mean" (zeros) and "moving_variance" (ones),
// non-trainable. In a training scope it normalizes with the batch statistics and, each
// time the graph runs, updates the moving statistics in place:
// moving = moving·momentum + batch·(1-momentum). For 4-D inputs the batch variance fed
// to the moving variance is the unbiased one (×M/(M-1)), as tf.keras' fused kernel does;
// for 2-D inputs the biased one, as its non-fused path. In an inference scope it
// normalizes with the moving statistics. Options: Momentum (0.99), Epsilon (1e-3).
func BatchNorm(s *Scope, x *G.Node, opts ...Option) *G.Node {
	if s.Failed(x) {
		return nil
	}
	c, err := configure("BatchNorm", optMomentum|optEpsilon, opts)
	if err != nil {
		return done(s, nil, err)
	}
	xs := x.Shape()
	if xs.Dims() < 2 {
		return done(s, nil, fmt.Errorf("BatchNorm: input must be [N,C,...], got shape %v", xs))
	}
	ch := []int{xs[1]}
	gamma := s.Variable("gamma", ch, Ones, true)
	beta := s.Variable("beta", ch, Zeros, true)
	mm := s.Variable("moving_mean", ch, Zeros, false)
	mv := s.Variable("moving_variance", ch, Ones, false)
	if s.Failed() {
		return nil
	}
	y, err := ops.BatchNorm(x, gamma, beta, mm, mv, ops.BatchNormConfig{
		Training: s.Training(), Momentum: c.momentum, Epsilon: c.epsilon, UnbiasedMovingVariance: xs.Dims() == 4})
	return done(s, y, err)
}

// ReLU is max(x, 0) with gradient 0 at 0.
func ReLU(s *Scope, x *G.Node) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.ReLU(x)
	return done(s, y, err)
}

// GlobalAvgPool averages x [N,C,H,W] over H and W, giving [N,C].
func GlobalAvgPool(s *Scope, x *G.Node) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.GlobalAvgPool(x)
	return done(s, y, err)
}

// MaxPool2D is Keras' MaxPooling2D with a size×size window and the given stride over
// x [N,C,H,W]. Options: Padding ("valid" by default; "same" never lets a padded position win)
// or ExplicitPadding.
func MaxPool2D(s *Scope, x *G.Node, size, stride int, opts ...Option) *G.Node {
	if s.Failed(x) {
		return nil
	}
	c, err := configure("MaxPool2D", optPadding, opts)
	if err != nil {
		return done(s, nil, err)
	}
	if x.Shape().Dims() != 4 {
		return done(s, nil, fmt.Errorf("MaxPool2D: input must be [N,C,H,W], got shape %v", x.Shape()))
	}
	c.sh, c.sw = stride, stride
	if size < 1 || stride < 1 {
		return done(s, nil, fmt.Errorf("MaxPool2D: size %d and stride %d must be positive", size, stride))
	}
	y, err := ops.MaxPool2D(x, size, size, stride, stride, padding2D(c, x.Shape()[2], x.Shape()[3], size, size))
	return done(s, y, err)
}

// Add is a + b for equal shapes (a residual connection).
func Add(s *Scope, a, b *G.Node) *G.Node {
	if s.Failed(a, b) {
		return nil
	}
	y, err := ops.Add(a, b)
	return done(s, y, err)
}

// Flatten reshapes x [N, ...] to [N, rest].
func Flatten(s *Scope, x *G.Node) *G.Node {
	if s.Failed(x) {
		return nil
	}
	xs := x.Shape()
	if xs.Dims() < 1 {
		return done(s, nil, errors.New("Flatten: scalar input"))
	}
	if xs.Dims() == 2 {
		return x
	}
	y, err := ops.Reshape(x, tensor.Shape{xs[0], xs.TotalSize() / xs[0]})
	return done(s, y, err)
}

// Reshape returns x (copied) with the given shape of the same size.
func Reshape(s *Scope, x *G.Node, shape ...int) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.Reshape(x, tensor.Shape(shape))
	return done(s, y, err)
}

// Concat stacks xs along the first (batch) axis.
func Concat(s *Scope, xs ...*G.Node) *G.Node {
	if s.Failed(xs...) {
		return nil
	}
	y, err := ops.Concat(xs...)
	return done(s, y, err)
}

// MatMul is a·b for a [N,K] and b [K,M].
func MatMul(s *Scope, a, b *G.Node) *G.Node {
	if s.Failed(a, b) {
		return nil
	}
	y, err := ops.MatMul(a, b, nil, false, false, 1)
	return done(s, y, err)
}

// Similarity is scale·a·bᵀ for a [N,D] and b [M,D]: the [N,M] matrix of scaled dot
// products (cosine similarities when the rows are L2-normalized).
func Similarity(s *Scope, a, b *G.Node, scale float32) *G.Node {
	if s.Failed(a, b) {
		return nil
	}
	y, err := ops.MatMul(a, b, nil, false, true, scale)
	return done(s, y, err)
}

// Scale is alpha·x.
func Scale(s *Scope, x *G.Node, alpha float32) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.Scale(x, alpha)
	return done(s, y, err)
}

// Mean is the mean of all elements of x, a scalar.
func Mean(s *Scope, x *G.Node) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.Mean(x)
	return done(s, y, err)
}

// StopGradient passes x through unchanged in the forward pass and lets no gradient
// flow back into x (SimSiam's stop-gradient).
func StopGradient(s *Scope, x *G.Node) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.StopGradient(x)
	return done(s, y, err)
}

// Rows is rows from..to-1 of the first axis of x [N, ...] (PyTorch's x[from:to]), shape
// [to-from, ...]. Its gradient is the output's gradient in those rows and zero elsewhere.
// Under the project's executor it is a view of x's memory, not a copy.
func Rows(s *Scope, x *G.Node, from, to int) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.Rows(x, from, to)
	return done(s, y, err)
}

// SplitRows cuts x [N, ...] along the first axis into parts blocks of N/parts rows, in
// order: the views of a view-major batch (rows 0..B-1 view 0, B..2B-1 view 1, ...). N must
// be a multiple of parts. Each block is Rows of x (a view under the executor). On error it
// returns nil.
func SplitRows(s *Scope, x *G.Node, parts int) []*G.Node {
	if s.Failed(x) {
		return nil
	}
	ys, err := ops.SplitRows(x, parts)
	if err != nil {
		s.Fail(err)
		return nil
	}
	return ys
}
