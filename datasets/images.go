package datasets

import (
	"fmt"
	"image"
)

// Channels is the number of colour channels of every image in this package (RGB).
const Channels = 3

// NoLabel is the label of an unlabeled image, -1. It equals ssl.NoLabel (a test checks it);
// package datasets declares its own so that it does not import ssl and, through it, the
// model and plotting libraries.
const NoLabel = -1

// Images is an in-memory (or memory-mapped) set of RGB images of one size, the type every
// loader of this package returns. It implements ssl.Dataset and the fast path ssl.BatchFiller.
//
// The pixels are stored as uint8 in one contiguous slice, CHW per image (all red values, then
// green, then blue). An Images is immutable and safe for concurrent use until Close.
//
// Sets backed by a memory-mapped file (STL-10) must be closed with Close when no longer needed;
// no finalizer does it for you. Close is a no-op for the others, so calling it is always right.
type Images struct {
	pix      []byte
	labels   []int32 // nil: every image is unlabeled
	classes  []string
	n, h, w  int
	colMajor bool   // each plane is stored transposed (x-major), as in the STL-10 files
	source   string // what the images were read from, for error messages
	closer   func() error
	closed   bool
}

// lut maps a byte to its value scaled to [0, 1], computed exactly as ssl.FillBatch does.
var lut = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// FromPixels wraps images that are already in memory. pix holds n images of 3 planes of h rows
// of w bytes each (CHW per image, row-major planes), so len(pix) must be a multiple of 3*h*w.
// labels is nil for an unlabeled set, or has one entry per image, each in [0, len(classes)) or
// NoLabel. The slices are kept, not copied: do not modify them afterwards.
func FromPixels(pix []byte, labels []int, classes []string, h, w int) (*Images, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("datasets: FromPixels: image size %dx%d must be positive", h, w)
	}
	per := Channels * h * w
	if len(pix)%per != 0 {
		return nil, fmt.Errorf("datasets: FromPixels: len(pix) = %d is not a multiple of 3*%d*%d = %d", len(pix), h, w, per)
	}
	n := len(pix) / per
	d := &Images{pix: pix, classes: classes, n: n, h: h, w: w, source: "FromPixels"}
	if labels != nil {
		if len(labels) != n {
			return nil, fmt.Errorf("datasets: FromPixels: %d labels for %d images", len(labels), n)
		}
		d.labels = make([]int32, n)
		for i, l := range labels {
			if l != NoLabel && (l < 0 || l >= len(classes)) {
				return nil, fmt.Errorf("datasets: FromPixels: label %d of image %d out of range [0,%d)", l, i, len(classes))
			}
			d.labels[i] = int32(l)
		}
	}
	return d, nil
}

// Len is the number of images.
func (d *Images) Len() int { return d.n }

// Shape returns the channel count (3), height and width of every image.
func (d *Images) Shape() (c, h, w int) { return Channels, d.h, d.w }

// Classes names the classes; it is nil for an unlabeled set.
func (d *Images) Classes() []string { return d.classes }

// Label returns the class of image i, or NoLabel for an unlabeled image.
// It panics if i is out of range, like a slice index.
func (d *Images) Label(i int) int {
	if d.labels == nil {
		if i < 0 || i >= d.n {
			panic(fmt.Sprintf("datasets: Label: index %d out of range [0,%d)", i, d.n))
		}
		return NoLabel
	}
	return int(d.labels[i])
}

// Source describes where the images were read from (a file, folder or archive).
func (d *Images) Source() string { return d.source }

// Image returns image i as a new *image.RGBA (opaque). It panics if i is out of range, like a
// slice index, or if the set was closed.
func (d *Images) Image(i int) image.Image {
	if d.closed {
		panic("datasets: Image called after Close on " + d.source)
	}
	if i < 0 || i >= d.n {
		panic(fmt.Sprintf("datasets: Image: index %d out of range [0,%d)", i, d.n))
	}
	plane := d.h * d.w
	src := d.pix[i*3*plane : (i+1)*3*plane]
	img := image.NewRGBA(image.Rect(0, 0, d.w, d.h))
	for y := 0; y < d.h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*d.w]
		for x := 0; x < d.w; x++ {
			p := y*d.w + x
			if d.colMajor {
				p = x*d.h + y
			}
			row[4*x] = src[p]
			row[4*x+1] = src[plane+p]
			row[4*x+2] = src[2*plane+p]
			row[4*x+3] = 0xff
		}
	}
	return img
}

// FillBatch writes images idx[0], idx[1], ... into dst in NCHW order, each value scaled to
// [0, 1] (value/255). len(dst) must be len(idx)*3*h*w and every index in [0, Len()).
// Nothing is written when it returns an error.
func (d *Images) FillBatch(dst []float32, idx []int) error {
	if d.closed {
		return fmt.Errorf("datasets: FillBatch: %s is closed", d.source)
	}
	per := Channels * d.h * d.w
	if len(dst) != len(idx)*per {
		return fmt.Errorf("datasets: FillBatch: dst has %d values, want %d (%d images of 3x%dx%d)", len(dst), len(idx)*per, len(idx), d.h, d.w)
	}
	for k, i := range idx {
		if i < 0 || i >= d.n {
			return fmt.Errorf("datasets: FillBatch: index %d (position %d) out of range [0,%d)", i, k, d.n)
		}
	}
	for k, i := range idx {
		src := d.pix[i*per : (i+1)*per]
		out := dst[k*per : (k+1)*per]
		if d.colMajor {
			fillTransposed(out, src, d.h, d.w)
			continue
		}
		out = out[:len(src)]
		for j, v := range src {
			out[j] = lut[v]
		}
	}
	return nil
}

// fillTransposed converts planes stored x-major (src[c][x][y]) into row-major floats. It
// reads eight columns at once so that every row write is 8 contiguous values: about twice as
// fast as a column at a time.
func fillTransposed(out []float32, src []byte, h, w int) {
	plane := h * w
	for c := 0; c < Channels; c++ {
		s := src[c*plane : (c+1)*plane]
		o := out[c*plane : (c+1)*plane]
		x := 0
		for ; x+8 <= w; x += 8 {
			c0, c1, c2, c3 := s[x*h:(x+1)*h], s[(x+1)*h:(x+2)*h], s[(x+2)*h:(x+3)*h], s[(x+3)*h:(x+4)*h]
			c4, c5, c6, c7 := s[(x+4)*h:(x+5)*h], s[(x+5)*h:(x+6)*h], s[(x+6)*h:(x+7)*h], s[(x+7)*h:(x+8)*h]
			for y := range c0 {
				r := o[y*w+x : y*w+x+8 : y*w+x+8]
				r[0], r[1], r[2], r[3] = lut[c0[y]], lut[c1[y]], lut[c2[y]], lut[c3[y]]
				r[4], r[5], r[6], r[7] = lut[c4[y]], lut[c5[y]], lut[c6[y]], lut[c7[y]]
			}
		}
		for ; x < w; x++ {
			for y, v := range s[x*h : (x+1)*h] {
				o[y*w+x] = lut[v]
			}
		}
	}
}

// Close releases the memory map behind the set, if any. The set must not be used afterwards.
// Calling Close more than once is allowed.
func (d *Images) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var err error
	if d.closer != nil {
		err = d.closer()
		d.closer = nil
	}
	d.pix = nil
	d.n = 0
	if err != nil {
		return fmt.Errorf("datasets: closing %s: %w", d.source, err)
	}
	return nil
}
