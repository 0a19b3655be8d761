package datasets

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testServer serves one file and can cut a response short, ignore Range, or fail.
type testServer struct {
	data []byte
	mu   sync.Mutex
	// cutAfter, when > 0, makes the next cuts responses stop after that many body bytes.
	cutAfter int
	cuts     int
	noRange  bool
	ranges   []string // Range header of each request
	encoding []string // Accept-Encoding header of each request
}

func (s *testServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.encoding = append(s.encoding, r.Header.Get("Accept-Encoding"))
	cut := 0
	if s.cuts > 0 {
		s.cuts--
		cut = s.cutAfter
	}
	noRange := s.noRange
	s.mu.Unlock()
	start := 0
	if rg := r.Header.Get("Range"); rg != "" && !noRange {
		var a int
		if _, err := fmt.Sscanf(rg, "bytes=%d-", &a); err != nil {
			http.Error(w, "bad range", http.StatusBadRequest)
			return
		}
		if a >= len(s.data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(s.data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = a
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, len(s.data)-1, len(s.data)))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)-a))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)))
		w.WriteHeader(http.StatusOK)
	}
	body := s.data[start:]
	if cut > 0 && cut < len(body) {
		w.Write(body[:cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	w.Write(body)
}

func newTestServer(t *testing.T, n int) (*testServer, *httptest.Server) {
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	s := &testServer{data: data}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func sums(b []byte) (string, string) {
	m := md5.Sum(b)
	s := sha256.Sum256(b)
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

func TestDownloadFull(t *testing.T) {
	s, srv := newTestServer(t, 1<<20+123)
	m, sh := sums(s.data)
	dst := filepath.Join(t.TempDir(), "f.bin")
	var last, calls int64
	prev := int64(-1)
	err := Download(context.Background(), srv.URL+"/f.bin", dst, MD5(m), SHA256(sh), ExpectSize(int64(len(s.data))),
		OnDownloadProgress(func(done, total int64) {
			if done < prev || total != int64(len(s.data)) {
				t.Errorf("progress %d/%d after %d", done, total, prev)
			}
			prev, last = done, done
			calls++
		}))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, s.data) {
		t.Fatal("downloaded bytes differ")
	}
	if last != int64(len(s.data)) || calls < 2 {
		t.Fatalf("progress ended at %d after %d calls", last, calls)
	}
	if _, err := os.Stat(dst + ".part"); !os.IsNotExist(err) {
		t.Fatal(".part file left behind")
	}
	if s.encoding[0] != "identity" {
		t.Fatalf("Accept-Encoding %q, want identity", s.encoding[0])
	}
	// A second call verifies the file and makes no request.
	n := len(s.ranges)
	if err := Download(context.Background(), srv.URL+"/f.bin", dst, SHA256(sh)); err != nil {
		t.Fatal(err)
	}
	if len(s.ranges) != n {
		t.Fatal("an existing, valid file was downloaded again")
	}
	// An existing file with the wrong checksum is an error, and is kept.
	os.WriteFile(dst, []byte("changed"), 0o644)
	wantErr(t, Download(context.Background(), srv.URL+"/f.bin", dst, SHA256(sh)), dst, "SHA-256", "delete it")
	if b, _ := os.ReadFile(dst); string(b) != "changed" {
		t.Fatal("the existing file was touched")
	}
}

func TestDownloadResume(t *testing.T) {
	s, srv := newTestServer(t, 700_000)
	_, sh := sums(s.data)
	dst := filepath.Join(t.TempDir(), "f.bin")
	s.cuts, s.cutAfter = 1, 300_000
	err := Download(context.Background(), srv.URL, dst, SHA256(sh))
	wantErr(t, err, srv.URL, "broke off", ".part")
	fi, err := os.Stat(dst + ".part")
	if err != nil || fi.Size() < 1 || fi.Size() > 300_000 {
		t.Fatalf(".part after a cut: %v, %v", fi, err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatal("dst exists after a failed download")
	}
	var first int64 = -1
	err = Download(context.Background(), srv.URL, dst, SHA256(sh), OnDownloadProgress(func(done, total int64) {
		if first < 0 {
			first = done
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ranges[len(s.ranges)-1]; got != fmt.Sprintf("bytes=%d-", fi.Size()) {
		t.Fatalf("resume asked for %q, want bytes=%d-", got, fi.Size())
	}
	if first != fi.Size() {
		t.Fatalf("progress started at %d, want %d", first, fi.Size())
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, s.data) {
		t.Fatal("resumed file differs")
	}
}

func TestDownloadRetries(t *testing.T) {
	s, srv := newTestServer(t, 500_000)
	m, _ := sums(s.data)
	dst := filepath.Join(t.TempDir(), "f.bin")
	s.cuts, s.cutAfter = 2, 150_000
	if err := Download(context.Background(), srv.URL, dst, MD5(m), Retries(2)); err != nil {
		t.Fatal(err)
	}
	if len(s.ranges) != 3 || s.ranges[0] != "" || s.ranges[1] == "" || s.ranges[2] == "" {
		t.Fatalf("requests' Range headers: %q", s.ranges)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, s.data) {
		t.Fatal("file differs")
	}
}

func TestDownloadServerWithoutRange(t *testing.T) {
	s, srv := newTestServer(t, 400_000)
	_, sh := sums(s.data)
	dst := filepath.Join(t.TempDir(), "f.bin")
	s.cuts, s.cutAfter = 1, 100_000
	if err := Download(context.Background(), srv.URL, dst, SHA256(sh)); err == nil {
		t.Fatal("cut download did not fail")
	}
	s.noRange = true
	if err := Download(context.Background(), srv.URL, dst, SHA256(sh)); err != nil {
		t.Fatal(err)
	}
	if s.ranges[1] == "" {
		t.Fatal("the second call did not try to resume")
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, s.data) {
		t.Fatal("file differs after a server ignored Range")
	}
}

func TestDownloadCompletePart(t *testing.T) {
	// A .part file that already holds every byte: the server answers 416 and the file is verified.
	s, srv := newTestServer(t, 10_000)
	_, sh := sums(s.data)
	dst := filepath.Join(t.TempDir(), "f.bin")
	os.WriteFile(dst+".part", s.data, 0o644)
	if err := Download(context.Background(), srv.URL, dst, SHA256(sh)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, s.data) {
		t.Fatal("file differs")
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	s, srv := newTestServer(t, 50_000)
	m, sh := sums(append([]byte{1}, s.data...))
	dir := t.TempDir()
	dst := filepath.Join(dir, "f.bin")
	wantErr(t, Download(context.Background(), srv.URL, dst, SHA256(sh)), "f.bin.part", "SHA-256 is", "want "+sh, "deleted")
	wantErr(t, Download(context.Background(), srv.URL, dst, MD5(m)), "MD5 is", "want "+m)
	wantErr(t, Download(context.Background(), srv.URL, dst, ExpectSize(49_999)), srv.URL, "server reports 50000 bytes, want 49999")
	for _, p := range []string{dst, dst + ".part"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s left after a mismatch", p)
		}
	}
}

func TestDownloadErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	dst := filepath.Join(t.TempDir(), "f.bin")
	wantErr(t, Download(context.Background(), srv.URL+"/missing.tar.gz", dst), srv.URL+"/missing.tar.gz", "404")
	wantErr(t, Download(context.Background(), srv.URL, dst, SHA256("abc")), "SHA256(\"abc\")", "64 hex digits")
	wantErr(t, Download(context.Background(), srv.URL, dst, MD5("zz")), "MD5")
	wantErr(t, Download(context.Background(), srv.URL, dst, Retries(-1)), "Retries(-1)")
	wantErr(t, Download(context.Background(), srv.URL, dst, HTTPClient(nil)), "HTTPClient(nil)")
	wantErr(t, Download(context.Background(), "http://127.0.0.1:1/x", dst), "http://127.0.0.1:1/x")

	// Cancelling the context stops the transfer and keeps the .part file.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := Download(ctx, slow.URL, dst, Retries(5))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled download: %v", err)
	}
	if fi, err := os.Stat(dst + ".part"); err != nil || fi.Size() != 1000 {
		t.Fatalf(".part after cancel: %v %v", fi, err)
	}
}

func TestArchiveDownload(t *testing.T) {
	s, srv := newTestServer(t, 30_000)
	m, sh := sums(s.data)
	a := Archive{Name: "x.tar.gz", URL: srv.URL + "/x.tar.gz", Size: int64(len(s.data)), MD5: m, SHA256: sh}
	dir := filepath.Join(t.TempDir(), "new")
	p, err := a.Download(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, "x.tar.gz") {
		t.Fatalf("path %s", p)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, s.data) {
		t.Fatal("file differs")
	}
	a.MD5 = "00000000000000000000000000000000"
	os.Remove(p)
	_, err = a.Download(context.Background(), dir)
	wantErr(t, err, "MD5")
	// The official descriptions are well formed.
	for _, o := range []Archive{CIFAR10Archive, CIFAR100Archive, STL10Archive} {
		cfg := downloadConfig{}
		MD5(o.MD5)(&cfg)
		if o.SHA256 != "" {
			SHA256(o.SHA256)(&cfg)
		}
		if cfg.err != nil || o.Size <= 0 || o.URL == "" || filepath.Base(o.URL) != o.Name {
			t.Fatalf("%s: %v", o.Name, cfg.err)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in               string
		start, end, size int64
		ok               bool
	}{
		{"bytes 10-19/20", 10, 19, 20, true},
		{"bytes 10-19/*", 10, 19, -1, true},
		{"bytes */20", -1, -1, 20, true},
		{"bytes 19-10/20", 0, 0, 0, false},
		{"items 1-2/3", 0, 0, 0, false},
		{"bytes 1-2", 0, 0, 0, false},
		{"bytes a-2/3", 0, 0, 0, false},
	} {
		s, e, z, ok := parseContentRange(tc.in)
		if ok != tc.ok || (ok && (s != tc.start || e != tc.end || z != tc.size)) {
			t.Errorf("%q: %d %d %d %v", tc.in, s, e, z, ok)
		}
	}
}
