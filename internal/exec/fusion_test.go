package exec

import (
	"context"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fusingAddOp is addOp that fuses with a following scaleOp into addScaleOp.
type fusingAddOp struct{ addOp }

func (fusingAddOp) FuseInto(next G.Op, arg int) G.Op {
	switch n := next.(type) {
	case scaleOp:
		return addScaleOp{c: n.c, runs: new(int)}
	case addOp:
		return add3Op{}
	}
	return nil
}

// add3Op is a + b + c.
type add3Op struct{ addOp }

func (add3Op) UsePreallocDo(p G.Value, vs ...G.Value) (G.Value, error) {
	dst := p.(*tensor.Dense).Float32s()
	a, b, c := vs[0].(*tensor.Dense).Float32s(), vs[1].(*tensor.Dense).Float32s(), vs[2].(*tensor.Dense).Float32s()
	for i := range dst {
		dst[i] = a[i] + b[i] + c[i]
	}
	return p, nil
}

// addScaleOp is c·(a + b) in one pass; it counts its runs.
type addScaleOp struct {
	addOp
	c    float32
	runs *int
}

func (op addScaleOp) UsePreallocDo(p G.Value, vs ...G.Value) (G.Value, error) {
	*op.runs++
	dst, a, b := p.(*tensor.Dense).Float32s(), vs[0].(*tensor.Dense).Float32s(), vs[1].(*tensor.Dense).Float32s()
	for i := range dst {
		dst[i] = op.c * (a[i] + b[i])
	}
	return p, nil
}

func TestFusion(t *testing.T) {
	vec := func(g *G.ExprGraph, name string, v ...float32) *G.Node {
		return G.NewVector(g, tensor.Float32, G.WithShape(len(v)), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))))
	}
	build := func() (g *G.ExprGraph, x, s, z *G.Node) {
		g = G.NewGraph()
		x, y := vec(g, "x", 1, 2, 3), vec(g, "y", 10, 20, 30)
		s = G.Must(G.ApplyOp(fusingAddOp{}, x, y))
		z = G.Must(G.ApplyOp(scaleOp{2}, s))
		return g, x, s, z
	}
	run := func(t *testing.T, m *Machine, z *G.Node, want ...float32) {
		t.Helper()
		checkPlan(t, m)
		for i := 0; i < 2; i++ {
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err := m.Float32s(z)
			if err != nil {
				t.Fatal(err)
			}
			for j := range want {
				if got[j] != want[j] {
					t.Fatalf("run %d: %v, want %v", i, got, want)
				}
			}
		}
	}

	t.Run("fused", func(t *testing.T) {
		g, _, s, z := build()
		m, err := New(g, Outputs(z))
		if err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Fused != 1 || st.Nodes != 1 || st.Prealloc != 1 {
			t.Fatalf("stats %+v: want one step with one node fused into it", st)
		}
		op, ok := m.steps[0].op.(addScaleOp)
		if !ok {
			t.Fatalf("the step runs %v, want the fused op", m.steps[0].op)
		}
		run(t, m, z, 22, 44, 66)
		if *op.runs != 2 {
			t.Fatalf("the fused op ran %d times in 2 runs", *op.runs)
		}
		if _, err := m.Value(s); err == nil || !strings.Contains(err.Error(), "fused") {
			t.Fatalf("Value of the fused node: %v, want an error saying it was fused", err)
		}
	})
	t.Run("NoFusion", func(t *testing.T) {
		g, _, s, z := build()
		m, err := New(g, Outputs(z), NoFusion(), Keep(s))
		if err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Fused != 0 || st.Nodes != 2 {
			t.Fatalf("stats %+v", st)
		}
		run(t, m, z, 22, 44, 66)
	})
	t.Run("kept", func(t *testing.T) {
		g, _, s, z := build()
		m, err := New(g, Outputs(z), Keep(s))
		if err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Fused != 0 {
			t.Fatalf("a kept node was fused: %+v", st)
		}
		run(t, m, z, 22, 44, 66)
		if v, err := m.Float32s(s); err != nil || v[2] != 33 {
			t.Fatalf("kept node: %v, %v", v, err)
		}
	})
	t.Run("two consumers", func(t *testing.T) {
		g, _, s, z := build()
		z2 := G.Must(G.ApplyOp(scaleOp{-1}, s))
		m, err := New(g, Outputs(z, z2))
		if err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Fused != 0 {
			t.Fatalf("a node read twice was fused: %+v", st)
		}
		run(t, m, z2, -11, -22, -33)
	})
	t.Run("consumer with two inputs", func(t *testing.T) {
		for _, second := range []bool{false, true} {
			g, x, s, _ := build()
			v := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("v"),
				G.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{100, 200, 300}))))
			w := G.Must(G.ApplyOp(addOp{}, s, v)) // s + v, s first
			if second {
				w = G.Must(G.ApplyOp(addOp{}, v, s)) // v + s, s second
			}
			w2 := G.Must(G.ApplyOp(addOp{}, w, x))
			m, err := New(g, Outputs(w2))
			if err != nil {
				t.Fatal(err)
			}
			if st := m.Stats(); st.Fused != 1 || st.Nodes != 2 {
				t.Fatalf("second=%v: stats %+v: want s fused into its two-input consumer", second, st)
			}
			if _, ok := m.steps[0].op.(add3Op); !ok {
				t.Fatalf("second=%v: first step runs %v", second, m.steps[0].op)
			}
			run(t, m, w2, 112, 224, 336)
		}
	})
}

// slowScaleOp is scaleOp under another type, which the test replacer swaps for
// a counting scaleOp.
type slowScaleOp struct{ scaleOp }

func (slowScaleOp) String() string { return "slowScale" }

var replacedRuns = new(int)

// countingScaleOp is scaleOp counting its runs.
type countingScaleOp struct{ scaleOp }

func (op countingScaleOp) UsePreallocDo(p G.Value, vs ...G.Value) (G.Value, error) {
	*replacedRuns++
	return op.scaleOp.UsePreallocDo(p, vs...)
}

func init() {
	RegisterReplacer(func(n *G.Node) G.Op {
		if s, ok := n.Op().(slowScaleOp); ok {
			return countingScaleOp{scaleOp{s.c}}
		}
		return nil
	})
}

func TestReplacer(t *testing.T) {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))))
	y := G.Must(G.ApplyOp(slowScaleOp{scaleOp{3}}, x))
	z := G.Must(G.ApplyOp(scaleOp{2}, y))
	for _, replace := range []bool{true, false} {
		var opts []Option
		if !replace {
			opts = append(opts, NoReplacement())
		}
		m, err := New(g, append(opts, Outputs(z))...)
		if err != nil {
			t.Fatal(err)
		}
		*replacedRuns = 0
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ := m.Float32s(z)
		if got[0] != 6 || got[2] != 18 {
			t.Fatalf("replace=%v: %v, want [6 12 18]", replace, got)
		}
		want := 0
		if replace {
			want = 1
		}
		if st := m.Stats(); st.Replaced != want || *replacedRuns != want {
			t.Fatalf("replace=%v: %d nodes replaced, replacement ran %d times; want %d", replace, st.Replaced, *replacedRuns, want)
		}
	}
}
