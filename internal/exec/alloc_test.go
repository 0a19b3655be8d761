package exec

import (
	"context"
	"math/rand"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// preallocNet uses only ops that write into a planned buffer (matmul,
// same-shape add and product) or run in place (tanh, sigmoid).
func preallocNet() (*G.ExprGraph, *G.Node, *G.Node) {
	rng := rand.New(rand.NewSource(9))
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(16, 32), G.WithName("x"))
	w1 := G.NewMatrix(g, tensor.Float32, G.WithShape(32, 64), G.WithName("w1"))
	b1 := G.NewMatrix(g, tensor.Float32, G.WithShape(16, 64), G.WithName("b1"))
	w2 := G.NewMatrix(g, tensor.Float32, G.WithShape(64, 8), G.WithName("w2"))
	for _, n := range []*G.Node{x, w1, b1, w2} {
		G.Let(n, randDense(rng, n))
	}
	h := G.Must(G.Tanh(G.Must(G.Add(G.Must(G.Mul(x, w1)), b1))))
	h = G.Must(G.HadamardProd(h, h))
	out := G.Must(G.Sigmoid(G.Must(G.Mul(h, w2))))
	return g, x, out
}

// TestZeroAllocRun: with ops that do not allocate themselves (prealloc,
// in place, views), a steady-state Run allocates nothing.
func TestZeroAllocRun(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 8), G.WithName("x"))
	a := G.Must(G.ApplyOp(scaleOp{2}, x))
	b := G.Must(G.ApplyOp(negOp{}, a))             // in place on a's buffer (a dies here)
	f := G.Must(G.ApplyOp(flattenOp{size: 32}, b)) // view of b
	c := G.Must(G.ApplyOp(scaleOp{0.5}, f))
	d := G.Must(G.ApplyOp(addOp{}, c, f))
	e := G.Must(G.ApplyOp(negOp{}, d)) // d dies: inherits its buffer
	out := G.Must(G.ApplyOp(addOp{}, e, G.Must(G.ApplyOp(flattenOp{size: 32}, x))))
	m, err := New(g, Outputs(out))
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, m)
	ctx := context.Background()
	xd := x.Value().(*tensor.Dense).Float32s()
	for i := range xd {
		xd[i] = float32(i) / 8
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Float32s(out)
	for i, v := range xd {
		want := -(0.5*(-2*v) + (-2 * v)) + v
		if got[i] != want {
			t.Fatalf("element %d: %v, want %v", i, got[i], want)
		}
	}
	st := m.Stats()
	if st.Prealloc != 4 || st.InPlace != 2 || st.InPlaceInherited != 2 || st.Views != 2 || st.Copies != 0 {
		t.Fatalf("unexpected plan: %+v", st)
	}
	allocs := testing.AllocsPerRun(100, func() {
		xd[0] += 0.125 // a new batch, written in place
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("steady-state Run allocates %v times per run", allocs)
	}
}

// TestStockOpsAllocs: stock gorgonia ops that support prealloc or in-place
// execution still allocate a few small objects per call (functional
// options, borrowed slices); measure them against the planned memory.
func TestStockOpsAllocs(t *testing.T) {
	g, x, out := preallocNet()
	m, err := New(g, Outputs(out))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st.Copy != 0 || st.Copies != 0 || st.Adopt != 0 {
		t.Fatalf("expected only prealloc and in-place nodes: %+v", st)
	}
	xd := x.Value().(*tensor.Dense).Float32s()
	run := func() {
		xd[0] += 0.001
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(50, run)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 100
	for i := 0; i < n; i++ {
		run()
	}
	runtime.ReadMemStats(&after)
	perRun := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("stock ops: %v allocations, %.0f bytes per Run; planned buffers %d bytes", allocs, perRun, st.PlannedBytes)
	if perRun > float64(st.PlannedBytes)/4 {
		t.Fatalf("Run allocates %.0f bytes against %d planned", perRun, st.PlannedBytes)
	}
}

// TestMemoryFlat runs a training graph (with stock ops that fall back to Do)
// for many steps and checks that the heap does not grow, and that the
// bytes allocated per step are a small fraction of what the TapeMachine
// allocates.
func TestMemoryFlat(t *testing.T) {
	gc := mlp(tensor.Float32, 32, 64, 64, 10, 11)
	m, err := New(gc.g, Outputs(append([]*G.Node{gc.cost}, gc.grads...)...))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	xd := gc.inputs[0].Value().(*tensor.Dense).Data().([]float32)
	step := func() {
		xd[0] += 0.001
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		step()
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const steps = 200
	for i := 0; i < steps; i++ {
		step()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perStep := float64(after.TotalAlloc-before.TotalAlloc) / steps
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)

	twin := mlp(tensor.Float32, 32, 64, 64, 10, 11)
	tm := G.NewTapeMachine(twin.g)
	defer tm.Close()
	var tb, ta runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&tb)
	const tapeSteps = 20
	for i := 0; i < tapeSteps; i++ {
		if err := tm.RunAll(); err != nil {
			t.Fatal(err)
		}
		tm.Reset()
	}
	runtime.ReadMemStats(&ta)
	tapePerStep := float64(ta.TotalAlloc-tb.TotalAlloc) / tapeSteps
	st := m.Stats()
	t.Logf("machine: %.0f B allocated per step, heap growth over %d steps %d B; planned %d B (unshared %d B); copies per step %d (%d B)",
		perStep, steps, growth, st.PlannedBytes, st.UnsharedBytes, st.Copies, st.CopiedBytes)
	t.Logf("TapeMachine: %.0f B allocated per step", tapePerStep)
	if growth > 1<<20 {
		t.Fatalf("heap grew by %d bytes over %d steps", growth, steps)
	}
	if perStep > tapePerStep/4 {
		t.Fatalf("machine allocates %.0f B per step, TapeMachine %.0f B", perStep, tapePerStep)
	}
}
