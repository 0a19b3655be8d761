package augment

import (
	"fmt"
	"math"
)

// Grayscale weights of torchvision's rgb_to_grayscale (ITU-R 601-2 luma).
const (
	grayR = 0.2989
	grayG = 0.587
	grayB = 0.114
)

// ColorJitter randomly changes brightness, contrast, saturation and hue, with probability
// p (torchvision 0.14's RandomApply([ColorJitter(brightness, contrast, saturation, hue)],
// p)). When applied it draws a random order of the four adjustments (a permutation, as
// torch.randperm(4)), then the factors: brightness, contrast and saturation uniform in
// [max(0, 1-x), 1+x], hue uniform in [-hue, hue]; an adjustment with x = 0 is left out.
// The adjustments are torchvision's tensor functions on [0, 1] values:
//
//   - brightness f: x·f, clamped to [0, 1];
//   - contrast f: blend with the mean m of the grayscale image, f·x + (1-f)·m, clamped;
//   - saturation f: blend with the pixel's grayscale value, clamped;
//   - hue f: RGB to HSV, h' = (h + f) mod 1, back to RGB (torchvision's _rgb2hsv and
//     _hsv2rgb).
//
// The grayscale value is 0.2989·R + 0.587·G + 0.114·B. It needs RGB images (c = 3).
// Want brightness, contrast, saturation >= 0 and finite, hue in [0, 0.5], p in [0, 1].
func ColorJitter(brightness, contrast, saturation, hue, p float64) Transform {
	name := "jitter(b=" + fmtF(brightness) + ",c=" + fmtF(contrast) + ",s=" + fmtF(saturation) +
		",h=" + fmtF(hue) + ",p=" + fmtF(p) + ")"
	for _, a := range []struct {
		n string
		v float64
	}{{"brightness", brightness}, {"contrast", contrast}, {"saturation", saturation}} {
		if !(a.v >= 0) || math.IsInf(a.v, 0) {
			return Transform{name: name, err: fmt.Errorf("augment: ColorJitter: %s = %v, want a finite value >= 0", a.n, a.v)}
		}
	}
	if !(hue >= 0 && hue <= 0.5) {
		return Transform{name: name, err: fmt.Errorf("augment: ColorJitter: hue = %v, want a value in [0, 0.5]", hue)}
	}
	if err := checkProb("ColorJitter", p); err != nil {
		return Transform{name: name, err: err}
	}
	return Transform{name: name, rgb: true, apply: func(f *frame) bool {
		if !coin(f.r, p) {
			return false
		}
		order := [4]int{0, 1, 2, 3}
		for i := 3; i > 0; i-- {
			j := f.r.IntN(i + 1)
			order[i], order[j] = order[j], order[i]
		}
		var fac [4]float32
		var on [4]bool
		for i, x := range [3]float64{brightness, contrast, saturation} {
			if x > 0 {
				fac[i], on[i] = float32(uniform(f.r, max(0, 1-x), 1+x)), true
			}
		}
		if hue > 0 {
			fac[3], on[3] = float32(uniform(f.r, -hue, hue)), true
		}
		return jitter(f.dst, f.src, f.h*f.w, order, on, fac)
	}}
}

// jitter applies the enabled adjustments (0 brightness, 1 contrast, 2 saturation, 3 hue)
// with factors fac in the given order, from src into dst (3 planes of hw values). It
// returns false, leaving dst unwritten, if none is enabled.
func jitter(dst, src []float32, hw int, order [4]int, on [4]bool, fac [4]float32) bool {
	in := src
	for _, op := range order {
		if !on[op] {
			continue
		}
		switch op {
		case 0:
			adjustBrightness(dst, in, fac[0])
		case 1:
			adjustContrast(dst, in, hw, fac[1])
		case 2:
			adjustSaturation(dst, in, hw, fac[2])
		case 3:
			adjustHue(dst, in, hw, fac[3])
		}
		in = dst // the later ones work in place
	}
	return &in[0] == &dst[0]
}

func clamp01(x float32) float32 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// adjustBrightness is torchvision's adjust_brightness: clamp(f·x).
func adjustBrightness(dst, src []float32, f float32) {
	for i, x := range src {
		dst[i] = clamp01(f * x)
	}
}

// adjustContrast is torchvision's adjust_contrast: blend with the mean of the grayscale
// image (3 planes of hw values; dst may be src).
func adjustContrast(dst, src []float32, hw int, f float32) {
	r, g, b := src[:hw], src[hw:2*hw], src[2*hw:3*hw]
	var sum float64
	for i := range hw {
		sum += float64(grayR*r[i] + grayG*g[i] + grayB*b[i])
	}
	m := (1 - f) * float32(sum/float64(hw))
	for i, x := range src[:3*hw] {
		dst[i] = clamp01(f*x + m)
	}
}

