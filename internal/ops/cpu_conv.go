package ops

import "github.com/selfsup/selfsup/internal/blas"

// colBudget bounds the im2col buffer (in float32s): the batch is processed in chunks of as
// many images as fit, so each chunk is one large GEMM.
var colBudget = 1 << 22

func (g *ConvGeom) chunk() int {
	per := g.C * g.KH * g.KW * g.OH * g.OW
	b := colBudget / per
	if b < 1 {
		b = 1
	}
	if b > g.N {
		b = g.N
	}
	return b
}

// owRange returns the output columns [lo, hi) whose input column ow*SW-PadL+kj lies in [0, W).
func (g *ConvGeom) owRange(kj int) (lo, hi int) {
	off := kj - g.PadL
	if off < 0 {
		lo = (-off + g.SW - 1) / g.SW
	}
	if last := g.W - 1 - off; last >= 0 {
		hi = last/g.SW + 1
	}
	if hi > g.OW {
		hi = g.OW
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// im2col writes images [n0, n0+nb) of x as col [C·KH·KW, nb·OH·OW]: row (c,ki,kj) holds,
// for each image and output position, the input value the kernel tap (c,ki,kj) sees.
func im2col(g *ConvGeom, x []float32, n0, nb int, col []float32) {
	P := g.OH * g.OW
	cols := nb * P
	kk := g.KH * g.KW
	hw := g.H * g.W
	parFor(g.C*kk, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c, ki, kj := r/kk, (r/g.KW)%g.KH, r%g.KW
			owLo, owHi := g.owRange(kj)
			off := kj - g.PadL
			dst := col[r*cols : (r+1)*cols]
			for b := 0; b < nb; b++ {
				plane := x[((n0+b)*g.C+c)*hw : ((n0+b)*g.C+c+1)*hw]
				d := dst[b*P : (b+1)*P]
				for oh := 0; oh < g.OH; oh++ {
					row := d[oh*g.OW : (oh+1)*g.OW]
					ih := oh*g.SH - g.PadT + ki
					if ih < 0 || ih >= g.H {
						clear(row)
						continue
					}
					src := plane[ih*g.W : (ih+1)*g.W]
					clear(row[:owLo])
					clear(row[owHi:])
					if g.SW == 1 {
						copy(row[owLo:owHi], src[owLo+off:owHi+off])
					} else {
						for ow := owLo; ow < owHi; ow++ {
							row[ow] = src[ow*g.SW+off]
						}
					}
				}
			}
		}
	})
}

// col2im sets images [n0, n0+nb) of dx to the sum of the entries of dcol (laid out as by
// im2col) that each input position contributed to.
func col2im(g *ConvGeom, dcol []float32, n0, nb int, dx []float32) {
	P := g.OH * g.OW
	cols := nb * P
	kk := g.KH * g.KW
	hw := g.H * g.W
	parFor(nb*g.C, 1, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			b, c := bc/g.C, bc%g.C
			plane := dx[((n0+b)*g.C+c)*hw : ((n0+b)*g.C+c+1)*hw]
			clear(plane)
			for ki := 0; ki < g.KH; ki++ {
				for kj := 0; kj < g.KW; kj++ {
					r := c*kk + ki*g.KW + kj
					src := dcol[r*cols+b*P : r*cols+(b+1)*P]
					owLo, owHi := g.owRange(kj)
					off := kj - g.PadL
					for oh := 0; oh < g.OH; oh++ {
						ih := oh*g.SH - g.PadT + ki
						if ih < 0 || ih >= g.H {
							continue
						}
						s := src[oh*g.OW : (oh+1)*g.OW]
						d := plane[ih*g.W : (ih+1)*g.W]
						if g.SW == 1 {
							dd := d[owLo+off : owHi+off]
							ss := s[owLo:owHi]
							for i := range ss {
								dd[i] += ss[i]
							}
						} else {
							for ow := owLo; ow < owHi; ow++ {
								d[ow*g.SW+off] += s[ow]
							}
						}
					}
				}
			}
		}
	})
}

// gatherOut copies images [n0, n0+nb) of an output-shaped tensor y [N,O,P] into yt [O, nb·P].
func gatherOut(o, P int, y []float32, n0, nb int, yt []float32) {
	cols := nb * P
	parFor(nb*o, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b, oc := i/o, i%o
			copy(yt[oc*cols+b*P:oc*cols+(b+1)*P], y[((n0+b)*o+oc)*P:((n0+b)*o+oc+1)*P])
		}
	})
}

