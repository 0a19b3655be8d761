package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// TestConvWinograd checks convWinograd against the im2col path (the direct sums) on 3×3
// stride-1 convolutions of several paddings and sizes, with and without bias and batch
// norm, and checks that the assembly transforms give the Go transforms' bits: one image
// at a time (rows of 8k and 8k+4 tiles) and in blocks of images side by side.
func TestConvWinograd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	one := Padding2D{1, 1, 1, 1}
	for _, c := range []struct {
		n, c, o, h, w int
		pad           Padding2D
	}{
		{3, 16, 16, 32, 32, one}, {2, 32, 32, 16, 16, one}, {2, 64, 64, 8, 8, one}, // ResNet20
		{2, 3, 16, 32, 32, one},                        // its stem
		{2, 6, 5, 24, 24, one}, {2, 3, 2, 48, 40, one}, // groups of 8 and a last group of 4
		{2, 4, 3, 26, 26, Padding2D{}},                                                   // ResNet50 v2's padded-then-valid 3×3
		{2, 4, 3, 10, 14, Padding2D{0, 2, 2, 0}}, {1, 2, 3, 6, 8, Padding2D{3, 0, 1, 2}}, // asymmetric
		{2, 5, 7, 6, 6, one}, {1, 3, 4, 2, 2, one}, // one image a block, the tile after it dropped
		{9, 4, 5, 6, 6, one}, {10, 3, 4, 12, 10, one}, {7, 8, 8, 4, 6, Padding2D{0, 1, 0, 1}}, // blocks of images side by side
	} {
		g, err := NewConvGeom(tensor.Shape{c.n, c.c, c.h, c.w}, tensor.Shape{c.o, c.c, 3, 3}, 1, 1, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, -1, 1, c.n, c.c, c.h, c.w).Float32s()
		w := randTensor(rng, -1, 1, c.o, c.c, 3, 3).Float32s()
		bias, scale, shift := randTensor(rng, -1, 1, c.o).Float32s(), randTensor(rng, -1, 1, c.o).Float32s(), randTensor(rng, -1, 1, c.o).Float32s()
		// The assembly output transform applies them on the way out.
		for _, mode := range []string{"plain", "bias", "affine", "affine+relu", "bias+affine+relu"} {
			var b, sc, sh []float32
			relu := strings.HasSuffix(mode, "relu")
			if strings.HasPrefix(mode, "bias") {
				b = bias
			}
			if strings.Contains(mode, "affine") {
				sc, sh = scale, shift
			}
			want := make([]float32, c.n*c.o*g.OH*g.OW)
			got, goGot := make([]float32, len(want)), make([]float32, len(want))
			winogradOn = false
			convImages(&g, x, w, b, sc, sh, relu, want)
			winogradOn = true
			convWinograd(&g, x, w, b, sc, sh, relu, got)
			saved := useAVX2
			useAVX2 = false
			convWinograd(&g, x, w, b, sc, sh, relu, goGot)
			useAVX2 = saved
			// The direct sums of 9·C products of values in [-1, 1] are a few units; the
			// transforms add a few roundings of that size.
			tol := 4e-7 * float64(9*c.c)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > tol {
					t.Fatalf("%+v %s: element %d is %v, the direct sum %v (tolerance %g)", c, mode, i, got[i], want[i], tol)
				}
				if math.Float32bits(got[i]) != math.Float32bits(goGot[i]) {
					t.Fatalf("%+v %s: element %d is %v with the assembly transforms, %v with Go's", c, mode, i, got[i], goGot[i])
				}
			}
		}
	}
}

