package contrastive

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// SupConTask is supervised contrastive learning (Khosla et al. 2020, "Supervised
// contrastive learning"): as SimCLR, with the labels deciding the positives: every
// projection is pulled towards the projections of all views of all images of its class
// in the batch and pushed away from the others (nn.SupConLoss). It needs labeled
// pretraining images: it is a supervised method, and an alternative to cross-entropy
// training rather than a self-supervised one. Build one with SupCon.
//
// The encoder is then meant to be frozen under a classifier: transfer it with
// ssl.LinearProbe (the paper's and the seed's Keras example's protocol) rather than
// ssl.FineTune.
type SupConTask struct{ base }

// SupCon returns the supervised contrastive task. Defaults:
//
//   - projector Dense(2048)-ReLU-Dense(256), solo-learn's CIFAR configuration
//     (scripts/pretrain/cifar/supcon.yaml: proj_hidden_dim 2048, proj_output_dim 256);
//     option Projector;
//   - temperature 0.05, the seed's Keras CIFAR-10 example (solo-learn's CIFAR
//     configuration uses 0.2, the authors' code 0.07, the paper 0.1 on ImageNet);
//     option Temperature;
//   - both views augment.SimCLRCIFAR(); options Augment, AugmentViews.
func SupCon(opts ...Option) *SupConTask {
	def := config{projHidden: 2048, projOut: 256, temperature: 0.05, views: both(augment.SimCLRCIFAR())}
	t := &SupConTask{newBase("SupCon", def, optProjector|optTemperature, opts)}
	c := t.cfg
	t.name = fmt.Sprintf("supcon-t%g-proj%dx%d-%s", c.temperature, c.projHidden, c.projOut, t.augName())
	return t
}

// TargetShape is [n]: the label of every network input, as a float32.
func (t *SupConTask) TargetShape(n int) []int { return []int{n} }

// CheckData rejects a pretraining set with an unlabeled image (ssl.NoLabel) or a label
// outside its classes, naming the first such image.
func (t *SupConTask) CheckData(ds ssl.Dataset) error {
	if t.err != nil {
		return t.err
	}
	if ds == nil {
		return fmt.Errorf("contrastive: SupCon: nil dataset")
	}
	classes := len(ds.Classes())
	for i := 0; i < ds.Len(); i++ {
		if l := ds.Label(i); l < 0 || (classes > 0 && l >= classes) {
			if l == ssl.NoLabel {
				return fmt.Errorf("contrastive: SupCon: pretraining image %d has no label; SupCon needs labeled images", i)
			}
			return fmt.Errorf("contrastive: SupCon: pretraining image %d has label %d, outside [0, %d)", i, l, classes)
		}
	}
	return nil
}

// Prepare writes the two views as every method does and, as targets, the label of the
// source image for each view (row v*N+i gets Labels[i]).
func (t *SupConTask) Prepare(b *ssl.Batch) error {
	if err := t.base.Prepare(b); err != nil {
		return err
	}
	if len(b.Targets) != 2*b.N || len(b.Labels) < b.N {
		return fmt.Errorf("contrastive: SupCon: batch has %d targets and %d labels for %d images, want %d and %d", len(b.Targets), len(b.Labels), b.N, 2*b.N, b.N)
	}
	for i, l := range b.Labels[:b.N] {
		if l < 0 {
			return fmt.Errorf("contrastive: SupCon: image %d of the batch has no label", i)
		}
		b.Targets[i], b.Targets[b.N+i] = float32(l), float32(l)
	}
	return nil
}

// Head projects all 2N rows (the projector has no batch norm, so the views need not be
// separated) and returns SupConLoss(z, labels, temperature); there is no output node.
func (t *SupConTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	if t.headErr(s) {
		return nil, nil
	}
	if h.Targets == nil {
		s.Fail(fmt.Errorf("contrastive: SupCon: the head got no targets (labels)"))
		return nil, nil
	}
	z := mlp(s.In("projector"), h.Features, []layer{{units: t.cfg.projHidden, relu: true}, {units: t.cfg.projOut}})
	return nn.SupConLoss(s, z, h.Targets, t.cfg.temperature), nil
}

var (
	_ ssl.PretextTask  = (*SupConTask)(nil)
	_ ssl.ShapeChecker = (*SupConTask)(nil)
	_ ssl.DataChecker  = (*SupConTask)(nil)
)
