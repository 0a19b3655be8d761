package folds

import "fmt"

// KFold splits the samples 0..n-1 into NSplits consecutive folds, exactly as scikit-learn's
// sklearn.model_selection.KFold does for the same n_splits, shuffle and integer random_state:
// the indices 0..n-1 are (with Shuffle) shuffled once with numpy's RandomState(Seed), then cut
// into NSplits runs, the first n%NSplits of size n/NSplits+1 and the rest of size n/NSplits.
//
// The zero value is not usable: NSplits must be at least 2.
type KFold struct {
	// NSplits is the number of folds, n_splits in scikit-learn; at least 2.
	NSplits int
	// Shuffle shuffles the indices before they are cut into folds.
	Shuffle bool
	// Seed is scikit-learn's integer random_state, in [0, 2^32-1]; used only with Shuffle.
	Seed int64
}

// Assign returns the fold whose test part holds each of the samples 0..n-1 (see KFold).
// Errors: NSplits < 2, n < NSplits (including n <= 0), n > MaxIndices, Seed out of range
// (with Shuffle).
func (s KFold) Assign(n int) (*Assignment, error) {
	if s.NSplits < 2 {
		return nil, fmt.Errorf("folds: KFold: NSplits=%d: k-fold cross-validation needs at least 2 splits", s.NSplits)
	}
	if n < s.NSplits {
		return nil, fmt.Errorf("folds: KFold: NSplits=%d is greater than the number of samples n=%d", s.NSplits, n)
	}
	if n > MaxIndices {
		return nil, fmt.Errorf("folds: KFold: n=%d is more than MaxIndices=%d samples", n, MaxIndices)
	}
	if s.Shuffle {
		if err := checkSeed("Seed", s.Seed); err != nil {
			return nil, fmt.Errorf("folds: KFold: %w", err)
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if s.Shuffle {
		newMT19937(uint32(s.Seed)).shuffle(idx)
	}
	k := s.NSplits
	sizes := make([]int, k)
	testFold := make([]int, n)
	pos := 0
	for f := range sizes {
		sizes[f] = n / k
		if f < n%k {
			sizes[f]++
		}
		for _, i := range idx[pos : pos+sizes[f]] {
			testFold[i] = f
		}
		pos += sizes[f]
	}
	return &Assignment{NSplits: k, TestFold: testFold, Sizes: sizes}, nil
}

// Folds returns the NSplits folds of the samples 0..n-1, in order, as scikit-learn's
// KFold(n_splits=NSplits, shuffle=Shuffle, random_state=Seed).split(X) yields them for
// len(X) == n (Test ascending, as scikit-learn returns it). See Assign for the errors; Folds
// also refuses folds that would hold more than MaxIndices indices.
func (s KFold) Folds(n int) ([]Fold, error) {
	if s.NSplits >= 2 && n >= s.NSplits {
		if err := checkTotal("KFold", s.NSplits, n); err != nil {
			return nil, err
		}
	}
	a, err := s.Assign(n)
	if err != nil {
		return nil, err
	}
	return a.Folds()
}
