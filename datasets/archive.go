package datasets

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// ErrCorrupt is matched (errors.Is) by the errors of a damaged archive: a gzip stream whose
// CRC-32 or length does not match its trailer, compressed data that does not decode, a gzip
// or tar header that does not parse, an archive cut short. The error names the archive.
var ErrCorrupt = errors.New("damaged archive")

// corruptError marks err as a sign of a damaged archive without changing its message.
type corruptError struct{ error }

func (e corruptError) Unwrap() []error { return []error{e.error, ErrCorrupt} }

// isDamage reports whether err, from reading a tar or gzip stream, says the bytes are damaged
// (rather than that the disk could not be read).
func isDamage(err error) bool {
	var ci flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, tar.ErrHeader) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ci)
}

// markDamage wraps err in a corruptError when it is a sign of damage.
func markDamage(err error) error {
	if err != nil && isDamage(err) && !errors.Is(err, ErrCorrupt) {
		return corruptError{err}
	}
	return err
}

// visitFunc reads one wanted file: base is its base name, name what to call it in errors,
// size its length in bytes and r its content (exactly size bytes).
type visitFunc func(base, name string, size int64, r io.Reader) error

// source is a set of named files: a folder or a tar (optionally gzip-compressed) archive.
type source interface {
	// visit calls fn once for each base name in want, in the order the source holds them,
	// and fails naming the first wanted file that is missing.
	visit(want []string, fn visitFunc) error
	String() string
}

// dirSource reads files straight from a folder.
type dirSource struct{ dir string }

func (s dirSource) String() string { return s.dir }

func (s dirSource) visit(want []string, fn visitFunc) error {
	for _, base := range want {
		p := filepath.Join(s.dir, base)
		f, err := os.Open(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("datasets: %s: file missing", p)
			}
			return fmt.Errorf("datasets: %w", err)
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("not a regular file")
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("datasets: %s: %w", p, err)
		}
		err = fn(base, p, fi.Size(), bufio.NewReaderSize(io.LimitReader(f, fi.Size()), 1<<20))
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// smallArchive is the size under which an archive is read without read-ahead.
const smallArchive = 1 << 20

// archiveSource streams a .tar.gz (or plain .tar) and picks members by base name. A
// compressed archive is always read to the end of its gzip stream, past the last wanted
// member, so that the gzip trailer's CRC-32 and length are checked: a flipped byte anywhere
// in the archive is an error, not a wrong label or pixel.
type archiveSource struct{ file string }

func (s archiveSource) String() string { return s.file }

func (s archiveSource) visit(want []string, fn visitFunc) error {
	f, err := os.Open(s.file)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return visitArchive(f, size, s.file, want, fn)
}

// visitArchive is archiveSource.visit on the archive read from f, of size bytes (-1 when
// unknown), called file in errors.
func visitArchive(f io.Reader, size int64, file string, want []string, fn visitFunc) error {
	// Big buffers and a read-ahead goroutine pay off on the real archives (over 100 MB), not
	// on small ones (tests, the fuzz targets), where their allocation would dominate.
	bufSize, readAhead := 1<<20, true
	if size >= 0 && size < smallArchive {
		bufSize, readAhead = 4096, false
	}
	br := bufio.NewReaderSize(f, bufSize)
	var r io.Reader = br
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return markDamage(fmt.Errorf("datasets: %s: not a readable gzip file: %w", file, err))
		}
		compressed = true
		defer zr.Close()
		r = zr
		if readAhead {
			ra := newReadAhead(zr)
			defer ra.Close()
			r = ra
		}
	}
	pending := make(map[string]bool, len(want))
	for _, b := range want {
		pending[b] = true
	}
	tr := tar.NewReader(r)
	for len(pending) > 0 {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return markDamage(fmt.Errorf("datasets: %s: reading the archive: %w", file, err))
		}
		if !hdr.FileInfo().Mode().IsRegular() {
			continue
		}
		base := path.Base(hdr.Name)
		if !pending[base] {
			continue
		}
		delete(pending, base)
		if err := fn(base, file+":"+hdr.Name, hdr.Size, tr); err != nil {
			return markDamage(err)
		}
	}
	if compressed {
		// Drain the rest (members not wanted, the tar end blocks, the gzip trailer): the gzip
		// reader checks the CRC-32 and length of everything it decompressed only at the end.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return markDamage(fmt.Errorf("datasets: %s: reading the archive to its end (its CRC-32 and length are checked there): %w", file, err))
		}
	}
	for _, b := range want {
		if pending[b] {
			return fmt.Errorf("datasets: %s: the archive has no file named %s", file, b)
		}
	}
	return nil
}

// readFull is io.ReadFull with an error that names the file and where it ended.
func readFull(r io.Reader, buf []byte, name string, off, size int64) error {
	n, err := io.ReadFull(r, buf)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("datasets: %s: truncated: data ends at byte %d of %d: %w", name, off+int64(n), size, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("datasets: %s: reading at byte %d: %w", name, off+int64(n), err)
}

// isDir and isFile report whether p exists as a folder or as a regular file.
func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
