package ops

// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1 convolutions (forward, in
// training and inference, and the transposed convolution that gives dx in ConvBackward
// and ConvBackwardData; the kernel gradient is in winograd_grad.go): each 2×2
// block of outputs (a tile) is computed from the 4×4 input patch around it as
// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, so the 36 multiplications of a tile per channel pair
// become 16, done as 16 matrix products (one per element ξ of the 4×4 transformed
// domain) of the transformed kernel U[ξ] [O, C] by the transformed input V[ξ] [C, T] of
// the T tiles of an image. The transforms only add and subtract (Bᵀ and Aᵀ hold 0 and ±1;
// G holds ½, exact in binary), so the results differ from the direct sums by a few
// roundings, not by a loss of precision: see TestConvWinograd for the tolerance. They
// are not the im2col path's bits, but they are deterministic: each image, or block of
// images of a size fixed by the shape, is computed alone, in a fixed order.
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]

// winogradGeom reports whether convImages should run g by convWinograd: a 3×3 kernel,
// stride 1, any padding, an even output height and width of at least 6 (smaller maps
// would drop too many of the tiles a block computes, see newWinogradLayout), at least
// winogradMinC input channels, and the AVX2 transforms (the Go ones are correct but
// slower than im2col).
func (g *ConvGeom) winogradGeom() bool {
	return winogradOn && useAVX2 && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 &&
		g.OH%2 == 0 && g.OW%2 == 0 && g.OH >= 6 && g.OW >= 6 && g.C >= winogradMinC
}

// winogradMinC is the fewest input channels convWinograd takes: its 16 products have C
// as their depth, and BenchmarkConvWinograd measured ResNet20's stem (3 channels of
// 32×32) 17-21% slower than im2col, 8 channels 22% faster and 16 channels 61% faster.
const winogradMinC = 8

// winogradOn lets tests and benchmarks run the other paths on shapes convWinograd takes.
var winogradOn = true

// winogradFilter writes the transformed kernel U[ξ][o][c] = (G w[o][c] Gᵀ)[ξ] of w
// [O, C, 3, 3] into u: U[ξ] starts at u[ξ·us], us ≥ O·C. The pairs (o, c) are shared
// out among the goroutines.
func winogradFilter(o, c int, w, u []float32, us int) {
	parFor(o*c, 512, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k := w[i*9 : i*9+9 : i*9+9]
			// t = G k: 4×3.
			var t [12]float32
			for j := 0; j < 3; j++ {
				k0, k1, k2 := k[j], k[3+j], k[6+j]
				t[j] = k0
				t[3+j] = 0.5 * (k0 + k1 + k2)
				t[6+j] = 0.5 * (k0 - k1 + k2)
				t[9+j] = k2
			}
			// U = t Gᵀ: 4×4.
			for r := 0; r < 4; r++ {
				t0, t1, t2 := t[3*r], t[3*r+1], t[3*r+2]
				u[(4*r+0)*us+i] = t0
				u[(4*r+1)*us+i] = 0.5 * (t0 + t1 + t2)
				u[(4*r+2)*us+i] = 0.5 * (t0 - t1 + t2)
				u[(4*r+3)*us+i] = t2
			}
		}
	})
}

// winogradInput transforms one channel: xp is its zero-padded plane (rows of wp = OW+2
// values), v its row of V[0] (th·tw tiles, row-major),
// V[ξ] being plane values further on. The assembly needs tw to be a multiple of 4.
func winogradInput(xp []float32, wp int, v []float32, plane, tw, th int) {
	if useAVX2 && tw%4 == 0 {
		need := (2*th+1)*wp + 2*tw + 2
		last := 15*plane + th*tw
		if len(xp) < need || len(v) < last {
			panic("ops: winogradInput: buffers too short")
		}
		winogradInputAVX2(&xp[0], wp, &v[0], plane, tw, th)
		return
	}
	winogradInputGo(xp, wp, v, plane, tw, th)
}

// winogradInputGo is winogradInputAVX2 in Go, the same operations in the same order:
// each patch row is transformed along x, then the rows are combined along y.
func winogradInputGo(xp []float32, wp int, v []float32, plane, tw, th int) {
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			var e [4][4]float32
			for i := range e {
				r := xp[(2*ty+i)*wp+2*tx : (2*ty+i)*wp+2*tx+4]
				e[i] = [4]float32{r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]}
			}
			o := ty*tw + tx
			for j := 0; j < 4; j++ {
				v[j*plane+o] = e[0][j] - e[2][j]
				v[(4+j)*plane+o] = e[1][j] + e[2][j]
				v[(8+j)*plane+o] = e[2][j] - e[1][j]
				v[(12+j)*plane+o] = e[1][j] - e[3][j]
			}
		}
	}
}

