package ops

import "math"

// Vector loops of the elementwise kernels: each runs the AVX2/FMA assembly of
// simd_amd64.s on the longest prefix of a multiple of 8 elements when useAVX2 is set and
// Go for the rest (all of it elsewhere). Slices are used up to the length of the output
// (or of x for reductions); inputs must be at least that long.

// vecReLU sets y = max(x, 0), clearing every value whose sign bit is set (so -0 and
// negative NaNs give +0).
func vecReLU(x, y []float32) {
	n := len(y)
	x = x[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		reluAVX2(&x[0], &y[0], i)
	}
	for ; i < n; i++ {
		b := math.Float32bits(x[i])
		y[i] = math.Float32frombits(b &^ uint32(int32(b)>>31))
	}
}

// vecReLUGrad sets dx = dy where y > 0 (as a bit pattern: +0 and negative values give 0).
func vecReLUGrad(y, dy, dx []float32) {
	n := len(dx)
	y, dy = y[:n], dy[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		reluGradAVX2(&y[0], &dy[0], &dx[0], i)
	}
	for ; i < n; i++ {
		if int32(math.Float32bits(y[i])) > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// vecEvens sets dst[i] = src[2i] for i < len(dst); src must hold 2·len(dst)-1 values.
func vecEvens(src, dst []float32) {
	n := len(dst)
	src = src[:2*n-1]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		evensAVX2(&src[0], &dst[0], i)
	}
	for ; i < n; i++ {
		dst[i] = src[2*i]
	}
}

// vecReLUGradAdd sets dx = a + b where y > 0 (as vecReLUGrad), else 0.
func vecReLUGradAdd(y, a, b, dx []float32) {
	n := len(dx)
	y, a, b = y[:n], a[:n], b[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		reluGradAddAVX2(&y[0], &a[0], &b[0], &dx[0], i)
	}
	for ; i < n; i++ {
		if int32(math.Float32bits(y[i])) > 0 {
			dx[i] = a[i] + b[i]
		} else {
			dx[i] = 0
		}
	}
}

// vecAffine sets y = a·x + b, then max(·, 0) when relu is set.
func vecAffine(x, y []float32, a, b float32, relu bool) {
	n := len(y)
	x = x[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		affineAVX2(&x[0], &y[0], i, a, b, relu)
	}
	for ; i < n; i++ {
		v := float32(math.FMA(float64(a), float64(x[i]), float64(b)))
		if relu {
			bits := math.Float32bits(v)
			v = math.Float32frombits(bits &^ uint32(int32(bits)>>31))
		}
		y[i] = v
	}
}

// vecAdd sets y = a + b, then max(·, 0) when relu is set.
func vecAdd(a, b, y []float32, relu bool) {
	n := len(y)
	a, b = a[:n], b[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		addAVX2(&a[0], &b[0], &y[0], i, relu)
	}
	for ; i < n; i++ {
		v := a[i] + b[i]
		if relu {
			bits := math.Float32bits(v)
			v = math.Float32frombits(bits &^ uint32(int32(bits)>>31))
		}
		y[i] = v
	}
}

// sumBlock bounds the run of values summed in float32 lanes before the partial sum is
// added in float64.
const sumBlock = 4096

// vecSums returns Σ (x-shift) and Σ (x-shift)², summed in float32 lanes over blocks of
// sumBlock values and in float64 across blocks.
func vecSums(x []float32, shift float32) (sum, sq float64) {
	for len(x) > 0 {
		blk := x[:min(len(x), sumBlock)]
		x = x[len(blk):]
		var s, q float32
		i := 0
		if useAVX2 && len(blk) >= 8 {
			i = len(blk) &^ 7
			s, q = sumsAVX2(&blk[0], i, shift)
		}
		for ; i < len(blk); i++ {
			d := blk[i] - shift
			s += d
			q += d * d
		}
		sum += float64(s)
		sq += float64(q)
	}
	return sum, sq
}

// vecBNDot returns Σ dy and Σ dy·(x-mu), blocked as vecSums.
func vecBNDot(dy, x []float32, mu float32) (sdy, sdx float64) {
	x = x[:len(dy)]
	for len(dy) > 0 {
		m := min(len(dy), sumBlock)
		d, xb := dy[:m], x[:m]
		dy, x = dy[m:], x[m:]
		var s, t float32
		i := 0
		if useAVX2 && m >= 8 {
			i = m &^ 7
			s, t = bnDotAVX2(&d[0], &xb[0], i, mu)
		}
		for ; i < m; i++ {
			s += d[i]
			t += d[i] * (xb[i] - mu)
		}
		sdy += float64(s)
		sdx += float64(t)
	}
	return sdy, sdx
}

// vecBNGradIn sets dx = k·dy + a·x + b.
func vecBNGradIn(dy, x, dx []float32, k, a, b float32) {
	n := len(dx)
	dy, x = dy[:n], x[:n]
	i := 0
	if useAVX2 && n >= 8 {
		i = n &^ 7
		bnGradInAVX2(&dy[0], &x[0], &dx[0], i, k, a, b)
	}
	for ; i < n; i++ {
		t := float32(math.FMA(float64(a), float64(x[i]), float64(b)))
		dx[i] = float32(math.FMA(float64(k), float64(dy[i]), float64(t)))
	}
}
