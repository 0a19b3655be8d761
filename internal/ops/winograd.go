package ops

// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1 convolutions (forward, in
// training and inference, and ConvBackwardData's transposed convolution): each 2×2
// block of outputs (a tile) is computed from the 4×4 input patch around it as
// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, so the 36 multiplications of a tile per channel pair
// become 16, done as 16 matrix products (one per element ξ of the 4×4 transformed
// domain) of the transformed kernel U[ξ] [O, C] by the transformed input V[ξ] [C, T] of
// the T tiles of an image. The transforms only add and subtract (Bᵀ and Aᵀ hold 0 and ±1;
// G holds ½, exact in binary), so the results differ from the direct sums by a few
// roundings, not by a loss of precision: see TestConvWinograd for the tolerance. They
// are not the im2col path's bits, but they are deterministic: each image is computed
// alone, in a fixed order.
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]

// winogradGeom reports whether convImages should run g by convWinograd: a 3×3 kernel,
// stride 1, any padding, an even output height and an output width a multiple of 8 (the
// assembly transforms take 4 or 8 tiles at a time), at least winogradMinC input
// channels, and the AVX2 transforms (the Go ones are correct but slower than im2col).
func (g *ConvGeom) winogradGeom() bool {
	return winogradOn && useAVX2 && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 &&
		g.OH%2 == 0 && g.OW%8 == 0 && g.C >= winogradMinC
}

// winogradMinC is the fewest input channels convWinograd takes: its 16 products have C
// as their depth, and BenchmarkConvWinograd measured ResNet20's stem (3 channels of
// 32×32) 17-21% slower than im2col, 8 channels 22% faster and 16 channels 61% faster.
const winogradMinC = 8

// winogradOn lets tests and benchmarks run the other paths on shapes convWinograd takes.
var winogradOn = true

// winogradFilter writes the transformed kernel U[ξ][o][c] = (G w[o][c] Gᵀ)[ξ] of w
// [O, C, 3, 3] into u [16, O, C].
func winogradFilter(o, c int, w, u []float32) {
	oc := o * c
	for i := 0; i < oc; i++ {
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
			u[(4*r+0)*oc+i] = t0
			u[(4*r+1)*oc+i] = 0.5 * (t0 + t1 + t2)
			u[(4*r+2)*oc+i] = 0.5 * (t0 - t1 + t2)
			u[(4*r+3)*oc+i] = t2
		}
	}
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
func winogradOutput(m []float32, plane int, y []float32, w, tw, th int) {
	if useAVX2 && tw%4 == 0 {
		if len(m) < 15*plane+th*tw || len(y) < 2*th*w {
			panic("ops: winogradOutput: buffers too short")
		}
		winogradOutputAVX2(&m[0], plane, &y[0], w, tw, th)
		return
	}
	winogradOutputGo(m, plane, y, w, tw, th)
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

// convWinograd is convImages by F(2×2, 3×3), image by image like the im2col path: each
// goroutine copies an image into a zero-padded buffer, transforms it into V (four values
// per input value), multiplies V[ξ] by U[ξ] for the 16 ξ with a single-threaded GEMM
// each, and transforms the products back into the image's output, whose bias and batch
// norm are applied while it is in cache. The geometry must be a 3×3, stride-1
// convolution with an even output height and width (a padded image then has OH+2 rows of
// OW+2 values).
func convWinograd(g *ConvGeom, x, w, bias, scale, shift []float32, relu bool, y []float32) {
	th, tw := g.OH/2, g.OW/2
	T := th * tw
	P := g.OH * g.OW
	hp, wp := g.OH+2, g.OW+2
	pp := hp * wp
	oc := g.O * g.C
	u := scratch.get(16 * oc)
	defer scratch.put(u)
	winogradFilter(g.O, g.C, w, u)
	xs, ys := g.C*g.H*g.W, g.O*P
	// The 16 planes of V (and of M) are 64 bytes more than the products apart, so that
	// the transforms' 16 streams do not fall into one L1 set when C·T is a multiple of
	// 1024.
	vs, ms := g.C*T+16, g.O*T+16
	parDyn(g.N, func(next func() (int, bool)) {
		xp := scratch.get(g.C * pp)
		defer scratch.put(xp)
		xp = xp[:g.C*pp]
		clear(xp) // the padding stays zero; each image overwrites the interior
		v := scratch.get(16 * vs)
		defer scratch.put(v)
		m := scratch.get(16 * ms)
		defer scratch.put(m)
		for {
			n, ok := next()
			if !ok {
				return
			}
			img := x[n*xs : (n+1)*xs]
			for c := 0; c < g.C; c++ {
				padCopy(img[c*g.H*g.W:(c+1)*g.H*g.W], g.W, g.H, xp[c*pp+g.PadT*wp+g.PadL:(c+1)*pp], wp)
				winogradInput(xp[c*pp:(c+1)*pp], wp, v[c*T:], vs, tw, th)
			}
			for k := 0; k < 16; k++ {
				gemmSerial(false, false, g.O, T, g.C, 1, u[k*oc:], g.C, v[k*vs:], T, 0, m[k*ms:], T)
			}
			out := y[n*ys : (n+1)*ys]
			for o := 0; o < g.O; o++ {
				row := out[o*P : (o+1)*P]
				winogradOutput(m[o*T:], ms, row, g.OW, tw, th)
				convOutput(row, row, o, bias, scale, shift, relu)
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
