package ops

// The kernel gradient of a 3×3 stride-1 convolution by Winograd's F(2×2, 3×3): the
// adjoint of convWinograd's forward pass. With V[ξ] the transformed input tiles and
// dM_t = A·dy_t·Aᵀ the transformed 2×2 tiles of the output gradient (A = the transpose of
// Aᵀ = [1 1 1 0; 0 1 -1 -1]), dU[ξ][o][c] = Σ_t dM_t[ξ][o]·V_t[ξ][c] is the gradient of the
// transformed kernel, and dw[o][c] = Gᵀ·dU[o][c]·G. The 16 sums over tiles are matrix
// products of depth T (tiles), 2.25× fewer multiplications than the product of dy's
// im2col matrix with xᵀ that ConvBackward computes otherwise, and no im2col matrix is
// built. The transforms work on images transposed to [position][channel], eight channels
// to a vector, so that both operands of the products have the channel as their minor
// index: dU[ξ] = dMᵀ·V with dM stored [tile][o] (read transposed, as the GEMM's column-A
// tiles do without packing) and V stored [tile][c].

// winogradGradGeom reports whether ConvBackward computes g's kernel gradient by
// winogradKernelGrad: g runs forward by Winograd's layout (3×3, stride 1, even output
// height and width), its channels on both sides are multiples of 8 (the vectors of the
// transforms), and the AVX2 transforms are there.
func (g *ConvGeom) winogradGradGeom() bool {
	return winogradOn && useAVX2 && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 &&
		g.OH%2 == 0 && g.OW%2 == 0 && g.C%8 == 0 && g.O%8 == 0
}

// winogradInputT writes V[ξ][t][c] for the th·tw tiles of one image given transposed and
// zero-padded, xt [(OH+2)·(OW+2)][c] (the forward pass's padded image, a position's c
// channels contiguous): row t of plane ξ at v[ξ·vs + t·c]. The same operations in the
// same order as winogradInputGo, per channel.
func winogradInputT(xt []float32, c int, v []float32, vs, th, tw int) {
	wp := 2*tw + 2
	if useAVX2 && c%8 == 0 {
		if len(xt) < (2*th+2)*wp*c || len(v) < 15*vs+th*tw*c {
			panic("ops: winogradInputT: buffers too short")
		}
		winogradInputTAVX2(&xt[0], c, &v[0], vs, th, tw)
		return
	}
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			o := (ty*tw + tx) * c
			for ch := 0; ch < c; ch++ {
				var e [4][4]float32
				for i := range e {
					p := ((2*ty+i)*wp + 2*tx) * c
					d0, d1, d2, d3 := xt[p+ch], xt[p+c+ch], xt[p+2*c+ch], xt[p+3*c+ch]
					e[i] = [4]float32{d0 - d2, d1 + d2, d2 - d1, d1 - d3}
				}
				for j := 0; j < 4; j++ {
					v[j*vs+o+ch] = e[0][j] - e[2][j]
					v[(4+j)*vs+o+ch] = e[1][j] + e[2][j]
					v[(8+j)*vs+o+ch] = e[2][j] - e[1][j]
					v[(12+j)*vs+o+ch] = e[1][j] - e[3][j]
				}
			}
		}
	}
}

// winogradGradT writes dM[ξ][t][o] = (A·dy_t·Aᵀ)[ξ] for the th·tw tiles of one image's
// output gradient given transposed, dyt [OH·OW][o]: row t of plane ξ at d[ξ·ds + t·o].
func winogradGradT(dyt []float32, o int, d []float32, ds, th, tw int) {
	ow := 2 * tw
	if useAVX2 && o%8 == 0 {
		if len(dyt) < 2*th*ow*o || len(d) < 15*ds+th*tw*o {
			panic("ops: winogradGradT: buffers too short")
		}
		winogradGradTAVX2(&dyt[0], o, &d[0], ds, th, tw)
		return
	}
	for ty := 0; ty < th; ty++ {
		for tx := 0; tx < tw; tx++ {
			t := (ty*tw + tx) * o
			p0 := (2*ty*ow + 2*tx) * o // position (2ty, 2tx)
			p1 := p0 + ow*o            // (2ty+1, 2tx)
			for ch := 0; ch < o; ch++ {
				d00, d01, d10, d11 := dyt[p0+ch], dyt[p0+o+ch], dyt[p1+ch], dyt[p1+o+ch]
				// r = A·dy (4×2), then E = r·Aᵀ (4×4).
				r := [4][2]float32{{d00, d01}, {d00 + d10, d01 + d11}, {d00 - d10, d01 - d11}, {-d10, -d11}}
				for i := 0; i < 4; i++ {
					d[(4*i+0)*ds+t+ch] = r[i][0]
					d[(4*i+1)*ds+t+ch] = r[i][0] + r[i][1]
					d[(4*i+2)*ds+t+ch] = r[i][0] - r[i][1]
					d[(4*i+3)*ds+t+ch] = -r[i][1]
				}
			}
		}
	}
}

