package augment

import (
	"fmt"
	"math"
)

// HorizontalFlip mirrors the image left to right with probability p (torchvision's
// RandomHorizontalFlip: one uniform draw u, flipped when u < p).
func HorizontalFlip(p float64) Transform {
	name := "hflip(p=" + fmtF(p) + ")"
	if err := checkProb("HorizontalFlip", p); err != nil {
		return Transform{name: name, err: err}
	}
	return Transform{name: name, apply: func(f *frame) bool {
		if !coin(f.r, p) {
			return false
		}
		hflip(f.dst, f.src, f.c, f.h, f.w)
		return true
	}}
}

// hflip writes the left-right mirror of src into dst.
func hflip(dst, src []float32, c, h, w int) {
	for row := range c * h {
		s := src[row*w : (row+1)*w]
		d := dst[row*w : (row+1)*w]
		for x := range w {
			d[x] = s[w-1-x]
		}
	}
}

// RandomCrop pads the image by pad pixels of zeros on every side and crops a window of the
// input's size at a uniformly drawn position: torchvision's RandomCrop(size, padding=pad)
// with the default fill 0, the "pad 4 and crop 32" augmentation of CIFAR (RandomCrop(4)).
// The row offset is drawn first, then the column offset, each uniform over 0..2*pad.
// pad must be >= 0.
func RandomCrop(pad int) Transform {
	name := fmt.Sprintf("crop(pad=%d)", pad)
	if pad < 0 {
		return Transform{name: name, err: fmt.Errorf("augment: RandomCrop: pad = %d, want >= 0", pad)}
	}
	return Transform{name: name, apply: func(f *frame) bool {
		if pad == 0 {
			return false
		}
		top := f.r.IntN(2*pad + 1)
		left := f.r.IntN(2*pad + 1)
		padCrop(f.dst, f.src, f.c, f.h, f.w, pad, top, left)
		return true
	}}
}

// padCrop writes into dst the h×w window at (top, left) of src padded by pad zeros:
// dst[y][x] = src[y+top-pad][x+left-pad], or 0 outside src.
func padCrop(dst, src []float32, c, h, w, pad, top, left int) {
	dy, dx := top-pad, left-pad
	for ch := range c {
		for y := range h {
			d := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			sy := y + dy
			if sy < 0 || sy >= h {
				clear(d)
				continue
			}
			s := src[(ch*h+sy)*w : (ch*h+sy+1)*w]
			// Columns x with 0 <= x+dx < w come from s.
			x0, x1 := max(0, -dx), min(w, w-dx)
			if x1 <= x0 {
				clear(d)
				continue
			}
			clear(d[:x0])
			copy(d[x0:x1], s[x0+dx:x1+dx])
			clear(d[x1:])
		}
	}
}

// KerasShift translates the image by a random real offset, as the width_shift_range and
// height_shift_range of Keras' ImageDataGenerator with its defaults: the row shift
// tx = U(-heightFrac, heightFrac)·h is drawn first, then the column shift
// ty = U(-widthFrac, widthFrac)·w (no draw for a zero fraction), and the output is
// out[y][x] = in[y+tx][x+ty], interpolated bilinearly (scipy.ndimage order=1) with
// fill_mode "nearest" (coordinates outside the image take the nearest edge pixel).
// Fractions must be in [0, 1) (Keras reads values >= 1 as pixel counts; this does not).
func KerasShift(widthFrac, heightFrac float64) Transform {
	name := "kerasshift(w=" + fmtF(widthFrac) + ",h=" + fmtF(heightFrac) + ")"
	for _, a := range []struct {
		n string
		v float64
	}{{"widthFrac", widthFrac}, {"heightFrac", heightFrac}} {
		if !(a.v >= 0 && a.v < 1) {
			return Transform{name: name, err: fmt.Errorf("augment: KerasShift: %s = %v, want a fraction of the size in [0, 1)", a.n, a.v)}
		}
	}
	return Transform{name: name, apply: func(f *frame) bool {
		var tx, ty float64
		if heightFrac != 0 {
			tx = uniform(f.r, -heightFrac, heightFrac) * float64(f.h)
		}
		if widthFrac != 0 {
			ty = uniform(f.r, -widthFrac, widthFrac) * float64(f.w)
		}
		if tx == 0 && ty == 0 {
			return false
		}
		shift(f.dst, f.src, f.c, f.h, f.w, tx, ty, f.ws)
		return true
	}}
}

// shift writes out[y][x] = in[y+tx][x+ty] into dst, bilinear, coordinates clamped to the
// image (scipy.ndimage.affine_transform with order=1, mode="nearest").
func shift(dst, src []float32, c, h, w int, tx, ty float64, ws *worker) {
	idx := ws.intScratch(2 * w)
	x0s, x1s := idx[:w], idx[w:]
	fxs := ws.floatScratch(w)
	for x := range w {
		i0, i1, fr := clampedLinear(float64(x)+ty, w)
		x0s[x], x1s[x], fxs[x] = int32(i0), int32(i1), fr
	}
	for y := range h {
		y0, y1, fy := clampedLinear(float64(y)+tx, h)
		gy := 1 - fy
		for ch := range c {
			r0 := src[(ch*h+y0)*w : (ch*h+y0+1)*w]
			r1 := src[(ch*h+y1)*w : (ch*h+y1+1)*w]
			d := dst[(ch*h+y)*w : (ch*h+y+1)*w]
			for x := range d {
				i0, i1, fx := x0s[x], x1s[x], fxs[x]
				top := r0[i0] + fx*(r0[i1]-r0[i0])
				bot := r1[i0] + fx*(r1[i1]-r1[i0])
				d[x] = gy*top + fy*bot
			}
		}
	}
}

// clampedLinear returns the two neighbours and the weight of the second for linear
// interpolation at coordinate v of an axis of n samples, v clamped to [0, n-1].
func clampedLinear(v float64, n int) (i0, i1 int, frac float32) {
	if !(v > 0) {
		return 0, 0, 0
	}
	if v >= float64(n-1) {
		return n - 1, n - 1, 0
	}
	fl := math.Floor(v)
	i0 = int(fl)
	return i0, i0 + 1, float32(v - fl)
}
