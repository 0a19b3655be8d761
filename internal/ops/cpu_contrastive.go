package ops

import (
	"fmt"
	"math"
)

// The CPU kernels of the contrastive losses. Per-row results are written into a scratch
// buffer by parallel loops and summed in row order afterwards, so the losses do not
// depend on the number of goroutines.

// finiteLabels returns an error naming the first label that is NaN or infinite.
func finiteLabels(labels []float32) error {
	for i, l := range labels {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			return fmt.Errorf("label %v of row %d is not a finite number", l, i)
		}
	}
	return nil
}

// softmaxInto sets d to scale·softmax(row) with index skip (if >= 0) left out of the
// softmax and set to 0: one pass stores the exponentials, a second scales them.
func softmaxInto(row, d []float32, skip int, scale float64) {
	mx := float32(math.Inf(-1))
	for j, v := range row {
		if j != skip && v > mx {
			mx = v
		}
	}
	var sum float64
	for j, v := range row {
		e := expNonPos(float64(v - mx))
		if j == skip {
			e = 0
		}
		sum += e
		d[j] = float32(e)
	}
	f := float32(scale / sum)
	for j := range d {
		d[j] *= f
	}
}

// meanOf returns the float32 mean of per (summed in order) over n.
func meanOf(per []float64, n int) float32 {
	var total float64
	for _, v := range per {
		total += v
	}
	return float32(total / float64(n))
}

// supConPositives returns the number of positives of row i and the sum of their logits.
func supConPositives(row, labels []float32, i int) (int, float64) {
	cnt, sum := 0, 0.0
	for k, v := range row {
		if k != i && labels[k] == labels[i] {
			cnt++
			sum += float64(v)
		}
	}
	return cnt, sum
}

// supConValue is SupCon's value.
func (CPU) supConValue(m int, logits, labels []float32) (float32, error) {
	if err := finiteLabels(labels[:m]); err != nil {
		return 0, err
	}
	per := scratch64.get(m)
	defer scratch64.put(per)
	parFor(m, rowChunk(m), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := logits[i*m : (i+1)*m]
			cnt, sum := supConPositives(row, labels, i)
			if cnt == 0 {
				per[i] = 0
				continue
			}
			mx, lse := logSumExp(row, i)
			per[i] = float64(mx) + lse - sum/float64(cnt)
		}
	})
	return meanOf(per, m), nil
}

// SupConGrad implements Kernels.
func (CPU) SupConGrad(m int, gs []float32, logits, labels, dlogits []float32) error {
	g := gs[0]
	if err := finiteLabels(labels[:m]); err != nil {
		return err
	}
	scale := float64(g) / float64(m)
	parFor(m, rowChunk(m), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, d := logits[i*m:(i+1)*m], dlogits[i*m:(i+1)*m]
			cnt, _ := supConPositives(row, labels, i)
			if cnt == 0 {
				clear(d)
				continue
			}
			pw := scale / float64(cnt)
			softmaxInto(row, d, i, scale)
			for k := range d {
				if labels[k] == labels[i] {
					d[k] -= float32(pw)
				}
			}
			d[i] = 0
		}
	})
	return nil
}

// infoNCERow returns the maximum and log Σ exp(l - max) of the scaled logits
// scale·[pos, neg...].
func infoNCERow(scale float64, pos float32, neg []float32) (mx, lse float64) {
	mx = scale * float64(pos)
	for _, v := range neg {
		mx = max(mx, scale*float64(v))
	}
	sum := expNonPos(scale*float64(pos) - mx)
	for _, v := range neg {
		sum += expNonPos(scale*float64(v) - mx)
	}
	return mx, math.Log(sum)
}

// infoNCEValue is InfoNCE's value.
func (CPU) infoNCEValue(n, k int, scale float32, pos, neg []float32) (float32, error) {
	per := scratch64.get(n)
	defer scratch64.put(per)
	s := float64(scale)
	parFor(n, rowChunk(k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			mx, lse := infoNCERow(s, pos[i], neg[i*k:(i+1)*k])
			per[i] = mx + lse - s*float64(pos[i])
		}
	})
	return meanOf(per, n), nil
}

