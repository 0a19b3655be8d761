// Package blas is the project's single-precision matrix multiply, the kernel under the
// convolution and dense ops.
//
// [Sgemm] computes C = alpha*op(A)*op(B) + beta*C on row-major matrices. Three backends
// implement it:
//
//   - "asm": the package's own amd64 assembly micro-kernels (AVX-512F where the CPU and OS
//     support it, otherwise AVX2+FMA), register-blocked tiles that broadcast A straight from
//     the caller's memory (untransposed or transposed, no packing) against B vectors
//     (read in place, or packed into zero-padded strips when B is transposed), cache-blocked
//     over K and N and split over goroutines along M, N or K. Reported as "asm-avx512" or
//     "asm-avx2".
//   - "openblas": the system OpenBLAS (libopenblas.so.0, e.g. Debian's libopenblas0-pthread)
//     loaded at run time with purego, so no cgo and no C toolchain are needed; cblas_sgemm is
//     called with the package's thread count.
//   - "go": portable pure Go using the same blocking and threading with a scalar
//     register-blocked tile; used on other architectures, with the purego build tag, or
//     when asked for.
//
// The default is the fastest one present: asm when the CPU has AVX2 and FMA, else
// OpenBLAS when it loads, else go. The environment variable SELFSUP_BLAS, read on the
// first call, overrides it: SELFSUP_BLAS=asm, SELFSUP_BLAS=openblas or SELFSUP_BLAS=go
// (SELFSUP_BLAS=auto or empty keeps the default). A backend that is asked for but
// unavailable falls back to the default order; [Backend] says which one runs and
// [SetBackend] switches at run time and reports why a backend is unavailable.
//
// Work is split over [Threads] goroutines (default runtime.GOMAXPROCS(0), see
// [SetThreads]); pack buffers and scratch tiles are pooled, so steady-state calls of the
// asm and go backends do not allocate.
package blas
