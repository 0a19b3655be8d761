package blas

import (
	"math/rand/v2"
	"testing"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"
)

var _ tensor.BLAS = GonumBLAS{}

func TestGonumBLASMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	m, n, k := 37, 19, 53
	for _, tA := range []gblas.Transpose{gblas.NoTrans, gblas.Trans, gblas.ConjTrans} {
		for _, tB := range []gblas.Transpose{gblas.NoTrans, gblas.Trans} {
			lda, ldb := k, n
			if tA != gblas.NoTrans {
				lda = m
			}
			if tB != gblas.NoTrans {
				ldb = k
			}
			a := randMatrix(r, m*k/lda, lda, lda)
			b := randMatrix(r, k*n/ldb, ldb, ldb)
			c0 := randMatrix(r, m, n, n)
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			GonumBLAS{}.Sgemm(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 2, got, n)
			gonum.Implementation{}.Sgemm(tA, tB, m, n, k, 0.5, a, lda, b, ldb, 2, want, n)
			for i := range got {
				if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
					t.Fatalf("tA=%c tB=%c: c[%d] = %g, gonum %g", tA, tB, i, got[i], want[i])
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("bad transpose flag did not panic")
		}
	}()
	GonumBLAS{}.Sgemm(gblas.Transpose('x'), gblas.NoTrans, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{0}, 1)
}
