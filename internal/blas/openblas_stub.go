//go:build !(linux || darwin || freebsd)

package blas

import "errors"

func loadOpenBLAS() (*backend, error) {
	return nil, errors.New("loading OpenBLAS at run time is not supported on this OS")
}
