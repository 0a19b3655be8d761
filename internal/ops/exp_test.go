package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpNonPos(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	xs := []float64{0, -1e-300, -0.5 * math.Ln2, -math.Ln2, -1, -87.3, -103.9, -699.9, -745}
	for range 100000 {
		xs = append(xs, -120*rng.Float64(), -rng.Float64())
	}
	for _, x := range xs {
		want := math.Exp(x)
		if x < -700 {
			want = 0
		}
		if got := expNonPos(x); math.Abs(got-want) > 1e-8*want {
			t.Fatalf("expNonPos(%v) = %v, want %v", x, got, want)
		}
	}
	if !math.IsNaN(expNonPos(math.NaN())) || expNonPos(math.Inf(-1)) != 0 || expNonPos(2) != math.Exp(2) {
		t.Fatal("NaN, -Inf or a positive argument mishandled")
	}
}

func BenchmarkExp(b *testing.B) {
	x := make([]float64, 4096)
	for i := range x {
		x[i] = -20 * float64(i) / 4096
	}
	var s float64
	b.Run("math", func(b *testing.B) {
		for range b.N {
			for _, v := range x {
				s += math.Exp(v)
			}
		}
	})
	b.Run("expNonPos", func(b *testing.B) {
		for range b.N {
			for _, v := range x {
				s += expNonPos(v)
			}
		}
	})
	_ = s
}