// InfoNCEGrad implements Kernels: one pass stores the exponentials, a second scales them.
func (CPU) InfoNCEGrad(n, k int, scale float32, gs []float32, pos, neg, dpos, dneg []float32) error {
	g := gs[0]
	s := float64(scale)
	c := float64(g) * s / float64(n)
	parFor(n, rowChunk(k), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, d := neg[i*k:(i+1)*k], dneg[i*k:(i+1)*k]
			mx := s * float64(pos[i])
			for _, v := range row {
				mx = max(mx, s*float64(v))
			}
			e0 := expNonPos(s*float64(pos[i]) - mx)
			sum := e0
			for j, v := range row {
				e := expNonPos(s*float64(v) - mx)
				sum += e
				d[j] = float32(e)
			}
			f := float32(c / sum)
			for j := range d {
				d[j] *= f
			}
			dpos[i] = float32(c * (e0/sum - 1))
		}
	})
	return nil
}

// diagonalCrossEntropyValue is DiagonalCrossEntropy's value.
func (CPU) diagonalCrossEntropyValue(n int, logits []float32) (float32, error) {
	per := scratch64.get(n)
	defer scratch64.put(per)
	parFor(n, rowChunk(n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := logits[i*n : (i+1)*n]
			mx, lse := logSumExp(row, -1)
			per[i] = float64(mx) + lse - float64(row[i])
		}
	})
	return meanOf(per, n), nil
}

// DiagonalCrossEntropyGrad implements Kernels.
func (CPU) DiagonalCrossEntropyGrad(n int, gs []float32, logits, dlogits []float32) error {
	g := gs[0]
	scale := float64(g) / float64(n)
	parFor(n, rowChunk(n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, d := logits[i*n:(i+1)*n], dlogits[i*n:(i+1)*n]
			softmaxInto(row, d, -1, scale)
			d[i] -= float32(scale)
		}
	})
	return nil
}

// NearestRows implements Kernels. The support set is scanned in blocks: a block's dot
// products with every query come from one matrix product, then each query keeps its best
// score (dot product over the support row's norm) so far.
func (c CPU) NearestRows(n, q, d int, z, support, y []float32) error {
	bs := min(q, max(16, (1<<18)/max(n, 1)))
	scores := scratch.get(n * bs)
	inv := scratch.get(bs)
	state := scratch64.get(2 * n) // best score, best index
	defer scratch.put(scores)
	defer scratch.put(inv)
	defer scratch64.put(state)
	best, idx := state[:n], state[n:]
	for i := range best {
		best[i], idx[i] = math.Inf(-1), 0
	}
	for b0 := 0; b0 < q; b0 += bs {
		b1 := min(q, b0+bs)
		nb := b1 - b0
		for j := b0; j < b1; j++ {
			var sq float64
			for _, v := range support[j*d : (j+1)*d] {
				sq += float64(v) * float64(v)
			}
			inv[j-b0] = 0
			if sq > 0 {
				inv[j-b0] = float32(1 / math.Sqrt(sq))
			}
		}
		if err := c.MatMul(false, true, n, nb, d, 1, z, support[b0*d:b1*d], nil, scores[:n*nb]); err != nil {
			return err
		}
		parFor(n, rowChunk(nb), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				for j, v := range scores[i*nb : (i+1)*nb] {
					if inv[j] == 0 {
						continue // a zero row has no direction
					}
					if s := float64(v) * float64(inv[j]); s > best[i] {
						best[i], idx[i] = s, float64(b0+j)
					}
				}
			}
		})
	}
	for i := range n {
		j := int(idx[i])
		copy(y[i*d:(i+1)*d], support[j*d:(j+1)*d])
	}
	return nil
}

