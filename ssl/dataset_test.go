package ssl

import (
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"
)

// nilAt is a dataset of 4x3 images whose Image returns nil (or a typed nil) at some indices.
type nilAt struct {
	n    int
	nils map[int]image.Image
}

func (d *nilAt) Len() int          { return d.n }
func (d *nilAt) Label(int) int     { return 0 }
func (d *nilAt) Classes() []string { return []string{"a"} }
func (d *nilAt) Image(i int) image.Image {
	if img, ok := d.nils[i]; ok {
		return img
	}
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 2, color.RGBA{R: uint8(10 * i), G: 20, B: 30, A: 255})
	return img
}

// TestFillBatchNilImage: an Image of nil, or of a nil *image.RGBA, is an error naming the
// index and matching ErrNilImage, not a panic; Shape reports a nil image 0 the same way.
func TestFillBatchNilImage(t *testing.T) {
	for _, bad := range []image.Image{nil, (*image.RGBA)(nil)} {
		ds := &nilAt{n: 6, nils: map[int]image.Image{4: bad}}
		dst := make([]float32, 3*3*4*3)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%T: FillBatch panicked: %v", bad, r)
				}
			}()
			err := FillBatch(ds, dst, []int{1, 4, 2})
			if !errors.Is(err, ErrNilImage) || !strings.Contains(err.Error(), "image 4 (position 1") {
				t.Fatalf("%T: FillBatch: %v, want ErrNilImage naming image 4", bad, err)
			}
		}()
		// The images around it still fill.
		if err := FillBatch(ds, dst[:2*3*4*3], []int{1, 2}); err != nil {
			t.Fatal(err)
		}
		if got, want := dst[2*4+1], float32(10)/255; got != want {
			t.Errorf("red of image 1 at (1,2) = %v, want %v", got, want)
		}
		ds0 := &nilAt{n: 2, nils: map[int]image.Image{0: bad}}
		if _, _, _, err := Shape(ds0); !errors.Is(err, ErrNilImage) || !strings.Contains(err.Error(), "image 0") {
			t.Errorf("%T: Shape: %v", bad, err)
		}
		if err := FillBatch(ds0, dst[:3*4*3], []int{1}); !errors.Is(err, ErrNilImage) {
			t.Errorf("%T: FillBatch with a nil image 0: %v", bad, err)
		}
	}
}
