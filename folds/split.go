package folds

import "fmt"

// Split is one train/test division of the samples 0..n-1: Train and Test are disjoint, together
// hold every sample once, and each lists sample indices in ascending order.
type Split struct {
	Train []int `json:"train"`
	Test  []int `json:"test"`
}

// MaxIndices bounds the total number of indices a call may return at once (the sum of
// len(Train)+len(Test) over all splits, which is NSplits times the number of samples). Above
// it the splitters return an error instead of trying to allocate; Assignment.Fold yields one
// split at a time for such sizes.
const MaxIndices = 1 << 31

// checkTotal returns an error when nSplits splits of n samples each would hold more than
// MaxIndices indices.
func checkTotal(what string, nSplits, n int) error {
	if n > 0 && nSplits > MaxIndices/n {
		return fmt.Errorf("folds: %s: NSplits=%d splits of n=%d samples would hold more than MaxIndices=%d indices; use Assignment.Fold to get one split at a time",
			what, nSplits, n, MaxIndices)
	}
	return nil
}

// splitFromTestFold builds the split of fold f from a test-fold assignment: Test holds the
// samples i with testFold[i] == f, Train the others, both ascending. size is the number of
// samples in fold f.
func splitFromTestFold(testFold []int, f, size int) Split {
	s := Split{Train: make([]int, 0, len(testFold)-size), Test: make([]int, 0, size)}
	for i, g := range testFold {
		if g == f {
			s.Test = append(s.Test, i)
		} else {
			s.Train = append(s.Train, i)
		}
	}
	return s
}

// Assignment gives each sample the fold whose test part holds it, like the test_folds array
// that scikit-learn's StratifiedKFold computes internally (and PredefinedSplit takes).
type Assignment struct {
	// NSplits is the number of folds.
	NSplits int
	// TestFold[i] is the fold, in [0, NSplits), whose Test part holds sample i.
	TestFold []int
	// Sizes[f] is the number of samples in the Test part of fold f.
	Sizes []int
	// Warnings are the non-fatal problems scikit-learn would warn about (for example a class
	// with fewer members than NSplits, which leaves some folds without that class). Nothing is
	// printed; callers decide whether to log, show or reject them.
	Warnings []string
}

// Fold returns split f (Train: every sample outside fold f; Test: the samples of fold f),
// or an error when f is not in [0, NSplits).
func (a *Assignment) Fold(f int) (Split, error) {
	if f < 0 || f >= a.NSplits || f >= len(a.Sizes) {
		return Split{}, fmt.Errorf("folds: Assignment.Fold: f=%d is out of range [0, %d)", f, a.NSplits)
	}
	return splitFromTestFold(a.TestFold, f, a.Sizes[f]), nil
}

// Test returns the ascending indices of the samples in the Test part of fold f, or an error
// when f is not in [0, NSplits).
func (a *Assignment) Test(f int) ([]int, error) {
	if f < 0 || f >= a.NSplits || f >= len(a.Sizes) {
		return nil, fmt.Errorf("folds: Assignment.Test: f=%d is out of range [0, %d)", f, a.NSplits)
	}
	out := make([]int, 0, a.Sizes[f])
	for i, g := range a.TestFold {
		if g == f {
			out = append(out, i)
		}
	}
	return out, nil
}

// Splits returns all NSplits splits, in fold order. It returns an error when they would hold
// more than MaxIndices indices together.
func (a *Assignment) Splits() ([]Split, error) {
	if err := checkTotal("Assignment.Splits", a.NSplits, len(a.TestFold)); err != nil {
		return nil, err
	}
	out := make([]Split, a.NSplits)
	for f := range out {
		out[f] = splitFromTestFold(a.TestFold, f, a.Sizes[f])
	}
	return out, nil
}
