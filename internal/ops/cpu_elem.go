package ops

import (
	"math"

	"github.com/selfsup/selfsup/internal/blas"
)

// elemChunk is the smallest run of elements worth a goroutine.
const elemChunk = 1 << 14

// planeChunk returns how many planes of s values make a worthwhile goroutine.
func planeChunk(s int) int {
	if s >= elemChunk {
		return 1
	}
	return elemChunk/s + 1
}

// columns reports whether a per-channel reduction over [n, c, s] is better done row by
// row over a [n, c] matrix (s == 1: one value per plane).
func columns(s int) bool { return s == 1 }

// ChannelSum implements Kernels.
func (CPU) ChannelSum(n, c, s int, x, out []float32) error {
	if columns(s) {
		parFor(c, 64, func(lo, hi int) {
			acc := out[lo:hi]
			clear(acc)
			for i := 0; i < n; i++ {
				row := x[i*c+lo : i*c+hi]
				row = row[:len(acc)]
				for j, v := range row {
					acc[j] += v
				}
			}
		})
		return nil
	}
	sums := reducePlanes(n, c, func(i, ch int) (float64, float64) {
		return vecSums(x[(i*c+ch)*s:(i*c+ch+1)*s], 0)
	})
	for ch := range c {
		out[ch] = float32(sums[2*ch])
	}
	scratch64.put(sums)
	return nil
}

// AddChannel implements Kernels.
func (CPU) AddChannel(n, c, s int, x, b, y []float32) error {
	if columns(s) {
		parFor(n, rowChunk(c), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				src, dst := x[i*c:(i+1)*c], y[i*c:(i+1)*c]
				src, bb := src[:len(dst)], b[:len(dst)]
				for j := range dst {
					dst[j] = src[j] + bb[j]
				}
			}
		})
		return nil
	}
	parFor(n*c, planeChunk(s), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			bv := b[pi%c]
			src, dst := x[pi*s:(pi+1)*s], y[pi*s:(pi+1)*s]
			for j := range dst {
				dst[j] = src[j] + bv
			}
		}
	})
	return nil
}

// ChannelMoments implements Kernels. Sums are taken around the channel's first value to
// avoid cancellation when the mean is large against the spread.
func (CPU) ChannelMoments(n, c, s int, x, mean, variance []float32) error {
	m := float64(n * s)
	if columns(s) {
		parFor(c, 64, func(lo, hi int) {
			shift := x[lo:hi]
			sum, sq := mean[lo:hi], variance[lo:hi]
			clear(sum)
			clear(sq)
			for i := 1; i < n; i++ {
				row := x[i*c+lo : i*c+hi]
				row = row[:len(sum)]
				for j, v := range row {
					d := v - shift[j]
					sum[j] += d
					sq[j] += d * d
				}
			}
			for j := range sum {
				mu := float64(sum[j]) / m
				v := float64(sq[j])/m - mu*mu
				if v < 0 {
					v = 0
				}
				sum[j] = float32(mu + float64(shift[j]))
				sq[j] = float32(v)
			}
		})
		return nil
	}
	sums := reducePlanes(n, c, func(i, ch int) (float64, float64) {
		return vecSums(x[(i*c+ch)*s:(i*c+ch+1)*s], x[ch*s])
	})
	for ch := range c {
		mu := sums[2*ch] / m
		v := sums[2*ch+1]/m - mu*mu
		if v < 0 {
			v = 0
		}
		mean[ch] = float32(mu + float64(x[ch*s]))
		variance[ch] = float32(v)
	}
	scratch64.put(sums)
	return nil
}

// ScaleShift implements Kernels.
func (CPU) ScaleShift(n, c, s int, x, scale, shift, y []float32) error {
	return scaleShift(n, c, s, x, scale, shift, y, false)
}

// ScaleShiftReLU implements Kernels.
func (CPU) ScaleShiftReLU(n, c, s int, x, scale, shift, y []float32) error {
	return scaleShift(n, c, s, x, scale, shift, y, true)
}

func scaleShift(n, c, s int, x, scale, shift, y []float32, relu bool) error {
	if columns(s) {
		parFor(n, rowChunk(c), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				src, dst := x[i*c:(i+1)*c], y[i*c:(i+1)*c]
				src, a, b := src[:len(dst)], scale[:len(dst)], shift[:len(dst)]
				for j := range dst {
					dst[j] = src[j]*a[j] + b[j]
				}
				if relu {
					vecReLU(dst, dst)
				}
			}
		})
		return nil
	}
	parFor(n*c, planeChunk(s), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			vecAffine(x[pi*s:(pi+1)*s], y[pi*s:(pi+1)*s], scale[pi%c], shift[pi%c], relu)
		}
	})
	return nil
}

