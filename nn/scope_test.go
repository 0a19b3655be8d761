package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
)

func TestScopeSharesParamsAcrossGraphs(t *testing.T) {
	ps := NewParams(1)
	a := NewScope(G.NewGraph(), ps, true).In("block")
	b := NewScope(G.NewGraph(), ps, false).In("block")
	na := a.Variable("kernel", []int{4, 3, 3, 3}, HeNormal, true)
	nb := b.Variable("kernel", []int{4, 3, 3, 3}, HeNormal, true)
	if na.Value() != nb.Value() {
		t.Fatalf("two graphs of one Params see different tensors")
	}
	if got := ps.Get("block/kernel"); got == nil {
		t.Fatalf("parameter not named block/kernel")
	}
	if tr, non := ps.Count(); tr != 108 || non != 0 {
		t.Fatalf("Count = %d, %d; want 108, 0", tr, non)
	}
	if b.Variable("kernel", []int{4, 3, 3}, HeNormal, true) != nil || b.Err() == nil {
		t.Fatalf("a shape mismatch was not recorded as an error")
	}
}

func TestParamsSeeded(t *testing.T) {
	mk := func(seed uint64) []float32 {
		ps := NewParams(seed)
		p, err := ps.Variable("w", []int{16, 16, 3, 3}, HeNormal, true)
		if err != nil {
			t.Fatal(err)
		}
		return p.Data()
	}
	x, y, z := mk(7), mk(7), mk(8)
	same, diff := true, false
	for i := range x {
		same = same && x[i] == y[i]
		diff = diff || x[i] != z[i]
	}
	if !same || !diff {
		t.Fatalf("seeding: same seed equal=%v, other seed differs=%v", same, diff)
	}
}