// adjustSaturation is torchvision's adjust_saturation: blend each pixel with its grayscale
// value (dst may be src).
func adjustSaturation(dst, src []float32, hw int, f float32) {
	r, g, b := src[:hw], src[hw:2*hw], src[2*hw:3*hw]
	dr, dg, db := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	for i := range hw {
		l := (1 - f) * (grayR*r[i] + grayG*g[i] + grayB*b[i])
		dr[i], dg[i], db[i] = clamp01(f*r[i]+l), clamp01(f*g[i]+l), clamp01(f*b[i]+l)
	}
}

// adjustHue is torchvision's adjust_hue on float images: RGB to HSV (_rgb2hsv), the hue
// shifted by f modulo 1, back to RGB (_hsv2rgb). dst may be src.
func adjustHue(dst, src []float32, hw int, f float32) {
	r, g, b := src[:hw], src[hw:2*hw], src[2*hw:3*hw]
	dr, dg, db := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	for i := range hw {
		h, s, v := rgb2hsv(r[i], g[i], b[i])
		h += f
		h -= float32(math.Floor(float64(h))) // torch.remainder(h, 1.0)
		dr[i], dg[i], db[i] = hsv2rgb(h, s, v)
	}
}

// rgb2hsv is torchvision's _rgb2hsv for one pixel.
func rgb2hsv(r, g, b float32) (h, s, v float32) {
	maxc := max(r, g, b)
	minc := min(r, g, b)
	cr := maxc - minc
	sDen, crDen := maxc, cr
	if maxc == minc {
		sDen, crDen = 1, 1
	}
	s = cr / sDen
	rc := (maxc - r) / crDen
	gc := (maxc - g) / crDen
	bc := (maxc - b) / crDen
	switch {
	case maxc == r:
		h = bc - gc
	case maxc == g:
		h = 2 + rc - bc
	default:
		h = 4 + gc - rc
	}
	h = h/6 + 1
	h -= float32(math.Trunc(float64(h))) // torch.fmod(h, 1.0), h > 0
	return h, s, maxc
}