// BatchNormGradParams implements Kernels.
func (CPU) BatchNormGradParams(n, c, s int, x, dy, mean, invstd, dgamma, dbeta []float32) error {
	if columns(s) {
		parFor(c, 64, func(lo, hi int) {
			mu, g, b := mean[lo:hi], dgamma[lo:hi], dbeta[lo:hi]
			clear(g)
			clear(b)
			for i := 0; i < n; i++ {
				xr, dr := x[i*c+lo:i*c+hi], dy[i*c+lo:i*c+hi]
				xr, dr = xr[:len(g)], dr[:len(g)]
				for j, d := range dr {
					g[j] += d * (xr[j] - mu[j])
					b[j] += d
				}
			}
			for j := range g {
				g[j] *= invstd[lo+j]
			}
		})
		return nil
	}
	sums := reducePlanes(n, c, func(i, ch int) (float64, float64) {
		return vecBNDot(dy[(i*c+ch)*s:(i*c+ch+1)*s], x[(i*c+ch)*s:(i*c+ch+1)*s], mean[ch])
	})
	for ch := range c {
		dgamma[ch] = float32(sums[2*ch+1]) * invstd[ch]
		dbeta[ch] = float32(sums[2*ch])
	}
	scratch64.put(sums)
	return nil
}

// BatchNormGradInput implements Kernels. In training mode
// dx = k·dy + a·x + b with k = gamma·invstd, a = -k·invstd·dgamma/M and
// b = -k·dbeta/M - a·mean.
func (CPU) BatchNormGradInput(n, c, s int, training bool, x, dy, mean, invstd, gamma, dgamma, dbeta, dx []float32) error {
	m := float32(n * s)
	if columns(s) {
		// Per-channel coefficients, then one pass over the rows: dx = k·dy + a·x + b.
		coef := scratch.get(3 * c)
		defer scratch.put(coef)
		k, a, b := coef[:c], coef[c:2*c], coef[2*c:]
		for ch := range c {
			k[ch] = gamma[ch] * invstd[ch]
			a[ch], b[ch] = 0, 0
			if training {
				a[ch] = -k[ch] * invstd[ch] * dgamma[ch] / m
				b[ch] = -k[ch]*dbeta[ch]/m - a[ch]*mean[ch]
			}
		}
		parFor(n, rowChunk(c), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				xr, dr, out := x[i*c:(i+1)*c], dy[i*c:(i+1)*c], dx[i*c:(i+1)*c]
				xr, dr = xr[:len(out)], dr[:len(out)]
				for j := range out {
					out[j] = k[j]*dr[j] + a[j]*xr[j] + b[j]
				}
			}
		})
		return nil
	}
	parFor(n*c, planeChunk(s), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			ch := pi % c
			k := gamma[ch] * invstd[ch]
			dp, out := dy[pi*s:(pi+1)*s], dx[pi*s:(pi+1)*s]
			if !training {
				for j := range out {
					out[j] = k * dp[j]
				}
				continue
			}
			a := -k * invstd[ch] * dgamma[ch] / m
			b := -k*dbeta[ch]/m - a*mean[ch]
			vecBNGradIn(dp, x[pi*s:(pi+1)*s], out, k, a, b)
		}
	})
	return nil
}

// ReLU implements Kernels. A value whose sign bit is set becomes +0 (so -0 and negative
// NaNs do too), without a branch (random signs defeat the predictor).
func (CPU) ReLU(x, y []float32) error {
	parFor(len(x), elemChunk, func(lo, hi int) {
		vecReLU(x[lo:hi], y[lo:hi])
	})
	return nil
}

// ReLUGrad implements Kernels: dx = dy where y > 0 (compared as bit patterns, so +0 and
// every negative value give 0).
func (CPU) ReLUGrad(y, dy, dx []float32) error {
	parFor(len(y), elemChunk, func(lo, hi int) {
		vecReLUGrad(y[lo:hi], dy[lo:hi], dx[lo:hi])
	})
	return nil
}

// ReLUGradAdd implements Kernels.
func (CPU) ReLUGradAdd(y, a, b, dx []float32) error {
	parFor(len(y), elemChunk, func(lo, hi int) {
		vecReLUGradAdd(y[lo:hi], a[lo:hi], b[lo:hi], dx[lo:hi])
	})
	return nil
}

// Add implements Kernels.
func (CPU) Add(a, b, y []float32) error {
	parFor(len(a), elemChunk, func(lo, hi int) {
		vecAdd(a[lo:hi], b[lo:hi], y[lo:hi], false)
	})
	return nil
}

// AddReLU implements Kernels.
func (CPU) AddReLU(a, b, y []float32) error {
	parFor(len(a), elemChunk, func(lo, hi int) {
		vecAdd(a[lo:hi], b[lo:hi], y[lo:hi], true)
	})
	return nil
}

// Scale implements Kernels.
func (CPU) Scale(alpha float32, x, y []float32) error {
	parFor(len(x), elemChunk, func(lo, hi int) {
		src, out := x[lo:hi], y[lo:hi]
		for i := range out {
			out[i] = alpha * src[i]
		}
	})
	return nil
}

// Fill implements Kernels.
func (CPU) Fill(v float32, y []float32) error {
	for i := range y {
		y[i] = v
	}
	return nil
}

