package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/selfsup/selfsup/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A tiny classifier, built with nn, differentiated with gorgonia.Grad and trained for a
// few steps of gradient descent on gorgonia's TapeMachine.
func Example() {
	ps := nn.NewParams(1)
	s := nn.NewScope(G.NewGraph(), ps, true)

	// 8 random 3×8×8 images; the label is 1 when the red channel is brighter on average.
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, 8*3*8*8)
	for i := range xs {
		xs[i] = rng.Float32()
	}
	ys := make([]float32, 8)
	for n := range 8 {
		var red, rest float32
		for i, v := range xs[n*192 : (n+1)*192] {
			if i < 64 {
				red += v
			} else {
				rest += v / 2
			}
		}
		if red > rest {
			ys[n] = 1
		}
	}
	x := G.NodeFromAny(s.Graph(), tensor.New(tensor.WithShape(8, 3, 8, 8), tensor.WithBacking(xs)), G.WithName("x"))
	y := G.NodeFromAny(s.Graph(), tensor.New(tensor.WithShape(8), tensor.WithBacking(ys)), G.WithName("y"))

	h := nn.Conv2D(s.In("conv1"), x, 16, nn.Kernel(3), nn.Padding("same"), nn.Init(nn.HeNormal), nn.L2(1e-4))
	h = nn.ReLU(s, nn.BatchNorm(s.In("bn1"), h))
	logits := nn.Dense(s.In("head"), nn.GlobalAvgPool(s, h), 2)
	// This loop is our own, so the loss includes the L2 penalty of conv1's kernel. A pretext
	// task's Head would return the cross-entropy alone: the ssl pipeline adds the penalty.
	loss := nn.Add(s, nn.SoftmaxCrossEntropy(s, logits, y), nn.L2Penalty(s))
	if err := s.Err(); err != nil {
		fmt.Println(err)
		return
	}
	trainable, fixed := ps.Count()
	fmt.Println("parameters:", trainable, "trainable,", fixed, "non-trainable")

	var wrt G.Nodes
	for _, p := range ps.Trainable() {
		wrt = append(wrt, s.Node(p))
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := G.NewTapeMachine(s.Graph())
	defer m.Close()
	var first, last float32
	for step := range 30 {
		if err := m.RunAll(); err != nil {
			fmt.Println(err)
			return
		}
		last = float32(*loss.Value().(*G.F32))
		if step == 0 {
			first = last
		}
		for i, p := range ps.Trainable() {
			g := grads[i].Value().(*tensor.Dense).Float32s()
			for j := range p.Data() {
				p.Data()[j] -= 0.1 * g[j]
			}
		}
		m.Reset()
	}
	fmt.Println("loss went down:", last < first)
	// Output:
	// parameters: 514 trainable, 32 non-trainable
	// loss went down: true
}
