package exec

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// smallNet: matmul, broadcast add, tanh, reshape, sigmoid, mean, with
// gradients of w and b.
func smallNet(dt tensor.Dtype) graphCase {
	rng := rand.New(rand.NewSource(1))
	g := G.NewGraph()
	x := G.NewMatrix(g, dt, G.WithShape(4, 3), G.WithName("x"))
	w := G.NewMatrix(g, dt, G.WithShape(3, 2), G.WithName("w"))
	b := G.NewVector(g, dt, G.WithShape(2), G.WithName("b"))
	G.Let(x, randDense(rng, x))
	G.Let(w, randDense(rng, w))
	G.Let(b, randDense(rng, b))
	h := G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(x, w)), b, nil, []byte{0}))))
	r := G.Must(G.Reshape(h, tensor.Shape{8}))
	s := G.Must(G.Sigmoid(r))
	cost := G.Must(G.Mean(s))
	grads := must(G.Grad(cost, w, b))
	return graphCase{g: g, inputs: []*G.Node{x}, params: []*G.Node{w, b}, cost: cost, grads: grads,
		outputs: append([]*G.Node{cost, h, r, s}, grads...)}
}

// elementwise: products, quotients, exp, a transpose, reductions along an
// axis and over everything, a node used twice by one op.
func elementwise(dt tensor.Dtype) graphCase {
	rng := rand.New(rand.NewSource(2))
	g := G.NewGraph()
	a := G.NewMatrix(g, dt, G.WithShape(3, 4), G.WithName("a"))
	b := G.NewMatrix(g, dt, G.WithShape(3, 4), G.WithName("b"))
	G.Let(a, randDense(rng, a))
	G.Let(b, randDense(rng, b))
	c := G.Must(G.Add(G.Must(G.HadamardProd(a, b)), a))
	d := G.Must(G.HadamardDiv(G.Must(G.Exp(c)), G.Must(G.Add(G.Must(G.HadamardProd(c, c)), G.Must(G.Exp(b))))))
	tr := G.Must(G.Transpose(d))
	mm := G.Must(G.Mul(tr, a))                      // (4,4)
	rows := G.Must(G.Sum(mm, 1))                    // (4)
	sq := G.Must(G.Square(G.Must(G.Sigmoid(rows)))) // (4)
	cost := G.Must(G.Add(G.Must(G.Sum(sq)), G.Must(G.Mean(d))))
	grads := must(G.Grad(cost, a, b))
	return graphCase{g: g, inputs: []*G.Node{a, b}, cost: cost, grads: grads,
		outputs: append([]*G.Node{cost, c, d, tr, mm, rows, sq}, grads...)}
}

func cases() map[string]func() graphCase {
	return map[string]func() graphCase{
		"small/f32":       func() graphCase { return smallNet(tensor.Float32) },
		"small/f64":       func() graphCase { return smallNet(tensor.Float64) },
		"elementwise/f32": func() graphCase { return elementwise(tensor.Float32) },
		"elementwise/f64": func() graphCase { return elementwise(tensor.Float64) },
		"mlp/f32":         func() graphCase { return mlp(tensor.Float32, 8, 5, 6, 3, 3) },
		"mlp/f64":         func() graphCase { return mlp(tensor.Float64, 8, 5, 6, 3, 3) },
	}
}

// TestMatchesTapeMachine runs each graph for several steps with changing
// inputs (one overwritten in place, the others rebound with G.Let) through a
// TapeMachine (Reset after every run) and through Machines planned three
// ways, and compares the values.
func TestMatchesTapeMachine(t *testing.T) {
	for name, build := range cases() {
		t.Run(name, func(t *testing.T) {
			gc := build()
			// TraceExec binds a copy of every node's value; a plain
			// TapeMachine overwrites intermediate values in place, so only
			// its results (cost, gradients) serve as a reference.
			tm := G.NewTapeMachine(gc.g, G.TraceExec())
			defer tm.Close()
			// It runs on a second copy of the graph: two tapes on one
			// graph interfere through the values bound to its nodes.
			twin := build()
			plain := G.NewTapeMachine(twin.g)
			defer plain.Close()
			results := append([]*G.Node{gc.cost}, gc.grads...)
			twinResults := append([]*G.Node{twin.cost}, twin.grads...)
			keepM, err := New(gc.g, Keep(gc.outputs...))
			if err != nil {
				t.Fatal(err)
			}
			outM, err := New(gc.g, Outputs(gc.outputs...))
			if err != nil {
				t.Fatal(err)
			}
			allM, err := New(gc.g, KeepAll())
			if err != nil {
				t.Fatal(err)
			}
			all := gc.g.AllNodes()
			rng := rand.New(rand.NewSource(7))
			var prevCost []float64
			for stepN := 0; stepN < 4; stepN++ {
				if stepN > 0 {
					fill(rng, gc.inputs[0].Value().(*tensor.Dense)) // in place
					for _, in := range gc.inputs[1:] {
						if err := G.Let(in, randDense(rng, in)); err != nil {
							t.Fatal(err)
						}
					}
				}
				for i, in := range gc.inputs {
					if err := G.Let(twin.inputs[i], in.Value().(*tensor.Dense).Clone()); err != nil {
						t.Fatal(err)
					}
				}
				wantRes := tapeValues(t, plain, twinResults)
				want := tapeValues(t, tm, all)
				for i, n := range results {
					for j, a := range all {
						if a == n {
							assertClose(t, "trace vs plain tape "+n.Name(), want[j], wantRes[i], 1e-6)
						}
					}
				}
				wantOut := make([][]float64, len(gc.outputs))
				for i, n := range gc.outputs {
					for j, a := range all {
						if a == n {
							wantOut[i] = want[j]
						}
					}
				}
				for label, m := range map[string]*Machine{"Keep": keepM, "Outputs": outM} {
					got := machineValues(t, m, gc.outputs)
					for i, n := range gc.outputs {
						assertClose(t, label+" step "+string(rune('0'+stepN))+" "+n.Name(), got[i], wantOut[i], 1e-6)
					}
				}
				got := machineValues(t, allM, all)
				for i, n := range all {
					assertClose(t, "KeepAll "+n.Name(), got[i], want[i], 1e-6)
				}
				if prevCost != nil && prevCost[0] == wantOut[0][0] {
					t.Fatalf("step %d: the cost did not change with the inputs (%v)", stepN, prevCost)
				}
				prevCost = wantOut[0]
			}
			t.Logf("Keep: %+v", keepM.Stats())
			t.Logf("Outputs: %+v", outM.Stats())
			t.Logf("KeepAll: %+v", allM.Stats())
		})
	}
}

