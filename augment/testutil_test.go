package augment

import "math/rand/v2"

// randomBatch returns n c×h×w images of pixels k/255 drawn from seed.
func randomBatch(n, c, h, w int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, n*c*h*w)
	for i := range v {
		v[i] = float32(r.IntN(256)) / 255
	}
	return v
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		d := float64(a[i] - b[i])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}
