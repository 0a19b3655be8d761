package ops

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
)

// TestFusedOpsMatchUnfused runs h = relu(bn(conv(x))), relu(h + x) + h with their
// gradients on the executor with and without fusion (exec.Fuser): the fused passes must give the
// same values, gradients and moving statistics bit for bit, in training and inference.
func TestFusedOpsMatchUnfused(t *testing.T) {
	for _, training := range []bool{true, false} {
		t.Run(fmt.Sprintf("training=%v", training), func(t *testing.T) {
			type result struct {
				vals   [][]float32
				moving [][]float32
				fused  int
			}
			runOnce := func(opts ...exec.Option) result {
				rng := rand.New(rand.NewPCG(3, 9))
				g := G.NewGraph()
				shape := []int{3, 4, 5, 3}
				x := G.NodeFromAny(g, randTensor(rng, -2, 2, shape...), G.WithName("x"))
				cw := G.NodeFromAny(g, randTensor(rng, -0.5, 0.5, 4, 4, 3, 3), G.WithName("cw"))
				cb := G.NodeFromAny(g, randTensor(rng, -0.5, 0.5, 4), G.WithName("cb"))
				conv, err := Conv2D(x, cw, cb, 1, 1, Padding2D{1, 1, 1, 1})
				if err != nil {
					t.Fatal(err)
				}
				gamma := G.NodeFromAny(g, randTensor(rng, 0.5, 1.5, 4), G.WithName("gamma"))
				beta := G.NodeFromAny(g, randTensor(rng, -1, 1, 4), G.WithName("beta"))
				mm := G.NodeFromAny(g, randTensor(rng, -1, 1, 4), G.WithName("mm"))
				mv := G.NodeFromAny(g, randTensor(rng, 0.5, 2, 4), G.WithName("mv"))
				cfg := BatchNormConfig{Training: training, Momentum: 0.9, Epsilon: 1e-3}
				bn, err := BatchNorm(conv, gamma, beta, mm, mv, cfg)
				if err != nil {
					t.Fatal(err)
				}
				h, err := ReLU(bn)
				if err != nil {
					t.Fatal(err)
				}
				sum, err := Add(h, x)
				if err != nil {
					t.Fatal(err)
				}
				y, err := ReLU(sum)
				if err != nil {
					t.Fatal(err)
				}
				// h is read twice: its gradient is a sum that meets h's ReLU.
				z, err := Add(y, h)
				if err != nil {
					t.Fatal(err)
				}
				w := G.NodeFromAny(g, randTensor(rng, -1, 1, shape...), G.WithName("w"))
				prod, err := G.HadamardProd(z, w)
				if err != nil {
					t.Fatal(err)
				}
				loss, err := Mean(prod)
				if err != nil {
					t.Fatal(err)
				}
				outs := []*G.Node{y, loss}
				if training {
					grads, err := G.Grad(loss, x, gamma, beta, cw, cb)
					if err != nil {
						t.Fatal(err)
					}
					outs = append(outs, grads...)
				}
				m, err := exec.New(g, append(opts, exec.Outputs(outs...))...)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				var r result
				for _, n := range outs {
					v, err := m.Value(n)
					if err != nil {
						t.Fatal(err)
					}
					d, err := valueData(v, n.Shape())
					if err != nil {
						t.Fatal(err)
					}
					r.vals = append(r.vals, append([]float32(nil), d...))
				}
				r.moving = [][]float32{mm.Value().Data().([]float32), mv.Value().Data().([]float32)}
				r.fused = m.Stats().Fused
				return r
			}
			fused, plain := runOnce(), runOnce(exec.NoFusion())
			// Training: batch norm and add into their ReLUs, the gradient sum of h into
			// h's ReLU gradient; inference: the convolution into its batch norm, that
			// into its ReLU, the add into its ReLU.
			want := 3
			if fused.fused != want || plain.fused != 0 {
				t.Fatalf("fused %d and %d nodes, want %d and 0", fused.fused, plain.fused, want)
			}
			for i := range plain.vals {
				for j := range plain.vals[i] {
					if math.Float32bits(fused.vals[i][j]) != math.Float32bits(plain.vals[i][j]) {
						t.Fatalf("output %d [%d]: fused %v, unfused %v", i, j, fused.vals[i][j], plain.vals[i][j])
					}
				}
			}
			for i := range plain.moving {
				for j := range plain.moving[i] {
					if fused.moving[i][j] != plain.moving[i][j] {
						t.Fatalf("moving statistic %d [%d]: fused %v, unfused %v", i, j, fused.moving[i][j], plain.moving[i][j])
					}
				}
			}
			if plain.vals[0][0] == 0 && plain.vals[0][1] == 0 && plain.vals[0][2] == 0 {
				t.Fatal("degenerate test: the output starts with zeros")
			}
		})
	}
}

// TestStockAddReplaced: under the executor, gorgonia's float32 addition of equal shapes
// (also what G.Grad sums gradients with) runs as this package's Add, with the same values
// as the TapeMachine; a broadcasting or float64 addition is left alone.
func TestStockAddReplaced(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	g := G.NewGraph()
	x := G.NodeFromAny(g, randTensor(rng, -1, 1, 4, 6), G.WithName("x"))
	w := G.NodeFromAny(g, randTensor(rng, -1, 1, 4, 6), G.WithName("w"))
	h, err := ReLU(x)
	if err != nil {
		t.Fatal(err)
	}
	s := G.Must(G.Add(h, w))          // replaced
	p := G.Must(G.HadamardProd(s, h)) // h is read twice: G.Grad sums two gradients
	loss, err := Mean(p)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, x, w)
	if err != nil {
		t.Fatal(err)
	}
	d := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 2), G.WithName("d"), G.WithInit(G.Ones()))
	d2 := G.Must(G.Add(d, d)) // float64: left alone
	outs := append(G.Nodes{s, loss, d2}, grads...)
	m, err := exec.New(g, exec.Outputs(outs...))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Replaced < 2 {
		t.Fatalf("%d nodes replaced, want the forward addition and the gradient sum", st.Replaced)
	}
	tm := G.NewTapeMachine(g)
	defer tm.Close()
	if err := tm.RunAll(); err != nil {
		t.Fatal(err)
	}
	// The TapeMachine may overwrite intermediate values in place: compare the loss, the
	// gradients and the float64 sum; check s against h + w directly.
	sv, err := m.Float32s(s)
	if err != nil {
		t.Fatal(err)
	}
	for i, xv := range x.Value().Data().([]float32) {
		if want := max(xv, 0) + w.Value().Data().([]float32)[i]; sv[i] != want {
			t.Fatalf("s[%d] = %v, want %v", i, sv[i], want)
		}
	}
	for _, n := range outs[1:] {
		v, err := m.Value(n)
		if err != nil {
			t.Fatal(err)
		}
		got, want := fmt.Sprint(v.Data()), fmt.Sprint(n.Value().Data())
		if got != want {
			t.Fatalf("%v: executor %s, TapeMachine %s", n, got, want)
		}
	}
}
