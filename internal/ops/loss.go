package ops

import (
	"fmt"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// softmaxCEOp is the mean softmax cross-entropy of logits [N,K] against labels [N].
type softmaxCEOp struct {
	base
	n, k int
}

// SoftmaxCrossEntropy returns the scalar mean over the batch of -log softmax(logits)[label]
// for logits [N,K] and labels [N] holding class indices 0..K-1 as float32 (a label that is
// not such an index is an error when the graph runs). It is computed with the
// log-sum-exp trick; its gradient wrt the logits is (softmax - onehot)/N.
func SoftmaxCrossEntropy(logits, labels *G.Node) (*G.Node, error) {
	if err := checkFloat32("logits", logits); err != nil {
		return nil, err
	}
	if err := checkFloat32("labels", labels); err != nil {
		return nil, err
	}
	ls := logits.Shape()
	if ls.Dims() != 2 {
		return nil, fmt.Errorf("softmaxCrossEntropy: logits must be [N,K], got %v", ls)
	}
	if !sameShape(labels.Shape(), tensor.Shape{ls[0]}) {
		return nil, fmt.Errorf("softmaxCrossEntropy: labels have shape %v, want [%d]", labels.Shape(), ls[0])
	}
	op := &softmaxCEOp{n: ls[0], k: ls[1]}
	op.base = newBase(op, "softmaxCrossEntropy", "", false, tensor.ScalarShape(), ls, tensor.Shape{ls[0]})
	return apply(op, logits, labels)
}

func (op *softmaxCEOp) run(out []float32, in [][]float32) error {
	return op.kern.SoftmaxCrossEntropy(op.n, op.k, in[0], in[1], nil, out)
}

// DiffWRT implements gorgonia.SDOp: logits only.
func (op *softmaxCEOp) DiffWRT(n int) []bool { return []bool{true, false}[:n] }

// SymDiff implements gorgonia.SDOp.
func (op *softmaxCEOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &softmaxCEGradOp{n: op.n, k: op.k}
	g.base = newBase(g, "softmaxCrossEntropyGrad", "", false, inputs[0].Shape(), inputs[0].Shape(), inputs[1].Shape(), grad.Shape())
	dx, err := apply(g, inputs[0], inputs[1], grad)
	return G.Nodes{dx, nil}, err
}

type softmaxCEGradOp struct {
	base
	n, k int
}

func (op *softmaxCEGradOp) run(out []float32, in [][]float32) error {
	return op.kern.SoftmaxCrossEntropyGrad(op.n, op.k, in[2], in[0], in[1], out)
}

// softmaxOp is the row-wise softmax of [N,K].
type softmaxOp struct {
	base
	n, k int
}

// Softmax returns the row-wise softmax of x [N,K] (class probabilities).
func Softmax(x *G.Node) (*G.Node, error) {
	if err := checkFloat32("softmax input", x); err != nil {
		return nil, err
	}
	if x.Shape().Dims() != 2 {
		return nil, fmt.Errorf("softmax: input must be [N,K], got %v", x.Shape())
	}
	op := &softmaxOp{n: x.Shape()[0], k: x.Shape()[1]}
	op.base = newBase(op, "softmax", "", false, x.Shape(), x.Shape())
	return apply(op, x)
}

func (op *softmaxOp) run(out []float32, in [][]float32) error {
	return op.kern.Softmax(op.n, op.k, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *softmaxOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *softmaxOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &softmaxGradOp{n: op.n, k: op.k}
	g.base = newBase(g, "softmaxGrad", "", false, output.Shape(), output.Shape(), output.Shape())
	dx, err := apply(g, output, grad)
	return G.Nodes{dx}, err
}

type softmaxGradOp struct {
	base
	n, k int
}

func (op *softmaxGradOp) run(out []float32, in [][]float32) error {
	return op.kern.SoftmaxGrad(op.n, op.k, in[0], in[1], out)
}

// ntxentOp is the SimCLR NT-Xent loss of a [2m,2m] logit matrix.
type ntxentOp struct {
	base
	m int
}

// NTXentLoss returns the SimCLR (NT-Xent) loss of s [2m,2m], the temperature-scaled
// cosine similarities of the 2m views, where rows i and i+m are two views of one image:
// the mean over rows of the cross-entropy of the row (its diagonal masked out) against
// its partner column (i+m) mod 2m.
func NTXentLoss(s *G.Node) (*G.Node, error) {
	if err := checkFloat32("NT-Xent logits", s); err != nil {
		return nil, err
	}
	sh := s.Shape()
	if sh.Dims() != 2 || sh[0] != sh[1] || sh[0]%2 != 0 || sh[0] < 2 {
		return nil, fmt.Errorf("ntxent: logits must be [2m,2m] with m >= 1, got %v", sh)
	}
	op := &ntxentOp{m: sh[0] / 2}
	op.base = newBase(op, "ntxent", "", false, tensor.ScalarShape(), sh)
	return apply(op, s)
}

func (op *ntxentOp) run(out []float32, in [][]float32) error {
	return op.kern.NTXent(op.m, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *ntxentOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *ntxentOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &ntxentGradOp{m: op.m}
	g.base = newBase(g, "ntxentGrad", "", false, inputs[0].Shape(), inputs[0].Shape(), grad.Shape())
	ds, err := apply(g, inputs[0], grad)
	return G.Nodes{ds}, err
}

type ntxentGradOp struct {
	base
	m int
}

func (op *ntxentGradOp) run(out []float32, in [][]float32) error {
	return op.kern.NTXentGrad(op.m, in[1], in[0], out)
}

// l2NormOp normalizes the rows of [N,D] to unit length.
type l2NormOp struct {
	base
	n, d int
	eps  float32
}

// L2Normalize returns the rows of x [N,D] divided by their Euclidean norms,
// x·rsqrt(max(Σx², eps)) as TensorFlow's l2_normalize (eps 1e-12 there).
func L2Normalize(x *G.Node, eps float32) (*G.Node, error) {
	if err := checkFloat32("l2-normalize input", x); err != nil {
		return nil, err
	}
	if x.Shape().Dims() != 2 {
		return nil, fmt.Errorf("l2Normalize: input must be [N,D], got %v", x.Shape())
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("l2Normalize: epsilon %g must be positive", eps)
	}
	op := &l2NormOp{n: x.Shape()[0], d: x.Shape()[1], eps: eps}
	op.base = newBase(op, "l2Normalize", strconv.FormatFloat(float64(eps), 'g', -1, 32), false, x.Shape(), x.Shape())
	return apply(op, x)
}

func (op *l2NormOp) run(out []float32, in [][]float32) error {
	return op.kern.L2Normalize(op.n, op.d, op.eps, in[0], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *l2NormOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *l2NormOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &l2NormGradOp{n: op.n, d: op.d, eps: op.eps}
	s := output.Shape()
	g.base = newBase(g, "l2NormalizeGrad", op.params, false, s, s, s, s)
	dx, err := apply(g, inputs[0], output, grad)
	return G.Nodes{dx}, err
}

type l2NormGradOp struct {
	base
	n, d int
	eps  float32
}

func (op *l2NormGradOp) run(out []float32, in [][]float32) error {
	return op.kern.L2NormalizeGrad(op.n, op.d, op.eps, in[0], in[1], in[2], out)
}

// rowDotOp is out[i] = a[i,:]·b[i,:].
type rowDotOp struct {
	base
	n, d int
}

// RowDot returns the dot products of corresponding rows of a and b [N,D], shape [N]
// (the cosine similarities when the rows are L2-normalized).
func RowDot(a, b *G.Node) (*G.Node, error) {
	if err := checkFloat32("row-dot input 0", a); err != nil {
		return nil, err
	}
	if err := checkFloat32("row-dot input 1", b); err != nil {
		return nil, err
	}
	if a.Shape().Dims() != 2 || !sameShape(a.Shape(), b.Shape()) {
		return nil, fmt.Errorf("rowDot: inputs must both be [N,D], got %v and %v", a.Shape(), b.Shape())
	}
	op := &rowDotOp{n: a.Shape()[0], d: a.Shape()[1]}
	op.base = newBase(op, "rowDot", "", false, tensor.Shape{op.n}, a.Shape(), b.Shape())
	return apply(op, a, b)
}

func (op *rowDotOp) run(out []float32, in [][]float32) error {
	return op.kern.RowDot(op.n, op.d, in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *rowDotOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: da = dy ⊙rows b, db = dy ⊙rows a.
func (op *rowDotOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	da, err := RowScale(grad, inputs[1])
	if err != nil {
		return nil, err
	}
	db, err := RowScale(grad, inputs[0])
	return G.Nodes{da, db}, err
}

// rowScaleOp is y[i,:] = v[i]·x[i,:].
type rowScaleOp struct {
	base
	n, d int
}

// RowScale returns x [N,D] with row i multiplied by v[i], v of shape [N].
func RowScale(v, x *G.Node) (*G.Node, error) {
	if err := checkFloat32("row-scale factors", v); err != nil {
		return nil, err
	}
	if err := checkFloat32("row-scale input", x); err != nil {
		return nil, err
	}
	if x.Shape().Dims() != 2 || !sameShape(v.Shape(), tensor.Shape{x.Shape()[0]}) {
		return nil, fmt.Errorf("rowScale: want v [N] and x [N,D], got %v and %v", v.Shape(), x.Shape())
	}
	op := &rowScaleOp{n: x.Shape()[0], d: x.Shape()[1]}
	op.base = newBase(op, "rowScale", "", false, x.Shape(), tensor.Shape{op.n}, x.Shape())
	return apply(op, v, x)
}

func (op *rowScaleOp) run(out []float32, in [][]float32) error {
	return op.kern.RowScale(op.n, op.d, in[0], in[1], out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *rowScaleOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp: dv = rowDot(dy, x), dx = v ⊙rows dy.
func (op *rowScaleOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dv, err := RowDot(grad, inputs[1])
	if err != nil {
		return nil, err
	}
	dx, err := RowScale(inputs[0], grad)
	return G.Nodes{dv, dx}, err
}

// l2PenaltyOp is Σ_i coef_i·Σ w_i².
type l2PenaltyOp struct {
	base
	coefs []float32
}

// L2Penalty returns the scalar Σ_i coefs[i]·Σ ws[i]² (Keras' l2 kernel regularizer summed
// over the layers). Each weight's gradient is 2·coef·w.
func L2Penalty(ws []*G.Node, coefs []float32) (*G.Node, error) {
	if len(ws) == 0 || len(ws) != len(coefs) {
		return nil, fmt.Errorf("l2Penalty: %d weights and %d coefficients; want the same positive number", len(ws), len(coefs))
	}
	var shapes []tensor.Shape
	var desc []string
	for i, w := range ws {
		if err := checkFloat32(fmt.Sprintf("l2-penalty weight %d", i), w); err != nil {
			return nil, err
		}
		shapes = append(shapes, w.Shape())
		desc = append(desc, strconv.FormatFloat(float64(coefs[i]), 'g', -1, 32))
	}
	op := &l2PenaltyOp{coefs: append([]float32(nil), coefs...)}
	op.base = newBase(op, "l2Penalty", strings.Join(desc, ","), false, tensor.ScalarShape(), shapes...)
	return apply(op, ws...)
}

func (op *l2PenaltyOp) run(out []float32, in [][]float32) error {
	return op.kern.L2Penalty(op.coefs, in, out)
}

// DiffWRT implements gorgonia.SDOp.
func (op *l2PenaltyOp) DiffWRT(n int) []bool { return trues(n) }

// SymDiff implements gorgonia.SDOp.
func (op *l2PenaltyOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	res := make(G.Nodes, len(inputs))
	for i, w := range inputs {
		d, err := scaleBy(w, grad, 2*op.coefs[i])
		if err != nil {
			return nil, err
		}
		res[i] = d
	}
	return res, nil
}
