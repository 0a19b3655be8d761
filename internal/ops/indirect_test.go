package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/selfsup/selfsup/internal/blas"
	"gorgonia.org/tensor"
)

// TestConvIndirectSameBits checks that the indirect convolution gives the im2col path's
// results bit for bit, with and without bias and batch norm, on shapes with partial
// tiles of rows and columns and asymmetric padding.
func TestConvIndirectSameBits(t *testing.T) {
	if blas.Backend() != "asm-avx512" && blas.Backend() != "asm-avx2" {
		t.Skipf("BLAS backend %s has no indirect product", blas.Backend())
	}
	saved := indirectMinC
	indirectMinC = 1 // small channel counts keep the test fast
	// Winograd and the pointwise blocks would take some shapes from both paths.
	winogradOn, imageBlocksOn = false, false
	defer func() { indirectMinC, winogradOn, imageBlocksOn = saved, true, true }()
	rng := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct {
		n, ci, co, h, w, k int
		pad                Padding2D
	}{
		{3, 16, 16, 32, 32, 3, Padding2D{1, 1, 1, 1}},
		{2, 5, 20, 17, 19, 3, Padding2D{1, 1, 1, 1}},
		{2, 3, 37, 16, 16, 3, Padding2D{0, 1, 0, 1}},
		{2, 8, 12, 20, 32, 5, Padding2D{2, 2, 2, 2}},
	} {
		g, err := NewConvGeom(tensor.Shape{c.n, c.ci, c.h, c.w}, tensor.Shape{c.co, c.ci, c.k, c.k}, 1, 1, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		if !g.indirectGeom() {
			t.Fatalf("%v: the indirect path would not run", g)
		}
		x := randTensor(rng, -1, 1, c.n, c.ci, c.h, c.w).Float32s()
		w := randTensor(rng, -1, 1, c.co, c.ci, c.k, c.k).Float32s()
		bias, scale, shift := randTensor(rng, -1, 1, c.co).Float32s(), randTensor(rng, -1, 1, c.co).Float32s(), randTensor(rng, -1, 1, c.co).Float32s()
		for _, mode := range []string{"plain", "bias", "affine", "bias+affine"} {
			var b, sc, sh []float32
			if mode == "bias" || mode == "bias+affine" {
				b = bias
			}
			if mode == "affine" || mode == "bias+affine" {
				sc, sh = scale, shift
			}
			out := func(on bool) []float32 {
				indirectOn = on
				defer func() { indirectOn = true }()
				y := make([]float32, c.n*c.co*g.OH*g.OW)
				convImages(&g, x, w, b, sc, sh, true, y)
				return y
			}
			want, got := out(false), out(true)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v %s: element %d is %v, im2col gives %v", g, mode, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkConvIndirect times 3×3 convolutions forward (ResNet20's, and ResNet50 v2's at
// 96×96: 64 channels of 24×24, 128 of 12×12) with the indirect product and with im2col.
func BenchmarkConvIndirect(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range append(resnetConvs[:len(resnetConvs):len(resnetConvs)], struct{ c, hw int }{64, 24}, struct{ c, hw int }{128, 12}, struct{ c, hw int }{128, 4}, struct{ c, hw int }{64, 6}) {
		g, err := NewConvGeom(tensor.Shape{128, c.c, c.hw, c.hw}, tensor.Shape{c.c, c.c, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1})
		if err != nil {
			b.Fatal(err)
		}
		x, w := randTensor(rng, -1, 1, 128, c.c, c.hw, c.hw).Float32s(), randTensor(rng, -1, 1, c.c, c.c, 3, 3).Float32s()
		y := make([]float32, 128*c.c*c.hw*c.hw)
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/indirect=%v", c.c, c.hw, c.hw, on), func(b *testing.B) {
				indirectOn, indirectMinC, winogradOn = on, 1, false
				defer func() { indirectOn, indirectMinC, winogradOn = true, 64, true }()
				for i := 0; i < b.N; i++ {
					convImages(&g, x, w, nil, nil, nil, false, y)
				}
			})
		}
	}
}

// TestConvBackwardWideSameBits checks that ConvBackward gives the same bits with the
// column matrices widened to whole tiles (maps of 36 positions) as without, with the
// project's own GEMMs (OpenBLAS's sums depend on the width of the product).
func TestConvBackwardWideSameBits(t *testing.T) {
	if b := blas.Backend(); b == "openblas" {
		t.Skip("OpenBLAS's sums depend on the width of the product")
	}
	winogradOn = false // which would compute dx of the 3×3 case either way
	defer func() { winogradOn = true }()
	rng := rand.New(rand.NewPCG(6, 6))
	for _, c := range []struct{ ci, co, k, pad int }{{32, 48, 3, 1}, {64, 16, 1, 0}} {
		g, err := NewConvGeom(tensor.Shape{3, c.ci, 6, 6}, tensor.Shape{c.co, c.ci, c.k, c.k}, 1, 1, Padding2D{c.pad, c.pad, c.pad, c.pad})
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, -1, 1, 3, c.ci, 6, 6).Float32s()
		w := randTensor(rng, -1, 1, c.co, c.ci, c.k, c.k).Float32s()
		dy := randTensor(rng, -1, 1, 3, c.co, 6, 6).Float32s()
		run := func(wide bool) (dx, dw, db []float32) {
			widenOn = wide
			defer func() { widenOn = true }()
			dx, dw, db = make([]float32, len(x)), make([]float32, len(w)), make([]float32, c.co)
			if err := (CPU{}).ConvBackward(&g, x, w, dy, dx, dw, db); err != nil {
				t.Fatal(err)
			}
			return dx, dw, db
		}
		wx, ww, wb := run(false)
		gx, gw, gb := run(true)
		for name, pair := range map[string][2][]float32{"dx": {wx, gx}, "dw": {ww, gw}, "db": {wb, gb}} {
			for i := range pair[0] {
				if pair[0][i] != pair[1][i] {
					t.Fatalf("%v %s[%d]: %v widened, %v not", g, name, i, pair[1][i], pair[0][i])
				}
			}
		}
	}
}

