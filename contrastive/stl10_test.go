package contrastive_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/contrastive"
	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/ssl"
)

// writeSTL10 writes a tiny STL-10 folder in the official binary layout (column-major
// 3x96x96 images, 1-based labels, class names, 10 predefined folds): 20 training, 10
// test and 12 unlabeled images.
func writeSTL10(t *testing.T, dir string) {
	t.Helper()
	const img = 3 * 96 * 96
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pixels := func(n, seed int) []byte {
		b := make([]byte, n*img)
		for i := range b {
			b[i] = byte((i*7 + (i/img)*31 + seed*13) % 251)
		}
		return b
	}
	labels := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i%10 + 1)
		}
		return b
	}
	write("train_X.bin", pixels(20, 1))
	write("train_y.bin", labels(20))
	write("test_X.bin", pixels(10, 2))
	write("test_y.bin", labels(10))
	write("unlabeled_X.bin", pixels(12, 3))
	var folds strings.Builder
	for k := range 10 {
		fmt.Fprintf(&folds, "%d %d %d %d\n", k, (k+5)%20, (k+10)%20, (k+15)%20)
	}
	write("fold_indices.txt", []byte(folds.String()))
}

// The seed's STL-10 workflow through the Go API: SimCLR with the 96-pixel recipe on the
// unlabeled split, the Keras examples' encoder, the predefined folds as the label budget,
// and the supervised baseline.
func TestSTL10WorkflowGoAPI(t *testing.T) {
	dir := t.TempDir()
	writeSTL10(t, dir)
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
