package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withGoLoops runs f with the assembly loops switched off.
func withGoLoops(f func()) {
	saved := useAVX2
	useAVX2 = false
	defer func() { useAVX2 = saved }()
	f()
}

// specials are values whose ReLU and ReLU gradient depend on the sign bit.
var specials = []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), -float32(math.NaN()),
	float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45, -1e-45}

func randVec(rng *rand.Rand, n int, withSpecials bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		if withSpecials && rng.IntN(4) == 0 {
			v[i] = specials[rng.IntN(len(specials))]
		}
	}
	return v
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestVectorLoops checks the assembly loops against the Go loops for every length up to
// 100 plus a few long ones: bit for bit where no rounding is involved (ReLU, its gradient,
// addition), to float32 rounding for the fused multiply-adds, and to a relative 1e-5 for
// sums (the lanes add in another order).
func TestVectorLoops(t *testing.T) {
	if !useAVX2 {
		t.Skip("no assembly loops on this machine or build")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	lengths := []int{5000, 4096 + 13, 2 * 4096}
	for n := 0; n <= 100; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		x, y, dy := randVec(rng, n, true), randVec(rng, n, true), randVec(rng, n, false)
		a, b := float32(rng.NormFloat64()), float32(rng.NormFloat64())
		for _, relu := range []bool{false, true} {
			got, want := make([]float32, n), make([]float32, n)
			vecAdd(x, y, got, relu)
			withGoLoops(func() { vecAdd(x, y, want, relu) })
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("n=%d add relu=%v: [%d] %v + %v = %v, Go loop %v", n, relu, i, x[i], y[i], got[i], want[i])
			}
			xf := randVec(rng, n, false)
			vecAffine(xf, got, a, b, relu)
			withGoLoops(func() { vecAffine(xf, want, a, b, relu) })
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("n=%d affine relu=%v: [%d] = %v, Go loop %v", n, relu, i, got[i], want[i])
				}
				if relu && got[i] < 0 {
					t.Fatalf("n=%d affine relu: [%d] = %v < 0", n, i, got[i])
				}
			}
		}
		got, want := make([]float32, n), make([]float32, n)
		vecReLU(x, got)
		withGoLoops(func() { vecReLU(x, want) })
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("n=%d relu: [%d] relu(%v) = %v, Go loop %v", n, i, x[i], got[i], want[i])
		}
		for i, v := range got {
			if math.Signbit(float64(v)) || (x[i] > 0 && v != x[i]) {
				t.Fatalf("n=%d relu(%v) = %v", n, x[i], v)
			}
		}
		if n > 0 {
			ev, evGo := make([]float32, (n+1)/2), make([]float32, (n+1)/2)
			vecEvens(x[:2*len(ev)-1], ev)
			for i := range evGo {
				evGo[i] = x[2*i]
			}
			if i := sameBits(ev, evGo); i >= 0 {
				t.Fatalf("n=%d evens: [%d] = %v, want %v", n, i, ev[i], evGo[i])
			}
		}
		vecReLUGradAdd(x, y, dy, got)
		withGoLoops(func() { vecReLUGradAdd(x, y, dy, want) })
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("n=%d relu grad add: [%d] at %v = %v, Go loop %v", n, i, x[i], got[i], want[i])
		}
		vecReLUGrad(x, dy, got)
		withGoLoops(func() { vecReLUGrad(x, dy, want) })
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("n=%d relu grad: [%d] at %v = %v, Go loop %v", n, i, x[i], got[i], want[i])
		}
		for i, v := range got {
			if x[i] > 0 && v != dy[i] || x[i] <= 0 && v != 0 {
				t.Fatalf("n=%d relu grad at %v with dy %v = %v", n, x[i], dy[i], v)
			}
		}
		xf, k := randVec(rng, n, false), float32(rng.NormFloat64())
		vecBNGradIn(dy, xf, got, k, a, b)
		withGoLoops(func() { vecBNGradIn(dy, xf, want, k, a, b) })
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("n=%d bn grad input: [%d] = %v, Go loop %v", n, i, got[i], want[i])
			}
		}
		close := func(what string, g, w, scale float64) {
			if math.Abs(g-w) > 1e-5*(1+scale) {
				t.Fatalf("n=%d %s = %v, Go loop %v", n, what, g, w)
			}
		}
		var s0, q0, s1, q1, d0, e0, d1, e1 float64
		s0, q0 = vecSums(xf, 0.25)
		d0, e0 = vecBNDot(dy, xf, 0.25)
		withGoLoops(func() {
			s1, q1 = vecSums(xf, 0.25)
			d1, e1 = vecBNDot(dy, xf, 0.25)
		})
		scale := float64(n)
		close("sum", s0, s1, scale)
		close("sum of squares", q0, q1, scale)
		close("sum dy", d0, d1, scale)
		close("sum dy·(x-mu)", e0, e1, scale)
		var ref float64
		for _, v := range xf {
			ref += float64(v) - 0.25
		}
		close("sum against float64", s0, ref, scale)
	}
}

// TestTranspose checks transpose (8×8 register blocks plus Go edges) against the
// definition for shapes with and without remainders.
func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, rc := range [][2]int{{1, 1}, {3, 5}, {8, 8}, {16, 1024}, {9, 17}, {64, 64}, {7, 30}, {30, 7}, {24, 13}} {
		r, c := rc[0], rc[1]
		a := randVec(rng, r*c, false)
		for _, asm := range []bool{true, false} {
			got := make([]float32, r*c)
			if asm {
				transpose(r, c, a, got)
			} else {
				withGoLoops(func() { transpose(r, c, a, got) })
			}
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					if got[j*r+i] != a[i*c+j] {
						t.Fatalf("%d×%d (assembly %v): t[%d,%d] = %v, want a[%d,%d] = %v", r, c, asm && useAVX2, j, i, got[j*r+i], i, j, a[i*c+j])
					}
				}
			}
		}
	}
}
