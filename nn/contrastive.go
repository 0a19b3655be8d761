package nn

import (
	"fmt"

	"github.com/selfsup/selfsup/internal/ops"
	G "gorgonia.org/gorgonia"
)

// The losses of the contrastive and redundancy-reduction methods (SupCon, MoCo v2, NNCLR,
// Barlow Twins, VICReg). Each is built from the project's ops, so gorgonia.Grad
// differentiates it and the executor runs it without allocating per step; the matrix
// products are MatMul nodes.

// checkPair records an error unless a and b are both [N,D] of the same shape.
func checkPair(s *Scope, what string, a, b *G.Node) bool {
	if a.Shape().Dims() != 2 || !a.Shape().Eq(b.Shape()) {
		s.Fail(fmt.Errorf("%s: inputs must both be [N,D], got %v and %v", what, a.Shape(), b.Shape()))
		return false
	}
	return true
}

func checkTemperature(s *Scope, what string, t float32) bool {
	if !(t > 0) {
		s.Fail(fmt.Errorf("%s: temperature %g must be positive", what, t))
		return false
	}
	return true
}

// SupConLoss is the supervised contrastive loss of Khosla et al. 2020 (eq. 2, L_out) over
// the rows of z [M,D], L2-normalized here, with labels [M] as float32 (any finite values;
// rows with equal labels are positives of each other, a row is never its own positive).
// With s_ij = ẑ_i·ẑ_j/temperature and P(i) the positives of row i,
//
//	loss = 1/M Σ_i -1/|P(i)| Σ_{p∈P(i)} log( exp(s_ip) / Σ_{k≠i} exp(s_ik) ).
//
// It follows the authors' reference SupConLoss (github.com/HobbitLong/SupContrast, contrast
// mode "all"): for a batch of B images in V views, z holds the views stacked view-major
// ([V·B, D]) and labels the image labels repeated V times; a row without positives
// contributes 0 but still counts in the mean over M, as the reference does. The reference
// also multiplies by temperature/base_temperature (base_temperature 0.07); this loss
// leaves that factor out (it is 1 at the reference's default temperature 0.07): to match
// the authors' runs at another temperature, Scale the loss by temperature/0.07. A label
// that is NaN or infinite makes the run fail with an error naming the row.
func SupConLoss(s *Scope, z, labels *G.Node, temperature float32) *G.Node {
	if s.Failed(z, labels) || !checkTemperature(s, "SupConLoss", temperature) {
		return nil
	}
	zn := L2Normalize(s, z)
	logits := Similarity(s, zn, zn, 1/temperature)
	if s.Failed(logits) {
		return nil
	}
	y, err := ops.SupConLoss(logits, labels)
	return done(s, y, err)
}

// barlowEps is the epsilon of PyTorch's BatchNorm1d, which Barlow Twins' code uses to
// standardize the embeddings.
const barlowEps = 1e-5

// BarlowTwinsLoss is the loss of Barlow Twins (Zbontar et al. 2021) of two views z1, z2
// [N,D]: each is standardized per dimension over the batch, ẑ = (z - mean)/sqrt(var + 1e-5)
// with the biased variance (the paper's code and solo-learn apply BatchNorm1d without
// affine parameters in training mode), then with the cross-correlation C = ẑ1ᵀẑ2/N [D,D]
//
//	loss = Σ_i (1 - C_ii)² + lambda·Σ_{i≠j} C_ij².
//
// The paper uses lambda = 0.0051 (solo-learn 0.005); solo-learn further multiplies the
// loss by scale_loss (0.025 by default), which is left to the caller (Scale).
func BarlowTwinsLoss(s *Scope, z1, z2 *G.Node, lambda float32) *G.Node {
	if s.Failed(z1, z2) || !checkPair(s, "BarlowTwinsLoss", z1, z2) {
		return nil
	}
	n := z1.Shape()[0]
	a, err := ops.Standardize(z1, barlowEps)
	if err != nil {
		return done(s, nil, err)
	}
	b, err := ops.Standardize(z2, barlowEps)
	if err != nil {
		return done(s, nil, err)
	}
	c, err := ops.MatMul(a, b, nil, true, false, 1/float32(n))
	if err != nil {
		return done(s, nil, err)
	}
	y, err := ops.CrossCorrelationLoss(c, lambda)
	return done(s, y, err)
}

// vicregEps is the epsilon under the square root of VICReg's variance term.
const vicregEps = 1e-4

