package folds

import "fmt"

// Fold is one cross-validation fold over the samples 0..n-1: Train and Test are disjoint,
// together hold every sample once, and each lists sample indices in ascending order. (It is
// called Fold rather than Split, scikit-learn's word, so that it is not confused with
// datasets.Split, which names a part of a dataset such as datasets.Train.)
type Fold struct {
	Train []int `json:"train"`
	Test  []int `json:"test"`
}

// MaxIndices bounds the total number of indices a call may return at once (the sum of
// len(Train)+len(Test) over all folds, which is NSplits times the number of samples). Above
// it the splitters return an error instead of trying to allocate; Assignment.Fold yields one
// fold at a time for such sizes.
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

// complement returns the ascending samples of 0..n-1 that are not in the ascending list test,
// copying runs of the ascending sequence iota (len(iota) >= n, iota[i] == i) between them.
func complement(iota []int, n int, test []int) []int {
	out := make([]int, 0, n-len(test))
	prev := 0
	for _, i := range test {
		out = append(out, iota[prev:i]...)
		prev = i + 1
	}
	return append(out, iota[prev:n]...)
}

// iotaInts returns 0, 1, ..., n-1.
func iotaInts(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = i
	}
	return v
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

// validate checks that a is consistent (as the splitters make it; a caller may have built or
// edited one): len(Sizes) == NSplits, every TestFold value in [0, NSplits) and Sizes counting
// them.
func (a *Assignment) validate(method string) error {
	if a.NSplits < 1 || len(a.Sizes) != a.NSplits {
		return fmt.Errorf("folds: Assignment.%s: NSplits=%d with %d Sizes", method, a.NSplits, len(a.Sizes))
	}
	count := make([]int, a.NSplits)
	for i, g := range a.TestFold {
		if g < 0 || g >= a.NSplits {
			return fmt.Errorf("folds: Assignment.%s: TestFold[%d]=%d is out of range [0, %d)", method, i, g, a.NSplits)
		}
		count[g]++
	}
	for f, c := range count {
		if c != a.Sizes[f] {
			return fmt.Errorf("folds: Assignment.%s: Sizes[%d]=%d but TestFold puts %d samples in fold %d", method, f, a.Sizes[f], c, f)
		}
	}
	return nil
}

// Fold returns fold f (Train: every sample outside fold f; Test: the samples of fold f),
// or an error when f is not in [0, NSplits) or a is inconsistent (see Folds).
func (a *Assignment) Fold(f int) (Fold, error) {
	if err := a.validate("Fold"); err != nil {
		return Fold{}, err
	}
	if f < 0 || f >= a.NSplits {
		return Fold{}, fmt.Errorf("folds: Assignment.Fold: f=%d is out of range [0, %d)", f, a.NSplits)
	}
	test, err := a.Test(f)
	if err != nil {
		return Fold{}, err
	}
	n := len(a.TestFold)
	return Fold{Train: complement(iotaInts(n), n, test), Test: test}, nil
}

// Test returns the ascending indices of the samples in the Test part of fold f, or an error
// when f is not in [0, NSplits).
func (a *Assignment) Test(f int) ([]int, error) {
	if err := a.validate("Test"); err != nil {
		return nil, err
	}
	if f < 0 || f >= a.NSplits {
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

// Folds returns all NSplits folds, in order. It returns an error when they would hold
// more than MaxIndices indices together, or when a is inconsistent (an Assignment built or
// edited by hand: len(Sizes) != NSplits, a TestFold value outside [0, NSplits), or Sizes not
// counting the TestFold values).
func (a *Assignment) Folds() ([]Fold, error) {
	n := len(a.TestFold)
	if err := checkTotal("Assignment.Folds", a.NSplits, n); err != nil {
		return nil, err
	}
	if err := a.validate("Folds"); err != nil {
		return nil, err
	}
	out := make([]Fold, a.NSplits)
	for f := range out {
		out[f].Test = make([]int, 0, a.Sizes[f])
	}
	for i, g := range a.TestFold {
		out[g].Test = append(out[g].Test, i)
	}
	iota := iotaInts(n)
	for f := range out {
		out[f].Train = complement(iota, n, out[f].Test)
	}
	return out, nil
}
