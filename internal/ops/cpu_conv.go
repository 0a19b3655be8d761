package ops

import (
	"sync"
	"sync/atomic"

	"github.com/selfsup/selfsup/internal/blas"
)

// Convolutions on the CPU work image by image: each image's im2col matrix (C·KH·KW rows
// of OH·OW values, at most a few hundred KiB for a ResNet on CIFAR) is built in a buffer
// of the goroutine that handles the image and multiplied by the kernel at once, while it
// is still in that core's cache, by a single-threaded GEMM that writes straight into the
// image's NCHW output. The images are shared out among runtime.GOMAXPROCS goroutines.
// This keeps the memory traffic of im2col in cache (one batch-wide im2col matrix is 9× the
// activation and streams through DRAM twice) and needs no gather or scatter between the
// [O, N·P] product and the [N, O, P] layout.
//
// The gradient of the input of a stride-1 convolution is itself a stride-1 convolution
// (of dy with the kernel transposed over channels and flipped, with the complementary
// padding), so it reuses the forward path instead of accumulating im2col's adjoint
// (col2im), and ConvBackward uses that im2col matrix of dy for the kernel gradient too;
// strided convolutions use col2im per image. The gradient of the kernel is accumulated
// per fixed group of images in a fixed order, so it does not depend on the number of
// goroutines or on which goroutine ran which image.
//
// The GEMMs per image are small (m = 16..576, n = 16..1024, k = 27..1024 for ResNet20 on
// CIFAR); im2col rows that would be 4 KiB apart are padded (colStride) so a tile's rows
// do not share an L1 set.

// serialMACs bounds the multiply-adds of one blas.Sgemm call issued from a worker
// goroutine when the backend has no serial entry (OpenBLAS): blas splits larger calls
// over its threads (blas' minSplit), which would compete with the workers that already
// use every core.
const serialMACs = 1<<21 - 1

// gemmSerial is blas.Sgemm on the calling goroutine: blas.SgemmSerial, or where the
// backend has none, blas.Sgemm cut into calls of at most serialMACs multiply-adds along
// the longer of m and n (serialPiece).
func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if blas.SgemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	if m*n*k <= serialMACs {
		blas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if n >= m {
		piece := serialPiece(n, m*k)
		for j := 0; j < n; j += piece {
			w := min(piece, n-j)
			bo := j
			if transB {
				bo = j * ldb
			}
			blas.Sgemm(transA, transB, m, w, k, alpha, a, lda, b[bo:], ldb, beta, c[j:], ldc)
		}
		return
	}
	piece := serialPiece(m, n*k)
	for i := 0; i < m; i += piece {
		h := min(piece, m-i)
		ao := i * lda
		if transA {
			ao = i
		}
		blas.Sgemm(transA, transB, h, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i*ldc:], ldc)
	}
}

// serialPiece splits extent into the fewest nearly equal pieces of at most serialMACs/per
// each, in whole units of 48 rows or columns where that fits (a multiple of every asm
// tile's rows, 16, 12, 8 and 6, and of 16-column strips), else of 16 or of 8, and
// returns the piece length. Pieces that end inside a tile would make the GEMM pack a
// partial row block of A for every piece.
func serialPiece(extent, per int) int {
	limit := max(1, serialMACs/per)
	if extent <= limit {
		return extent
	}
	for _, unit := range []int{48, 16, 8} {
		if lim := limit / unit * unit; lim > 0 {
			parts := (extent + lim - 1) / lim
			return ((extent+parts-1)/parts + unit - 1) / unit * unit
		}
	}
	parts := (extent + limit - 1) / limit
	return (extent + parts - 1) / parts
}

// owRange returns the output columns [lo, hi) whose input column ow*SW-PadL+kj lies in [0, W).
func (g *ConvGeom) owRange(kj int) (lo, hi int) { return validRange(kj-g.PadL, g.SW, g.W, g.OW) }

// ohRange returns the output rows [lo, hi) whose input row oh*SH-PadT+ki lies in [0, H).
func (g *ConvGeom) ohRange(ki int) (lo, hi int) { return validRange(ki-g.PadT, g.SH, g.H, g.OH) }

