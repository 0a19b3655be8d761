package folds

import (
	"slices"
	"testing"
)

// FuzzStratifiedKFold runs StratifiedKFold on arbitrary labels and parameters and checks that
// it never panics, fails exactly when scikit-learn would, and otherwise returns a stratified
// partition: every sample in exactly one Test part, Train the complement, both ascending, fold
// sizes and each class's share of them differing by at most one, scikit-learn's warning
// exactly when a class is smaller than NSplits, the classes' fold numbers in index order
// without Shuffle, and the same folds on a second call.
func FuzzStratifiedKFold(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 2, 2, 2, 0}, 3, true, int64(42), uint8(3))
	f.Add([]byte{5, 5, 5}, 2, false, int64(-1), uint8(0))
	f.Add([]byte{}, 2, true, int64(0), uint8(1))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 1, 1, 1}, 4, true, int64(1<<32-1), uint8(255))
	f.Add([]byte{0, 0, 0, 0}, 1, true, int64(1<<32), uint8(7))
	f.Fuzz(func(t *testing.T, raw []byte, nSplits int, shuffle bool, seed int64, spread uint8) {
		if len(raw) > 1024 {
			raw = raw[:1024]
		}
		// spread scales the bytes into labels far apart, negative ones included.
		labels := make([]int, len(raw))
		for i, b := range raw {
			labels[i] = (int(b) - 128) * (int(spread) + 1)
		}
		s := StratifiedKFold{NSplits: nSplits, Shuffle: shuffle, Seed: seed}
		a, err := s.Assign(labels)
		splits, serr := s.Folds(labels)
		_, cerr := s.Check(labels)

		counts := map[int]int{}
		for _, y := range labels {
			counts[y]++
		}
		maxCount, minCount := 0, len(labels)
		for _, c := range counts {
			maxCount = max(maxCount, c)
			minCount = min(minCount, c)
		}
		n := len(labels)
		wantErr := nSplits < 2 || n == 0 || nSplits > n || (shuffle && (seed < 0 || seed > 1<<32-1)) || nSplits > maxCount
		if (err != nil) != wantErr || (serr != nil) != wantErr || (cerr != nil) != wantErr {
			t.Fatalf("%+v on %d labels (%d classes, largest %d): Assign %v, Folds %v, Check %v; want error: %v",
				s, n, len(counts), maxCount, err, serr, cerr, wantErr)
		}
		if wantErr {
			return
		}
		if (len(a.Warnings) > 0) != (nSplits > minCount) {
			t.Fatalf("%+v: warnings %q with least populated class of %d", s, a.Warnings, minCount)
		}
		if err := checkPartition(splits, n); err != nil {
			t.Fatal(err)
		}
		// Each class's share of each fold, and the fold sizes, differ by at most one.
		share := map[int][]int{}
		for y := range counts {
			share[y] = make([]int, nSplits)
		}
		for i, fold := range a.TestFold {
			share[labels[i]][fold]++
		}
		lo, hi := n, 0
		for fold, sp := range splits {
			lo, hi = min(lo, len(sp.Test)), max(hi, len(sp.Test))
			if len(sp.Test) != a.Sizes[fold] {
				t.Fatalf("fold %d: %d Test samples, Sizes says %d", fold, len(sp.Test), a.Sizes[fold])
			}
			for _, i := range sp.Test {
				if a.TestFold[i] != fold {
					t.Fatalf("sample %d is in Test of fold %d, TestFold says %d", i, fold, a.TestFold[i])
				}
			}
		}
		if hi-lo > 1 {
			t.Fatalf("fold sizes range from %d to %d", lo, hi)
		}
		for y, sh := range share {
			clo, chi := n, 0
			for _, c := range sh {
				clo, chi = min(clo, c), max(chi, c)
			}
			if chi-clo > 1 {
				t.Fatalf("class %d: its share of the folds ranges from %d to %d", y, clo, chi)
			}
		}
		if !shuffle {
			last := map[int]int{}
			for i, fold := range a.TestFold {
				if fold < last[labels[i]] {
					t.Fatalf("unshuffled: sample %d (class %d) in fold %d after fold %d", i, labels[i], fold, last[labels[i]])
				}
				last[labels[i]] = fold
			}
		}
		b, err := s.Assign(labels)
		if err != nil || !slices.Equal(a.TestFold, b.TestFold) {
			t.Fatalf("second Assign differs (%v)", err)
		}
	})
}
