package augment

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRRCBoxRanges: drawn boxes lie in the image, their area fraction and aspect ratio are
// in the requested ranges (up to the rounding of the sides), and they spread over them.
func TestRRCBoxRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		h, w         int
		scale, ratio [2]float64
	}{
		{32, 32, [2]float64{0.08, 1}, standardRatio},
		{96, 96, [2]float64{0.2, 0.6}, [2]float64{0.5, 2}},
		{20, 28, [2]float64{0.08, 1}, standardRatio},
	} {
		minA, maxA := math.Inf(1), 0.0
		for range 4000 {
			top, left, ch, cw := rrcBox(r, tc.h, tc.w, tc.scale, tc.ratio)
			if top < 0 || left < 0 || ch < 1 || cw < 1 || top+ch > tc.h || left+cw > tc.w {
				t.Fatalf("%dx%d: box top=%d left=%d %dx%d outside the image", tc.h, tc.w, top, left, ch, cw)
			}
			fb, fw := float64(tc.h*tc.w), float64(ch*cw)
			if ch == tc.h && cw == tc.w {
				continue // possibly the fallback
			}
			// Each side is within half a pixel of the exact one.
			lo := tc.scale[0] * (1 - 0.5/float64(ch)) * (1 - 0.5/float64(cw)) * fb
			hi := tc.scale[1] * (1 + 0.5/float64(ch)) * (1 + 0.5/float64(cw)) * fb
			if fw < lo-1e-9 || fw > hi+1e-9 {
				t.Fatalf("%dx%d scale %v: box %dx%d has area fraction %.4f", tc.h, tc.w, tc.scale, ch, cw, fw/fb)
			}
			ar := float64(cw) / float64(ch)
			if ar < tc.ratio[0]*(1-0.5/float64(cw))/(1+0.5/float64(ch))-1e-9 ||
				ar > tc.ratio[1]*(1+0.5/float64(cw))/(1-0.5/float64(ch))+1e-9 {
				t.Fatalf("%dx%d ratio %v: box %dx%d has ratio %.4f", tc.h, tc.w, tc.ratio, ch, cw, ar)
			}
			minA, maxA = min(minA, fw/fb), max(maxA, fw/fb)
		}
		span := tc.scale[1] - tc.scale[0]
		if minA > tc.scale[0]+0.1*span || maxA < tc.scale[1]-0.25*span {
			t.Errorf("%dx%d scale %v: area fractions only span [%.3f, %.3f]", tc.h, tc.w, tc.scale, minA, maxA)
		}
	}
}