// validRange returns the outputs [lo, hi) of out whose input o*stride+off lies in [0, in).
func validRange(off, stride, in, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := in - 1 - off; last >= 0 {
		hi = last/stride + 1
	}
	hi = min(hi, out)
	return lo, max(hi, lo)
}

// colStride returns the row stride of an im2col matrix with P columns: P, plus 16 when P
// is a multiple of 1024 (4 KiB rows would put the rows a GEMM tile reads together in one
// L1 cache set).
func colStride(P int) int {
	if P%1024 == 0 {
		return P + 16
	}
	return P
}

// im2colImage writes one image x [C,H,W] as col [C·KH·KW, OH·OW] with row stride
// colStride(OH·OW): row (c,ki,kj) holds, for each output position, the input value the
// kernel tap (c,ki,kj) sees (0 in the padding).
func im2colImage(g *ConvGeom, x, col []float32) { im2colLD(g, x, col, colStride(g.OH*g.OW)) }

// im2colLD is im2colImage with row stride ld (at least OH·OW): the batched convolutions
// write each image into its own columns of a matrix of several images.
func im2colLD(g *ConvGeom, x, col []float32, ld int) {
	P := g.OH * g.OW
	hw := g.H * g.W
	kk := g.KH * g.KW
	contiguous := g.SW == 1 && g.SH == 1 && g.OW == g.W
	for ki := 0; ki < g.KH; ki++ {
		ohLo, ohHi := g.ohRange(ki)
		for kj := 0; kj < g.KW; kj++ {
			owLo, owHi := g.owRange(kj)
			dOff := kj - g.PadL
			for c := 0; c < g.C; c++ {
				r := c*kk + ki*g.KW + kj
				dst := col[r*ld : r*ld+P]
				if ohLo >= ohHi || owLo >= owHi {
					clear(dst)
					continue
				}
				plane := x[c*hw : (c+1)*hw]
				clear(dst[:ohLo*g.OW])
				clear(dst[ohHi*g.OW:])
				lo, hi := ohLo*g.OW, ohHi*g.OW
				if contiguous {
					// Output row oh reads input row oh+ki-PadT shifted by dOff: the rows
					// [ohLo, ohHi) are one contiguous run of the plane, shifted by
					// d = (ki-PadT)·W + dOff. Copy it whole (clipped to the plane), then
					// zero the columns that fall in the left or right padding.
					d := (ki-g.PadT)*g.W + dOff
					slo, shi := max(lo+d, 0), min(hi+d, hw)
					copy(dst[slo-d:shi-d], plane[slo:shi])
					zeroColumns(dst[lo:hi], g.OW, owLo, owHi)
					continue
				}
				zeroColumns(dst[lo:hi], g.OW, owLo, owHi)
				n := owHi - owLo
				for oh := ohLo; oh < ohHi; oh++ {
					ih := oh*g.SH - g.PadT + ki
					row := dst[oh*g.OW+owLo : oh*g.OW+owHi]
					src := plane[ih*g.W+owLo*g.SW+dOff : ih*g.W+(owHi-1)*g.SW+dOff+1]
					switch g.SW {
					case 1:
						copy(row, src)
					case 2:
						vecEvens(src[:2*n-1], row)
					default:
						for i := range row {
							row[i] = src[i*g.SW]
						}
					}
				}
			}
		}
	}
}

// zeroColumns zeroes columns [0, lo) and [hi, w) of the rows of width w in m, one column
// at a time (a few elements per row: a strided store loop beats clearing each row).
func zeroColumns(m []float32, w, lo, hi int) {
	if len(m) == 0 {
		return
	}
	for j := 0; j < lo; j++ {
		for i := j; i < len(m); i += w {
			m[i] = 0
		}
	}
	for j := hi; j < w; j++ {
		for i := j; i < len(m); i += w {
			m[i] = 0
		}
	}
}

// col2imImage sets one image dx [C,H,W] to the sum of the entries of dcol (laid out as by
// im2colImage) that each input position contributed to.
func col2imImage(g *ConvGeom, dcol, dx []float32) { col2imLD(g, dcol, dx, g.OH*g.OW) }