// hsv2rgb is torchvision's _hsv2rgb for one pixel.
func hsv2rgb(h, s, v float32) (r, g, b float32) {
	h6 := h * 6
	fl := float32(math.Floor(float64(h6)))
	fr := h6 - fl
	i := int(fl) % 6
	if i < 0 {
		i += 6
	}
	p := clamp01(v * (1 - s))
	q := clamp01(v * (1 - s*fr))
	t := clamp01(v * (1 - s*(1-fr)))
	switch i {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}

// RandomGrayscale converts the image to grayscale with probability p, the value
// 0.2989·R + 0.587·G + 0.114·B replicated to the 3 channels (torchvision's
// RandomGrayscale). It needs RGB images. Want p in [0, 1].
func RandomGrayscale(p float64) Transform {
	name := "gray(p=" + fmtF(p) + ")"
	if err := checkProb("RandomGrayscale", p); err != nil {
		return Transform{name: name, err: err}
	}
	return Transform{name: name, rgb: true, apply: func(f *frame) bool {
		if !coin(f.r, p) {
			return false
		}
		grayscale(f.dst, f.src, f.h*f.w)
		return true
	}}
}

// grayscale writes the grayscale of the RGB image src into the 3 planes of dst.
func grayscale(dst, src []float32, hw int) {
	r, g, b := src[:hw], src[hw:2*hw], src[2*hw:3*hw]
	dr, dg, db := dst[:hw], dst[hw:2*hw], dst[2*hw:3*hw]
	for i := range hw {
		l := grayR*r[i] + grayG*g[i] + grayB*b[i]
		dr[i], dg[i], db[i] = l, l, l
	}
}

// Solarize inverts the pixels at or above threshold (x >= threshold becomes 1-x), with
// probability p: torchvision's RandomSolarize(threshold, p) on [0, 1] values. BYOL's 0.5
// on values k/255 inverts exactly the pixels PIL's ImageOps.solarize (threshold 128)
// inverts. It works on any number of channels. Want threshold in [0, 1], p in [0, 1].
func Solarize(threshold, p float64) Transform {
	name := "solarize(t=" + fmtF(threshold) + ",p=" + fmtF(p) + ")"
	if !(threshold >= 0 && threshold <= 1) {
		return Transform{name: name, err: fmt.Errorf("augment: Solarize: threshold = %v, want a value in [0, 1]", threshold)}
	}
	if err := checkProb("Solarize", p); err != nil {
		return Transform{name: name, err: err}
	}
	thr := float32(threshold)
	return Transform{name: name, apply: func(f *frame) bool {
		if !coin(f.r, p) {
			return false
		}
		solarize(f.dst, f.src, thr)
		return true
	}}
}

func solarize(dst, src []float32, thr float32) {
	for i, x := range src {
		if x >= thr {
			x = 1 - x
		}
		dst[i] = x
	}
}

// GaussianBlur blurs the image with probability p with a kernelSize×kernelSize Gaussian
// whose sigma is drawn uniform in [sigmaMin, sigmaMax]: torchvision's
// RandomApply([GaussianBlur(kernelSize, (sigmaMin, sigmaMax))], p). As torchvision, the
// kernel is exp(-x²/2σ²) at x = -(k-1)/2 … (k-1)/2, normalised to sum 1, applied separably
// over rows and columns, with reflect padding (edge pixel not repeated). It works on any
// number of channels; images must be larger than kernelSize/2 on each side. Want
// kernelSize odd and positive, 0 < sigmaMin <= sigmaMax, p in [0, 1].
func GaussianBlur(kernelSize int, sigmaMin, sigmaMax, p float64) Transform {
	name := fmt.Sprintf("blur(k=%d,sigma=%s-%s,p=%s)", kernelSize, fmtF(sigmaMin), fmtF(sigmaMax), fmtF(p))
	if kernelSize < 1 || kernelSize%2 == 0 {
		return Transform{name: name, err: fmt.Errorf("augment: GaussianBlur: kernelSize = %d, want an odd size >= 1", kernelSize)}
	}
	if !(sigmaMin > 0 && sigmaMin <= sigmaMax && !math.IsInf(sigmaMax, 0)) {
		return Transform{name: name, err: fmt.Errorf("augment: GaussianBlur: sigma range [%v, %v], want 0 < sigmaMin <= sigmaMax, finite", sigmaMin, sigmaMax)}
	}
	if err := checkProb("GaussianBlur", p); err != nil {
		return Transform{name: name, err: err}
	}
	half := kernelSize / 2
	return Transform{
		name: name,
		check: func(c, h, w int) error {
			if half >= h || half >= w {
				return fmt.Errorf("kernel %d needs images larger than %d pixels on each side for reflect padding, got h=%d, w=%d", kernelSize, half, h, w)
			}
			return nil
		},
		apply: func(f *frame) bool {
			if !coin(f.r, p) {
				return false
			}
			sigma := uniform(f.r, sigmaMin, sigmaMax)
			blur(f.dst, f.src, f.tmp, f.c, f.h, f.w, gaussianKernel(f.ws.floatScratch(kernelSize), sigma))
			return true
		},
	}
}

// gaussianKernel fills k (odd length) with torchvision's 1-D Gaussian kernel of sigma.
func gaussianKernel(k []float32, sigma float64) []float32 {
	half := float32(len(k)-1) * 0.5
	var sum float32
	for i := range k {
		// torch.linspace(-half, half, steps=len(k)).
		x := -half + float32(i)*(2*half)/float32(max(len(k)-1, 1))
		if len(k) == 1 {
			x = 0
		}
		v := float32(math.Exp(float64(-0.5 * (x / float32(sigma)) * (x / float32(sigma)))))
		k[i] = v
		sum += v
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

// blur convolves each channel of src with the separable kernel k (rows, then columns),
// reflect-padded, through tmp, into dst.
func blur(dst, src, tmp []float32, c, h, w int, k []float32) {
	half := len(k) / 2
	for row := range c * h {
		s := src[row*w : (row+1)*w]
		d := tmp[row*w : (row+1)*w]
		for x := range w {
			var acc float32
			for j, kv := range k {
				acc += kv * s[reflect(x+j-half, w)]
			}
			d[x] = acc
		}
	}
	for ch := range c {
		plane := tmp[ch*h*w : (ch+1)*h*w]
		for y := range h {
			d := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			clear(d)
			for j, kv := range k {
				s := plane[reflect(y+j-half, h)*w:]
				for x := range d {
					d[x] += kv * s[x]
				}
			}
		}
	}
}

// reflect maps an index of a reflect-padded axis of n samples (no edge repetition: -1 is
// 1, n is n-2) onto the axis; valid for indices within n-1 of it.
func reflect(i, n int) int {
	if i < 0 {
		return -i
	}
	if i >= n {
		return 2*(n-1) - i
	}
	return i
}
