package ops

// Batched convolutions: small maps with many channels.
//
// Image by image (cpu_conv.go), a convolution whose output maps have few positions (the
// last stages of a ResNet50 on 32×32 or 96×96 images: 1×1 to 6×6 maps of 256 to 2048
// channels) multiplies the whole kernel (up to 512·4608 floats, 9 MiB) by a matrix a few
// columns wide once per image: the GEMM degenerates into matrix-vector products that
// stream the kernel from memory N times, and the kernel gradient is a sum of N outer
// products, each a full-size partial sum. Below batchedMaxP output positions the
// convolutions therefore work on blocks of images instead: the im2col matrices of a
// block's images sit side by side as the columns of one matrix [K, nb·P], one GEMM per
// block multiplies them with the kernel, and the result is scattered into the NCHW
// output; the kernel gradient is one GEMM per block whose depth is nb·P, accumulated over
// the blocks in block order. The block size depends on the shape only, and each GEMM is
// cut into pieces of fixed rows that the goroutines share out, so the results do not
// depend on the number of goroutines.

// batchedMaxP: convolutions with fewer output positions per image than this (or, for
// the gradients of stride-1 convolutions, fewer input positions) run batched. Measured
// with BenchmarkConvSmallMaps (ResNet50 v2's layers, batch 16, CPU time of forward +
// backward, image by image over batched): 3.5× at 1×1 maps, 2.7-2.8× at 2×2, but
// 0.82-0.95× for 3×3 kernels on 3×3 to 12×12 maps, where the per-image GEMM is already
// wide enough and the block's column matrix no longer stays in cache. ResNet20's maps
// (8×8 and larger) stay image by image. A variable so that benchmarks can run both
// paths on one shape.
var batchedMaxP = 8

// batchCols is the target width of a block's column matrix (128 measured better than
// 1024 on 4×4 to 12×12 maps and the same on smaller ones).
const batchCols = 128

// blockImages is the number of images per block for maps of p positions.
func blockImages(n, p int) int { return min(n, max(1, batchCols/p)) }

// gemmRowPiece is the row granularity of gemmRows' pieces: a multiple of the row count of
// every asm tile (16, 12, 8, 6), so a piece boundary never splits a tile differently from
// an undivided call.
const gemmRowPiece = 48

// gemmRows computes C = op(A)·op(B) + beta·C in pieces of whole multiples of
// gemmRowPiece rows of C, fixed by the shape, which the goroutines share out (each piece
// a single-threaded gemmSerial).
func gemmRows(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	piece := max(gemmRowPiece, (m/8+gemmRowPiece-1)/gemmRowPiece*gemmRowPiece)
	pieces := (m + piece - 1) / piece
	parDyn(pieces, func(next func() (int, bool)) {
		for {
			p, ok := next()
			if !ok {
				return
			}
			lo := p * piece
			h := min(piece, m-lo)
			ao := lo * lda
			if transA {
				ao = lo
			}
			gemmSerial(transA, transB, h, n, k, 1, a[ao:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		}
	})
}

// convBatched is convImages for small output maps (see the top of this file).
func convBatched(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*P
	nb := blockImages(g.N, P)
	col := scratch.get(K * nb * P)
	defer scratch.put(col)
	out := scratch.get(g.O * nb * P)
	defer scratch.put(out)
	for n0 := 0; n0 < g.N; n0 += nb {
		m := min(nb, g.N-n0)
		ld := m * P
		parFor(m, 1, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				im2colLD(g, x[(n0+j)*xs:(n0+j+1)*xs], col[j*P:], ld)
			}
		})
		gemmRows(false, false, g.O, ld, K, w, K, col, ld, 0, out, ld)
		parFor(m*g.O, 16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				j, o := i/g.O, i%g.O
				convOutput(y[(n0+j)*ys+o*P:(n0+j)*ys+(o+1)*P], out[o*ld+j*P:o*ld+(j+1)*P], o, bias, scale, shift, relu)
			}
		})
	}
}

// gatherBlock copies images n0..n0+m-1 of the [N, R, P] tensor t into the [R, m·P] matrix
// b: image j's row r goes to columns j·P.. of row r.
func gatherBlock(t []float32, n0, m, R, P int, b []float32) {
	ld := m * P
	parFor(m*R, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j, r := i/R, i%R
			copy(b[r*ld+j*P:r*ld+(j+1)*P], t[((n0+j)*R+r)*P:((n0+j)*R+r+1)*P])
		}
	})
}

// scatterBlock is the inverse of gatherBlock: the [R, m·P] matrix b into images
// n0..n0+m-1 of t.
func scatterBlock(b []float32, n0, m, R, P int, t []float32) {
	ld := m * P
	parFor(m*R, 64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j, r := i/R, i%R
			copy(t[((n0+j)*R+r)*P:((n0+j)*R+r+1)*P], b[r*ld+j*P:r*ld+(j+1)*P])
		}
	})
}