// columnStats sets mean[j] and invstd[j] = 1/sqrt(var_j·vscale + eps) of the columns of
// x [n,d], var_j the biased variance.
func (c CPU) columnStats(n, d int, eps float32, vscale float64, x, mean, invstd []float32) error {
	if err := c.ChannelMoments(n, d, 1, x, mean, invstd); err != nil {
		return err
	}
	for j, v := range invstd {
		invstd[j] = float32(1 / math.Sqrt(float64(v)*vscale+float64(eps)))
	}
	return nil
}

// Standardize implements Kernels.
func (c CPU) Standardize(n, d int, eps float32, x, y []float32) error {
	buf := scratch.get(2 * d)
	defer scratch.put(buf)
	mean, invstd := buf[:d], buf[d:]
	if err := c.columnStats(n, d, eps, 1, x, mean, invstd); err != nil {
		return err
	}
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xr, out := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
			for j, v := range xr {
				out[j] = (v - mean[j]) * invstd[j]
			}
		}
	})
	return nil
}

// StandardizeGrad implements Kernels with the batch norm gradient kernels (γ = 1).
func (c CPU) StandardizeGrad(n, d int, eps float32, x, dy, dx []float32) error {
	buf := scratch.get(5 * d)
	defer scratch.put(buf)
	mean, invstd, ones, dgamma, dbeta := buf[:d], buf[d:2*d], buf[2*d:3*d], buf[3*d:4*d], buf[4*d:]
	if err := c.columnStats(n, d, eps, 1, x, mean, invstd); err != nil {
		return err
	}
	for j := range ones {
		ones[j] = 1
	}
	if err := c.BatchNormGradParams(n, d, 1, x, dy, mean, invstd, dgamma, dbeta); err != nil {
		return err
	}
	return c.BatchNormGradInput(n, d, 1, true, x, dy, mean, invstd, ones, dgamma, dbeta, dx)
}

// crossCorrelationLossValue is CrossCorrelationLoss's value.
func (CPU) crossCorrelationLossValue(d int, lambda float32, c []float32) (float32, error) {
	per := scratch64.get(d)
	defer scratch64.put(per)
	parFor(d, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var off float64
			for j, v := range c[i*d : (i+1)*d] {
				if j != i {
					off += float64(v) * float64(v)
				}
			}
			on := 1 - float64(c[i*d+i])
			per[i] = on*on + float64(lambda)*off
		}
	})
	var total float64
	for _, v := range per {
		total += v
	}
	return float32(total), nil
}

// CrossCorrelationLossGrad implements Kernels.
func (CPU) CrossCorrelationLossGrad(d int, lambda float32, gs []float32, c, dc []float32) error {
	g := gs[0]
	off := 2 * g * lambda
	parFor(d, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row, out := c[i*d:(i+1)*d], dc[i*d:(i+1)*d]
			for j, v := range row {
				out[j] = off * v
			}
			out[i] = -2 * g * (1 - row[i])
		}
	})
	return nil
}

// meanSquaredErrorValue is MeanSquaredError's value: float32 sums over fixed chunks, added in order.
func (CPU) meanSquaredErrorValue(a, b []float32) (float32, error) {
	const chunk = 4096
	nc := (len(a) + chunk - 1) / chunk
	per := scratch64.get(nc)
	defer scratch64.put(per)
	parFor(nc, 4, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			x, y := a[ci*chunk:min((ci+1)*chunk, len(a))], b[ci*chunk:min((ci+1)*chunk, len(a))]
			var s float32
			for i, v := range x {
				e := v - y[i]
				s += e * e
			}
			per[ci] = float64(s)
		}
	})
	return meanOf(per, len(a)), nil
}

// SubScale implements Kernels.
func (CPU) SubScale(alpha float32, g, a, b, y []float32) error {
	alpha *= g[0]
	parFor(len(y), elemChunk, func(lo, hi int) {
		x, z, out := a[lo:hi], b[lo:hi], y[lo:hi]
		for i := range out {
			out[i] = alpha * (x[i] - z[i])
		}
	})
	return nil
}

