package exec

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// checkPlan recomputes every value's live range from the steps and fails
// if two values whose memory overlaps are live at the same time; it returns
// the number of pairs of values that share memory. A value is
// live from the step that writes it to the last step that reads it (or a
// view of it), forever when kept. An in-place step may take over the buffer
// of the input it overwrites when that input dies at that step.
func checkPlan(t *testing.T, m *Machine) (shared int) {
	t.Helper()
	const forever = int(^uint(0) >> 1)
	def := map[int]int{}
	end := map[int]int{}
	for si, st := range m.steps {
		s := m.slots[st.out]
		if s.root == st.out {
			if s.arena < 0 || s.buf == nil {
				t.Fatalf("node %v has no buffer", s.node)
			}
			def[st.out] = si
			end[st.out] = si
		}
		if st.mode == modeView && s.root >= 0 && m.slots[s.root].arena < 0 {
			t.Fatalf("view %v has a root without a buffer", s.node)
		}
		for _, in := range st.in {
			if r := m.slots[in].root; r >= 0 && end[r] < si {
				end[r] = si
			}
		}
	}
	for i, s := range m.slots {
		if s.kept && s.root >= 0 {
			end[s.root] = forever
			if !m.slots[s.root].kept {
				t.Fatalf("kept node %v has an unkept root", s.node)
			}
		}
		_ = i
	}
	byArena := map[int][]int{}
	for r := range def {
		a := m.slots[r].arena
		byArena[a] = append(byArena[a], r)
		if m.slots[r].base+m.slots[r].size > m.arenas[a].size {
			t.Fatalf("node %v needs elements %d..%d, its buffer has %d", m.slots[r].node, m.slots[r].base, m.slots[r].base+m.slots[r].size, m.arenas[a].size)
		}
		if m.slots[r].dtype != m.arenas[a].dtype {
			t.Fatalf("node %v is %v, its buffer %v", m.slots[r].node, m.slots[r].dtype, m.arenas[a].dtype)
		}
	}
	for _, roots := range byArena {
		for i, a := range roots {
			for _, b := range roots[i+1:] {
				x, y := a, b
				if sx, sy := m.slots[x], m.slots[y]; sx.base+sx.size <= sy.base || sy.base+sy.size <= sx.base {
					continue // different parts of the arena
				}
				shared++
				if def[x] > def[y] {
					x, y = y, x
				}
				if end[x] < def[y] {
					continue
				}
				st := m.steps[def[y]]
				if end[x] == def[y] && st.mode == modeInPlace && st.inherited && m.slots[st.in[st.k]].root == x {
					continue
				}
				t.Fatalf("nodes %v (steps %d..%d) and %v (steps %d..%d) share memory while both are live",
					m.slots[x].node, def[x], end[x], m.slots[y].node, def[y], end[y])
			}
		}
	}
	return shared
}

// TestSharedBufferKeepsLiveValues builds a graph where one value (twice) is
// read at the very end, after a long chain of same-sized temporaries whose
// buffers are recycled, and checks the plan and the result.
func TestSharedBufferKeepsLiveValues(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 4), G.WithName("x"))
	rng := rand.New(rand.NewSource(5))
	G.Let(x, randDense(rng, x))
	twice := G.Must(G.Add(x, x))
	cur := G.Must(G.Tanh(twice))
	for i := 0; i < 6; i++ {
		cur = G.Must(G.HadamardProd(G.Must(G.Sigmoid(cur)), G.Must(G.Cos(cur))))
	}
	out := G.Must(G.Add(cur, twice)) // twice is still needed here
	m, err := New(g, Outputs(out))
	if err != nil {
		t.Fatal(err)
	}
	if shared := checkPlan(t, m); shared == 0 {
		t.Fatal("no buffer is shared: the test proves nothing")
	}
	st := m.Stats()
	if st.PlannedBytes >= st.UnsharedBytes {
		t.Fatalf("sharing saved nothing: %+v", st)
	}
	// twice's memory is not shared while it is live.
	tw := m.slots[m.index[twice.ID()]]
	for si, s := range m.steps {
		o := m.slots[s.out]
		overlap := o.base < tw.base+tw.size && tw.base < o.base+o.size
		if o.root == s.out && s.out != tw.root && o.arena == tw.arena && overlap && si < len(m.steps)-1 {
			t.Fatalf("node %v reuses the buffer of x+x before its last use", o.node)
		}
	}
	ref, err := New(g, KeepAll())
	if err != nil {
		t.Fatal(err)
	}
	for step := 0; step < 3; step++ {
		fill(rng, x.Value().(*tensor.Dense))
		got := machineValues(t, m, []*G.Node{out})
		want := machineValues(t, ref, []*G.Node{out})
		assertClose(t, "shared vs unshared", got[0], want[0], 0)
		// And by hand.
		xs := x.Value().(*tensor.Dense).Data().([]float64)
		for i, v := range xs {
			c := mathTanh(2 * v)
			for k := 0; k < 6; k++ {
				c = sigmoid64(c) * mathCos(c)
			}
			if d := got[0][i] - (c + 2*v); d > 1e-12 || d < -1e-12 {
				t.Fatalf("element %d: %v, want %v", i, got[0][i], c+2*v)
			}
		}
	}
	t.Logf("%+v", st)
}

