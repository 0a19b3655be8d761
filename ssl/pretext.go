package ssl

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
)

// PretextTask is a self-supervised task: it turns batches of source images into network
// inputs and targets (Prepare), and puts a head and a loss on the backbone (Head).
// Rotation prediction (package pretext), the contrastive methods (package contrastive)
// and a caller's own task implement it; the package documentation walks through one.
//
// The pipeline hands Prepare raw source images in [0, 1] with their labels, and the
// per-pixel mean image; the task makes its views (rotating, cropping, colour jittering
// on raw pixels), subtracts the mean (Batch.Normalize) and writes them, view-major, as
// network inputs. The network is the backbone, built in the scope "backbone" on the
// inputs, followed by the task's head, built in the scope "pretext"; after pretraining
// the head is dropped and the backbone is transferred.
//
// Optional interfaces extend a task: Scorer (pretraining keeps the epoch with the best
// validation score), ShapeChecker and DataChecker (reject data the task cannot handle
// before any training), ParamsInitializer (set up state such as a momentum target once
// the network is built) and StepHook (update state after every optimizer step: EMA
// targets, queues).
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
	// Batch. All randomness must come from b.Rand, so that a seed fixes the run. Prepare
	// of the next batch may run while the previous optimizer step (and AfterStep) is
	// still running: it must not read state that AfterStep writes.
	Prepare(b *Batch) error
	// Head adds the head and the loss; see HeadInput. It returns the scalar loss and the
	// node whose values Scorer.Score reads (logits, say; nil when there is none). Errors
	// are recorded in h.Scope (see nn.Scope). The loss is the task loss alone: the
	// pipeline adds nn.L2Penalty (the layers' L2 terms) to it before differentiating, so a
	// Head that adds the penalty too counts it twice.
	Head(h *HeadInput) (loss, output *G.Node)
}

// HeadInput is what a task's head is built from: the backbone's features, the network's
// input and the backbone itself (so that a task can build a second network on the same
// input, such as the momentum target of BYOL or MoCo), the targets, and the batch
// geometry. Head is called once for the training graph and once for the validation
// graph of a stage; layers built in Scope share their weights between the two.
type HeadInput struct {
	// Scope is the scope "pretext": a training scope while pretraining and an inference
	// scope while validating. A task builds a second network that the optimizer must not
	// update in Scope.In(name).Frozen().
	Scope *nn.Scope
	// Features is the backbone's output [N*Views, F]: rows v*N .. v*N+N-1 are view v of
	// the N source images (nn.SplitRows gives the views).
	Features *G.Node
	// Input is the network input [N*Views, C, H, W] as Prepare wrote it.
	Input *G.Node
	// Targets holds the targets of TargetShape(N*Views), nil when the task has none.
	Targets *G.Node
	// Backbone is the architecture being pretrained.
	Backbone Backbone
	// N is the number of source images per batch and Views the task's Views().
	N, Views int

	exposed map[string]*G.Node
}

// Expose makes the value of node n readable after every training step as
// StepInfo.Value(name): the projections a queue is filled with, say. Exposing the same
// name twice keeps the last node.
func (h *HeadInput) Expose(name string, n *G.Node) {
	if n == nil {
		h.Scope.Fail(fmt.Errorf("Expose(%q): nil node", name))
		return
	}
	if h.exposed == nil {
		h.exposed = map[string]*G.Node{}
	}
	h.exposed[name] = n
}

// BuildBackbone builds another copy of the backbone on the network input in scope s, for
// a target network (BYOL, MoCo): in s.Frozen() its parameters are not trained and a
// StepHook updates them. It returns the features [N*Views, F].
func (h *HeadInput) BuildBackbone(s *nn.Scope) *G.Node {
	return h.Backbone.Build(s, h.Input)
}

// Geometry is the layout of a batch's rows: N source images per batch, each giving Views
// network inputs, view-major (row v*N+i is view v of image i). Only the first Valid
// source images are real: a partial last validation batch is filled up to N with copies
// of its real images, so the layout a head relies on never changes, and scores must
// count rows v*N+i with i < Valid only.
type Geometry struct {
	N, Views, Valid int
}

// Real reports whether network input row r is a real image (not padding).
func (g Geometry) Real(r int) bool { return g.N > 0 && r%g.N < g.Valid }

// Scorer is implemented by a PretextTask that can score its predictions, such as the
// accuracy of the rotation task. Pretraining then keeps the weights of the epoch with the
// best validation score; without a Scorer it keeps those of the lowest validation loss.
type Scorer interface {
	// Score returns the score of one batch, higher being better (an accuracy in [0, 1],
	// say), over its real rows (see Geometry), given the values of the head's output node
	// and the targets Prepare wrote. The pipeline weights it by g.Valid source images.
	Score(output, targets []float32, g Geometry) float64
}

// ShapeChecker is implemented by a PretextTask that only handles some image shapes (a
// rotation by 90 degrees needs square images). The pipeline calls CheckShape with the
// dataset's channels, height and width before any training starts.
type ShapeChecker interface {
	CheckShape(c, h, w int) error
}

// DataChecker is implemented by a PretextTask that needs something of the pretraining
// images, such as labels for supervised contrastive learning. The pipeline calls
// CheckData with the pretraining dataset before any training starts.
type DataChecker interface {
	CheckData(ds Dataset) error
}

// ParamsInitializer is implemented by a task with state to set up once its network is
// built, such as a momentum target that starts as a copy of the online network. The
// pipeline calls InitParams with every parameter of the pretext network ("backbone/...",
// "pretext/...") after building it and before the first step of a fresh run (not when
// resuming: a checkpoint restores the state).
type ParamsInitializer interface {
	InitParams(ps *nn.Params) error
}

