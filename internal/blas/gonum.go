package blas

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// GonumBLAS is a complete gonum BLAS implementation whose Sgemm is this package's [Sgemm];
// every other routine is gonum's. It satisfies gorgonia.org/tensor's BLAS interface, so
// gorgonia.Use(blas.GonumBLAS{}) routes gorgonia's float32 matrix products here.
type GonumBLAS struct {
	gonum.Implementation
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with gonum's transpose flags (ConjTrans is
// Trans for real matrices). It panics on invalid arguments as gonum does.
func (GonumBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(isTrans(tA, "tA"), isTrans(tB, "tB"), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func isTrans(t blas.Transpose, name string) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic("blas: Sgemm bad transpose flag " + name)
}
