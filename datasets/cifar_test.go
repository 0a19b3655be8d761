package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var cifar10Names = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// smallCIFAR10 is cifar10Spec with 3 records per training file and 4 in the test file.
func smallCIFAR10() (cifarSpec, map[string][]byte) {
	spec := cifar10Spec
	spec.records = map[string]int{}
	files := map[string][]byte{"batches.meta.txt": []byte(joinLines(cifar10Names) + "\n")}
	base := 0
	for _, f := range append(slices.Clone(spec.train), spec.test...) {
		n := 3
		if f == "test_batch.bin" {
			n = 4
		}
		spec.records[f] = n
		b := base
		files[f] = cifarRecords(n, 1, base, func(i int) []byte { return []byte{byte((b + i) % 10)} })
		base += n
	}
	return spec, files
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for i, l := range s {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

// checkCIFARImages verifies images first.. of the test pattern with labels (first+i)%mod.
func checkCIFARImages(t *testing.T, d *Images, first, mod int, classes []string) {
	t.Helper()
	if c, h, w := d.Shape(); c != 3 || h != 32 || w != 32 {
		t.Fatalf("Shape = %d,%d,%d", c, h, w)
	}
	if !slices.Equal(d.Classes(), classes) {
		t.Fatalf("Classes = %q, want %q", d.Classes(), classes)
	}
	for i := 0; i < d.Len(); i++ {
		if got, want := d.Label(i), (first+i)%mod; got != want {
			t.Fatalf("Label(%d) = %d, want %d", i, got, want)
		}
		img := d.Image(i)
		for _, p := range [][2]int{{0, 0}, {31, 0}, {0, 31}, {17, 5}, {31, 31}} {
			x, y := p[0], p[1]
			want := [3]byte{pixelByte(first+i, 0, y, x), pixelByte(first+i, 1, y, x), pixelByte(first+i, 2, y, x)}
			if got := rgbAt(img, x, y); got != want {
				t.Fatalf("image %d at (%d,%d) = %v, want %v", i, x, y, got, want)
			}
		}
	}
}

func TestCIFAR10SmallFromFolderAndArchive(t *testing.T) {
	spec, files := smallCIFAR10()
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "cifar-10-batches-bin"), files)
	// The official archive's members are not in name order; use a scrambled order here too.
	order := []string{"data_batch_4.bin", "test_batch.bin", "batches.meta.txt", "data_batch_2.bin", "data_batch_5.bin", "data_batch_1.bin", "data_batch_3.bin"}
	tgz := filepath.Join(dir, "c.tar.gz")
	if err := os.WriteFile(tgz, tarGz(t, "cifar-10-batches-bin", order, files, true), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "c.tar")
	if err := os.WriteFile(plain, tarGz(t, "cifar-10-batches-bin", order, files, false), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, filepath.Join(dir, "cifar-10-batches-bin"), tgz, plain} {
		sets, err := loadCIFAR(spec, path, []Split{Train, Test}, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if sets[0].Len() != 15 || sets[1].Len() != 4 {
			t.Fatalf("%s: %d train, %d test images, want 15, 4", path, sets[0].Len(), sets[1].Len())
		}
		checkCIFARImages(t, sets[0], 0, 10, cifar10Names)
		checkCIFARImages(t, sets[1], 15, 10, cifar10Names)
		test, err := loadCIFAR(spec, path, []Split{Test}, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkCIFARImages(t, test[0], 15, 10, cifar10Names)
	}
	// A folder holding the archive under its official name.
	adir := filepath.Join(dir, "a")
	writeFiles(t, adir, map[string][]byte{"cifar-10-binary.tar.gz": tarGz(t, "cifar-10-batches-bin", order, files, true)})
	if sets, err := loadCIFAR(spec, adir, []Split{Test}, 0); err != nil || sets[0].Len() != 4 {
		t.Fatalf("folder with archive: %v", err)
	}
}

func TestCIFAR100FineAndCoarse(t *testing.T) {
	fine := make([]string, 100)
	for i := range fine {
		fine[i] = fmt.Sprintf("fine%d", i)
	}
	coarse := make([]string, 20)
	for i := range coarse {
		coarse[i] = fmt.Sprintf("coarse%d", i)
	}
	spec := cifar100Spec
	spec.records = map[string]int{"train.bin": 5, "test.bin": 3}
	lab := func(base int) func(i int) []byte {
		return func(i int) []byte { return []byte{byte((base + i) % 20), byte((base + i) % 100)} }
	}
	files := map[string][]byte{
		"train.bin":              cifarRecords(5, 2, 0, lab(0)),
		"test.bin":               cifarRecords(3, 2, 5, lab(5)),
		"fine_label_names.txt":   []byte(joinLines(fine) + "\n"),
		"coarse_label_names.txt": []byte(joinLines(coarse) + "\n"),
	}
	dir := t.TempDir()
	tgz := filepath.Join(dir, "cifar-100-binary.tar.gz")
	if err := os.WriteFile(tgz, tarGz(t, "cifar-100-binary", []string{"fine_label_names.txt", "train.bin", "coarse_label_names.txt", "test.bin"}, files, true), 0o644); err != nil {
		t.Fatal(err)
	}
	sets, err := loadCIFAR(spec, tgz, []Split{Train, Test}, cifar100Keep(config{}))
	if err != nil {
		t.Fatal(err)
	}
	checkCIFARImages(t, sets[0], 0, 100, fine)
	checkCIFARImages(t, sets[1], 5, 100, fine)
	sets, err = loadCIFAR(spec, tgz, []Split{Train, Test}, cifar100Keep(config{coarse: true}))
	if err != nil {
		t.Fatal(err)
	}
	checkCIFARImages(t, sets[0], 0, 20, coarse)
	checkCIFARImages(t, sets[1], 5, 20, coarse)

	// A fine label of 100 is out of range even when coarse labels are kept.
	bad := bytes.Clone(files["test.bin"])
	bad[2*3074+1] = 100
	writeFiles(t, filepath.Join(dir, "bad", "cifar-100-binary"), map[string][]byte{
		"test.bin": bad, "coarse_label_names.txt": files["coarse_label_names.txt"]})
	_, err = loadCIFAR(spec, filepath.Join(dir, "bad"), []Split{Test}, 0)
	wantErr(t, err, "test.bin", "record 2", fmt.Sprintf("byte offset %d", 2*3074+1), "label 100 out of range [0,100)")
}

func TestCIFARBadInput(t *testing.T) {
	spec, files := smallCIFAR10()
	load := func(t *testing.T, mutate func(m map[string][]byte)) error {
		m := map[string][]byte{}
		for k, v := range files {
			m[k] = bytes.Clone(v)
		}
		mutate(m)
		dir := t.TempDir()
		writeFiles(t, dir, m)
		_, err := loadCIFAR(spec, dir, []Split{Train}, 0)
		if err == nil {
			// the same files in an archive must fail the same way
			order := make([]string, 0, len(m))
			for k := range m {
				order = append(order, k)
			}
			slices.Sort(order)
			tgz := filepath.Join(dir, "x.tar.gz")
			os.WriteFile(tgz, tarGz(t, "cifar-10-batches-bin", order, m, true), 0o644)
			_, err = loadCIFAR(spec, tgz, []Split{Train}, 0)
		}
		return err
	}
	t.Run("truncated", func(t *testing.T) {
		err := load(t, func(m map[string][]byte) { m["data_batch_3.bin"] = m["data_batch_3.bin"][:3*3073-1] })
		wantErr(t, err, "data_batch_3.bin", "9218 bytes, want 9219", "too small")
	})
	t.Run("oversized", func(t *testing.T) {
		err := load(t, func(m map[string][]byte) { m["data_batch_5.bin"] = append(m["data_batch_5.bin"], 0) })
		wantErr(t, err, "data_batch_5.bin", "9220 bytes, want 9219", "too large")
	})
	t.Run("label", func(t *testing.T) {
		err := load(t, func(m map[string][]byte) { m["data_batch_2.bin"][3073] = 10 })
		wantErr(t, err, "data_batch_2.bin", "record 1", "byte offset 3073", "label 10 out of range [0,10)")
	})
	t.Run("missing", func(t *testing.T) {
		err := load(t, func(m map[string][]byte) { delete(m, "data_batch_4.bin") })
		wantErr(t, err, "data_batch_4.bin")
	})
	t.Run("meta", func(t *testing.T) {
		err := load(t, func(m map[string][]byte) { m["batches.meta.txt"] = []byte("a\nb\n") })
		wantErr(t, err, "batches.meta.txt", "2 class names, want 10")
	})
	t.Run("notfound", func(t *testing.T) {
		_, err := CIFAR10(filepath.Join(t.TempDir(), "nope"), Train)
		wantErr(t, err, "nope")
	})
	t.Run("emptyfolder", func(t *testing.T) {
		d := t.TempDir()
		_, err := CIFAR10(d, Test)
		wantErr(t, err, d, "cifar-10-batches-bin", "cifar-10-binary.tar.gz")
	})
	t.Run("garbage archive", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "junk.tar.gz")
		os.WriteFile(p, []byte{0x1f, 0x8b, 1, 2, 3}, 0o644)
		_, err := CIFAR10(p, Test)
		wantErr(t, err, "junk.tar.gz")
		os.WriteFile(p, bytes.Repeat([]byte("not a tar file "), 100), 0o644)
		_, err = CIFAR10(p, Test)
		wantErr(t, err, "junk.tar.gz")
	})
	t.Run("truncated archive", func(t *testing.T) {
		order := []string{"batches.meta.txt", "test_batch.bin"}
		b := tarGz(t, "cifar-10-batches-bin", order, files, true)
		p := filepath.Join(t.TempDir(), "cut.tar.gz")
		os.WriteFile(p, b[:len(b)*2/3], 0o644)
		_, err := loadCIFAR(spec, p, []Split{Test}, 0)
		wantErr(t, err, "cut.tar.gz")
	})
	t.Run("official sizes", func(t *testing.T) {
		// Through the public API the real record counts apply: a small file is rejected by size.
		d := t.TempDir()
		writeFiles(t, d, files)
		_, err := CIFAR10(d, Test)
		wantErr(t, err, "test_batch.bin", "12292 bytes, want 30730000", "10000 records of 3073 bytes")
	})
	t.Run("split", func(t *testing.T) {
		_, err := CIFAR10(t.TempDir(), Unlabeled)
		wantErr(t, err)
		d := t.TempDir()
		writeFiles(t, d, files)
		_, err = loadCIFAR(spec, d, []Split{Unlabeled}, 0)
		wantErr(t, err, "no unlabeled split")
	})
	t.Run("options", func(t *testing.T) {
		_, err := CIFAR10(t.TempDir(), Train, CoarseLabels())
		wantErr(t, err, "CIFAR10 does not take option CoarseLabels")
		_, err = CIFAR100(t.TempDir(), Train, Resize(8, 8))
		wantErr(t, err, "CIFAR100 does not take option Resize")
	})
}

