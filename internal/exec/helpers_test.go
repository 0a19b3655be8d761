package exec

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graphCase is a test graph: its caller-bound nodes and the nodes to check.
type graphCase struct {
	g       *G.ExprGraph
	inputs  []*G.Node // rebound or overwritten between steps
	params  []*G.Node // bound once
	cost    *G.Node
	grads   []*G.Node
	outputs []*G.Node // nodes to compare (cost, grads, others)
}

// randDense returns a tensor of n's shape and dtype with values in [-1, 1).
func randDense(rng *rand.Rand, n *G.Node) *tensor.Dense {
	size := n.Shape().TotalSize()
	switch n.Dtype() {
	case tensor.Float64:
		v := make([]float64, size)
		for i := range v {
			v[i] = rng.Float64()*2 - 1
		}
		return tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(v))
	default:
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(rng.Float64()*2 - 1)
		}
		return tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(v))
	}
}

// fill overwrites t's elements in place with values in [-1, 1).
func fill(rng *rand.Rand, t *tensor.Dense) {
	switch d := t.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(rng.Float64()*2 - 1)
		}
	case []float64:
		for i := range d {
			d[i] = rng.Float64()*2 - 1
		}
	}
}

// floats flattens a value into float64s (a copy).
func floats(t testing.TB, v G.Value) []float64 {
	t.Helper()
	switch x := v.(type) {
	case *G.F32:
		return []float64{float64(*x)}
	case *G.F64:
		return []float64{float64(*x)}
	case *tensor.Dense:
		if x.RequiresIterator() {
			x = x.Materialize().(*tensor.Dense)
		}
		switch d := x.Data().(type) {
		case []float32:
			out := make([]float64, len(d))
			for i, e := range d {
				out[i] = float64(e)
			}
			return out
		case []float64:
			return append([]float64(nil), d...)
		case float32:
			return []float64{float64(d)}
		case float64:
			return []float64{d}
		}
	}
	t.Fatalf("cannot read %T %v", v, v)
	return nil
}

// assertClose fails unless a and b agree to tol (absolute, or relative for
// large magnitudes).
func assertClose(t testing.TB, what string, a, b []float64, tol float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values vs %d", what, len(a), len(b))
	}
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if d > tol*math.Max(1, math.Abs(b[i])) || math.IsNaN(a[i]) != math.IsNaN(b[i]) {
			t.Fatalf("%s[%d]: %v vs %v (diff %g)", what, i, a[i], b[i], d)
		}
	}
}

// tapeValues runs g once with a TapeMachine and returns copies of the
// values of nodes.
func tapeValues(t testing.TB, tm G.VM, nodes []*G.Node) [][]float64 {
	t.Helper()
	if err := tm.RunAll(); err != nil {
		t.Fatalf("TapeMachine: %v", err)
	}
	out := make([][]float64, len(nodes))
	for i, n := range nodes {
		if n.Value() == nil {
			t.Fatalf("TapeMachine left node %v without a value", n)
		}
		out[i] = floats(t, n.Value())
	}
	tm.Reset()
	return out
}

func machineValues(t testing.TB, m *Machine, nodes []*G.Node) [][]float64 {
	t.Helper()
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Machine.Run: %v", err)
	}
	out := make([][]float64, len(nodes))
	for i, n := range nodes {
		v, err := m.Value(n)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = floats(t, v)
	}
	return out
}

// mlp builds a two-hidden-layer perceptron with a mean squared error and the
// gradients of every parameter. Parameters are initialised from seed.
func mlp(dt tensor.Dtype, batch, in, hidden, out int, seed int64) graphCase {
	rng := rand.New(rand.NewSource(seed))
	g := G.NewGraph()
	x := G.NewMatrix(g, dt, G.WithShape(batch, in), G.WithName("x"))
	y := G.NewMatrix(g, dt, G.WithShape(batch, out), G.WithName("y"))
	w1 := G.NewMatrix(g, dt, G.WithShape(in, hidden), G.WithName("w1"))
	b1 := G.NewVector(g, dt, G.WithShape(hidden), G.WithName("b1"))
	w2 := G.NewMatrix(g, dt, G.WithShape(hidden, hidden), G.WithName("w2"))
	b2 := G.NewVector(g, dt, G.WithShape(hidden), G.WithName("b2"))
	w3 := G.NewMatrix(g, dt, G.WithShape(hidden, out), G.WithName("w3"))
	params := []*G.Node{w1, b1, w2, b2, w3}
	for _, p := range params {
		d := randDense(rng, p)
		scale := 1 / math.Sqrt(float64(p.Shape()[0]))
		if sd, ok := d.Data().([]float32); ok {
			for i := range sd {
				sd[i] *= float32(scale)
			}
		} else {
			for i, v := range d.Data().([]float64) {
				d.Data().([]float64)[i] = v * scale
			}
		}
		G.Let(p, d)
	}
	h := G.Must(G.Tanh(G.Must(G.BroadcastAdd(G.Must(G.Mul(x, w1)), b1, nil, []byte{0}))))
	h = G.Must(G.Sigmoid(G.Must(G.BroadcastAdd(G.Must(G.Mul(h, w2)), b2, nil, []byte{0}))))
	pred := G.Must(G.Mul(h, w3))
	diff := G.Must(G.Sub(pred, y))
	cost := G.Must(G.Mean(G.Must(G.Square(diff))))
	grads, err := G.Grad(cost, params...)
	if err != nil {
		panic(fmt.Sprintf("G.Grad: %v", err))
	}
	G.Let(x, randDense(rng, x))
	G.Let(y, randDense(rng, y))
	outs := append([]*G.Node{cost, pred, h}, grads...)
	return graphCase{g: g, inputs: []*G.Node{x, y}, params: params, cost: cost, grads: grads, outputs: outs}
}

func mathTanh(x float64) float64  { return math.Tanh(x) }
func mathCos(x float64) float64   { return math.Cos(x) }
func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
func mathAbs(x float64) float64   { return math.Abs(x) }
