package folds

import (
	"fmt"
)

// StratifiedKFold splits samples into NSplits folds that keep each class's share, producing
// exactly the folds of scikit-learn's sklearn.model_selection.StratifiedKFold (version 0.22
// and later) for the same labels, n_splits, shuffle and integer random_state.
//
// The zero value is not usable: NSplits must be at least 2.
type StratifiedKFold struct {
	// NSplits is the number of folds, n_splits in scikit-learn; at least 2.
	NSplits int
	// Shuffle shuffles each class's fold numbers before they are handed to its samples.
	Shuffle bool
	// Seed is scikit-learn's integer random_state, in [0, 2^32-1] like numpy's RandomState.
	// It is used only when Shuffle is true. (scikit-learn refuses a random_state with
	// shuffle=False; a Go int64 cannot be "unset", so here it is simply ignored.)
	Seed int64
}

// classes numbers the labels by first appearance (the first label seen is class 0) and
// returns each sample's class, the count of each class and the label of each class.
func classes(labels []int) (enc, counts, names []int) {
	enc = make([]int, len(labels))
	index := make(map[int]int)
	for i, y := range labels {
		k, ok := index[y]
		if !ok {
			k = len(names)
			index[y] = k
			names = append(names, y)
			counts = append(counts, 0)
		}
		enc[i] = k
		counts[k]++
	}
	return enc, counts, names
}

// countResidue returns how many p in [0, x) have p mod k == i, for x >= 0 and 0 <= i < k.
func countResidue(x, i, k int) int {
	return (x + k - 1 - i) / k
}

// check validates the parameters against n samples: the checks scikit-learn makes before it
// looks at the classes, in its order.
func (s StratifiedKFold) check(n int) error {
	if s.NSplits < 2 {
		return fmt.Errorf("folds: StratifiedKFold: NSplits=%d: k-fold cross-validation needs at least 2 splits", s.NSplits)
	}
	if n == 0 {
		return fmt.Errorf("folds: StratifiedKFold: labels is empty")
	}
	if s.NSplits > n {
		return fmt.Errorf("folds: StratifiedKFold: NSplits=%d is greater than the number of samples len(labels)=%d", s.NSplits, n)
	}
	if s.Shuffle {
		if err := checkSeed("Seed", s.Seed); err != nil {
			return fmt.Errorf("folds: StratifiedKFold: %w", err)
		}
	}
	return nil
}

// checkClasses returns scikit-learn's error when NSplits exceeds the size of every class,
// and its warning when it exceeds the size of the least populated one.
func (s StratifiedKFold) checkClasses(counts, names []int) (warnings []string, err error) {
	largest, least := 0, 0
	for k, c := range counts {
		if c > counts[largest] {
			largest = k
		}
		if c < counts[least] {
			least = k
		}
	}
	if s.NSplits > counts[largest] {
		return nil, fmt.Errorf("folds: StratifiedKFold: NSplits=%d cannot be greater than the number of members in each class (the largest class, label %d, has %d)",
			s.NSplits, names[largest], counts[largest])
	}
	if s.NSplits > counts[least] {
		warnings = append(warnings, fmt.Sprintf("the least populated class (label %d) has only %d members, which is less than NSplits=%d: some folds hold none of it",
			names[least], counts[least], s.NSplits))
	}
	return warnings, nil
}

// Check validates s against labels without splitting: it returns the error Folds would
// return, and otherwise the warnings scikit-learn would emit (nil when there are none).
func (s StratifiedKFold) Check(labels []int) (warnings []string, err error) {
	if err := s.check(len(labels)); err != nil {
		return nil, err
	}
	_, counts, names := classes(labels)
	return s.checkClasses(counts, names)
}

// Assign computes which fold's test part holds each sample, scikit-learn's test_folds:
//
//   - classes are numbered by first appearance in labels (any int values will do);
//   - the encoded labels, sorted, are dealt round-robin, so fold f gets the items at sorted
//     positions f, f+NSplits, f+2*NSplits, ...; this fixes how many members of each class
//     each fold gets (fold sizes, and each class's share of them, differ by at most one);
//   - for each class in turn, its fold numbers [0,..,0, 1,..,1, ...] are shuffled (when
//     Shuffle is true) with numpy's RandomState(Seed), one generator for all classes, and
//     handed to the class's samples in index order.
//
// Errors: NSplits < 2, no labels, NSplits > len(labels), Seed out of range (with Shuffle),
// NSplits greater than the size of every class. When NSplits is greater than the size of only
// some classes, the result holds a warning, as scikit-learn warns.
func (s StratifiedKFold) Assign(labels []int) (*Assignment, error) {
	if err := s.check(len(labels)); err != nil {
		return nil, err
	}
	enc, counts, names := classes(labels)
	warnings, err := s.checkClasses(counts, names)
	if err != nil {
		return nil, err
	}
	k := s.NSplits
	var rng *mt19937
	if s.Shuffle {
		rng = newMT19937(uint32(s.Seed))
	}
	// Fold numbers of every class, class by class in the order of the sorted encoded labels.
	perClass := make([][]int, len(counts))
	sizes := make([]int, k)
	start := 0
	for c, count := range counts {
		fc := make([]int, 0, count)
		end := start + count
		if count >= k {
			for f := 0; f < k; f++ {
				m := countResidue(end, f, k) - countResidue(start, f, k)
				for j := 0; j < m; j++ {
					fc = append(fc, f)
				}
				sizes[f] += m
			}
		} else {
			// Fewer members than folds: each of the folds start%k, start%k+1, ...
			// (wrapping past k-1 to 0) gets one; list them in ascending order.
			s0, e0 := start%k, start%k+count
			if e0 > k {
				for f := 0; f < e0-k; f++ {
					fc = append(fc, f)
				}
				e0 = k
			}
			for f := s0; f < e0; f++ {
				fc = append(fc, f)
			}
			for _, f := range fc {
				sizes[f]++
			}
		}
		if rng != nil {
			rng.shuffle(fc)
		}
		perClass[c] = fc
		start = end
	}
	testFold := make([]int, len(labels))
	next := make([]int, len(counts))
	for i, c := range enc {
		testFold[i] = perClass[c][next[c]]
		next[c]++
	}
	return &Assignment{NSplits: k, TestFold: testFold, Sizes: sizes, Warnings: warnings}, nil
}

// Folds returns the NSplits stratified folds of the samples 0..len(labels)-1, in order,
// exactly as scikit-learn's StratifiedKFold(n_splits=NSplits, shuffle=Shuffle,
// random_state=Seed).split(X, labels) yields them. See Assign for the algorithm and the
// errors; use Assign or Check to see the warnings (Folds drops them). It also returns an
// error when the folds would hold more than MaxIndices indices.
func (s StratifiedKFold) Folds(labels []int) ([]Fold, error) {
	if err := s.check(len(labels)); err != nil {
		return nil, err
	}
	if err := checkTotal("StratifiedKFold", s.NSplits, len(labels)); err != nil {
		return nil, err
	}
	a, err := s.Assign(labels)
	if err != nil {
		return nil, err
	}
	return a.Folds()
}
