//go:build linux || darwin || freebsd

package blas

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// openBLASNames are tried in order by dlopen.
var openBLASNames = map[string][]string{
	"darwin": {"libopenblas.0.dylib", "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib"},
}

var defaultOpenBLASNames = []string{"libopenblas.so.0", "libopenblas.so"}

const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

var (
	openBLASOnce sync.Once
	openBLAS     *backend
	openBLASErr  error

	cblasSgemm func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)
	setThreads func(n int32)
)

// loadOpenBLAS opens the system OpenBLAS once and returns its backend or why it failed.
func loadOpenBLAS() (*backend, error) {
	openBLASOnce.Do(func() {
		names := openBLASNames[runtime.GOOS]
		if names == nil {
			names = defaultOpenBLASNames
		}
		openBLAS, openBLASErr = openOpenBLAS(names)
	})
	return openBLAS, openBLASErr
}

// openOpenBLAS dlopens the first of names that has cblas_sgemm and binds it.
func openOpenBLAS(names []string) (*backend, error) {
	var errs []error
	for _, name := range names {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sym, err := purego.Dlsym(h, "cblas_sgemm")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		purego.RegisterFunc(&cblasSgemm, sym)
		if st, err := purego.Dlsym(h, "openblas_set_num_threads"); err == nil {
			purego.RegisterFunc(&setThreads, st)
		}
		openBLASThreads(Threads())
		return &backend{name: "openblas", gemm: openBLASGemm, setup: openBLASThreads}, nil
	}
	return nil, fmt.Errorf("cannot load OpenBLAS: %w", errors.Join(errs...))
}

func openBLASThreads(n int) {
	if setThreads != nil {
		setThreads(int32(n))
	}
}

func openBLASGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	const maxInt32 = 1<<31 - 1
	if m > maxInt32 || n > maxInt32 || k > maxInt32 || lda > maxInt32 || ldb > maxInt32 || ldc > maxInt32 {
		// The 32-bit-index OpenBLAS cannot take it; the portable path can.
		goBackend.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
	if transA {
		ta = cblasTrans
	}
	if transB {
		tb = cblasTrans
	}
	cblasSgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha, unsafe.SliceData(a), int32(lda), unsafe.SliceData(b), int32(ldb), beta, unsafe.SliceData(c), int32(ldc))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(c)
}