// TestCIFAR10Real loads the real CIFAR-10 from the shared folder and checks it against the
// archive's bytes read independently.
func TestCIFAR10Real(t *testing.T) {
	path := sharedCIFAR(t)
	start := time.Now()
	train, test := realCIFAR(t)
	t.Logf("CIFAR10TrainTest(%s): %v (0 if an earlier test loaded it)", path, time.Since(start))
	if train.Len() != 50000 || test.Len() != 10000 {
		t.Fatalf("%d train, %d test images", train.Len(), test.Len())
	}
	if !slices.Equal(train.Classes(), cifar10Names) || !slices.Equal(test.Classes(), cifar10Names) {
		t.Fatalf("classes %q", train.Classes())
	}
	for _, d := range []struct {
		set  *Images
		each int
	}{{train, 5000}, {test, 1000}} {
		var count [10]int
		for i := 0; i < d.set.Len(); i++ {
			count[d.set.Label(i)]++
		}
		for c, n := range count {
			if n != d.each {
				t.Fatalf("%s: class %d has %d images, want %d", d.set.Source(), c, n, d.each)
			}
		}
	}
	// Independent read of two records (the last of data_batch_3, the first of test_batch),
	// keeping test_batch.bin and batches.meta.txt to load them again from a folder.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cifar-10-batches-bin")
	tr := tar.NewReader(zr)
	for found := 0; found < 3; {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		var set *Images
		var rec, idx int
		base := filepath.Base(hdr.Name)
		switch base {
		case "data_batch_3.bin":
			set, rec, idx = train, 9999, 29999
		case "test_batch.bin":
			set, rec, idx = test, 0, 0
		case "batches.meta.txt":
		default:
			continue
		}
		found++
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if base != "data_batch_3.bin" {
			writeFiles(t, dir, map[string][]byte{base: b})
		}
		if set == nil {
			continue
		}
		r := b[rec*3073 : (rec+1)*3073]
		if set.Label(idx) != int(r[0]) {
			t.Fatalf("%s record %d: label %d, file says %d", hdr.Name, rec, set.Label(idx), r[0])
		}
		got := make([]float32, 3072)
		if err := set.FillBatch(got, []int{idx}); err != nil {
			t.Fatal(err)
		}
		for j, v := range r[1:] {
			if got[j] != float32(v)/255 {
				t.Fatalf("%s record %d value %d: %v, file says %d", hdr.Name, rec, j, got[j], v)
			}
		}
	}
	// The extracted folder gives the same data as the archive.
	test2, err := CIFAR10(filepath.Dir(dir), Test)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(test2.pix, test.pix) || !slices.Equal(test2.labels, test.labels) || !slices.Equal(test2.classes, test.classes) {
		t.Fatal("the extracted folder and the archive give different test sets")
	}
}

