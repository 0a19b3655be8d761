package device

import "math"

// The kernels work on one parameter's flat data. Each loop re-slices its operands to the
// length of p so the compiler drops the bounds checks.

// adamKeras is Keras' (and TensorFlow's) Adam:
//
//	g' = g + l2*p
//	m += (g' - m)*(1-beta1);  v += (g'² - v)*(1-beta2)
//	p  = p*(1-decay) - alpha*m/(sqrt(v) + eps)
//
// with alpha = lr*sqrt(1-beta2^t)/(1-beta1^t) and decay = lr*weightDecay.
func adamKeras(p, g, m, v []float32, omb1, omb2, alpha, eps, keep, l2 float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	for i := range p {
		w := p[i]
		gi := g[i] + l2*w
		mi := m[i] + (gi-m[i])*omb1
		vi := v[i] + (gi*gi-v[i])*omb2
		m[i], v[i] = mi, vi
		p[i] = w*keep - alpha*mi/(float32(math.Sqrt(float64(vi)))+eps)
	}
}

// adamTorch is torch.optim.Adam (and AdamW's decoupled decay):
//
//	m = beta1*m + (1-beta1)*g';  v = beta2*v + (1-beta2)*g'²
//	p = p*(1-decay) - stepSize*m/(sqrt(v)*invSqrtBC2 + eps)
//
// with stepSize = lr/(1-beta1^t) and invSqrtBC2 = 1/sqrt(1-beta2^t).
func adamTorch(p, g, m, v []float32, b1, omb1, b2, omb2, stepSize, invSqrtBC2, eps, keep, l2 float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	for i := range p {
		w := p[i]
		gi := g[i] + l2*w
		mi := b1*m[i] + omb1*gi
		vi := b2*v[i] + omb2*gi*gi
		m[i], v[i] = mi, vi
		p[i] = w*keep - stepSize*mi/(float32(math.Sqrt(float64(vi)))*invSqrtBC2+eps)
	}
}

// sgdMomentum is Keras' SGD with momentum:
//
//	g' = g + l2*p;  u = mu*u - lr*g'
//	p  = p*(1-decay) + u                (plain)
//	p  = p*(1-decay) + mu*u - lr*g'     (Nesterov)
func sgdMomentum(p, g, u []float32, mu, lr, keep, l2 float32, nesterov bool) {
	n := len(p)
	g, u = g[:n], u[:n]
	if nesterov {
		for i := range p {
			w := p[i]
			gi := g[i] + l2*w
			ui := mu*u[i] - lr*gi
			u[i] = ui
			p[i] = w*keep + mu*ui - lr*gi
		}
		return
	}
	for i := range p {
		w := p[i]
		ui := mu*u[i] - lr*(g[i]+l2*w)
		u[i] = ui
		p[i] = w*keep + ui
	}
}

// sgdPlain is SGD without momentum: p = p*(1-decay) - lr*(g + l2*p).
func sgdPlain(p, g []float32, lr, keep, l2 float32) {
	g = g[:len(p)]
	for i := range p {
		w := p[i]
		p[i] = w*keep - lr*(g[i]+l2*w)
	}
}

// dots returns sum(w²), sum(g²) and sum(w*g), accumulated in float64. Two partial sums
// per quantity, each taking two products per addition, keep the additions from waiting
// on each other without running out of registers.
func dots(w, g []float32) (ww, gg, wg float64) {
	g = g[:len(w)]
	var a0, a1, b0, b1, c0, c1 float64
	i := 0
	for ; i+3 < len(w); i += 4 {
		w0, w1, w2, w3 := float64(w[i]), float64(w[i+1]), float64(w[i+2]), float64(w[i+3])
		g0, g1, g2, g3 := float64(g[i]), float64(g[i+1]), float64(g[i+2]), float64(g[i+3])
		a0 += w0*w0 + w2*w2
		a1 += w1*w1 + w3*w3
		b0 += g0*g0 + g2*g2
		b1 += g1*g1 + g3*g3
		c0 += w0*g0 + w2*g2
		c1 += w1*g1 + w3*g3
	}
	for ; i < len(w); i++ {
		w0, g0 := float64(w[i]), float64(g[i])
		a0 += w0 * w0
		b0 += g0 * g0
		c0 += w0 * g0
	}
	return a0 + a1, b0 + b1, c0 + c1
}

// larsMomentum is SimCLR's LARS update with classic momentum:
//
//	g' = g + wd*p;  v = mu*v + slr*g'
//	p -= v                  (plain)
//	p -= mu*v + slr*g'      (Nesterov)
//
// where slr = lr*trust ratio.
func larsMomentum(p, g, v []float32, mu, slr, wd float32, nesterov bool) {
	n := len(p)
	g, v = g[:n], v[:n]
	if nesterov {
		for i := range p {
			w := p[i]
			gi := slr * (g[i] + wd*w)
			vi := mu*v[i] + gi
			v[i] = vi
			p[i] = w - (mu*vi + gi)
		}
		return
	}
	for i := range p {
		w := p[i]
		vi := mu*v[i] + slr*(g[i]+wd*w)
		v[i] = vi
		p[i] = w - vi
	}
}
