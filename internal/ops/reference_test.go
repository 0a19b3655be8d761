package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// forward builds f over constant inputs, runs it on a TapeMachine (which calls Do) and
// returns the output data, after checking that UsePreallocDo into a NaN-filled output
// gives the same values bit for bit (so kernels write every element).
func forward(t *testing.T, f builder, vals ...*tensor.Dense) []float32 {
	t.Helper()
	g := G.NewGraph()
	in := make([]*G.Node, len(vals))
	for i, v := range vals {
		in[i] = G.NodeFromAny(g, v, G.WithName(fmt.Sprintf("in%d", i)))
	}
	y, err := f(in)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	var got []float32
	switch v := y.Value().(type) {
	case *G.F32:
		got = []float32{float32(*v)}
	case *tensor.Dense:
		got = append([]float32(nil), v.Float32s()...)
	default:
		t.Fatalf("output value %T", y.Value())
	}
	if pd, ok := y.Op().(G.UsePreallocDoer); ok {
		var ins []G.Value
		for it := g.From(y.ID()); it.Next(); { // the children, in order
			ins = append(ins, it.Node().(*G.Node).Value())
		}
		var out G.Value
		if y.Shape().IsScalar() {
			out = G.NewF32(float32(math.NaN()))
		} else {
			d := make([]float32, size(y.Shape()))
			for i := range d {
				d[i] = float32(math.NaN())
			}
			out = tensor.New(tensor.WithShape(y.Shape()...), tensor.WithBacking(d))
		}
		if _, err := pd.UsePreallocDo(out, ins...); err != nil {
			t.Fatal(err)
		}
		pre, err := valueData(out, y.Shape())
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float32bits(pre[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%v: UsePreallocDo gives [%d] = %v, Do gives %v", y.Op(), i, pre[i], got[i])
			}
		}
	}
	return got
}

// nanTensor returns a float32 tensor filled with NaN, so an op that leaves an element
// unwritten shows.
func nanTensor(shape ...int) *tensor.Dense {
	d := make([]float32, size(shape))
	for i := range d {
		d[i] = float32(math.NaN())
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
}

func assertClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func f64(d []float32) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

// refConv is a direct convolution in float64.
func refConv(g ConvGeom, x, w, b []float32) []float64 {
	y := make([]float64, g.N*g.O*g.OH*g.OW)
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					var acc float64
					if b != nil {
						acc = float64(b[o])
					}
					for c := 0; c < g.C; c++ {
						for ki := 0; ki < g.KH; ki++ {
							for kj := 0; kj < g.KW; kj++ {
								ih, iw := oh*g.SH-g.PadT+ki, ow*g.SW-g.PadL+kj
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								acc += float64(x[((n*g.C+c)*g.H+ih)*g.W+iw]) * float64(w[((o*g.C+c)*g.KH+ki)*g.KW+kj])
							}
						}
					}
					y[((n*g.O+o)*g.OH+oh)*g.OW+ow] = acc
				}
			}
		}
	}
	return y
}

