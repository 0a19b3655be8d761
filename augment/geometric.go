package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// RandomResizedCrop crops a random box and resizes it back to the input size: torchvision
// 0.14's RandomResizedCrop(size=(h, w), scale, ratio, interpolation=BILINEAR) on tensors.
// The box is drawn as torchvision's get_params does: up to 10 attempts, each drawing an
// area fraction uniform in scale and an aspect ratio (width/height) log-uniform in ratio,
// rounding the box to whole pixels (round half to even) and, if the box fits, its top-left
// corner uniformly (row first); if no attempt fits, the centred box of the input clamped to
// the ratio range (the whole image when its ratio is in range). The box is resized with
// bilinear interpolation, align_corners=False and no antialiasing (torch's
// interpolate; at the input size this only ever upsamples).
//
// The usual values are scale = {0.08, 1} and ratio = {3.0 / 4, 4.0 / 3}. Want
// 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1].
func RandomResizedCrop(scale, ratio [2]float64) Transform {
	name := "rrc(scale=" + fmtF(scale[0]) + "-" + fmtF(scale[1]) + ",ratio=" + fmtF(ratio[0]) + "-" + fmtF(ratio[1]) + ")"
	if !(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1) {
		return Transform{name: name, err: fmt.Errorf("augment: RandomResizedCrop: scale = %v, want 0 < scale[0] <= scale[1] <= 1", scale)}
	}
	if !(ratio[0] > 0 && ratio[0] <= ratio[1] && !math.IsInf(ratio[1], 0)) {
		return Transform{name: name, err: fmt.Errorf("augment: RandomResizedCrop: ratio = %v, want 0 < ratio[0] <= ratio[1], finite", ratio)}
	}
	return Transform{name: name, apply: func(f *frame) bool {
		top, left, ch, cw := rrcBox(f.r, f.h, f.w, scale, ratio)
		resizedCrop(f.dst, f.src, f.c, f.h, f.w, top, left, ch, cw, f.ws)
		return true
	}}
}

// rrcBox draws the crop box (top, left, height, width) of RandomResizedCrop for an h×w
// image, as torchvision's RandomResizedCrop.get_params.
func rrcBox(r *rand.Rand, h, w int, scale, ratio [2]float64) (top, left, ch, cw int) {
	area := float64(h * w)
	logLo, logHi := math.Log(ratio[0]), math.Log(ratio[1])
	for range 10 {
		target := area * uniform(r, scale[0], scale[1])
		aspect := math.Exp(uniform(r, logLo, logHi))
		cw = int(math.RoundToEven(math.Sqrt(target * aspect)))
		ch = int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < cw && cw <= w && 0 < ch && ch <= h {
			top = r.IntN(h - ch + 1)
			left = r.IntN(w - cw + 1)
			return top, left, ch, cw
		}
	}
	return rrcFallback(h, w, ratio)
}

// rrcFallback is get_params' centre crop when no attempt fits.
func rrcFallback(h, w int, ratio [2]float64) (top, left, ch, cw int) {
	inRatio := float64(w) / float64(h)
	switch {
	case inRatio < ratio[0]:
		cw = w
		ch = int(math.RoundToEven(float64(cw) / ratio[0]))
	case inRatio > ratio[1]:
		ch = h
		cw = int(math.RoundToEven(float64(ch) * ratio[1]))
	default:
		cw, ch = w, h
	}
	// A ratio far outside the image's can round a side to 0; torchvision would then fail
	// in its resize. Keep at least one pixel.
	ch, cw = max(ch, 1), max(cw, 1)
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

// resizedCrop writes into dst (c×h×w) the ch×cw box of src at (top, left) resized
// bilinearly, as torch's interpolate(mode="bilinear", align_corners=False) without
// antialiasing: source coordinate (o+0.5)·in/out-0.5, negative ones clamped to 0, the
// second neighbour clamped to the last sample.
func resizedCrop(dst, src []float32, c, h, w, top, left, ch, cw int, ws *worker) {
	idx := ws.intScratch(2 * w)
	x0s, x1s := idx[:w], idx[w:]
	fxs := ws.floatScratch(w)
	sx := float32(cw) / float32(w)
	for x := range w {
		i0, i1, fr := torchLinear(sx, x, cw)
		x0s[x], x1s[x], fxs[x] = int32(left+i0), int32(left+i1), fr
	}
	sy := float32(ch) / float32(h)
	for y := range h {
		y0, y1, fy := torchLinear(sy, y, ch)
		y0, y1 = y0+top, y1+top
		gy := 1 - fy
		for k := range c {
			r0 := src[(k*h+y0)*w : (k*h+y0+1)*w]
			r1 := src[(k*h+y1)*w : (k*h+y1+1)*w]
			d := dst[(k*h+y)*w : (k*h+y+1)*w]
			for x := range d {
				i0, i1, fx := x0s[x], x1s[x], fxs[x]
				gx := 1 - fx
				d[x] = gy*(gx*r0[i0]+fx*r0[i1]) + fy*(gx*r1[i0]+fx*r1[i1])
			}
		}
	}
}

// torchLinear returns the neighbours (relative to the box) and the weight of the second
// for output index o of an axis resized from n samples with scale n/out.
func torchLinear(scale float32, o, n int) (i0, i1 int, frac float32) {
	src := scale*(float32(o)+0.5) - 0.5
	if src < 0 {
		src = 0
	}
	i0 = int(src)
	i1 = i0
	if i0 < n-1 {
		i1 = i0 + 1
	}
	return i0, i1, src - float32(i0)
}
