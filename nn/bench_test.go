package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// resnet20 builds a Keras-style ResNet20 v1 (3 stages of 3 basic blocks, 16/32/64
// filters, 1×1 projection shortcuts when downsampling) on x [N,3,32,32] with a 10-way
// head, and returns the training loss (cross-entropy + L2).
func resnet20(s *Scope, x, labels *G.Node) *G.Node {
	conv := func(s *Scope, h *G.Node, f, k, st int) *G.Node {
		return Conv2D(s, h, f, Kernel(k), Stride(st), Padding("same"), Init(HeNormal), L2(1e-4))
	}
	h := ReLU(s, BatchNorm(s.In("bn0"), conv(s.In("conv0"), x, 16, 3, 1)))
	for stage, f := range []int{16, 32, 64} {
		for block := range 3 {
			b := s.In(fmt.Sprintf("stage%d/block%d", stage, block))
			st := 1
			if stage > 0 && block == 0 {
				st = 2
			}
			y := ReLU(b, BatchNorm(b.In("bn1"), conv(b.In("conv1"), h, f, 3, st)))
			y = BatchNorm(b.In("bn2"), conv(b.In("conv2"), y, f, 3, 1))
			if st != 1 {
				h = conv(b.In("shortcut"), h, f, 1, st)
			}
			h = ReLU(b, Add(b, h, y))
		}
	}
	logits := Dense(s.In("head"), GlobalAvgPool(s, h), 10)
	return Add(s, SoftmaxCrossEntropy(s, logits, labels), L2Penalty(s))
}

// BenchmarkResNet20TrainStep runs forward and backward of ResNet20 at batch 128 on
// gorgonia's TapeMachine, reporting images/s. The TapeMachine must be Reset before each
// run (it does not rewind otherwise), which drops its buffers, so every op allocates its
// output through Do here; the project's executor keeps them.
//
//	go test ./nn -run '^$' -bench ResNet20 -benchtime 3x
func BenchmarkResNet20TrainStep(b *testing.B) {
	const n = 128
	rng := rand.New(rand.NewPCG(1, 1))
	ps := NewParams(1)
	s := NewScope(G.NewGraph(), ps, true)
	xd := make([]float32, n*3*32*32)
	for i := range xd {
		xd[i] = rng.Float32()
	}
	yd := make([]float32, n)
	for i := range yd {
		yd[i] = float32(rng.IntN(10))
	}
	x := G.NodeFromAny(s.Graph(), tensor.New(tensor.WithShape(n, 3, 32, 32), tensor.WithBacking(xd)), G.WithName("x"))
	y := G.NodeFromAny(s.Graph(), tensor.New(tensor.WithShape(n), tensor.WithBacking(yd)), G.WithName("y"))
	loss := resnet20(s, x, y)
	if s.Err() != nil {
		b.Fatal(s.Err())
	}
	if tr, non := ps.Count(); tr != 273066 || non != 1376 {
		b.Fatalf("ResNet20 has %d trainable and %d non-trainable parameters; Keras has 273066 and 1376", tr, non)
	}
	var wrt G.Nodes
	for _, p := range ps.Trainable() {
		wrt = append(wrt, s.Node(p))
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		b.Fatal(err)
	}
	m := G.NewTapeMachine(s.Graph())
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
}