// col2imLD is col2imImage for a dcol of row stride ld (see im2colLD).
func col2imLD(g *ConvGeom, dcol, dx []float32, ld int) {
	P := g.OH * g.OW
	hw := g.H * g.W
	clear(dx[:g.C*hw])
	r := 0
	for c := 0; c < g.C; c++ {
		plane := dx[c*hw : (c+1)*hw]
		for ki := 0; ki < g.KH; ki++ {
			ohLo, ohHi := g.ohRange(ki)
			for kj := 0; kj < g.KW; kj++ {
				src := dcol[r*ld : r*ld+P]
				r++
				owLo, owHi := g.owRange(kj)
				off := kj - g.PadL
				for oh := ohLo; oh < ohHi; oh++ {
					ih := oh*g.SH - g.PadT + ki
					s := src[oh*g.OW+owLo : oh*g.OW+owHi]
					d := plane[ih*g.W : (ih+1)*g.W]
					if g.SW == 1 {
						dd := d[owLo+off : owHi+off]
						dd = dd[:len(s)]
						for i, v := range s {
							dd[i] += v
						}
						continue
					}
					for i, v := range s {
						d[(owLo+i)*g.SW+off] += v
					}
				}
			}
		}
	}
}

func (g *ConvGeom) isPointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadT == 0 && g.PadL == 0 && g.PadB == 0 && g.PadR == 0
}

// convImages computes y = conv(x, w) (+ bias) image by image (see the top of this file),
// then y·scale[o] + shift[o] (and a ReLU when relu is set) when scale is non-nil.
func convImages(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) {
	if g.OH*g.OW < batchedMaxP {
		convBatched(g, x, w, bias, scale, shift, relu, y)
		return
	}
	if g.winogradGeom() {
		convWinograd(g, x, w, bias, scale, shift, relu, y)
		return
	}
	if g.imageBlocks() {
		convImageBlocks(g, x, w, bias, scale, shift, relu, y)
		return
	}
	if g.indirectGeom() && convIndirect(g, x, w, bias, scale, shift, relu, y) {
		return
	}
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*P
	direct := g.isPointwise()
	ld := P
	if !direct {
		ld = colStride(P)
	}
	parDyn(g.N, func(next func() (int, bool)) {
		var col []float32
		if !direct {
			col = scratch.get(K * ld)
			defer scratch.put(col)
		}
		for {
			n, ok := next()
			if !ok {
				return
			}
			c := x[n*xs : (n+1)*xs]
			if !direct {
				im2colImage(g, c, col)
				c = col
			}
			out := y[n*ys : (n+1)*ys]
			gemmSerial(false, false, g.O, P, K, 1, w, K, c, ld, 0, out, P)
			for o := 0; o < g.O; o++ {
				row := out[o*P : (o+1)*P]
				convOutput(row, row, o, bias, scale, shift, relu)
			}
		}
	})
}

// convOutput writes channel o's product src into dst (the same slice or another) with
// the bias added, then scaled and shifted (and a ReLU) when scale is set: the end of
// every forward convolution path.
func convOutput(dst, src []float32, o int, bias, scale, shift []float32, relu bool) {
	switch {
	case bias != nil:
		// 1·v + b rounds once: exactly v + b.
		vecAffine(src, dst, 1, bias[o], false)
		if scale != nil {
			vecAffine(dst, dst, scale[o], shift[o], relu)
		}
	case scale != nil:
		vecAffine(src, dst, scale[o], shift[o], relu)
	case len(dst) > 0 && &dst[0] != &src[0]:
		copy(dst, src)
	}
}

// wholeTiles rounds n up to whole 16-wide GEMM tiles.
func wholeTiles(n int) int { return (n + 15) / 16 * 16 }

