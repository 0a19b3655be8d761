package datasets

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Archive describes an official dataset archive: where to get it and how to check it.
type Archive struct {
	Name   string // file name, e.g. "cifar-10-binary.tar.gz"
	URL    string // official address
	Size   int64  // size in bytes
	MD5    string // hex MD5 published by the authors
	SHA256 string // hex SHA-256, empty when not known
}

// The official binary archives of the datasets this package reads.
var (
	// CIFAR10Archive is the binary version of CIFAR-10 (162 MB); CIFAR10 reads it as is.
	CIFAR10Archive = Archive{
		Name:   "cifar-10-binary.tar.gz",
		URL:    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
		Size:   170052171,
		MD5:    "c32a1d4ab5d03f1284b67883e8d87530",
		SHA256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
	}
	// CIFAR100Archive is the binary version of CIFAR-100 (161 MB); CIFAR100 reads it as is.
	CIFAR100Archive = Archive{
		Name: "cifar-100-binary.tar.gz",
		URL:  "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
		Size: 168513733,
		MD5:  "03b5dce01913d631647c71ecec9e9cb8",
	}
	// STL10Archive is the binary version of STL-10 (2.5 GB); extract it before calling STL10.
	STL10Archive = Archive{
		Name:   "stl10_binary.tar.gz",
		URL:    "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
		Size:   2640397119,
		MD5:    "91f7769df0f17e558f3565bffb0c7dfb",
		SHA256: "f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866",
	}
)

// Download fetches the archive into folder dir (created if needed) as dir/a.Name, verifies
// the size and checksums that a gives (and those in opts), and returns the file's path. See
// the function Download.
func (a Archive) Download(ctx context.Context, dir string, opts ...DownloadOption) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("datasets: download %s: %w", a.Name, err)
	}
	dst := filepath.Join(dir, a.Name)
	var all []DownloadOption
	if a.Size > 0 {
		all = append(all, ExpectSize(a.Size))
	}
	if a.MD5 != "" {
		all = append(all, MD5(a.MD5))
	}
	if a.SHA256 != "" {
		all = append(all, SHA256(a.SHA256))
	}
	return dst, Download(ctx, a.URL, dst, append(all, opts...)...)
}

// DownloadOption tunes Download.
type DownloadOption func(*downloadConfig)

type downloadConfig struct {
	md5, sha256 string
	size        int64
	progress    func(done, total int64)
	client      *http.Client
	retries     int
	err         error
}

// SHA256 makes Download verify the file's SHA-256 (hex).
func SHA256(hexSum string) DownloadOption {
	return func(c *downloadConfig) { c.sha256 = checkHex(c, "SHA256", hexSum, sha256.Size) }
}

// MD5 makes Download verify the file's MD5 (hex).
func MD5(hexSum string) DownloadOption {
	return func(c *downloadConfig) { c.md5 = checkHex(c, "MD5", hexSum, md5.Size) }
}

func checkHex(c *downloadConfig, opt, s string, n int) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if b, err := hex.DecodeString(s); err != nil || len(b) != n {
		c.err = fmt.Errorf("datasets: Download: option %s(%q) is not %d hex digits", opt, s, 2*n)
	}
	return s
}

// ExpectSize makes Download check the size of the file in bytes.
func ExpectSize(n int64) DownloadOption {
	return func(c *downloadConfig) {
		if n <= 0 {
			c.err = fmt.Errorf("datasets: Download: option ExpectSize(%d) must be positive", n)
		}
		c.size = n
	}
}

// OnDownloadProgress makes Download call fn as bytes arrive with the bytes on disk so far (a
// resumed download starts above zero) and the total size, -1 when unknown. fn runs on the
// calling goroutine; keep it quick. (It is named apart from ssl.Progress, the pipeline's
// progress report, and ssl.OnProgress, its option.)
func OnDownloadProgress(fn func(done, total int64)) DownloadOption {
	return func(c *downloadConfig) { c.progress = fn }
}

