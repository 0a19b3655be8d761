// Package folds splits labeled samples for cross-validation and label budgets, reproducing
// scikit-learn's splitters exactly, so that an experiment run here uses the very samples a
// scikit-learn run with the same seed would.
//
// # Splitters
//
// StratifiedKFold and KFold return, for the same labels (or sample count), n_splits, shuffle
// and integer random_state, exactly the folds of scikit-learn's
// sklearn.model_selection.StratifiedKFold (0.22 and later) and KFold. The shuffles use a
// reimplementation of numpy's legacy RandomState (MT19937 seeded by init_genrand, masked
// rejection sampling), since Go's math/rand draws other numbers. Each fold is a Fold with
// Train and Test index lists in ascending order (Folds returns them all). Assign returns the compact form, the fold of
// each sample (an Assignment), from which single folds can be taken one at a time.
//
// Labels may be any ints (negative, sparse): like scikit-learn, classes are numbered by first
// appearance. The errors are scikit-learn's (NSplits < 2, more splits than samples, NSplits
// greater than every class's size, a seed outside [0, 2^32-1]), with the parameter and value
// named. Where scikit-learn only warns (a class smaller than NSplits), the warning is returned
// in Assignment.Warnings or by Check, never printed. Seed is ignored without Shuffle
// (scikit-learn rejects a random_state there; an int64 cannot be unset).
//
// Predefined turns given folds, such as STL-10's ten training folds of 1000, into Folds.
//
// # Label budgets
//
// Stratified describes the labeled subsets of a semi-supervised comparison: for a budget of
// n_labels out of N labeled samples, run r trains on the held-out part of fold r of
// StratifiedKFold(n_splits = N/n_labels, shuffle = true, seed). Its Plan checks everything
// that can be checked before training (N divisible by n_labels, at least one label per class,
// enough folds for the runs, exact class balance unless AllowUnbalanced) and returns a Plan,
// which WriteJSON and WriteCSV write for use elsewhere and ReadPlanJSON reads back.
//
// # Size
//
// A call that returns all splits returns NSplits times the number of samples indices; above
// MaxIndices it returns an error, and Assignment.Fold gives one fold at a time instead.
// Nothing panics on bad input.
package folds
