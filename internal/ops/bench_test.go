package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Benchmarks at ResNet20's shapes (batch 128, CIFAR-10), calling UsePreallocDo with
// preallocated outputs as the executor does. Run with
//
//	go test ./internal/ops -run '^$' -bench . -benchtime 10x
//
// conv reports GFLOP/s (2·N·O·OH·OW·C·KH·KW per pass); every benchmark reports the CPU
// milliseconds per op of all goroutines (cpu-ms/op), steadier than wall time on a busy
// machine.

type benchOp interface {
	G.Op
	G.UsePreallocDoer
}

func benchRun(b *testing.B, op G.Op, out G.Value, in ...G.Value) {
	b.Helper()
	pd := op.(benchOp)
	if _, err := pd.UsePreallocDo(out, in...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := pd.UsePreallocDo(out, in...); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// reportCPU reports the process's CPU milliseconds per operation since cpu0 (all
// goroutines together), which other load on the machine disturbs less than wall time.
func reportCPU(b *testing.B, cpu0 float64) {
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
	}
}

func zeros(shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
}

var resnetConvs = []struct {
	c, hw int
}{{16, 32}, {32, 16}, {64, 8}}

func BenchmarkConv(b *testing.B) {
	const n = 128
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range resnetConvs {
		g, err := NewConvGeom(tensor.Shape{n, c.c, c.hw, c.hw}, tensor.Shape{c.c, c.c, 3, 3}, 1, 1, Padding2D{1, 1, 1, 1})
		if err != nil {
			b.Fatal(err)
		}
		flops := 2 * float64(n*c.c*c.hw*c.hw*c.c*9)
		x, w, bias := randTensor(rng, -1, 1, n, c.c, c.hw, c.hw), randTensor(rng, -1, 1, c.c, c.c, 3, 3), randTensor(rng, -1, 1, c.c)
		dy := randTensor(rng, -1, 1, n, c.c, c.hw, c.hw)
		name := fmt.Sprintf("%dx%dx%d", c.c, c.hw, c.hw)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(name+"/forward", func(b *testing.B) {
			op := &conv2dOp{g: g, hasBias: true}
			op.base = newBase(op, "conv2d", "", false, g.YShape(), g.XShape(), g.WShape(), tensor.Shape{g.O})
			benchRun(b, op, zeros(g.YShape()...), x, w, bias)
			report(b)
		})
		b.Run(name+"/backward-data", func(b *testing.B) {
			op := &conv2dGradDataOp{g: g}
			op.base = newBase(op, "conv2dGradData", "", false, g.XShape(), g.WShape(), g.YShape())
			benchRun(b, op, zeros(g.XShape()...), w, dy)
			report(b)
		})
		b.Run(name+"/backward-filter", func(b *testing.B) {
			op := &conv2dGradFilterOp{g: g}
			op.base = newBase(op, "conv2dGradFilter", "", false, g.WShape(), g.XShape(), g.YShape())
			benchRun(b, op, zeros(g.WShape()...), x, dy)
			report(b)
		})
		b.Run(name+"/backward-merged", func(b *testing.B) {
			// dx, dw and db in one op, as Conv2D's gradient runs (FLOPs of dx + dw).
			nx, nw := size(g.XShape()), size(g.WShape())
			op := &conv2dGradsOp{g: g, hasBias: true}
			op.base = newBase(op, "conv2dGrads", "", false, tensor.Shape{nx + nw + g.O}, g.XShape(), g.WShape(), g.YShape())
			benchRun(b, op, zeros(nx+nw+g.O), x, w, dy)
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkBatchNorm(b *testing.B) {
	const n = 128
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range resnetConvs {
		shape := tensor.Shape{n, c.c, c.hw, c.hw}
		x, dy := randTensor(rng, -1, 1, shape...), randTensor(rng, -1, 1, shape...)
		gamma, beta, mm, mv := randTensor(rng, 0.5, 1.5, c.c), randTensor(rng, -1, 1, c.c), zeros(c.c), randTensor(rng, 1, 2, c.c)
		vs := tensor.Shape{c.c}
		fwd := &batchNormOp{cfg: BatchNormConfig{Training: true, Momentum: 0.99, Epsilon: 1e-3, UnbiasedMovingVariance: true},
			n: n, c: c.c, s: c.hw * c.hw, mean: make([]float32, c.c), invstd: make([]float32, c.c),
			variance: make([]float32, c.c), scale: make([]float32, c.c), shift: make([]float32, c.c)}
		fwd.base = newBase(fwd, "batchNorm", "", true, shape, shape, vs, vs, vs, vs)
		name := fmt.Sprintf("%dx%dx%d", c.c, c.hw, c.hw)
		b.Run(name+"/forward-train", func(b *testing.B) {
			benchRun(b, fwd, zeros(shape...), x, gamma, beta, mm, mv)
		})
		b.Run(name+"/backward", func(b *testing.B) {
			// [dgamma; dbeta] and dx: the two big ops of the backward pass.
			gp := &bnGradParamsOp{fwd: fwd}
			gp.base = newBase(gp, "bnGradParams", "", false, tensor.Shape{2, c.c}, shape, shape)
			gi := &bnGradInputOp{fwd: fwd}
			gi.base = newBase(gi, "bnGradInput", "", false, shape, shape, shape, vs, tensor.Shape{2, c.c})
			params, dx := zeros(2, c.c), zeros(shape...)
			b.ReportAllocs()
			cpu0 := cpuSeconds()
			defer reportCPU(b, cpu0)
			for b.Loop() {
				if _, err := gp.UsePreallocDo(params, x, dy); err != nil {
					b.Fatal(err)
				}
				if _, err := gi.UsePreallocDo(dx, x, dy, gamma, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReLU(b *testing.B) {
	const n = 128
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range resnetConvs {
		shape := tensor.Shape{n, c.c, c.hw, c.hw}
		x, dy := randTensor(rng, -1, 1, shape...), randTensor(rng, -1, 1, shape...)
		name := fmt.Sprintf("%dx%dx%d", c.c, c.hw, c.hw)
		b.Run(name+"/forward", func(b *testing.B) {
			op := &reluOp{}
			op.base = newBase(op, "relu", "", false, shape, shape)
			benchRun(b, op, zeros(shape...), x)
		})
		b.Run(name+"/backward", func(b *testing.B) {
			op := &reluGradOp{}
			op.base = newBase(op, "reluGrad", "", false, shape, shape, shape)
			benchRun(b, op, zeros(shape...), x, dy)
		})
	}
}

// BenchmarkConvTape compares, on gorgonia's TapeMachine, this package's Conv2D with
// stock gorgonia.Conv2d (the peer) on the 16-channel 32×32 layer, forward only.
func BenchmarkConvTape(b *testing.B) {
	const n, c, hw = 128, 16, 32
	rng := rand.New(rand.NewPCG(5, 5))
	x, w := randTensor(rng, -1, 1, n, c, hw, hw), randTensor(rng, -1, 1, c, c, 3, 3)
	run := func(b *testing.B, build func(x, w *G.Node) (*G.Node, error)) {
		g := G.NewGraph()
		xn := G.NodeFromAny(g, x, G.WithName("x"))
		wn := G.NodeFromAny(g, w, G.WithName("w"))
		if _, err := build(xn, wn); err != nil {
			b.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		defer m.Close()
		b.ReportAllocs()
		for b.Loop() {
			m.Reset()
			if err := m.RunAll(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(2*float64(n*c*hw*hw*c*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	b.Run("selfsup", func(b *testing.B) {
		run(b, func(x, w *G.Node) (*G.Node, error) { return Conv2D(x, w, nil, 1, 1, Padding2D{1, 1, 1, 1}) })
	})
	b.Run("gorgonia", func(b *testing.B) {
		run(b, func(x, w *G.Node) (*G.Node, error) {
			return G.Conv2d(x, w, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1})
		})
	})
}

// BenchmarkConvSmallMaps runs ResNet50 v2's convolutions on small maps (batch 16, 32×32
// and 96×96 inputs) both image by image and batched (cpu_conv_batched.go), alternating
// within one loop, and reports each path's CPU milliseconds per forward + merged backward
// pass and their ratio (image/batched: above 1, batching is faster), and the ratio for the
// forward pass alone (inference).
//
//	go test ./internal/ops -run '^$' -bench ConvSmallMaps -benchtime 5x
func BenchmarkConvSmallMaps(b *testing.B) {
	const n = 16
	rng := rand.New(rand.NewPCG(6, 6))
	for _, c := range []struct{ c, o, hw, k int }{
		{512, 512, 1, 3}, {256, 256, 2, 3}, {1024, 256, 2, 1}, {128, 128, 4, 3}, {512, 128, 4, 1},
		{512, 512, 3, 3}, {256, 256, 6, 3}, {1024, 256, 6, 1}, {64, 64, 8, 3}, {128, 128, 12, 3},
	} {
		pad := c.k / 2
		g, err := NewConvGeom(tensor.Shape{n, c.c, c.hw, c.hw}, tensor.Shape{c.o, c.c, c.k, c.k}, 1, 1, Padding2D{pad, pad, pad, pad})
		if err != nil {
			b.Fatal(err)
		}
		x, w := randTensor(rng, -1, 1, g.XShape()...).Float32s(), randTensor(rng, -1, 1, g.WShape()...).Float32s()
		dy := randTensor(rng, -1, 1, g.YShape()...).Float32s()
		y, dx, dw, db := make([]float32, size(g.YShape())), make([]float32, len(x)), make([]float32, len(w)), make([]float32, c.o)
		// pass returns the CPU seconds of the forward and of the backward pass.
		pass := func(maxP int) (float64, float64) {
			saved := batchedMaxP
			batchedMaxP = maxP
			defer func() { batchedMaxP = saved }()
			cpu0 := cpuSeconds()
			if err := (CPU{}).ConvForward(&g, x, w, nil, y); err != nil {
				b.Fatal(err)
			}
			cpu1 := cpuSeconds()
			if err := (CPU{}).ConvBackward(&g, x, w, dy, dx, dw, db); err != nil {
				b.Fatal(err)
			}
			return cpu1 - cpu0, cpuSeconds() - cpu1
		}
		b.Run(fmt.Sprintf("%dto%dx%dx%dk%d", c.c, c.o, c.hw, c.hw, c.k), func(b *testing.B) {
			pass(0)
			pass(1 << 30)
			var imageF, imageB, batchedF, batchedB float64
			for b.Loop() {
				f, bw := pass(0)
				imageF, imageB = imageF+f, imageB+bw
				f, bw = pass(1 << 30)
				batchedF, batchedB = batchedF+f, batchedB+bw
			}
			b.ReportMetric((imageF+imageB)*1e3/float64(b.N), "image-cpu-ms/op")
			b.ReportMetric((batchedF+batchedB)*1e3/float64(b.N), "batched-cpu-ms/op")
			b.ReportMetric((imageF+imageB)/(batchedF+batchedB), "image/batched")
			b.ReportMetric(imageF/batchedF, "forward-image/batched")
		})
	}
}

// BenchmarkMaxPool times ResNet50 v2's stem pooling at 96×96 (3×3, stride 2, padding 1
// over 48×48 maps of 64 channels, batch 16): the kernel, which takes the maximum of the
// window's rows first, and the window-at-a-time loop that MaxPoolGrad's argmax uses.
func BenchmarkMaxPool(b *testing.B) {
	g, err := NewPoolGeom(tensor.Shape{16, 64, 48, 48}, 3, 3, 2, 2, Padding2D{1, 1, 1, 1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, g.N*g.C*g.H*g.W)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, g.N*g.C*g.OH*g.OW)
	b.Run("rows", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := (CPU{}).MaxPool(&g, x, y); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("windows", func(b *testing.B) {
		hw, ohw := g.H*g.W, g.OH*g.OW
		for i := 0; i < b.N; i++ {
			parFor(g.N*g.C, planeChunk(hw), func(lo, hi int) {
				for pi := lo; pi < hi; pi++ {
					plane := x[pi*hw : (pi+1)*hw]
					for o := 0; o < ohw; o++ {
						y[pi*ohw+o] = plane[poolArgmax(&g, plane, o/g.OW, o%g.OW)]
					}
				}
			})
		}
	})
}
