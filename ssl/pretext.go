package ssl

import (
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
)

// PretextTask is a self-supervised task: it turns unlabeled images into network inputs and
// targets (Prepare), and puts a head and a loss on the backbone's features (Head). The
// rotation task of package pretext, the contrastive methods and a caller's own task all
// implement it; see the package example for a complete task in a few dozen lines.
//
// The pipeline feeds a task batches of source images that are already scaled to [0, 1]
// and have the per-pixel mean image subtracted. Each source image becomes Views network
// inputs of the same shape. The network is the backbone, built in the scope "backbone",
// followed by the task's head, built in the scope "pretext"; after pretraining the head is
// dropped and the backbone is transferred.
//
// A task may also implement Scorer (pretraining then keeps the checkpoint with the best
// validation score) and ShapeChecker (to reject image shapes it cannot handle before any
// training starts).
type PretextTask interface {
	// Name identifies the task and its settings, e.g. "rotation-random". Reports record
	// it, and checkpoints written for one task are not resumed by another.
	Name() string
	// Views is the number of network inputs one source image becomes: 1 for a task that
	// transforms each image once (one random rotation), 4 for RotNet's four rotations,
	// 2 for two-view contrastive learning.
	Views() int
	// TargetShape is the shape of the targets for a batch of n network inputs, with n as
	// its first dimension (e.g. []int{n} for class indices), or nil for a task without
	// targets.
	TargetShape(n int) []int
	// Prepare writes the network inputs and targets of a batch of source images; see
	// Batch. All randomness must come from b.Rand, so that a seed fixes the run.
	Prepare(b *Batch) error
	// Head adds the head and the loss on top of features, the backbone's output [n, F]
	// for the n network inputs of a batch. targets is the node holding the targets of
	// TargetShape(n), nil when the task has none. It returns the scalar loss and the node
	// whose values Scorer.Score reads (logits, say). s is a training scope while
	// pretraining and an inference scope while validating; layers built in it share
	// their weights between the two. Errors are recorded in s (see nn.Scope).
	Head(s *nn.Scope, features, targets *G.Node) (loss, output *G.Node)
}

// Scorer is implemented by a PretextTask that can score its predictions, such as the
// accuracy of the rotation task. Pretraining then keeps the weights of the epoch with the
// best validation score; without a Scorer it keeps those of the lowest validation loss.
type Scorer interface {
	// Score returns the score, higher being better (an accuracy in [0, 1], say), of the
	// first n network inputs of a batch, given the values of the head's output node and
	// the targets Prepare wrote. Rows after the first n are padding and must be ignored.
	Score(output, targets []float32, n int) float64
}

// ShapeChecker is implemented by a PretextTask that only handles some image shapes (a
// rotation by 90 degrees needs square images). The pipeline calls CheckShape with the
// dataset's channels, height and width before any training starts.
type ShapeChecker interface {
	CheckShape(c, h, w int) error
}

// Batch is one batch of pretext work: N source images in, N*Views network inputs and
// their targets out. The buffers belong to the pipeline and are reused between batches.
type Batch struct {
	// N is the number of source images; C, H and W their shape.
	N, C, H, W int
	// Views is the task's Views().
	Views int
	// Images holds the N source images, NCHW, scaled to [0, 1] with the per-pixel mean
	// image subtracted. Prepare may read it but not keep it.
	Images []float32
	// Inputs receives the N*Views network inputs, NCHW, view-major: input v*N+i is view v
	// of image i (Input(v, i)), so that the features of view v are rows v*N .. v*N+N-1.
	Inputs []float32
	// Targets receives the targets, laid out as TargetShape(N*Views); nil when the task
	// has none.
	Targets []float32
	// Rand is the seeded source of all randomness (which rotation, which crop).
	Rand *rand.Rand
	// Training is true for a training batch and false for a validation batch (whose
	// randomness is drawn from the same seed at every epoch).
	Training bool
}

// Image returns source image i as C*H*W values (CHW).
func (b *Batch) Image(i int) []float32 {
	n := b.C * b.H * b.W
	return b.Images[i*n : (i+1)*n]
}

// Input returns network input v*N+i, view v of image i, as C*H*W values to write.
func (b *Batch) Input(v, i int) []float32 {
	n := b.C * b.H * b.W
	k := v*b.N + i
	return b.Inputs[k*n : (k+1)*n]
}

// Accuracy returns the fraction of the first n rows of logits (row-major, one row per
// label) whose largest value is at the index labels holds for that row. The number of
// classes is len(logits)/len(labels). It returns 0 for n <= 0.
func Accuracy(logits, labels []float32, n int) float64 {
	if n <= 0 || len(labels) == 0 {
		return 0
	}
	n = min(n, len(labels))
	k := len(logits) / len(labels)
	correct := 0
	for i := 0; i < n; i++ {
		if argmax(logits[i*k:(i+1)*k]) == int(labels[i]) {
			correct++
		}
	}
	return float64(correct) / float64(n)
}

// argmax returns the index of the largest value (the first one on ties).
func argmax(row []float32) int {
	best := 0
	for j, x := range row {
		if x > row[best] {
			best = j
		}
	}
	return best
}
