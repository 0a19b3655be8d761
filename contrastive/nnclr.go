package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// NNCLRTask is NNCLR (Dwibedi et al. 2021, "With a little help from my friends: nearest-
// neighbor contrastive learning of visual representations"): as SimCLR, but the positive
// of a view is not the other view of the same image: it is the nearest neighbour, in a
// support set of projections of earlier batches, of the other view's projection. The
// loss is the cross-entropy of matching each nearest neighbour with the prediction of
// the other view among the batch's predictions, both ways. Build one with NNCLR.
//
// The support set is QueueParam ("pretext/queue", [Q, D]), L2-normalised projections,
// initially random; AfterStep enqueues the N normalised view-1 projections of every step
// at QueuePointerParam, first in first out (solo-learn's dequeue_and_enqueue). The
// checkpoints carry both.
type NNCLRTask struct{ base }

// NNCLR returns the NNCLR task. Defaults, solo-learn's CIFAR configuration
// (scripts/pretrain/cifar/nnclr.yaml, methods/nnclr.py) except the queue:
//
//   - projector Dense(2048)-BN-ReLU-Dense(2048)-BN-ReLU-Dense(256)-BN (proj_hidden_dim
//     2048, proj_output_dim 256); option Projector;
//   - predictor Dense(4096)-BN-ReLU-Dense(256) (pred_hidden_dim 4096); option Predictor;
//   - temperature 0.2 (solo-learn's CIFAR; the paper uses 0.1); option Temperature;
//   - support set of 4096 rows, the memory bank of lightly's CIFAR-10 benchmark
//     (solo-learn uses 65536 on CIFAR, the paper 98304 on ImageNet): a support set
//     larger than the data set repeats stale projections, and until it has been filled
//     once its random initial rows serve as neighbours; option QueueSize;
//   - views augment.BYOLCIFAR() (solo-learn's asymmetric recipe); options Augment,
//     AugmentViews.
func NNCLR(opts ...Option) *NNCLRTask {
	v1, v2 := augment.BYOLCIFAR()
	def := config{projHidden: 2048, projOut: 256, predHidden: 4096, temperature: 0.2, queue: 4096, views: [2]ssl.Augmentation{v1, v2}}
	t := &NNCLRTask{newBase("NNCLR", def, optProjector|optPredictor|optTemperature|optQueue, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("nnclr-t%g-q%d-proj%dx%d-pred%d-%s", c.temperature, c.queue, c.projHidden, c.projOut, c.predHidden, t.augName())
	return t
}

// Head builds projector and predictor on each view and the support set, and returns
//
//	loss = DiagonalCrossEntropy(NN(ẑ1), p2)/2 + DiagonalCrossEntropy(NN(ẑ2), p1)/2
//
// with ẑ the L2-normalised projections, NN their nearest neighbours in the support set
// (nn.NearestNeighbor, cosine similarity, no gradient) and p the predictions
// (solo-learn's nnclr_loss_func); ẑ1 [N, D] is exposed as "support" for AfterStep.
// There is no output node.
func (t *NNCLRTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	c := t.cfg
	z1, z2 := perView(s, h.Features, func(x *G.Node) *G.Node {
		return mlp(s.In("projector"), x, []layer{
			{units: c.projHidden, bn: affineBN, relu: true},
			{units: c.projHidden, bn: affineBN, relu: true},
			{units: c.projOut, bn: affineBN},
		})
	})
	pred := func(x *G.Node) *G.Node {
		return mlp(s.In("predictor"), x, []layer{{units: c.predHidden, bn: affineBN, relu: true}, {units: c.projOut}})
	}
	p1, p2 := pred(z1), pred(z2)
	z1n, z2n := nn.L2Normalize(s, z1), nn.L2Normalize(s, z2)
	support := queueNodes(s, c.queue, c.projOut)
	nn1, nn2 := nn.NearestNeighbor(s, z1n, support), nn.NearestNeighbor(s, z2n, support)
	l := nn.Add(s, nn.DiagonalCrossEntropy(s, nn1, p2, c.temperature), nn.DiagonalCrossEntropy(s, nn2, p1, c.temperature))
	if !s.Failed(z1n) {
		h.Expose("support", z1n)
	}
	return nn.Scale(s, l, 0.5), nil
}

// AfterStep enqueues this step's normalised view-1 projections into the support set.
func (t *NNCLRTask) AfterStep(s *ssl.StepInfo) error {
	z, err := s.Value("support")
	if err == nil {
		err = pushQueue(s.Params, z)
	}
	if err != nil {
		return fmt.Errorf("contrastive: NNCLR: %w", err)
	}
	return nil
}

var (
	_ ssl.PretextTask  = (*NNCLRTask)(nil)
	_ ssl.ShapeChecker = (*NNCLRTask)(nil)
	_ ssl.StepHook     = (*NNCLRTask)(nil)
)
