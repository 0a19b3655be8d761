//go:build linux || darwin || freebsd

package blas

import (
	"strings"
	"testing"
)

// TestOpenBLASAbsent checks that a missing library is an error naming it, not a crash.
func TestOpenBLASAbsent(t *testing.T) {
	b, err := openOpenBLAS([]string{"libselfsup-no-such-blas.so.0"})
	if b != nil || err == nil || !strings.Contains(err.Error(), "libselfsup-no-such-blas.so.0") {
		t.Fatalf("openOpenBLAS(missing) = %v, %v; want an error naming the library", b, err)
	}
}
