package ops

import (
	"fmt"
	"math"
)

func rowChunk(k int) int { return elemChunk/max(k, 1) + 1 }

// logSumExp returns max(x) and log Σ exp(x - max) over row, skipping index skip (or none if skip < 0).
func logSumExp(row []float32, skip int) (mx float32, lse float64) {
	mx = float32(math.Inf(-1))
	for j, v := range row {
		if j != skip && v > mx {
			mx = v
		}
	}
	var sum float64
	for j, v := range row {
		if j != skip {
			sum += expNonPos(float64(v - mx))
		}
	}
	return mx, math.Log(sum)
}

func labelIndex(labels []float32, i, k int) (int, error) {
	l := labels[i]
	t := int(l)
	if float32(t) != l || t < 0 || t >= k {
		return 0, fmt.Errorf("label %v of row %d is not a class index in [0, %d)", l, i, k)
	}
	return t, nil
}

// softmaxCrossEntropyValue is SoftmaxCrossEntropy's value.
func (CPU) softmaxCrossEntropyValue(n, k int, logits, labels, probs []float32) (float32, error) {
	for i := 0; i < n; i++ {
		if _, err := labelIndex(labels, i, k); err != nil {
			return 0, err
		}
	}
	var total float64
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		t := int(labels[i])
		mx, lse := logSumExp(row, -1)
		total += float64(mx) + lse - float64(row[t])
		if probs != nil {
			p := probs[i*k : (i+1)*k]
			for j, v := range row {
				p[j] = float32(math.Exp(float64(v-mx) - lse))
			}
		}
	}
	return float32(total / float64(n)), nil
}

// SoftmaxCrossEntropyGrad implements Kernels.
func (CPU) SoftmaxCrossEntropyGrad(n, k int, gs []float32, logits, labels, dx []float32) error {
	g := gs[0]
	for i := 0; i < n; i++ {
		if _, err := labelIndex(labels, i, k); err != nil {
			return err
		}
	}
	scale := float64(g) / float64(n)
	parFor(n, rowChunk(k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, d := logits[i*k:(i+1)*k], dx[i*k:(i+1)*k]
			mx, lse := logSumExp(row, -1)
			for j, v := range row {
				d[j] = float32(scale * math.Exp(float64(v-mx)-lse))
			}
			d[int(labels[i])] -= float32(scale)
		}
	})
	return nil
}

// Softmax implements Kernels.
func (CPU) Softmax(n, k int, x, y []float32) error {
	parFor(n, rowChunk(k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, out := x[i*k:(i+1)*k], y[i*k:(i+1)*k]
			mx, lse := logSumExp(row, -1)
			for j, v := range row {
				out[j] = float32(math.Exp(float64(v-mx) - lse))
			}
		}
	})
	return nil
}

// SoftmaxGrad implements Kernels.
func (CPU) SoftmaxGrad(n, k int, y, dy, dx []float32) error {
	parFor(n, rowChunk(k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			yy, d, out := y[i*k:(i+1)*k], dy[i*k:(i+1)*k], dx[i*k:(i+1)*k]
			var dot float64
			for j := range yy {
				dot += float64(yy[j]) * float64(d[j])
			}
			for j := range out {
				out[j] = yy[j] * (d[j] - float32(dot))
			}
		}
	})
	return nil
}

// ntXentValue is NTXent's value.
func (CPU) ntXentValue(m int, s []float32) (float32, error) {
	n := 2 * m
	var total float64
	for i := 0; i < n; i++ {
		row := s[i*n : (i+1)*n]
		mx, lse := logSumExp(row, i)
		total += float64(mx) + lse - float64(row[(i+m)%n])
	}
	return float32(total / float64(n)), nil
}

// NTXentGrad implements Kernels.
func (CPU) NTXentGrad(m int, gs []float32, s, ds []float32) error {
	g := gs[0]
	n := 2 * m
	scale := float64(g) / float64(n)
	parFor(n, rowChunk(n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, d := s[i*n:(i+1)*n], ds[i*n:(i+1)*n]
			mx, lse := logSumExp(row, i)
			for j, v := range row {
				d[j] = float32(scale * math.Exp(float64(v-mx)-lse))
			}
			d[i] = 0
			d[(i+m)%n] -= float32(scale)
		}
	})
	return nil
}

// L2Normalize implements Kernels.
func (CPU) L2Normalize(n, d int, eps float32, x, y []float32) error {
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, out := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
			var sq float64
			for _, v := range row {
				sq += float64(v) * float64(v)
			}
			inv := float32(1 / math.Sqrt(max(sq, float64(eps))))
			for j, v := range row {
				out[j] = v * inv
			}
		}
	})
	return nil
}

// L2NormalizeGrad implements Kernels: dx = (dy - y·(dy·y))/‖x‖, or dy/sqrt(eps) where the
// norm is clamped.
func (CPU) L2NormalizeGrad(n, d int, eps float32, x, y, dy, dx []float32) error {
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, yy, g, out := x[i*d:(i+1)*d], y[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
			var sq float64
			for _, v := range row {
				sq += float64(v) * float64(v)
			}
			if sq <= float64(eps) {
				inv := float32(1 / math.Sqrt(float64(eps)))
				for j := range out {
					out[j] = g[j] * inv
				}
				continue
			}
			inv := float32(1 / math.Sqrt(sq))
			var dot float64
			for j := range yy {
				dot += float64(yy[j]) * float64(g[j])
			}
			for j := range out {
				out[j] = (g[j] - yy[j]*float32(dot)) * inv
			}
		}
	})
	return nil
}

// RowDot implements Kernels.
func (CPU) RowDot(n, d int, a, b, out []float32) error {
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ra, rb := a[i*d:(i+1)*d], b[i*d:(i+1)*d]
			var acc float64
			for j := range ra {
				acc += float64(ra[j]) * float64(rb[j])
			}
			out[i] = float32(acc)
		}
	})
	return nil
}

// RowScale implements Kernels.
func (CPU) RowScale(n, d int, v, x, y []float32) error {
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			a, src, dst := v[i], x[i*d:(i+1)*d], y[i*d:(i+1)*d]
			for j := range dst {
				dst[j] = a * src[j]
			}
		}
	})
	return nil
}