// Sum implements Kernels.
func (CPU) Sum(x []float32) float32 {
	var acc float64
	for i := 0; i < len(x); i += 4096 {
		var a float32
		for _, v := range x[i:min(i+4096, len(x))] {
			a += v
		}
		acc += float64(a)
	}
	return float32(acc)
}

// SumSquares implements Kernels.
func (CPU) SumSquares(x []float32) float32 {
	var acc float64
	for i := 0; i < len(x); i += 4096 {
		var a float32
		for _, v := range x[i:min(i+4096, len(x))] {
			a += v * v
		}
		acc += float64(a)
	}
	return float32(acc)
}

// GlobalAvgPool implements Kernels.
func (CPU) GlobalAvgPool(n, c, s int, x, y []float32) error {
	inv := 1 / float64(s)
	parFor(n*c, planeChunk(s), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			sum, _ := vecSums(x[pi*s:(pi+1)*s], 0)
			y[pi] = float32(sum * inv)
		}
	})
	return nil
}

// GlobalAvgPoolGrad implements Kernels.
func (CPU) GlobalAvgPoolGrad(n, c, s int, dy, dx []float32) error {
	inv := 1 / float32(s)
	parFor(n*c, planeChunk(s), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			v := dy[pi] * inv
			out := dx[pi*s : (pi+1)*s]
			for j := range out {
				out[j] = v
			}
		}
	})
	return nil
}

// poolArgmax returns the index within the plane of the first maximum of window (oh, ow).
func poolArgmax(g *PoolGeom, plane []float32, oh, ow int) int {
	best, bi := float32(math.Inf(-1)), -1
	h0, w0 := oh*g.SH-g.PadT, ow*g.SW-g.PadL
	for ki := max(0, -h0); ki < g.KH && h0+ki < g.H; ki++ {
		row := (h0 + ki) * g.W
		for kj := max(0, -w0); kj < g.KW && w0+kj < g.W; kj++ {
			if v := plane[row+w0+kj]; v > best || bi < 0 {
				best, bi = v, row+w0+kj
			}
		}
	}
	return bi
}

// MaxPool implements Kernels. The window maximum is taken in two passes per output row,
// the maximum of the window's input rows first (a vector pass), then of each window's
// columns of that, which takes about a third of the comparisons of a window at a time
// and no index arithmetic, with Go's branch-free max (4.2× the window-at-a-time loop in
// BenchmarkMaxPool). Maxima do not depend on the order of the comparisons, so the result
// equals the first maximum that MaxPoolGrad routes the gradient to (a zero of either
// sign compares equal; a NaN in a window makes its maximum NaN).
func (CPU) MaxPool(g *PoolGeom, x, y []float32) error {
	hw, ohw := g.H*g.W, g.OH*g.OW
	parFor(g.N*g.C, planeChunk(hw), func(lo, hi int) {
		rows := scratch.get(g.W)
		defer scratch.put(rows)
		rows = rows[:g.W]
		for pi := lo; pi < hi; pi++ {
			plane, out := x[pi*hw:(pi+1)*hw], y[pi*ohw:(pi+1)*ohw]
			for oh := 0; oh < g.OH; oh++ {
				h0 := oh*g.SH - g.PadT
				k0, k1 := max(0, -h0), min(g.KH, g.H-h0)
				copy(rows, plane[(h0+k0)*g.W:(h0+k0+1)*g.W])
				for ki := k0 + 1; ki < k1; ki++ {
					row := plane[(h0+ki)*g.W : (h0+ki+1)*g.W]
					for j, v := range row {
						rows[j] = max(rows[j], v)
					}
				}
				o := out[oh*g.OW : (oh+1)*g.OW]
				for ow := range o {
					w0 := ow*g.SW - g.PadL
					j0, j1 := max(0, -w0), min(g.KW, g.W-w0)
					m := rows[w0+j0]
					for _, v := range rows[w0+j0+1 : w0+j1] {
						m = max(m, v)
					}
					o[ow] = m
				}
			}
		}
	})
	return nil
}

// MaxPoolGrad implements Kernels.
func (CPU) MaxPoolGrad(g *PoolGeom, x, dy, dx []float32) error {
	hw, ohw := g.H*g.W, g.OH*g.OW
	parFor(g.N*g.C, planeChunk(hw), func(lo, hi int) {
		for pi := lo; pi < hi; pi++ {
			plane, d, out := x[pi*hw:(pi+1)*hw], dy[pi*ohw:(pi+1)*ohw], dx[pi*hw:(pi+1)*hw]
			clear(out)
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					out[poolArgmax(g, plane, oh, ow)] += d[oh*g.OW+ow]
				}
			}
		}
	})
	return nil
}

// MatMul implements Kernels.
func (CPU) MatMul(transA, transB bool, m, n, k int, alpha float32, a, b, bias, c []float32) error {
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	var beta float32
	if bias != nil {
		for i := 0; i < m; i++ {
			copy(c[i*n:(i+1)*n], bias)
		}
		beta = 1
	}
	blas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, n)
	return nil
}
