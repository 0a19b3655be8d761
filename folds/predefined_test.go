package folds

import (
	"slices"
	"strings"
	"testing"
)

// TestPredefined checks Train (the fold, sorted), Test (the rest) and that the input is not
// modified, on overlapping folds like STL-10's.
func TestPredefined(t *testing.T) {
	in := [][]int{{4, 0, 2}, {2, 3}, {5}}
	splits, err := Predefined(in, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := []Fold{
		{Train: []int{0, 2, 4}, Test: []int{1, 3, 5}},
		{Train: []int{2, 3}, Test: []int{0, 1, 4, 5}},
		{Train: []int{5}, Test: []int{0, 1, 2, 3, 4}},
	}
	for f := range want {
		if !slices.Equal(splits[f].Train, want[f].Train) || !slices.Equal(splits[f].Test, want[f].Test) {
			t.Errorf("fold %d = %+v, want %+v", f, splits[f], want[f])
		}
	}
	if in[0][0] != 4 || in[0][1] != 0 {
		t.Errorf("input modified: %v", in)
	}
}

// TestPredefinedSTL10Shape builds 10 folds of 1000 over 5000 samples with overlaps (as STL-10's
// fold_indices.txt has) and checks each split's sizes and ordering.
func TestPredefinedSTL10Shape(t *testing.T) {
	r := newMT19937(1)
	folds := make([][]int, 10)
	for f := range folds {
		perm := make([]int, 5000)
		for i := range perm {
			perm[i] = i
		}
		r.shuffle(perm)
		folds[f] = perm[:1000]
	}
	splits, err := Predefined(folds, 5000)
	if err != nil {
		t.Fatal(err)
	}
	for f, s := range splits {
		if len(s.Train) != 1000 || len(s.Test) != 4000 {
			t.Fatalf("fold %d: %d Train, %d Test", f, len(s.Train), len(s.Test))
		}
		// Test is the complement of the fold, both ascending: the one split partitions 0..4999
		// with the fold as its Test part.
		if err := checkPartition([]Fold{{Train: s.Test, Test: s.Train}, {Train: s.Train, Test: s.Test}}, 5000); err != nil {
			t.Fatalf("fold %d: %v", f, err)
		}
	}
}

// TestPredefinedErrors checks that every bad input is an error naming the fold and position.
func TestPredefinedErrors(t *testing.T) {
	for _, tc := range []struct {
		folds [][]int
		n     int
		want  string
	}{
		{[][]int{{0, 1}}, 0, "n=0"},
		{nil, 5, "no folds"},
		{[][]int{{0}, {}}, 5, "fold 1 is empty"},
		{[][]int{{0, 1}, {2, 5, 1}}, 5, "fold 1, position 1: index 5 is out of range [0, 5)"},
		{[][]int{{0, -1}}, 5, "fold 0, position 1: index -1"},
		{[][]int{{0, 1}, {3, 2, 4, 2}}, 5, "fold 1, position 3: index 2 is already at position 1"},
		{[][]int{{0, 1, 2, 0, 1, 2}}, 3, "fold 0 has 6 indices, more than n=3"},
	} {
		_, err := Predefined(tc.folds, tc.n)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Predefined(%v, %d) = %v, want an error containing %q", tc.folds, tc.n, err, tc.want)
		}
	}
}