// indirectGeom reports whether convImages should run g by convIndirect: a stride-1
// convolution with a kernel larger than 1×1 whose padded rows are at most a third wider
// than its output rows (the extra columns are computed and dropped): 6×6 maps and wider
// for a 3×3 kernel. Since Winograd took the 3×3 convolutions of even output sizes, that
// leaves larger kernels and odd sizes. Measured with
// BenchmarkConvIndirect (batch 128, forward), the indirect product against im2col: 4%
// faster on 16 channels of 32×32, the same on 32 of 16×16, 12% faster on 64 of 8×8, 34%
// on 64 of 24×24, 25% on 128 of 12×12 and 30% on 64 of 6×6 (whose 6·8 columns fill a
// 48-wide tile where the 36 of im2col did not), but twice as slow on 128 of 4×4 (half as
// many columns again, and a partial tile).
//
// (Pointwise convolutions over maps that leave a partial tile ran here too, each image
// laid out as one padded row, until blocks of images side by side beat them:
// convImageBlocks.)
//
// It needs 64 input channels or more: with every stride-1 convolution indirect,
// ResNet56's inference ran about 10% slower (its 16- and 32-channel layers) while
// ResNet50 v2's ran 10-28% faster; from 64 channels on, ResNet20 and ResNet56 tie with
// im2col.
func (g *ConvGeom) indirectGeom() bool {
	if !indirectOn || g.C < indirectMinC || g.SH != 1 || g.SW != 1 {
		return false
	}
	wp := g.W + g.PadL + g.PadR
	return g.KH*g.KW > 1 && 3*wp <= 4*g.OW
}

// indirectOn lets tests and benchmarks run the im2col path on shapes convIndirect takes.
var indirectOn = true

// widenOn lets tests run ConvBackward without the whole-tile column matrices.
var widenOn = true

// indirectMinC is the fewest input channels convIndirect takes (see indirectGeom).
var indirectMinC = 64

// convIndirect is convImages without the im2col matrix, for stride-1 convolutions: each
// image is copied once into a zero-padded buffer of C planes of Hp×Wp, and the GEMM reads
// the row of tap (c, ki, kj) straight from it, at offset c·Hp·Wp + ki·Wp + kj
// (blas.SgemmIndirect). The product then has Wp columns per output row, of which the
// first OW are the outputs (the other KW-1 straddle the padding and are dropped when the
// rows are copied out, with the bias and batch norm applied on the way). The sums are
// those of the im2col path, term for term, so the results are the same bits. It reports
// false, having written nothing, when the BLAS backend has no indirect product.
func convIndirect(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) bool {
	hp, wp := g.H+g.PadT+g.PadB, g.W+g.PadL+g.PadR
	pp := hp * wp
	kk := g.KH * g.KW
	K := g.C * kk
	np := g.OH * wp // the product's columns: whole padded rows
	off := tapOffsets(g.C, g.KH, g.KW, wp, pp)
	xs, ys, P := g.C*g.H*g.W, g.O*g.OH*g.OW, g.OH*g.OW
	padded := g.C*pp + g.KW - 1 // the last row's dropped columns read KW-1 past the planes
	var ok atomic.Bool
	ok.Store(true)
	parDyn(g.N, func(next func() (int, bool)) {
		xp := scratch.get(padded)
		defer scratch.put(xp)
		xp = xp[:padded]
		clear(xp) // the padding stays zero; each image overwrites the interior
		prod := scratch.get(g.O * np)
		defer scratch.put(prod)
		for {
			n, more := next()
			if !more || !ok.Load() {
				return
			}
			img := x[n*xs : (n+1)*xs]
			for c := 0; c < g.C; c++ {
				padCopy(img[c*g.H*g.W:(c+1)*g.H*g.W], g.W, g.H, xp[c*pp+g.PadT*wp+g.PadL:], wp)
			}
			if !blas.SgemmIndirect(g.O, np, K, w, K, xp, off, prod, np) {
				ok.Store(false)
				return
			}
			out := y[n*ys : (n+1)*ys]
			for o := 0; o < g.O; o++ {
				for oh := 0; oh < g.OH; oh++ {
					src := prod[o*np+oh*wp : o*np+oh*wp+g.OW]
					convOutput(out[o*P+oh*g.OW:o*P+(oh+1)*g.OW], src, o, bias, scale, shift, relu)
				}
			}
		}
	})
	return ok.Load()
}

// tapKey identifies a table of tapOffsets.
type tapKey struct{ c, kh, kw, wp, pp int }

var (
	tapMu     sync.Mutex
	tapTables = map[tapKey][]int32{}
)

