package ops

import (
	"fmt"
	"math"
)

// This file holds the CPU kernels whose result or argument is a scalar of the graph (a
// loss, the seed of a gradient) or a piece of per-channel state (batch norm's
// statistics): they read and write one-element slices, never hand a float32 back to the
// caller, so that a device runtime keeps those values in its own memory too.

// SoftmaxCrossEntropy implements Kernels.
func (c CPU) SoftmaxCrossEntropy(n, k int, logits, labels, probs, loss []float32) error {
	l, err := c.softmaxCrossEntropyValue(n, k, logits, labels, probs)
	loss[0] = l
	return err
}

// NTXent implements Kernels.
func (c CPU) NTXent(m int, s, loss []float32) error {
	l, err := c.ntXentValue(m, s)
	loss[0] = l
	return err
}

// SupCon implements Kernels.
func (c CPU) SupCon(m int, logits, labels, loss []float32) error {
	l, err := c.supConValue(m, logits, labels)
	loss[0] = l
	return err
}

// InfoNCE implements Kernels.
func (c CPU) InfoNCE(n, k int, scale float32, pos, neg, loss []float32) error {
	l, err := c.infoNCEValue(n, k, scale, pos, neg)
	loss[0] = l
	return err
}

// DiagonalCrossEntropy implements Kernels.
func (c CPU) DiagonalCrossEntropy(n int, logits, loss []float32) error {
	l, err := c.diagonalCrossEntropyValue(n, logits)
	loss[0] = l
	return err
}

// CrossCorrelationLoss implements Kernels.
func (c CPU) CrossCorrelationLoss(d int, lambda float32, cc, loss []float32) error {
	l, err := c.crossCorrelationLossValue(d, lambda, cc)
	loss[0] = l
	return err
}

// MeanSquaredError implements Kernels.
func (c CPU) MeanSquaredError(a, b, loss []float32) error {
	l, err := c.meanSquaredErrorValue(a, b)
	loss[0] = l
	return err
}

// VarianceHinge implements Kernels.
func (c CPU) VarianceHinge(n, d int, eps float32, z, loss []float32) error {
	l, err := c.varianceHingeValue(n, d, eps, z)
	loss[0] = l
	return err
}

// CovarianceOffDiagonal implements Kernels.
func (c CPU) CovarianceOffDiagonal(n, d int, z, loss []float32) error {
	l, err := c.covarianceOffDiagonalValue(n, d, z)
	loss[0] = l
	return err
}

// Mean implements Kernels.
func (c CPU) Mean(x, out []float32) error {
	out[0] = c.Sum(x) / float32(len(x))
	return nil
}

// L2Penalty implements Kernels: the products are summed in float64, in order.
func (c CPU) L2Penalty(coefs []float32, ws [][]float32, out []float32) error {
	if len(coefs) != len(ws) {
		return fmt.Errorf("l2Penalty: %d coefficients for %d weights", len(coefs), len(ws))
	}
	var total float64
	for i, w := range ws {
		total += float64(coefs[i]) * float64(c.SumSquares(w))
	}
	out[0] = float32(total)
	return nil
}

// ScaleBy implements Kernels.
func (c CPU) ScaleBy(alpha float32, g, x, y []float32) error { return c.Scale(alpha*g[0], x, y) }

// FillBy implements Kernels.
func (c CPU) FillBy(alpha float32, g, y []float32) error { return c.Fill(alpha*g[0], y) }

// Copy implements Kernels.
func (CPU) Copy(dst, src []float32) error {
	if len(dst) != len(src) {
		return fmt.Errorf("copy: %d elements into %d", len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

// BatchNormUpdate implements Kernels.
func (CPU) BatchNormUpdate(c int, momentum, corr, eps float32, mean, variance, movingMean, movingVar, invstd []float32) error {
	m, e := momentum, float64(eps)
	mean, variance, movingMean, movingVar, invstd = mean[:c], variance[:c], movingMean[:c], movingVar[:c], invstd[:c]
	for ch := range c {
		movingMean[ch] = movingMean[ch]*m + mean[ch]*(1-m)
		movingVar[ch] = movingVar[ch]*m + variance[ch]*corr*(1-m)
		invstd[ch] = float32(1 / math.Sqrt(float64(variance[ch])+e))
	}
	return nil
}

// BatchNormFixed implements Kernels.
func (CPU) BatchNormFixed(c int, eps float32, movingMean, movingVar, mean, invstd []float32) error {
	e := float64(eps)
	for ch := range c {
		if movingVar[ch] < 0 {
			return fmt.Errorf("moving variance of channel %d is negative (%g)", ch, movingVar[ch])
		}
		mean[ch] = movingMean[ch]
		invstd[ch] = float32(1 / math.Sqrt(float64(movingVar[ch])+e))
	}
	return nil
}

// BatchNormAffine implements Kernels.
func (CPU) BatchNormAffine(c int, gamma, beta, mean, invstd, scale, shift []float32) error {
	gamma, beta, mean, invstd, scale, shift = gamma[:c], beta[:c], mean[:c], invstd[:c], scale[:c], shift[:c]
	for ch := range c {
		scale[ch] = gamma[ch] * invstd[ch]
		shift[ch] = beta[ch] - mean[ch]*scale[ch]
	}
	return nil
}
