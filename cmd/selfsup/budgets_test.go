package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/ssl"
)

func TestParseBudgetsRunsPerBudget(t *testing.T) {
	sizes, runs, err := parseBudgets("100:3, 250:3,625")
	if err != nil || !slices.Equal(sizes, []int{100, 250, 625}) || !slices.Equal(runs, []int{3, 3, 0}) {
		t.Errorf("parseBudgets: %v %v %v", sizes, runs, err)
	}
	for _, bad := range []string{"100:0", "100:x", "100,100", "a", "100:", ":3"} {
		if _, _, err := parseBudgets(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("parseBudgets(%q): error %v, want one quoting it", bad, err)
		}
	}
}

// TestLabelBudgetsRunsPerBudget checks that a budget's own run count is honoured and that
// its runs are the folds the same budget gets with --runs alone: fold i for run i.
func TestLabelBudgetsRunsPerBudget(t *testing.T) {
	data := openDefault(t)
	b, total, err := resolveDefault(t, runConfig{Budgets: "50:3,100", Runs: 1, Seed: 7}).labelBudgets(data)
	if err != nil {
		t.Fatal(err)
	}
	labels := ssl.Labels(data.train)
	got, err := b.LabeledRuns(labels)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || len(got) != 2 || len(got[0]) != 3 || len(got[1]) != 1 {
		t.Fatalf("total %d, runs per budget %d/%d, want 4 runs: 3 of 50 labels, 1 of 100", total, len(got[0]), len(got[1]))
	}
	want, err := folds.Stratified(50, 100).WithSeed(7).WithRuns(3).LabeledRuns(labels)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got[0] {
		if !slices.Equal(got[0][i], want[0][i]) {
			t.Errorf("n_labels=50 run %d differs from StratifiedKFold fold %d", i, i)
		}
	}
	if !slices.Equal(got[1][0], want[1][0]) {
		t.Errorf("n_labels=100 run 0 differs from StratifiedKFold fold 0")
	}
}

// TestAllowUnbalancedRun checks that "selfsup run" rejects a budget whose folds cannot be
// class-balanced (625 of the default set's 500 images per class) unless told to accept it.
func TestAllowUnbalancedRun(t *testing.T) {
	data := openDefault(t)
	cfg := runConfig{Budgets: "625", Runs: 1, Seed: 1}
	if _, _, err := resolveDefault(t, cfg).labelBudgets(data); err == nil || !strings.Contains(err.Error(), "--budgets 625") {
		t.Errorf("625 labels without --allow-unbalanced: %v, want an error naming --budgets", err)
	}
	cfg.AllowUnbalanced = true
	b, total, err := resolveDefault(t, cfg).labelBudgets(data)
	if err != nil || total != 1 {
		t.Fatalf("with --allow-unbalanced: %v (%d runs)", err, total)
	}
	warnings, err := b.Check(ssl.Labels(data.train))
	if err != nil || len(warnings) == 0 {
		t.Errorf("Check: %v, warnings %q; want the stratified plan's warning about uneven classes", err, warnings)
	}
}

// resolveDefault resolves cfg for the embedded default set and the rotation task.
func resolveDefault(t *testing.T, cfg runConfig) *resolved {
	t.Helper()
	cfg.Data, cfg.Task, cfg.LR = dataDefault, taskRotation, 1e-3
	r, err := resolve(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// openDefault opens the embedded default set, closed when the test ends.
func openDefault(t *testing.T) *experimentData {
	t.Helper()
	src, err := parseDataSource(dataDefault)
	if err != nil {
		t.Fatal(err)
	}
	data, err := openData(src, openOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	return data
}