// tapOffsets returns, for the rows (c, ki, kj) of a convolution's im2col matrix in order,
// the offset c·pp + ki·wp + kj of that row's first element in a padded image of planes of
// pp values and rows of wp. The tables are kept per shape (a network has a few), so a
// step does not allocate them again.
func tapOffsets(c, kh, kw, wp, pp int) []int32 {
	key := tapKey{c, kh, kw, wp, pp}
	tapMu.Lock()
	defer tapMu.Unlock()
	if t, ok := tapTables[key]; ok {
		return t
	}
	t := make([]int32, 0, c*kh*kw)
	for ch := 0; ch < c; ch++ {
		for ki := 0; ki < kh; ki++ {
			for kj := 0; kj < kw; kj++ {
				t = append(t, int32(ch*pp+ki*wp+kj))
			}
		}
	}
	tapTables[key] = t
	return t
}

// ConvForward implements Kernels.
func (CPU) ConvForward(g *ConvGeom, x, w, bias, y []float32) error {
	convImages(g, x, w, bias, nil, nil, false, y)
	return nil
}

// ConvForwardAffine implements Kernels: the batch norm (and ReLU) run on each image's
// output while it is in cache.
func (CPU) ConvForwardAffine(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) error {
	convImages(g, x, w, bias, scale, shift, relu, y)
	return nil
}

// transposedGeom returns the geometry of the stride-1 convolution that computes dx from
// dy for the stride-1 convolution g, and whether there is one (every padding at most the
// kernel size less one).
func (g *ConvGeom) transposedGeom() (ConvGeom, bool) {
	if g.SH != 1 || g.SW != 1 {
		return ConvGeom{}, false
	}
	t := ConvGeom{N: g.N, C: g.O, H: g.OH, W: g.OW, O: g.C, KH: g.KH, KW: g.KW, SH: 1, SW: 1,
		PadT: g.KH - 1 - g.PadT, PadB: g.KH - 1 - g.PadB, PadL: g.KW - 1 - g.PadL, PadR: g.KW - 1 - g.PadR}
	if t.PadT < 0 || t.PadB < 0 || t.PadL < 0 || t.PadR < 0 {
		return ConvGeom{}, false
	}
	t.OH = t.H + t.PadT + t.PadB - t.KH + 1
	t.OW = t.W + t.PadL + t.PadR - t.KW + 1
	return t, t.OH == g.H && t.OW == g.W
}

// ConvBackwardData implements Kernels. For stride 1 (and paddings below the kernel size)
// dx is the convolution of dy with wt[c,o,ki,kj] = w[o,c,KH-1-ki,KW-1-kj]; otherwise each
// image's dcol = wᵀ·dy is folded back with col2im.
func (CPU) ConvBackwardData(g *ConvGeom, w, dy, dx []float32) error {
	if g.OH*g.OW < batchedMaxP {
		convBackwardDataBatched(g, w, dy, dx)
		return nil
	}
	if t, ok := g.transposedGeom(); ok {
		wt := scratch.get(len(w))
		defer scratch.put(wt)
		flipKernel(g, w, wt)
		convImages(&t, dy, wt, nil, nil, nil, false, dx)
		return nil
	}
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*P
	parDyn(g.N, func(next func() (int, bool)) {
		dcol := scratch.get(K * P)
		defer scratch.put(dcol)
		for {
			n, ok := next()
			if !ok {
				return
			}
			gemmSerial(true, false, K, P, g.O, 1, w, K, dy[n*ys:(n+1)*ys], P, 0, dcol, P)
			col2imImage(g, dcol, dx[n*xs:(n+1)*xs])
		}
	})
	return nil
}

// filterGroups is the number of groups of images whose kernel gradients are summed into
// one partial sum each before the partial sums are added up in order; it fixes the order
// of summation. It depends on the shape only: at most 16, and fewer when the partial sums
// (size floats each) would take more than partsBudget floats together, but at least 2
// so that two goroutines have work (ResNet50's 512-channel 3×3 layers: 2 groups, 18 MiB,
// instead of 16, 151 MiB; the scratch pool rounds buffers up to a power of two, and
// keeps them, so the budget bounds the peak memory of every training step).
func filterGroups(n, size int) int { return min(n, 16, max(2, partsBudget/max(size, 1))) }

