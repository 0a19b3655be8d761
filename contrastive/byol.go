package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// BYOLTask is BYOL (Grill et al. 2020, "Bootstrap your own latent"): an online network
// (backbone, projector, predictor) predicts the projection that a target network
// (a copy of backbone and projector) gives the other view; the loss is 2 - 2·cos
// between the prediction and the target projection, summed over both directions, and
// only the online network is trained. After every step the target moves towards the
// online weights by an exponential moving average whose momentum rises from 0.99 to 1
// (Tau). Build one with BYOL.
//
// The target lives in the frozen scope TargetScope ("pretext/target"): its backbone,
// built by HeadInput.BuildBackbone on the same input, is "pretext/target/backbone/...",
// its projector "pretext/target/projector/..."; the pipeline's checkpoints carry it.
type BYOLTask struct {
	base
	m momentum
}

// BYOL returns the BYOL task. Defaults, solo-learn's CIFAR configuration
// (scripts/pretrain/cifar/byol.yaml, methods/byol.py):
//
//   - projector Dense(4096)-BN-ReLU-Dense(256) (proj_hidden_dim 4096, proj_output_dim
//     256, as the paper); option Projector;
//   - predictor Dense(4096)-BN-ReLU-Dense(256) (pred_hidden_dim 4096); option Predictor;
//   - momentum from 0.99 to 1.0 over the training on a cosine (base_tau 0.99, final_tau
//     1.0; the paper uses 0.996 on ImageNet); option Momentum;
//   - views augment.BYOLCIFAR() (the first view without, the second with solarization);
//     options Augment, AugmentViews.
func BYOL(opts ...Option) *BYOLTask {
	v1, v2 := augment.BYOLCIFAR()
	def := config{projHidden: 4096, projOut: 256, predHidden: 4096, tauBase: 0.99, tauFinal: 1, views: [2]ssl.Augmentation{v1, v2}}
	t := &BYOLTask{base: newBase("BYOL", def, optProjector|optPredictor|optMomentum, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("byol-tau%g-%g-proj%dx%d-pred%d-%s", c.tauBase, c.tauFinal, c.projHidden, c.projOut, c.predHidden, t.augName())
	return t
}

// byolMLP is BYOL's projector and predictor: Dense(hidden)-BN-ReLU-Dense(out).
func byolMLP(s *nn.Scope, x *G.Node, hidden, out int) *G.Node {
	return mlp(s, x, []layer{{units: hidden, bn: affineBN, relu: true}, {units: out}})
}

// Head builds the online projector and predictor on each view, and the target backbone
// and projector in TargetScope, and returns
//
//	loss = (2 - 2·mean cos(p1, sg(z'2))) + (2 - 2·mean cos(p2, sg(z'1)))
//
// with p the online predictions and z' the target projections (solo-learn's
// byol_loss_func summed over both directions, so in [0, 8]); there is no output node.
func (t *BYOLTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	c := t.cfg
	z1, z2 := perView(s, h.Features, func(x *G.Node) *G.Node { return byolMLP(s.In("projector"), x, c.projHidden, c.projOut) })
	pred := func(x *G.Node) *G.Node { return byolMLP(s.In("predictor"), x, c.predHidden, c.projOut) }
	p1, p2 := pred(z1), pred(z2)
	tz1, tz2 := targetProjections(h, func(ts *nn.Scope, x *G.Node) *G.Node { return byolMLP(ts, x, c.projHidden, c.projOut) })
	neg := nn.Add(s, nn.NegCosine(s, p1, tz2), nn.NegCosine(s, p2, tz1))
	four := G.NewConstant(float32(4), G.In(s.Graph()), G.WithName("byol_4"))
	return nn.Add(s, nn.Scale(s, neg, 2), four), nil
}

// targetProjections builds the target (momentum) backbone and projector in the frozen
// TargetScope and returns the projections of each view, behind a stop-gradient.
func targetProjections(h *ssl.HeadInput, proj func(*nn.Scope, *G.Node) *G.Node) (a, b *G.Node) {
	s := h.Scope
	ts := s.In("target").Frozen()
	f := h.BuildBackbone(ts.In(ssl.BackboneScope))
	a, b = perView(s, f, func(x *G.Node) *G.Node { return proj(ts.In("projector"), x) })
	return nn.StopGradient(s, a), nn.StopGradient(s, b)
}

// InitParams sets the target network equal to the online one.
func (t *BYOLTask) InitParams(ps *nn.Params) error {
	if t.err != nil {
		return t.err
	}
	if err := t.m.init(ps); err != nil {
		return fmt.Errorf("contrastive: BYOL: %w", err)
	}
	return nil
}

// AfterStep moves every target parameter towards its online counterpart,
// target = tau·target + (1-tau)·online, with tau = Tau(base, final, s.Step-1, s.Steps):
// as in solo-learn, the update after the k-th step uses the momentum of step k-1, so the
// first update uses base. The parameters are the weights, biases and batch-norm scales
// and offsets of backbone and projector; the target's batch-norm moving statistics are
// not averaged (solo-learn averages module.parameters(), not the buffers) but follow the
// target's own forward passes.
func (t *BYOLTask) AfterStep(s *ssl.StepInfo) error {
	if err := t.m.update(s.Params, Tau(t.cfg.tauBase, t.cfg.tauFinal, s.Step-1, s.Steps)); err != nil {
		return fmt.Errorf("contrastive: BYOL: %w", err)
	}
	return nil
}

var (
	_ ssl.PretextTask       = (*BYOLTask)(nil)
	_ ssl.ShapeChecker      = (*BYOLTask)(nil)
	_ ssl.ParamsInitializer = (*BYOLTask)(nil)
	_ ssl.StepHook          = (*BYOLTask)(nil)
)
