package datasets

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// fuzzCIFAR runs decodeCIFAR on data as a file of the given claimed size and checks that it
// either fails or returns exactly the records' labels and pixels.
func fuzzCIFAR(t *testing.T, data []byte, claimed int64, labelBytes int, bounds []int, keep int) {
	rec := labelBytes + cifarImageBytes
	n := len(data) / rec
	pix := make([]byte, n*cifarImageBytes)
	labels := make([]int32, n)
	// As in a real file, the reader holds at most the claimed size (fewer bytes: a truncation).
	body := data
	if claimed >= 0 && claimed < int64(len(body)) {
		body = body[:claimed]
	}
	err := decodeCIFAR(bytes.NewReader(body), "fuzz.bin", claimed, labelBytes, bounds, keep, pix, labels)
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
		if labels[i] != int32(r[keep]) || !bytes.Equal(pix[i*cifarImageBytes:(i+1)*cifarImageBytes], r[labelBytes:]) {
			t.Fatalf("record %d decoded wrongly", i)
		}
	}
}

func FuzzCIFAR10Records(f *testing.F) {
	f.Add(cifarRecords(2, 1, 0, func(i int) []byte { return []byte{byte(i)} }), int64(2*3073))
	f.Add(cifarRecords(1, 1, 0, func(int) []byte { return []byte{10} }), int64(3073))
	f.Add([]byte{3, 4, 5}, int64(3073))
	f.Fuzz(func(t *testing.T, data []byte, claimed int64) {
		fuzzCIFAR(t, data, claimed, 1, []int{10}, 0)
	})
}

func FuzzCIFAR100Records(f *testing.F) {
	f.Add(cifarRecords(2, 2, 0, func(i int) []byte { return []byte{byte(i), byte(50 + i)} }), int64(2*3074), false)
	f.Add(cifarRecords(1, 2, 0, func(int) []byte { return []byte{19, 100} }), int64(3074), true)
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

// FuzzCIFARArchive feeds arbitrary bytes as a CIFAR-10 archive (gzip or tar) to the loader.
func FuzzCIFARArchive(f *testing.F) {
	spec, files := smallCIFAR10()
	order := []string{"batches.meta.txt", "test_batch.bin"}
	f.Add(tarGz(f, "cifar-10-batches-bin", order, files, true))
	f.Add(tarGz(f, "cifar-10-batches-bin", order, files, false))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.tar.gz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sets, err := loadCIFAR(spec, p, []Split{Test}, 0)
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
