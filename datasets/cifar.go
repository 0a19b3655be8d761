package datasets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// cifarSide is the side of a CIFAR image.
const cifarSide = 32

// cifarSpec describes one of the CIFAR binary releases.
type cifarSpec struct {
	name       string         // for messages: "CIFAR-10"
	folder     string         // folder inside the archive
	archive    string         // official archive name
	train      []string       // training files, in order
	test       []string       // test files
	records    map[string]int // records in each file
	labelBytes int            // label bytes before each image
	bounds     []int          // number of classes each label byte may index
	metaFiles  []string       // class-name file of each label byte
	side       int            // image side, 32 (tests and fuzz targets use smaller images)
}

// imageBytes is the pixel payload of one record: 3 planes of side x side.
func (s cifarSpec) imageBytes() int { return 3 * s.side * s.side }

var cifar10Spec = cifarSpec{
	name:       "CIFAR-10",
	folder:     "cifar-10-batches-bin",
	archive:    "cifar-10-binary.tar.gz",
	train:      []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	test:       []string{"test_batch.bin"},
	records:    map[string]int{"data_batch_1.bin": 10000, "data_batch_2.bin": 10000, "data_batch_3.bin": 10000, "data_batch_4.bin": 10000, "data_batch_5.bin": 10000, "test_batch.bin": 10000},
	labelBytes: 1,
	bounds:     []int{10},
	metaFiles:  []string{"batches.meta.txt"},
	side:       cifarSide,
}

var cifar100Spec = cifarSpec{
	name:       "CIFAR-100",
	folder:     "cifar-100-binary",
	archive:    "cifar-100-binary.tar.gz",
	train:      []string{"train.bin"},
	test:       []string{"test.bin"},
	records:    map[string]int{"train.bin": 50000, "test.bin": 10000},
	labelBytes: 2,
	bounds:     []int{20, 100},
	metaFiles:  []string{"coarse_label_names.txt", "fine_label_names.txt"},
	side:       cifarSide,
}

// CIFAR10 loads a split (Train: 50,000 images, Test: 10,000) of CIFAR-10 in its official
// binary layout. path is the extracted folder cifar-10-batches-bin, a folder holding it, or the
// official cifar-10-binary.tar.gz (read straight from the archive, no extraction), or a folder
// holding that archive. Class names come from batches.meta.txt.
//
// Every file is checked: its size must be exactly its 10,000 records of 3,073 bytes and every
// label in [0, 10); errors name the file, the record and the byte offset.
func CIFAR10(path string, split Split, opts ...Option) (*Images, error) {
	if _, err := applyOptions("CIFAR10", opts); err != nil {
		return nil, err
	}
	sets, err := loadCIFAR(cifar10Spec, path, []Split{split}, 0)
	if err != nil {
		return nil, err
	}
	return sets[0], nil
}

// CIFAR10TrainTest loads both splits of CIFAR-10 in one pass, which halves the time when path
// is the .tar.gz archive. See CIFAR10.
func CIFAR10TrainTest(path string, opts ...Option) (train, test *Images, err error) {
	if _, err := applyOptions("CIFAR10TrainTest", opts); err != nil {
		return nil, nil, err
	}
	sets, err := loadCIFAR(cifar10Spec, path, []Split{Train, Test}, 0)
	if err != nil {
		return nil, nil, err
	}
	return sets[0], sets[1], nil
}

// CIFAR100 loads a split (Train: 50,000 images, Test: 10,000) of CIFAR-100 in its official
// binary layout: each record is a coarse label byte, a fine label byte and 3,072 pixel bytes.
// path is the extracted folder cifar-100-binary, a folder holding it, or the official
// cifar-100-binary.tar.gz (or a folder holding it). Images are labelled with the 100 fine
// classes (fine_label_names.txt), or with the 20 superclasses (coarse_label_names.txt) given
// the option CoarseLabels. Both label bytes are range-checked either way.
func CIFAR100(path string, split Split, opts ...Option) (*Images, error) {
	cfg, err := applyOptions("CIFAR100", opts, "CoarseLabels")
	if err != nil {
		return nil, err
	}
	sets, err := loadCIFAR(cifar100Spec, path, []Split{split}, cifar100Keep(cfg))
	if err != nil {
		return nil, err
	}
	return sets[0], nil
}

// CIFAR100TrainTest loads both splits of CIFAR-100 in one pass. See CIFAR100.
func CIFAR100TrainTest(path string, opts ...Option) (train, test *Images, err error) {
	cfg, err := applyOptions("CIFAR100TrainTest", opts, "CoarseLabels")
	if err != nil {
		return nil, nil, err
	}
	sets, err := loadCIFAR(cifar100Spec, path, []Split{Train, Test}, cifar100Keep(cfg))
	if err != nil {
		return nil, nil, err
	}
	return sets[0], sets[1], nil
}

// cifar100Keep is the label byte CIFAR-100 images are labelled with: 0 coarse, 1 fine.
func cifar100Keep(cfg config) int {
	if cfg.coarse {
		return 0
	}
	return 1
}

