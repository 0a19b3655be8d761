package nn

import (
	"errors"
	"fmt"

	"github.com/selfsup/selfsup/internal/ops"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// l2Eps is TensorFlow's default epsilon of l2_normalize.
const l2Eps = 1e-12

// SoftmaxCrossEntropy is the mean over the batch of the softmax cross-entropy of logits
// [N,K] against labels [N], class indices 0..K-1 stored as float32 (feed them through a
// float32 input node). It is numerically stable (log-sum-exp); a label that is not a
// class index makes the run fail with an error naming the row.
func SoftmaxCrossEntropy(s *Scope, logits, labels *G.Node) *G.Node {
	if s.Failed(logits, labels) {
		return nil
	}
	y, err := ops.SoftmaxCrossEntropy(logits, labels)
	return done(s, y, err)
}

// Softmax is the row-wise softmax of logits [N,K] (class probabilities).
func Softmax(s *Scope, logits *G.Node) *G.Node {
	if s.Failed(logits) {
		return nil
	}
	y, err := ops.Softmax(logits)
	return done(s, y, err)
}

// L2Normalize divides each row of x [N,D] by its Euclidean norm (TensorFlow's
// l2_normalize with epsilon 1e-12: a zero row stays zero).
func L2Normalize(s *Scope, x *G.Node) *G.Node {
	if s.Failed(x) {
		return nil
	}
	y, err := ops.L2Normalize(x, l2Eps)
	return done(s, y, err)
}

// CosineSimilarity is the cosine similarity of corresponding rows of a and b [N,D], shape [N].
func CosineSimilarity(s *Scope, a, b *G.Node) *G.Node {
	na, nb := L2Normalize(s, a), L2Normalize(s, b)
	if s.Failed(na, nb) {
		return nil
	}
	y, err := ops.RowDot(na, nb)
	return done(s, y, err)
}

// NegCosine is SimSiam's D(p, z) = -mean_i cos(p_i, z_i), a scalar. It does not stop
// the gradient itself: SimSiam's loss is
// Add(s, Scale(s, NegCosine(s, p1, StopGradient(s, z2)), 0.5), Scale(s, NegCosine(s, p2, StopGradient(s, z1)), 0.5)).
func NegCosine(s *Scope, p, z *G.Node) *G.Node {
	return Scale(s, Mean(s, CosineSimilarity(s, p, z)), -1)
}

// NTXent is SimCLR's normalized temperature-scaled cross-entropy of two views z1, z2
// [N,D] of the same N images: the rows are L2-normalized and stacked into 2N, every row
// is scored against the other 2N-1 by cosine similarity / temperature, and the loss is
// the mean cross-entropy of finding the other view of the same image (row i±N).
func NTXent(s *Scope, z1, z2 *G.Node, temperature float32) *G.Node {
	if s.Failed(z1, z2) {
		return nil
	}
	if !(temperature > 0) {
		return done(s, nil, fmt.Errorf("NTXent: temperature %g must be positive", temperature))
	}
	if !z1.Shape().Eq(z2.Shape()) {
		return done(s, nil, fmt.Errorf("NTXent: views have shapes %v and %v", z1.Shape(), z2.Shape()))
	}
	z := Concat(s, L2Normalize(s, z1), L2Normalize(s, z2))
	sim := Similarity(s, z, z, 1/temperature)
	if s.Failed(sim) {
		return nil
	}
	y, err := ops.NTXentLoss(sim)
	return done(s, y, err)
}

// L2Penalty is Σ coef·Σ w² over the parameters of this scope's graph that carry an L2
// coefficient (set by the L2 option), to be added to the loss as Keras adds its
// kernel regularizers. Parameters of the Params that this graph does not use are left
// out. With none it is a constant 0.
//
// Add it in a training loop of your own. Do not add it in a pretext task's Head or any other
// loss the ssl pipeline trains: the pipeline adds this penalty itself, and a second copy
// doubles it (see the package documentation).
func L2Penalty(s *Scope) *G.Node {
	if s.Failed() {
		return nil
	}
	var ws []*G.Node
	var coefs []float32
	for _, p := range s.params.All() {
		if p.L2 <= 0 {
			continue
		}
		if n, ok := s.shared.nodes[p]; ok {
			ws = append(ws, n)
			coefs = append(coefs, p.L2)
		}
	}
	if len(ws) == 0 {
		return G.NewConstant(float32(0), G.In(s.graph), G.WithName("l2_penalty_zero"))
	}
	y, err := ops.L2Penalty(ws, coefs)
	return done(s, y, err)
}

// Argmax returns the index of the largest value in each row of a [N,K] float32 value
// (the predicted classes of a logits or Softmax node after a run).
func Argmax(v G.Value) ([]int, error) {
	t, ok := v.(*tensor.Dense)
	if !ok || t.Dtype() != tensor.Float32 || t.Shape().Dims() != 2 {
		return nil, errors.New("nn.Argmax: want a float32 [N,K] tensor")
	}
	n, k := t.Shape()[0], t.Shape()[1]
	d := t.Float32s()
	out := make([]int, n)
	for i := range out {
		row := d[i*k : (i+1)*k]
		best := 0
		for j, x := range row {
			if x > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out, nil
}