// scatterOut is the inverse of gatherOut, adding bias[o] when bias is non-nil.
func scatterOut(o, P int, yt []float32, n0, nb int, bias, y []float32) {
	cols := nb * P
	parFor(nb*o, 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			b, oc := i/o, i%o
			dst := y[((n0+b)*o+oc)*P : ((n0+b)*o+oc+1)*P]
			src := yt[oc*cols+b*P : oc*cols+(b+1)*P]
			if bias == nil {
				copy(dst, src)
				continue
			}
			bv := bias[oc]
			for j := range dst {
				dst[j] = src[j] + bv
			}
		}
	})
}

func (g *ConvGeom) isPointwise() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadT == 0 && g.PadL == 0 && g.PadB == 0 && g.PadR == 0
}

// ConvForward implements Kernels: im2col over chunks of images, one GEMM per chunk.
func (CPU) ConvForward(g *ConvGeom, x, w, bias, y []float32) error {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	B := g.chunk()
	var col, yt []float32
	if !g.isPointwise() || B > 1 {
		col = scratch.get(K * B * P)
		defer scratch.put(col)
	}
	if B > 1 {
		yt = scratch.get(g.O * B * P)
		defer scratch.put(yt)
	}
	for n0 := 0; n0 < g.N; n0 += B {
		nb := min(B, g.N-n0)
		cols := nb * P
		var c []float32
		if nb == 1 && g.isPointwise() {
			c = x[n0*K*P : (n0+1)*K*P]
		} else {
			c = col[:K*cols]
			im2col(g, x, n0, nb, c)
		}
		if nb == 1 {
			out := y[n0*g.O*P : (n0+1)*g.O*P]
			blas.Sgemm(false, false, g.O, P, K, 1, w, K, c, P, 0, out, P)
			if bias != nil {
				for o := 0; o < g.O; o++ {
					bv, row := bias[o], out[o*P:(o+1)*P]
					for j := range row {
						row[j] += bv
					}
				}
			}
			continue
		}
		blas.Sgemm(false, false, g.O, cols, K, 1, w, K, c, cols, 0, yt[:g.O*cols], cols)
		scatterOut(g.O, P, yt, n0, nb, bias, y)
	}
	return nil
}

// ConvBackwardData implements Kernels: dcol = wᵀ·dy per chunk, then col2im.
func (CPU) ConvBackwardData(g *ConvGeom, w, dy, dx []float32) error {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	B := g.chunk()
	dcol := scratch.get(K * B * P)
	defer scratch.put(dcol)
	var dyt []float32
	if B > 1 {
		dyt = scratch.get(g.O * B * P)
		defer scratch.put(dyt)
	}
	for n0 := 0; n0 < g.N; n0 += B {
		nb := min(B, g.N-n0)
		cols := nb * P
		var d []float32
		if nb == 1 {
			d = dy[n0*g.O*P : (n0+1)*g.O*P]
		} else {
			d = dyt[:g.O*cols]
			gatherOut(g.O, P, dy, n0, nb, d)
		}
		if nb == 1 && g.isPointwise() {
			blas.Sgemm(true, false, K, cols, g.O, 1, w, K, d, cols, 0, dx[n0*K*P:(n0+1)*K*P], cols)
			continue
		}
		blas.Sgemm(true, false, K, cols, g.O, 1, w, K, d, cols, 0, dcol[:K*cols], cols)
		col2im(g, dcol, n0, nb, dx)
	}
	return nil
}

// ConvBackwardFilter implements Kernels: dw = Σ_chunks dy·colᵀ.
func (CPU) ConvBackwardFilter(g *ConvGeom, x, dy, dw []float32) error {
	P := g.OH * g.OW
	K := g.C * g.KH * g.KW
	B := g.chunk()
	col := scratch.get(K * B * P)
	defer scratch.put(col)
	var dyt []float32
	if B > 1 {
		dyt = scratch.get(g.O * B * P)
		defer scratch.put(dyt)
	}
	var beta float32
	for n0 := 0; n0 < g.N; n0 += B {
		nb := min(B, g.N-n0)
		cols := nb * P
		var c, d []float32
		if nb == 1 && g.isPointwise() {
			c = x[n0*K*P : (n0+1)*K*P]
		} else {
			c = col[:K*cols]
			im2col(g, x, n0, nb, c)
		}
		if nb == 1 {
			d = dy[n0*g.O*P : (n0+1)*g.O*P]
		} else {
			d = dyt[:g.O*cols]
			gatherOut(g.O, P, dy, n0, nb, d)
		}
		blas.Sgemm(false, true, g.O, K, cols, 1, d, cols, c, cols, beta, dw, K)
		beta = 1
	}
	return nil
}