// refConvGrads returns dx and dw of Σ dy⊙conv(x, w) by direct loops.
func refConvGrads(g ConvGeom, x, w, dy []float32) (dx, dw []float64) {
	dx = make([]float64, len(x))
	dw = make([]float64, len(w))
	for n := 0; n < g.N; n++ {
		for o := 0; o < g.O; o++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					d := float64(dy[((n*g.O+o)*g.OH+oh)*g.OW+ow])
					for c := 0; c < g.C; c++ {
						for ki := 0; ki < g.KH; ki++ {
							for kj := 0; kj < g.KW; kj++ {
								ih, iw := oh*g.SH-g.PadT+ki, ow*g.SW-g.PadL+kj
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								xi, wi := ((n*g.C+c)*g.H+ih)*g.W+iw, ((o*g.C+c)*g.KH+ki)*g.KW+kj
								dx[xi] += d * float64(w[wi])
								dw[wi] += d * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw
}

func TestConvAgainstReference(t *testing.T) {
	cases := []struct {
		x, w   []int
		sh, sw int
		pad    Padding2D
	}{
		{[]int{3, 3, 8, 8}, []int{4, 3, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{2, 4, 9, 7}, []int{5, 4, 3, 3}, 2, 2, Padding2D{1, 1, 1, 1}},
		{[]int{2, 4, 8, 8}, []int{5, 4, 3, 3}, 2, 2, Padding2D{0, 0, 1, 1}},
		{[]int{4, 6, 5, 5}, []int{3, 6, 1, 1}, 1, 1, Padding2D{}},
		{[]int{2, 6, 8, 8}, []int{3, 6, 1, 1}, 2, 2, Padding2D{}},
		{[]int{1, 2, 10, 9}, []int{2, 2, 5, 4}, 3, 2, Padding2D{2, 1, 0, 3}},
		{[]int{5, 3, 6, 6}, []int{7, 3, 2, 2}, 1, 1, Padding2D{}},
		// stride 1, a padding as large as the kernel: no transposed convolution for dx
		{[]int{2, 2, 5, 5}, []int{3, 2, 3, 3}, 1, 1, Padding2D{3, 0, 0, 1}},
		// stride 1, even kernel with asymmetric "same" padding
		{[]int{2, 3, 7, 6}, []int{4, 3, 4, 2}, 1, 1, Padding2D{1, 0, 2, 1}},
		// more images than kernel-gradient groups, unevenly split
		{[]int{21, 2, 4, 4}, []int{3, 2, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		// 32×32 outputs: im2col rows padded past 4 KiB (colStride)
		{[]int{2, 2, 32, 32}, []int{3, 2, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		// 16 and more input channels: conv2dGrads reuses dy's im2col for the kernel
		// gradient (fewer channels run the separate kernels)
		{[]int{3, 16, 6, 5}, []int{5, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{2, 17, 5, 7}, []int{4, 17, 2, 3}, 1, 1, Padding2D{0, 1, 1, 1}},
		{[]int{3, 16, 4, 4}, []int{6, 16, 1, 1}, 1, 1, Padding2D{}},
		{[]int{19, 16, 4, 4}, []int{3, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{2, 16, 32, 32}, []int{2, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		// maps of batchedMaxP positions and more run image by image, smaller ones
		// batched (cpu_conv_batched.go): both, with several kernel-gradient groups or
		// blocks of images, and more output or input channels than one GEMM row piece
		{[]int{40, 16, 2, 2}, []int{5, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{70, 3, 3, 3}, []int{4, 3, 3, 3}, 2, 2, Padding2D{1, 1, 1, 1}},
		{[]int{3, 16, 2, 2}, []int{100, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{18, 16, 8, 8}, []int{5, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{3, 4, 17, 17}, []int{5, 4, 3, 3}, 2, 2, Padding2D{1, 1, 1, 1}},
		{[]int{30, 16, 6, 6}, []int{5, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{25, 3, 13, 13}, []int{4, 3, 3, 3}, 2, 2, Padding2D{1, 1, 1, 1}},
		{[]int{3, 16, 4, 4}, []int{100, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{3, 60, 2, 2}, []int{20, 60, 1, 1}, 1, 1, Padding2D{}},
		{[]int{5, 60, 4, 4}, []int{50, 60, 3, 3}, 2, 2, Padding2D{0, 1, 0, 1}},
		{[]int{4, 64, 1, 1}, []int{70, 64, 1, 1}, 1, 1, Padding2D{}},
		// Winograd's F(2×2, 3×3) for the forward pass and for dx (8 or more channels on
		// either side): one image at a time, and blocks of small images side by side
		{[]int{6, 16, 8, 8}, []int{12, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{9, 12, 6, 6}, []int{10, 12, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{5, 8, 12, 8}, []int{9, 8, 3, 3}, 1, 1, Padding2D{}},
		// and for dw (channels multiples of 8 on both sides), over chunks of images
		{[]int{7, 16, 8, 8}, []int{16, 16, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1}},
		{[]int{5, 8, 10, 6}, []int{8, 8, 3, 3}, 1, 1, Padding2D{}},
		{[]int{3, 8, 8, 10}, []int{16, 8, 3, 3}, 1, 1, Padding2D{1, 0, 1, 2}},
	}
	saved := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(saved)
	for _, procs := range []int{1, 3} { // one worker, and more workers than images in some cases
		runtime.GOMAXPROCS(procs)
		for i, c := range cases {
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			x, w, b := randTensor(rng, -1, 1, c.x...), randTensor(rng, -1, 1, c.w...), randTensor(rng, -1, 1, c.w[0])
			g, err := NewConvGeom(x.Shape(), w.Shape(), c.sh, c.sw, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("procs %d case %d %v", procs, i, g.String())
			y := forward(t, func(in []*G.Node) (*G.Node, error) { return Conv2D(in[0], in[1], in[2], c.sh, c.sw, c.pad) }, x, w, b)
			assertClose(t, name+" forward", y, refConv(g, x.Float32s(), w.Float32s(), b.Float32s()), 1e-5)
			yn := forward(t, func(in []*G.Node) (*G.Node, error) { return Conv2D(in[0], in[1], nil, c.sh, c.sw, c.pad) }, x, w)
			assertClose(t, name+" forward no bias", yn, refConv(g, x.Float32s(), w.Float32s(), nil), 1e-5)

			dy := randTensor(rng, -1, 1, g.N, g.O, g.OH, g.OW)
			wantDX, wantDW := refConvGrads(g, x.Float32s(), w.Float32s(), dy.Float32s())
			gd := &conv2dGradDataOp{g: g}
			gd.base = newBase(gd, "conv2dGradData", "", false, g.XShape(), g.WShape(), g.YShape())
			dx, err := gd.UsePreallocDo(nanTensor(g.XShape()...), w, dy)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, name+" grad data", dx.(*tensor.Dense).Float32s(), wantDX, 1e-5)
			gf := &conv2dGradFilterOp{g: g}
			gf.base = newBase(gf, "conv2dGradFilter", "", false, g.WShape(), g.XShape(), g.YShape())
			dw, err := gf.UsePreallocDo(nanTensor(g.WShape()...), x, dy)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, name+" grad filter", dw.(*tensor.Dense).Float32s(), wantDW, 1e-5)

			// The merged op: [dx | dw | db] in one tensor.
			for _, bias := range []bool{false, true} {
				nx, nw := size(g.XShape()), size(g.WShape())
				total := nx + nw
				if bias {
					total += g.O
				}
				gr := &conv2dGradsOp{g: g, hasBias: bias}
				gr.base = newBase(gr, "conv2dGrads", "", false, tensor.Shape{total}, g.XShape(), g.WShape(), g.YShape())
				all, err := gr.UsePreallocDo(nanTensor(total), x, w, dy)
				if err != nil {
					t.Fatal(err)
				}
				d := all.(*tensor.Dense).Float32s()
				assertClose(t, name+" merged grad data", d[:nx], wantDX, 1e-5)
				assertClose(t, name+" merged grad filter", d[nx:nx+nw], wantDW, 1e-5)
				if bias {
					wantDB := make([]float64, g.O)
					P := g.OH * g.OW
					for i, v := range dy.Float32s() {
						wantDB[(i/P)%g.O] += float64(v)
					}
					assertClose(t, name+" merged grad bias", d[nx+nw:], wantDB, 1e-5)
				}
			}
		}
	}
}

func TestSamePadding(t *testing.T) {
	for _, c := range []struct{ in, k, s, lo, hi int }{
		{32, 3, 1, 1, 1}, {32, 3, 2, 0, 1}, {7, 3, 2, 1, 1}, {8, 1, 2, 0, 0}, {5, 4, 1, 1, 2},
	} {
		lo, hi := SamePadding(c.in, c.k, c.s)
		if lo != c.lo || hi != c.hi {
			t.Errorf("SamePadding(%d,%d,%d) = %d,%d; want %d,%d", c.in, c.k, c.s, lo, hi, c.lo, c.hi)
		}
	}
}

func TestBatchNormForward(t *testing.T) {
	for _, shape := range [][]int{{4, 3, 5, 2}, {7, 4}} {
		for _, unbiased := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(3, uint64(len(shape))))
			n, c := shape[0], shape[1]
			s := size(shape) / (n * c)
			x := randTensor(rng, 5, 9, shape...) // a mean far from 0
			gamma, beta := randTensor(rng, 0.5, 1.5, c), randTensor(rng, -1, 1, c)
			mm, mv := randTensor(rng, -1, 1, c), randTensor(rng, 0.5, 2, c)
			mm0, mv0 := append([]float32(nil), mm.Float32s()...), append([]float32(nil), mv.Float32s()...)
			cfg := BatchNormConfig{Training: true, Momentum: 0.9, Epsilon: 1e-3, UnbiasedMovingVariance: unbiased}
			g := G.NewGraph()
			in := []*G.Node{G.NodeFromAny(g, x, G.WithName("x")), G.NodeFromAny(g, gamma, G.WithName("g")),
				G.NodeFromAny(g, beta, G.WithName("b")), G.NodeFromAny(g, mm, G.WithName("mm")), G.NodeFromAny(g, mv, G.WithName("mv"))}
			y, err := BatchNorm(in[0], in[1], in[2], in[3], in[4], cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			xd := x.Float32s()
			want := make([]float64, len(xd))
			for ch := 0; ch < c; ch++ {
				var sum, sq float64
				for i := 0; i < n; i++ {
					for j := 0; j < s; j++ {
						sum += float64(xd[(i*c+ch)*s+j])
					}
				}
				mean := sum / float64(n*s)
				for i := 0; i < n; i++ {
					for j := 0; j < s; j++ {
						d := float64(xd[(i*c+ch)*s+j]) - mean
						sq += d * d
					}
				}
				v := sq / float64(n*s)
				for i := 0; i < n; i++ {
					for j := 0; j < s; j++ {
						k := (i*c+ch)*s + j
						want[k] = float64(gamma.Float32s()[ch])*(float64(xd[k])-mean)/math.Sqrt(v+1e-3) + float64(beta.Float32s()[ch])
					}
				}
				mvBatch := v
				if unbiased {
					mvBatch = sq / float64(n*s-1)
				}
				wm := float64(mm0[ch])*0.9 + mean*0.1
				wv := float64(mv0[ch])*0.9 + mvBatch*0.1
				if math.Abs(float64(mm.Float32s()[ch])-wm) > 1e-5*(1+math.Abs(wm)) || math.Abs(float64(mv.Float32s()[ch])-wv) > 1e-5*(1+wv) {
					t.Fatalf("%v unbiased=%v channel %d: moving stats %v, %v; want %v, %v", shape, unbiased, ch,
						mm.Float32s()[ch], mv.Float32s()[ch], wm, wv)
				}
			}
			assertClose(t, fmt.Sprintf("bn %v train", shape), y.Value().(*tensor.Dense).Float32s(), want, 1e-4)
			m.Close()

			// Inference uses the moving statistics.
			cfg.Training = false
			mmNow, mvNow := append([]float32(nil), mm.Float32s()...), append([]float32(nil), mv.Float32s()...)
			yi := forward(t, func(in []*G.Node) (*G.Node, error) {
				return BatchNorm(in[0], in[1], in[2], in[3], in[4], cfg)
			}, x, gamma, beta, mm, mv)
			for k := range want {
				ch := (k / s) % c
				want[k] = float64(gamma.Float32s()[ch])*(float64(xd[k])-float64(mmNow[ch]))/math.Sqrt(float64(mvNow[ch])+1e-3) + float64(beta.Float32s()[ch])
			}
			assertClose(t, fmt.Sprintf("bn %v inference", shape), yi, want, 1e-4)
			for ch := range c {
				if mm.Float32s()[ch] != mmNow[ch] || mv.Float32s()[ch] != mvNow[ch] {
					t.Fatalf("inference changed the moving statistics")
				}
			}
		}
	}
}

func TestPoolingForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	x := randTensor(rng, -1, 1, 2, 3, 7, 6)
	xd := x.Float32s()
	gap := forward(t, func(in []*G.Node) (*G.Node, error) { return GlobalAvgPool(in[0]) }, x)
	want := make([]float64, 6)
	for i := range want {
		for _, v := range xd[i*42 : (i+1)*42] {
			want[i] += float64(v) / 42
		}
	}
	assertClose(t, "gap", gap, want, 1e-6)

	for _, c := range []struct {
		k, s int
		pad  Padding2D
	}{{2, 2, Padding2D{}}, {3, 2, Padding2D{1, 1, 1, 1}}, {3, 3, Padding2D{0, 0, 2, 0}}} {
		g, err := NewPoolGeom(x.Shape(), c.k, c.k, c.s, c.s, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		y := forward(t, func(in []*G.Node) (*G.Node, error) { return MaxPool2D(in[0], c.k, c.k, c.s, c.s, c.pad) }, x)
		want := make([]float64, g.N*g.C*g.OH*g.OW)
		for p := 0; p < g.N*g.C; p++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					best := math.Inf(-1)
					for ki := 0; ki < c.k; ki++ {
						for kj := 0; kj < c.k; kj++ {
							ih, iw := oh*c.s-c.pad.Top+ki, ow*c.s-c.pad.Left+kj
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								best = math.Max(best, float64(xd[p*g.H*g.W+ih*g.W+iw]))
							}
						}
					}
					want[(p*g.OH+oh)*g.OW+ow] = best
				}
			}
		}
		assertClose(t, "maxpool "+g.String(), y, want, 0)
	}
}

func TestMatMulForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 9))
	a, b, bias := randTensor(rng, -1, 1, 3, 4), randTensor(rng, -1, 1, 5, 4), randTensor(rng, -1, 1, 5)
	y := forward(t, func(in []*G.Node) (*G.Node, error) { return MatMul(in[0], in[1], in[2], false, true, 0.5) }, a, b, bias)
	want := make([]float64, 15)
	for i := 0; i < 3; i++ {
		for j := 0; j < 5; j++ {
			var acc float64
			for k := 0; k < 4; k++ {
				acc += float64(a.Float32s()[i*4+k]) * float64(b.Float32s()[j*4+k])
			}
			want[i*5+j] = 0.5*acc + float64(bias.Float32s()[j])
		}
	}
	assertClose(t, "a·bᵀ/2+bias", y, want, 1e-6)
}

func TestLossesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	logits := randTensor(rng, -20, 20, 4, 3)
	labels := tensor.New(tensor.WithShape(4), tensor.WithBacking([]float32{2, 0, 1, 2}))
	ld := logits.Float32s()
	var want float64
	probs := make([]float64, 12)
	for i := 0; i < 4; i++ {
		mx := math.Inf(-1)
		for j := 0; j < 3; j++ {
			mx = math.Max(mx, float64(ld[i*3+j]))
		}
		var se float64
		for j := 0; j < 3; j++ {
			se += math.Exp(float64(ld[i*3+j]) - mx)
		}
		for j := 0; j < 3; j++ {
			probs[i*3+j] = math.Exp(float64(ld[i*3+j])-mx) / se
		}
		want += -math.Log(probs[i*3+int(labels.Float32s()[i])]) / 4
	}
	ce := forward(t, func(in []*G.Node) (*G.Node, error) { return SoftmaxCrossEntropy(in[0], in[1]) }, logits, labels)
	assertClose(t, "softmax CE", ce, []float64{want}, 1e-5)
	sm := forward(t, func(in []*G.Node) (*G.Node, error) { return Softmax(in[0]) }, logits)
	assertClose(t, "softmax", sm, probs, 1e-6)

	// Huge logits stay finite.
	big := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1000, -1000}))
	one := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))
	ceBig := forward(t, func(in []*G.Node) (*G.Node, error) { return SoftmaxCrossEntropy(in[0], in[1]) }, big, one)
	assertClose(t, "softmax CE of huge logits", ceBig, []float64{2000}, 1e-6)

	// NT-Xent on s = z·zᵀ/T against the SimCLR formula.
	z := randTensor(rng, -1, 1, 6, 4)
	zd := z.Float32s()
	const temp = 0.5
	sv := forward(t, func(in []*G.Node) (*G.Node, error) { return MatMul(in[0], in[0], nil, false, true, 1/temp) }, z)
	loss := forward(t, func(in []*G.Node) (*G.Node, error) {
		s, err := MatMul(in[0], in[0], nil, false, true, 1/temp)
		if err != nil {
			return nil, err
		}
		return NTXentLoss(s)
	}, z)
	var ref float64
	for i := 0; i < 6; i++ {
		var den float64
		for k := 0; k < 6; k++ {
			if k != i {
				den += math.Exp(float64(sv[i*6+k]))
			}
		}
		var dot float64
		for d := 0; d < 4; d++ {
			dot += float64(zd[i*4+d]) * float64(zd[((i+3)%6)*4+d])
		}
		ref += -math.Log(math.Exp(dot/temp)/den) / 6
	}
	assertClose(t, "ntxent", loss, []float64{ref}, 1e-5)

	// L2 normalisation and row dots.
	x := randTensor(rng, -1, 1, 3, 4)
	y := forward(t, func(in []*G.Node) (*G.Node, error) { return L2Normalize(in[0], 1e-12) }, x)
	for i := 0; i < 3; i++ {
		var n float64
		for _, v := range y[i*4 : (i+1)*4] {
			n += float64(v) * float64(v)
		}
		if math.Abs(n-1) > 1e-6 {
			t.Fatalf("row %d of the normalised matrix has squared norm %v", i, n)
		}
	}
	zero := tensor.New(tensor.WithShape(1, 3), tensor.WithBacking([]float32{0, 0, 0}))
	assertClose(t, "normalised zero row", forward(t, func(in []*G.Node) (*G.Node, error) { return L2Normalize(in[0], 1e-12) }, zero), []float64{0, 0, 0}, 0)

	pen := forward(t, func(in []*G.Node) (*G.Node, error) { return L2Penalty(in, []float32{0.5, 2}) }, x, z)
	var wantPen float64
	for _, v := range x.Float32s() {
		wantPen += 0.5 * float64(v) * float64(v)
	}
	for _, v := range zd {
		wantPen += 2 * float64(v) * float64(v)
	}
	assertClose(t, "l2 penalty", pen, []float64{wantPen}, 1e-6)
}

func TestShapeErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 8, 8), G.WithName("x"))
	w := G.NewTensor(g, tensor.Float32, 4, G.WithShape(4, 2, 3, 3), G.WithName("w"))
	if _, err := Conv2D(x, w, nil, 1, 1, Padding2D{}); err == nil || !strings.Contains(err.Error(), "channels") {
		t.Errorf("channel mismatch: err = %v", err)
	}
	w3 := G.NewTensor(g, tensor.Float32, 4, G.WithShape(4, 3, 3, 3), G.WithName("w3"))
	if _, err := Conv2D(x, w3, nil, 0, 1, Padding2D{}); err == nil {
		t.Error("zero stride accepted")
	}
	x64 := G.NewTensor(g, tensor.Float64, 2, G.WithShape(2, 3), G.WithName("x64"))
	if _, err := ReLU(x64); err == nil {
		t.Error("float64 input accepted")
	}
	m := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("m"))
	if _, err := MatMul(m, m, nil, false, false, 1); err == nil {
		t.Error("2x3 · 2x3 accepted")
	}
	lab := G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName("lab"))
	if _, err := SoftmaxCrossEntropy(m, lab); err == nil {
		t.Error("3 labels for 2 rows accepted")
	}

	// Do with values of the wrong shape or kind is an error, not a panic.
	y, err := Conv2D(x, w3, nil, 1, 1, Padding2D{1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	op := y.Op()
	good := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3, 8, 8))
	bad := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 3, 8, 7))
	wv := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(4, 3, 3, 3))
	if _, err := op.Do(bad, wv); err == nil {
		t.Error("Do accepted an input of the wrong shape")
	}
	if _, err := op.Do(good); err == nil {
		t.Error("Do accepted one input for two")
	}
	if _, err := op.Do(tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2, 3, 8, 8)), wv); err == nil {
		t.Error("Do accepted a float64 input")
	}
	if _, err := op.(G.UsePreallocDoer).UsePreallocDo(bad, good, wv); err == nil {
		t.Error("UsePreallocDo accepted an output of the wrong shape")
	}
	if _, err := op.InferShape(tensor.Shape{2, 3, 8, 7}, tensor.Shape{4, 3, 3, 3}); err == nil {
		t.Error("InferShape accepted the wrong input shape")
	}
	if _, err := op.Do(good, wv); err != nil {
		t.Errorf("Do with the right values: %v", err)
	}

	// A label that is not a class index is a run-time error.
	logits := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(make([]float32, 6)))
	labels := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 3}))
	g2 := G.NewGraph()
	_, err = SoftmaxCrossEntropy(G.NodeFromAny(g2, logits, G.WithName("l")), G.NodeFromAny(g2, labels, G.WithName("y")))
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g2)
	defer vm.Close()
	if err := vm.RunAll(); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("label 3 of 3 classes: err = %v", err)
	}
}

