package datasets

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

var stlNames = []string{"airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"}

// stlPixel is the row-major truth of the STL test pattern: channel c at row y, column x.
func stlPixel(i, c, y, x int) byte { return byte(i*37 + c*89 + y*3 + x*11 + (x*y)%29) }

// stlImages writes n images in the official layout: per image 3 planes, each column-major
// (the whole first column, top to bottom, then the second column...).
func stlImages(n, base int) []byte {
	b := make([]byte, 0, n*stlImageBytes)
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			for x := 0; x < stlSide; x++ {
				for y := 0; y < stlSide; y++ {
					b = append(b, stlPixel(base+i, c, y, x))
				}
			}
		}
	}
	return b
}

// stlLabels gives image i the label (i*3+1)%10 + 1, in 1..10 as in the files.
func stlLabels(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*3+1)%10 + 1)
	}
	return b
}

// stlFolds writes 10 folds of k indices below n.
func stlFoldText(n, k int) string {
	var sb strings.Builder
	for f := 0; f < 10; f++ {
		for j := 0; j < k; j++ {
			fmt.Fprintf(&sb, "%d ", (f*7+j*3)%n)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// writeSTL writes a small STL-10 folder: 20 train, 12 test and 9 unlabeled images.
func writeSTL(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "stl10_binary"), map[string][]byte{
		"train_X.bin":      stlImages(20, 0),
		"train_y.bin":      stlLabels(20),
		"test_X.bin":       stlImages(12, 100),
		"test_y.bin":       stlLabels(12),
		"unlabeled_X.bin":  stlImages(9, 200),
		"class_names.txt":  []byte(joinLines(stlNames) + "\n"),
		"fold_indices.txt": []byte(stlFoldText(20, 4)),
	})
	return root
}

func TestSTL10Layout(t *testing.T) {
	root := writeSTL(t)
	for _, tc := range []struct {
		split    Split
		n, base  int
		labelled bool
	}{{Train, 20, 0, true}, {Test, 12, 100, true}, {Unlabeled, 9, 200, false}} {
		for _, path := range []string{root, filepath.Join(root, "stl10_binary")} {
			d, err := STL10(path, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != tc.n {
				t.Fatalf("%v: Len = %d, want %d", tc.split, d.Len(), tc.n)
			}
			if c, h, w := d.Shape(); c != 3 || h != 96 || w != 96 {
				t.Fatalf("Shape = %d %d %d", c, h, w)
			}
			for i := 0; i < d.Len(); i++ {
				want := ssl.NoLabel
				if tc.labelled {
					want = (i*3 + 1) % 10
				}
				if got := d.Label(i); got != want {
					t.Fatalf("%v: Label(%d) = %d, want %d", tc.split, i, got, want)
				}
			}
			if tc.labelled && !slices.Equal(d.Classes(), stlNames) {
				t.Fatalf("Classes = %q", d.Classes())
			}
			if !tc.labelled && d.Classes() != nil {
				t.Fatalf("unlabeled Classes = %q", d.Classes())
			}
			// Image: row-major truth, from the column-major file.
			img := d.Image(3)
			for _, p := range [][2]int{{0, 0}, {95, 0}, {0, 95}, {10, 57}, {95, 95}} {
				x, y := p[0], p[1]
				want := [3]byte{stlPixel(tc.base+3, 0, y, x), stlPixel(tc.base+3, 1, y, x), stlPixel(tc.base+3, 2, y, x)}
				if got := rgbAt(img, x, y); got != want {
					t.Fatalf("%v image 3 at (%d,%d) = %v, want %v", tc.split, x, y, got, want)
				}
			}
			// FillBatch: every value, against the truth and the generic path.
			idx := []int{tc.n - 1, 0, 2, 2}
			got := make([]float32, len(idx)*stlImageBytes)
			if err := d.FillBatch(got, idx); err != nil {
				t.Fatal(err)
			}
			for k, i := range idx {
				for c := 0; c < 3; c++ {
					for y := 0; y < 96; y++ {
						for x := 0; x < 96; x++ {
							v := got[k*stlImageBytes+c*9216+y*96+x]
							if want := float32(stlPixel(tc.base+i, c, y, x)) / 255; v != want {
								t.Fatalf("%v FillBatch image %d c%d (%d,%d) = %v, want %v", tc.split, i, c, y, x, v, want)
							}
						}
					}
				}
			}
			if !slices.Equal(got, genericFill(t, d, idx)) {
				t.Fatal("FillBatch differs from the image.Image path")
			}
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.FillBatch(got, idx); err == nil {
				t.Fatal("FillBatch after Close did not fail")
			}
			if err := d.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		}
	}
}

func TestSTL10Folds(t *testing.T) {
	root := writeSTL(t)
	folds, err := STL10Folds(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(folds) != 10 {
		t.Fatalf("%d folds", len(folds))
	}
	for f, fold := range folds {
		for j, v := range fold {
			if want := (f*7 + j*3) % 20; v != want {
				t.Fatalf("fold %d entry %d = %d, want %d", f, j, v, want)
			}
		}
	}
}

// TestSTL10WithoutClassNames checks that class_names.txt is optional, as in torchvision:
// without it the classes are named by label and the labels are unchanged.
func TestSTL10WithoutClassNames(t *testing.T) {
	root := writeSTL(t)
	if err := os.Remove(filepath.Join(root, "stl10_binary", "class_names.txt")); err != nil {
		t.Fatal(err)
	}
	for _, split := range []Split{Train, Test} {
		d, err := STL10(root, split)
		if err != nil {
			t.Fatalf("%v without class_names.txt: %v", split, err)
		}
		want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
		if !slices.Equal(d.Classes(), want) {
			t.Fatalf("%v: Classes = %q, want %q", split, d.Classes(), want)
		}
		for i := range d.Len() {
			if got := d.Label(i); got != (i*3+1)%10 {
				t.Fatalf("%v: Label(%d) = %d, want %d", split, i, got, (i*3+1)%10)
			}
		}
		d.Close()
	}
}

func TestSTL10BadInput(t *testing.T) {
	cases := []struct {
		name   string
		split  Split
		mutate func(dir string)
		want   []string
	}{
		{"truncated images", Train, func(d string) { truncate(t, filepath.Join(d, "train_X.bin"), 20*stlImageBytes-5) },
			[]string{"train_X.bin", "not a whole number of 27648-byte images", "19 images and 27643 bytes left over"}},
		{"oversized images", Test, func(d string) { appendTo(t, filepath.Join(d, "test_X.bin"), make([]byte, stlImageBytes)) },
			[]string{"test_y.bin", "12 labels for 13 images"}},
		{"empty images", Unlabeled, func(d string) { truncate(t, filepath.Join(d, "unlabeled_X.bin"), 0) },
			[]string{"unlabeled_X.bin", "empty file"}},
		{"short labels", Train, func(d string) { truncate(t, filepath.Join(d, "train_y.bin"), 19) },
			[]string{"train_y.bin", "19 labels for 20 images"}},
		{"label 0", Train, func(d string) { setByte(t, filepath.Join(d, "train_y.bin"), 7, 0) },
			[]string{"train_y.bin", "image 7", "is 0, want 1..10"}},
		{"label 11", Test, func(d string) { setByte(t, filepath.Join(d, "test_y.bin"), 11, 11) },
			[]string{"test_y.bin", "image 11", "is 11, want 1..10"}},
		{"no labels", Test, func(d string) { os.Remove(filepath.Join(d, "test_y.bin")) }, []string{"test_y.bin"}},
		{"no images", Unlabeled, func(d string) { os.Remove(filepath.Join(d, "unlabeled_X.bin")) }, []string{"unlabeled_X.bin"}},
		{"class names", Train, func(d string) { os.WriteFile(filepath.Join(d, "class_names.txt"), []byte("a\nb\n"), 0o644) },
			[]string{"class_names.txt", "2 class names, want 10"}},
		{"class names not a file", Test, func(d string) {
			os.Remove(filepath.Join(d, "class_names.txt"))
			os.Mkdir(filepath.Join(d, "class_names.txt"), 0o755)
		}, []string{"class_names.txt"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := writeSTL(t)
			tc.mutate(filepath.Join(root, "stl10_binary"))
			d, err := STL10(root, tc.split)
			if err == nil {
				d.Close()
			}
			wantErr(t, err, tc.want...)
		})
	}
	t.Run("archive path", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "stl10_binary.tar.gz")
		os.WriteFile(p, []byte("x"), 0o644)
		_, err := STL10(p, Train)
		wantErr(t, err, p, "extracted folder")
	})
	t.Run("split", func(t *testing.T) {
		_, err := STL10(writeSTL(t), Split(7))
		wantErr(t, err, "Split(7)")
	})
	folds := []struct {
		name, text string
		want       []string
	}{
		{"past the end", strings.Replace(stlFoldText(20, 4), "7 ", "20 ", 1), []string{"fold_indices.txt", "line 2, entry 1", "index 20 is past the end of the 20 training images"}},
		{"negative", "0 1 -3\n" + stlFoldText(20, 4), []string{"line 1, entry 3", "index -3 is negative"}},
		{"duplicate", "0 1 2 1\n" + stlFoldText(20, 4), []string{"line 1", "index 1 appears twice"}},
		{"not a number", "0 x1 2\n", []string{"line 1, entry 2", `"x1" is not an integer`}},
		{"nine folds", strings.Join(strings.Split(stlFoldText(20, 4), "\n")[:9], "\n") + "\n", []string{"9 folds, want 10"}},
		{"eleven folds", stlFoldText(20, 4) + "1 2\n", []string{"line 11", "more than 10 folds"}},
	}
	for _, tc := range folds {
		t.Run("folds "+tc.name, func(t *testing.T) {
			root := writeSTL(t)
			os.WriteFile(filepath.Join(root, "stl10_binary", "fold_indices.txt"), []byte(tc.text), 0o644)
			_, err := STL10Folds(root)
			wantErr(t, err, tc.want...)
		})
	}
	t.Run("folds without training images", func(t *testing.T) {
		root := writeSTL(t)
		os.Remove(filepath.Join(root, "stl10_binary", "train_X.bin"))
		_, err := STL10Folds(root)
		wantErr(t, err, "train_X.bin")
	})
}

// TestSTL10NotInHeap checks that opening a split maps the image file instead of reading it
// into the Go heap.
func TestSTL10NotInHeap(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("memory maps are only checked on unix")
	}
	root := writeSTL(t)
	const n = 1500 // 41 MB
	writeFiles(t, filepath.Join(root, "stl10_binary"), map[string][]byte{"unlabeled_X.bin": bytes.Repeat([]byte{7}, n*stlImageBytes)})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := STL10(root, Unlabeled)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	buf := make([]float32, 2*stlImageBytes)
	if err := d.FillBatch(buf, []int{n - 1, 0}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc) - int64(before.TotalAlloc); grew > 4<<20 {
		t.Fatalf("opening a %d MB unlabeled file allocated %d MB of Go heap", n*stlImageBytes>>20, grew>>20)
	}
	if d.Len() != n || buf[0] != 7.0/255 {
		t.Fatalf("Len %d, first value %v", d.Len(), buf[0])
	}
}

func truncate(t *testing.T, p string, n int64) {
	t.Helper()
	if err := os.Truncate(p, n); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, p string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	f.Close()
}

func setByte(t *testing.T, p string, off int64, v byte) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{v}, off)
	f.Close()
}
