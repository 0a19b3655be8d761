package contrastive

import (
	"context"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/ssl"
)

// errTask is what every constructor returns: a task with Err.
type errTask interface {
	ssl.PretextTask
	ssl.ShapeChecker
	Err() error
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		task errTask
		want string
	}{
		{SimCLR(Temperature(0)), "Temperature(0)"},
		{SimCLR(Temperature(-1)), "Temperature(-1)"},
		{SimCLR(Predictor(8)), "SimCLR does not take option(s) Predictor"},
		{SimSiam(Temperature(0.1)), "SimSiam does not take option(s) Temperature"},
		{BarlowTwins(QueueSize(8), Momentum(0.9, 1)), "QueueSize, Momentum"},
		{VICReg(VICRegWeights(25, -1, 1)), "VICRegWeights(25, -1, 1)"},
		{BarlowTwins(Lambda(-0.1)), "Lambda(-0.1)"},
		{BarlowTwins(LossScale(0)), "LossScale(0)"},
		{BYOL(Momentum(0.99, 0.9)), "Momentum(0.99, 0.9)"},
		{BYOL(Momentum(-0.1, 0.5)), "Momentum(-0.1, 0.5)"},
		{MoCoV2(QueueSize(0)), "QueueSize(0)"},
		{NNCLR(Projector(0, 8)), "Projector(0, 8)"},
		{NNCLR(Predictor(-2)), "Predictor(-2)"},
		{SupCon(Augment(nil)), "Augment(nil)"},
		{SimCLR(AugmentViews(augment.SimCLRCIFAR(), nil)), "AugmentViews: nil augmentation"},
		{VICReg(nil), "nil option"},
	}
	for _, c := range cases {
		err := c.task.Err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%T: Err() = %v, want it to mention %q", c.task, err, c.want)
			continue
		}
		if got := c.task.CheckShape(3, 8, 8); got == nil || got.Error() != err.Error() {
			t.Errorf("%T: CheckShape = %v, want the option error", c.task, got)
		}
	}
	// The pipeline reports it before training.
	_, err := ssl.New(smallNet{}, ssl.BatchSize(8)).Pretrain(SimCLR(Temperature(-1)), blobs{n: 24, seed: 1}).Encoder(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Temperature(-1)") {
		t.Errorf("pipeline: %v", err)
	}
}

// Every method's defaults are valid, and CheckShape refuses images the colour
// augmentations cannot take.
func TestDefaultsAndShapes(t *testing.T) {
	for _, task := range []errTask{SimCLR(), SimSiam(), NNCLR(), SupCon(), BYOL(), MoCoV2(), BarlowTwins(), VICReg()} {
		if err := task.Err(); err != nil {
			t.Errorf("%T defaults: %v", task, err)
		}
		if task.Views() != 2 {
			t.Errorf("%s: Views %d", task.Name(), task.Views())
		}
		if err := task.CheckShape(3, 16, 16); err != nil {
			t.Errorf("%s: CheckShape(3, 16, 16): %v", task.Name(), err)
		}
		if err := task.CheckShape(1, 16, 16); err == nil || !strings.Contains(err.Error(), "1x16x16") {
			t.Errorf("%s: CheckShape on grayscale: %v", task.Name(), err)
		}
	}
	// Grayscale works with an augmentation that takes it.
	if err := SimCLR(Augment(augment.KerasShiftFlip())).CheckShape(1, 8, 8); err != nil {
		t.Errorf("grayscale with KerasShiftFlip: %v", err)
	}
}

// Names tell settings apart, so that checkpoints of one are not resumed by another.
func TestNamesCarrySettings(t *testing.T) {
	names := map[string]bool{}
	for _, task := range []ssl.PretextTask{
		SimCLR(), SimCLR(Temperature(0.1)), SimCLR(Projector(512, 128)), SimCLR(Augment(augment.SimCLRSTL10())),
		SimSiam(), SimSiam(Predictor(256)), NNCLR(), NNCLR(QueueSize(1024)), SupCon(), SupCon(Temperature(0.1)),
		BYOL(), BYOL(Momentum(0.996, 1)), MoCoV2(), MoCoV2(Momentum(0.999, 0.999)), BarlowTwins(), BarlowTwins(Lambda(0.005)),
		BarlowTwins(LossScale(0.024)), VICReg(), VICReg(VICRegWeights(25, 25, 2)),
	} {
		if names[task.Name()] {
			t.Errorf("two settings share the name %q", task.Name())
		}
		names[task.Name()] = true
	}
	if n := SimCLR().Name(); n != "simclr-t0.2-proj2048x256-simclr-cifar" {
		t.Errorf("SimCLR().Name() = %q", n)
	}
}
