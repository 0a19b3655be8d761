package pretext

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// RotationTask predicts by how much an image was rotated: 0, 90, 180 or 270 degrees
// counter-clockwise, the pseudo-labels 0, 1, 2, 3 (Gidaris et al., "Unsupervised
// representation learning by predicting image rotations", 2018). Its head is
// Dense(4, he_normal) on the backbone's features with a softmax cross-entropy loss, and
// its score is the accuracy of the predicted rotation. Build one with Rotation.
type RotationTask struct {
	all bool
}

// Option configures a task of this package; Rotation takes AllRotations and
// RandomRotation. (No option value can be invalid, so Rotation returns no error; a nil
// Option is skipped.)
type Option func(*RotationTask)

// AllRotations feeds every image in all four rotations in each batch, as the RotNet paper
// does: a batch of B images becomes 4B network inputs.
func AllRotations() Option { return func(t *RotationTask) { t.all = true } }

// RandomRotation feeds each image once per epoch, rotated by a rotation drawn at random
// (the seed's setting, and the default).
func RandomRotation() Option { return func(t *RotationTask) { t.all = false } }

// Rotation returns the rotation-prediction task, by default with one random rotation per
// image per epoch (RandomRotation); AllRotations selects RotNet's four.
func Rotation(opts ...Option) *RotationTask {
	t := &RotationTask{}
	for _, o := range opts {
		if o != nil {
			o(t)
		}
	}
	return t
}

// Name is "rotation-random" or "rotation-all".
func (t *RotationTask) Name() string {
	if t.all {
		return "rotation-all"
	}
	return "rotation-random"
}

// Views is 4 with AllRotations, 1 otherwise.
func (t *RotationTask) Views() int {
	if t.all {
		return 4
	}
	return 1
}

// TargetShape is [n]: one rotation index per network input.
func (t *RotationTask) TargetShape(n int) []int { return []int{n} }

// CheckShape requires square images, which a quarter turn maps onto themselves.
func (t *RotationTask) CheckShape(c, h, w int) error {
	if h != w {
		return fmt.Errorf("rotation by 90 degrees needs square images, got %dx%d (height x width)", h, w)
	}
	return nil
}

// Prepare writes the rotated, centred images and their rotation indices: with
// AllRotations view k of every image is its rotation by k quarter turns, otherwise each
// image gets a rotation drawn from b.Rand. The image is centred before it is turned, as
// the seed does (the rotated image minus the rotated mean image, Batch.ImageMean).
func (t *RotationTask) Prepare(b *ssl.Batch) error {
	if b.H != b.W {
		return t.CheckShape(b.C, b.H, b.W)
	}
	per := b.C * b.H * b.W
	if len(b.Mean) != per {
		return fmt.Errorf("rotation: the mean image has %d values, want %d", len(b.Mean), per)
	}
	// The turned mean images: one per rotation, or, when the pipeline augmented the
	// images (Batch.Means), each image's own, turned into scratch.
	var means [4][]float32
	var scratch []float32
	if b.Means != nil {
		scratch = make([]float32, per)
	}
	for v := 0; v < b.Views; v++ {
		for i := 0; i < b.N; i++ {
			k := v
			if !t.all {
				k = b.Rand.IntN(4)
			}
			var m []float32
			if scratch != nil {
				Rotate(scratch, b.ImageMean(i), b.C, b.H, k)
				m = scratch
			} else {
				if means[k] == nil {
					means[k] = make([]float32, per)
					Rotate(means[k], b.Mean, b.C, b.H, k)
				}
				m = means[k]
			}
			dst := b.Input(v, i)
			Rotate(dst, b.Image(i), b.C, b.H, k)
			for j := range m {
				dst[j] -= m[j]
			}
			b.Targets[v*b.N+i] = float32(k)
		}
	}
	return nil
}

// Head is Dense(4, he_normal) in the scope "rotation" with a softmax cross-entropy loss;
// the output is the logits.
func (t *RotationTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	logits := nn.Dense(s.In("rotation"), h.Features, 4, nn.Init(nn.HeNormal))
	return nn.SoftmaxCrossEntropy(s, logits, h.Targets), logits
}

// Score is the accuracy of the predicted rotations of the batch's real images.
func (t *RotationTask) Score(output, targets []float32, g ssl.Geometry) float64 {
	return ssl.Accuracy(output, targets, g)
}

// Rotate writes into dst the image src (c planes of size×size, CHW) rotated by k quarter
// turns counter-clockwise (k taken modulo 4), as numpy.rot90(img, k) does on each plane:
// for k = 1 the top row becomes the left column, read bottom-up. dst and src must not
// overlap.
func Rotate(dst, src []float32, c, size, k int) {
	k = ((k % 4) + 4) % 4
	n := size * size
	last := size - 1
	for ch := 0; ch < c; ch++ {
		s, d := src[ch*n:(ch+1)*n], dst[ch*n:(ch+1)*n]
		switch k {
		case 0:
			copy(d, s)
		case 1:
			// out[y][x] = in[x][last-y]
			for y := 0; y < size; y++ {
				row := d[y*size : (y+1)*size]
				for x := range row {
					row[x] = s[x*size+last-y]
				}
			}
		case 2:
			// out[y][x] = in[last-y][last-x]
			for i := 0; i < n; i++ {
				d[i] = s[n-1-i]
			}
		case 3:
			// out[y][x] = in[last-x][y]
			for y := 0; y < size; y++ {
				row := d[y*size : (y+1)*size]
				for x := range row {
					row[x] = s[(last-x)*size+y]
				}
			}
		}
	}
}

var (
	_ ssl.PretextTask  = (*RotationTask)(nil)
	_ ssl.Scorer       = (*RotationTask)(nil)
	_ ssl.ShapeChecker = (*RotationTask)(nil)
)
