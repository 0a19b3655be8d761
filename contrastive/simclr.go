package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// SimCLRTask is SimCLR (Chen et al. 2020, "A simple framework for contrastive learning of
// visual representations"): two augmented views of each image go through the backbone
// and a projector, and the NT-Xent loss pulls the two projections of an image together
// and pushes them away from the other 2N-2 projections of the batch. Build one with
// SimCLR.
type SimCLRTask struct{ base }

// SimCLR returns the SimCLR task. Defaults, for CIFAR-10:
//
//   - projector Dense(2048)-BN-ReLU-Dense(256): solo-learn's CIFAR widths (proj_hidden_dim
//     2048, proj_output_dim 256) with the batch norm of the SimCLR code and of lightly's
//     SimCLRProjectionHead (solo-learn's SimCLR projector has none); option Projector;
//   - temperature 0.2, solo-learn's CIFAR setting (the SimCLR paper's CIFAR-10 runs and
//     the seed's Keras STL-10 example use 0.1, lightly's default 0.5); option Temperature;
//   - both views augment.SimCLRCIFAR(); options Augment, AugmentViews (augment.SimCLRSTL10()
//     for 96×96 STL-10).
func SimCLR(opts ...Option) *SimCLRTask {
	def := config{temperature: 0.2, projHidden: 2048, projOut: 256, views: both(augment.SimCLRCIFAR())}
	t := &SimCLRTask{newBase("SimCLR", def, optTemperature|optProjector, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("simclr-t%g-proj%dx%d-%s", c.temperature, c.projHidden, c.projOut, t.augName())
	return t
}

// Head projects each view (the same projector, batch statistics per view) and returns
// the NT-Xent loss of the two projections; there is no output node.
func (t *SimCLRTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	z1, z2 := perView(s, h.Features, func(x *G.Node) *G.Node {
		return mlp(s.In("projector"), x, []layer{{units: t.cfg.projHidden, bn: affineBN, relu: true}, {units: t.cfg.projOut}})
	})
	return nn.NTXent(s, z1, z2, t.cfg.temperature), nil
}

// both returns a pair of the same augmentation.
func both(a ssl.Augmentation) [2]ssl.Augmentation { return [2]ssl.Augmentation{a, a} }

var (
	_ ssl.PretextTask  = (*SimCLRTask)(nil)
	_ ssl.ShapeChecker = (*SimCLRTask)(nil)
)
