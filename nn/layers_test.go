package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func input(g *G.ExprGraph, name string, data []float32, shape ...int) *G.Node {
	return G.NodeFromAny(g, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), G.WithName(name))
}

func randData(rng *rand.Rand, n int) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = 2*rng.Float32() - 1
	}
	return d
}

func TestParamCountsMatchKeras(t *testing.T) {
	ps := NewParams(1)
	s := NewScope(G.NewGraph(), ps, true)
	x := G.NewTensor(s.Graph(), tensor.Float32, 4, G.WithShape(2, 3, 8, 8), G.WithName("x"))
	y := Conv2D(s.In("conv1"), x, 16, Kernel(3), Padding("same"))
	if tr, non := ps.Count(); tr != 448 || non != 0 {
		t.Fatalf("Conv2D(16, 3x3) on 3 channels: %d trainable, %d non-trainable; want 448, 0", tr, non)
	}
	y = BatchNorm(s.In("bn1"), y)
	if tr, non := ps.Count(); tr != 448+32 || non != 32 {
		t.Fatalf("after BatchNorm(16): %d, %d; want 480, 32", tr, non)
	}
	z := Dense(s.In("fc"), Flatten(s, GlobalAvgPool(s, ReLU(s, y))), 10)
	if tr, _ := ps.Count(); tr != 480+170 {
		t.Fatalf("after Dense(10) on 16 features: %d trainable, want 650", tr)
	}
	if s.Err() != nil || z == nil {
		t.Fatal(s.Err())
	}
	for _, name := range []string{"conv1/kernel", "conv1/bias", "bn1/gamma", "bn1/beta", "bn1/moving_mean", "bn1/moving_variance", "fc/kernel", "fc/bias"} {
		if ps.Get(name) == nil {
			t.Errorf("no parameter %q", name)
		}
	}
	if !slices.Equal(ps.Get("conv1/kernel").Value.Shape(), tensor.Shape{16, 3, 3, 3}) || !slices.Equal(ps.Get("fc/kernel").Value.Shape(), tensor.Shape{16, 10}) {
		t.Errorf("kernel shapes %v, %v", ps.Get("conv1/kernel").Value.Shape(), ps.Get("fc/kernel").Value.Shape())
	}
	if !slices.Equal(y.Shape(), tensor.Shape{2, 16, 8, 8}) {
		t.Errorf("same-padded conv output %v", y.Shape())
	}
	s2 := NewScope(G.NewGraph(), ps, true)
	x2 := G.NewTensor(s2.Graph(), tensor.Float32, 4, G.WithShape(2, 3, 8, 8), G.WithName("x"))
	if y2 := Conv2D(s2.In("c"), x2, 4, Kernel(3), Stride(2), NoBias()); !slices.Equal(y2.Shape(), tensor.Shape{2, 4, 3, 3}) {
		t.Errorf("valid stride-2 conv output %v, want [2 4 3 3]", y2.Shape())
	}
	if ps.Get("c/bias") != nil {
		t.Error("NoBias created a bias")
	}
}

func TestLayerErrorsAreRecorded(t *testing.T) {
	ps := NewParams(1)
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 8, 8), G.WithName("x"))
	cases := []struct {
		name, want string
		build      func(s *Scope) *G.Node
	}{
		{"no kernel", "Kernel", func(s *Scope) *G.Node { return Conv2D(s, x, 4) }},
		{"bad option", "Momentum", func(s *Scope) *G.Node { return Conv2D(s, x, 4, Kernel(3), Momentum(0.9)) }},
		{"bad padding", "same", func(s *Scope) *G.Node { return Conv2D(s, x, 4, Kernel(3), Padding("full")) }},
		{"dense on 4-D", "Flatten", func(s *Scope) *G.Node { return Dense(s, x, 4) }},
		{"kernel too big", "larger", func(s *Scope) *G.Node { return Conv2D(s, x, 4, Kernel(9)) }},
		{"mismatched add", "differ", func(s *Scope) *G.Node { return Add(s, x, GlobalAvgPool(s, x)) }},
	}
	for _, c := range cases {
		s := NewScope(g, ps, true).In(c.name)
		if y := c.build(s); y != nil || s.Err() == nil || !strings.Contains(s.Err().Error(), c.want) {
			t.Errorf("%s: node %v, err %v; want nil and an error mentioning %q", c.name, y, s.Err(), c.want)
		}
		// Once failed, layers do nothing and return nil.
		if ReLU(s, x) != nil {
			t.Errorf("%s: a layer on a failed scope returned a node", c.name)
		}
	}
}

