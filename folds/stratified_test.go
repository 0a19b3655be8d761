package folds

import (
	"path/filepath"
	"strings"
	"testing"
)

// skfCase is one case of the scikit-learn StratifiedKFold references.
type skfCase struct {
	Y           []int    `json:"y"`
	NSplits     int      `json:"n_splits"`
	Shuffle     bool     `json:"shuffle"`
	RandomState *int64   `json:"random_state"`
	TestFold    []int    `json:"test_fold"`
	Warnings    []string `json:"warnings"`
	Error       string   `json:"error"`
}

// skfFile is the layout of the reference files.
type skfFile struct {
	Generator string    `json:"generator"`
	Cases     []skfCase `json:"cases"`
	Errors    []skfCase `json:"errors"`
}

// kfold returns the splitter of the case (Seed 0 when random_state is None).
func (c skfCase) kfold() StratifiedKFold {
	s := StratifiedKFold{NSplits: c.NSplits, Shuffle: c.Shuffle}
	if c.RandomState != nil {
		s.Seed = *c.RandomState
	}
	return s
}

// checkSKFCases runs every case through Assign and Folds and compares them with scikit-learn,
// fold by fold and sample by sample. It returns the number of cases checked.
func checkSKFCases(t *testing.T, file string, cases []skfCase, checkWarnings bool) int {
	t.Helper()
	for ci, c := range cases {
		s := c.kfold()
		a, err := s.Assign(c.Y)
		if err != nil {
			t.Errorf("%s case %d (%+v): %v", file, ci, s, err)
			continue
		}
		for i, g := range a.TestFold {
			if g != c.TestFold[i] {
				t.Errorf("%s case %d (%+v, n=%d): sample %d is in fold %d, scikit-learn says %d", file, ci, s, len(c.Y), i, g, c.TestFold[i])
				break
			}
		}
		splits, err := s.Folds(c.Y)
		if err != nil {
			t.Errorf("%s case %d: Folds: %v", file, ci, err)
			continue
		}
		if err := checkAgainstTestFold(splits, c.TestFold, c.NSplits); err != nil {
			t.Errorf("%s case %d (%+v): %v", file, ci, s, err)
		}
		if checkWarnings && (len(a.Warnings) > 0) != (len(c.Warnings) > 0) {
			t.Errorf("%s case %d (%+v): warnings %q, scikit-learn %q", file, ci, s, a.Warnings, c.Warnings)
		}
		w, err := s.Check(c.Y)
		if err != nil || len(w) != len(a.Warnings) {
			t.Errorf("%s case %d: Check = %q, %v; Assign warned %q", file, ci, w, err, a.Warnings)
		}
	}
	return len(cases)
}

// TestStratifiedKFoldReferenceSmall checks the cases under 50,000 labels of the shared
// scikit-learn 1.2.1 reference, from the committed copy in testdata.
func TestStratifiedKFoldReferenceSmall(t *testing.T) {
	var ref skfFile
	path := filepath.Join("testdata", "sklearn_stratified_kfold_small.json")
	readJSON(t, path, &ref)
	if n := checkSKFCases(t, path, ref.Cases, false); n < 20 {
		t.Fatalf("only %d cases in %s", n, path)
	}
}

// TestStratifiedKFoldReferenceShared checks every case of the shared reference file,
// including the two over the 50,000 CIFAR-10 training labels.
func TestStratifiedKFoldReferenceShared(t *testing.T) {
	path := filepath.Join(sharedDir(t), "testdata", "sklearn_stratified_kfold.json")
	var ref skfFile
	readJSON(t, path, &ref)
	big := 0
	for _, c := range ref.Cases {
		if len(c.Y) >= 50000 {
			big++
		}
	}
	if n := checkSKFCases(t, path, ref.Cases, false); n < 20 || big == 0 {
		t.Fatalf("%s: %d cases, %d with 50,000 labels", path, n, big)
	}
}

// TestStratifiedKFoldReferenceExtra checks edge cases generated with scikit-learn
// (gen_stratified.py): negative and sparse labels, one class, NSplits equal to the number of
// samples, classes smaller than NSplits (with scikit-learn's warning), extreme seeds; and
// that every input scikit-learn rejects is rejected, with the parameter named.
func TestStratifiedKFoldReferenceExtra(t *testing.T) {
	var ref skfFile
	path := filepath.Join("testdata", "sklearn_stratified_extra.json")
	readJSON(t, path, &ref)
	warned := 0
	for _, c := range ref.Cases {
		if len(c.Warnings) > 0 {
			warned++
		}
	}
	if n := checkSKFCases(t, path, ref.Cases, true); n < 10 || warned == 0 {
		t.Fatalf("%s: %d cases, %d with warnings", path, n, warned)
	}
	if len(ref.Errors) < 5 {
		t.Fatalf("%s: only %d error cases", path, len(ref.Errors))
	}
	for _, c := range ref.Errors {
		s := c.kfold()
		_, err := s.Folds(c.Y)
		if err == nil {
			t.Errorf("%+v on %v: no error; scikit-learn: %s", s, c.Y, c.Error)
			continue
		}
		if _, err2 := s.Check(c.Y); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%+v: Check error %v differs from Folds error %v", s, err2, err)
		}
		want := "NSplits="
		if strings.Contains(c.Error, "Seed") {
			want = "Seed="
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %q does not name %q (scikit-learn: %s)", s, err, want, c.Error)
		}
	}
}

