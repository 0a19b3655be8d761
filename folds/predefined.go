package folds

import (
	"fmt"
	"sort"
)

// Predefined turns folds given as index lists, such as STL-10's 10 predefined training folds
// of 1000 images each (fold_indices.txt), into Folds of the samples 0..n-1.
//
// Fold f has Train = the indices of folds[f] (sorted ascending): the labeled training set of
// run f. Test = every other sample in 0..n-1, ascending: the labeled samples that run f did not
// train on, usable for validation. (STL-10's folds overlap one another and together do not
// have to cover 0..n-1; both are allowed.)
//
// Errors, naming the fold and the position in it: an index outside [0, n), an index listed
// twice in the same fold (with both positions), an empty fold; also n < 1 or no folds.
// The input is not modified.
func Predefined(folds [][]int, n int) ([]Fold, error) {
	if n < 1 {
		return nil, fmt.Errorf("folds: Predefined: n=%d: need at least 1 sample", n)
	}
	if len(folds) == 0 {
		return nil, fmt.Errorf("folds: Predefined: no folds given")
	}
	if err := checkTotal("Predefined", len(folds), n); err != nil {
		return nil, err
	}
	// seen[i] is 1 + the position of index i in the fold being checked, 0 when absent; the
	// fold number stamps entries so seen need not be cleared between folds.
	seen := make([]int, n)
	stamp := make([]int, n)
	out := make([]Fold, len(folds))
	for f, fold := range folds {
		if len(fold) == 0 {
			return nil, fmt.Errorf("folds: Predefined: fold %d is empty", f)
		}
		if len(fold) > n {
			return nil, fmt.Errorf("folds: Predefined: fold %d has %d indices, more than n=%d samples", f, len(fold), n)
		}
		for p, i := range fold {
			if i < 0 || i >= n {
				return nil, fmt.Errorf("folds: Predefined: fold %d, position %d: index %d is out of range [0, %d)", f, p, i, n)
			}
			if stamp[i] == f+1 {
				return nil, fmt.Errorf("folds: Predefined: fold %d, position %d: index %d is already at position %d of the same fold", f, p, i, seen[i]-1)
			}
			stamp[i], seen[i] = f+1, p+1
		}
		train := append([]int(nil), fold...)
		sort.Ints(train)
		test := make([]int, 0, n-len(fold))
		for i := 0; i < n; i++ {
			if stamp[i] != f+1 {
				test = append(test, i)
			}
		}
		out[f] = Fold{Train: train, Test: test}
	}
	return out, nil
}