// HTTPClient makes Download use c instead of http.DefaultClient; c must not be nil.
func HTTPClient(c *http.Client) DownloadOption {
	return func(cfg *downloadConfig) {
		if c == nil {
			cfg.err = errors.New("datasets: Download: option HTTPClient(nil): want a client")
		}
		cfg.client = c
	}
}

// Retries makes Download try again, resuming where it stopped, up to n more times when the
// connection fails or breaks off (not on an HTTP error status or a checksum mismatch).
func Retries(n int) DownloadOption {
	return func(c *downloadConfig) {
		if n < 0 {
			c.err = fmt.Errorf("datasets: Download: option Retries(%d) must not be negative", n)
		}
		c.retries = n
	}
}

// Download fetches url into the file dst.
//
// Bytes go to dst+".part" first. If that file exists from an earlier, interrupted call, the
// download resumes after its last byte with an HTTP Range request (and starts over if the
// server ignores Range). When all bytes are there the size (ExpectSize) and checksums (MD5,
// SHA256) given as options are verified; a mismatch deletes the .part file and is an error. On
// success the .part file is renamed to dst. If dst already exists it is verified against the
// options and kept; nothing is downloaded. Errors name the URL or the file.
//
// ctx cancels the transfer; the .part file stays for a later resume.
func Download(ctx context.Context, url, dst string, opts ...DownloadOption) error {
	cfg := downloadConfig{client: http.DefaultClient}
	for _, o := range opts {
		if o == nil {
			return errors.New("datasets: Download: nil DownloadOption")
		}
		o(&cfg)
	}
	if cfg.err != nil {
		return cfg.err
	}
	if fi, err := os.Stat(dst); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("datasets: Download: %s exists and is not a regular file", dst)
		}
		f, err := os.Open(dst)
		if err != nil {
			return fmt.Errorf("datasets: Download: %w", err)
		}
		defer f.Close()
		v := newVerifier(cfg)
		if v.md5 != nil || v.s256 != nil {
			if _, err := io.Copy(v, f); err != nil {
				return fmt.Errorf("datasets: Download: reading %s: %w", dst, err)
			}
		}
		if err := v.check(fi.Size()); err != nil {
			return fmt.Errorf("datasets: Download: %s exists but %v; delete it to download it again", dst, err)
		}
		if cfg.progress != nil {
			cfg.progress(fi.Size(), fi.Size())
		}
		return nil
	}
	part := dst + ".part"
	for attempt := 0; ; attempt++ {
		err := fetch(ctx, url, part, cfg)
		var te *transientError
		if err == nil || !errors.As(err, &te) || attempt >= cfg.retries || ctx.Err() != nil {
			if err != nil {
				return err
			}
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("datasets: Download %s: %w", url, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	if err := os.Rename(part, dst); err != nil {
		return fmt.Errorf("datasets: Download: %w", err)
	}
	return nil
}

// transientError marks a failure that a retry may get past.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// fetch brings part up to the whole file, resuming from its current size, and verifies it.
func fetch(ctx context.Context, url, part string, cfg downloadConfig) (err error) {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("datasets: Download: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("datasets: Download: %w", cerr)
		}
	}()
	v := newVerifier(cfg)
	have, err := io.Copy(v, f) // hash what an earlier call left
	if err != nil {
		return fmt.Errorf("datasets: Download: reading %s: %w", part, err)
	}
	if cfg.size > 0 && have > cfg.size {
		have = 0 // longer than the whole file: start over
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("datasets: Download %s: %w", url, err)
	}
	// The bytes as stored: Go's transport would otherwise ask for gzip and undo a
	// Content-Encoding, which would change what is hashed and resumed.
	req.Header.Set("Accept-Encoding", "identity")
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := cfg.client.Do(req)
	if err != nil {
		return &transientError{fmt.Errorf("datasets: Download %s: %w", url, err)}
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusOK:
		if have > 0 { // the server ignored Range: start over
			have = 0
		}
		total = resp.ContentLength
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, end, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("datasets: Download %s: asked for bytes from %d, server sent Content-Range %q", url, have, resp.Header.Get("Content-Range"))
		}
		total = size
		if size < 0 && end >= 0 && resp.ContentLength < 0 {
			total = end + 1
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// Typically the .part file already holds every byte: verify it as it is.
		if _, _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && size >= 0 && size != have {
			if err := restart(f); err != nil {
				return err
			}
			return &transientError{fmt.Errorf("datasets: Download %s: server has %d bytes, %s had %d: starting over", url, size, part, have)}
		}
		return finish(f, v, have, part, cfg)
	default:
		return fmt.Errorf("datasets: Download %s: HTTP status %s", url, resp.Status)
	}
	if have == 0 {
		if err := restart(f); err != nil {
			return err
		}
		v = newVerifier(cfg)
	}
	if cfg.size > 0 && total >= 0 && total != cfg.size {
		f.Close()
		os.Remove(part)
		return fmt.Errorf("datasets: Download %s: server reports %d bytes, want %d", url, total, cfg.size)
	}
	if total < 0 && cfg.size > 0 {
		total = cfg.size
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return fmt.Errorf("datasets: Download: %s: %w", part, err)
	}
	done := have
	if cfg.progress != nil {
		cfg.progress(done, total)
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("datasets: Download: writing %s: %w", part, err)
			}
			v.Write(buf[:n])
			done += int64(n)
			if cfg.progress != nil {
				cfg.progress(done, total)
			}
			if cfg.size > 0 && done > cfg.size {
				return fmt.Errorf("datasets: Download %s: more than the expected %d bytes", url, cfg.size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &transientError{fmt.Errorf("datasets: Download %s: broke off after %d bytes (%s kept for resuming): %w", url, done, part, rerr)}
		}
	}
	if total >= 0 && done < total {
		return &transientError{fmt.Errorf("datasets: Download %s: broke off after %d of %d bytes (%s kept for resuming)", url, done, total, part)}
	}
	return finish(f, v, done, part, cfg)
}

// restart empties the .part file.
func restart(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("datasets: Download: %s: %w", f.Name(), err)
	}
	return nil
}

