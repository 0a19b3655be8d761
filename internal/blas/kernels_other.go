//go:build !amd64 || purego

package blas

var (
	asmBackend     *backend
	asmUnavailable = "no assembly kernels for this architecture (or built with the purego tag)"
)
