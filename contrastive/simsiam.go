package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// SimSiamTask is SimSiam (Chen and He 2021, "Exploring simple Siamese representation
// learning"): a predictor on one view's projection predicts the other view's projection,
// which is held fixed by a stop-gradient; the loss is the symmetric negative cosine
// similarity, D(p1, sg(z2))/2 + D(p2, sg(z1))/2 with D = -cos. No negatives and no
// momentum network: the stop-gradient alone keeps it from collapsing (watch
// embedding.Collapse). Build one with SimSiam.
type SimSiamTask struct{ base }

// SimSiam returns the SimSiam task. Defaults, solo-learn's CIFAR configuration
// (scripts/pretrain/cifar/simsiam.yaml, methods/simsiam.py):
//
//   - projector Dense(2048, no bias)-BN-ReLU-Dense(2048, no bias)-BN-ReLU-Dense(2048)-BN
//     without affine parameters (proj_hidden_dim 2048, proj_output_dim 2048; solo-learn
//     freezes the last Dense's bias, which the following batch norm cancels: it is left
//     out here); option Projector;
//   - predictor Dense(512, no bias)-BN-ReLU-Dense(2048), the paper's 512-wide bottleneck
//     (pred_hidden_dim 512); option Predictor;
//   - both views augment.SimCLRCIFAR() (solo-learn's symmetric_weak recipe without blur);
//     options Augment, AugmentViews.
func SimSiam(opts ...Option) *SimSiamTask {
	def := config{projHidden: 2048, projOut: 2048, predHidden: 512, views: both(augment.SimCLRCIFAR())}
	t := &SimSiamTask{newBase("SimSiam", def, optProjector|optPredictor, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("simsiam-proj%dx%d-pred%d-%s", c.projHidden, c.projOut, c.predHidden, t.augName())
	return t
}

// Head builds projector and predictor on each view and returns the symmetric negative
// cosine loss (in [-1, 1]; -1 when every prediction matches); there is no output node.
func (t *SimSiamTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	c := t.cfg
	proj := func(x *G.Node) *G.Node {
		return mlp(s.In("projector"), x, []layer{
			{units: c.projHidden, noBias: true, bn: affineBN, relu: true},
			{units: c.projHidden, noBias: true, bn: affineBN, relu: true},
			{units: c.projOut, noBias: true, bn: plainBN},
		})
	}
	pred := func(x *G.Node) *G.Node {
		return mlp(s.In("predictor"), x, []layer{{units: c.predHidden, noBias: true, bn: affineBN, relu: true}, {units: c.projOut}})
	}
	z1, z2 := perView(s, h.Features, proj)
	p1, p2 := pred(z1), pred(z2)
	l1 := nn.NegCosine(s, p1, nn.StopGradient(s, z2))
	l2 := nn.NegCosine(s, p2, nn.StopGradient(s, z1))
	return nn.Scale(s, nn.Add(s, l1, l2), 0.5), nil
}

var (
	_ ssl.PretextTask  = (*SimSiamTask)(nil)
	_ ssl.ShapeChecker = (*SimSiamTask)(nil)
)