// StepHook is implemented by a task that updates state after every optimizer step: an
// exponential moving average of the online weights into a target network (BYOL, MoCo),
// the support set of NNCLR, the negative queue of MoCo. State the hook writes into
// non-trainable parameters is saved with the pretraining checkpoints.
type StepHook interface {
	AfterStep(s *StepInfo) error
}

// StepInfo is what StepHook.AfterStep sees after a training step.
type StepInfo struct {
	// Params holds every parameter of the pretext network, updated by the step.
	Params *nn.Params
	// Epoch is the 0-based epoch of Epochs.
	Epoch, Epochs int
	// Step counts the optimizer steps taken so far (this one included) and Steps those
	// the stage will take in all; BYOL's cosine momentum schedule reads Step/Steps.
	Step, Steps int64
	// Geometry is the batch's layout.
	Geometry Geometry

	value func(name string) ([]float32, error)
}

// Value returns the values, after this step, of the node the head exposed as name
// (HeadInput.Expose). The slice aliases the executor's memory: copy what must outlive
// the call.
func (s *StepInfo) Value(name string) ([]float32, error) {
	if s.value == nil {
		return nil, fmt.Errorf("ssl: StepInfo.Value(%q): nothing is exposed", name)
	}
	return s.value(name)
}

// Batch is one batch of pretext work: N source images in, N*Views network inputs and
// their targets out. The buffers belong to the pipeline and are reused between batches.
type Batch struct {
	// N is the number of source images; C, H and W their shape.
	N, C, H, W int
	// Views is the task's Views().
	Views int
	// Valid is the number of real source images: images Valid..N-1 are copies that pad
	// a partial last validation batch (their outputs are ignored).
	Valid int
	// Images holds the N source images, NCHW, raw pixels scaled to [0, 1] (after the
	// pipeline's Augment option, if any). Prepare may read or modify it but not keep it.
	Images []float32
	// Labels holds the N labels of the source images, NoLabel for an unlabeled image.
	Labels []int
	// Mean is the per-pixel mean image (C*H*W) of the pretraining images, which
	// Normalize subtracts: the network's inputs are centred images, as downstream.
	Mean []float32
	// Means is nil unless the pipeline's Augment option transformed the images; it then
	// holds, for each of the N source images, the mean image transformed along with it
	// (the same draws), and ImageMean returns it. Centring with it makes an augmented
	// image exactly the augmentation of the centred image for the geometric transforms
	// (shifts, crops, flips): the pixels a shift or a crop fills in carry no trace of the
	// mean image, whose layout (a brighter sky at the top) would otherwise tell a task
	// like rotation prediction which way the image was turned.
	Means []float32
	// Inputs receives the N*Views network inputs, NCHW, view-major: input v*N+i is view v
	// of image i (Input(v, i)), so that the features of view v are rows v*N .. v*N+N-1.
	Inputs []float32
	// Targets receives the targets, laid out as TargetShape(N*Views); nil when the task
	// has none.
	Targets []float32
	// Rand is the seeded source of all randomness (which rotation, which crop): a
	// math/rand/v2 generator derived from the pipeline's seed, the epoch and the stage.
	Rand *rand.Rand
	// Training is true for a training batch and false for a validation batch (whose
	// randomness is drawn from the same seed at every epoch).
	Training bool
}

// Image returns source image i as C*H*W raw values (CHW).
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

// View returns the network inputs of view v, N images of C*H*W values.
func (b *Batch) View(v int) []float32 {
	n := b.N * b.C * b.H * b.W
	return b.Inputs[v*n : (v+1)*n]
}

// Geometry is the batch's layout.
func (b *Batch) Geometry() Geometry { return Geometry{N: b.N, Views: b.Views, Valid: b.Valid} }

// ImageMean returns the mean image to subtract from source image i (and its views):
// Means' image i when the pipeline augmented the images, Mean otherwise.
func (b *Batch) ImageMean(i int) []float32 {
	if b.Means == nil {
		return b.Mean
	}
	per := len(b.Mean)
	return b.Means[i*per : (i+1)*per]
}

// NormalizeImage subtracts ImageMean(i) from img, one C*H*W-value image made from source
// image i, in place: what turns raw pixels into a network input.
func (b *Batch) NormalizeImage(i int, img []float32) {
	m := b.ImageMean(i)
	for j := range m {
		img[j] -= m[j]
	}
}

// Normalize centres the images of imgs in place, image k with ImageMean(k % N): pass a
// whole view (N images, one per source image in order) or several views. For a single
// image use NormalizeImage.
func (b *Batch) Normalize(imgs []float32) {
	if b.Means == nil {
		subtractMean(imgs, b.Mean)
		return
	}
	per := len(b.Mean)
	for k := 0; (k+1)*per <= len(imgs); k++ {
		b.NormalizeImage(k%b.N, imgs[k*per:(k+1)*per])
	}
}

// Accuracy returns the fraction of real rows (see Geometry) of logits (row-major, one
// row per label) whose largest value is at the index labels holds for that row. The
// number of classes is len(logits)/len(labels). It returns 0 when no row is real.
func Accuracy(logits, labels []float32, g Geometry) float64 {
	rows := min(g.N*g.Views, len(labels))
	if rows <= 0 || g.Valid <= 0 {
		return 0
	}
	k := len(logits) / len(labels)
	correct, total := 0, 0
	for r := 0; r < rows; r++ {
		if !g.Real(r) {
			continue
		}
		total++
		if argmax(logits[r*k:(r+1)*k]) == int(labels[r]) {
			correct++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(correct) / float64(total)
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