// TestNoStaleValues checks Run against values computed by hand after
// in-place writes and rebinding, the case where a TapeMachine without Reset
// returns the previous run's value.
func TestNoStaleValues(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("x"))
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 2), G.WithName("w"), G.WithValue(
		tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6}))))
	y := G.Must(G.Tanh(G.Must(G.Mul(x, w))))
	m, err := New(g, Outputs(y))
	if err != nil {
		t.Fatal(err)
	}
	want := func(xs []float32) []float64 {
		ws := []float32{1, 2, 3, 4, 5, 6}
		out := make([]float64, 4)
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				var s float32
				for k := 0; k < 3; k++ {
					s += xs[i*3+k] * ws[k*2+j]
				}
				out[i*2+j] = float64(float32(math.Tanh(float64(s))))
			}
		}
		return out
	}
	// New bound a zero tensor to x: write into it in place.
	xd := x.Value().(*tensor.Dense).Data().([]float32)
	inputs := [][]float32{{0.1, 0.2, 0.3, -0.1, 0, 0.2}, {-0.3, 0.1, 0.05, 0.2, -0.2, 0.1}}
	for i, in := range inputs {
		copy(xd, in)
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := m.Value(y)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "in-place step "+string(rune('0'+i)), floats(t, got), want(in), 1e-6)
	}
	// Rebind x to a new tensor.
	fresh := []float32{0.5, -0.5, 0.25, 0.125, -0.25, 0}
	if err := G.Let(x, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(fresh))); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Value(y)
	assertClose(t, "rebound", floats(t, got), want(fresh), 1e-6)
}

func TestValueErrors(t *testing.T) {
	gc := smallNet(tensor.Float32)
	h := gc.outputs[1] // tanh output: neither sink nor gradient
	m, err := New(gc.g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Value(gc.grads[0]); err == nil || !strings.Contains(err.Error(), "no Run") {
		t.Fatalf("Value before Run: err = %v", err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Value(gc.grads[0]); err != nil {
		t.Fatalf("gradient not kept by default: %v", err)
	}
	if _, err := m.Scalar(gc.cost); err != nil {
		t.Fatalf("scalar cost not readable: %v", err)
	}
	if _, err := m.Value(h); err == nil || !strings.Contains(err.Error(), "not kept") {
		t.Fatalf("Value of a shared node: err = %v", err)
	}
	other := G.NewGraph()
	stranger := G.NewScalar(other, tensor.Float32, G.WithName("stranger"))
	if _, err := m.Value(stranger); err == nil {
		t.Fatal("Value of a node of another graph: no error")
	}
	if _, err := New(gc.g, Outputs(stranger)); err == nil || !strings.Contains(err.Error(), "another graph") {
		t.Fatalf("Outputs from another graph: err = %v", err)
	}
	if _, err := New(gc.g, Outputs(gc.cost), Keep(gc.grads[0])); err != nil {
		// the gradient is not an ancestor of the cost
		if !strings.Contains(err.Error(), "not among") {
			t.Fatalf("Keep of a pruned node: err = %v", err)
		}
	} else {
		t.Fatal("Keep of a pruned node: no error")
	}
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil): no error")
	}
	// An input whose bound tensor was reshaped behind the machine's back.
	x := gc.inputs[0]
	if err := x.Value().(*tensor.Dense).Reshape(3, 4); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "shape") || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("Run with a reshaped input: err = %v", err)
	}
}

