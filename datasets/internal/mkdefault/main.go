// Command mkdefault builds the small dataset embedded in package datasets (datasets.Default)
// from CIFAR-10 in its official binary layout (cifar-10-binary.tar.gz).
//
// It takes, in official order, the first -train images of each class from the five training
// batches and the first -test images of each class from the test batch, halves each image to
// 16x16 by averaging 2x2 blocks (rounding half up), and writes them with the CIFAR-10 class
// names in the defaultset format. Run it through go generate in the datasets folder:
//
//	go run ./internal/mkdefault -out default.bin.gz [-cifar path/to/cifar-10-binary.tar.gz]
//
// Without -cifar it looks for shared/data/cifar-10-binary.tar.gz in the current folder and
// each folder above it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/selfsup/selfsup/datasets/internal/defaultset"
)

const (
	side    = 32
	rec     = 1 + 3*side*side
	classes = 10
)

func main() {
	cifar := flag.String("cifar", "", "CIFAR-10 binary archive (default: shared/data/cifar-10-binary.tar.gz in a parent folder)")
	out := flag.String("out", "default.bin.gz", "output file")
	nTrain := flag.Int("train", 500, "training images per class")
	nTest := flag.Int("test", 100, "test images per class")
	flag.Parse()
	if err := run(*cifar, *out, *nTrain, *nTest); err != nil {
		fmt.Fprintln(os.Stderr, "mkdefault:", err)
		os.Exit(1)
	}
}

func run(cifar, out string, nTrain, nTest int) error {
	if cifar == "" {
		var err error
		if cifar, err = findCIFAR(); err != nil {
			return err
		}
	}
	files, err := readArchive(cifar)
	if err != nil {
		return err
	}
	var names []string
	for _, l := range strings.Split(string(files["batches.meta.txt"]), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	if len(names) != classes {
		return fmt.Errorf("%s: batches.meta.txt has %d names, want %d", cifar, len(names), classes)
	}
	var train []byte
	for i := 1; i <= 5; i++ {
		train = append(train, files[fmt.Sprintf("data_batch_%d.bin", i)]...)
	}
	s := defaultset.Set{H: side / 2, W: side / 2, Classes: names}
	if err := pick(&s, train, nTrain); err != nil {
		return err
	}
	s.NTrain = len(s.Labels)
	if err := pick(&s, files["test_batch.bin"], nTest); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := defaultset.Encode(&buf, s); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("mkdefault: %s: %d train + %d test images of %dx%d, %d bytes\n", out, s.NTrain, len(s.Labels)-s.NTrain, s.H, s.W, buf.Len())
	return nil
}

// pick appends the first k records of each class in data, halved to 16x16.
func pick(s *defaultset.Set, data []byte, k int) error {
	if len(data)%rec != 0 {
		return fmt.Errorf("batch data of %d bytes is not whole records", len(data))
	}
	var count [classes]int
	for i := 0; i+rec <= len(data); i += rec {
		l := data[i]
		if int(l) >= classes {
			return fmt.Errorf("record %d: label %d", i/rec, l)
		}
		if count[l] == k {
			continue
		}
		count[l]++
		s.Labels = append(s.Labels, l)
		img := data[i+1 : i+rec]
		for c := 0; c < 3; c++ {
			p := img[c*side*side:]
			for y := 0; y < side; y += 2 {
				for x := 0; x < side; x += 2 {
					sum := int(p[y*side+x]) + int(p[y*side+x+1]) + int(p[(y+1)*side+x]) + int(p[(y+1)*side+x+1])
					s.Pix = append(s.Pix, byte((sum+2)/4))
				}
			}
		}
	}
	for c, n := range count {
		if n != k {
			return fmt.Errorf("class %d has only %d images, want %d", c, n, k)
		}
	}
	return nil
}

// readArchive returns the files of a CIFAR-10 binary archive by base name.
func readArchive(name string) (map[string][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if b := path.Base(hdr.Name); strings.HasSuffix(b, ".bin") || b == "batches.meta.txt" {
			if files[b], err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
			}
		}
	}
	return files, nil
}

// findCIFAR looks for shared/data/cifar-10-binary.tar.gz here and in every parent folder.
func findCIFAR() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "data", "cifar-10-binary.tar.gz")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no shared/data/cifar-10-binary.tar.gz above the current folder; pass -cifar")
		}
		dir = parent
	}
}
