package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
)

func tinyModel(seed uint64) []*nn.Param {
	ps := nn.NewParams(seed)
	ps.Variable("dense/kernel", []int{3, 2}, nn.GlorotUniform, true)
	ps.Variable("dense/bias", []int{2}, nn.Zeros, true)
	return ps.All()
}

// Save a model with its Adam state, then resume into a freshly built model.
func Example() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "last.safetensors")

	params := tinyModel(1)
	opt, _ := optim.NewAdam()
	grads := [][]float32{{1, 2, 3, 4, 5, 6}, {1, 1}}
	_ = opt.Step(1e-3, params, grads)
	err := checkpoint.Save(path, params, checkpoint.Meta{Architecture: "tiny", Epoch: 3, Step: 390, Seed: 1},
		checkpoint.WithOptimizer(opt))
	fmt.Println("save:", err)

	resumed := tinyModel(2) // other initial weights, overwritten by Load
	opt2, _ := optim.NewAdam()
	meta, err := checkpoint.Load(path, resumed, checkpoint.WithOptimizer(opt2), checkpoint.RequireArchitecture("tiny"))
	fmt.Println("load:", err, meta.Epoch, meta.Step, opt2.Iterations())
	fmt.Println("same weights:", resumed[0].Value.Float32s()[0] == params[0].Value.Float32s()[0])

	_, err = checkpoint.Load(path, resumed, checkpoint.RequireArchitecture("resnet20"))
	fmt.Println(err != nil)
	// Output:
	// save: <nil>
	// load: <nil> 3 390 1
	// same weights: true
	// true
}