// finish verifies the complete .part file, deleting it when it is wrong, and syncs it.
func finish(f *os.File, v *verifier, size int64, part string, cfg downloadConfig) error {
	if err := v.check(size); err != nil {
		f.Close()
		os.Remove(part)
		return fmt.Errorf("datasets: Download: %s: %v (deleted)", part, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("datasets: Download: %s: %w", part, err)
	}
	return nil
}

// parseContentRange parses "bytes start-end/size" or "bytes */size"; unknown values are -1.
func parseContentRange(s string) (start, end, size int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, 0, false
	}
	size = -1
	if sz != "*" {
		var err error
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, 0, false
		}
	}
	if rng == "*" {
		return -1, -1, size, true
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	return start, end, size, err1 == nil && err2 == nil && start <= end
}

// verifier hashes a file as it is written and checks it against the options.
type verifier struct {
	cfg       downloadConfig
	md5, s256 hash.Hash
}

func newVerifier(cfg downloadConfig) *verifier {
	v := &verifier{cfg: cfg}
	if cfg.md5 != "" {
		v.md5 = md5.New()
	}
	if cfg.sha256 != "" {
		v.s256 = sha256.New()
	}
	return v
}

func (v *verifier) Write(b []byte) (int, error) {
	if v.md5 != nil {
		v.md5.Write(b)
	}
	if v.s256 != nil {
		v.s256.Write(b)
	}
	return len(b), nil
}

func (v *verifier) check(size int64) error {
	if v.cfg.size > 0 && size != v.cfg.size {
		return fmt.Errorf("its size is %d bytes, want %d", size, v.cfg.size)
	}
	if v.md5 != nil {
		if got := hex.EncodeToString(v.md5.Sum(nil)); got != v.cfg.md5 {
			return fmt.Errorf("its MD5 is %s, want %s", got, v.cfg.md5)
		}
	}
	if v.s256 != nil {
		if got := hex.EncodeToString(v.s256.Sum(nil)); got != v.cfg.sha256 {
			return fmt.Errorf("its SHA-256 is %s, want %s", got, v.cfg.sha256)
		}
	}
	return nil
}