// runLoss differentiates loss wrt the params and returns a function that runs the
// graph's TapeMachine and returns the loss, and the gradient nodes.
func runLoss(t *testing.T, s *Scope, loss *G.Node, wrt []*Param) (func() float64, []*G.Node, *G.Node) {
	t.Helper()
	var nodes G.Nodes
	for _, p := range wrt {
		nodes = append(nodes, s.Node(p))
	}
	grads, err := G.Grad(loss, nodes...)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(s.Graph())
	t.Cleanup(func() { m.Close() })
	return func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(*loss.Value().(*G.F32))
	}, grads, loss
}

// checkDirectional compares the analytic directional derivative of loss along a random
// direction in the space of params with central differences.
func checkDirectional(t *testing.T, eval func() float64, grads []*G.Node, params []*Param, eps, tol float64, rng *rand.Rand) {
	t.Helper()
	eval()
	var dot float64
	dirs := make([][]float32, len(params))
	for i := range params {
		g := grads[i].Value().(*tensor.Dense).Float32s()
		dirs[i] = randData(rng, len(g))
		for j := range g {
			dot += float64(g[j]) * float64(dirs[i][j])
		}
	}
	step := func(sign float32) {
		for i, p := range params {
			d := p.Data()
			for j := range d {
				d[j] += sign * float32(eps) * dirs[i][j]
			}
		}
	}
	step(1)
	lp := eval()
	step(-2)
	lm := eval()
	step(1)
	num := (lp - lm) / (2 * eps)
	if math.Abs(num-dot) > tol*math.Max(math.Abs(num), math.Abs(dot))+1e-4 {
		t.Fatalf("directional derivative: analytic %.6g, numeric %.6g", dot, num)
	}
}