// randomGraph builds a random DAG of stock ops over (3,4) tensors (elementwise
// unary and binary ops, matmuls with transposes, reshapes, reductions) with a
// scalar cost and the gradients of its inputs.
func randomGraph(seed int64, dt tensor.Dtype) graphCase {
	rng := rand.New(rand.NewSource(seed))
	g := G.NewGraph()
	var pool []*G.Node
	var inputs []*G.Node
	for i := 0; i < 3; i++ {
		n := G.NewMatrix(g, dt, G.WithShape(3, 4), G.WithName(fmt.Sprintf("in%d", i)))
		G.Let(n, randDense(rng, n))
		inputs = append(inputs, n)
		pool = append(pool, n)
	}
	pick := func() *G.Node {
		// favour recent nodes, so chains form, but reach back too
		if rng.Intn(3) == 0 {
			return pool[rng.Intn(len(pool))]
		}
		return pool[len(pool)-1-rng.Intn(min(3, len(pool)))]
	}
	for len(pool) < 3+14 {
		a, b := pick(), pick()
		var n *G.Node
		switch rng.Intn(9) {
		case 0:
			n = G.Must(G.Add(a, b))
		case 1:
			n = G.Must(G.HadamardProd(a, b))
		case 2:
			n = G.Must(G.Sub(a, b))
		case 3:
			n = G.Must(G.Tanh(a))
		case 4:
			n = G.Must(G.Sigmoid(a))
		case 5:
			n = G.Must(G.Square(a))
		case 6: // (3,4)x(4,3)x(3,4)
			n = G.Must(G.Mul(G.Must(G.Mul(a, G.Must(G.Transpose(b)))), a))
			n = G.Must(G.Mul(n, G.NewConstant(float64Or32(dt, 0.1))))
		case 7: // reshape round trip
			n = G.Must(G.Reshape(G.Must(G.Cos(G.Must(G.Reshape(a, tensor.Shape{12})))), tensor.Shape{3, 4}))
		case 8: // row sums broadcast back
			s := G.Must(G.Sum(a, 1))
			n = G.Must(G.BroadcastAdd(b, s, nil, []byte{1}))
		}
		pool = append(pool, n)
	}
	cost := G.Must(G.Mean(G.Must(G.Square(pool[len(pool)-1]))))
	for _, n := range pool[3 : len(pool)-1] {
		if rng.Intn(3) == 0 {
			cost = G.Must(G.Add(cost, G.Must(G.Mean(n))))
		}
	}
	for _, in := range inputs { // every input reaches the cost
		cost = G.Must(G.Add(cost, G.Must(G.Mean(G.Must(G.HadamardProd(in, pool[3+rng.Intn(len(pool)-3)]))))))
	}
	grads, err := G.Grad(cost, inputs...)
	if err != nil {
		panic(err)
	}
	return graphCase{g: g, inputs: inputs, cost: cost, grads: grads, outputs: append([]*G.Node{cost}, grads...)}
}

func float64Or32(dt tensor.Dtype, v float64) interface{} {
	if dt == tensor.Float64 {
		return v
	}
	return float32(v)
}

