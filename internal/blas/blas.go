package blas

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// backend is one implementation of Sgemm. Arguments reach it validated, with m, n > 0,
// k > 0 and alpha != 0.
type backend struct {
	name  string
	gemm  func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	setup func(threads int) // called when the thread count changes; may be nil
	// serial is gemm on the calling goroutine; nil when the backend cannot promise that.
	serial func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	// indirect: the backend's tiles have the indirect variant SgemmIndirect runs.
	indirect bool
}

var (
	current     atomic.Pointer[backend]
	selectOnce  sync.Once
	threadCount atomic.Int64
)

// EnvVar is the environment variable that overrides the default backend: "asm",
// "openblas", "go" or "auto".
const EnvVar = "SELFSUP_BLAS"

func active() *backend {
	if b := current.Load(); b != nil {
		return b
	}
	selectOnce.Do(func() {
		b := fromEnv(os.Getenv(EnvVar))
		if current.CompareAndSwap(nil, b) {
			setupThreads(b)
		}
	})
	return current.Load()
}

// fromEnv returns the backend an SELFSUP_BLAS value asks for, or the default when the
// value is empty, "auto", unknown or names a backend that is unavailable.
func fromEnv(v string) *backend {
	want := strings.ToLower(strings.TrimSpace(v))
	if want != "" && want != "auto" {
		if b, err := lookup(want); err == nil {
			return b
		}
	}
	return defaultBackend()
}

// defaultBackend returns the first available of asm, openblas, go.
func defaultBackend() *backend {
	for _, name := range []string{"asm", "openblas"} {
		if b, err := lookup(name); err == nil {
			return b
		}
	}
	return goBackend
}

// lookup returns the named backend ("asm", "openblas" or "go") or why it is unavailable.
func lookup(name string) (*backend, error) {
	switch name {
	case "asm":
		if asmBackend == nil {
			return nil, fmt.Errorf("blas: backend %q unavailable: %s", name, asmUnavailable)
		}
		return asmBackend, nil
	case "openblas":
		b, err := loadOpenBLAS()
		if err != nil {
			return nil, fmt.Errorf("blas: backend %q unavailable: %w", name, err)
		}
		return b, nil
	case "go":
		return goBackend, nil
	}
	return nil, fmt.Errorf("blas: unknown backend %q (want asm, openblas or go)", name)
}

// Backend names the implementation Sgemm uses: "asm-avx512", "asm-avx2", "openblas" or
// "go".
func Backend() string { return active().name }

// SetBackend switches Sgemm to the named backend ("asm", "openblas", "go", or "auto" for
// the default choice). It returns an error naming the reason when that backend is not
// available here, and then leaves the current one in place.
func SetBackend(name string) error {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "auto" || name == "" {
		active()
		b := defaultBackend()
		current.Store(b)
		setupThreads(b)
		return nil
	}
	b, err := lookup(name)
	if err != nil {
		return err
	}
	active()
	current.Store(b)
	setupThreads(b)
	return nil
}

// Threads returns the number of goroutines (or OpenBLAS threads) one Sgemm call may use.
func Threads() int {
	if t := threadCount.Load(); t > 0 {
		return int(t)
	}
	return runtime.GOMAXPROCS(0)
}

// SetThreads sets the number of goroutines one Sgemm call may use; n <= 0 restores the
// default, runtime.GOMAXPROCS(0).
func SetThreads(n int) {
	if n < 0 {
		n = 0
	}
	threadCount.Store(int64(n))
	if b := current.Load(); b != nil {
		setupThreads(b)
	}
}

func setupThreads(b *backend) {
	if b.setup != nil {
		b.setup(Threads())
	}
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where op(X) is X or,
// when the matching trans flag is set, its transpose. op(A) is m×k, op(B) is k×n, C is m×n;
// lda, ldb and ldc are the row strides of A, B and C as stored. When beta is zero C is
// only written, so NaNs already in it do not propagate; when alpha is zero or k is zero,
// A and B are not read.
//
// Like the reference BLAS, Sgemm panics when a dimension is negative, a stride is smaller
// than its row length, or a slice is too short for the matrix it holds; the message names
// the parameter.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	active().gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm computed on the calling goroutine, never split over threads, for
// callers that already keep every core busy (the convolutions, one image per goroutine);
// its results are those of Sgemm with one thread, bit for bit. It reports false,
// computing nothing (but still checking the arguments), when the backend in use cannot
// run a call serially (OpenBLAS has its own threads): the caller then cuts the product
// into calls small enough for Sgemm not to split them.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	be := active()
	if be.serial == nil {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return true
	}
	be.serial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return true
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	switch {
	case m < 0:
		panic(fmt.Sprintf("blas: Sgemm m = %d < 0", m))
	case n < 0:
		panic(fmt.Sprintf("blas: Sgemm n = %d < 0", n))
	case k < 0:
		panic(fmt.Sprintf("blas: Sgemm k = %d < 0", k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("a", "lda", ar, ac, a, lda)
	checkMatrix("b", "ldb", br, bc, b, ldb)
	checkMatrix("c", "ldc", m, n, c, ldc)
}

func checkMatrix(name, ldName string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("blas: Sgemm %s = %d < max(1, %d)", ldName, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("blas: Sgemm len(%s) = %d < %d needed for %d×%d with %s %d", name, len(x), need, rows, cols, ldName, ld))
	}
}

// scaleC sets C = beta*C, writing zeros without reading C when beta is zero.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
