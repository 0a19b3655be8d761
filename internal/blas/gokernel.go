package blas

// goTile is the pure-Go tile: 4 rows by 4 columns held in scalar accumulators.
var goTile = tile{mr: 4, nr: 4, rowA: goKernRow, colA: goKernCol}

var goEngine = &engine{pick: func(m, n, k int) *tile { return &goTile }}

var goBackend = &backend{name: "go", gemm: goEngine.gemm, serial: goEngine.serialGemm}

func goKernRow(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	goKern(k, goSlice(a, 3*lda+k), lda, 1, goSlice(b, (k-1)*ldb+4), ldb, goSlice(c, 3*ldc+4), ldc, alpha, beta)
}

func goKernCol(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	goKern(k, goSlice(a, (k-1)*lda+4), 1, lda, goSlice(b, (k-1)*ldb+4), ldb, goSlice(c, 3*ldc+4), ldc, alpha, beta)
}

// goKern computes a 4×4 tile with A(i,p) = a[i*rs+p*cs].
func goKern(k int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		bp := b[p*ldb : p*ldb+4 : p*ldb+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		o := p * cs
		a0 := a[o]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a[o+rs]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := a[o+2*rs]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := a[o+3*rs]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	store4(c[0:4:4], c00, c01, c02, c03, alpha, beta)
	store4(c[ldc:ldc+4:ldc+4], c10, c11, c12, c13, alpha, beta)
	store4(c[2*ldc:2*ldc+4:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	store4(c[3*ldc:3*ldc+4:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

func store4(c []float32, x0, x1, x2, x3, alpha, beta float32) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*x0, alpha*x1, alpha*x2, alpha*x3
		return
	}
	c[0] = alpha*x0 + beta*c[0]
	c[1] = alpha*x1 + beta*c[1]
	c[2] = alpha*x2 + beta*c[2]
	c[3] = alpha*x3 + beta*c[3]
}
