package folds

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns the project's shared/ folder: $SELFSUP_SHARED when set, otherwise
// ../shared next to the module root (found by walking up from the working directory to
// go.mod). It skips the test when the folder is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SELFSUP_SHARED"); d != "" {
		if _, err := os.Stat(d); err != nil {
			t.Skipf("SELFSUP_SHARED=%s is not readable (%v); skipping the test that needs shared/", d, err)
		}
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Skipf("no working directory (%v); skipping the test that needs shared/", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the working directory; skipping the test that needs shared/")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("%s is absent (set SELFSUP_SHARED to use another place); skipping the test that needs it", d)
	}
	return d
}

// readJSON decodes the JSON file path into v, failing the test on any error.
func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkAgainstTestFold checks splits fold by fold against a reference test-fold assignment:
// Test of fold f must be exactly the ascending samples with want[i] == f and Train the other
// samples, ascending.
func checkAgainstTestFold(splits []Fold, want []int, nSplits int) error {
	if len(splits) != nSplits {
		return fmt.Errorf("%d splits, want %d", len(splits), nSplits)
	}
	for f, s := range splits {
		ti, tr := 0, 0
		for i, g := range want {
			if g == f {
				if ti >= len(s.Test) || s.Test[ti] != i {
					return fmt.Errorf("fold %d: Test position %d: want sample %d, got %v", f, ti, i, at(s.Test, ti))
				}
				ti++
			} else {
				if tr >= len(s.Train) || s.Train[tr] != i {
					return fmt.Errorf("fold %d: Train position %d: want sample %d, got %v", f, tr, i, at(s.Train, tr))
				}
				tr++
			}
		}
		if ti != len(s.Test) || tr != len(s.Train) {
			return fmt.Errorf("fold %d: %d Test and %d Train samples, want %d and %d", f, len(s.Test), len(s.Train), ti, tr)
		}
	}
	return nil
}

// at formats v[i], or "nothing" past the end.
func at(v []int, i int) any {
	if i < len(v) {
		return v[i]
	}
	return "nothing"
}

// checkPartition checks the invariants of any k-fold result over n samples: every sample is
// in exactly one Test part, Train is the complement of Test, and both are ascending.
func checkPartition(splits []Fold, n int) error {
	inTest := make([]int, n)
	for f, s := range splits {
		if len(s.Train)+len(s.Test) != n {
			return fmt.Errorf("fold %d: %d Train + %d Test samples, want %d in all", f, len(s.Train), len(s.Test), n)
		}
		mark := make([]bool, n)
		for name, part := range map[string][]int{"Train": s.Train, "Test": s.Test} {
			for p, i := range part {
				if i < 0 || i >= n {
					return fmt.Errorf("fold %d: %s position %d: index %d out of range", f, name, p, i)
				}
				if p > 0 && i <= part[p-1] {
					return fmt.Errorf("fold %d: %s position %d: %d after %d is not ascending", f, name, p, i, part[p-1])
				}
				if mark[i] {
					return fmt.Errorf("fold %d: sample %d is in both Train and Test", f, i)
				}
				mark[i] = true
			}
		}
		for _, i := range s.Test {
			inTest[i]++
		}
	}
	for i, c := range inTest {
		if c != 1 {
			return fmt.Errorf("sample %d is in %d Test parts, want 1", i, c)
		}
	}
	return nil
}