// BenchmarkConvWinograd times 3×3 stride-1 convolutions forward by F(2×2, 3×3) and by
// the path convImages takes without it (im2col, or the indirect product from 64
// channels), alternating within one loop, and reports each path's CPU milliseconds per
// op and their ratio (other/winograd: above 1, Winograd is faster). Shapes: ResNet20's
// (batch 128) and its stem, and ResNet50 v2's first stage at 32×32 and 96×96 inputs
// (batch 16, padded by a layer of its own, then valid), and its second and third stages
// at 96×96 (12×12 and 6×6 maps, batch 16 and 32).
//
//	go test ./internal/ops -run '^$' -bench ConvWinograd -benchtime 20x
func BenchmarkConvWinograd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	one := Padding2D{1, 1, 1, 1}
	for _, c := range []struct {
		n, c, o, hw int
		pad         Padding2D
	}{
		{128, 3, 16, 32, one}, {128, 8, 16, 32, one}, {128, 16, 16, 32, one}, {128, 32, 32, 16, one}, {128, 64, 64, 8, one},
		{16, 64, 64, 10, Padding2D{}}, {16, 64, 64, 26, Padding2D{}}, {16, 128, 128, 14, Padding2D{}}, {16, 256, 256, 8, Padding2D{}},
		{32, 128, 128, 14, Padding2D{}}, {32, 256, 256, 8, Padding2D{}},
	} {
		g, err := NewConvGeom(tensor.Shape{c.n, c.c, c.hw, c.hw}, tensor.Shape{c.o, c.c, 3, 3}, 1, 1, c.pad)
		if err != nil {
			b.Fatal(err)
		}
		x, w := randTensor(rng, -1, 1, g.XShape()...).Float32s(), randTensor(rng, -1, 1, g.WShape()...).Float32s()
		y := make([]float32, size(g.YShape()))
		pass := func(on bool) float64 {
			winogradOn = on
			defer func() { winogradOn = true }()
			cpu0 := cpuSeconds()
			convImages(&g, x, w, nil, nil, nil, false, y)
			return cpuSeconds() - cpu0
		}
		name := fmt.Sprintf("%dto%dx%dx%d", c.c, c.o, g.OH, g.OW)
		if c.pad == (Padding2D{}) {
			name += "valid"
		}
		b.Run(fmt.Sprintf("%s/b%d", name, c.n), func(b *testing.B) {
			if !g.winogradGeom() {
				b.Skip("convImages does not run this shape by Winograd here")
			}
			pass(false)
			pass(true)
			var other, wino float64
			for b.Loop() {
				other += pass(false)
				wino += pass(true)
			}
			b.ReportMetric(other*1e3/float64(b.N), "other-cpu-ms/op")
			b.ReportMetric(wino*1e3/float64(b.N), "winograd-cpu-ms/op")
			b.ReportMetric(other/wino, "other/winograd")
		})
	}
}

// TestConvWinogradThreads checks that the number of goroutines does not change a bit of
// the result of blocks of small images.
func TestConvWinogradThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	g, err := NewConvGeom(tensor.Shape{24, 8, 6, 6}, tensor.Shape{16, 8, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rng, -1, 1, g.XShape()...).Float32s()
	w := randTensor(rng, -1, 1, g.WShape()...).Float32s()
	saved := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(saved)
	var want []float32
	for _, procs := range []int{1, 2, 3, 6} {
		runtime.GOMAXPROCS(procs)
		y := make([]float32, size(g.YShape()))
		convWinograd(&g, x, w, nil, nil, nil, false, y)
		if want == nil {
			want = y
			continue
		}
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
				t.Fatalf("GOMAXPROCS %d: element %d is %v, %v with 1", procs, i, y[i], want[i])
			}
		}
	}
}

// TestWinogradKernelGrad checks the kernel gradient by Winograd against ConvBackward's
// column-matrix path and the assembly transforms against the Go ones, bit for bit, on
// chunks of two images and of one, with the padding on either side.
func TestWinogradKernelGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, c := range []struct {
		n, c, o, h, w int
		pad           Padding2D
	}{
		{20, 16, 8, 8, 8, Padding2D{1, 1, 1, 1}},   // 16 groups, some of two images: a chunk of two
		{3, 8, 24, 32, 16, Padding2D{1, 1, 1, 1}},  // 128 tiles an image
		{4, 16, 16, 10, 12, Padding2D{0, 1, 2, 1}}, // asymmetric padding
		{2, 8, 8, 6, 6, Padding2D{}},               // valid: 4×4 outputs
	} {
		g, err := NewConvGeom(tensor.Shape{c.n, c.c, c.h, c.w}, tensor.Shape{c.o, c.c, 3, 3}, 1, 1, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		if useAVX2 && !g.winogradGradGeom() {
			t.Fatalf("%v: ConvBackward would not take Winograd's kernel gradient", g)
		}
		x := randTensor(rng, -1, 1, g.XShape()...).Float32s()
		w := randTensor(rng, -1, 1, g.WShape()...).Float32s()
		dy := randTensor(rng, -1, 1, g.YShape()...).Float32s()
		want := make([]float32, len(w))
		dx := make([]float32, len(x))
		winogradOn = false
		err = (CPU{}).ConvBackward(&g, x, w, dy, dx, want, nil)
		winogradOn = true
		if err != nil {
			t.Fatal(err)
		}
		got, goGot := make([]float32, len(w)), make([]float32, len(w))
		winogradKernelGrad(&g, x, dy, got, nil)
		saved := useAVX2
		useAVX2 = false
		winogradKernelGrad(&g, x, dy, goGot, nil)
		useAVX2 = saved
		// Measured: the largest difference is 3-5e-7 of the largest |dw|, float32's
		// rounding of sums of N·OH·OW terms.
		var maxv float64
		for _, v := range want {
			maxv = max(maxv, math.Abs(float64(v)))
		}
		tol := 2e-6 * maxv
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > tol {
				t.Fatalf("%v: dw[%d] is %v, the column-matrix path %v (tolerance %g)", g, i, got[i], want[i], tol)
			}
			if math.Float32bits(got[i]) != math.Float32bits(goGot[i]) {
				t.Fatalf("%v: dw[%d] is %v with the assembly transforms, %v with Go's", g, i, got[i], goGot[i])
			}
		}
	}
}