// convBackwardDataBatched is ConvBackwardData for small output maps, whatever the stride:
// per block, dcol [K, m·P] = wᵀ·dy (w read transposed in place), then col2im image by
// image from its columns. ConvBackward uses it with convBackwardFilterBatched for small
// maps of stride-1 convolutions too: unlike the transposed convolution of larger maps it
// needs no flipped copy of the kernel (whose strided copy cost as much as the GEMMs on
// ResNet50 v2's 1×1 and 2×2 maps of 512 channels).
func convBackwardDataBatched(g *ConvGeom, w, dy, dx []float32) {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	xs := g.C * g.H * g.W
	nb := blockImages(g.N, P)
	dyb := scratch.get(g.O * nb * P)
	defer scratch.put(dyb)
	dcol := scratch.get(K * nb * P)
	defer scratch.put(dcol)
	for n0 := 0; n0 < g.N; n0 += nb {
		m := min(nb, g.N-n0)
		ld := m * P
		gatherBlock(dy, n0, m, g.O, P, dyb)
		gemmRows(true, false, K, ld, g.O, w, K, dyb, ld, 0, dcol, ld)
		parFor(m, 1, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				col2imLD(g, dcol[j*P:], dx[(n0+j)*xs:(n0+j+1)*xs], ld)
			}
		})
	}
}

// convBackwardFilterBatched is ConvBackwardFilter for small output maps: per block,
// dw [O, K] += dy_block [O, m·P] · col_blockᵀ, summed over the blocks in order.
func convBackwardFilterBatched(g *ConvGeom, x, dy, dw []float32) {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	xs := g.C * g.H * g.W
	nb := blockImages(g.N, P)
	dyb := scratch.get(g.O * nb * P)
	defer scratch.put(dyb)
	col := scratch.get(K * nb * P)
	defer scratch.put(col)
	var beta float32
	for n0 := 0; n0 < g.N; n0 += nb {
		m := min(nb, g.N-n0)
		ld := m * P
		gatherBlock(dy, n0, m, g.O, P, dyb)
		parFor(m, 1, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				im2colLD(g, x[(n0+j)*xs:(n0+j+1)*xs], col[j*P:], ld)
			}
		})
		gemmRows(false, true, g.O, K, ld, dyb, ld, col, ld, beta, dw, K)
		beta = 1
	}
}

// imageBlocks reports whether convImages should run g by convImageBlocks: maps whose
// positions leave a partial 16-wide tile, any of them for a pointwise convolution, those
// of fewer than 16 positions for a larger kernel. BenchmarkConvImageBlocks (ResNet50 v2's
// layers at 96×96, forward, batch 16 and 32, against one image at a time, same bits):
// 3×3 kernels on 3×3 maps of 512 channels 1.68-1.95× faster (the per-image product is 9
// columns wide and streams the 9.4 MB kernel once per image), pointwise on 3×3 maps
// 1.32-2.01×, on 6×6 maps 1.32-1.46×; 3×3 kernels on 4×4 maps of 128 channels (16
// positions, a whole tile, left alone) 1-3% slower.
func (g *ConvGeom) imageBlocks() bool {
	p := g.OH * g.OW
	if !imageBlocksOn || p%16 == 0 {
		return false
	}
	return g.isPointwise() || p < 16
}

// imageBlocksOn lets tests and benchmarks run the other paths on shapes convImageBlocks
// takes.
var imageBlocksOn = true

// imageBlockSize is the number of images convImageBlocks puts side by side for maps of p
// positions: enough for whole 16-wide tiles (16/gcd(p, 16)), but no more than leave
// minBlocks blocks. Like the other block sizes it depends on the shape only.
func imageBlockSize(n, p int) int {
	a, b := p, 16
	for b != 0 {
		a, b = b, a%b
	}
	return max(1, min(16/a, n/minBlocks))
}

// minBlocks is the fewest blocks of images the per-goroutine block paths (Winograd's
// small maps, convImageBlocks) cut a batch into, where the batch allows: a batch of 16
// gives two blocks to each of two goroutines.
const minBlocks = 4

// convImageBlocks is convImages for the small maps imageBlocks picks (ResNet50 v2's 6×6
// and 3×3 maps at 96×96): each goroutine copies a block of images side by
// side into [K, nb·P] (their im2col matrices, which for a pointwise convolution are the
// images themselves; padded to whole tiles), multiplies it by the kernel with one
// single-threaded GEMM, and writes the columns back to the images with the bias and
// batch norm applied. Each output is the sum of the im2col path, term for term.
func convImageBlocks(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	nb := imageBlockSize(g.N, P)
	ld := wholeTiles(nb * P)
	xs, ys := g.C*g.H*g.W, g.O*P
	parDyn((g.N+nb-1)/nb, func(next func() (int, bool)) {
		in := scratch.get(K * ld)
		defer scratch.put(in)
		out := scratch.get(g.O * ld)
		defer scratch.put(out)
		for {
			blk, ok := next()
			if !ok {
				return
			}
			n0, n1 := blk*nb, min(g.N, (blk+1)*nb)
			for n := n0; n < n1; n++ {
				im2colLD(g, x[n*xs:(n+1)*xs], in[(n-n0)*P:], ld)
			}
			gemmSerial(false, false, g.O, ld, K, 1, w, K, in, ld, 0, out, ld)
			for o := 0; o < g.O; o++ {
				for n := n0; n < n1; n++ {
					convOutput(y[n*ys+o*P:n*ys+(o+1)*P], out[o*ld+(n-n0)*P:o*ld+(n-n0+1)*P], o, bias, scale, shift, relu)
				}
			}
		}
	})
}