// partsBudget bounds the floats of the kernel-gradient partial sums of one convolution
// (16 MiB; a variable so that tests can make it bind on small shapes). At 64 MiB the
// partial sums took 124 MB of a ResNet50 v2 96×96 batch-32 training step's scratch.
var partsBudget = 1 << 22

// ConvBackwardFilter implements Kernels: per group of images, dwᵀ [K,O] = Σ colₙ·dyₙᵀ
// (dyₙ transposed into a [P,O] buffer first, so the GEMM reads it in place), then dw is
// the sum of the groups' partial sums, transposed.
func (CPU) ConvBackwardFilter(g *ConvGeom, x, dy, dw []float32) error {
	if g.OH*g.OW < batchedMaxP {
		convBackwardFilterBatched(g, x, dy, dw)
		return nil
	}
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	xs, ys := g.C*g.H*g.W, g.O*P
	direct := g.isPointwise()
	ld := P
	if !direct {
		ld = colStride(P)
	}
	groups := filterGroups(g.N, K*g.O)
	parts := scratch.get(groups * K * g.O)
	defer scratch.put(parts)
	parDyn(groups, func(next func() (int, bool)) {
		var col []float32
		if !direct {
			col = scratch.get(K * ld)
			defer scratch.put(col)
		}
		dyt := scratch.get(P * g.O)
		defer scratch.put(dyt)
		for {
			gi, ok := next()
			if !ok {
				return
			}
			part := parts[gi*K*g.O : (gi+1)*K*g.O]
			lo, hi := gi*g.N/groups, (gi+1)*g.N/groups
			var beta float32
			for n := lo; n < hi; n++ {
				c := x[n*xs : (n+1)*xs]
				if !direct {
					im2colImage(g, c, col)
					c = col
				}
				transpose(g.O, P, dy[n*ys:(n+1)*ys], dyt)
				gemmSerial(false, false, K, g.O, P, 1, c, ld, dyt, g.O, beta, part, g.O)
				beta = 1
			}
		}
	})
	// dw[o,k] = Σ_groups part[k,o], in group order.
	sumGroups(parts, groups, K*g.O)
	transpose(K, g.O, parts[:K*g.O], dw)
	return nil
}

// sumGroups adds the partial sums parts[gi·size : (gi+1)·size] of groups 1..groups-1 to
// those of group 0 in group order (the sum a loop over the groups would take), in
// parallel over ranges of elements.
func sumGroups(parts []float32, groups, size int) {
	if groups <= 1 {
		return
	}
	parFor(size, 1<<14, func(lo, hi int) {
		dst := parts[lo:hi]
		for gi := 1; gi < groups; gi++ {
			vecAdd(dst, parts[gi*size+lo:gi*size+hi], dst, false)
		}
	})
}

// transpose writes the r×c matrix a (row-major) as its c×r transpose into t: 8×8 blocks
// in registers (AVX2) where available, then Go for the rest, four rows of a at a time
// (reading one column at a time would hit rows a page apart, which share cache sets).
func transpose(r, c int, a, t []float32) {
	a, t = a[:r*c], t[:r*c]
	r0, c0 := 0, 0
	if useAVX2 && r >= 8 && c >= 8 {
		transpose8AVX2(&a[0], c, &t[0], r, r/8, c/8)
		r0, c0 = r&^7, c&^7
	}
	// Columns [c0, c) of rows [0, r0), then every column of rows [r0, r).
	transposeGo(a, t, r, c, 0, r0, c0)
	transposeGo(a, t, r, c, r0, r, 0)
}

// transposeGo sets t[j*r+i] = a[i*c+j] for rows i in [i0, i1) and columns j in [j0, c).
func transposeGo(a, t []float32, r, c, i0, i1, j0 int) {
	i := i0
	for ; i+4 <= i1; i += 4 {
		r0, r1, r2, r3 := a[i*c+j0:(i+1)*c], a[(i+1)*c+j0:(i+2)*c], a[(i+2)*c+j0:(i+3)*c], a[(i+3)*c+j0:(i+4)*c]
		for j := range r0 {
			d := t[(j0+j)*r+i : (j0+j)*r+i+4]
			d[0], d[1], d[2], d[3] = r0[j], r1[j], r2[j], r3[j]
		}
	}
	for ; i < i1; i++ {
		for j, v := range a[i*c+j0 : (i+1)*c] {
			t[(j0+j)*r+i] = v
		}
	}
}