// TestStratifiedKFoldErrors covers the rejections scikit-learn has no counterpart for.
func TestStratifiedKFoldErrors(t *testing.T) {
	for _, tc := range []struct {
		s      StratifiedKFold
		labels []int
		want   string
	}{
		{StratifiedKFold{NSplits: 2}, nil, "labels is empty"},
		{StratifiedKFold{NSplits: -3}, []int{1, 2}, "NSplits=-3"},
		{StratifiedKFold{NSplits: 2, Shuffle: true, Seed: -5}, []int{1, 1, 2, 2}, "Seed=-5"},
		{StratifiedKFold{NSplits: 3}, []int{1, 1, 2, 2, 4, 4}, "largest class, label 1, has 2"},
	} {
		_, err := tc.s.Folds(tc.labels)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Folds(%v) = %v, want an error containing %q", tc.s, tc.labels, err, tc.want)
		}
	}
	// Shuffle=false ignores Seed, even one numpy would reject.
	if _, err := (StratifiedKFold{NSplits: 2, Seed: -1}).Folds([]int{0, 0, 1, 1}); err != nil {
		t.Errorf("Seed with Shuffle=false: %v", err)
	}
}

// TestAssignmentFold checks Fold, Test and their range errors.
func TestAssignmentFold(t *testing.T) {
	labels := []int{0, 1, 0, 1, 0, 1, 2, 2, 2}
	a, err := StratifiedKFold{NSplits: 3, Shuffle: true, Seed: 3}.Assign(labels)
	if err != nil {
		t.Fatal(err)
	}
	splits, err := a.Folds()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPartition(splits, len(labels)); err != nil {
		t.Fatal(err)
	}
	for f := range splits {
		s, err := a.Fold(f)
		if err != nil {
			t.Fatal(err)
		}
		test, err := a.Test(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(test) != 3 || len(s.Test) != 3 || len(s.Train) != 6 {
			t.Fatalf("fold %d: Test %v / %v, Train %v", f, test, s.Test, s.Train)
		}
		for i := range test {
			if test[i] != s.Test[i] || test[i] != splits[f].Test[i] {
				t.Fatalf("fold %d: Test %v, Fold %v, Folds %v disagree", f, test, s.Test, splits[f].Test)
			}
		}
		// One member of each class per fold: the classes have 3 members and there are 3 folds.
		seen := map[int]bool{}
		for _, i := range test {
			seen[labels[i]] = true
		}
		if len(seen) != 3 {
			t.Fatalf("fold %d: Test %v does not hold one of each class", f, test)
		}
	}
	for _, f := range []int{-1, 3} {
		if _, err := a.Fold(f); err == nil || !strings.Contains(err.Error(), "f=") {
			t.Errorf("Fold(%d) = %v, want a range error naming f", f, err)
		}
		if _, err := a.Test(f); err == nil {
			t.Errorf("Test(%d): no error", f)
		}
	}
}

// TestAssignmentInconsistent checks that an Assignment built by hand wrongly is an error, not a
// panic.
func TestAssignmentInconsistent(t *testing.T) {
	for _, tc := range []struct {
		a    Assignment
		want string
	}{
		{Assignment{NSplits: 2, TestFold: []int{0, 1}, Sizes: []int{1}}, "NSplits=2 with 1 Sizes"},
		{Assignment{NSplits: 0}, "NSplits=0"},
		{Assignment{NSplits: 2, TestFold: []int{0, 2}, Sizes: []int{1, 1}}, "TestFold[1]=2"},
		{Assignment{NSplits: 2, TestFold: []int{0, -1}, Sizes: []int{1, 1}}, "TestFold[1]=-1"},
		{Assignment{NSplits: 2, TestFold: []int{0, 0}, Sizes: []int{1, 1}}, "Sizes[0]=1"},
	} {
		if _, err := tc.a.Folds(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Folds() = %v, want %q", tc.a, err, tc.want)
		}
		if _, err := tc.a.Fold(0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Fold(0) = %v, want %q", tc.a, err, tc.want)
		}
		if _, err := tc.a.Test(0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Test(0) = %v, want %q", tc.a, err, tc.want)
		}
	}
}

// TestMaxIndices checks that an output too large to allocate is an error, not a crash.
func TestMaxIndices(t *testing.T) {
	if err := checkTotal("x", 3, MaxIndices/2); err == nil {
		t.Error("3 splits of MaxIndices/2 samples accepted")
	}
	if err := checkTotal("x", 2, MaxIndices/2); err != nil {
		t.Errorf("2 splits of MaxIndices/2 samples: %v", err)
	}
	if _, err := (KFold{NSplits: 2}).Folds(MaxIndices); err == nil || !strings.Contains(err.Error(), "MaxIndices") {
		t.Errorf("KFold.Folds(MaxIndices) = %v, want a MaxIndices error", err)
	}
	if _, err := (KFold{NSplits: 2}).Assign(MaxIndices + 1); err == nil {
		t.Error("KFold.Assign(MaxIndices+1) accepted")
	}
}

// cifarLabels returns the 50,000 CIFAR-10 training labels from the shared reference, or
// skips.
func cifarLabels(t testing.TB) []int {
	path := filepath.Join(sharedDir(t), "testdata", "sklearn_stratified_kfold.json")
	var ref skfFile
	readJSON(t, path, &ref)
	for _, c := range ref.Cases {
		if len(c.Y) == 50000 {
			return c.Y
		}
	}
	t.Skipf("%s holds no 50,000-label case", path)
	return nil
}

// BenchmarkStratifiedKFold50k measures the split of the 50,000 CIFAR-10 training labels into
// 10 shuffled folds (Assign: the fold of each sample; Folds: all ten index lists).
func BenchmarkStratifiedKFold50k(b *testing.B) {
	labels := cifarLabels(b)
	s := StratifiedKFold{NSplits: 10, Shuffle: true, Seed: 42}
	b.Run("Assign", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Assign(labels); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Folds", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Folds(labels); err != nil {
				b.Fatal(err)
			}
		}
	})
}