// TestSmallModel builds conv-BN-ReLU-pool-dense-CE (+L2), checks
// its G.Grad gradients against finite differences, checks that a training run moves the
// BN moving statistics and that an inference graph over the same Params uses them.
func TestSmallModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ps := NewParams(42)
	build := func(training bool) (*Scope, *G.Node, *G.Node) {
		s := NewScope(G.NewGraph(), ps, training)
		x := input(s.Graph(), "x", xData, 4, 3, 6, 6)
		h := Conv2D(s.In("conv1"), x, 5, Kernel(3), Padding("same"), Init(HeNormal), L2(1e-2))
		h = ReLU(s, BatchNorm(s.In("bn1"), h))
		h = MaxPool2D(s, h, 2, 2)
		h = Conv2D(s.In("conv2"), h, 6, Kernel(3), Stride(2), Padding("same"), NoBias(), Init(HeNormal), L2(1e-2))
		logits := Dense(s.In("fc"), Flatten(s, GlobalAvgPool(s, h)), 3)
		labels := input(s.Graph(), "y", []float32{0, 2, 1, 2}, 4)
		loss := Add(s, SoftmaxCrossEntropy(s, logits, labels), L2Penalty(s))
		if s.Err() != nil {
			t.Fatal(s.Err())
		}
		return s, loss, logits
	}
	xData = randData(rng, 4*3*6*6)
	s, loss, _ := build(true)
	eval, grads, _ := runLoss(t, s, loss, ps.Trainable())

	mm := ps.Get("bn1/moving_mean").Data()
	mv := ps.Get("bn1/moving_variance").Data()
	l0 := eval()
	if math.IsNaN(l0) || l0 <= 0 {
		t.Fatalf("loss %v", l0)
	}
	for c := range mm {
		if mm[c] == 0 || mv[c] == 1 {
			t.Fatalf("channel %d: moving stats %v, %v unchanged after a training run", c, mm[c], mv[c])
		}
	}
	// MaxPool and ReLU have kinks that a step of 1e-2 or 1e-3 along all parameters at
	// once crosses (the numeric slope is then off by 1-2%); 3e-4 stays clear of them.
	checkDirectional(t, eval, grads, ps.Trainable(), 3e-4, 1e-2, rng)

	// Each parameter's gradient includes its L2 term.
	for i, p := range ps.Trainable() {
		if g := grads[i].Value().(*tensor.Dense).Float32s(); len(g) != len(p.Data()) {
			t.Fatalf("%s: gradient of %d values for %d", p.Name, len(g), len(p.Data()))
		}
	}

	// A few SGD steps lower the loss.
	for range 20 {
		eval()
		for i, p := range ps.Trainable() {
			g := grads[i].Value().(*tensor.Dense).Float32s()
			for j, d := range p.Data() {
				p.Data()[j] = d - 0.1*g[j]
			}
		}
	}
	if l := eval(); !(l < l0) {
		t.Fatalf("loss %v after 20 SGD steps, started at %v", l, l0)
	}

	// Inference: the BN layer normalizes with the moving statistics.
	si := NewScope(G.NewGraph(), ps, false)
	x := input(si.Graph(), "x", xData, 4, 3, 6, 6)
	conv := Conv2D(si.In("conv1"), x, 5, Kernel(3), Padding("same"), Init(HeNormal), L2(1e-2))
	bn := BatchNorm(si.In("bn1"), conv)
	if si.Err() != nil {
		t.Fatal(si.Err())
	}
	before := append([]float32(nil), mm...)
	m := G.NewTapeMachine(si.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	cv, bv := conv.Value().(*tensor.Dense).Float32s(), bn.Value().(*tensor.Dense).Float32s()
	gamma, beta := ps.Get("bn1/gamma").Data(), ps.Get("bn1/beta").Data()
	for i := range cv {
		c := (i / 36) % 5
		want := float64(gamma[c])*(float64(cv[i])-float64(mm[c]))/math.Sqrt(float64(mv[c])+1e-3) + float64(beta[c])
		if math.Abs(float64(bv[i])-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("inference BN value %d = %v, want %v from the moving statistics", i, bv[i], want)
		}
	}
	for c := range mm {
		if mm[c] != before[c] {
			t.Fatal("an inference run changed the moving mean")
		}
	}
}

var xData []float32

