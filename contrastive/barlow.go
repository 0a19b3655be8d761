package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// BarlowTwinsTask is Barlow Twins (Zbontar et al. 2021, "Barlow Twins: self-supervised
// learning via redundancy reduction"): the projections of the two views are standardised
// per dimension over the batch, and their cross-correlation matrix is pushed towards the
// identity: diagonal 1 (invariance to the augmentations), off-diagonal 0 (each dimension
// carries different information). No negatives, no momentum network, no stop-gradient.
// Build one with BarlowTwins.
type BarlowTwinsTask struct{ base }

// BarlowTwins returns the Barlow Twins task. Defaults, solo-learn's CIFAR configuration
// (scripts/pretrain/cifar/barlow.yaml, methods/barlow_twins.py):
//
//   - projector Dense(2048)-BN-ReLU-Dense(2048)-BN-ReLU-Dense(2048) (proj_hidden_dim
//     2048, proj_output_dim 2048; the paper uses 8192 on ImageNet); option Projector;
//   - lambda 0.0051, the paper's and solo-learn's default (method_kwargs.lamb); option
//     Lambda;
//   - loss scale 0.1: solo-learn's CIFAR file sets scale_loss 0.1 (its code's default
//     is 0.024; the paper's loss is unscaled, which is LossScale(1)); the scale only
//     rescales the gradients, like the learning rate; option LossScale;
//   - views augment.BYOLCIFAR() (solo-learn's asymmetric recipe); options Augment,
//     AugmentViews.
func BarlowTwins(opts ...Option) *BarlowTwinsTask {
	v1, v2 := augment.BYOLCIFAR()
	def := config{projHidden: 2048, projOut: 2048, lambda: 0.0051, scale: 0.1, views: [2]ssl.Augmentation{v1, v2}}
	t := &BarlowTwinsTask{newBase("BarlowTwins", def, optProjector|optLambda|optLossScale, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("barlowtwins-l%g-s%g-proj%dx%d-%s", c.lambda, c.scale, c.projHidden, c.projOut, t.augName())
	return t
}

// Head projects each view and returns scale·BarlowTwinsLoss(z1, z2, lambda); there is no
// output node.
func (t *BarlowTwinsTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	c := t.cfg
	z1, z2 := perView(s, h.Features, func(x *G.Node) *G.Node { return threeLayerProjector(s.In("projector"), x, c) })
	return nn.Scale(s, nn.BarlowTwinsLoss(s, z1, z2, c.lambda), c.scale), nil
}

// threeLayerProjector is the projector of Barlow Twins and VICReg:
// Dense(hidden)-BN-ReLU-Dense(hidden)-BN-ReLU-Dense(out).
func threeLayerProjector(s *nn.Scope, x *G.Node, c config) *G.Node {
	return mlp(s, x, []layer{
		{units: c.projHidden, bn: affineBN, relu: true},
		{units: c.projHidden, bn: affineBN, relu: true},
		{units: c.projOut},
	})
}

var (
	_ ssl.PretextTask  = (*BarlowTwinsTask)(nil)
	_ ssl.ShapeChecker = (*BarlowTwinsTask)(nil)
)
