package folds

import (
	"path/filepath"
	"strings"
	"testing"
)

// kfCase is one case of testdata/kfold.json (gen_kfold.py).
type kfCase struct {
	N           int    `json:"n"`
	NSplits     int    `json:"n_splits"`
	Shuffle     bool   `json:"shuffle"`
	RandomState *int64 `json:"random_state"`
	TestFold    []int  `json:"test_fold"`
	Error       string `json:"error"`
}

func (c kfCase) kfold() KFold {
	s := KFold{NSplits: c.NSplits, Shuffle: c.Shuffle}
	if c.RandomState != nil {
		s.Seed = *c.RandomState
	}
	return s
}

// TestKFoldReference compares KFold with scikit-learn's KFold fold by fold, sample by sample,
// and checks that everything scikit-learn rejects is rejected with the parameter named.
func TestKFoldReference(t *testing.T) {
	var ref struct {
		Cases  []kfCase `json:"cases"`
		Errors []kfCase `json:"errors"`
	}
	readJSON(t, filepath.Join("testdata", "kfold.json"), &ref)
	if len(ref.Cases) < 20 || len(ref.Errors) < 4 {
		t.Fatalf("testdata/kfold.json: %d cases, %d error cases", len(ref.Cases), len(ref.Errors))
	}
	shuffled := 0
	for ci, c := range ref.Cases {
		s := c.kfold()
		if s.Shuffle {
			shuffled++
		}
		splits, err := s.Folds(c.N)
		if err != nil {
			t.Errorf("case %d (%+v, n=%d): %v", ci, s, c.N, err)
			continue
		}
		if err := checkAgainstTestFold(splits, c.TestFold, c.NSplits); err != nil {
			t.Errorf("case %d (%+v, n=%d): %v", ci, s, c.N, err)
		}
		// Fold sizes: the first n%k folds have one more.
		for f, sp := range splits {
			want := c.N / c.NSplits
			if f < c.N%c.NSplits {
				want++
			}
			if len(sp.Test) != want {
				t.Errorf("case %d: fold %d has %d Test samples, want %d", ci, f, len(sp.Test), want)
			}
		}
	}
	if shuffled < 5 {
		t.Errorf("only %d shuffled cases", shuffled)
	}
	for _, c := range ref.Errors {
		s := c.kfold()
		_, err := s.Folds(c.N)
		if err == nil {
			t.Errorf("%+v.Folds(%d): no error; scikit-learn: %s", s, c.N, c.Error)
			continue
		}
		want := "NSplits="
		if strings.Contains(c.Error, "Seed") {
			want = "Seed="
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%+v.Folds(%d) = %q, want it to name %q (scikit-learn: %s)", s, c.N, err, want, c.Error)
		}
	}
}

// TestKFoldEdges covers inputs scikit-learn cannot be asked about and Seed being ignored
// without Shuffle.
func TestKFoldEdges(t *testing.T) {
	for _, n := range []int{-1, 0, 1} {
		if _, err := (KFold{NSplits: 2}).Folds(n); err == nil || !strings.Contains(err.Error(), "n=") {
			t.Errorf("Folds(%d) = %v, want an error naming n", n, err)
		}
	}
	a, err := KFold{NSplits: 3, Seed: -7}.Folds(7)
	if err != nil {
		t.Fatalf("Seed with Shuffle=false: %v", err)
	}
	if err := checkPartition(a, 7); err != nil {
		t.Fatal(err)
	}
	if got := a[0].Test; len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Errorf("unshuffled fold 0 = %v, want [0 1 2]", got)
	}
}