func TestStatefulOpsHashUniquely(t *testing.T) {
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"))
	p := make([]*G.Node, 4)
	for i := range p {
		p[i] = G.NewVector(g, tensor.Float32, G.WithShape(3), G.WithName(fmt.Sprintf("p%d", i)))
	}
	cfg := BatchNormConfig{Training: true, Momentum: 0.99, Epsilon: 1e-3}
	a, err := BatchNorm(x, p[0], p[1], p[2], p[3], cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BatchNorm(x, p[0], p[1], p[2], p[3], cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two batch-norm ops over the same inputs were merged into one node")
	}
	// Stateless ops over the same inputs may merge: that is common-subexpression elimination.
	r1, _ := ReLU(x)
	r2, _ := ReLU(x)
	if r1 != r2 {
		t.Error("two identical stateless relu nodes were not merged")
	}
}

func TestReLUAtZero(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	x := tensor.New(tensor.WithShape(5), tensor.WithBacking([]float32{-1, 0, negZero, 2, 1e-30}))
	g := G.NewGraph()
	xn := G.NodeFromAny(g, x, G.WithName("x"))
	y, err := ReLU(xn)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := Mean(y)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, xn)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	yv := y.Value().(*tensor.Dense).Float32s()
	for i, want := range []float32{0, 0, 0, 2, 1e-30} {
		if yv[i] != want || math.Signbit(float64(yv[i])) {
			t.Errorf("relu(%v) = %v, want +%v", x.Float32s()[i], yv[i], want)
		}
	}
	gv := grads[0].Value().(*tensor.Dense).Float32s()
	for i, want := range []float32{0, 0, 0, 0.2, 0.2} {
		if gv[i] != want {
			t.Errorf("d relu/dx at %v = %v, want %v (0 at 0)", x.Float32s()[i], gv[i], want)
		}
	}
}

