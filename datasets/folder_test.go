package datasets

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// patternImage is an NRGBA image whose pixel (x, y) is pixelByte(i, c, y, x) per channel.
func patternImage(i, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{pixelByte(i, 0, y, x), pixelByte(i, 1, y, x), pixelByte(i, 2, y, x), 255})
		}
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImageFolder(t *testing.T) {
	root := t.TempDir()
	// Classes are sorted folder names: "ant" < "bee" < "cat".
	writeFiles(t, filepath.Join(root, "cat"), map[string][]byte{"b.png": encodePNG(t, patternImage(3, 12, 10)), "a.PNG": encodePNG(t, patternImage(2, 12, 10))})
	writeFiles(t, filepath.Join(root, "ant"), map[string][]byte{"x.png": encodePNG(t, patternImage(0, 12, 10)), "notes.txt": []byte("ignored")})
	writeFiles(t, filepath.Join(root, "bee", "nested"), map[string][]byte{"y.png": encodePNG(t, patternImage(1, 12, 10))})
	writeFiles(t, filepath.Join(root, "bee"), map[string][]byte{"z.jpeg": encodeJPEG(t, patternImage(9, 12, 10))})
	writeFiles(t, filepath.Join(root, ".hidden"), map[string][]byte{"h.png": encodePNG(t, patternImage(5, 3, 3))})
	writeFiles(t, root, map[string][]byte{"stray.png": encodePNG(t, patternImage(5, 3, 3))})

	d, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes(), []string{"ant", "bee", "cat"}) {
		t.Fatalf("Classes = %q", d.Classes())
	}
	if got := []int{d.Label(0), d.Label(1), d.Label(2), d.Label(3), d.Label(4)}; d.Len() != 5 || !slices.Equal(got, []int{0, 1, 1, 2, 2}) {
		t.Fatalf("Len %d, labels %v", d.Len(), got)
	}
	if _, h, w := d.Shape(); h != 10 || w != 12 {
		t.Fatalf("size %dx%d, want 12x10", w, h)
	}
	// PNG is lossless: exact pixels. Order: ant/x, bee/nested/y, bee/z.jpeg, cat/a.PNG, cat/b.png.
	for k, pat := range map[int]int{0: 0, 1: 1, 3: 2, 4: 3} {
		img := d.Image(k)
		for y := 0; y < 10; y++ {
			for x := 0; x < 12; x++ {
				want := [3]byte{pixelByte(pat, 0, y, x), pixelByte(pat, 1, y, x), pixelByte(pat, 2, y, x)}
				if got := rgbAt(img, x, y); got != want {
					t.Fatalf("image %d at (%d,%d) = %v, want %v", k, x, y, got, want)
				}
			}
		}
	}
	// JPEG is lossy: close on average.
	img := d.Image(2)
	var diff float64
	for y := 0; y < 10; y++ {
		for x := 0; x < 12; x++ {
			got := rgbAt(img, x, y)
			for c := 0; c < 3; c++ {
				diff += absf(float64(got[c]) - float64(pixelByte(9, c, y, x)))
			}
		}
	}
	if mean := diff / 360; mean > 25 {
		t.Fatalf("JPEG mean abs error %.1f", mean)
	}
	if !slices.Equal(genericFill(t, d, []int{4, 0}), fill(t, d, []int{4, 0})) {
		t.Fatal("FillBatch differs from the image.Image path")
	}

	// Resize scales everything, whatever its size; a flat image stays flat.
	flat := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := 0; i < len(flat.Pix); i += 4 {
		copy(flat.Pix[i:], []byte{200, 100, 50, 255})
	}
	writeFiles(t, filepath.Join(root, "dog"), map[string][]byte{"big.png": encodePNG(t, flat)})
	if _, err := ImageFolder(root); err == nil {
		t.Fatal("mixed sizes without Resize did not fail")
	} else {
		wantErr(t, err, filepath.Join(root, "dog", "big.png"), "is 40x30", "12x10", "Resize")
	}
	r, err := ImageFolder(root, Resize(8, 6))
	if err != nil {
		t.Fatal(err)
	}
	if _, h, w := r.Shape(); h != 8 || w != 6 || r.Len() != 6 {
		t.Fatalf("resized: %dx%d, %d images", w, h, r.Len())
	}
	if got := rgbAt(r.Image(5), 3, 4); got != [3]byte{200, 100, 50} {
		t.Fatalf("resized flat image = %v", got)
	}
}

