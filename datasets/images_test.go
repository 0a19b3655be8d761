package datasets

import (
	"slices"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

func testPixels(n, h, w int) []byte {
	pix := make([]byte, n*3*h*w)
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					pix[((i*3+c)*h+y)*w+x] = pixelByte(i, c, y, x)
				}
			}
		}
	}
	return pix
}

func TestFromPixels(t *testing.T) {
	d, err := FromPixels(testPixels(4, 5, 7), []int{1, 0, ssl.NoLabel, 1}, []string{"a", "b"}, 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 4 || d.Label(2) != ssl.NoLabel || d.Label(3) != 1 {
		t.Fatalf("Len %d labels %v", d.Len(), ssl.Labels(d))
	}
	// Every byte value maps exactly as the generic path maps it.
	all := make([]byte, 3*16*16)
	for i := range all {
		all[i] = byte(i)
	}
	u, err := FromPixels(all, nil, nil, 16, 16)
	if err != nil {
		t.Fatal(err)
	}
	if u.Label(0) != ssl.NoLabel || u.Classes() != nil {
		t.Fatal("unlabeled set has labels")
	}
	if !slices.Equal(fill(t, u, []int{0}), genericFill(t, u, []int{0})) {
		t.Fatal("FillBatch differs from the image.Image path on the 256 byte values")
	}
	idx := []int{3, 3, 0, 2}
	if !slices.Equal(fill(t, d, idx), genericFill(t, d, idx)) {
		t.Fatal("FillBatch differs from the image.Image path")
	}

	for _, bad := range []struct {
		pix    []byte
		labels []int
		h, w   int
		want   string
	}{
		{make([]byte, 10), nil, 1, 3, "not a multiple"},
		{make([]byte, 9), nil, 0, 3, "must be positive"},
		{make([]byte, 18), []int{0}, 1, 3, "1 labels for 2 images"},
		{make([]byte, 18), []int{0, 2}, 1, 3, "label 2 of image 1 out of range [0,2)"},
		{make([]byte, 18), []int{0, -2}, 1, 3, "label -2"},
	} {
		_, err := FromPixels(bad.pix, bad.labels, []string{"a", "b"}, bad.h, bad.w)
		wantErr(t, err, bad.want)
	}
}

func TestFillBatchErrors(t *testing.T) {
	d, err := FromPixels(testPixels(3, 2, 2), nil, nil, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 2*12)
	for i := range dst {
		dst[i] = -1
	}
	wantErr(t, d.FillBatch(dst[:23], []int{0, 1}), "dst has 23 values, want 24")
	wantErr(t, d.FillBatch(dst, []int{0, 3}), "index 3 (position 1) out of range [0,3)")
	wantErr(t, d.FillBatch(dst, []int{-1, 0}), "index -1 (position 0)")
	if dst[0] != -1 {
		t.Fatal("a failed FillBatch wrote to dst")
	}
	if err := d.FillBatch(nil, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, d.FillBatch(dst, []int{0, 1}), "closed")
}

// BenchmarkFillBatch128 measures the fast path on a batch of 128 random images: CIFAR-sized
// (row-major) and STL-sized (column-major, converted on the fly), against the generic
// image.Image path on the same CIFAR-sized batch.
func BenchmarkFillBatch128(b *testing.B) {
	idx := make([]int, 128)
	for k := range idx {
		idx[k] = (k*7919 + 13) % 1000
	}
	cifar, _ := FromPixels(testPixels(1000, 32, 32), nil, nil, 32, 32)
	stl := &Images{pix: testPixels(1000, 96, 96), n: 1000, h: 96, w: 96, colMajor: true, source: "bench"}
	for _, tc := range []struct {
		name string
		ds   ssl.Dataset
	}{{"CIFAR32", cifar}, {"STL96", stl}, {"CIFAR32Generic", hideFiller{cifar}}} {
		b.Run(tc.name, func(b *testing.B) {
			c, h, w, _ := ssl.Shape(tc.ds)
			dst := make([]float32, 128*c*h*w)
			b.SetBytes(int64(len(dst)))
			for b.Loop() {
				if err := ssl.FillBatch(tc.ds, dst, idx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFillTransposed checks the column-major conversion on sizes that are and are not
// multiples of its 8-column blocks.
func TestFillTransposed(t *testing.T) {
	for _, sz := range [][2]int{{96, 96}, {13, 11}, {5, 17}, {1, 1}} {
		h, w := sz[0], sz[1]
		src := testPixels(1, h, w) // read as x-major: src[c][x][y]
		out := make([]float32, len(src))
		fillTransposed(out, src, h, w)
		for c := 0; c < 3; c++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					if want := lut[src[c*h*w+x*h+y]]; out[c*h*w+y*w+x] != want {
						t.Fatalf("%dx%d c%d (%d,%d) = %v, want %v", h, w, c, y, x, out[c*h*w+y*w+x], want)
					}
				}
			}
		}
	}
}
