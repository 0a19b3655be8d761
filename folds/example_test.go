package folds_test

import (
	"fmt"

	"github.com/selfsup/selfsup/folds"
)

// Stratified 3-fold splits of nine samples of three classes: every Test part holds one sample
// of each class. The folds are those of scikit-learn's StratifiedKFold(3, shuffle=True,
// random_state=0) (checked with scikit-learn 1.2.1).
func ExampleStratifiedKFold() {
	labels := []int{0, 0, 0, 1, 1, 1, 2, 2, 2}
	splits, err := folds.StratifiedKFold{NSplits: 3, Shuffle: true, Seed: 0}.Folds(labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	for f, s := range splits {
		fmt.Println(f, "test", s.Test, "train", s.Train)
	}
	// Output:
	// 0 test [2 4 6] train [0 1 3 5 7 8]
	// 1 test [1 5 8] train [0 2 3 4 6 7]
	// 2 test [0 3 7] train [1 2 4 5 6 8]
}

// Unshuffled KFold: the first n%k folds get one sample more.
func ExampleKFold() {
	splits, err := folds.KFold{NSplits: 3}.Folds(7)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range splits {
		fmt.Println(s.Test)
	}
	// Output:
	// [0 1 2]
	// [3 4]
	// [5 6]
}

// Label budgets of 4 and 8 labels over 16 samples of 4 classes, two runs each: every run holds
// n_labels samples, the same number of each class, and the runs of a budget are disjoint. They
// are the Test parts of folds 0 and 1 of scikit-learn's StratifiedKFold(16/n_labels,
// shuffle=True, random_state=1) (checked with scikit-learn 1.2.1).
func ExampleStratified() {
	labels := []int{3, 1, 0, 2, 1, 0, 2, 3, 0, 1, 3, 2, 2, 0, 3, 1}
	plan, err := folds.Stratified(4, 8).WithRuns(2).WithSeed(1).Plan(labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range plan.Budgets {
		for r, run := range b.Runs {
			classes := make([]int, len(run))
			for i, idx := range run {
				classes[i] = labels[idx]
			}
			fmt.Printf("n_labels=%d run %d: samples %v, labels %v\n", b.NLabels, r, run, classes)
		}
	}
	_, err = folds.Stratified(6).Plan(labels)
	fmt.Println(err)
	// Output:
	// n_labels=4 run 0: samples [1 8 10 11], labels [1 0 3 2]
	// n_labels=4 run 1: samples [9 12 13 14], labels [1 2 0 3]
	// n_labels=8 run 0: samples [1 8 9 10 11 12 13 14], labels [1 0 1 3 2 2 0 3]
	// n_labels=8 run 1: samples [0 2 3 4 5 6 7 15], labels [3 0 2 1 0 2 3 1]
	// folds: Stratified: n_labels=6 does not divide N=16 (n_splits=N/n_labels must be a whole number); budgets near it that divide N: 4, 8
}

// STL-10-style predefined folds: Train is the fold, Test the rest.
func ExamplePredefined() {
	splits, err := folds.Predefined([][]int{{4, 0}, {1, 2}}, 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(splits[0].Train, splits[0].Test)
	_, err = folds.Predefined([][]int{{4, 0}, {1, 5}}, 5)
	fmt.Println(err)
	// Output:
	// [0 4] [1 2 3]
	// folds: Predefined: fold 1, position 1: index 5 is out of range [0, 5)
}
