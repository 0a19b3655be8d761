package contrastive

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// headLoss builds task's head alone on fixed features [2N, F] (given as the network
// input) and targets, in inference mode, and returns the loss for each set of targets.
func headLoss(t *testing.T, task ssl.PretextTask, n int, feats []float32, targets ...[]float32) []float64 {
	t.Helper()
	f := len(feats) / (2 * n)
	g, err := train.Compile(train.Spec{Params: nn.NewParams(7), Input: []int{2 * n, f}, Targets: task.TargetShape(2 * n),
		Build: func(s *nn.Scope, x, y *G.Node) (*G.Node, *G.Node) {
			loss, _ := task.Head(&ssl.HeadInput{Scope: s.In(ssl.PretextScope), Features: x, Input: x, Targets: y, N: n, Views: 2})
			return loss, loss
		}})
	if err != nil {
		t.Fatal(err)
	}
	copy(g.Input(), feats)
	var out []float64
	for _, y := range targets {
		copy(g.Targets(), y)
		if err := g.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		l, err := g.Loss()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// Prepare writes each image's label as the target of both its views, and the labels
// decide the loss: regrouping the same images into other classes changes it.
func TestSupConLabelsReachLoss(t *testing.T) {
	task := SupCon(Projector(16, 8))
	const n, c, h, w = 4, 3, 8, 8
	rng := rand.New(rand.NewPCG(1, 2))
	b := &ssl.Batch{N: n, C: c, H: h, W: w, Views: 2, Valid: n, Images: make([]float32, n*c*h*w), Labels: []int{3, 1, 3, 0},
		Mean: make([]float32, c*h*w), Inputs: make([]float32, 2*n*c*h*w), Targets: make([]float32, 2*n), Rand: rng}
	for i := range b.Images {
		b.Images[i] = rng.Float32()
	}
	if err := task.Prepare(b); err != nil {
		t.Fatal(err)
	}
	for r, want := range []float32{3, 1, 3, 0, 3, 1, 3, 0} {
		if b.Targets[r] != want {
			t.Fatalf("targets %v, want the labels repeated for both views", b.Targets)
		}
	}
	b.Labels[2] = ssl.NoLabel
	if err := task.Prepare(b); err == nil || !strings.Contains(err.Error(), "image 2") {
		t.Errorf("Prepare with an unlabeled image: %v", err)
	}

	feats := make([]float32, 2*n*6)
	for i := range feats {
		feats[i] = float32(rng.NormFloat64())
	}
	losses := headLoss(t, task, n, feats,
		[]float32{0, 0, 1, 1, 0, 0, 1, 1},
		[]float32{0, 1, 0, 1, 0, 1, 0, 1},
		[]float32{5, 5, 7, 7, 5, 5, 7, 7}) // the first grouping under other names
	if losses[0] == losses[1] {
		t.Errorf("loss %v for two different groupings", losses[0])
	}
	if losses[0] != losses[2] {
		t.Errorf("renaming the classes changed the loss from %v to %v", losses[0], losses[2])
	}
}

// The pipeline refuses to pretrain SupCon on unlabeled images, before any training, with
// CheckData's error.
func TestSupConRejectsUnlabeledData(t *testing.T) {
	ds := blobs{n: 24, seed: 1}
	if err := SupCon().CheckData(ds); err != nil {
		t.Fatalf("labeled data: %v", err)
	}
	err := SupCon().CheckData(unlabeled{ds})
	if err == nil || !strings.Contains(err.Error(), "image 0 has no label") {
		t.Fatalf("CheckData(unlabeled) = %v", err)
	}
	_, err = ssl.New(smallNet{}, ssl.BatchSize(8)).Pretrain(SupCon(Projector(8, 4)), unlabeled{ds}, ssl.Epochs(1)).Encoder(context.Background())
	if err == nil || !strings.Contains(err.Error(), "has no label") {
		t.Fatalf("pipeline with unlabeled data: %v", err)
	}
}