// ConvBackward implements Kernels. For a stride-1 convolution (see transposedGeom) each
// image's im2col matrix of dy (dcol, for the convolution that computes dx) also gives the
// kernel gradient: dw[o,c,ki,kj] = Σ_p x[c,p]·dcol[(o, KH-1-ki, KW-1-kj), p], so per
// group of images M = Σ dcolₙ·xₙᵀ (xₙ transposed first) and dw is M summed over the groups
// with the taps reversed, without a second im2col (of x). The bias gradient is summed from
// dy while it is in cache. Strided convolutions, those with fewer than 16 input channels
// (the product M = dcol·xᵀ would be a few columns wide, which the GEMM runs poorly) and
// those with maps small enough to run batched (cpu_conv_batched.go) run the three kernels
// one after another.
func (c CPU) ConvBackward(g *ConvGeom, x, w, dy, dx, dw, db []float32) error {
	t, ok := g.transposedGeom()
	if !ok || g.C < 16 || g.OH*g.OW < batchedMaxP {
		if err := c.ConvBackwardData(g, w, dy, dx); err != nil {
			return err
		}
		if err := c.ConvBackwardFilter(g, x, dy, dw); err != nil {
			return err
		}
		if db != nil {
			return c.ChannelSum(g.N, g.O, g.OH*g.OW, dy, db)
		}
		return nil
	}
	kk := g.KH * g.KW
	wt := scratch.get(len(w))
	defer scratch.put(wt)
	flipKernel(g, w, wt)
	P, HW := g.OH*g.OW, g.H*g.W
	TK := t.C * kk // rows of dcol: (o, ki', kj')
	direct := t.isPointwise()
	// dx by Winograd where the transposed convolution allows it (a pass of its own over
	// the images); the loop below then builds dy's column matrices for dw only.
	wino := t.winogradGeom()
	if wino {
		convWinograd(&t, dy, wt, nil, nil, nil, false, dx)
		if g.winogradGradGeom() {
			// dw by Winograd too: no column matrix at all.
			winogradKernelGrad(g, x, dy, dw, db)
			return nil
		}
	}
	// The images of a group go through in chunks of nb, fixed by the shape, whose column
	// matrices sit side by side: the kernel gradient is then one product of depth nb·HW
	// per chunk instead of nb products of depth HW, each of which read and wrote the
	// whole partial sum (TK×C floats: 9.4 MB for a 512-channel 3×3 layer on 3×3 maps,
	// for 9 positions of depth). dx's product is one per chunk too, over whole 16-wide
	// tiles of columns (no packed strips, no merged scratch tiles); the extra columns,
	// computed from whatever the rows' tails hold, are dropped when dx is copied out.
	nb := max(1, chunkCols/HW)
	cols := nb * HW
	ld := cols
	if widenOn {
		ld = wholeTiles(cols)
	}
	if !direct {
		ld = colStride(ld)
	}
	inPlace := direct && nb == 1 && ld == HW // dy is its own column matrix
	xs, ys := g.C*HW, g.O*P
	groups := filterGroups(g.N, TK*g.C)
	parts := scratch.get(groups * TK * g.C)
	defer scratch.put(parts)
	var bparts []float64
	if db != nil {
		bparts = scratch64.get(groups * g.O)
		defer scratch64.put(bparts)
	}
	parDyn(groups, func(next func() (int, bool)) {
		var dcol, dxw []float32
		if !inPlace {
			dcol = scratch.get(TK * ld)
			defer scratch.put(dcol)
		}
		if !wino && !inPlace {
			dxw = scratch.get(g.C * ld)
			defer scratch.put(dxw)
		}
		xt := scratch.get(cols * g.C)
		defer scratch.put(xt)
		for {
			gi, ok := next()
			if !ok {
				return
			}
			part := parts[gi*TK*g.C : (gi+1)*TK*g.C]
			var bp []float64
			if db != nil {
				bp = bparts[gi*g.O : (gi+1)*g.O]
				clear(bp)
			}
			var beta float32
			lo, hi := gi*g.N/groups, (gi+1)*g.N/groups
			for n0 := lo; n0 < hi; n0 += nb {
				m := min(nb, hi-n0)
				col := dcol
				for j := 0; j < m; j++ {
					d := dy[(n0+j)*ys : (n0+j+1)*ys]
					for o := range bp {
						s, _ := vecSums(d[o*P:(o+1)*P], 0)
						bp[o] += s
					}
					if inPlace {
						col = d
					} else {
						im2colLD(&t, d, dcol[j*HW:], ld) // for a pointwise t, a copy of d
					}
					transpose(g.C, HW, x[(n0+j)*xs:(n0+j+1)*xs], xt[j*HW*g.C:])
				}
				switch {
				case wino:
				case inPlace:
					gemmSerial(false, false, g.C, HW, TK, 1, wt, TK, col, ld, 0, dx[n0*xs:(n0+1)*xs], HW)
				default:
					w := m * HW
					if widenOn {
						w = wholeTiles(w)
					}
					gemmSerial(false, false, g.C, w, TK, 1, wt, TK, col, ld, 0, dxw, ld)
					for j := 0; j < m; j++ {
						for c := 0; c < g.C; c++ {
							copy(dx[(n0+j)*xs+c*HW:(n0+j)*xs+(c+1)*HW], dxw[c*ld+j*HW:c*ld+(j+1)*HW])
						}
					}
				}
				gemmSerial(false, false, TK, g.C, m*HW, 1, col, ld, xt, g.C, beta, part, g.C)
				beta = 1
			}
		}
	})
	// dw[o,c,tap] = Σ_groups M[(o, kk-1-tap), c], in group order.
	sumGroups(parts, groups, TK*g.C)
	unflipGradient(g, parts[:TK*g.C], dw)
	sumBiasGroups(bparts, groups, db)
	return nil
}

