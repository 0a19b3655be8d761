package embedding

import "math"

// Collapse returns the collapse metric of the embeddings in m: each row is L2-normalised
// (divided by max(‖row‖, 1e-12), so a zero row stays zero), the standard deviation of each
// dimension is taken over the rows, the dim deviations are averaged, and the mean is
// multiplied by sqrt(dim). The standard deviation is the unbiased one (divisor rows-1),
// as torch.std(output, 0) computes it in lightly's SimSiam example:
//
//	output = F.normalize(p, dim=1); s = torch.std(output, 0).mean()   # Collapse = s*sqrt(dim)
//
// Healthy embeddings, spread over the unit sphere, give about 1 (a deviation of
// 1/sqrt(dim) per dimension); collapsed ones, all pointing the same way, give about 0.
// lightly's "collapse level" is max(0, 1 - Collapse(m)). All arithmetic is in float64.
// Collapse returns NaN when m has fewer than 2 rows, where the unbiased deviation is
// undefined (torch returns NaN as well).
func Collapse(m Matrix) float64 {
	n, d := m.rows, m.dim
	if n < 2 || d < 1 {
		return math.NaN()
	}
	// Two passes over the normalised rows: the means, then the squared deviations.
	inv := make([]float64, n)
	mean := make([]float64, d)
	for i := range n {
		row := m.data[i*d : (i+1)*d]
		inv[i] = invNorm(row)
		for j, v := range row {
			mean[j] += float64(v) * inv[i]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	ss := make([]float64, d)
	for i := range n {
		row := m.data[i*d : (i+1)*d]
		for j, v := range row {
			dv := float64(v)*inv[i] - mean[j]
			ss[j] += dv * dv
		}
	}
	var sum float64
	for _, s := range ss {
		sum += math.Sqrt(s / float64(n-1))
	}
	return sum / float64(d) * math.Sqrt(float64(d))
}
