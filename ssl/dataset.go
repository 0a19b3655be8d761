package ssl

import (
	"errors"
	"fmt"
	"image"
	"reflect"
)

// NoLabel is the label of an image that has none (an unlabeled image). Package datasets
// uses the same value, -1.
const NoLabel = -1

// ErrNilImage is matched (errors.Is) by the error of a Dataset whose Image method returned
// nil (or a nil pointer of an image type); the error names the index.
var ErrNilImage = errors.New("the dataset returned a nil image")

// isNilImage reports whether img is nil or a typed nil pointer, whose methods would panic.
func isNilImage(img image.Image) bool {
	if img == nil {
		return true
	}
	v := reflect.ValueOf(img)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Dataset is a finite, indexable set of RGB images, the input of every stage of the pipeline.
//
// Implementations must be safe for concurrent reads.
type Dataset interface {
	// Len is the number of images.
	Len() int
	// Image returns image i, 0 <= i < Len(). Its pixels are RGB; alpha, if any, is ignored.
	Image(i int) image.Image
	// Label returns the class index of image i in [0, len(Classes())), or NoLabel.
	Label(i int) int
	// Classes names the classes; it may be empty for an unlabeled set.
	Classes() []string
}

// BatchFiller is the fast path a Dataset offers the training loop: it writes images
// straight into a float32 batch without going through image.Image.
type BatchFiller interface {
	// Shape is the channel count (3), height and width shared by every image.
	Shape() (c, h, w int)
	// FillBatch writes images idx[0], idx[1], ... into dst in NCHW order, each pixel
	// scaled to [0, 1] (value/255). len(dst) must be len(idx)*c*h*w.
	FillBatch(dst []float32, idx []int) error
}

// Shape returns the common (channels, height, width) of the images of ds: from BatchFiller
// when ds implements it, otherwise from the bounds of image 0 with 3 channels.
// It returns an error for an empty dataset, and one matching ErrNilImage when image 0 is nil.
func Shape(ds Dataset) (c, h, w int, err error) {
	if bf, ok := ds.(BatchFiller); ok {
		c, h, w = bf.Shape()
		return c, h, w, nil
	}
	if ds.Len() == 0 {
		return 0, 0, 0, fmt.Errorf("ssl: dataset is empty")
	}
	img := ds.Image(0)
	if isNilImage(img) {
		return 0, 0, 0, fmt.Errorf("ssl: image 0: %w", ErrNilImage)
	}
	b := img.Bounds()
	return 3, b.Dy(), b.Dx(), nil
}

// FillBatch writes the images idx of ds into dst as float32 NCHW scaled to [0, 1]. It uses
// the dataset's BatchFiller when there is one and converts image.Image pixels otherwise.
// Every image must have the shape of Shape(ds); an image that is nil is an error matching
// ErrNilImage, naming its index.
func FillBatch(ds Dataset, dst []float32, idx []int) error {
	if bf, ok := ds.(BatchFiller); ok {
		return bf.FillBatch(dst, idx)
	}
	c, h, w, err := Shape(ds)
	if err != nil {
		return err
	}
	plane := h * w
	if len(dst) != len(idx)*c*plane {
		return fmt.Errorf("ssl: FillBatch: dst has %d values, want %d (%d images of %dx%dx%d)", len(dst), len(idx)*c*plane, len(idx), c, h, w)
	}
	for k, i := range idx {
		if i < 0 || i >= ds.Len() {
			return fmt.Errorf("ssl: FillBatch: index %d (position %d) out of range [0,%d)", i, k, ds.Len())
		}
		img := ds.Image(i)
		if isNilImage(img) {
			return fmt.Errorf("ssl: FillBatch: image %d (position %d in the batch): %w", i, k, ErrNilImage)
		}
		b := img.Bounds()
		if b.Dx() != w || b.Dy() != h {
			return fmt.Errorf("ssl: FillBatch: image %d is %dx%d, want %dx%d", i, b.Dx(), b.Dy(), w, h)
		}
		out := dst[k*c*plane : (k+1)*c*plane]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				p := y*w + x
				// RGBA returns 16-bit channels; >>8 recovers the 8-bit value exactly for 8-bit images.
				out[p] = float32(r>>8) / 255
				out[plane+p] = float32(g>>8) / 255
				out[2*plane+p] = float32(bl>>8) / 255
			}
		}
	}
	return nil
}

// Labels returns the labels of every image of ds in index order.
func Labels(ds Dataset) []int {
	out := make([]int, ds.Len())
	for i := range out {
		out[i] = ds.Label(i)
	}
	return out
}