// cifarSource finds the files of spec under path.
func cifarSource(spec cifarSpec, path string) (source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", spec.name, err)
	}
	if !fi.IsDir() {
		return archiveSource{path}, nil
	}
	if sub := filepath.Join(path, spec.folder); isDir(sub) {
		return dirSource{sub}, nil
	}
	if isFile(filepath.Join(path, spec.train[0])) || isFile(filepath.Join(path, spec.test[0])) {
		return dirSource{path}, nil
	}
	if a := filepath.Join(path, spec.archive); isFile(a) {
		return archiveSource{a}, nil
	}
	return nil, fmt.Errorf("datasets: %s: %s holds neither the folder %s, nor %s, nor the archive %s",
		spec.name, path, spec.folder, spec.train[0], spec.archive)
}

// loadCIFAR reads the given splits of a CIFAR release, labelling images with label byte keep.
func loadCIFAR(spec cifarSpec, path string, splits []Split, keep int) ([]*Images, error) {
	src, err := cifarSource(spec, path)
	if err != nil {
		return nil, err
	}
	return loadCIFARFrom(spec, src, splits, keep)
}

// loadCIFARFrom is loadCIFAR on the files of src.
func loadCIFARFrom(spec cifarSpec, src source, splits []Split, keep int) ([]*Images, error) {
	type place struct {
		set, first int // which output, first record index in it
	}
	places := map[string]place{}
	want := []string{spec.metaFiles[keep]}
	ib := spec.imageBytes()
	sets := make([]*Images, len(splits))
	for si, sp := range splits {
		var files []string
		switch sp {
		case Train:
			files = spec.train
		case Test:
			files = spec.test
		default:
			return nil, fmt.Errorf("datasets: %s has no %v split (only Train and Test)", spec.name, sp)
		}
		n := 0
		for _, f := range files {
			if _, dup := places[f]; dup {
				return nil, fmt.Errorf("datasets: %s: split %v requested twice", spec.name, sp)
			}
			places[f] = place{si, n}
			want = append(want, f)
			n += spec.records[f]
		}
		sets[si] = &Images{
			pix:    make([]byte, n*ib),
			labels: make([]int32, n),
			n:      n, h: spec.side, w: spec.side,
			source: fmt.Sprintf("%s %v (%s)", spec.name, sp, src),
		}
	}
	var classes []string
	err := src.visit(want, func(base, name string, size int64, r io.Reader) error {
		if base == spec.metaFiles[keep] {
			names, err := readClassNames(r, name, size, spec.bounds[keep])
			classes = names
			return err
		}
		p := places[base]
		d := sets[p.set]
		cnt := spec.records[base]
		return decodeCIFAR(r, name, size, spec.labelBytes, ib, spec.bounds, keep,
			d.pix[p.first*ib:(p.first+cnt)*ib], d.labels[p.first:p.first+cnt])
	})
	if err != nil {
		return nil, err
	}
	for _, d := range sets {
		d.classes = classes
	}
	return sets, nil
}

// decodeCIFAR reads len(labels) CIFAR records from r, a file of size bytes called name, into
// pix (imageBytes per record, 3,072 for CIFAR) and labels. Each record starts with labelBytes
// label bytes, byte k bounded by bounds[k]; label byte keep is stored.
func decodeCIFAR(r io.Reader, name string, size int64, labelBytes, imageBytes int, bounds []int, keep int, pix []byte, labels []int32) error {
	rec := labelBytes + imageBytes
	n := len(labels)
	if want := int64(n) * int64(rec); size != want {
		what := "too large"
		if size < want {
			what = "too small (truncated?)"
		}
		return fmt.Errorf("datasets: %s: %d bytes, want %d (%d records of %d bytes): %s", name, size, want, n, rec, what)
	}
	// Reading the pixels straight into pix saves a copy of the whole set; r is buffered.
	var lab [2]byte
	for i := 0; i < n; i++ {
		off := int64(i) * int64(rec)
		if err := readFull(r, lab[:labelBytes], name, off, size); err != nil {
			return err
		}
		for k := 0; k < labelBytes; k++ {
			if int(lab[k]) >= bounds[k] {
				return fmt.Errorf("datasets: %s: record %d (byte offset %d): label %d out of range [0,%d)",
					name, i, off+int64(k), lab[k], bounds[k])
			}
		}
		labels[i] = int32(lab[keep])
		if err := readFull(r, pix[i*imageBytes:(i+1)*imageBytes], name, off+int64(labelBytes), size); err != nil {
			return err
		}
	}
	return nil
}

// maxNamesFile bounds the size of a class-name file read into memory.
const maxNamesFile = 1 << 20

// readClassNames reads a file of class names, one a line, and requires exactly want of them
// (blank lines and surrounding spaces are ignored).
func readClassNames(r io.Reader, name string, size int64, want int) ([]string, error) {
	if size > maxNamesFile {
		return nil, fmt.Errorf("datasets: %s: %d bytes is too large for a class-name file", name, size)
	}
	b := make([]byte, size)
	if err := readFull(r, b, name, 0, size); err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if s := strings.TrimSpace(line); s != "" {
			names = append(names, s)
		}
	}
	if len(names) != want {
		return nil, fmt.Errorf("datasets: %s: %d class names, want %d", name, len(names), want)
	}
	return names, nil
}