// TestConvImageBlocksSameBits checks that convolutions over blocks of images side by
// side give the bits of one image at a time, with and without bias and batch norm, for
// blocks that fill whole tiles and partial last blocks: pointwise over maps of 9, 15 and
// 36 positions, 3×3 kernels over 3×3 maps, stride 1 and 2.
func TestConvImageBlocksSameBits(t *testing.T) {
	if b := blas.Backend(); b == "openblas" {
		t.Skip("OpenBLAS's sums depend on the width of the product")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, c := range []struct{ n, ci, co, h, w, k, s, pad int }{
		{9, 16, 24, 6, 6, 1, 1, 0}, {5, 8, 40, 3, 3, 1, 1, 0}, {11, 12, 12, 3, 5, 1, 1, 0},
		{7, 16, 8, 3, 3, 3, 1, 1}, {6, 8, 16, 6, 6, 3, 2, 1},
	} {
		g, err := NewConvGeom(tensor.Shape{c.n, c.ci, c.h, c.w}, tensor.Shape{c.co, c.ci, c.k, c.k}, c.s, c.s, Padding2D{c.pad, c.pad, c.pad, c.pad})
		if err != nil {
			t.Fatal(err)
		}
		if !g.imageBlocks() {
			t.Fatalf("%v: the blocks would not run", g)
		}
		x := randTensor(rng, -1, 1, c.n, c.ci, c.h, c.w).Float32s()
		w := randTensor(rng, -1, 1, g.WShape()...).Float32s()
		bias, scale, shift := randTensor(rng, -1, 1, c.co).Float32s(), randTensor(rng, -1, 1, c.co).Float32s(), randTensor(rng, -1, 1, c.co).Float32s()
		for _, affine := range []bool{false, true} {
			var b, sc, sh []float32
			if affine {
				b, sc, sh = bias, scale, shift
			}
			out := func(on bool) []float32 {
				imageBlocksOn, indirectOn = on, false
				defer func() { imageBlocksOn, indirectOn = true, true }()
				y := make([]float32, size(g.YShape()))
				convImages(&g, x, w, b, sc, sh, affine, y)
				return y
			}
			want, got := out(false), out(true)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v affine %v: element %d is %v, one image at a time %v", g, affine, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkConvImageBlocks times ResNet50 v2's convolutions on small maps at 96×96
// (batch 16 and 32, forward) over blocks of images side by side and one image at a time
// (the indirect product, or im2col), alternating within one loop, and reports their
// ratio (other/blocks: above 1, the blocks are faster); the shapes imageBlocks turns down
// are among them.
//
//	go test ./internal/ops -run '^$' -bench ConvImageBlocks -benchtime 10x
func BenchmarkConvImageBlocks(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ n, ci, co, hw, k int }{
		{16, 512, 512, 3, 3}, {32, 512, 512, 3, 3}, {16, 128, 128, 4, 3}, {32, 128, 128, 4, 3},
		{16, 2048, 512, 3, 1}, {16, 512, 2048, 3, 1}, {32, 2048, 512, 3, 1},
		{16, 1024, 256, 6, 1}, {16, 256, 1024, 6, 1}, {32, 1024, 256, 6, 1}, {32, 256, 1024, 6, 1},
	} {
		pad := c.k / 2
		g, err := NewConvGeom(tensor.Shape{c.n, c.ci, c.hw, c.hw}, tensor.Shape{c.co, c.ci, c.k, c.k}, 1, 1, Padding2D{pad, pad, pad, pad})
		if err != nil {
			b.Fatal(err)
		}
		x, w := randTensor(rng, -1, 1, g.XShape()...).Float32s(), randTensor(rng, -1, 1, g.WShape()...).Float32s()
		y := make([]float32, size(g.YShape()))
		pass := func(blocks bool) float64 {
			winogradOn = false
			defer func() { winogradOn = true }()
			cpu0 := cpuSeconds()
			if blocks {
				convImageBlocks(&g, x, w, nil, nil, nil, false, y)
			} else {
				imageBlocksOn = false
				convImages(&g, x, w, nil, nil, nil, false, y)
				imageBlocksOn = true
			}
			return cpuSeconds() - cpu0
		}
		b.Run(fmt.Sprintf("%dto%dx%dx%dk%d/b%d", c.ci, c.co, c.hw, c.hw, c.k, c.n), func(b *testing.B) {
			pass(false)
			pass(true)
			var other, blocks float64
			for b.Loop() {
				other += pass(false)
				blocks += pass(true)
			}
			b.ReportMetric(other/blocks, "other/blocks")
		})
	}
}
