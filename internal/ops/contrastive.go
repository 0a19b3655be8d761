package ops

import (
	"fmt"
	"strconv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the ops of the contrastive and redundancy-reduction losses (SupCon,
// MoCo's InfoNCE, NNCLR, Barlow Twins, VICReg). Each loss is split so that the matrix
// products stay MatMul nodes (and their gradients MatMul's gradients): the ops here take
// the products and reduce them to a scalar, or standardize the rows' columns.

func fmtF(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// supConOp is the supervised contrastive loss of the logits [M,M] and labels [M].
type supConOp struct {
	base
	m int
}

// SupConLoss returns the supervised contrastive loss (Khosla et al. 2020, eq. 2, the
// "L_out" form) of logits [M,M] (the scaled similarities z_i·z_j/τ of M rows) and labels
// [M] (float32; rows with equal labels are positives of each other, a row is not its own
// positive): the mean over the M rows i of
//
//	-1/|P(i)| Σ_{p∈P(i)} log( exp(l_ip) / Σ_{k≠i} exp(l_ik) ),
//
// where a row without positives (P(i) empty) contributes 0 but still counts in the mean,
// as in the authors' reference SupConLoss. A label that is NaN or infinite is an error
// when the graph runs. Only the logits get a gradient.
func SupConLoss(logits, labels *G.Node) (*G.Node, error) {
	if err := checkFloat32("SupCon logits", logits); err != nil {
		return nil, err
	}
	if err := checkFloat32("SupCon labels", labels); err != nil {
		return nil, err
	}
	sh := logits.Shape()
	if sh.Dims() != 2 || sh[0] != sh[1] || sh[0] < 2 {
		return nil, fmt.Errorf("supCon: logits must be [M,M] with M >= 2, got %v", sh)
	}
	if !sameShape(labels.Shape(), tensor.Shape{sh[0]}) {
		return nil, fmt.Errorf("supCon: labels have shape %v, want [%d]", labels.Shape(), sh[0])
	}
	op := &supConOp{m: sh[0]}
	op.base = newBase(op, "supCon", "", false, tensor.ScalarShape(), sh, tensor.Shape{sh[0]})
	return apply(op, logits, labels)
}

func (op *supConOp) run(out []float32, in [][]float32) error {
	return op.kern.SupCon(op.m, in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp: the logits only.
func (op *supConOp) DiffWRT(n int) []bool { return []bool{true, false}[:n] }

// SymDiff implements gorgonia.SDOp.
func (op *supConOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &supConGradOp{m: op.m}
	g.base = newBase(g, "supConGrad", "", false, inputs[0].Shape(), inputs[0].Shape(), inputs[1].Shape(), grad.Shape())
	d, err := apply(g, inputs[0], inputs[1], grad)
	return G.Nodes{d, nil}, err
}

type supConGradOp struct {
	base
	m int
}

func (op *supConGradOp) run(out []float32, in [][]float32) error {
	return op.kern.SupConGrad(op.m, in[2], in[0], in[1], out)
}

// infoNCEOp is the cross-entropy of [pos_i, neg_i]·scale against class 0.
type infoNCEOp struct {
	base
	n, k  int
	scale float32
}

// InfoNCELoss returns MoCo's InfoNCE loss from the positive logits pos [N] and the
// negative logits neg [N,K] (before scaling): with l_i = scale·[pos_i, neg_i,0..K-1],
// the mean over i of -log softmax(l_i)[0] (the positive is class 0). scale is
// 1/temperature. Both inputs get gradients.
func InfoNCELoss(pos, neg *G.Node, scale float32) (*G.Node, error) {
	if err := checkFloat32("InfoNCE positive logits", pos); err != nil {
		return nil, err
	}
	if err := checkFloat32("InfoNCE negative logits", neg); err != nil {
		return nil, err
	}
	ns := neg.Shape()
	if ns.Dims() != 2 || !sameShape(pos.Shape(), tensor.Shape{ns[0]}) {
		return nil, fmt.Errorf("infoNCE: want positives [N] and negatives [N,K], got %v and %v", pos.Shape(), ns)
	}
	if !(scale > 0) {
		return nil, fmt.Errorf("infoNCE: scale %g must be positive", scale)
	}
	op := &infoNCEOp{n: ns[0], k: ns[1], scale: scale}
	op.base = newBase(op, "infoNCE", fmtF(scale), false, tensor.ScalarShape(), tensor.Shape{ns[0]}, ns)
	return apply(op, pos, neg)
}

func (op *infoNCEOp) run(out []float32, in [][]float32) error {
	return op.kern.InfoNCE(op.n, op.k, op.scale, in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *infoNCEOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: one op computes [dpos | dneg] in one pass over the
// logits, and two views pick them apart.
func (op *infoNCEOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &infoNCEGradOp{n: op.n, k: op.k, scale: op.scale}
	g.base = newBase(g, "infoNCEGrad", op.params, false, tensor.Shape{op.n * (op.k + 1)}, op.ins[0], op.ins[1], grad.Shape())
	all, err := apply(g, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dpos, err := part(all, 0, op.ins[0], true)
	if err != nil {
		return nil, err
	}
	dneg, err := part(all, op.n, op.ins[1], true)
	return G.Nodes{dpos, dneg}, err
}

type infoNCEGradOp struct {
	base
	n, k  int
	scale float32
}

func (op *infoNCEGradOp) run(out []float32, in [][]float32) error {
	return op.kern.InfoNCEGrad(op.n, op.k, op.scale, in[2], in[0], in[1], out[:op.n], out[op.n:])
}

// diagCEOp is the mean cross-entropy of the rows of [N,N] logits against their diagonal.
type diagCEOp struct {
	base
	n int
}

// DiagonalCrossEntropy returns the mean over rows i of -log softmax(logits_i)[i] for
// logits [N,N]: the cross-entropy of matching row i with column i (labels 0..N-1).
func DiagonalCrossEntropy(logits *G.Node) (*G.Node, error) {
	if err := checkFloat32("diagonal cross-entropy logits", logits); err != nil {
		return nil, err
	}
	sh := logits.Shape()
	if sh.Dims() != 2 || sh[0] != sh[1] {
		return nil, fmt.Errorf("diagonalCrossEntropy: logits must be [N,N], got %v", sh)
	}
	op := &diagCEOp{n: sh[0]}
	op.base = newBase(op, "diagonalCrossEntropy", "", false, tensor.ScalarShape(), sh)
	return apply(op, logits)
}

func (op *diagCEOp) run(out []float32, in [][]float32) error {
	return op.kern.DiagonalCrossEntropy(op.n, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *diagCEOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *diagCEOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &diagCEGradOp{n: op.n}
	g.base = newBase(g, "diagonalCrossEntropyGrad", "", false, op.ins[0], op.ins[0], grad.Shape())
	d, err := apply(g, inputs[0], grad)
	return G.Nodes{d}, err
}

type diagCEGradOp struct {
	base
	n int
}

func (op *diagCEGradOp) run(out []float32, in [][]float32) error {
	return op.kern.DiagonalCrossEntropyGrad(op.n, in[1], in[0], out)
}

// nearestOp picks, for each row of z, the support row of highest cosine similarity.
type nearestOp struct {
	base
	n, q, d int
}

// NearestNeighbor returns, for each row z_i of z [N,D], the row of support [Q,D] with the
// highest cosine similarity to it (the first such row on ties), as stored in support:
// shape [N,D]. Zero rows of support are never picked (unless all are zero: then row
// 0). No gradient flows through it,
// into z or support (NNCLR's nearest neighbours are taken from a support set without a
// gradient).
func NearestNeighbor(z, support *G.Node) (*G.Node, error) {
	if err := checkFloat32("nearest-neighbour queries", z); err != nil {
		return nil, err
	}
	if err := checkFloat32("nearest-neighbour support", support); err != nil {
		return nil, err
	}
	zs, ss := z.Shape(), support.Shape()
	if zs.Dims() != 2 || ss.Dims() != 2 || zs[1] != ss[1] {
		return nil, fmt.Errorf("nearestNeighbor: want z [N,D] and support [Q,D], got %v and %v", zs, ss)
	}
	op := &nearestOp{n: zs[0], q: ss[0], d: zs[1]}
	op.base = newBase(op, "nearestNeighbor", "", false, zs, zs, ss)
	return apply(op, z, support)
}

func (op *nearestOp) run(out []float32, in [][]float32) error {
	return op.kern.NearestRows(op.n, op.q, op.d, in[0], in[1], out)
}

// SymDiff implements gorgonia.SDOp; DiffWRT (all false) keeps it from being called.
func (op *nearestOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	return make(G.Nodes, len(inputs)), nil
}

// standardizeOp is (x - mean)/sqrt(var + eps) per column of [N,D].
type standardizeOp struct {
	base
	n, d int
	eps  float32
}

// Standardize returns x [N,D] with every column standardized over the batch:
// (x - mean)/sqrt(var + eps) with the biased variance (divided by N), which is what
// PyTorch's BatchNorm1d(affine=False) computes in training mode (Barlow Twins' bn).
func Standardize(x *G.Node, eps float32) (*G.Node, error) {
	if err := checkFloat32("standardize input", x); err != nil {
		return nil, err
	}
	sh := x.Shape()
	if sh.Dims() != 2 || sh[0] < 2 {
		return nil, fmt.Errorf("standardize: input must be [N,D] with N >= 2, got %v", sh)
	}
	if !(eps >= 0) {
		return nil, fmt.Errorf("standardize: epsilon %g must not be negative", eps)
	}
	op := &standardizeOp{n: sh[0], d: sh[1], eps: eps}
	op.base = newBase(op, "standardize", fmtF(eps), false, sh, sh)
	return apply(op, x)
}

func (op *standardizeOp) run(out []float32, in [][]float32) error {
	return op.kern.Standardize(op.n, op.d, op.eps, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *standardizeOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp (batch norm's input gradient with γ = 1).
func (op *standardizeOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &standardizeGradOp{n: op.n, d: op.d, eps: op.eps}
	g.base = newBase(g, "standardizeGrad", op.params, false, op.out, op.out, op.out)
	d, err := apply(g, inputs[0], grad)
	return G.Nodes{d}, err
}

type standardizeGradOp struct {
	base
	n, d int
	eps  float32
}

func (op *standardizeGradOp) run(out []float32, in [][]float32) error {
	return op.kern.StandardizeGrad(op.n, op.d, op.eps, in[0], in[1], out)
}

// crossCorrOp is Barlow Twins' Σ(1-C_ii)² + λ Σ_{i≠j} C_ij² of a [D,D] matrix.
type crossCorrOp struct {
	base
	d      int
	lambda float32
}

// CrossCorrelationLoss returns Barlow Twins' redundancy-reduction loss of the
// cross-correlation matrix c [D,D]: Σ_i (1 - c_ii)² + lambda·Σ_{i≠j} c_ij².
func CrossCorrelationLoss(c *G.Node, lambda float32) (*G.Node, error) {
	if err := checkFloat32("cross-correlation matrix", c); err != nil {
		return nil, err
	}
	sh := c.Shape()
	if sh.Dims() != 2 || sh[0] != sh[1] {
		return nil, fmt.Errorf("crossCorrelationLoss: matrix must be [D,D], got %v", sh)
	}
	if !(lambda >= 0) {
		return nil, fmt.Errorf("crossCorrelationLoss: lambda %g must not be negative", lambda)
	}
	op := &crossCorrOp{d: sh[0], lambda: lambda}
	op.base = newBase(op, "crossCorrelationLoss", fmtF(lambda), false, tensor.ScalarShape(), sh)
	return apply(op, c)
}

func (op *crossCorrOp) run(out []float32, in [][]float32) error {
	return op.kern.CrossCorrelationLoss(op.d, op.lambda, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *crossCorrOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *crossCorrOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &crossCorrGradOp{d: op.d, lambda: op.lambda}
	g.base = newBase(g, "crossCorrelationLossGrad", op.params, false, op.ins[0], op.ins[0], grad.Shape())
	d, err := apply(g, inputs[0], grad)
	return G.Nodes{d}, err
}

type crossCorrGradOp struct {
	base
	d      int
	lambda float32
}

func (op *crossCorrGradOp) run(out []float32, in [][]float32) error {
	return op.kern.CrossCorrelationLossGrad(op.d, op.lambda, in[1], in[0], out)
}

// mseOp is mean((a-b)²).
type mseOp struct{ base }

// MeanSquaredError returns the mean over all elements of (a - b)² for a and b of the
// same shape (PyTorch's F.mse_loss with reduction "mean").
func MeanSquaredError(a, b *G.Node) (*G.Node, error) {
	if err := checkFloat32("mse input 0", a); err != nil {
		return nil, err
	}
	if err := checkFloat32("mse input 1", b); err != nil {
		return nil, err
	}
	if !sameShape(a.Shape(), b.Shape()) {
		return nil, fmt.Errorf("meanSquaredError: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	op := &mseOp{}
	op.base = newBase(op, "meanSquaredError", "", false, tensor.ScalarShape(), a.Shape(), b.Shape())
	return apply(op, a, b)
}

func (op *mseOp) run(out []float32, in [][]float32) error {
	return op.kern.MeanSquaredError(in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *mseOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: da = 2g(a-b)/n, db = -da.
func (op *mseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, 2)
	for i, sign := range []float32{2, -2} {
		g := &subScaleOp{alpha: sign / float32(size(op.ins[0]))}
		g.base = newBase(g, "subScale", fmtF(g.alpha), false, op.ins[0], op.ins[0], op.ins[1], grad.Shape())
		d, err := apply(g, inputs[0], inputs[1], grad)
		if err != nil {
			return nil, err
		}
		res[i] = d
	}
	return res, nil
}

// subScaleOp is y = alpha·g·(a - b) for a scalar node g.
type subScaleOp struct {
	base
	alpha float32
}

func (op *subScaleOp) run(out []float32, in [][]float32) error {
	return op.kern.SubScale(op.alpha, in[2], in[0], in[1], out)
}

// varHingeOp is mean_j relu(1 - sqrt(var_j + eps)) over the columns of [N,D].
type varHingeOp struct {
	base
	n, d int
	eps  float32
}

// VarianceHinge returns VICReg's variance term of z [N,D]: the mean over the D columns
// of max(0, 1 - sqrt(var_j + eps)), var_j the unbiased variance (divided by N-1) of
// column j over the batch.
func VarianceHinge(z *G.Node, eps float32) (*G.Node, error) {
	if err := checkFloat32("variance-hinge input", z); err != nil {
		return nil, err
	}
	sh := z.Shape()
	if sh.Dims() != 2 || sh[0] < 2 {
		return nil, fmt.Errorf("varianceHinge: input must be [N,D] with N >= 2, got %v", sh)
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("varianceHinge: epsilon %g must be positive", eps)
	}
	op := &varHingeOp{n: sh[0], d: sh[1], eps: eps}
	op.base = newBase(op, "varianceHinge", fmtF(eps), false, tensor.ScalarShape(), sh)
	return apply(op, z)
}

func (op *varHingeOp) run(out []float32, in [][]float32) error {
	return op.kern.VarianceHinge(op.n, op.d, op.eps, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *varHingeOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *varHingeOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &varHingeGradOp{n: op.n, d: op.d, eps: op.eps}
	g.base = newBase(g, "varianceHingeGrad", op.params, false, op.ins[0], op.ins[0], grad.Shape())
	d, err := apply(g, inputs[0], grad)
	return G.Nodes{d}, err
}

type varHingeGradOp struct {
	base
	n, d int
	eps  float32
}

func (op *varHingeGradOp) run(out []float32, in [][]float32) error {
	return op.kern.VarianceHingeGrad(op.n, op.d, op.eps, in[1], in[0], out)
}

// covOffDiagOp is Σ_{i≠j} Cov_ij² / D of the columns of [N,D].
type covOffDiagOp struct {
	base
	n, d int
}

// CovarianceOffDiagonal returns VICReg's covariance term of z [N,D]: with
// Cov = (z - mean)ᵀ(z - mean)/(N-1) the [D,D] covariance of the columns over the batch,
// Σ_{i≠j} Cov_ij² / D.
func CovarianceOffDiagonal(z *G.Node) (*G.Node, error) {
	if err := checkFloat32("covariance input", z); err != nil {
		return nil, err
	}
	sh := z.Shape()
	if sh.Dims() != 2 || sh[0] < 2 {
		return nil, fmt.Errorf("covarianceOffDiagonal: input must be [N,D] with N >= 2, got %v", sh)
	}
	op := &covOffDiagOp{n: sh[0], d: sh[1]}
	op.base = newBase(op, "covarianceOffDiagonal", "", false, tensor.ScalarShape(), sh)
	return apply(op, z)
}

func (op *covOffDiagOp) run(out []float32, in [][]float32) error {
	return op.kern.CovarianceOffDiagonal(op.n, op.d, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *covOffDiagOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *covOffDiagOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &covOffDiagGradOp{n: op.n, d: op.d}
	g.base = newBase(g, "covarianceOffDiagonalGrad", "", false, op.ins[0], op.ins[0], grad.Shape())
	d, err := apply(g, inputs[0], grad)
	return G.Nodes{d}, err
}

type covOffDiagGradOp struct {
	base
	n, d int
}

func (op *covOffDiagGradOp) run(out []float32, in [][]float32) error {
	return op.kern.CovarianceOffDiagonalGrad(op.n, op.d, in[1], in[0], out)
}
