package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selfsup/selfsup/ssl"
)

// sharedCIFAR returns the path of the real CIFAR-10 archive in the project's shared folder
// (../shared/data from the module root, or a shared/data further up), or skips the test.
func sharedCIFAR(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir != filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	// From the module root, try ../shared, then any shared/ further up (git worktrees).
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "data", "cifar-10-binary.tar.gz")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	t.Skip("skipping: real CIFAR-10 not found (no ../shared/data/cifar-10-binary.tar.gz above the module root)")
	return ""
}

// hideFiller hides the BatchFiller of a dataset so that ssl.FillBatch takes the generic path.
type hideFiller struct{ ssl.Dataset }

// genericFill fills a batch through image.Image, the reference for the fast path.
func genericFill(t testing.TB, ds ssl.Dataset, idx []int) []float32 {
	t.Helper()
	c, h, w, err := ssl.Shape(ds)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(idx)*c*h*w)
	if err := ssl.FillBatch(hideFiller{ds}, dst, idx); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pixelByte is a deterministic test pattern: the value of channel c at (y, x) of image i.
func pixelByte(i, c, y, x int) byte { return byte(i*31 + c*101 + y*7 + x*13 + (x*y)%17) }

// cifarRecords builds n CIFAR records: labels via label(i) (labelBytes bytes), pixels from
// pixelByte, planes row-major 32x32.
func cifarRecords(n, labelBytes, base int, label func(i int) []byte) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, label(i)...)
		for c := 0; c < 3; c++ {
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					b = append(b, pixelByte(base+i, c, y, x))
				}
			}
		}
	}
	return b
}

// writeFiles writes name -> content under dir.
func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tarGz packs files (in the given order) under folder into a .tar.gz (or plain tar).
func tarGz(t testing.TB, folder string, order []string, files map[string][]byte, compress bool) []byte {
	t.Helper()
	var out bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if compress {
		zw = gzip.NewWriter(&out)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&out)
	}
	if err := tw.WriteHeader(&tar.Header{Name: folder + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, name := range order {
		b := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: folder + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// wantErr fails unless err is non-nil and its message holds every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// rgbAt returns the 8-bit RGB of img at (x, y).
func rgbAt(img image.Image, x, y int) [3]byte {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]byte{byte(r >> 8), byte(g >> 8), byte(b >> 8)}
}

var realOnce struct {
	sync.Once
	train, test *Images
	err         error
}

// realCIFAR loads the real CIFAR-10 once for all tests of the package, or skips.
func realCIFAR(t *testing.T) (train, test *Images) {
	t.Helper()
	path := sharedCIFAR(t)
	realOnce.Do(func() { realOnce.train, realOnce.test, realOnce.err = CIFAR10TrainTest(path) })
	if realOnce.err != nil {
		t.Fatal(realOnce.err)
	}
	return realOnce.train, realOnce.test
}