// TestRRCFallback: for settings no attempt can satisfy, the box is torchvision's centre
// crop (reference values from get_params).
func TestRRCFallback(t *testing.T) {
	ref := readReference(t)
	if len(ref.RRCFallback) < 3 {
		t.Fatalf("%d fallback cases", len(ref.RRCFallback))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range ref.RRCFallback {
		top, left, ch, cw := rrcBox(r, c.H, c.W, c.Scale, c.Ratio)
		if top != c.Top || left != c.Left || ch != c.Height || cw != c.Width {
			t.Errorf("%dx%d scale %v ratio %v: box (%d, %d, %d, %d), torchvision (%d, %d, %d, %d)",
				c.H, c.W, c.Scale, c.Ratio, top, left, ch, cw, c.Top, c.Left, c.Height, c.Width)
		}
	}
}

// applied counts, over n copies of one RGB image, the outputs that differ from it.
func applied(t *testing.T, tr Transform, n int, img []float32, h, w int) int {
	t.Helper()
	p, err := Compose(tr)
	if err != nil {
		t.Fatal(err)
	}
	size := len(img)
	src := make([]float32, n*size)
	for i := range n {
		copy(src[i*size:], img)
	}
	dst := make([]float32, len(src))
	if err := p.Augment(dst, src, n, size/(h*w), h, w, 2024); err != nil {
		t.Fatal(err)
	}
	k := 0
	for i := range n {
		if !equalBits(dst[i*size:(i+1)*size], img) {
			k++
		}
	}
	return k
}

// TestProbabilities: each probabilistic transform is applied to about a fraction p of
// the images (within 4.5 binomial standard deviations).
func TestProbabilities(t *testing.T) {
	const n, h, w = 3000, 6, 6
	img := randomBatch(1, 3, h, w, 9)
	for i := range img {
		img[i] = 0.1 + 0.8*img[i] // away from the clamps, so every change shows
	}
	for _, tc := range []struct {
		t Transform
		p float64
	}{
		{ColorJitter(0.4, 0.4, 0.4, 0.1, 0.8), 0.8},
		{RandomGrayscale(0.2), 0.2},
		{Solarize(0.5, 0.2), 0.2},
		{GaussianBlur(3, 0.1, 2, 0.5), 0.5},
		{HorizontalFlip(0.3), 0.3},
		{ColorJitter(0.4, 0, 0, 0, 1), 1},
		{RandomGrayscale(0), 0},
	} {
		k := applied(t, tc.t, n, img, h, w)
		if tol := 4.5 * math.Sqrt(tc.p*(1-tc.p)/n); math.Abs(float64(k)/n-tc.p) > tol+1e-12 {
			t.Errorf("%s: applied to %d of %d images, want about %.0f", tc.t.Name(), k, n, tc.p*n)
		}
	}
}

// TestJitterFactors: with brightness only, the factor (the ratio out/in of an unclamped
// pixel) is uniform over [1-x, 1+x]; with hue only, grayscale pixels keep their value.
func TestJitterFactors(t *testing.T) {
	const n = 2000
	img := []float32{0.3, 0.4, 0.5} // 1×1 RGB
	p, err := Compose(ColorJitter(0.5, 0, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	src := make([]float32, 3*n)
	for i := range n {
		copy(src[3*i:], img)
	}
	dst := make([]float32, len(src))
	if err := p.Augment(dst, src, n, 3, 1, 1, 5); err != nil {
		t.Fatal(err)
	}
	var buckets [4]int
	for i := range n {
		f := float64(dst[3*i]) / 0.3
		if g := float64(dst[3*i+2]) / 0.5; math.Abs(f-g) > 1e-5 {
			t.Fatalf("image %d: channels scaled by %v and %v", i, f, g)
		}
		if f < 0.5-1e-6 || f > 1.5+1e-6 {
			t.Fatalf("image %d: brightness factor %v outside [0.5, 1.5]", i, f)
		}
		buckets[min(int((f-0.5)*4), 3)]++
	}
	for b, k := range buckets {
		if math.Abs(float64(k)-n/4) > 4.5*math.Sqrt(n*0.25*0.75) {
			t.Errorf("brightness factors: quarter %d holds %d of %d", b, k, n)
		}
	}

	gray := []float32{0.25, 0.25, 0.25}
	hp, err := Compose(ColorJitter(0, 0, 0, 0.5, 1))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 3)
	for seed := range uint64(20) {
		if err := hp.Augment(out, gray, 1, 3, 1, 1, seed); err != nil {
			t.Fatal(err)
		}
		if maxAbsDiff(out, gray) > 1e-6 {
			t.Fatalf("hue jitter changed a gray pixel: %v", out)
		}
	}
}

// TestJitterOrderVaries: the four adjustments come in all 24 orders.
func TestJitterOrderVaries(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	seen := map[[4]int]bool{}
	for range 2000 {
		order := [4]int{0, 1, 2, 3}
		for i := 3; i > 0; i-- {
			j := r.IntN(i + 1)
			order[i], order[j] = order[j], order[i]
		}
		seen[order] = true
	}
	if len(seen) != 24 {
		t.Errorf("%d distinct orders of 24", len(seen))
	}
}

func TestParameterErrors(t *testing.T) {
	for _, tc := range []struct {
		t    Transform
		want string
	}{
		{RandomResizedCrop([2]float64{0, 1}, standardRatio), "RandomResizedCrop: scale"},
		{RandomResizedCrop([2]float64{0.5, 0.2}, standardRatio), "RandomResizedCrop: scale"},
		{RandomResizedCrop([2]float64{0.08, 1.5}, standardRatio), "RandomResizedCrop: scale"},
		{RandomResizedCrop([2]float64{0.08, 1}, [2]float64{2, 1}), "RandomResizedCrop: ratio"},
		{ColorJitter(-0.1, 0, 0, 0, 1), "ColorJitter: brightness = -0.1"},
		{ColorJitter(0, math.NaN(), 0, 0, 1), "ColorJitter: contrast = NaN"},
		{ColorJitter(0, 0, math.Inf(1), 0, 1), "ColorJitter: saturation = +Inf"},
		{ColorJitter(0, 0, 0, 0.6, 1), "ColorJitter: hue = 0.6"},
		{ColorJitter(0, 0, 0, 0, -1), "ColorJitter: probability p = -1"},
		{RandomGrayscale(2), "RandomGrayscale: probability p = 2"},
		{Solarize(1.5, 0.5), "Solarize: threshold = 1.5"},
		{GaussianBlur(4, 0.1, 2, 0.5), "GaussianBlur: kernelSize = 4"},
		{GaussianBlur(3, 0, 2, 0.5), "GaussianBlur: sigma range"},
		{GaussianBlur(3, 2, 1, 0.5), "GaussianBlur: sigma range"},
	} {
		_, err := Compose(tc.t)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compose(%s): err = %v, want one containing %q", tc.t.Name(), err, tc.want)
		}
	}
}

// TestShapeErrors: RGB transforms refuse other channel counts; a blur refuses images too
// small for its reflect padding.
func TestShapeErrors(t *testing.T) {
	buf := make([]float32, 4*8*8)
	for _, tc := range []struct {
		p       *Sequence
		c, h, w int
		want    string
	}{
		{SimCLRCIFAR(), 1, 8, 8, "needs RGB images, got c = 1"},
		{SimCLRCIFAR(), 4, 8, 8, "needs RGB images, got c = 4"},
		{SimCLRSTL10(), 3, 4, 8, "kernel 9 needs images larger than 4 pixels"},
	} {
		err := tc.p.Augment(buf[:tc.c*tc.h*tc.w], buf[:tc.c*tc.h*tc.w], 1, tc.c, tc.h, tc.w, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %dx%dx%d: err = %v, want one containing %q", tc.p.Name(), tc.c, tc.h, tc.w, err, tc.want)
		}
	}
	// Transforms that work on any channel count accept 1 and 4.
	for _, c := range []int{1, 4} {
		if err := KerasShiftFlip().Augment(buf[:c*64], buf[:c*64], 1, c, 8, 8, 1); err != nil {
			t.Errorf("KerasShiftFlip on %d channels: %v", c, err)
		}
	}
}

// TestBYOLViews: the two views share everything but solarization, and only the second
// solarizes.
func TestBYOLViews(t *testing.T) {
	v1, v2 := BYOLCIFAR()
	if strings.Contains(v1.Name(), "solarize") || !strings.Contains(v2.Name(), "solarize(t=0.5,p=0.2)") {
		t.Errorf("view names %q and %q", v1.Name(), v2.Name())
	}
	if strings.Contains(v1.Name(), "blur") || strings.Contains(SimCLRCIFAR().Name(), "blur") {
		t.Error("a 32 px preset blurs")
	}
	if !strings.Contains(SimCLRSTL10().Name(), "blur(k=9,sigma=0.1-2,p=0.5)") {
		t.Errorf("SimCLRSTL10 name %q lacks its blur", SimCLRSTL10().Name())
	}
	if len(v1.Transforms())+1 != len(v2.Transforms()) {
		t.Errorf("view1 has %d transforms, view2 %d", len(v1.Transforms()), len(v2.Transforms()))
	}
}

// TestOutputRange: the presets keep pixels in [0, 1].
func TestOutputRange(t *testing.T) {
	const n, c, h, w = 64, 3, 32, 32
	src := randomBatch(n, c, h, w, 12)
	v1, v2 := BYOLCIFAR()
	for _, p := range []*Sequence{SimCLRCIFAR(), v1, v2, SimCLRSTL10(), KerasShiftFlip(), CIFARCrop()} {
		dst := make([]float32, len(src))
		if err := p.Augment(dst, src, n, c, h, w, 3); err != nil {
			t.Fatal(err)
		}
		for i, v := range dst {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s: value %v at %d", p.Name(), v, i)
			}
		}
	}
}