// TestOutputsPrunesBackward: an inference machine on a training graph runs
// only the forward nodes.
func TestOutputsPrunesBackward(t *testing.T) {
	gc := mlp(tensor.Float32, 8, 5, 6, 3, 3)
	pred := gc.outputs[1]
	full, err := New(gc.g)
	if err != nil {
		t.Fatal(err)
	}
	inf, err := New(gc.g, Outputs(pred))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := inf.Stats().Nodes, full.Stats().Nodes; a*2 > b {
		t.Fatalf("inference runs %d of %d nodes", a, b)
	}
	if _, err := inf.Value(gc.grads[0]); err == nil || !strings.Contains(err.Error(), "not part") {
		t.Fatalf("a gradient node in an inference machine: err = %v", err)
	}
	got := machineValues(t, inf, []*G.Node{pred})
	if err := full.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, err := full.Value(pred); err == nil {
		t.Fatalf("pred is neither a sink nor a gradient, yet readable: %v", v)
	}
	ref, err := New(gc.g, Keep(pred))
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "pred", got[0], machineValues(t, ref, []*G.Node{pred})[0], 0)
	if inf.PlannedBytes() >= ref.PlannedBytes() {
		t.Fatalf("inference plans %d bytes, training %d", inf.PlannedBytes(), ref.PlannedBytes())
	}
}

// TestRunErrors checks that an op's failure names the node and the op, and
// that a cancelled context stops Run.
func TestRunErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("x"))
	y := G.Must(G.ApplyOp(failOp{}, x))
	m, err := New(g, Outputs(y))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Run(context.Background())
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node != y || !errors.Is(err, errFail) || !strings.Contains(err.Error(), "failOp") {
		t.Fatalf("err = %v", err)
	}
	if _, err := m.Value(y); err == nil {
		t.Fatal("Value after a failed Run: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gc := smallNet(tensor.Float32)
	m2, err := New(gc.g)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
}

func TestStatementsRejected(t *testing.T) {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("x"))
	y := G.Must(G.Tanh(x))
	var v G.Value
	G.Read(y, &v)
	if _, err := New(g); err == nil || !strings.Contains(err.Error(), "statement") {
		t.Fatalf("graph with G.Read: err = %v", err)
	}
	// Pruned away by Outputs, the statement does not matter.
	if _, err := New(g, Outputs(y)); err != nil {
		t.Fatal(err)
	}
}

func must(ns G.Nodes, err error) G.Nodes {
	if err != nil {
		panic(err)
	}
	return ns
}

// TestPointerReturningOps: an op whose Do returns its input itself (not
// declared a view) has its result copied, so that an in-place op after it
// cannot overwrite the input; G.Iop becomes a view.
func TestPointerReturningOps(t *testing.T) {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(4), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{1, 2, 3, 4}))))
	h := G.Must(G.ApplyOp(scaleOp{3}, x))
	a := G.Must(G.ApplyOp(aliasOp{}, h))  // Do returns h's own value
	n := G.Must(G.ApplyOp(negOp{}, a))    // in place on a's buffer
	i := G.Must(G.ApplyOp(G.Iop{}, h))    // a view of h
	ax := G.Must(G.ApplyOp(aliasOp{}, x)) // Do returns the caller's tensor
	nx := G.Must(G.ApplyOp(negOp{}, ax))
	out := G.Must(G.ApplyOp(addOp{}, G.Must(G.ApplyOp(addOp{}, n, i)), G.Must(G.ApplyOp(addOp{}, h, nx))))
	m, err := New(g, Outputs(out))
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, m)
	for step := 0; step < 2; step++ {
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ := m.Float32s(out)
		for j, v := range []float32{1, 2, 3, 4} {
			// -3v + 3v + 3v - v
			if want := 2 * v; got[j] != want {
				t.Fatalf("step %d element %d: %v, want %v", step, j, got[j], want)
			}
		}
		if xs := x.Value().(*tensor.Dense).Float32s(); xs[0] != 1 {
			t.Fatalf("the machine wrote into the caller's tensor: %v", xs)
		}
	}
	if st := m.Stats(); st.Views != 1 || st.Copy != 2 || st.Copies != 2 {
		t.Fatalf("stats %+v: want one view and two copies", st)
	}
}

// TestPreallocFallback: an op whose UsePreallocDo fails but whose Do works
// moves to Do plus a copy, as the TapeMachine would.
func TestPreallocFallback(t *testing.T) {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))))
	y := G.Must(G.ApplyOp(stubbornOp{scaleOp{2}}, x))
	m, err := New(g, Outputs(y))
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Prealloc != 1 {
		t.Fatalf("planned %+v", st)
	}
	for i := 0; i < 2; i++ {
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ := m.Float32s(y)
		assertClose(t, "y", floats(t, tensor.New(tensor.WithBacking(append([]float32(nil), got...)))), []float64{2, 4, 6}, 0)
		if st := m.Stats(); st.Prealloc != 0 || st.Copy != 1 || st.Copies != 1 {
			t.Fatalf("after run %d: %+v", i, st)
		}
	}
}
