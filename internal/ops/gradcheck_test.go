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
// G.Grad and compares, for each input in wrt, the directional derivative along a random
// direction with central differences computed on the same TapeMachine. It returns an
// error describing the first mismatch.
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
		if math.Abs(num-dot) > tol*math.Max(1, math.Max(math.Abs(num), math.Abs(dot))) {
			return fmt.Errorf("input %d: directional derivative %.6g analytic vs %.6g numeric", i, dot, num)
		}
	}
	return nil
}

func TestGradConvReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randTensor(rng, -1, 1, 2, 3, 7, 6)
	w := randTensor(rng, -0.5, 0.5, 4, 3, 3, 3)
	b := randTensor(rng, -0.5, 0.5, 4)
	f := func(in []*G.Node) (*G.Node, error) {
		return Conv2D(in[0], in[1], in[2], 2, 1, Padding2D{1, 1, 1, 0})
	}
	if err := gradCheck(3, f, []*tensor.Dense{x, w, b}, []int{0, 1, 2}, 1e-2, 1e-2); err != nil {
		t.Fatal(err)
	}
}
