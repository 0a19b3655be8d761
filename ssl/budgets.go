package ssl

import (
	"fmt"
	"slices"
)

// LabelBudgets are the label budgets Evaluate compares the methods over: for each budget
// of n_labels labels, several runs, each a set of indices of labeled images of the
// training pool. folds.Stratified(...) satisfies it (with its WithRuns and WithSeed for
// the number of runs and the scikit-learn random_state); Budgets wraps fixed index lists,
// such as STL-10's predefined folds.
type LabelBudgets interface {
	// Sizes returns the n_labels of each budget, in report order.
	Sizes() []int
	// Check validates the budgets against the labels of the training pool (every label a
	// class index) and returns non-fatal warnings, or an error naming the problem. Evaluate
	// calls it before any training.
	Check(labels []int) (warnings []string, err error)
	// LabeledRuns returns, for each budget in Sizes order, the runs: each run the indices
	// into labels of the images whose labels it trains on.
	LabeledRuns(labels []int) ([][][]int, error)
}

// Budget is one label budget with explicit runs, for Budgets.
type Budget struct {
	// NLabels is the budget's size, reported as its column; every run must hold exactly
	// NLabels indices.
	NLabels int
	// Runs are the index lists of the budget's runs.
	Runs [][]int
}

// Budgets returns LabelBudgets made of fixed index lists: each budget's runs are used as
// given. Check rejects an empty list, a repeated NLabels, a run of the wrong length,
// indices out of range or repeated within a run, and a budget without runs.
func Budgets(budgets ...Budget) LabelBudgets {
	out := make(fixedBudgets, len(budgets))
	for i, b := range budgets {
		out[i] = Budget{NLabels: b.NLabels, Runs: make([][]int, len(b.Runs))}
		for r, run := range b.Runs {
			out[i].Runs[r] = slices.Clone(run)
		}
	}
	return out
}

type fixedBudgets []Budget

func (f fixedBudgets) Sizes() []int {
	s := make([]int, len(f))
	for i, b := range f {
		s[i] = b.NLabels
	}
	return s
}

func (f fixedBudgets) Check(labels []int) ([]string, error) {
	if len(f) == 0 {
		return nil, fmt.Errorf("ssl: Budgets: no budgets given")
	}
	seen := map[int]bool{}
	for bi, b := range f {
		if b.NLabels < 1 {
			return nil, fmt.Errorf("ssl: Budgets: budget %d: n_labels=%d: need at least 1 label", bi, b.NLabels)
		}
		if seen[b.NLabels] {
			return nil, fmt.Errorf("ssl: Budgets: budget %d: n_labels=%d is listed twice", bi, b.NLabels)
		}
		seen[b.NLabels] = true
		if len(b.Runs) == 0 {
			return nil, fmt.Errorf("ssl: Budgets: budget %d (n_labels=%d) has no runs", bi, b.NLabels)
		}
		for r, run := range b.Runs {
			if len(run) != b.NLabels {
				return nil, fmt.Errorf("ssl: Budgets: budget %d (n_labels=%d), run %d holds %d indices", bi, b.NLabels, r, len(run))
			}
			in := map[int]bool{}
			for pos, i := range run {
				if i < 0 || i >= len(labels) {
					return nil, fmt.Errorf("ssl: Budgets: budget %d (n_labels=%d), run %d, position %d: index %d is out of range [0, %d)", bi, b.NLabels, r, pos, i, len(labels))
				}
				if in[i] {
					return nil, fmt.Errorf("ssl: Budgets: budget %d (n_labels=%d), run %d, position %d: index %d is repeated", bi, b.NLabels, r, pos, i)
				}
				in[i] = true
			}
		}
	}
	return nil, nil
}

func (f fixedBudgets) LabeledRuns(labels []int) ([][][]int, error) {
	if _, err := f.Check(labels); err != nil {
		return nil, err
	}
	out := make([][][]int, len(f))
	for i, b := range f {
		out[i] = make([][]int, len(b.Runs))
		for r, run := range b.Runs {
			out[i][r] = slices.Clone(run)
		}
	}
	return out, nil
}