// varianceHingeValue is VarianceHinge's value.
func (c CPU) varianceHingeValue(n, d int, eps float32, z []float32) (float32, error) {
	buf := scratch.get(2 * d)
	defer scratch.put(buf)
	mean, invstd := buf[:d], buf[d:]
	if err := c.columnStats(n, d, eps, float64(n)/float64(n-1), z, mean, invstd); err != nil {
		return 0, err
	}
	var total float64
	for _, v := range invstd {
		if std := 1 / float64(v); std < 1 {
			total += 1 - std
		}
	}
	return float32(total / float64(d)), nil
}

// VarianceHingeGrad implements Kernels: dz_ij = -g·(z_ij - mean_j)/(d·(n-1)·std_j) where
// std_j < 1, else 0.
func (c CPU) VarianceHingeGrad(n, d int, eps float32, gs []float32, z, dz []float32) error {
	g := gs[0]
	buf := scratch.get(2 * d)
	defer scratch.put(buf)
	mean, coef := buf[:d], buf[d:]
	if err := c.columnStats(n, d, eps, float64(n)/float64(n-1), z, mean, coef); err != nil {
		return err
	}
	k := -float64(g) / (float64(d) * float64(n-1))
	for j, v := range coef { // v = 1/std
		coef[j] = 0
		if v > 1 {
			coef[j] = float32(k * float64(v))
		}
	}
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			zr, out := z[i*d:(i+1)*d], dz[i*d:(i+1)*d]
			for j, v := range zr {
				out[j] = coef[j] * (v - mean[j])
			}
		}
	})
	return nil
}

// centeredCovariance sets zc = z - mean (per column) and cov = zcᵀ·zc/(n-1).
func (c CPU) centeredCovariance(n, d int, z, zc, cov []float32) error {
	buf := scratch.get(2 * d)
	defer scratch.put(buf)
	mean := buf[:d]
	if err := c.ChannelMoments(n, d, 1, z, mean, buf[d:]); err != nil {
		return err
	}
	parFor(n, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			zr, out := z[i*d:(i+1)*d], zc[i*d:(i+1)*d]
			for j, v := range zr {
				out[j] = v - mean[j]
			}
		}
	})
	return c.MatMul(true, false, d, d, n, 1/float32(n-1), zc, zc, nil, cov)
}

// covarianceOffDiagonalValue is CovarianceOffDiagonal's value.
func (c CPU) covarianceOffDiagonalValue(n, d int, z []float32) (float32, error) {
	zc, cov := scratch.get(n*d), scratch.get(d*d)
	defer scratch.put(zc)
	defer scratch.put(cov)
	if err := c.centeredCovariance(n, d, z, zc, cov); err != nil {
		return 0, err
	}
	per := scratch64.get(d)
	defer scratch64.put(per)
	parFor(d, rowChunk(d), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for j, v := range cov[i*d : (i+1)*d] {
				if j != i {
					s += float64(v) * float64(v)
				}
			}
			per[i] = s
		}
	})
	return meanOf(per, d), nil
}

// CovarianceOffDiagonalGrad implements Kernels: dz = 4g/(d·(n-1))·zc·offdiag(Cov) (the
// path through the column means vanishes, as zc's columns sum to zero).
func (c CPU) CovarianceOffDiagonalGrad(n, d int, gs []float32, z, dz []float32) error {
	g := gs[0]
	zc, cov := scratch.get(n*d), scratch.get(d*d)
	defer scratch.put(zc)
	defer scratch.put(cov)
	if err := c.centeredCovariance(n, d, z, zc, cov); err != nil {
		return err
	}
	for i := range d {
		cov[i*d+i] = 0
	}
	return c.MatMul(false, false, n, d, d, 4*g/(float32(d)*float32(n-1)), zc, cov, nil, dz)
}
