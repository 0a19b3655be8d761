package ops

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
)

// Kernels is the math of every op, kept apart from the gorgonia plumbing (shape checks,
// hashing, differentiation) so that another runtime (CUDA) can supply its own
// implementation. Slices are dense row-major float32 data whose lengths the ops have
// already checked; a 4-D activation [N,C,H,W] is seen as N×C planes of S=H×W values and a
// 2-D one [N,C] as S=1. Kernels write every element of their output (they never
// accumulate into it unless documented). CPU is the implementation the ops use today.
type Kernels interface {
	// ConvForward computes y = conv(x, w) (+ bias[o] when bias is non-nil).
	ConvForward(g *ConvGeom, x, w, bias, y []float32) error
	// ConvForwardAffine computes y = conv(x, w) (+ bias[o]), then y = y·scale[o] +
	// shift[o], then max(y, 0) when relu is set: an inference convolution with the batch
	// norm (and ReLU) that follows it, with the rounding of the three ops in turn.
	ConvForwardAffine(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) error
	// ConvBackwardData computes dx, the gradient of the input, from dy and w.
	ConvBackwardData(g *ConvGeom, w, dy, dx []float32) error
	// ConvBackwardFilter computes dw, the gradient of the kernel, from x and dy.
	ConvBackwardFilter(g *ConvGeom, x, dy, dw []float32) error
	// ConvBackward computes dx, dw and, when db is non-nil, db (the bias gradient, dy
	// summed per output channel) together, so that work both need is done once.
	ConvBackward(g *ConvGeom, x, w, dy, dx, dw, db []float32) error

	// ChannelSum sets out[c] to the sum of x over N and S (bias and beta gradients).
	ChannelSum(n, c, s int, x, out []float32) error
	// AddChannel sets y = x + b[c] (broadcast over N and S).
	AddChannel(n, c, s int, x, b, y []float32) error
	// ChannelMoments sets mean[c] and variance[c] (biased, divided by N×S) of x.
	ChannelMoments(n, c, s int, x, mean, variance []float32) error
	// ScaleShift sets y = x*scale[c] + shift[c].
	ScaleShift(n, c, s int, x, scale, shift, y []float32) error
	// ScaleShiftReLU sets y = max(x*scale[c] + shift[c], 0) (a batch norm fused with
	// the ReLU that follows it), with ReLU's treatment of -0 and NaN.
	ScaleShiftReLU(n, c, s int, x, scale, shift, y []float32) error
	// BatchNormGradParams sets dgamma[c] = Σ dy·(x-mean[c])·invstd[c] and dbeta[c] = Σ dy
	// in one pass.
	BatchNormGradParams(n, c, s int, x, dy, mean, invstd, dgamma, dbeta []float32) error
	// BatchNormGradInput sets dx for y = gamma·(x-mean)·invstd + beta. With batch
	// statistics (training) it includes the paths through the mean and variance:
	// dx = gamma·invstd·(dy - dbeta/M - xhat·dgamma/M), M = N×S; with fixed statistics
	// dx = gamma·invstd·dy.
	BatchNormGradInput(n, c, s int, training bool, x, dy, mean, invstd, gamma, dgamma, dbeta, dx []float32) error

	// ReLU sets y = max(x, 0).
	ReLU(x, y []float32) error
	// ReLUGrad sets dx = dy where y > 0, else 0.
	ReLUGrad(y, dy, dx []float32) error
	// ReLUGradAdd sets dx = a + b where y > 0, else 0 (a ReLU's gradient fused with the
	// sum of two gradient contributions before it).
	ReLUGradAdd(y, a, b, dx []float32) error
	// Add sets y = a + b.
	Add(a, b, y []float32) error
	// AddReLU sets y = max(a + b, 0) (a residual connection fused with the ReLU that
	// follows it), with ReLU's treatment of -0 and NaN.
	AddReLU(a, b, y []float32) error
	// Scale sets y = alpha·x.
	Scale(alpha float32, x, y []float32) error

	// GlobalAvgPool sets y[n,c] to the mean of plane (n,c) of x.
	GlobalAvgPool(n, c, s int, x, y []float32) error
	// GlobalAvgPoolGrad spreads dy[n,c]/S over plane (n,c) of dx.
	GlobalAvgPoolGrad(n, c, s int, dy, dx []float32) error
	// MaxPool sets y to the window maxima of x.
	MaxPool(g *PoolGeom, x, y []float32) error
	// MaxPoolGrad routes dy to the first maximum of each window of x.
	MaxPoolGrad(g *PoolGeom, x, dy, dx []float32) error

	// MatMul sets c = alpha·op(a)·op(b) (+ bias[j] on every row when bias is non-nil), with
	// op(a) m×k and op(b) k×n as stored row-major (transposed when the flag is set).
	MatMul(transA, transB bool, m, n, k int, alpha float32, a, b, bias, c []float32) error

	// SoftmaxCrossEntropy sets loss[0] to the mean over rows of -log softmax(logits)[label]
	// and, when probs is non-nil, stores the softmax there. labels hold class indices.
	SoftmaxCrossEntropy(n, k int, logits, labels, probs, loss []float32) error
	// SoftmaxCrossEntropyGrad sets dx = g[0]·(softmax(logits) - onehot(labels))/n.
	SoftmaxCrossEntropyGrad(n, k int, g, logits, labels, dx []float32) error
	// Softmax sets y to the row-wise softmax of x [n,k].
	Softmax(n, k int, x, y []float32) error
	// SoftmaxGrad sets dx = y·(dy - Σ_j dy·y) row-wise.
	SoftmaxGrad(n, k int, y, dy, dx []float32) error
	// NTXent sets loss[0] to the SimCLR loss of the similarity logits s [2m,2m]: the mean
	// over rows i of the cross-entropy of row i, without its diagonal entry, against column
	// (i+m) mod 2m.
	NTXent(m int, s, loss []float32) error
	// NTXentGrad sets ds, the gradient of g[0]·NTXent(s).
	NTXentGrad(m int, g, s, ds []float32) error

	// SupCon sets loss[0] to the supervised contrastive loss of the logits [m,m] (see SupConLoss):
	// the mean over rows i of log Σ_{k≠i} exp(l_ik) minus the mean of l_ip over the
	// positives p (k≠i with labels[k] == labels[i]); rows without positives add 0.
	SupCon(m int, logits, labels, loss []float32) error
	// SupConGrad sets dlogits, the gradient of g[0]·SupCon(logits).
	SupConGrad(m int, g, logits, labels, dlogits []float32) error
	// InfoNCE sets loss[0] to the mean over rows i of -log softmax(scale·[pos_i, neg_i])[0]
	// for pos [n] and neg [n,k].
	InfoNCE(n, k int, scale float32, pos, neg, loss []float32) error
	// InfoNCEGrad sets dpos and dneg, the gradients of g[0]·InfoNCE(pos, neg).
	InfoNCEGrad(n, k int, scale float32, g, pos, neg, dpos, dneg []float32) error
	// DiagonalCrossEntropy sets loss[0] to the mean over rows i of -log softmax(logits_i)[i]
	// for logits [n,n].
	DiagonalCrossEntropy(n int, logits, loss []float32) error
	// DiagonalCrossEntropyGrad sets dlogits = g[0]·(softmax(logits) - I)/n.
	DiagonalCrossEntropyGrad(n int, g, logits, dlogits []float32) error
	// NearestRows sets row i of y [n,d] to the row of support [q,d] of highest cosine
	// similarity with row i of z [n,d] (the first on ties; zero support rows only when all are zero, then row 0).
	NearestRows(n, q, d int, z, support, y []float32) error
	// Standardize sets y = (x - mean)/sqrt(var + eps) per column of x [n,d], with the
	// biased variance.
	Standardize(n, d int, eps float32, x, y []float32) error
	// StandardizeGrad sets dx for y = Standardize(x): per column,
	// invstd·(dy - mean(dy) - y·mean(dy·y)).
	StandardizeGrad(n, d int, eps float32, x, dy, dx []float32) error
	// CrossCorrelationLoss sets loss[0] to Σ_i (1-c_ii)² + lambda·Σ_{i≠j} c_ij² for c [d,d].
	CrossCorrelationLoss(d int, lambda float32, c, loss []float32) error
	// CrossCorrelationLossGrad sets dc, the gradient of g[0]·CrossCorrelationLoss(c).
	CrossCorrelationLossGrad(d int, lambda float32, g, c, dc []float32) error
	// MeanSquaredError sets loss[0] to the mean of (a-b)².
	MeanSquaredError(a, b, loss []float32) error
	// SubScale sets y = (alpha·g[0])·(a - b).
	SubScale(alpha float32, g, a, b, y []float32) error
	// VarianceHinge sets loss[0] to the mean over the columns j of z [n,d] of
	// max(0, 1 - sqrt(var_j + eps)), var_j the unbiased variance.
	VarianceHinge(n, d int, eps float32, z, loss []float32) error
	// VarianceHingeGrad sets dz, the gradient of g[0]·VarianceHinge(z) (0 where the hinge
	// is flat, including at its kink).
	VarianceHingeGrad(n, d int, eps float32, g, z, dz []float32) error
	// CovarianceOffDiagonal sets loss[0] to Σ_{i≠j} Cov_ij²/d for the unbiased covariance
	// [d,d] of the columns of z [n,d].
	CovarianceOffDiagonal(n, d int, z, loss []float32) error
	// CovarianceOffDiagonalGrad sets dz, the gradient of g[0]·CovarianceOffDiagonal(z).
	CovarianceOffDiagonalGrad(n, d int, g, z, dz []float32) error

	// L2Normalize sets y = x / sqrt(max(Σx², eps)) row-wise on [n,d].
	L2Normalize(n, d int, eps float32, x, y []float32) error
	// L2NormalizeGrad sets dx for y = L2Normalize(x).
	L2NormalizeGrad(n, d int, eps float32, x, y, dy, dx []float32) error
	// RowDot sets out[i] = Σ_j a[i,j]·b[i,j].
	RowDot(n, d int, a, b, out []float32) error
	// RowScale sets y[i,j] = v[i]·x[i,j].
	RowScale(n, d int, v, x, y []float32) error
	// Fill sets every element of y to v.
	Fill(v float32, y []float32) error
	// FillBy sets every element of y to alpha·g[0] (the gradient of a mean).
	FillBy(alpha float32, g, y []float32) error
	// ScaleBy sets y = (alpha·g[0])·x (a gradient seed g times a constant).
	ScaleBy(alpha float32, g, x, y []float32) error
	// Copy sets dst = src (slices of equal length).
	Copy(dst, src []float32) error
	// Mean sets out[0] to the mean of x: float32 sums over runs of 4096 elements, added in
	// float64 in order.
	Mean(x, out []float32) error
	// L2Penalty sets out[0] to Σ_i coefs[i]·Σ ws[i]², each Σ w² as Mean sums, the products
	// added in float64 in order.
	L2Penalty(coefs []float32, ws [][]float32, out []float32) error

	// BatchNormUpdate is a training batch norm's per-channel state after ChannelMoments:
	// movingMean = movingMean·momentum + mean·(1-momentum), movingVar = movingVar·momentum
	// + variance·corr·(1-momentum) (corr is M/(M-1) for an unbiased moving variance, else
	// 1), invstd = 1/sqrt(variance + eps) (the square root in float64).
	BatchNormUpdate(c int, momentum, corr, eps float32, mean, variance, movingMean, movingVar, invstd []float32) error
	// BatchNormFixed is an inference batch norm's statistics: mean = movingMean, invstd =
	// 1/sqrt(movingVar + eps); a negative moving variance is an error.
	BatchNormFixed(c int, eps float32, movingMean, movingVar, mean, invstd []float32) error
	// BatchNormAffine sets scale = gamma·invstd and shift = beta - mean·scale, the
	// per-channel affine map ScaleShift applies.
	BatchNormAffine(c int, gamma, beta, mean, invstd, scale, shift []float32) error
}

