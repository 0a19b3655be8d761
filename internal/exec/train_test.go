package exec

import (
	"context"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// regression is a linear model y = x·w + b with a mean squared error on a
// fixed synthetic data set, and the gradients of w and b.
type regression struct {
	g          *G.ExprGraph
	x, y, w, b *G.Node
	cost       *G.Node
	grads      G.Nodes
}

func newRegression() regression {
	const n, d = 32, 4
	rng := rand.New(rand.NewSource(21))
	trueW := []float32{0.5, -1, 2, 0.25}
	xs := make([]float32, n*d)
	ys := make([]float32, n)
	for i := 0; i < n; i++ {
		var s float32 = 0.3
		for j := 0; j < d; j++ {
			xs[i*d+j] = float32(rng.NormFloat64())
			s += xs[i*d+j] * trueW[j]
		}
		ys[i] = s + 0.01*float32(rng.NormFloat64())
	}
	g := G.NewGraph()
	r := regression{g: g}
	r.x = G.NewMatrix(g, tensor.Float32, G.WithShape(n, d), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(xs))))
	r.y = G.NewMatrix(g, tensor.Float32, G.WithShape(n, 1), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(n, 1), tensor.WithBacking(ys))))
	r.w = G.NewMatrix(g, tensor.Float32, G.WithShape(d, 1), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(d, 1), tensor.WithBacking([]float32{0.1, 0.1, 0.1, 0.1}))))
	r.b = G.NewVector(g, tensor.Float32, G.WithShape(1), G.WithName("b"),
		G.WithValue(tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0}))))
	pred := G.Must(G.BroadcastAdd(G.Must(G.Mul(r.x, r.w)), r.b, nil, []byte{0}))
	r.cost = G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(pred, r.y))))))
	r.grads = must(G.Grad(r.cost, r.w, r.b))
	return r
}

// sgd updates the parameters' bound tensors in place.
func sgd(params []*G.Node, grads [][]float32, lr float32) {
	for i, p := range params {
		w := p.Value().(*tensor.Dense).Float32s()
		for j := range w {
			w[j] -= lr * grads[i][j]
		}
	}
}

// TestSGDMatchesTapeMachine trains the same regression with this machine
// and with a TapeMachine (Reset every step): the optimiser reads the
// gradient nodes and updates the parameter tensors in place, and the next
// Run must see the new weights.
func TestSGDMatchesTapeMachine(t *testing.T) {
	const lr, steps = 0.1, 30
	ours, ref := newRegression(), newRegression()
	m, err := New(ours.g, Outputs(append(G.Nodes{ours.cost}, ours.grads...)...))
	if err != nil {
		t.Fatal(err)
	}
	tm := G.NewTapeMachine(ref.g)
	defer tm.Close()
	ctx := context.Background()
	var first, last float64
	for s := 0; s < steps; s++ {
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
		loss, err := m.Scalar(ours.cost)
		if err != nil {
			t.Fatal(err)
		}
		gw, err := m.Float32s(ours.grads[0])
		if err != nil {
			t.Fatal(err)
		}
		gb, err := m.Float32s(ours.grads[1])
		if err != nil {
			t.Fatal(err)
		}
		sgd([]*G.Node{ours.w, ours.b}, [][]float32{gw, gb}, lr)

		if err := tm.RunAll(); err != nil {
			t.Fatal(err)
		}
		refLoss := float64(*ref.cost.Value().(*G.F32))
		rgw := ref.grads[0].Value().(*tensor.Dense).Float32s()
		rgb := ref.grads[1].Value().(*tensor.Dense).Float32s()
		sgd([]*G.Node{ref.w, ref.b}, [][]float32{rgw, rgb}, lr)
		tm.Reset()

		assertClose(t, "loss", []float64{loss}, []float64{refLoss}, 1e-6)
		assertClose(t, "w", floats(t, ours.w.Value()), floats(t, ref.w.Value()), 1e-6)
		assertClose(t, "b", floats(t, ours.b.Value()), floats(t, ref.b.Value()), 1e-6)
		if s == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < first/10) {
		t.Fatalf("loss went from %v to %v in %d steps", first, last, steps)
	}
	t.Logf("loss %v -> %v; w = %v, b = %v", first, last, ours.w.Value(), ours.b.Value())
}
