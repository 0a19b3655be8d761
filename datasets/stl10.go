package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	stlSide       = 96
	stlImageBytes = Channels * stlSide * stlSide // 27,648
	stlClasses    = 10
	stlFolds      = 10
	stlFolder     = "stl10_binary"
)

// stlFiles names the image and label files of each split.
var stlFiles = map[Split][2]string{
	Train:     {"train_X.bin", "train_y.bin"},
	Test:      {"test_X.bin", "test_y.bin"},
	Unlabeled: {"unlabeled_X.bin", ""},
}

// STL10 opens a split of STL-10 in its official binary layout: Train (5,000 labelled images),
// Test (8,000) or Unlabeled (100,000). path is the extracted folder stl10_binary or a folder
// holding it; the .tar.gz must be extracted first (tar xzf stl10_binary.tar.gz).
//
// The images are 96x96. The image file (<split>_X.bin) stores each image as three planes, each
// column-major; the image count is its size divided by 27,648. The file is memory-mapped
// read-only, not read into the Go heap (the unlabeled file is 2.7 GB), and converted to
// row-major on the fly by Image and FillBatch. Close the returned set when done with it.
//
// Labels (<split>_y.bin, one byte per image, 1..10) become 0..9. Class names come from
// class_names.txt when it exists; it is optional, as in torchvision (whose STL10 sets classes
// only when the file is there). Without it the classes are named by their label, "0" to "9",
// so that Classes still counts the 10 classes the labels index; a class_names.txt that exists
// but cannot be read or does not hold 10 names is an error. Truncated files, a label file whose length differs from the image count and
// labels out of range are errors naming the file and, for labels, the image index.
func STL10(path string, split Split, opts ...Option) (*Images, error) {
	if _, err := applyOptions("STL10", opts); err != nil {
		return nil, err
	}
	files, ok := stlFiles[split]
	if !ok {
		return nil, fmt.Errorf("datasets: STL-10 has no split %v", split)
	}
	dir, err := stlDir(path)
	if err != nil {
		return nil, err
	}
	xname := filepath.Join(dir, files[0])
	f, err := os.Open(xname)
	if err != nil {
		return nil, fmt.Errorf("datasets: STL-10 %v: %w", split, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", xname, err)
	}
	n, err := stlImageCount(xname, fi.Size())
	if err != nil {
		return nil, err
	}
	d := &Images{n: n, h: stlSide, w: stlSide, colMajor: true, source: fmt.Sprintf("STL-10 %v (%s)", split, xname)}
	if files[1] != "" {
		if d.classes, err = stlClassNames(dir); err != nil {
			return nil, err
		}
		yname := filepath.Join(dir, files[1])
		y, err := os.ReadFile(yname)
		if err != nil {
			return nil, fmt.Errorf("datasets: STL-10 %v labels: %w", split, err)
		}
		if d.labels, err = decodeSTLLabels(y, yname, n, stlClasses); err != nil {
			return nil, err
		}
	}
	pix, unmap, err := mapFile(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", xname, err)
	}
	d.pix, d.closer = pix, unmap
	return d, nil
}

// stlImageCount checks that an STL-10 image file of size bytes holds a whole, non-zero number
// of images and returns it.
func stlImageCount(name string, size int64) (int, error) {
	if size == 0 {
		return 0, fmt.Errorf("datasets: %s: empty file, no images", name)
	}
	if size%stlImageBytes != 0 {
		return 0, fmt.Errorf("datasets: %s: %d bytes is not a whole number of %d-byte images (3x96x96): %d images and %d bytes left over (truncated?)",
			name, size, stlImageBytes, size/stlImageBytes, size%stlImageBytes)
	}
	return int(size / stlImageBytes), nil
}

// decodeSTLLabels checks a label file of n images with labels 1..classes and returns them as
// 0-based labels.
func decodeSTLLabels(y []byte, name string, n, classes int) ([]int32, error) {
	if len(y) != n {
		return nil, fmt.Errorf("datasets: %s: %d labels for %d images", name, len(y), n)
	}
	labels := make([]int32, n)
	for i, v := range y {
		if v < 1 || int(v) > classes {
			return nil, fmt.Errorf("datasets: %s: label of image %d (byte offset %d) is %d, want 1..%d", name, i, i, v, classes)
		}
		labels[i] = int32(v) - 1
	}
	return labels, nil
}

// stlDir finds the folder holding the STL-10 binary files.
func stlDir(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("datasets: STL-10: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("datasets: STL-10: %s is a file; STL10 reads the extracted folder (tar xzf it first: the 2.7 GB unlabeled file is memory-mapped)", path)
	}
	if sub := filepath.Join(path, stlFolder); isDir(sub) {
		return sub, nil
	}
	return path, nil
}

// stlClassNames reads dir/class_names.txt, or names the classes "0".."9" when it does not
// exist.
func stlClassNames(dir string) ([]string, error) {
	name := filepath.Join(dir, "class_names.txt")
	if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
		names := make([]string, stlClasses)
		for i := range names {
			names[i] = strconv.Itoa(i)
		}
		return names, nil
	}
	return readClassFile(name, stlClasses)
}

// readClassFile reads a file of exactly want class names, one a line.
func readClassFile(name string, want int) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	return readClassNames(f, name, fi.Size(), want)
}

// STL10Folds reads the 10 predefined training folds of STL-10 from fold_indices.txt: fold k
// lists the 0-based indices (into the Train split) of the 1,000 images to train on in trial k.
// path is as for STL10. Every index is checked against the number of training images (the size
// of train_X.bin); an index past the end, a repeated index, a malformed number or a file without
// exactly 10 folds is an error naming the line.
func STL10Folds(path string) ([][]int, error) {
	dir, err := stlDir(path)
	if err != nil {
		return nil, err
	}
	xname := filepath.Join(dir, stlFiles[Train][0])
	fi, err := os.Stat(xname)
	if err != nil {
		return nil, fmt.Errorf("datasets: STL-10 folds need the training images: %w", err)
	}
	n, err := stlImageCount(xname, fi.Size())
	if err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "fold_indices.txt")
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("datasets: STL-10 folds: %w", err)
	}
	defer f.Close()
	return parseSTLFolds(f, name, n)
}

// parseSTLFolds reads lines of space-separated 0-based indices below n, one fold a line.
func parseSTLFolds(r io.Reader, name string, n int) ([][]int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var folds [][]int
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue // blank lines (a trailing newline) carry no fold
		}
		if len(folds) == stlFolds {
			return nil, fmt.Errorf("datasets: %s: line %d: more than %d folds", name, line, stlFolds)
		}
		fold := make([]int, len(fields))
		seen := make(map[int]int, len(fields))
		for j, s := range fields {
			v, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("datasets: %s: line %d, entry %d: %q is not an integer", name, line, j+1, s)
			}
			if v < 0 {
				return nil, fmt.Errorf("datasets: %s: line %d, entry %d: index %d is negative", name, line, j+1, v)
			}
			if v >= n {
				return nil, fmt.Errorf("datasets: %s: line %d, entry %d: index %d is past the end of the %d training images", name, line, j+1, v, n)
			}
			if k, dup := seen[v]; dup {
				return nil, fmt.Errorf("datasets: %s: line %d: index %d appears twice (entries %d and %d)", name, line, v, k+1, j+1)
			}
			seen[v] = j
			fold[j] = v
		}
		folds = append(folds, fold)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("datasets: %s: line %d: %w", name, line+1, err)
	}
	if len(folds) != stlFolds {
		return nil, fmt.Errorf("datasets: %s: %d folds, want %d", name, len(folds), stlFolds)
	}
	return folds, nil
}
