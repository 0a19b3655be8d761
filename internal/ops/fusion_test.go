package ops

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/internal/exec"
)

// TestFusedOpsMatchUnfused runs relu(bn(x)) and relu(h + x) with their gradients on the
// executor with and without fusion (exec.Fuser): the fused passes must give the same
// values, gradients and moving statistics bit for bit, in training and inference.
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
				gamma := G.NodeFromAny(g, randTensor(rng, 0.5, 1.5, 4), G.WithName("gamma"))
				beta := G.NodeFromAny(g, randTensor(rng, -1, 1, 4), G.WithName("beta"))
				mm := G.NodeFromAny(g, randTensor(rng, -1, 1, 4), G.WithName("mm"))
				mv := G.NodeFromAny(g, randTensor(rng, 0.5, 2, 4), G.WithName("mv"))
				cfg := BatchNormConfig{Training: training, Momentum: 0.9, Epsilon: 1e-3}
				bn, err := BatchNorm(x, gamma, beta, mm, mv, cfg)
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
				w := G.NodeFromAny(g, randTensor(rng, -1, 1, shape...), G.WithName("w"))
				prod, err := G.HadamardProd(y, w)
				if err != nil {
					t.Fatal(err)
				}
				loss, err := Mean(prod)
				if err != nil {
					t.Fatal(err)
				}
				outs := []*G.Node{y, loss}
				if training {
					grads, err := G.Grad(loss, x, gamma, beta)
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
			if fused.fused != 2 || plain.fused != 0 {
				t.Fatalf("fused %d and %d nodes, want 2 (batch norm and add into their ReLUs) and 0", fused.fused, plain.fused)
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