// BenchmarkCIFAR10TarGz measures loading all 60,000 CIFAR-10 images straight from the
// .tar.gz, in one pass (CIFAR10TrainTest) and in two calls (CIFAR10 Train, then Test).
func BenchmarkCIFAR10TarGz(b *testing.B) {
	path := sharedCIFAR(b)
	b.Run("TrainTest", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := CIFAR10TrainTest(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TwoCalls", func(b *testing.B) {
		for b.Loop() {
			if _, err := CIFAR10(path, Train); err != nil {
				b.Fatal(err)
			}
			if _, err := CIFAR10(path, Test); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// storedTarGz packs files like tarGz, gzip-compressed at level 0 (stored blocks), so that a
// byte of a member appears unchanged in the .tar.gz and flipping it changes only that byte
// of the data: only the gzip trailer's CRC-32 can tell.
func storedTarGz(t *testing.T, folder string, order []string, files map[string][]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
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
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestCIFARArchiveChecksum flips single bytes inside a .tar.gz: a label byte of a wanted
// member (to another valid label), a byte of a member no split needs, a byte of the gzip
// trailer. Each must fail with ErrCorrupt and an error naming the archive, whatever split
// is read, instead of loading a wrong label.
func TestCIFARArchiveChecksum(t *testing.T) {
	spec, files := smallCIFAR10()
	files["readme.html"] = []byte("<html>the readme, after every member a loader needs</html>")
	order := []string{"batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin", "readme.html"}
	good := storedTarGz(t, "cifar-10-batches-bin", order, files)
	dir := t.TempDir()
	intact := filepath.Join(dir, "intact.tar.gz")
	os.WriteFile(intact, good, 0o644)
	if _, err := loadCIFAR(spec, intact, []Split{Train, Test}, 0); err != nil {
		t.Fatalf("the intact archive: %v", err)
	}
	// Record 1 of data_batch_2.bin (label 4) and record 0 of test_batch.bin, found by their bytes.
	at := func(member string, off int) int {
		i := bytes.Index(good, files[member][off:off+200])
		if i < 0 {
			t.Fatalf("%s byte %d not found in the stored archive", member, off)
		}
		return i
	}
	for _, c := range []struct {
		name   string
		off    int
		xor    byte
		splits []Split
	}{
		{"label of a training record", at("data_batch_2.bin", 3073), 1, []Split{Train}},
		{"label of a training record, both splits", at("data_batch_2.bin", 3073), 1, []Split{Train, Test}},
		{"pixel of the last wanted member", at("test_batch.bin", 100), 0x10, []Split{Test}},
		{"a member no split reads", bytes.Index(good, []byte("the readme")), 0x20, []Split{Train}},
		{"trailer CRC-32", len(good) - 8, 1, []Split{Test}},
		{"trailer length", len(good) - 1, 1, []Split{Train}},
	} {
		b := bytes.Clone(good)
		b[c.off] ^= c.xor
		p := filepath.Join(dir, "flipped.tar.gz")
		os.WriteFile(p, b, 0o644)
		_, err := loadCIFAR(spec, p, c.splits, 0)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the archive", c.name, err)
		}
	}
	// A truncated archive is damage too.
	p := filepath.Join(dir, "cut.tar.gz")
	os.WriteFile(p, good[:len(good)-3], 0o644)
	if _, err := loadCIFAR(spec, p, []Split{Test}, 0); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated archive: %v", err)
	}
}