// winogradFilterGrad sets dw [O, C, 3, 3] to Gᵀ·dU[o][c]·G from du (dU[ξ] [O, C] at
// du[ξ·us:]), sharing the pairs (o, c) out among the goroutines.
func winogradFilterGrad(o, c int, du []float32, us int, dw []float32) {
	parFor(o*c, 512, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			// t = Gᵀ·dU: 3×4.
			var t [3][4]float32
			for j := 0; j < 4; j++ {
				u0, u1, u2, u3 := du[j*us+i], du[(4+j)*us+i], du[(8+j)*us+i], du[(12+j)*us+i]
				t[0][j] = u0 + 0.5*(u1+u2)
				t[1][j] = 0.5 * (u1 - u2)
				t[2][j] = 0.5*(u1+u2) + u3
			}
			k := dw[i*9 : i*9+9 : i*9+9]
			for r := 0; r < 3; r++ {
				t0, t1, t2, t3 := t[r][0], t[r][1], t[r][2], t[r][3]
				k[3*r] = t0 + 0.5*(t1+t2)
				k[3*r+1] = 0.5 * (t1 - t2)
				k[3*r+2] = 0.5*(t1+t2) + t3
			}
		}
	})
}

// winogradKernelGrad sets dw (and db, when not nil) for the convolution g, which
// winogradGradGeom accepts, from x and dy: over fixed groups of images (filterGroups), in
// chunks of about chunkCols tiles, each goroutine transforms its images (transposed
// first) and accumulates the group's dU with 16 products per chunk; the groups' dU are
// summed in group order and transformed back once.
func winogradKernelGrad(g *ConvGeom, x, dy, dw, db []float32) {
	th, tw := g.OH/2, g.OW/2
	T := th * tw
	hp, wp := g.OH+2, g.OW+2
	P, HW := g.OH*g.OW, g.H*g.W
	nb := max(1, chunkCols/T)
	K := nb * T
	// Planes 64 bytes off multiples of 4 KiB (see convWinograd).
	vs, ds, us := K*g.C+16, K*g.O+16, g.O*g.C+16
	xs, ys := g.C*HW, g.O*P
	groups := filterGroups(g.N, 16*us)
	parts := scratch.get(groups * 16 * us)
	defer scratch.put(parts)
	var bparts []float64
	if db != nil {
		bparts = scratch64.get(groups * g.O)
		defer scratch64.put(bparts)
	}
	parDyn(groups, func(next func() (int, bool)) {
		xtp := scratch.get(hp * wp * g.C)
		defer scratch.put(xtp)
		xtp = xtp[:hp*wp*g.C]
		clear(xtp) // the padding stays zero; each image overwrites the interior
		xt := scratch.get(HW * g.C)
		defer scratch.put(xt)
		dyt := scratch.get(P * g.O)
		defer scratch.put(dyt)
		v := scratch.get(16 * vs)
		defer scratch.put(v)
		dm := scratch.get(16 * ds)
		defer scratch.put(dm)
		for {
			gi, ok := next()
			if !ok {
				return
			}
			part := parts[gi*16*us : (gi+1)*16*us]
			var bp []float64
			if db != nil {
				bp = bparts[gi*g.O : (gi+1)*g.O]
				clear(bp)
			}
			var beta float32
			lo, hi := gi*g.N/groups, (gi+1)*g.N/groups
			for n0 := lo; n0 < hi; n0 += nb {
				m := min(nb, hi-n0)
				for j := 0; j < m; j++ {
					n := n0 + j
					d := dy[n*ys : (n+1)*ys]
					for o := range bp {
						s, _ := vecSums(d[o*P:(o+1)*P], 0)
						bp[o] += s
					}
					transpose(g.C, HW, x[n*xs:(n+1)*xs], xt)
					padCopy(xt, g.W*g.C, g.H, xtp[(g.PadT*wp+g.PadL)*g.C:], wp*g.C)
					winogradInputT(xtp, g.C, v[j*T*g.C:], vs, th, tw)
					transpose(g.O, P, d, dyt)
					winogradGradT(dyt, g.O, dm[j*T*g.O:], ds, th, tw)
				}
				for k := 0; k < 16; k++ {
					gemmSerial(true, false, g.O, g.C, m*T, 1, dm[k*ds:], g.O, v[k*vs:], g.C, beta, part[k*us:], g.C)
				}
				beta = 1
			}
		}
	})
	sumGroups(parts, groups, 16*us)
	winogradFilterGrad(g.O, g.C, parts, us, dw)
	sumBiasGroups(bparts, groups, db)
}
