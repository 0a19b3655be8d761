package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/internal/fixture"
	"github.com/selfsup/selfsup/ssl"
)

// makeSTL10 writes a tiny STL-10 folder in the official binary layout: 20 training images
// (2 per class), 10 test and 10 unlabeled images, the class names, and 10 predefined folds
// of 4 training indices.
func makeSTL10(t *testing.T, dir string) {
	t.Helper()
	if err := fixture.WriteSTL10(dir, 20, 10, 10, true); err != nil {
		t.Fatal(err)
	}
}

func TestRunSTL10PredefinedFolds(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "r")
	makeSTL10(t, dir)
	args := []string{"run", "--data", "stl10:" + dir, "--model", "convnet:4-8", "--pretrain-epochs", "1", "--finetune-epochs", "1",
		"--batch", "4", "--finetune-batch", "4", "--runs", "2", "--out", out, "--progress", "log"}
	stdout, stderr, err := run(context.Background(), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(accuracyTable(t, stdout), "| n_labels | 4 |") {
		t.Errorf("no column for the folds of 4 labels:\n%s", stdout)
	}
	f, err := os.Open(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := ssl.ReadReportJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	// Pretraining ran on the 10 unlabeled images (9 after the validation split), not the 20
	// training images; the downstream runs on the first 2 predefined folds.
	if rep.Pretrain == nil || rep.Pretrain.Images+rep.Pretrain.ValidationImages != 10 || rep.TrainImages != 20 || rep.TestImages != 10 || len(rep.Runs) != 4 {
		t.Errorf("report: pretrain %+v, %d/%d images, %d runs", rep.Pretrain, rep.TrainImages, rep.TestImages, len(rep.Runs))
	}

	// Stratified budgets over the training labels work too; too many fold runs do not.
	out2 := filepath.Join(t.TempDir(), "r")
	if _, stderr, err := run(context.Background(), append(args[:len(args)-4], "--budgets", "10", "--out", out2, "--progress", "log")...); err != nil {
		t.Errorf("--budgets 10 on STL-10: %v\n%s", err, stderr)
	}
	_, _, err = run(context.Background(), append(args[:len(args)-4], "--runs", "11", "--out", filepath.Join(t.TempDir(), "x"))...)
	if err == nil || !strings.Contains(err.Error(), "--runs 11") || !strings.Contains(err.Error(), "10 predefined folds") {
		t.Errorf("11 runs of 10 folds: %v", err)
	}
}

// The seed's STL-10 workflow with a contrastive method: SimCLR on the unlabeled split with
// the Keras examples' encoder (conv4x128) and the 96-pixel recipe, the predefined folds as
// budgets, fine-tuning against the supervised baseline, and the kNN evaluation.
func TestRunSTL10ContrastiveWorkflow(t *testing.T) {
	dir := t.TempDir()
	makeSTL10(t, dir)
	for _, transfer := range []string{"fine-tune", "knn"} {
		out := filepath.Join(t.TempDir(), "r")
		args := []string{"run", "--data", "stl10:" + dir, "--model", "conv4x128", "--task", "simclr", "--augment", "none",
			"--pretrain-epochs", "1", "--finetune-epochs", "1", "--batch", "4", "--finetune-batch", "4", "--runs", "2",
			"--val-fraction", "-1", "--transfer", transfer, "--out", out, "--progress", "log"}
		stdout, stderr, err := run(context.Background(), args...)
		if err != nil {
			t.Fatalf("--transfer %s: %v\n%s", transfer, err, stderr)
		}
		table := accuracyTable(t, stdout)
		if !strings.Contains(table, "| n_labels | 4 |") || !strings.Contains(table, "| SSL+SL |") {
			t.Errorf("--transfer %s: table\n%s", transfer, table)
		}
		f, err := os.Open(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ssl.ReadReportJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Backbone != "conv4x128" || !strings.HasPrefix(rep.Task, "simclr") || rep.Pretrain == nil || rep.Pretrain.Images != 10 || len(rep.Runs) != 4 {
			t.Errorf("--transfer %s: report backbone %s, task %s, pretrain %+v, %d runs", transfer, rep.Backbone, rep.Task, rep.Pretrain, len(rep.Runs))
		}
	}
}