// winogradOutput transforms one output channel back: m is its row of M[0] (th·tw tiles,
// row-major), M[ξ] being plane values further on, and y its plane of rows of w = 2·tw.
// It then applies ep, convOutput's bias, batch norm and ReLU for the channel, with the
// same roundings: in registers on the way out with the assembly transform, as a pass of
// convOutput otherwise.
func winogradOutput(m []float32, plane int, y []float32, w, tw, th int, ep epilogue) {
	if useAVX2 && tw%4 == 0 {
		if len(m) < 15*plane+th*tw || len(y) < 2*th*w {
			panic("ops: winogradOutput: buffers too short")
		}
		winogradOutputAVX2(&m[0], plane, &y[0], w, tw, th, ep.bias, ep.scale, ep.shift, ep.mode)
		return
	}
	winogradOutputGo(m, plane, y, w, tw, th)
	if ep.mode != 0 {
		for r := 0; r < 2*th; r++ {
			row := y[r*w : r*w+2*tw]
			if ep.mode&4 != 0 {
				vecAffine(row, row, 1, ep.bias, false)
			}
			if ep.mode&1 != 0 {
				vecAffine(row, row, ep.scale, ep.shift, ep.mode&2 != 0)
			}
		}
	}
}

// epilogue is convOutput's work for one channel: mode 4 adds bias, 1 computes
// v·scale + shift, 2 (with 1) a ReLU.
type epilogue struct {
	bias, scale, shift float32
	mode               int
}

// outputEpilogue returns channel o's epilogue for convOutput's arguments.
func outputEpilogue(o int, bias, scale, shift []float32, relu bool) epilogue {
	var e epilogue
	if bias != nil {
		e.bias, e.mode = bias[o], 4
	}
	if scale != nil {
		e.scale, e.shift, e.mode = scale[o], shift[o], e.mode|1
		if relu {
			e.mode |= 2
		}
	}
	return e
}

// winogradOutputGo is winogradOutputAVX2 in Go, the same operations in the same order:
// the tile's 4×4 products are combined along y, then along x.
func winogradOutputGo(m []float32, plane int, y []float32, w, tw, th int) {
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			o := ty*tw + tx
			var s0, s1 [4]float32
			for j := 0; j < 4; j++ {
				m0, m1, m2, m3 := m[j*plane+o], m[(4+j)*plane+o], m[(8+j)*plane+o], m[(12+j)*plane+o]
				s0[j] = m0 + m1 + m2
				s1[j] = m1 - m2 - m3
			}
			r := 2*ty*w + 2*tx
			y[r] = s0[0] + s0[1] + s0[2]
			y[r+1] = s0[1] - s0[2] - s0[3]
			y[r+w] = s1[0] + s1[1] + s1[2]
			y[r+w+1] = s1[1] - s1[2] - s1[3]
		}
	}
}

// winogradLayout is how convWinograd lays a block of images out for the transforms.
type winogradLayout struct {
	nb     int // images per block
	th, tw int // tiles per column and per row of one image
	rowT   int // tiles per row of the block's buffer, a multiple of 4
	wp, hp int // the padded buffer's row length and rows
	slot   int // columns of the buffer per image (OW+2), when nb > 1 or rowT ≠ tw
}

// newWinogradLayout lays out g. Images whose rows of tiles fill whole groups of 4 are
// transformed one at a time in a buffer of their own padded size. Others are placed side
// by side, each in a slot of OW+2 columns with its own padding, in blocks of nb images
// whose buffer rows are then one long row of tiles: image i's tiles start at tile
// i·(tw+1), and the tile between two images (and those that round the row up to a
// multiple of 4) is computed and dropped. nb is chosen for products of about winogradMinT
// columns, with at least minBlocks blocks. It depends on the shape only, so that the
// results do not depend on the number of goroutines with any BLAS backend (OpenBLAS's
// sums depend on the width of the product).
func newWinogradLayout(g *ConvGeom) winogradLayout {
	l := winogradLayout{nb: 1, th: g.OH / 2, tw: g.OW / 2, hp: g.OH + 2, slot: g.OW + 2}
	if l.tw%4 == 0 {
		l.rowT = l.tw
	} else {
		perImage := l.th * (l.tw + 1)
		l.nb = max(1, min((winogradMinT+perImage-1)/perImage, g.N/minBlocks))
		l.rowT = (l.nb*(l.tw+1) + 3) &^ 3
	}
	l.wp = 2*l.rowT + 2
	return l
}

