package exec

import (
	"context"
	"fmt"
	"hash"
	"testing"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// packOp returns [x, 2x] for a float32 vector x, into the preallocated value.
type packOp struct{ n int }

func (packOp) Arity() int { return 1 }
func (packOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op packOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.Shape{2 * op.n}, nil }
func (op packOp) Do(vs ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2*op.n)), vs...)
}
func (op packOp) UsePreallocDo(p G.Value, vs ...G.Value) (G.Value, error) {
	dst, src := p.(*tensor.Dense).Float32s(), vs[0].(*tensor.Dense).Float32s()
	for i, v := range src {
		dst[i], dst[op.n+i] = v, 2*v
	}
	return p, nil
}
func (packOp) ReturnsPtr() bool         { return false }
func (packOp) CallsExtern() bool        { return false }
func (packOp) OverwritesInput() int     { return -1 }
func (op packOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "pack", op.n) }
func (packOp) Hashcode() uint32         { return 7 }
func (packOp) String() string           { return "pack" }

// partOp is elements [off, off+n) of its input, as a Slicer; its Do copies.
type partOp struct{ off, n int }

func (partOp) Arity() int { return 1 }
func (partOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}
func (op partOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.Shape{op.n}, nil }
func (op partOp) Do(vs ...G.Value) (G.Value, error) {
	src := vs[0].(*tensor.Dense).Float32s()
	if op.off+op.n > len(src) { // out of range: zeros
		return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(op.n)), nil
	}
	return tensor.New(tensor.WithShape(op.n), tensor.WithBacking(append([]float32(nil), src[op.off:op.off+op.n]...))), nil
}
func (partOp) ReturnsPtr() bool         { return false }
func (partOp) CallsExtern() bool        { return false }
func (partOp) OverwritesInput() int     { return -1 }
func (op partOp) WriteHash(h hash.Hash) { fmt.Fprint(h, "part", op.off, op.n) }
func (op partOp) Hashcode() uint32      { return uint32(8 + op.off) }
func (op partOp) String() string        { return fmt.Sprintf("part%d", op.off) }
func (op partOp) SliceOf() (int, int)   { return 0, op.off }

// TestSlicer: parts of a packed value are views at their offsets, both over a
// planned buffer and over a caller-bound tensor; the packed buffer lives until
// the parts are read; a kept part keeps it; a part that does not fit runs Do.
func TestSlicer(t *testing.T) {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))))
	p := G.Must(G.ApplyOp(packOp{3}, x))
	lo := G.Must(G.ApplyOp(partOp{0, 3}, p))
	hi := G.Must(G.ApplyOp(partOp{3, 3}, p))
	mid := G.Must(G.ApplyOp(partOp{1, 2}, x)) // a view of caller memory
	s := G.Must(G.ApplyOp(addOp{}, lo, hi))   // 3x
	s3 := G.Must(G.ApplyOp(scaleOp{10}, s))   // planned after the parts die
	kept := G.Must(G.ApplyOp(partOp{4, 2}, p))
	bad := G.Must(G.ApplyOp(partOp{5, 2}, kept)) // does not fit in 2 elements: Do
	for _, keepHi := range []bool{false, true} {
		opts := []Option{Outputs(s3, mid, bad, kept)}
		if keepHi {
			opts = append(opts, Keep(hi))
		}
		m, err := New(g, opts...)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, m)
		if st := m.Stats(); st.Views != 4 || st.Copy != 1 {
			t.Fatalf("stats %+v: want 4 views (three parts of the packed value, one of x) and one copy", st)
		}
		for run := 0; run < 2; run++ {
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				n    *G.Node
				want []float32
			}{{s3, []float32{30, 60, 90}}, {mid, []float32{2, 3}}, {kept, []float32{4, 6}}, {bad, []float32{0, 0}}} {
				got, err := m.Float32s(c.n)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Fatalf("keepHi=%v run %d: %v = %v, want %v", keepHi, run, c.n.Op(), got, c.want)
				}
			}
			if keepHi {
				if got, err := m.Float32s(hi); err != nil || fmt.Sprint(got) != "[2 4 6]" {
					t.Fatalf("kept part: %v, %v", got, err)
				}
			}
		}
		if !m.slots[m.index[kept.ID()]].kept || !m.slots[m.index[p.ID()]].kept {
			t.Fatal("a kept part does not keep the packed value it views")
		}
	}
}