// TestImageFolderFlat checks the unlabeled layout: images directly in root, no subfolders.
func TestImageFolderFlat(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string][]byte{
		"b.png":     encodePNG(t, patternImage(1, 6, 5)),
		"a.PNG":     encodePNG(t, patternImage(0, 6, 5)),
		"c.jpg":     encodeJPEG(t, patternImage(2, 6, 5)),
		"notes.txt": []byte("ignored"),
		".hid.png":  encodePNG(t, patternImage(7, 3, 3)),
	})
	writeFiles(t, filepath.Join(root, ".cache"), map[string][]byte{"x.png": encodePNG(t, patternImage(8, 3, 3))})
	d, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || d.Classes() != nil {
		t.Fatalf("Len %d, Classes %q; want 3 images and no classes", d.Len(), d.Classes())
	}
	for i := range d.Len() {
		if l := d.Label(i); l != NoLabel {
			t.Fatalf("Label(%d) = %d, want NoLabel", i, l)
		}
	}
	// Ordered by file name: a.PNG, b.png, c.jpg (PNG exact).
	for k, pat := range []int{0, 1} {
		img := d.Image(k)
		for y := 0; y < 5; y++ {
			for x := 0; x < 6; x++ {
				want := [3]byte{pixelByte(pat, 0, y, x), pixelByte(pat, 1, y, x), pixelByte(pat, 2, y, x)}
				if got := rgbAt(img, x, y); got != want {
					t.Fatalf("image %d at (%d,%d) = %v, want %v", k, x, y, got, want)
				}
			}
		}
	}
	if r, err := ImageFolder(root, Resize(4, 4)); err != nil || r.Len() != 3 || r.Classes() != nil {
		t.Fatalf("flat with Resize: %v", err)
	}
	// Images of another size without Resize are an error naming the file, as in class folders.
	writeFiles(t, root, map[string][]byte{"d.png": encodePNG(t, patternImage(3, 7, 5))})
	_, err = ImageFolder(root)
	wantErr(t, err, filepath.Join(root, "d.png"), "is 7x5")

	// One subfolder makes it a labelled folder: the images in root are then ignored.
	writeFiles(t, filepath.Join(root, "cls"), map[string][]byte{"z.png": encodePNG(t, patternImage(4, 6, 5))})
	l, err := ImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1 || !slices.Equal(l.Classes(), []string{"cls"}) || l.Label(0) != 0 {
		t.Fatalf("with a subfolder: Len %d, Classes %q, Label(0) %d", l.Len(), l.Classes(), l.Label(0))
	}
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func fill(t *testing.T, d *Images, idx []int) []float32 {
	t.Helper()
	c, h, w := d.Shape()
	out := make([]float32, len(idx)*c*h*w)
	if err := d.FillBatch(out, idx); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImageFolderBadInput(t *testing.T) {
	t.Run("empty root", func(t *testing.T) {
		root := t.TempDir()
		_, err := ImageFolder(root)
		wantErr(t, err, root, "neither class subfolders nor .png, .jpg or .jpeg images")
		// Hidden images and other files do not make a flat folder.
		writeFiles(t, root, map[string][]byte{".x.png": encodePNG(t, patternImage(0, 4, 4)), "notes.txt": []byte("no")})
		_, err = ImageFolder(root)
		wantErr(t, err, root, "neither class subfolders")
	})
	t.Run("missing root", func(t *testing.T) {
		_, err := ImageFolder(filepath.Join(t.TempDir(), "nope"))
		wantErr(t, err, "nope")
	})
	t.Run("empty class", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, filepath.Join(root, "a"), map[string][]byte{"x.png": encodePNG(t, patternImage(0, 4, 4))})
		writeFiles(t, filepath.Join(root, "b"), map[string][]byte{"readme.txt": []byte("no images")})
		_, err := ImageFolder(root)
		wantErr(t, err, filepath.Join(root, "b"), "holds no .png, .jpg or .jpeg image")
	})
	t.Run("unreadable image", func(t *testing.T) {
		root := t.TempDir()
		good := encodePNG(t, patternImage(0, 4, 4))
		writeFiles(t, filepath.Join(root, "a"), map[string][]byte{"x.png": good, "y.png": good[:len(good)/2]})
		_, err := ImageFolder(root)
		wantErr(t, err, filepath.Join(root, "a", "y.png"), "unreadable image")
		writeFiles(t, filepath.Join(root, "a"), map[string][]byte{"y.png": []byte("not an image at all")})
		_, err = ImageFolder(root, Resize(4, 4))
		wantErr(t, err, filepath.Join(root, "a", "y.png"), "unreadable image")
	})
	t.Run("bad resize", func(t *testing.T) {
		_, err := ImageFolder(t.TempDir(), Resize(0, 5))
		wantErr(t, err, "Resize(0, 5)")
	})
	t.Run("wrong option", func(t *testing.T) {
		_, err := ImageFolder(t.TempDir(), CoarseLabels())
		wantErr(t, err, "ImageFolder does not take option CoarseLabels")
	})
	t.Run("huge header", func(t *testing.T) {
		// A PNG header claiming 60000x60000 pixels must be refused before decoding.
		root := t.TempDir()
		b := encodePNG(t, patternImage(0, 4, 4))
		b = bytes.Clone(b)
		copy(b[16:24], []byte{0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60})
		writeFiles(t, filepath.Join(root, "a"), map[string][]byte{"x.png": b})
		_, err := ImageFolder(root)
		wantErr(t, err, "x.png")
	})
	t.Run("unreadable file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads every file")
		}
		root := t.TempDir()
		writeFiles(t, filepath.Join(root, "a"), map[string][]byte{"x.png": encodePNG(t, patternImage(0, 4, 4))})
		os.Chmod(filepath.Join(root, "a", "x.png"), 0)
		_, err := ImageFolder(root)
		wantErr(t, err, "x.png")
	})
}
