package backbone

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// overfit trains b with a 10-class head (Adam, Keras' defaults but lr) on one fixed batch
// of n random hw×hw images with random labels until the loss is below target or maxSteps
// have run, and fails unless it got there with every image classified right.
func overfit(t *testing.T, b ssl.Backbone, n, hw, maxSteps int, lr, target float64) {
	t.Helper()
	ps := nn.NewParams(7)
	cl := newClassifier(t, b, ps, n, 3, hw, 10, true, false)
	cl.randomBatch(rand.New(rand.NewPCG(3, 4)), 10)
	m := cl.machine(t)
	opt := newAdam(lr, cl.params)
	start := time.Now()
	var first, loss float64
	steps := 0
	for steps < maxSteps {
		// The loss (and logits) of the run before this update.
		loss = cl.step(t, m, opt)
		if steps == 0 {
			first = loss
		}
		steps++
		if loss < target {
			break
		}
	}
	t.Logf("%s on %d random %dx%d images with random labels: loss %.4f -> %.4f in %d steps (%v)",
		b.Name(), n, hw, hw, first, loss, steps, time.Since(start).Round(time.Millisecond))
	if !(loss < target) {
		t.Fatalf("%s: loss %.4f after %d steps, want < %g", b.Name(), loss, steps, target)
	}
	lv, err := m.Tensor(cl.logits)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := nn.Argmax(lv)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pred {
		if float32(p) != cl.yData[i] {
			t.Fatalf("%s: image %d predicted %d, label %v, at loss %.4f", b.Name(), i, p, cl.yData[i], loss)
		}
	}
}

// TestOverfitResNet20 memorizes 64 random 16×16 images with random labels with ResNetV1(20)
// (loss < 0.01, every image right): the backbone, its gradients and the executor together
// can fit a batch.
func TestOverfitResNet20(t *testing.T) {
	overfit(t, Must(ResNetV1(20)), 64, 16, 60, 1e-2, 0.01)
}

// TestOverfitConvNet does the same with the default ConvNet.
func TestOverfitConvNet(t *testing.T) {
	overfit(t, Must(ConvNet()), 64, 16, 60, 1e-2, 0.01)
}

// TestDeterminism checks that the same seed gives the same initial weights and the same
// loss after an Adam step, and that another seed gives other weights.
func TestDeterminism(t *testing.T) {
	run := func(seed uint64) (*nn.Params, float64, float64) {
		ps := nn.NewParams(seed)
		cl := newClassifier(t, Must(ResNetV1(8)), ps, 16, 3, 16, 10, true, true)
		init := nn.NewParams(0)
		for _, p := range ps.All() {
			q, err := init.Variable(p.Name, p.Value.Shape(), nil, p.Trainable)
			if err != nil {
				t.Fatal(err)
			}
			copy(q.Data(), p.Data())
		}
		cl.randomBatch(rand.New(rand.NewPCG(1, 1)), 10)
		m := cl.machine(t)
		opt := newAdam(1e-3, cl.params)
		l0 := cl.step(t, m, opt)
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		l1, err := m.Scalar(cl.loss)
		if err != nil {
			t.Fatal(err)
		}
		return init, l0, l1
	}
	a, la0, la1 := run(5)
	b, lb0, lb1 := run(5)
	c, _, _ := run(6)
	if len(a.All()) != len(b.All()) {
		t.Fatalf("%d and %d parameters", len(a.All()), len(b.All()))
	}
	differs := 0
	for i, p := range a.All() {
		q := b.All()[i]
		if p.Name != q.Name || !slices.Equal(p.Data(), q.Data()) {
			t.Fatalf("seed 5 twice: parameter %d (%s, %s) differs", i, p.Name, q.Name)
		}
		if strings.HasSuffix(p.Name, "/kernel") && !slices.Equal(p.Data(), c.Get(p.Name).Data()) {
			differs++
		}
	}
	if la0 != lb0 || la1 != lb1 || math.IsNaN(la1) {
		t.Fatalf("seed 5 twice: losses %v, %v and %v, %v", la0, la1, lb0, lb1)
	}
	if !(la1 < la0) {
		t.Errorf("an Adam step did not lower the loss: %v -> %v", la0, la1)
	}
	kernels := 0
	for _, p := range a.All() {
		if strings.HasSuffix(p.Name, "/kernel") {
			kernels++
		}
	}
	if differs != kernels {
		t.Errorf("seeds 5 and 6: %d of %d kernels differ", differs, kernels)
	}
	t.Logf("seed 5: loss %.6f -> %.6f after one step, twice; seed 6 gives other weights in all %d kernels", la0, la1, kernels)
}
