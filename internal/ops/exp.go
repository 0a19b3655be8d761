package ops

import "math"

// expNonPos returns e^x for x <= 0 (the shifted logits of a softmax) with a relative
// error below 1e-8, several times faster than math.Exp: x = k·ln2 + r with |r| <= ln2/2,
// e^r by its Taylor polynomial of degree 7, 2^k by the exponent bits. Below -700 it
// returns 0 (e^-700 is far below float32's smallest value); NaN stays NaN. For x > 0 it
// falls back to math.Exp.
func expNonPos(x float64) float64 {
	if !(x <= 0) { // positive or NaN
		return math.Exp(x)
	}
	if x < -700 {
		return 0
	}
	const (
		log2e = 1.4426950408889634
		ln2hi = 6.93147180369123816490e-01
		ln2lo = 1.90821492927058770002e-10
		round = 0x1.8p52 // adding it rounds to an integer
	)
	k := x*log2e + round
	k -= round
	r := x - k*ln2hi - k*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}
