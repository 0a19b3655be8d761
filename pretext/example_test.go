package pretext_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

// Rotate turns each plane counter-clockwise, as numpy.rot90.
func ExampleRotate() {
	src := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	dst := make([]float32, 9)
	pretext.Rotate(dst, src, 1, 3, 1)
	fmt.Println(dst[0:3])
	fmt.Println(dst[3:6])
	fmt.Println(dst[6:9])
	// Output:
	// [3 6 9]
	// [2 5 8]
	// [1 4 7]
}

// With AllRotations a batch of N images becomes 4N inputs, view-major: the first N are the
// images as they are (target 0), the next N turned once (target 1), and so on. Each input
// is centred with the mean image first (here 0, so the pixels show through).
func ExampleRotation_allRotations() {
	task := pretext.Rotation(pretext.AllRotations())
	b := &ssl.Batch{N: 2, C: 1, H: 2, W: 2, Views: task.Views(), Valid: 2,
		Images:  []float32{1, 2, 3, 4, 5, 6, 7, 8},
		Mean:    make([]float32, 4),
		Inputs:  make([]float32, 4*2*4),
		Targets: make([]float32, 4*2),
		Rand:    rand.New(rand.NewPCG(1, 2)), Training: true}
	if err := task.Prepare(b); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(task.Name(), task.Views())
	fmt.Println("targets:", b.Targets)
	fmt.Println("image 0 turned once:", b.Input(1, 0))
	// Output:
	// rotation-all 4
	// targets: [0 0 1 1 2 2 3 3]
	// image 0 turned once: [2 4 1 3]
}