// winogradMinT is the number of tile columns newWinogradLayout aims at for the products
// of a block of images.
const winogradMinT = 128

// convWinograd is convImages by F(2×2, 3×3), block by block of images (one image, or a
// few small ones side by side, see newWinogradLayout) like the im2col path: each
// goroutine copies a block into a zero-padded buffer, transforms it into V (four values
// per input value), multiplies V[ξ] by U[ξ] for the 16 ξ with a single-threaded GEMM
// each, and transforms the products back into the images' outputs, whose bias and batch
// norm are applied while they are in cache. The geometry must be a 3×3, stride-1
// convolution with an even output height and width (a padded image then has OH+2 rows of
// OW+2 values).
func convWinograd(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) {
	l := newWinogradLayout(g)
	T := l.th * l.rowT
	P := g.OH * g.OW
	pp := l.hp * l.wp
	oc := g.O * g.C
	us := oc + 16 // U's planes apart, see vs below
	u := scratch.get(16 * us)
	defer scratch.put(u)
	winogradFilter(g.O, g.C, w, u, us)
	xs, ys := g.C*g.H*g.W, g.O*P
	// The 16 planes of V (and of M) are 64 bytes more than the products apart, so that
	// the transforms' 16 streams do not fall into one L1 set when C·T is a multiple of
	// 1024.
	vs, ms := g.C*T+16, g.O*T+16
	direct := l.nb == 1 && l.rowT == l.tw // the output transform writes the image's rows
	blocks := (g.N + l.nb - 1) / l.nb
	parDyn(blocks, func(next func() (int, bool)) {
		xp := scratch.get(g.C * pp)
		defer scratch.put(xp)
		xp = xp[:g.C*pp]
		clear(xp) // the padding stays zero; each block overwrites the images
		v := scratch.get(16 * vs)
		defer scratch.put(v)
		m := scratch.get(16 * ms)
		defer scratch.put(m)
		var wide []float32 // one output channel of a block, rows of 2·rowT
		if !direct {
			wide = scratch.get(g.OH * 2 * l.rowT)
			defer scratch.put(wide)
		}
		for {
			blk, ok := next()
			if !ok {
				return
			}
			n0, n1 := blk*l.nb, min(g.N, (blk+1)*l.nb)
			for c := 0; c < g.C; c++ {
				for n := n0; n < n1; n++ {
					src := x[n*xs+c*g.H*g.W : n*xs+(c+1)*g.H*g.W]
					padCopy(src, g.W, g.H, xp[c*pp+g.PadT*l.wp+(n-n0)*l.slot+g.PadL:(c+1)*pp], l.wp)
				}
				winogradInput(xp[c*pp:(c+1)*pp], l.wp, v[c*T:], vs, l.rowT, l.th)
			}
			for k := 0; k < 16; k++ {
				gemmSerial(false, false, g.O, T, g.C, 1, u[k*us:], g.C, v[k*vs:], T, 0, m[k*ms:], T)
			}
			for o := 0; o < g.O; o++ {
				if direct {
					row := y[n0*ys+o*P : n0*ys+(o+1)*P]
					winogradOutput(m[o*T:], ms, row, g.OW, l.tw, l.th, outputEpilogue(o, bias, scale, shift, relu))
					continue
				}
				winogradOutput(m[o*T:], ms, wide, 2*l.rowT, l.rowT, l.th, epilogue{})
				for n := n0; n < n1; n++ {
					plane := y[n*ys+o*P : n*ys+(o+1)*P]
					for r := 0; r < g.OH; r++ {
						src := wide[r*2*l.rowT+(n-n0)*l.slot:]
						copy(plane[r*g.OW:(r+1)*g.OW], src[:g.OW])
					}
					convOutput(plane, plane, o, bias, scale, shift, relu)
				}
			}
		}
	})
}

// padCopy copies the h rows of w values of src into dst, rows wp apart.
func padCopy(src []float32, w, h int, dst []float32, wp int) {
	if useAVX2 && w%8 == 0 {
		if len(src) < w*h || len(dst) < (h-1)*wp+w {
			panic("ops: padCopy: buffers too short")
		}
		padCopyAVX2(&src[0], w, h, &dst[0], wp)
		return
	}
	for r := 0; r < h; r++ {
		copy(dst[r*wp:r*wp+w], src[r*w:(r+1)*w])
	}
}
