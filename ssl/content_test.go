package ssl_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/ssl"
)

// The content hash sees a change of one pixel value and of one label, and not the path
// (BatchFiller or image.Image) the pixels come through.
func TestContentHashSeesContent(t *testing.T) {
	ctx := context.Background()
	d := newSynth(64, 3, 8, 1)
	h0, err := ssl.ContentHash(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := ssl.ContentHash(ctx, withoutFiller{d}, nil); h != h0 {
		t.Errorf("hash through image.Image %s, through FillBatch %s", h, h0)
	}
	p := swapped(d, 5, 5)
	p.pix[100]++
	if h, _ := ssl.ContentHash(ctx, p, nil); h == h0 {
		t.Error("a changed pixel keeps the hash")
	}
	l := swapped(d, 5, 5)
	l.labels = append([]int(nil), d.labels...)
	l.labels[7] = (l.labels[7] + 1) % 3
	if h, _ := ssl.ContentHash(ctx, l, nil); h == h0 {
		t.Error("a changed label keeps the hash")
	}
}

// BenchmarkContentHashCIFAR10 hashes CIFAR-10's 60,000 images and labels, as a resumable
// evaluation does once before training (the real archive in shared/).
func BenchmarkContentHashCIFAR10(b *testing.B) {
	path := filepath.Join("..", "..", "shared", "data", "cifar-10-binary.tar.gz")
	if d := os.Getenv("SELFSUP_SHARED"); d != "" {
		path = filepath.Join(d, "data", "cifar-10-binary.tar.gz")
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("no CIFAR-10 archive at %s", path)
	}
	train, test, err := datasets.CIFAR10TrainTest(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, ds := range []ssl.Dataset{train, test} {
			if _, err := ssl.ContentHash(context.Background(), ds, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
