package augment

import (
	"math"
	"testing"
)

// TestFlipProbability: over many images the fraction flipped is near p, and a flipped
// image is the exact mirror.
func TestFlipProbability(t *testing.T) {
	const n, c, h, w = 2000, 1, 2, 3
	src := make([]float32, n*c*h*w)
	for i := range n {
		copy(src[i*6:], []float32{0, 0.2, 0.4, 0.6, 0.8, 1})
	}
	for _, p := range []float64{0, 0.2, 0.5, 1} {
		pl, err := Compose(HorizontalFlip(p))
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, len(src))
		if err := pl.Augment(dst, src, n, c, h, w, 99); err != nil {
			t.Fatal(err)
		}
		flipped := 0
		for i := range n {
			img := dst[i*6 : i*6+6]
			switch {
			case equalBits(img, []float32{0.4, 0.2, 0, 1, 0.8, 0.6}):
				flipped++
			case equalBits(img, src[:6]):
			default:
				t.Fatalf("p=%v: image %d is neither the original nor its mirror: %v", p, i, img)
			}
		}
		// 4.5 standard deviations of a binomial.
		if tol := 4.5 * math.Sqrt(p*(1-p)/n); math.Abs(float64(flipped)/n-p) > tol+1e-12 {
			t.Errorf("p=%v: %d of %d flipped", p, flipped, n)
		}
	}
}

// TestRandomCropOffsets: every output is the padded image at some offset in 0..2*pad,
// and all offsets occur.
func TestRandomCropOffsets(t *testing.T) {
	const n, c, h, w, pad = 600, 2, 6, 5, 2
	size := c * h * w
	src := make([]float32, n*size)
	for i := range n {
		for j := range size {
			src[i*size+j] = float32(j+1) / float32(size)
		}
	}
	pl, err := Compose(RandomCrop(pad))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(src))
	if err := pl.Augment(dst, src, n, c, h, w, 5); err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int]int{}
	want := make([]float32, size)
	for i := range n {
		found := false
		for top := 0; top <= 2*pad && !found; top++ {
			for left := 0; left <= 2*pad && !found; left++ {
				padCrop(want, src[:size], c, h, w, pad, top, left)
				if equalBits(dst[i*size:(i+1)*size], want) {
					seen[[2]int{top, left}]++
					found = true
				}
			}
		}
		if !found {
			t.Fatalf("image %d is no padded crop", i)
		}
	}
	if len(seen) != (2*pad+1)*(2*pad+1) {
		t.Errorf("%d distinct offsets, want %d: %v", len(seen), (2*pad+1)*(2*pad+1), seen)
	}
}

// TestKerasShiftRange: shifting a horizontal ramp moves it by at most frac*w pixels, and
// the shifts cover both directions.
func TestKerasShiftRange(t *testing.T) {
	const n, c, h, w = 500, 1, 4, 40
	size := c * h * w
	src := make([]float32, n*size)
	for i := range n {
		for y := range h {
			for x := range w {
				src[i*size+y*w+x] = float32(x) / (w - 1)
			}
		}
	}
	pl, err := Compose(KerasShift(0.1, 0))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(src))
	if err := pl.Augment(dst, src, n, c, h, w, 11); err != nil {
		t.Fatal(err)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range n {
		// The middle pixel is never clamped: its value gives the shift.
		ty := float64(dst[i*size+w/2])*(w-1) - w/2
		lo, hi = min(lo, ty), max(hi, ty)
		for y := 1; y < h; y++ {
			if dst[i*size+y*w+w/2] != dst[i*size+w/2] {
				t.Fatalf("image %d: a column-only shift changed along the rows", i)
			}
		}
	}
	if lo < -4.0001 || hi > 4.0001 || lo > -3.5 || hi < 3.5 {
		t.Errorf("column shifts span [%.3f, %.3f], want about [-4, 4]", lo, hi)
	}
}
