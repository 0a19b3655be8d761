package optim

import (
	"testing"

	"github.com/selfsup/selfsup/nn"
)

func benchParams(b testing.TB, sizes ...int) ([]*nn.Param, [][]float32) {
	ps := nn.NewParams(1)
	var params []*nn.Param
	var grads [][]float32
	for i, n := range sizes {
		p, err := ps.Variable(string(rune('a'+i)), []int{n}, nn.GlorotUniform, true)
		if err != nil {
			b.Fatal(err)
		}
		g := make([]float32, n)
		for j := range g {
			g[j] = float32(j%7-3) * 1e-3
		}
		params, grads = append(params, p), append(grads, g)
	}
	return params, grads
}

func BenchmarkAdam1M(b *testing.B) {
	params, grads := benchParams(b, 1<<20)
	a, _ := NewAdam()
	b.SetBytes(4 << 20)
	for b.Loop() {
		_ = a.Step(1e-3, params, grads)
	}
}

func BenchmarkLARS1M(b *testing.B) {
	params, grads := benchParams(b, 1<<20)
	a, _ := NewLARS(WeightDecay(1e-6))
	b.SetBytes(4 << 20)
	for b.Loop() {
		_ = a.Step(1e-3, params, grads)
	}
}

func BenchmarkSGD1M(b *testing.B) {
	params, grads := benchParams(b, 1<<20)
	a, _ := NewSGD(Momentum(0.9))
	b.SetBytes(4 << 20)
	for b.Loop() {
		_ = a.Step(1e-3, params, grads)
	}
}
