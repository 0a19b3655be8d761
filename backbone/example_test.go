package backbone_test

import (
	"context"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/internal/exec"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// The backbones, their feature widths and parameter counts (trainable + non-trainable,
// the backbone alone, as Keras' model summary counts them).
func Example() {
	for _, b := range []ssl.Backbone{
		backbone.Must(backbone.ResNetV1(20)),
		backbone.Must(backbone.ResNetV1(56)),
		backbone.Must(backbone.ResNetV2(56)),
		backbone.Must(backbone.ResNet50V2()),
		backbone.Must(backbone.ConvNet()),
	} {
		ps := nn.NewParams(1)
		s := nn.NewScope(G.NewGraph(), ps, true)
		x := G.NewTensor(s.Graph(), tensor.Float32, 4, G.WithShape(1, 3, 32, 32), G.WithName("x"))
		f := b.Build(s, x)
		if err := s.Err(); err != nil {
			fmt.Println(err)
			return
		}
		tr, fixed := ps.Count()
		fmt.Printf("%-18s features %4d  parameters %10d + %5d\n", b.Name(), f.Shape()[1], tr, fixed)
	}
	if _, err := backbone.ResNetV1(21); err != nil {
		fmt.Println(err)
	}
	// Output:
	// resnet20v1         features   64  parameters     272416 +  1376
	// resnet56v1         features   64  parameters     857056 +  4064
	// resnet56v2         features  256  parameters    1660768 + 10400
	// resnet50v2         features 2048  parameters   23519360 + 45440
	// convnet-32-64-128  features  128  parameters      93696 +   448
	// backbone.ResNetV1: depth 21 is not 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...)
}

// A classifier on ResNetV1(20) for a training loop of your own: the backbone's features, a
// Dense head, the cross-entropy plus the L2 penalty on the kernels (which the ssl pipeline
// would add itself), and an inference graph sharing the weights.
func ExampleResNetV1() {
	bb, err := backbone.ResNetV1(20)
	if err != nil {
		fmt.Println(err)
		return
	}
	ps := nn.NewParams(42)

	// Training graph: batch statistics, loss and gradients.
	s := nn.NewScope(G.NewGraph(), ps, true)
	x := G.NewTensor(s.Graph(), tensor.Float32, 4, G.WithShape(8, 3, 32, 32), G.WithName("x"))
	y := G.NewVector(s.Graph(), tensor.Float32, G.WithShape(8), G.WithName("y"))
	logits := nn.Dense(s.In("head"), bb.Build(s, x), 10, nn.Init(nn.HeNormal))
	loss := nn.Add(s, nn.SoftmaxCrossEntropy(s, logits, y), nn.L2Penalty(s))
	if err := s.Err(); err != nil {
		fmt.Println(err)
		return
	}
	tr, fixed := ps.Count()
	fmt.Printf("%s: %d trainable, %d non-trainable parameters\n", bb.Name(), tr, fixed)
	var wrt G.Nodes
	for _, p := range ps.Trainable() {
		wrt = append(wrt, s.Node(p))
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("gradients:", len(grads))

	// Inference graph on the same Params: moving statistics, no new parameters.
	si := nn.NewScope(G.NewGraph(), ps, false)
	xi := G.NewTensor(si.Graph(), tensor.Float32, 4, G.WithShape(1, 3, 32, 32), G.WithName("x"))
	probs := nn.Softmax(si, nn.Dense(si.In("head"), bb.Build(si, xi), 10))
	if err := si.Err(); err != nil {
		fmt.Println(err)
		return
	}
	m, err := exec.New(si.Graph(), exec.Outputs(probs))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := m.Run(context.Background()); err != nil { // x is bound to zeros
		fmt.Println(err)
		return
	}
	p, _ := m.Float32s(probs)
	var sum float32
	for _, v := range p {
		sum += v
	}
	fmt.Printf("inference: %d class probabilities summing to %.3f; still %d parameters\n", len(p), sum, len(ps.All()))
	// Output:
	// resnet20v1: 273066 trainable, 1376 non-trainable parameters
	// gradients: 82
	// inference: 10 class probabilities summing to 1.000; still 120 parameters
}
