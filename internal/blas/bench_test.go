package blas

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the products of a ResNet20 training step at batch 128 (im2col rows are
// N*H*W pixels) and of the dense head, named layer/pass.
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	// forward: im2col (N*H*W × Cin*9) · W (Cin*9 × Cout), W stored either way
	{"fwd16", false, false, 131072, 16, 144},
	{"fwd16-wT", false, true, 131072, 16, 144},
	{"fwd32", false, false, 32768, 32, 288},
	{"fwd32-wT", false, true, 32768, 32, 288},
	{"fwd64", false, false, 8192, 64, 576},
	{"fwd64-wT", false, true, 8192, 64, 576},
	// backward data: dY (N*H*W × Cout) · W (Cout × Cin*9)
	{"bwdData16", false, false, 131072, 144, 16},
	{"bwdData32", false, false, 32768, 288, 32},
	{"bwdData64", false, false, 8192, 576, 64},
	// backward weights: dYᵀ (Cout × N*H*W) · im2col (N*H*W × Cin*9)
	{"bwdW16", true, false, 16, 144, 131072},
	{"bwdW32", true, false, 32, 288, 32768},
	{"bwdW64", true, false, 64, 576, 8192},
	// dense 64 → 10 at batch 128: forward, weight gradient, input gradient
	{"dense", false, false, 128, 10, 64},
	{"denseW", true, false, 64, 10, 128},
	{"denseX", false, true, 128, 64, 10},
}

// BenchmarkSgemm reports GFLOP/s per shape and backend. Run a few times with a small
// benchtime, e.g. go test -run XXX -bench Sgemm -benchtime 5x -count 3 ./internal/blas/
func BenchmarkSgemm(b *testing.B) {
	defer func() { restoreAsmISA(); _ = SetBackend("auto") }()
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = s.k, s.m
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = s.n, s.k
		}
		a, bm, c := randMatrix(r, ar, ac, ac), randMatrix(r, br, bc, bc), randMatrix(r, s.m, s.n, s.n)
		run := func(b *testing.B) {
			Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, ac, bm, bc, 0, c, s.n) // warm up
			cpu0 := cpuSeconds()
			for b.Loop() {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, ac, bm, bc, 0, c, s.n)
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N) / 1e9
			b.ReportMetric(flops/b.Elapsed().Seconds(), "GFLOP/s")
			if cpu := cpuSeconds() - cpu0; cpu > 0 {
				// Throughput per busy CPU-second, less disturbed by other load than wall time.
				b.ReportMetric(flops/cpu, "GFLOP/cpu-s")
			}
		}
		for _, name := range []string{"asm", "openblas", "go"} {
			if SetBackend(name) != nil {
				continue
			}
			if name != "asm" {
				b.Run(fmt.Sprintf("%s/%s", s.name, name), run)
				continue
			}
			for _, isa := range supportedAsmISAs() {
				useAsmISA(isa)
				_ = SetBackend("asm")
				b.Run(fmt.Sprintf("%s/%s", s.name, Backend()), run)
			}
			restoreAsmISA()
		}
	}
}
