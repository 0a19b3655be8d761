package datasets

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// The fuzz targets work on tiny inputs so that each runs thousands of executions a second:
// CIFAR records of 2x2 images (13 or 14 bytes instead of 3,073 or 3,074; the decoder takes
// the image size as a parameter, 32x32 in the loaders), seeds of a few records, an archive
// read from memory, and every input cut to maxFuzzInput bytes (maxFuzzArchive for
// archives). The cut bounds the work of an execution, and above all the minimisation of each
// new interesting input, which tries about n²/2 candidates for an input of n bytes: on
// inputs of a few kilobytes it takes the whole default minimisation time of 60 s, during
// which the target makes no progress. Inputs are cut, not skipped: a branch that skipped them
// would itself be new coverage, whose long input the fuzzer would then minimise.
const (
	fuzzSide       = 2
	fuzzImageBytes = 3 * fuzzSide * fuzzSide
	maxFuzzInput   = 256
	maxFuzzArchive = 512
)

// tinyRecords builds n CIFAR records of fuzzSide x fuzzSide images: labels via label(i),
// pixels from pixelByte.
func tinyRecords(n int, label func(i int) []byte) []byte {
	var b []byte
	for i := range n {
		b = append(b, label(i)...)
		for c := range 3 {
			for y := range fuzzSide {
				for x := range fuzzSide {
					b = append(b, pixelByte(i, c, y, x))
				}
			}
		}
	}
	return b
}

// fuzzCIFAR runs decodeCIFAR on data as a file of the given claimed size and checks that it
// either fails or returns exactly the records' labels and pixels.
func fuzzCIFAR(t *testing.T, data []byte, claimed int64, labelBytes int, bounds []int, keep int) {
	data = data[:min(len(data), maxFuzzInput)]
	rec := labelBytes + fuzzImageBytes
	n := len(data) / rec
	pix := make([]byte, n*fuzzImageBytes)
	labels := make([]int32, n)
	// As in a real file, the reader holds at most the claimed size (fewer bytes: a truncation).
	body := data
	if claimed >= 0 && claimed < int64(len(body)) {
		body = body[:claimed]
	}
	err := decodeCIFAR(bytes.NewReader(body), "fuzz.bin", claimed, labelBytes, fuzzImageBytes, bounds, keep, pix, labels)
	if err != nil {
		if !strings.Contains(err.Error(), "fuzz.bin") {
			t.Fatalf("error does not name the file: %v", err)
		}
		return
	}
	if claimed != int64(n*rec) || len(body) != n*rec {
		t.Fatalf("accepted %d bytes claimed as %d for %d records", len(body), claimed, n)
	}
	for i := 0; i < n; i++ {
		r := data[i*rec : (i+1)*rec]
		for k := 0; k < labelBytes; k++ {
			if int(r[k]) >= bounds[k] {
				t.Fatalf("record %d: label byte %d = %d accepted", i, k, r[k])
			}
		}
		if labels[i] != int32(r[keep]) || !bytes.Equal(pix[i*fuzzImageBytes:(i+1)*fuzzImageBytes], r[labelBytes:]) {
			t.Fatalf("record %d decoded wrongly", i)
		}
	}
}

func FuzzCIFAR10Records(f *testing.F) {
	f.Add(tinyRecords(2, func(i int) []byte { return []byte{byte(i)} }), int64(2*13))
	f.Add(tinyRecords(1, func(int) []byte { return []byte{10} }), int64(13))
	f.Add([]byte{3, 4, 5}, int64(13))
	f.Fuzz(func(t *testing.T, data []byte, claimed int64) {
		fuzzCIFAR(t, data, claimed, 1, []int{10}, 0)
	})
}

