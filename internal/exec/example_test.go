package exec_test

import (
	"context"
	"fmt"

	"github.com/selfsup/selfsup/internal/exec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A few steps of gradient descent on y = w·x: the machine is planned once,
// each Run sees the batch written into x's tensor and the weight updated in
// place, and the gradient is read from the node G.Grad returned.
func Example() {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float64, G.WithShape(3), G.WithName("x"))
	w := G.NewVector(g, tensor.Float64, G.WithShape(3), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{0, 0, 0}))))
	y := G.NewScalar(g, tensor.Float64, G.WithName("y"))
	pred := G.Must(G.Sum(G.Must(G.HadamardProd(w, x))))
	loss := G.Must(G.Square(G.Must(G.Sub(pred, y))))
	grads, err := G.Grad(loss, w)
	if err != nil {
		panic(err)
	}

	m, err := exec.New(g, exec.Outputs(loss, grads[0]))
	if err != nil {
		panic(err)
	}
	xs := x.Value().(*tensor.Dense).Float64s() // New bound a zero tensor to x
	ws := w.Value().(*tensor.Dense).Float64s()
	batches := [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}
	targets := []float64{1, 2, 3, 6}
	for epoch := 0; epoch < 20; epoch++ {
		total := 0.0
		for i, b := range batches {
			copy(xs, b)
			if err := G.Let(y, targets[i]); err != nil {
				panic(err)
			}
			if err := m.Run(context.Background()); err != nil {
				panic(err)
			}
			l, _ := m.Scalar(loss)
			total += l
			gw, _ := m.Float64s(grads[0])
			for j := range ws {
				ws[j] -= 0.2 * gw[j]
			}
		}
		if epoch%5 == 4 {
			fmt.Printf("epoch %2d: loss %.6f\n", epoch+1, total)
		}
	}
	fmt.Printf("w = %.3f\n", ws)
	fmt.Printf("planned %d bytes\n", m.PlannedBytes())
	// Output:
	// epoch  5: loss 0.033593
	// epoch 10: loss 0.000203
	// epoch 15: loss 0.000001
	// epoch 20: loss 0.000000
	// w = [1.000 2.000 3.000]
	// planned 48 bytes
}
