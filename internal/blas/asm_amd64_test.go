//go:build !purego

package blas

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// supportedAsmISAs lists the kernel sets this CPU can run, best first.
func supportedAsmISAs() []string {
	switch asmBestISA {
	case "Avx512":
		return []string{"Avx512", "Avx2"}
	case "Avx2":
		return []string{"Avx2"}
	}
	return nil
}

func restoreAsmISA() {
	if asmBestISA != "" {
		useAsmISA(asmBestISA)
	}
}

// TestKernels drives every generated tile directly: depths around the unroll of 4,
// both A layouts, beta zero (over NaN) and not.
func TestKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, kern := range generatedKernels {
		if kern.isa == "Avx512" && !cpu.X86.HasAVX512F || !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
			t.Logf("skipping %s %dx%d: CPU lacks it", kern.isa, kern.mr, kern.nr)
			continue
		}
		mr, nr := kern.mr, kern.nr
		for _, k := range []int{0, 1, 2, 3, 4, 5, 8, 9, 31} {
			for _, rowA := range []bool{true, false} {
				for _, beta := range []float32{0, 0.5} {
					lda := k + 3
					if !rowA {
						lda = mr + 2
					}
					ldb, ldc := nr+5, nr+1
					a := randMatrix(r, max(mr, k), lda, lda)
					b := randMatrix(r, max(k, 1), ldb, ldb)
					c := randMatrix(r, mr, ldc, ldc)
					if beta == 0 {
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					want := make([]float64, mr*nr)
					for i := 0; i < mr; i++ {
						for j := 0; j < nr; j++ {
							var s float64
							for p := 0; p < k; p++ {
								ai := i*lda + p
								if !rowA {
									ai = p*lda + i
								}
								av := a[ai]
								s += float64(av) * float64(b[p*ldb+j])
							}
							s *= -1.5
							if beta != 0 {
								s += float64(beta) * float64(c[i*ldc+j])
							}
							want[i*nr+j] = s
						}
					}
					f := kern.colA
					if rowA {
						f = kern.rowA
					}
					var bp *float32
					if len(b) > 0 {
						bp = &b[0]
					}
					f(k, &a[0], lda, bp, ldb, &c[0], ldc, -1.5, beta)
					for i := 0; i < mr; i++ {
						for j := 0; j < ldc; j++ {
							got := c[i*ldc+j]
							if j >= nr {
								if beta == 0 && !math.IsNaN(float64(got)) {
									t.Fatalf("%s %dx%d rowA=%v k=%d: wrote past the tile at [%d][%d]", kern.isa, mr, nr, rowA, k, i, j)
								}
								continue
							}
							if w := want[i*nr+j]; math.Abs(float64(got)-w) > 1e-5*float64(k+1)*4 {
								t.Fatalf("%s %dx%d rowA=%v k=%d beta=%g: C[%d][%d] = %g, want %g", kern.isa, mr, nr, rowA, k, beta, i, j, got, w)
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmIndirect checks the indirect product against Sgemm on the same B written
// densely, bit for bit, for every ISA's tiles: partial tiles of rows and columns, depths
// within one block and over several (kcMax), B's rows scattered and overlapping in b.
func TestSgemmIndirect(t *testing.T) {
	if Backend() != "asm-avx512" && Backend() != "asm-avx2" {
		t.Skipf("backend %s has no indirect tiles", Backend())
	}
	defer restoreAsmISA()
	r := rand.New(rand.NewPCG(11, 11))
	for _, isa := range supportedAsmISAs() {
		useAsmISA(isa)
		for _, s := range []struct{ m, n, k int }{{16, 16, 4}, {37, 53, 9}, {6, 64, 400}, {33, 100, 27}, {64, 80, 576}} {
			a := make([]float32, s.m*s.k)
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			b := make([]float32, 3*s.n+2*s.k)
			for i := range b {
				b[i] = float32(r.NormFloat64())
			}
			off := make([]int32, s.k)
			dense := make([]float32, s.k*s.n)
			for p := range off {
				off[p] = int32(r.IntN(len(b) - s.n + 1))
				copy(dense[p*s.n:(p+1)*s.n], b[off[p]:int(off[p])+s.n])
			}
			want, got := make([]float32, s.m*s.n), make([]float32, s.m*s.n)
			for i := range got {
				got[i] = float32(math.NaN()) // beta 0: never read
			}
			Sgemm(false, false, s.m, s.n, s.k, 1, a, s.k, dense, s.n, 0, want, s.n)
			if !SgemmIndirect(s.m, s.n, s.k, a, s.k, b, off, got, s.n) {
				t.Fatalf("%s: SgemmIndirect unavailable", isa)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %dx%dx%d: element %d is %v, Sgemm gives %v", isa, s.m, s.n, s.k, i, got[i], want[i])
				}
			}
		}
	}
}