func FuzzCIFAR100Records(f *testing.F) {
	f.Add(tinyRecords(2, func(i int) []byte { return []byte{byte(i), byte(50 + i)} }), int64(2*14), false)
	f.Add(tinyRecords(1, func(int) []byte { return []byte{19, 100} }), int64(14), true)
	f.Fuzz(func(t *testing.T, data []byte, claimed int64, coarse bool) {
		keep := 1
		if coarse {
			keep = 0
		}
		fuzzCIFAR(t, data, claimed, 2, []int{20, 100}, keep)
	})
}

func FuzzSTLLabels(f *testing.F) {
	f.Add(stlLabels(20), 20)
	f.Add([]byte{0, 11, 255}, 3)
	f.Fuzz(func(t *testing.T, y []byte, n int) {
		y = y[:min(len(y), maxFuzzInput)]
		labels, err := decodeSTLLabels(y, "y.bin", n, 10)
		if err != nil {
			return
		}
		if len(labels) != n || len(y) != n {
			t.Fatalf("%d labels for %d bytes, n=%d", len(labels), len(y), n)
		}
		for i, l := range labels {
			if l < 0 || l > 9 || int(y[i]) != int(l)+1 {
				t.Fatalf("label %d: byte %d became %d", i, y[i], l)
			}
		}
	})
}

func FuzzSTLFolds(f *testing.F) {
	f.Add(stlFoldText(20, 4), 20)
	f.Add("1 2 3\n\n4 5\n", 6)
	f.Add("99999999999999999999999\n", 5)
	f.Fuzz(func(t *testing.T, text string, n int) {
		text = text[:min(len(text), maxFuzzInput)]
		folds, err := parseSTLFolds(strings.NewReader(text), "folds.txt", n)
		if err != nil {
			if !strings.Contains(err.Error(), "folds.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(folds) != 10 {
			t.Fatalf("%d folds accepted", len(folds))
		}
		for _, fold := range folds {
			seen := map[int]bool{}
			for _, v := range fold {
				if v < 0 || v >= n || seen[v] {
					t.Fatalf("index %d accepted (n=%d)", v, n)
				}
				seen[v] = true
			}
		}
	})
}

// tinyCIFAR10 is cifar10Spec with 2x2 images and 4 records in the test file, and the files
// of its test split: a valid .tar.gz of it is about 250 bytes.
func tinyCIFAR10() (cifarSpec, map[string][]byte) {
	spec := cifar10Spec
	spec.side = fuzzSide
	spec.records = map[string]int{"test_batch.bin": 4}
	return spec, map[string][]byte{
		"batches.meta.txt": []byte(joinLines(cifar10Names) + "\n"),
		"test_batch.bin":   tinyRecords(4, func(i int) []byte { return []byte{byte(i * 3 % 10)} }),
	}
}

// memArchive is an archive held in memory, read as archiveSource reads a file.
type memArchive struct {
	name string
	b    []byte
}

func (m memArchive) String() string { return m.name }

func (m memArchive) visit(want []string, fn visitFunc) error {
	return visitArchive(bytes.NewReader(m.b), int64(len(m.b)), m.name, want, fn)
}

// FuzzCIFARArchive feeds arbitrary bytes as a CIFAR-10 archive to the loader, from memory,
// with 2x2 images so that a valid .tar.gz is small. (A plain tar is at least 2 KB, 512-byte
// blocks, too long to minimise quickly: the plain-tar path is left to the unit tests.)
func FuzzCIFARArchive(f *testing.F) {
	spec, files := tinyCIFAR10()
	order := []string{"batches.meta.txt", "test_batch.bin"}
	f.Add(tarGz(f, "cifar-10-batches-bin", order, files, true))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0})
	f.Add([]byte("not an archive"))
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), maxFuzzArchive)]
		sets, err := loadCIFARFrom(spec, memArchive{"fuzz.tar.gz", data}, []Split{Test}, 0)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.tar.gz") {
				t.Fatalf("error does not name the archive: %v", err)
			}
			return
		}
		d := sets[0]
		if d.Len() != 4 || len(d.Classes()) != 10 {
			t.Fatalf("accepted %d images, %d classes", d.Len(), len(d.Classes()))
		}
		for i := 0; i < d.Len(); i++ {
			if l := d.Label(i); l < 0 || l > 9 {
				t.Fatalf("label %d accepted", l)
			}
		}
	})
}