// VICRegLoss is the loss of VICReg (Bardes et al. 2022) of two views z1, z2 [N,D] (N >= 2):
//
//	loss = simW·mean((z1 - z2)²) + varW·(v(z1) + v(z2)) + covW·(c(z1) + c(z2)),
//	v(z) = 1/D Σ_j max(0, 1 - sqrt(Var(z_j) + 1e-4)),   Var unbiased (over N-1),
//	c(z) = 1/D Σ_{i≠j} Cov(z)_ij²,                       Cov = (z - mean)ᵀ(z - mean)/(N-1),
//
// as in the paper (eqs. 1-6) and solo-learn's vicreg_loss_func, whose weights are 25, 25
// and 1. (The authors' main_vicreg.py halves the variance term, which equals varW/2 here.)
func VICRegLoss(s *Scope, z1, z2 *G.Node, simW, varW, covW float32) *G.Node {
	if s.Failed(z1, z2) || !checkPair(s, "VICRegLoss", z1, z2) {
		return nil
	}
	if z1.Shape()[0] < 2 {
		return done(s, nil, fmt.Errorf("VICRegLoss: a batch of %d rows has no variance; need at least 2", z1.Shape()[0]))
	}
	terms := []struct {
		w float32
		f func() (*G.Node, error)
	}{
		{simW, func() (*G.Node, error) { return ops.MeanSquaredError(z1, z2) }},
		{varW, func() (*G.Node, error) { return ops.VarianceHinge(z1, vicregEps) }},
		{varW, func() (*G.Node, error) { return ops.VarianceHinge(z2, vicregEps) }},
		{covW, func() (*G.Node, error) { return ops.CovarianceOffDiagonal(z1) }},
		{covW, func() (*G.Node, error) { return ops.CovarianceOffDiagonal(z2) }},
	}
	var total *G.Node
	for _, t := range terms {
		y, err := t.f()
		if err == nil {
			y, err = ops.Scale(y, t.w)
		}
		if err == nil && total != nil {
			y, err = ops.Add(total, y)
		}
		if err != nil {
			return done(s, nil, err)
		}
		total = y
	}
	return total
}

// InfoNCE is MoCo's contrastive loss (He et al. 2020; MoCo v2, Chen et al. 2020) of
// queries q and keys k [N,D], both L2-normalized here, against a queue [Q,D] of negative
// keys whose rows are already normalized: with logits_i = [q̂_i·k̂_i, q̂_i·queue_0, ...,
// q̂_i·queue_{Q-1}]/temperature, the mean over i of the cross-entropy against class 0, as
// in MoCo's builder.py and solo-learn's mocov2plus_loss_func (MoCo v2 uses temperature
// 0.2). No gradient flows into the queue (it is read through a stop-gradient, which costs
// no copy under the executor); q and k both get gradients, so the caller stops k when k
// comes from a momentum encoder that the optimizer does not train.
func InfoNCE(s *Scope, q, k, queue *G.Node, temperature float32) *G.Node {
	if s.Failed(q, k, queue) || !checkPair(s, "InfoNCE", q, k) || !checkTemperature(s, "InfoNCE", temperature) {
		return nil
	}
	if queue.Shape().Dims() != 2 || queue.Shape()[1] != q.Shape()[1] {
		return done(s, nil, fmt.Errorf("InfoNCE: queue must be [Q,%d], got %v", q.Shape()[1], queue.Shape()))
	}
	qn, kn := L2Normalize(s, q), L2Normalize(s, k)
	if s.Failed(qn, kn) {
		return nil
	}
	pos, err := ops.RowDot(qn, kn)
	if err != nil {
		return done(s, nil, err)
	}
	fixed, err := ops.StopGradient(queue)
	if err != nil {
		return done(s, nil, err)
	}
	neg, err := ops.MatMul(qn, fixed, nil, false, true, 1)
	if err != nil {
		return done(s, nil, err)
	}
	y, err := ops.InfoNCELoss(pos, neg, 1/temperature)
	return done(s, y, err)
}

// NearestNeighbor returns, for each row of z [N,D], the row of support [Q,D] with the
// highest cosine similarity to it, as stored in support: NNCLR's nearest neighbour in its
// support set (a queue of past embeddings, normalized or not). Ties go to the first such
// row; zero rows (an unfilled queue's) are never picked unless all rows are zero. No
// gradient flows through it, neither into z nor into support; NNCLR's gradient reaches
// the encoder through the other view's predictions (see DiagonalCrossEntropy).
func NearestNeighbor(s *Scope, z, support *G.Node) *G.Node {
	if s.Failed(z, support) {
		return nil
	}
	y, err := ops.NearestNeighbor(z, support)
	return done(s, y, err)
}

// DiagonalCrossEntropy is NNCLR's loss in one direction (Dwibedi et al. 2021, eq. 2):
// with a and b [N,D] both L2-normalized here and s_ij = â_i·b̂_j/temperature [N,N],
//
//	loss = 1/N Σ_i -log( exp(s_ii) / Σ_j exp(s_ij) ),
//
// the cross-entropy of matching row i of a with row i of b among all rows of b. This is
// solo-learn's nnclr_loss_func(nn, p) with a the nearest neighbours of view 1 and b the
// predictions of view 2 (temperature 0.1); NNCLR's loss is the mean of both directions.
// (lightly's NNCLR instead uses NT-Xent, which also contrasts rows of the same view:
// NTXent(s, nn, p, t).) Both inputs get gradients; the nearest neighbours carry none back.
func DiagonalCrossEntropy(s *Scope, a, b *G.Node, temperature float32) *G.Node {
	if s.Failed(a, b) || !checkPair(s, "DiagonalCrossEntropy", a, b) || !checkTemperature(s, "DiagonalCrossEntropy", temperature) {
		return nil
	}
	logits := Similarity(s, L2Normalize(s, a), L2Normalize(s, b), 1/temperature)
	if s.Failed(logits) {
		return nil
	}
	y, err := ops.DiagonalCrossEntropy(logits)
	return done(s, y, err)
}
