package ssl

import (
	"fmt"
	"image"
	"image/color"
)

// memSet is a small in-memory dataset for the tests of this package: n images of 3 x h x w,
// value of image i, channel c, pixel p = byte(i*11 + c*50 + p*3). With filler it offers the
// BatchFiller fast path.
type memSet struct {
	n, h, w int
	labels  []int
}

func (m *memSet) val(i, c, p int) byte { return byte(i*11 + c*50 + p*3) }
func (m *memSet) Len() int             { return m.n }
func (m *memSet) Label(i int) int      { return m.labels[i] }
func (m *memSet) Classes() []string    { return []string{"a", "b", "c"} }
func (m *memSet) Image(i int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, m.w, m.h))
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			p := y*m.w + x
			img.SetNRGBA(x, y, color.NRGBA{m.val(i, 0, p), m.val(i, 1, p), m.val(i, 2, p), 255})
		}
	}
	return img
}

func newMemSet(n, h, w int) *memSet {
	m := &memSet{n: n, h: h, w: w, labels: make([]int, n)}
	for i := range m.labels {
		m.labels[i] = i % 3
	}
	return m
}

// fillerSet adds the fast path and counts its calls.
type fillerSet struct {
	*memSet
	calls int
}

func (f *fillerSet) Shape() (c, h, w int) { return 3, f.h, f.w }
func (f *fillerSet) FillBatch(dst []float32, idx []int) error {
	f.calls++
	per := 3 * f.h * f.w
	if len(dst) != len(idx)*per {
		return fmt.Errorf("bad dst")
	}
	for k, i := range idx {
		if i < 0 || i >= f.n {
			return fmt.Errorf("bad index %d", i)
		}
		for c := 0; c < 3; c++ {
			for p := 0; p < f.h*f.w; p++ {
				dst[k*per+c*f.h*f.w+p] = float32(f.val(i, c, p)) / 255
			}
		}
	}
	return nil
}
