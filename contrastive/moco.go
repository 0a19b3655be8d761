package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// MoCoTask is MoCo v2 (He et al. 2020, "Momentum contrast for unsupervised visual
// representation learning"; Chen et al. 2020, "Improved baselines with momentum
// contrastive learning"): a query encoder (backbone and MLP projector) is trained to
// find, among the key of the other view of its image and a queue of keys of earlier
// batches, the key of its own image (InfoNCE); the keys come from a key encoder, a
// momentum copy of the query encoder that is not trained but follows it by an
// exponential moving average. The queue supplies many negatives without a large batch.
// Build one with MoCoV2.
//
// As solo-learn's mocov2plus, the loss is symmetric, (InfoNCE(q1, k2) + InfoNCE(q2,
// k1))/2. solo-learn keeps one queue per view; this keeps one queue, QueueParam
// ("pretext/queue", [Q, D], L2-normalised rows, initially random), into which AfterStep
// enqueues the keys of both views (2N rows per step), first in first out, with the
// write position in QueuePointerParam: a queue of Q rows holds the keys of the last Q/2
// images. The key encoder lives in TargetScope as BYOL's target does. Queue, pointer and
// key encoder are parameters of the pretext network, so checkpoints carry them and a
// resumed run continues exactly.
type MoCoTask struct {
	base
	m momentum
}

// MoCoV2 returns the MoCo v2 task. Defaults:
//
//   - projector Dense(2048)-ReLU-Dense(256), solo-learn's CIFAR mocov2plus
//     (proj_hidden_dim 2048, proj_output_dim 256; the paper's head is 2048-128); option
//     Projector;
//   - temperature 0.2, the paper's and solo-learn's; option Temperature;
//   - queue 4096 rows, the memory bank of lightly's CIFAR-10 benchmark (the paper uses
//     65536 on ImageNet, solo-learn's CIFAR configuration 32768 per view): enough for
//     small data sets and cheap; with 50,000 CIFAR-10 images QueueSize(65536) matches
//     solo-learn's history; option QueueSize;
//   - momentum from 0.99 to 0.999 on BYOL's cosine schedule (Tau), solo-learn's CIFAR
//     setting (base_tau 0.99, final_tau 0.999); the paper keeps 0.999 constant, which is
//     Momentum(0.999, 0.999); option Momentum;
//   - both views augment.SimCLRCIFAR() (solo-learn's symmetric_weak recipe without blur,
//     close to MoCo v2's); options Augment, AugmentViews.
func MoCoV2(opts ...Option) *MoCoTask {
	def := config{projHidden: 2048, projOut: 256, temperature: 0.2, queue: 4096, tauBase: 0.99, tauFinal: 0.999,
		views: both(augment.SimCLRCIFAR())}
	t := &MoCoTask{base: newBase("MoCoV2", def, optProjector|optTemperature|optQueue|optMomentum, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("mocov2-t%g-q%d-tau%g-%g-proj%dx%d-%s", c.temperature, c.queue, c.tauBase, c.tauFinal, c.projHidden, c.projOut, t.augName())
	return t
}

// mocoMLP is MoCo v2's projector: Dense(hidden)-ReLU-Dense(out), no batch norm.
func mocoMLP(s *nn.Scope, x *G.Node, c config) *G.Node {
	return mlp(s, x, []layer{{units: c.projHidden, relu: true}, {units: c.projOut}})
}

// Head builds the query projector on each view, the key encoder in TargetScope, the
// queue, and returns (InfoNCE(q1, k2) + InfoNCE(q2, k1))/2; the L2-normalised keys of
// both views, [2N, D] view-major, are exposed as "keys" for AfterStep. There is no
// output node.
func (t *MoCoTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	c := t.cfg
	q1, q2 := perView(s, h.Features, func(x *G.Node) *G.Node { return mocoMLP(s.In("projector"), x, c) })
	k1, k2 := targetProjections(h, func(ts *nn.Scope, x *G.Node) *G.Node { return mocoMLP(ts, x, c) })
	queue := queueNodes(s, c.queue, c.projOut)
	l := nn.Add(s, nn.InfoNCE(s, q1, k2, queue, c.temperature), nn.InfoNCE(s, q2, k1, queue, c.temperature))
	if keys := nn.Concat(s, nn.L2Normalize(s, k1), nn.L2Normalize(s, k2)); !s.Failed(keys) {
		h.Expose("keys", keys)
	}
	return nn.Scale(s, l, 0.5), nil
}

// InitParams sets the key encoder equal to the query encoder.
func (t *MoCoTask) InitParams(ps *nn.Params) error {
	if t.err != nil {
		return t.err
	}
	if err := t.m.init(ps); err != nil {
		return fmt.Errorf("contrastive: MoCoV2: %w", err)
	}
	return nil
}

// AfterStep moves the key encoder towards the query encoder as BYOLTask.AfterStep does
// (trainable parameters only, tau = Tau(base, final, s.Step-1, s.Steps)), then enqueues
// this step's keys (view 1's N keys, then view 2's) at the queue pointer, overwriting the
// oldest rows and wrapping around at the end.
func (t *MoCoTask) AfterStep(s *ssl.StepInfo) error {
	keys, err := s.Value("keys")
	if err == nil {
		err = t.afterStep(s.Params, s.Step, s.Steps, keys)
	}
	if err != nil {
		return fmt.Errorf("contrastive: MoCoV2: %w", err)
	}
	return nil
}

func (t *MoCoTask) afterStep(ps *nn.Params, step, steps int64, keys []float32) error {
	if err := t.m.update(ps, Tau(t.cfg.tauBase, t.cfg.tauFinal, step-1, steps)); err != nil {
		return err
	}
	return pushQueue(ps, keys)
}

var (
	_ ssl.PretextTask       = (*MoCoTask)(nil)
	_ ssl.ShapeChecker      = (*MoCoTask)(nil)
	_ ssl.ParamsInitializer = (*MoCoTask)(nil)
	_ ssl.StepHook          = (*MoCoTask)(nil)
)
