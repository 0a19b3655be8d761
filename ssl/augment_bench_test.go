package ssl_test

import (
	"context"
	"log/slog"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// simclrShaped is SimCLR's shape without its package: two views per image, a
// 2048-256 projector and NT-Xent. With aug it makes each view by augmenting the raw
// images (SimCLR's CIFAR recipe); without, it copies ready-made views held in memory,
// which is what the augmentation's cost is measured against.
type simclrShaped struct {
	aug   *augment.Sequence
	ready []float32 // ready-made views: 2 × N images, written once
}

func (*simclrShaped) Name() string          { return "simclr-shaped" }
func (*simclrShaped) Views() int            { return 2 }
func (*simclrShaped) TargetShape(int) []int { return nil }
func (t *simclrShaped) Prepare(b *ssl.Batch) error {
	for v := 0; v < 2; v++ {
		view := b.View(v)
		if t.aug != nil {
			if err := t.aug.Augment(view, b.Images, b.N, b.C, b.H, b.W, b.Rand.Uint64()); err != nil {
				return err
			}
		} else {
			copy(view, t.ready[v*len(view):(v+1)*len(view)])
		}
		b.Normalize(view)
	}
	return nil
}
func (*simclrShaped) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	s := h.Scope
	z := nn.Dense(s.In("proj1"), h.Features, 2048)
	z = nn.ReLU(s, nn.BatchNorm(s.In("proj_bn"), z))
	z = nn.Dense(s.In("proj2"), z, 256)
	views := nn.SplitRows(s, z, 2)
	if views == nil {
		return nil, nil
	}
	return nn.NTXent(s, views[0], views[1], 0.2), nil
}

// BenchmarkSimCLRShapedEpoch times pretraining epochs of ResNet20 v1 on 2,048
// CIFAR-sized images at batch 256 (512 network inputs per step), with SimCLR's
// augmentation made on the fly (augmented) and with ready-made views (ready); each
// iteration trains two epochs and reports the second's rate (the first compiles the
// graphs). The augmented epoch should cost at most a few percent more: augmenting the
// next batch overlaps the current step.
//
//	go test -run '^$' -bench SimCLRShapedEpoch -benchtime 3x ./ssl
func BenchmarkSimCLRShapedEpoch(b *testing.B) {
	const n, batch = 2048, 256
	data := newSynth(n, 10, 32, 1)
	ready := make([]float32, 2*batch*3*32*32)
	for i := range ready {
		ready[i] = float32(i%251) / 251
	}
	for _, c := range []struct {
		name string
		task *simclrShaped
	}{{"augmented", &simclrShaped{aug: augment.SimCLRCIFAR()}}, {"ready", &simclrShaped{ready: ready}}} {
		b.Run(c.name, func(b *testing.B) {
			var seconds float64
			for b.Loop() {
				var last ssl.EpochStats
				_, err := ssl.New(backbone.Must(backbone.ResNetV1(20)), ssl.Seed(1), ssl.BatchSize(batch),
					ssl.Logger(slog.New(slog.DiscardHandler)), ssl.OnProgress(func(p ssl.Progress) {
						if p.Done != nil {
							last = *p.Done
						}
					})).
					Pretrain(c.task, data, ssl.Epochs(2), ssl.ValidationFraction(0)).Encoder(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				seconds += last.Seconds
			}
			b.ReportMetric(float64(n*b.N)/seconds, "images/s")
		})
	}
}
