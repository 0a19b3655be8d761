package optim_test

import (
	"fmt"
	"math"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
)

// Minimise (w-3)² with Adam: the gradient is 2(w-3).
func ExampleAdam() {
	ps := nn.NewParams(1)
	w, _ := ps.Variable("w", []int{1}, nn.Zeros, true)
	opt, _ := optim.NewAdam()
	grad := make([]float32, 1)
	for range 2000 {
		grad[0] = 2 * (w.Data()[0] - 3)
		if err := opt.Step(0.01, ps.Trainable(), [][]float32{grad}); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("w = %.3f after %d steps\n", w.Data()[0], opt.Iterations())
	for _, t := range opt.State().Tensors {
		fmt.Println(t.Name, t.Shape)
	}
	// Output:
	// w = 3.000 after 2000 steps
	// adam/m/w [1]
	// adam/v/w [1]
}

func ExampleResNetCIFAR() {
	s := optim.ResNetCIFAR(1e-3)
	for _, epoch := range []int{0, 80, 81, 121, 161, 181} {
		fmt.Printf("epoch %3d: %.4g\n", epoch, s.LR(epoch, 0))
	}
	// Output:
	// epoch   0: 0.001
	// epoch  80: 0.001
	// epoch  81: 0.0001
	// epoch 121: 1e-05
	// epoch 161: 1e-06
	// epoch 181: 5e-07
}

func ExamplePlateau() {
	p, _ := optim.NewPlateau(0.1, optim.Patience(2), optim.Factor(0.5))
	for epoch, valLoss := range []float64{1.0, 0.8, 0.81, 0.8, 0.79} {
		if p.Observe(valLoss) {
			fmt.Printf("epoch %d: rate lowered to %g\n", epoch, p.LR(epoch+1, 0))
		}
	}
	// Output:
	// epoch 3: rate lowered to 0.05
}

func ExampleCheckFinite() {
	ps := nn.NewParams(1)
	w, _ := ps.Variable("dense/kernel", []int{2}, nn.Zeros, true)
	err := optim.CheckFinite(17, 0.3, []*nn.Param{w}, [][]float32{{0.1, float32(math.Inf(1))}})
	fmt.Println(err)
	// Output:
	// optim: step 17: gradient of "dense/kernel" is +Inf at element 1
}