// CPU is the Go implementation of Kernels: data-parallel loops over runtime.GOMAXPROCS
// goroutines and blas.Sgemm for the matrix products. Scratch memory comes from a shared
// pool, so steady-state calls do not allocate.
type CPU struct{}

var _ Kernels = CPU{}

// kernelUser is implemented by every op of this package.
type kernelUser interface{ setKernels(Kernels) error }

func (b *base) setKernels(k Kernels) error {
	b.kern = k
	return nil
}

// opState is per-op memory that kernels read and write (batch norm's statistics): Go
// memory, or memory of the allocator that free names.
type opState struct {
	data []float32
	free exec.Allocator
}

// allocState returns n zeroed float32 elements of a's memory (Go memory when a is nil),
// releasing old's when it came from an allocator; it keeps old when nothing changes.
func allocState(a exec.Allocator, old opState, n int) (opState, error) {
	if a == nil && old.free == nil && len(old.data) == n {
		return old, nil
	}
	if a == nil {
		if old.free != nil {
			old.free.Free(old.data)
		}
		return opState{data: make([]float32, n)}, nil
	}
	v, err := a.Alloc(tensor.Float32, n)
	if err != nil {
		return old, fmt.Errorf("allocating %d elements of op state: %w", n, err)
	}
	d, ok := v.([]float32)
	if !ok || len(d) != n {
		a.Free(v)
		return old, fmt.Errorf("allocator returned %T for %d float32 elements", v, n)
	}
	if old.free != nil {
		old.free.Free(old.data)
	}
	return opState{data: d, free: a}, nil
}

// Release returns the op state that SetKernels allocated from an exec.Allocator to it,
// and sets the ops of g back to CPU (with state in Go memory).
func Release(g *G.ExprGraph) {
	if g != nil {
		_, _ = SetKernels(g, CPU{})
	}
}

// SetKernels makes every op of this package in g compute with k instead of CPU (for
// instance the kernels of another runtime, whose memory the ops' input and output
// tensors must then be: see exec.WithAllocator). When k also implements exec.Allocator,
// the state that ops keep between their forward and gradient runs (batch norm's
// statistics) is allocated from it. It returns the number of ops changed; other ops are
// left alone. Call it before the graph runs: it drops that state.
func SetKernels(g *G.ExprGraph, k Kernels) (int, error) {
	if g == nil || k == nil {
		return 0, errors.New("ops.SetKernels: nil graph or kernels")
	}
	n := 0
	for _, node := range g.AllNodes() {
		if node.Op() == nil {
			continue
		}
		if u, ok := node.Op().(kernelUser); ok {
			if err := u.setKernels(k); err != nil {
				return n, fmt.Errorf("ops.SetKernels: node %q: %w", node.Name(), err)
			}
			n++
		}
	}
	return n, nil
}