// sumBiasGroups sets db[o] to the sum over the groups, in group order, of the per-group
// bias-gradient sums bparts[gi·len(db) + o].
func sumBiasGroups(bparts []float64, groups int, db []float32) {
	for o := range db {
		var s float64
		for gi := 0; gi < groups; gi++ {
			s += bparts[gi*len(db)+o]
		}
		db[o] = float32(s)
	}
}

// chunkCols is the depth ConvBackward aims at for a chunk's kernel-gradient product: the
// images of maps smaller than this go through several at a time.
const chunkCols = 256

// unflipGradient sets dw[o,c,tap] = m[(o, KH·KW-1-tap), c]: the kernel gradient from the
// product M = dcol·xᵀ of ConvBackward.
func unflipGradient(g *ConvGeom, m, dw []float32) {
	kk := g.KH * g.KW
	parFor(g.O, 1, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for tap := 0; tap < kk; tap++ {
				src := m[(o*kk+kk-1-tap)*g.C : (o*kk+kk-tap)*g.C]
				d := dw[o*g.C*kk+tap:]
				for ch, v := range src {
					d[ch*kk] = v
				}
			}
		}
	})
}

// flipKernel sets wt[c,o,ki,kj] = w[o,c,KH-1-ki,KW-1-kj]: the kernel of the convolution
// that computes dx from dy for a stride-1 convolution. A 1×1 kernel is a plain transpose;
// larger ones are written in blocks of 8 input channels, so that the reads (w, row by row)
// and the 8 write streams (one per channel of wt) both run through memory in order.
func flipKernel(g *ConvGeom, w, wt []float32) {
	kk := g.KH * g.KW
	if kk == 1 {
		transpose(g.O, g.C, w[:g.O*g.C], wt)
		return
	}
	const block = 8
	parFor((g.C+block-1)/block, 4, func(lo, hi int) {
		for c0 := lo * block; c0 < min(hi*block, g.C); c0 += block {
			c1 := min(c0+block, g.C)
			for o := 0; o < g.O; o++ {
				for c := c0; c < c1; c++ {
					src := w[(o*g.C+c)*kk : (o*g.C+c+1)*kk]
					dst := wt[(c*g.O+o)*kk : (c*g.O+o+1)*kk]
					for i, v := range src {
						dst[kk-1-i] = v
					}
				}
			}
		}
	})
}
