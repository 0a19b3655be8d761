package train

import (
	"context"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/optim"
)

// tinyNet is conv-BN-ReLU-pool-dense with a cross-entropy loss on [N,3,8,8] inputs.
func tinyNet(s *nn.Scope, x, y *G.Node) (*G.Node, *G.Node) {
	h := nn.Conv2D(s.In("conv"), x, 32, nn.Kernel(3), nn.Padding("same"), nn.Init(nn.HeNormal), nn.L2(1e-4))
	h = nn.ReLU(s, nn.BatchNorm(s.In("bn"), h))
	logits := nn.Dense(s.In("head"), nn.GlobalAvgPool(s, h), 4)
	if y == nil {
		return nil, logits
	}
	return nn.SoftmaxCrossEntropy(s, logits, y), logits
}

func batch(gr *Graph, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range gr.Input() {
		gr.Input()[i] = rng.Float32()
	}
	for i := range gr.Targets() {
		gr.Targets()[i] = float32(i % 4)
	}
}

func TestTrainerOverfitsAndIsDeterministic(t *testing.T) {
	run := func() []float64 {
		ps := nn.NewParams(3)
		gr, err := Compile(Spec{Params: ps, Training: true, Input: []int{16, 3, 8, 8}, Targets: []int{16}, Build: tinyNet})
		if err != nil {
			t.Fatal(err)
		}
		batch(gr, 9)
		adam, err := optim.NewAdam()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(gr, adam, optim.Constant(0.01))
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for i := 0; i < 300; i++ {
			l, err := tr.Step(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, l)
		}
		return losses
	}
	a, b := run(), run()
	if a[0] < 1 || a[len(a)-1] > 0.1 {
		t.Fatalf("loss went from %.3f to %.3f; want from above 1 to below 0.1", a[0], a[len(a)-1])
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v then %v with the same seed", i, a[i], b[i])
		}
	}
}

func TestInferenceGraphSharesWeights(t *testing.T) {
	ps := nn.NewParams(1)
	tr, err := Compile(Spec{Params: ps, Training: true, Input: []int{8, 3, 8, 8}, Targets: []int{8}, Build: tinyNet})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Compile(Spec{Params: ps, Input: []int{8, 3, 8, 8}, Build: tinyNet})
	if err != nil {
		t.Fatal(err)
	}
	batch(tr, 2)
	copy(ev.Input(), tr.Input())
	ctx := context.Background()
	if err := ev.Run(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := ev.Output()
	before = append([]float32(nil), before...)
	sgd, _ := optim.NewSGD()
	trn, _ := NewTrainer(tr, sgd, optim.Constant(0.5))
	if _, err := trn.Step(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := ev.Run(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := ev.Output()
	changed := false
	for i := range after {
		changed = changed || after[i] != before[i]
	}
	if !changed {
		t.Fatal("the inference graph did not see the training step's weights")
	}
}

func TestNonFiniteLossStopsWithStep(t *testing.T) {
	ps := nn.NewParams(1)
	gr, err := Compile(Spec{Params: ps, Training: true, Input: []int{4, 3, 8, 8}, Targets: []int{4}, Build: tinyNet})
	if err != nil {
		t.Fatal(err)
	}
	batch(gr, 1)
	sgd, _ := optim.NewSGD()
	tr, _ := NewTrainer(gr, sgd, optim.Constant(0.1))
	ctx := context.Background()
	if _, err := tr.Step(ctx, 0); err != nil {
		t.Fatal(err)
	}
	gr.Input()[5] = float32(nanValue())
	kernel := ps.Get("conv/kernel").Data()
	saved := append([]float32(nil), kernel...)
	_, err = tr.Step(ctx, 0)
	if err == nil {
		t.Fatal("a NaN input trained on without an error")
	}
	if want := "step 1"; !contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
	for i := range kernel {
		if kernel[i] != saved[i] {
			t.Fatal("a failed step changed the weights")
		}
	}
}

func TestLinearProbeUpdatesOnlyTheHead(t *testing.T) {
	ps := nn.NewParams(1)
	probe := func(s *nn.Scope, x, y *G.Node) (*G.Node, *G.Node) {
		h := nn.ReLU(s, nn.BatchNorm(s.In("bn").WithTraining(false), nn.Conv2D(s.In("conv"), x, 8, nn.Kernel(3))))
		logits := nn.Dense(s.In("head"), nn.GlobalAvgPool(s, h), 4)
		return nn.SoftmaxCrossEntropy(s, logits, y), logits
	}
	gr, err := Compile(Spec{Params: ps, Training: true, Input: []int{4, 3, 8, 8}, Targets: []int{4}, Build: probe,
		Trainable: func(p *nn.Param) bool { return len(p.Name) > 5 && p.Name[:5] == "head/" }})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(gr.Params()); got != 2 {
		t.Fatalf("probe differentiates %d params, want the head's 2", got)
	}
	batch(gr, 4)
	snap := map[string][]float32{}
	for _, p := range ps.All() {
		snap[p.Name] = append([]float32(nil), p.Data()...)
	}
	adam, _ := optim.NewAdam()
	tr, _ := NewTrainer(gr, adam, optim.Constant(0.01))
	if _, err := tr.Step(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps.All() {
		same := true
		for i, v := range p.Data() {
			same = same && v == snap[p.Name][i]
		}
		if isHead := p.Name[:5] == "head/"; isHead == same {
			t.Errorf("%s: changed=%v, want changed only for the head", p.Name, !same)
		}
	}
}
