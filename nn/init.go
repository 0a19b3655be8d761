package nn

import (
	"math"
	"math/rand/v2"
)

// Initializer fills data, the values of a parameter of the given shape, drawing from rng.
// Shapes follow the layers' conventions: a conv kernel is [out, in, kh, kw], a dense
// kernel is [in, out].
type Initializer func(data []float32, shape []int, rng *rand.Rand)

// fans returns Keras' fan-in and fan-out for a kernel shape.
func fans(shape []int) (in, out float64) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return float64(shape[0]), float64(shape[0])
	case 2:
		return float64(shape[0]), float64(shape[1])
	default:
		// [out, in, kh, kw...]: each output sees in*kh*kw inputs.
		rf := 1.0
		for _, d := range shape[2:] {
			rf *= float64(d)
		}
		return float64(shape[1]) * rf, float64(shape[0]) * rf
	}
}

// Zeros sets every value to 0.
func Zeros(data []float32, _ []int, _ *rand.Rand) { clear(data) }

// Ones sets every value to 1.
func Ones(data []float32, _ []int, _ *rand.Rand) {
	for i := range data {
		data[i] = 1
	}
}

// truncNormal draws from a normal with the given standard deviation, redrawing values
// beyond two standard deviations, as Keras' TruncatedNormal does.
func truncNormal(data []float32, std float64, rng *rand.Rand) {
	for i := range data {
		v := rng.NormFloat64()
		for math.Abs(v) > 2 {
			v = rng.NormFloat64()
		}
		data[i] = float32(v * std)
	}
}

// HeNormal is Keras' he_normal: a normal truncated at two standard deviations with
// standard deviation sqrt(2/fan_in)/0.8796 (the correction keeps the variance at 2/fan_in
// after truncation).
func HeNormal(data []float32, shape []int, rng *rand.Rand) {
	in, _ := fans(shape)
	truncNormal(data, math.Sqrt(2/in)/0.87962566103423978, rng)
}

// GlorotUniform is Keras' glorot_uniform, the default of its Dense and Conv layers:
// uniform in ±sqrt(6/(fan_in+fan_out)).
func GlorotUniform(data []float32, shape []int, rng *rand.Rand) {
	in, out := fans(shape)
	limit := math.Sqrt(6 / (in + out))
	for i := range data {
		data[i] = float32((2*rng.Float64() - 1) * limit)
	}
}
