package ssl

import (
	"slices"
	"strings"
	"testing"
)

func TestSubset(t *testing.T) {
	base := newMemSet(10, 3, 4)
	fast := &fillerSet{memSet: base}
	for _, parent := range []Dataset{base, fast} {
		s, err := Subset(parent, []int{7, 2, 2, 9})
		if err != nil {
			t.Fatal(err)
		}
		_, isFiller := s.(BatchFiller)
		_, parentFiller := parent.(BatchFiller)
		if isFiller != parentFiller {
			t.Fatalf("subset BatchFiller = %v, parent %v", isFiller, parentFiller)
		}
		if s.Len() != 4 || !slices.Equal(Labels(s), []int{1, 2, 2, 0}) || len(s.Classes()) != 3 {
			t.Fatalf("Len %d labels %v", s.Len(), Labels(s))
		}
		got := make([]float32, 3*36)
		if err := FillBatch(s, got, []int{3, 0, 1}); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, 3*36)
		if err := FillBatch(base, want, []int{9, 7, 2}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatal("subset batch differs from the parent's images")
		}
		// A subset of a subset refers to the original.
		ss, err := Subset(s, []int{1, 0})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(Labels(ss), []int{2, 1}) {
			t.Fatalf("nested labels %v", Labels(ss))
		}
		switch v := ss.(type) {
		case *subset:
			if v.parent != parent || !slices.Equal(v.idx, []int{2, 7}) {
				t.Fatalf("nested subset not flattened: %v", v.idx)
			}
		case *subsetFiller:
			if v.parent != parent || !slices.Equal(v.idx, []int{2, 7}) {
				t.Fatalf("nested subset not flattened: %v", v.idx)
			}
		}
		// Errors.
		if _, err := Subset(parent, []int{0, 10}); err == nil || !strings.Contains(err.Error(), "index 10 (position 1) out of range [0,10)") {
			t.Fatalf("bad index: %v", err)
		}
		if _, err := Subset(parent, []int{-1}); err == nil {
			t.Fatal("negative index accepted")
		}
		if err := FillBatch(s, got[:5], []int{0}); err == nil {
			t.Fatal("short dst accepted")
		}
		if err := FillBatch(s, make([]float32, 36), []int{4}); err == nil || !strings.Contains(err.Error(), "index 4") {
			t.Fatalf("index past the subset: %v", err)
		}
	}
	if _, err := Subset(nil, nil); err == nil {
		t.Fatal("nil dataset accepted")
	}
	e, err := Subset(fast, nil)
	if err != nil || e.Len() != 0 {
		t.Fatalf("empty subset: %v", err)
	}
}

func TestSubsetLargeBatchUsesFastPath(t *testing.T) {
	fast := &fillerSet{memSet: newMemSet(50, 2, 2)}
	idx := make([]int, 600)
	for k := range idx {
		idx[k] = (k * 7) % 50
	}
	s, err := Subset(fast, idx)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, 600)
	for k := range all {
		all[k] = 599 - k
	}
	got := make([]float32, 600*12)
	fast.calls = 0
	if err := FillBatch(s, got, all); err != nil {
		t.Fatal(err)
	}
	if fast.calls != 3 { // chunks of 256
		t.Fatalf("%d parent FillBatch calls, want 3", fast.calls)
	}
	for k, i := range all {
		want := make([]float32, 12)
		fast.FillBatch(want, []int{idx[i]})
		if !slices.Equal(got[k*12:(k+1)*12], want) {
			t.Fatalf("image %d differs", k)
		}
	}
}
