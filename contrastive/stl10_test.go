package contrastive_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/contrastive"
	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/internal/fixture"
	"github.com/selfsup/selfsup/ssl"
)

// The seed's STL-10 workflow through the Go API: SimCLR with the 96-pixel recipe on the
// unlabeled split, the Keras examples' encoder, the predefined folds as the label budget,
// and the supervised baseline.
func TestSTL10WorkflowGoAPI(t *testing.T) {
	dir := t.TempDir()
	if err := fixture.WriteSTL10(dir, 20, 10, 12, false); err != nil {
		t.Fatal(err)
	}
	unlabeled, err := datasets.STL10(dir, datasets.Unlabeled)
	if err != nil {
		t.Fatal(err)
	}
	train, err := datasets.STL10(dir, datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	test, err := datasets.STL10(dir, datasets.Test)
	if err != nil {
		t.Fatal(err)
	}
	folds, err := datasets.STL10Folds(dir)
	if err != nil {
		t.Fatal(err)
	}
	report, err := ssl.New(backbone.Must(backbone.Conv4x128()), ssl.Seed(1), ssl.BatchSize(4), ssl.Logger(slog.New(slog.DiscardHandler))).
		Pretrain(contrastive.SimCLR(contrastive.Temperature(0.1), contrastive.Augment(augment.SimCLRSTL10())), unlabeled,
			ssl.Epochs(1), ssl.ValidationFraction(0.25)).
		Transfer(ssl.FineTune(ssl.Epochs(1))).
		CompareSupervised().
		Evaluate(context.Background(), train, test, ssl.Budgets(ssl.Budget{NLabels: 4, Runs: folds[:2]}))
	if err != nil {
		t.Fatal(err)
	}
	if report.Pretrain.Images+report.Pretrain.ValidationImages != 12 || len(report.Runs) != 4 || report.TestImages != 10 {
		t.Fatalf("pretrained on %d+%d images, %d runs, %d test images; want 12 unlabeled, 4 runs, 10",
			report.Pretrain.Images, report.Pretrain.ValidationImages, len(report.Runs), report.TestImages)
	}
	if !strings.Contains(report.Task, "simclr-stl10") && !strings.Contains(report.Task, "stl") {
		t.Errorf("task %q does not name the STL-10 recipe", report.Task)
	}
}