// countingKernels counts ReLU calls and delegates to CPU.
type countingKernels struct {
	CPU
	relus int
}

func (k *countingKernels) ReLU(x, y []float32) error {
	k.relus++
	return k.CPU.ReLU(x, y)
}

func TestSetKernels(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{-1, 2, 3, -4})), G.WithName("x"))
	y, err := ReLU(x)
	if err != nil {
		t.Fatal(err)
	}
	z, err := Scale(y, 2)
	if err != nil {
		t.Fatal(err)
	}
	k := &countingKernels{}
	if n, err := SetKernels(g, k); err != nil || n != 2 {
		t.Fatalf("SetKernels changed %d ops (%v), want 2", n, err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	if k.relus != 1 {
		t.Fatalf("the replacement kernels ran ReLU %d times, want 1", k.relus)
	}
	assertClose(t, "2·relu(x)", z.Value().(*tensor.Dense).Float32s(), []float64{0, 4, 6, 0}, 0)
}

// TestDeterministicAcrossProcs: the batch sums (kernel and bias gradients, batch-norm
// statistics and gradients) are taken over fixed groups of images in a fixed order, so
// they are bit for bit the same whatever the number of goroutines.
func TestDeterministicAcrossProcs(t *testing.T) {
	// 2×2 maps run batched (two blocks of images), larger ones image by image; 100 output
	// channels make several GEMM row pieces; stride 2 takes the separate kernels; a small
	// partsBudget leaves fewer kernel-gradient groups than 16.
	for _, c := range []struct {
		n, side, o, stride, budget int
	}{{37, 2, 8, 1, 0}, {37, 8, 8, 1, 0}, {37, 2, 100, 1, 0}, {37, 3, 100, 2, 0}, {37, 6, 100, 1, 0},
		{37, 20, 8, 2, 0}, {37, 6, 100, 1, 5000}, {37, 20, 8, 2, 500}} {
		t.Run(fmt.Sprintf("%dx16x%dx%d-to-%d-stride-%d-budget-%d", c.n, c.side, c.side, c.o, c.stride, c.budget), func(t *testing.T) {
			if c.budget > 0 {
				saved := partsBudget
				partsBudget = c.budget
				defer func() { partsBudget = saved }()
			}
			deterministicAcrossProcs(t, c.n, c.side, c.o, c.stride)
		})
	}
}

func deterministicAcrossProcs(t *testing.T, n, side, o, stride int) {
	rng := rand.New(rand.NewPCG(12, 12))
	g, err := NewConvGeom(tensor.Shape{n, 16, side, side}, tensor.Shape{o, 16, 3, 3}, stride, stride, Padding2D{1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	x, w, dy := randTensor(rng, -1, 1, n, 16, side, side), randTensor(rng, -1, 1, o, 16, 3, 3), randTensor(rng, -1, 1, g.YShape()...)
	hw := side * side
	run := func() []float32 {
		nx, nw := size(g.XShape()), size(g.WShape())
		out := make([]float32, nx+nw+g.O)
		if err := (CPU{}).ConvBackward(&g, x.Float32s(), w.Float32s(), dy.Float32s(), out[:nx], out[nx:nx+nw], out[nx+nw:]); err != nil {
			t.Fatal(err)
		}
		mean, variance, dgamma, dbeta, sum := make([]float32, 16), make([]float32, 16), make([]float32, 16), make([]float32, 16), make([]float32, 16)
		invstd := make([]float32, 16)
		for i := range invstd {
			invstd[i] = 1.5
		}
		k := CPU{}
		if err := k.ChannelMoments(n, 16, hw, x.Float32s(), mean, variance); err != nil {
			t.Fatal(err)
		}
		if err := k.BatchNormGradParams(n, 16, hw, x.Float32s(), x.Float32s(), mean, invstd, dgamma, dbeta); err != nil {
			t.Fatal(err)
		}
		if err := k.ChannelSum(n, 16, hw, x.Float32s(), sum); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, size(g.YShape()))
		if err := k.ConvForward(&g, x.Float32s(), w.Float32s(), nil, y); err != nil {
			t.Fatal(err)
		}
		return append(append(append(append(append(append(out, mean...), variance...), dgamma...), dbeta...), sum...), y...)
	}
	saved := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(saved)
	one := run()
	runtime.GOMAXPROCS(3)
	three := run()
	for i := range one {
		if math.Float32bits(one[i]) != math.Float32bits(three[i]) {
			t.Fatalf("value %d: %v with one goroutine, %v with three", i, one[i], three[i])
		}
	}
}