// TestFuzzSeedsAreValid checks that the tiny seeds reach the success paths of what they fuzz
// (a seed every decoder rejects would leave a fuzzer exploring only errors) and are no longer
// than the fuzz targets' cut.
func TestFuzzSeedsAreValid(t *testing.T) {
	labels := make([]int32, 2)
	pix := make([]byte, 2*fuzzImageBytes)
	recs := tinyRecords(2, func(i int) []byte { return []byte{byte(i + 3)} })
	if err := decodeCIFAR(bytes.NewReader(recs), "r", int64(len(recs)), 1, fuzzImageBytes, []int{10}, 0, pix, labels); err != nil || labels[1] != 4 {
		t.Fatalf("tiny records: %v, labels %v", err, labels)
	}
	if text := stlFoldText(20, 4); len(text) > maxFuzzInput {
		t.Errorf("folds seed of %d bytes", len(text))
	} else if _, err := parseSTLFolds(strings.NewReader(text), "f", 20); err != nil {
		t.Errorf("folds seed: %v", err)
	}
	spec, files := tinyCIFAR10()
	b := tarGz(t, "cifar-10-batches-bin", []string{"batches.meta.txt", "test_batch.bin"}, files, true)
	if len(b) > maxFuzzArchive {
		t.Fatalf("seed archive of %d bytes is over the %d-byte fuzz cut", len(b), maxFuzzArchive)
	}
	sets, err := loadCIFARFrom(spec, memArchive{"seed.tar.gz", b}, []Split{Test}, 0)
	if err != nil {
		t.Fatalf("seed archive: %v", err)
	}
	if c, h, w := sets[0].Shape(); sets[0].Len() != 4 || c != 3 || h != fuzzSide || w != fuzzSide || sets[0].Label(1) != 3 {
		t.Fatalf("seed archive: %d images of %dx%dx%d, label 1 = %d", sets[0].Len(), c, h, w, sets[0].Label(1))
	}
	if got := sets[0].pix[fuzzImageBytes : 2*fuzzImageBytes]; !bytes.Equal(got, files["test_batch.bin"][1+13:2*13]) {
		t.Fatalf("seed archive: image 1 pixels %v", got)
	}
	// The in-memory archive of the fuzz target is read as the same bytes in a file are.
	p := filepath.Join(t.TempDir(), "seed.tar.gz")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := loadCIFAR(spec, p, []Split{Test}, 0)
	if err != nil || !bytes.Equal(fromFile[0].pix, sets[0].pix) || !slices.Equal(fromFile[0].labels, sets[0].labels) {
		t.Fatalf("the file gives another set: %v", err)
	}
}

// TestReadAhead checks the read-ahead reader against the bytes it reads, with reads of many
// sizes, an early Close and a source error.
func TestReadAhead(t *testing.T) {
	data := make([]byte, 3*readAheadChunk+12345)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	ra := newReadAhead(bytes.NewReader(data))
	var got []byte
	buf := make([]byte, 70001)
	for k := 1; ; k++ {
		n, err := ra.Read(buf[:k*997%len(buf)+1])
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	ra.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want %d identical", len(got), len(data))
	}
	early := newReadAhead(bytes.NewReader(data))
	early.Read(buf[:10])
	early.Close() // must return although the goroutine still had data to read

	bad := newReadAhead(io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(errors.New("disk on fire"))))
	b, err := io.ReadAll(bad)
	bad.Close()
	if len(b) != 100 || err == nil || err.Error() != "disk on fire" {
		t.Fatalf("source error: %d bytes, %v", len(b), err)
	}
}
