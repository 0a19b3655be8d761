package blas

// SgemmIndirect computes C = A·B, with A row-major m×k (row stride lda), C row-major m×n
// (row stride ldc) and the k×n matrix B given by rows that can lie anywhere in b: row p is
// b[off[p] : off[p]+n]. It is the product of an indirect convolution, where B's rows are
// windows of a padded image rather than the rows of an im2col matrix, so that matrix is
// never written. It runs on the calling goroutine.
//
// It reports false, writing nothing, when the backend in use has no indirect tiles (only
// "asm" has them); the caller then builds B densely and calls Sgemm. Every element of C
// is the same sum in the same order as Sgemm(false, false, ...) computes on the dense B
// (the same tile and the same blocking of k), so the two agree bit for bit.
func SgemmIndirect(m, n, k int, a []float32, lda int, b []float32, off []int32, c []float32, ldc int) bool {
	if m <= 0 || n <= 0 || k <= 0 || indirectPick == nil || !active().indirect {
		return false
	}
	t := indirectPick(m, n, k)
	if t.indirect == nil {
		return false
	}
	_ = a[(m-1)*lda+k-1]
	_ = c[(m-1)*ldc+n-1]
	_ = off[k-1]
	for _, o := range off[:k] {
		if o < 0 || int(o)+n > len(b) {
			panic("blas: SgemmIndirect: a row of B lies outside b")
		}
	}
	ws := wsPool.Get().(*workspace)
	serialIndirect(t, ws, m, n, k, a, lda, b, off, c, ldc)
	wsPool.Put(ws)
	return true
}

// indirectPick chooses the tile of an indirect product (the asm backend's pickTile, so
// that the tile, and with it the order of the sums, is Sgemm's); nil without asm.
var indirectPick func(m, n, k int) *tile

// serialIndirect is serial for SgemmIndirect (alpha 1, beta 0): full tiles run the
// indirect kernel on b in place; a partial last strip of columns, or of rows, is first
// copied densely into a strip of kc×nr and goes through the ordinary kernels.
func serialIndirect(t *tile, ws *workspace, m, n, k int, a []float32, lda int, b []float32, off []int32, c []float32, ldc int) {
	mr, nr := t.mr, t.nr
	kc0 := kcFor(k)
	nc0 := ncFor(n, kc0, nr)
	ws.tile = grow(ws.tile, mr*nr)
	ws.aedge = grow(ws.aedge, mr*kc0)
	ws.bpack = grow(ws.bpack, kc0*nr)
	for jc := 0; jc < n; jc += nc0 {
		nc := min(nc0, n-jc)
		strips := ceilDiv(nc, nr)
		for pc := 0; pc < k; pc += kc0 {
			kc := min(kc0, k-pc)
			var beta float32
			if pc > 0 {
				beta = 1
			}
			rows := off[pc : pc+kc]
			for s := 0; s < strips; s++ {
				j := jc + s*nr
				nrr := min(nr, n-j)
				packed := false // the strip copied densely into ws.bpack
				for ir := 0; ir < m; ir += mr {
					mrr := min(mr, m-ir)
					if mrr == mr && nrr == nr {
						t.indirect(kc, &a[ir*lda+pc], lda, &b[j], &rows[0], &c[ir*ldc+j], ldc, 1, beta)
						continue
					}
					if !packed {
						packIndirect(ws.bpack, b, rows, j, nrr, nr)
						packed = true
					}
					ap, alda, kern := &a[ir*lda+pc], lda, t.rowA
					if mrr < mr {
						packAEdge(ws.aedge, false, a, lda, ir, mrr, pc, kc, mr)
						ap, alda, kern = &ws.aedge[0], mr, t.colA
					}
					kern(kc, ap, alda, &ws.bpack[0], nr, &ws.tile[0], nr, 1, 0)
					mergeTile(ws.tile, nr, mrr, nrr, 1, beta, c[ir*ldc+j:], ldc)
				}
			}
		}
	}
}

// packIndirect copies columns j..j+w of the rows of B at the given offsets into dst as a
// dense kc×nr strip, zero past column w.
func packIndirect(dst, b []float32, rows []int32, j, w, nr int) {
	for p, o := range rows {
		row := dst[p*nr : p*nr+nr]
		copy(row, b[int(o)+j:int(o)+j+w])
		clear(row[w:])
	}
}
