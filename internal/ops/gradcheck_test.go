package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randTensor returns a float32 tensor with values uniform in [lo, hi).
func randTensor(rng *rand.Rand, lo, hi float32, shape ...int) *tensor.Dense {
	d := make([]float32, size(shape))
	for i := range d {
		d[i] = lo + (hi-lo)*rng.Float32()
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

// awayFromZero returns values of magnitude in [0.1, 1) with random signs, so that a ±eps
// perturbation never crosses a ReLU kink.
func awayFromZero(rng *rand.Rand, shape ...int) *tensor.Dense {
	t := randTensor(rng, 0.1, 1, shape...)
	for i, v := range t.Float32s() {
		if rng.IntN(2) == 0 {
			t.Float32s()[i] = -v
		}
	}
	return t
}

// distinct returns a random permutation of evenly spaced values, so maxima are unique
// with a margin larger than the perturbation.
func distinct(rng *rand.Rand, shape ...int) *tensor.Dense {
	n := size(shape)
	d := make([]float32, n)
	for i, p := range rng.Perm(n) {
		d[i] = -1 + 2*float32(p)/float32(n)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

type builder func(in []*G.Node) (*G.Node, error)

// gradCheck builds L = Σ r ⊙ f(inputs) with a fixed random r, differentiates it with
// G.Grad and compares, for each input in wrt, the directional derivatives along two
// random directions with central differences computed on the same TapeMachine (relative
// tolerance tol, plus 1e-4 absolute for float32 noise). It returns an error describing
// the first mismatch.
func gradCheck(seed uint64, f builder, vals []*tensor.Dense, wrt []int, eps, tol float64) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	g := G.NewGraph()
	in := make([]*G.Node, len(vals))
	for i, v := range vals {
		in[i] = G.NodeFromAny(g, v, G.WithName(fmt.Sprintf("in%d", i)))
	}
	y, err := f(in)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	var loss *G.Node
	if y.Shape().IsScalar() {
		loss = y
	} else {
		r := G.NodeFromAny(g, randTensor(rng, -1, 1, y.Shape()...), G.WithName("r"))
		prod, err := G.HadamardProd(y, r)
		if err != nil {
			return err
		}
		if loss, err = G.Sum(prod); err != nil {
			return err
		}
	}
	var wrtNodes G.Nodes
	for _, i := range wrt {
		wrtNodes = append(wrtNodes, in[i])
	}
	grads, err := G.Grad(loss, wrtNodes...)
	if err != nil {
		return fmt.Errorf("grad: %w", err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	eval := func() (float64, error) {
		m.Reset()
		if err := m.RunAll(); err != nil {
			return 0, err
		}
		switch v := loss.Value().(type) {
		case *G.F32:
			return float64(*v), nil
		case *tensor.Dense:
			return float64(v.Float32s()[0]), nil
		}
		return 0, fmt.Errorf("loss value %T", loss.Value())
	}
	if _, err := eval(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	analytic := make([][]float32, len(wrt))
	for k, gn := range grads {
		analytic[k] = append([]float32(nil), gn.Value().(*tensor.Dense).Float32s()...)
	}
	for range 2 { // two random directions per input
		for k, i := range wrt {
			x := vals[i].Float32s()
			dir := make([]float32, len(x))
			var dot float64
			for j := range dir {
				dir[j] = 2*rng.Float32() - 1
				dot += float64(dir[j]) * float64(analytic[k][j])
			}
			orig := append([]float32(nil), x...)
			for j := range x {
				x[j] = orig[j] + float32(eps)*dir[j]
			}
			lp, err := eval()
			if err != nil {
				return err
			}
			for j := range x {
				x[j] = orig[j] - float32(eps)*dir[j]
			}
			lm, err := eval()
			if err != nil {
				return err
			}
			copy(x, orig)
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-dot) > tol*math.Max(math.Abs(num), math.Abs(dot))+1e-4 {
				return fmt.Errorf("input %d: directional derivative %.6g analytic vs %.6g numeric", i, dot, num)
			}
		}
	}
	return nil
}

func ts(v ...*tensor.Dense) []*tensor.Dense { return v }

func TestGradConv(t *testing.T) {
	cases := []struct {
		name   string
		x, w   []int
		sh, sw int
		pad    Padding2D
		bias   bool
	}{
		{"3x3 same stride1", []int{2, 3, 6, 5}, []int{4, 3, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}, true},
		{"3x3 keras-same stride2", []int{3, 2, 7, 6}, []int{3, 2, 3, 3}, 2, 2, Padding2D{1, 1, 1, 0}, false},
		{"1x1 stride2", []int{2, 4, 6, 6}, []int{5, 4, 1, 1}, 2, 2, Padding2D{}, true},
		{"1x1 stride1", []int{1, 4, 3, 3}, []int{2, 4, 1, 1}, 1, 1, Padding2D{}, true},
		{"2x3 valid stride(1,2)", []int{2, 2, 5, 7}, []int{3, 2, 2, 3}, 1, 2, Padding2D{}, true},
		{"3x3 same stride1 16 channels", []int{2, 16, 4, 3}, []int{3, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}, true},
	}
	for i, c := range cases {
		// The input as a leaf (separate gradient ops) and as the output of another op
		// (conv2dGrads, which reuses dy's im2col when there are 16 input channels).
		for _, leaf := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s leaf=%v", c.name, leaf), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(i), 2))
				vals := ts(randTensor(rng, -1, 1, c.x...), randTensor(rng, -0.5, 0.5, c.w...))
				if c.bias {
					vals = append(vals, randTensor(rng, -0.5, 0.5, c.w[0]))
				}
				f := func(in []*G.Node) (*G.Node, error) {
					var b *G.Node
					if c.bias {
						b = in[2]
					}
					x := in[0]
					if !leaf {
						var err error
						if x, err = Scale(x, 1); err != nil {
							return nil, err
						}
					}
					return Conv2D(x, in[1], b, c.sh, c.sw, c.pad)
				}
				wrt := []int{0, 1}
				if c.bias {
					wrt = append(wrt, 2)
				}
				if err := gradCheck(uint64(i), f, vals, wrt, 1e-2, 1e-2); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestGradBatchNorm(t *testing.T) {
	for _, shape := range [][]int{{4, 3, 3, 2}, {6, 5}} {
		for _, training := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v train=%v", shape, training), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(shape)), 5))
				c := shape[1]
				vals := ts(randTensor(rng, -2, 3, shape...), randTensor(rng, 0.5, 1.5, c), randTensor(rng, -1, 1, c),
					randTensor(rng, -0.5, 0.5, c), randTensor(rng, 0.5, 2, c))
				f := func(in []*G.Node) (*G.Node, error) {
					return BatchNorm(in[0], in[1], in[2], in[3], in[4], BatchNormConfig{Training: training, Momentum: 0.99, Epsilon: 1e-3})
				}
				if err := gradCheck(9, f, vals, []int{0, 1, 2}, 1e-2, 1e-2); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestGradReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	if err := gradCheck(1, func(in []*G.Node) (*G.Node, error) { return ReLU(in[0]) },
		ts(awayFromZero(rng, 3, 4, 5)), []int{0}, 1e-2, 1e-2); err != nil {
		t.Fatal(err)
	}
}

func TestGradPooling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	if err := gradCheck(2, func(in []*G.Node) (*G.Node, error) { return GlobalAvgPool(in[0]) },
		ts(randTensor(rng, -1, 1, 2, 3, 4, 5)), []int{0}, 1e-2, 1e-2); err != nil {
		t.Fatal("gap:", err)
	}
	for _, c := range []struct {
		k, s int
		pad  Padding2D
	}{{2, 2, Padding2D{}}, {3, 2, Padding2D{1, 1, 1, 1}}, {3, 1, Padding2D{0, 0, 2, 2}}} {
		f := func(in []*G.Node) (*G.Node, error) { return MaxPool2D(in[0], c.k, c.k, c.s, c.s, c.pad) }
		// distinct values 2/n apart; eps·|dir| < 1/n keeps the maxima in place.
		if err := gradCheck(3, f, ts(distinct(rng, 2, 2, 6, 5)), []int{0}, 1e-3, 1e-2); err != nil {
			t.Fatalf("maxpool %+v: %v", c, err)
		}
	}
}

func TestGradMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			as, bs := []int{3, 4}, []int{4, 5}
			if ta {
				as = []int{4, 3}
			}
			if tb {
				bs = []int{5, 4}
			}
			f := func(in []*G.Node) (*G.Node, error) { return MatMul(in[0], in[1], in[2], ta, tb, 0.7) }
			vals := ts(randTensor(rng, -1, 1, as...), randTensor(rng, -1, 1, bs...), randTensor(rng, -1, 1, 5))
			if err := gradCheck(5, f, vals, []int{0, 1, 2}, 1e-2, 1e-2); err != nil {
				t.Fatalf("transA=%v transB=%v: %v", ta, tb, err)
			}
		}
	}
	// The same node on both sides (a similarity matrix z·zᵀ): gorgonia sums both paths.
	f := func(in []*G.Node) (*G.Node, error) { return MatMul(in[0], in[0], nil, false, true, 2) }
	if err := gradCheck(6, f, ts(randTensor(rng, -1, 1, 4, 3)), []int{0}, 1e-2, 1e-2); err != nil {
		t.Fatal("z·zᵀ:", err)
	}
}

func TestGradElementwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	checks := []struct {
		name string
		f    builder
		vals []*tensor.Dense
		wrt  []int
	}{
		{"add", func(in []*G.Node) (*G.Node, error) { return Add(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 2, 3, 2, 2), randTensor(rng, -1, 1, 2, 3, 2, 2)), []int{0, 1}},
		{"addBias4d", func(in []*G.Node) (*G.Node, error) { return AddBias(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 2, 3, 2, 2), randTensor(rng, -1, 1, 3)), []int{0, 1}},
		{"addBias2d", func(in []*G.Node) (*G.Node, error) { return AddBias(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 4, 3), randTensor(rng, -1, 1, 3)), []int{0, 1}},
		{"scale", func(in []*G.Node) (*G.Node, error) { return Scale(in[0], -1.5) },
			ts(randTensor(rng, -1, 1, 3, 4)), []int{0}},
		{"mean", func(in []*G.Node) (*G.Node, error) { return Mean(in[0]) },
			ts(randTensor(rng, -1, 1, 3, 4)), []int{0}},
		{"concat", func(in []*G.Node) (*G.Node, error) { return Concat(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 2, 3), randTensor(rng, -1, 1, 4, 3)), []int{0, 1}},
		{"reshape", func(in []*G.Node) (*G.Node, error) { return Reshape(in[0], tensor.Shape{2, 12}) },
			ts(randTensor(rng, -1, 1, 2, 3, 2, 2)), []int{0}},
	}
	for _, c := range checks {
		if err := gradCheck(7, c.f, c.vals, c.wrt, 1e-2, 1e-2); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}

func TestGradLosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	labels := tensor.New(tensor.WithShape(5), tensor.WithBacking([]float32{0, 3, 1, 3, 2}))
	checks := []struct {
		name string
		f    builder
		vals []*tensor.Dense
		wrt  []int
	}{
		{"softmaxCE", func(in []*G.Node) (*G.Node, error) { return SoftmaxCrossEntropy(in[0], in[1]) },
			ts(randTensor(rng, -3, 3, 5, 4), labels), []int{0}},
		{"softmax", func(in []*G.Node) (*G.Node, error) { return Softmax(in[0]) },
			ts(randTensor(rng, -3, 3, 5, 4)), []int{0}},
		{"ntxent", func(in []*G.Node) (*G.Node, error) { return NTXentLoss(in[0]) },
			ts(randTensor(rng, -3, 3, 6, 6)), []int{0}},
		{"l2normalize", func(in []*G.Node) (*G.Node, error) { return L2Normalize(in[0], 1e-12) },
			ts(randTensor(rng, -1, 1, 4, 5)), []int{0}},
		{"rowDot", func(in []*G.Node) (*G.Node, error) { return RowDot(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 4, 5), randTensor(rng, -1, 1, 4, 5)), []int{0, 1}},
		{"rowScale", func(in []*G.Node) (*G.Node, error) { return RowScale(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 4), randTensor(rng, -1, 1, 4, 5)), []int{0, 1}},
		{"l2penalty", func(in []*G.Node) (*G.Node, error) { return L2Penalty(in, []float32{0.3, 1.5}) },
			ts(randTensor(rng, -1, 1, 2, 3, 2, 2), randTensor(rng, -1, 1, 4, 3)), []int{0, 1}},
	}
	for _, c := range checks {
		if err := gradCheck(8, c.f, c.vals, c.wrt, 1e-2, 1e-2); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}

// wrongScaleOp has a gradient 3% too large: the checker must catch it.
type wrongScaleOp struct{ scaleOp }

func (op *wrongScaleOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := Scale(grad, op.alpha*1.03)
	return G.Nodes{dx}, err
}

func TestGradCheckCatchesWrongGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	f := func(in []*G.Node) (*G.Node, error) {
		op := &wrongScaleOp{}
		op.alpha = 2
		op.base = newBase(op, "wrongScale", "2", false, in[0].Shape(), in[0].Shape())
		return apply(op, in[0])
	}
	if err := gradCheck(1, f, ts(randTensor(rng, -1, 1, 4, 5)), []int{0}, 1e-2, 1e-2); err == nil {
		t.Fatal("a gradient 3% off passed the check")
	}
}

func TestStopGradient(t *testing.T) {
	g := G.NewGraph()
	xv := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, -2, 3, 4, 5, -6}))
	x := G.NodeFromAny(g, xv, G.WithName("x"))
	sg, err := StopGradient(x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := Add(x, sg) // y = 2x, dy/dx = 1 through the unstopped path only
	if err != nil {
		t.Fatal(err)
	}
	loss, err := Mean(y)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, x)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := float32(*loss.Value().(*G.F32)); got != 10.0/6 {
		t.Errorf("mean(2x) = %v, want %v", got, 10.0/6)
	}
	for i, v := range grads[0].Value().(*tensor.Dense).Float32s() {
		if v != 1.0/6 {
			t.Fatalf("grad[%d] = %v, want 1/6 (the stopped path must contribute nothing)", i, v)
		}
	}
}