// TestRandomGraphs runs random graphs through shared and unshared plans
// and checks every plan's live ranges. The reference is gorgonia's
// LispMachine (forward only, which also runs the symbolic gradient nodes)
// on a twin of the graph, and central differences of the cost for the
// float64 graphs. gorgonia's TapeMachine is not the reference here: on some
// of these graphs (a reshape whose source an in-place op overwrites while
// the backward pass still needs it) it returns wrong gradients, which the
// test logs.
func TestRandomGraphs(t *testing.T) {
	sharedTotal, tapeWrong := 0, 0
	const graphs = 40
	for seed := int64(0); seed < graphs; seed++ {
		dt := tensor.Float64
		if seed%2 == 1 {
			dt = tensor.Float32
		}
		gc := randomGraph(seed, dt)
		twin := randomGraph(seed, dt)
		name := fmt.Sprintf("seed %d", seed)
		m, err := New(gc.g, Outputs(gc.outputs...))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sharedTotal += checkPlan(t, m)
		def, err := New(gc.g)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPlan(t, def)
		ref, err := New(gc.g, KeepAll())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rng := rand.New(rand.NewSource(seed + 100))
		for step := 0; step < 2; step++ {
			if step > 0 {
				for _, in := range gc.inputs {
					fill(rng, in.Value().(*tensor.Dense))
				}
			}
			for i, in := range gc.inputs {
				G.Let(twin.inputs[i], in.Value().(*tensor.Dense).Clone())
			}
			lisp := G.NewLispMachine(twin.g, G.ExecuteFwdOnly())
			if err := lisp.RunAll(); err != nil {
				t.Fatalf("%s: LispMachine: %v", name, err)
			}
			want := make([][]float64, len(twin.outputs))
			for i, n := range twin.outputs {
				want[i] = floats(t, n.Value())
			}
			lisp.Close()
			tape := tapeValues(t, G.NewTapeMachine(twin.g), twin.outputs)

			got := machineValues(t, m, gc.outputs)
			gotDef := machineValues(t, def, gc.outputs)
			gotRef := machineValues(t, ref, gc.outputs)
			wrong := false
			for i, n := range gc.outputs {
				what := fmt.Sprintf("%s step %d %v", name, step, n.Name())
				assertClose(t, what+" (Outputs vs KeepAll)", got[i], gotRef[i], 0)
				assertClose(t, what+" (default vs KeepAll)", gotDef[i], gotRef[i], 0)
				assertClose(t, what+" (vs LispMachine)", got[i], want[i], 1e-6)
				for j := range got[i] {
					if d := got[i][j] - tape[i][j]; d > 1e-5 || d < -1e-5 {
						wrong = true
					}
				}
			}
			if wrong {
				tapeWrong++
			}
			if dt == tensor.Float64 {
				for k, in := range gc.inputs {
					d := in.Value().(*tensor.Dense).Data().([]float64)
					old, h := d[0], 1e-6
					d[0] = old + h
					plus := machineValues(t, m, gc.outputs[:1])[0][0]
					d[0] = old - h
					minus := machineValues(t, m, gc.outputs[:1])[0][0]
					d[0] = old
					num := (plus - minus) / (2 * h)
					if diff := num - got[1+k][0]; diff > 1e-5*(1+mathAbs(num)) || diff < -1e-5*(1+mathAbs(num)) {
						t.Fatalf("%s: d cost/d %v[0] = %v, central difference %v", name, in.Name(), got[1+k][0], num)
					}
				}
			}
		}
	}
	if sharedTotal < graphs {
		t.Fatalf("only %d shared buffers over %d graphs: the test proves little", sharedTotal, graphs)
	}
	t.Logf("%d shared buffers; TapeMachine disagreed with LispMachine and this machine on %d of %d runs", sharedTotal, tapeWrong, 2*graphs)
}

// TestViewerOp checks that an op implementing Viewer becomes a view (its Do
// is never called: the Do of flattenOp would show up as a copy) and that the
// viewed buffer lives as long as the view.
func TestViewerOp(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("x"))
	G.Let(x, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{-1, -0.5, 0, 0.5, 1, 2})))
	h := G.Must(G.Tanh(x))
	f := G.Must(G.ApplyOp(flattenOp{size: 6}, h))
	s := G.Must(G.Sigmoid(f))                      // in place: inherits nothing, f is read later
	out := G.Must(G.Add(s, f))                     // reads the view after s was computed
	fx := G.Must(G.ApplyOp(flattenOp{size: 6}, x)) // a view of caller memory
	out2 := G.Must(G.Add(out, fx))
	m, err := New(g, Outputs(out2))
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, m)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st.Views != 2 || st.Copies != 0 {
		t.Fatalf("stats %+v: want 2 views and no copies", st)
	}
	got, _ := m.Float32s(out2)
	xs := []float32{-1, -0.5, 0, 0.5, 1, 2}
	for i, v := range xs {
		th := float32(mathTanh(float64(v)))
		want := float32(sigmoid64(float64(th))) + th + v
		if d := got[i] - want; d > 1e-6 || d < -1e-6 {
			t.Fatalf("element %d: %v, want %v", i, got[i], want)
		}
	}
	// Rebinding x gives the caller-memory view a new header.
	xs2 := []float32{1, 1, 1, 1, 1, 1}
	G.Let(x, tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(xs2)))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Float32s(out2)
	th := float32(mathTanh(1))
	want := float32(sigmoid64(float64(th))) + th + 1
	if d := got[0] - want; d > 1e-6 || d < -1e-6 {
		t.Fatalf("after rebinding: %v, want %v", got[0], want)
	}
}
