package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// VICRegTask is VICReg (Bardes et al. 2022, "VICReg: variance-invariance-covariance
// regularization for self-supervised learning"): the projections of the two views are
// pulled together (invariance, a mean squared error), each dimension is kept spread over
// the batch (variance, a hinge on its standard deviation) and the dimensions are
// decorrelated (covariance). No negatives, no momentum network. Build one with VICReg.
type VICRegTask struct{ base }

// VICReg returns the VICReg task. Defaults, solo-learn's CIFAR configuration
// (scripts/pretrain/cifar/vicreg.yaml, methods/vicreg.py):
//
//   - projector Dense(2048)-BN-ReLU-Dense(2048)-BN-ReLU-Dense(2048) (the paper uses 8192
//     on ImageNet); option Projector;
//   - weights 25 (invariance), 25 (variance), 1 (covariance), the paper's and
//     solo-learn's; option VICRegWeights;
//   - both views VICRegCIFAR(), the recipe of solo-learn's vicreg.yaml; options Augment,
//     AugmentViews.
func VICReg(opts ...Option) *VICRegTask {
	def := config{projHidden: 2048, projOut: 2048, simW: 25, varW: 25, covW: 1, views: both(VICRegCIFAR())}
	t := &VICRegTask{newBase("VICReg", def, optProjector|optVICRegWeights, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("vicreg-w%g-%g-%g-proj%dx%d-%s", c.simW, c.varW, c.covW, c.projHidden, c.projOut, t.augName())
	return t
}

// VICRegCIFAR is the augmentation of solo-learn's VICReg CIFAR configuration, the same
// for both views: RandomResizedCrop(scale 0.2–1, ratio 3/4–4/3), ColorJitter(0.4, 0.4,
// 0.2, 0.1) with probability 0.8, RandomGrayscale(0.2), Solarize(0.5) with probability
// 0.1, HorizontalFlip(0.5); no blur. It needs RGB images. Its Name starts with
// "vicreg-cifar: ".
func VICRegCIFAR() ssl.Augmentation {
	p, err := augment.Compose(
		augment.RandomResizedCrop([2]float64{0.2, 1}, [2]float64{3.0 / 4, 4.0 / 3}),
		augment.ColorJitter(0.4, 0.4, 0.2, 0.1, 0.8),
		augment.RandomGrayscale(0.2),
		augment.Solarize(0.5, 0.1),
		augment.HorizontalFlip(0.5))
	if err != nil {
		panic(err) // constant, valid arguments
	}
	return labeled{p, "vicreg-cifar"}
}

// labeled is an augmentation named as the presets of package augment are: a label, a
// colon, and the transforms.
type labeled struct {
	ssl.Augmentation
	label string
}

func (l labeled) Name() string { return l.label + ": " + l.Augmentation.Name() }

// Head projects each view and returns VICRegLoss(z1, z2, sim, var, cov); there is no
// output node.
func (t *VICRegTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	c := t.cfg
	z1, z2 := perView(s, h.Features, func(x *G.Node) *G.Node { return threeLayerProjector(s.In("projector"), x, c) })
	return nn.VICRegLoss(s, z1, z2, c.simW, c.varW, c.covW), nil
}

var (
	_ ssl.PretextTask  = (*VICRegTask)(nil)
	_ ssl.ShapeChecker = (*VICRegTask)(nil)
)