func TestL2PenaltyOnlyCountsThisGraph(t *testing.T) {
	ps := NewParams(5)
	s1 := NewScope(G.NewGraph(), ps, true)
	x1 := G.NewMatrix(s1.Graph(), tensor.Float32, G.WithShape(2, 3), G.WithName("x"))
	Dense(s1.In("a"), x1, 4, L2(0.5))
	s2 := NewScope(G.NewGraph(), ps, true)
	x2 := input(s2.Graph(), "x", make([]float32, 6), 2, 3)
	Dense(s2.In("b"), x2, 2, L2(2))
	Dense(s2.In("c"), x2, 2) // no L2
	pen := L2Penalty(s2)
	if s2.Err() != nil {
		t.Fatal(s2.Err())
	}
	m := G.NewTapeMachine(s2.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, v := range ps.Get("b/kernel").Data() {
		want += 2 * float64(v) * float64(v)
	}
	if got := float64(*pen.Value().(*G.F32)); math.Abs(got-want) > 1e-5*want {
		t.Fatalf("L2Penalty = %v, want %v (b/kernel only)", got, want)
	}
	// A graph without regularized parameters gets a constant 0.
	s3 := NewScope(G.NewGraph(), ps, true)
	if z := L2Penalty(s3); z == nil || z.Value().Data().(float32) != 0 {
		t.Fatalf("L2Penalty of an unregularized graph = %v", z)
	}
}

func TestContrastiveLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	ps := NewParams(9)
	s := NewScope(G.NewGraph(), ps, true)
	z1d, z2d := randData(rng, 4*5), randData(rng, 4*5)
	x1 := input(s.Graph(), "x1", z1d, 4, 5)
	x2 := input(s.Graph(), "x2", z2d, 4, 5)
	// A shared projector, then NT-Xent; and a predictor with SimSiam's symmetric loss.
	p1 := Dense(s.In("proj"), x1, 3)
	p2 := Dense(s.In("proj"), x2, 3)
	nt := NTXent(s, p1, p2, 0.5)
	q1, q2 := Dense(s.In("pred"), p1, 3), Dense(s.In("pred"), p2, 3)
	simsiam := Add(s, Scale(s, NegCosine(s, q1, StopGradient(s, p2)), 0.5), Scale(s, NegCosine(s, q2, StopGradient(s, p1)), 0.5))
	loss := Add(s, nt, simsiam)
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	eval, grads, _ := runLoss(t, s, loss, ps.Trainable())
	eval()

	// NT-Xent against a float64 evaluation of the SimCLR formula on the projections.
	a, b := p1.Value().(*tensor.Dense).Float32s(), p2.Value().(*tensor.Dense).Float32s()
	z := make([][]float64, 8)
	for i := range 8 {
		src := a
		if i >= 4 {
			src = b
		}
		row := src[(i%4)*3 : (i%4+1)*3]
		var n float64
		for _, v := range row {
			n += float64(v) * float64(v)
		}
		for _, v := range row {
			z[i] = append(z[i], float64(v)/math.Sqrt(n))
		}
	}
	var want float64
	for i := range 8 {
		var den, pos float64
		for k := range 8 {
			dot := (z[i][0]*z[k][0] + z[i][1]*z[k][1] + z[i][2]*z[k][2]) / 0.5
			if k != i {
				den += math.Exp(dot)
			}
			if k == (i+4)%8 {
				pos = dot
			}
		}
		want += (math.Log(den) - pos) / 8
	}
	if got := float64(*nt.Value().(*G.F32)); math.Abs(got-want) > 1e-5 {
		t.Fatalf("NTXent = %v, want %v", got, want)
	}
	// The SimSiam term can only be checked numerically with the stop-gradient in place if
	// the stopped branch does not move: perturbing "proj" changes both, so check the
	// predictor's parameters and the whole loss separately.
	pred := []*Param{ps.Get("pred/kernel"), ps.Get("pred/bias")}
	var predGrads []*G.Node
	for i, p := range ps.Trainable() {
		if p == pred[0] || p == pred[1] {
			predGrads = append(predGrads, grads[i])
		}
	}
	checkDirectional(t, eval, predGrads, pred, 1e-2, 1e-2, rng)

	// NT-Xent alone through a projector shared by both views (gorgonia sums the two paths).
	ps2 := NewParams(10)
	s2 := NewScope(G.NewGraph(), ps2, true)
	v1 := Dense(s2.In("proj"), input(s2.Graph(), "x1", z1d, 4, 5), 3)
	v2 := Dense(s2.In("proj"), input(s2.Graph(), "x2", z2d, 4, 5), 3)
	nt2 := NTXent(s2, v1, v2, 0.2)
	if s2.Err() != nil {
		t.Fatal(s2.Err())
	}
	eval2, grads2, _ := runLoss(t, s2, nt2, ps2.Trainable())
	checkDirectional(t, eval2, grads2, ps2.Trainable(), 1e-2, 1e-2, rng)

	probs := Softmax(s, p1)
	if probs == nil || s.Err() != nil {
		t.Fatal(s.Err())
	}
}

func TestArgmax(t *testing.T) {
	v := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{0.1, 0.7, 0.2, 3, -1, 2}))
	got, err := Argmax(v)
	if err != nil || got[0] != 1 || got[1] != 0 {
		t.Fatalf("Argmax = %v, %v", got, err)
	}
	if _, err := Argmax(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))); err == nil {
		t.Fatal("Argmax of a vector did not fail")
	}
}

// A loss with a constant-zero L2Penalty still differentiates and runs.
func TestZeroPenaltyGrad(t *testing.T) {
	ps := NewParams(1)
	s := NewScope(G.NewGraph(), ps, true)
	x := input(s.Graph(), "x", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	y := input(s.Graph(), "y", []float32{0, 1}, 2)
	loss := Add(s, SoftmaxCrossEntropy(s, Dense(s.In("fc"), x, 2), y), L2Penalty(s))
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	var wrt G.Nodes
	for _, p := range ps.Trainable() {
		wrt = append(wrt, s.Node(p))
	}
	if _, err := G.Grad(loss, wrt...); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(s.Graph())
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
}
