package augment

import (
	"runtime"
	"testing"
)

// BenchmarkSimCLR512 augments two views of a 512-image 3×32×32 batch with SimCLRCIFAR, on
// runtime.GOMAXPROCS goroutines, and reports images per second (both views counted).
func BenchmarkSimCLR512(b *testing.B) {
	const n, c, h, w = 512, 3, 32, 32
	src := randomBatch(n, c, h, w, 1)
	dst := make([]float32, 2*len(src))
	p := SimCLRCIFAR()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seed := uint64(2 * i)
		if err := p.Augment(dst[:len(src)], src, n, c, h, w, seed); err != nil {
			b.Fatal(err)
		}
		if err := p.Augment(dst[len(src):], src, n, c, h, w, seed+1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*n*b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "goroutines")
}

// BenchmarkSimCLRSTL10x128 is the 96 px recipe with blur: one view of 128 images.
func BenchmarkSimCLRSTL10x128(b *testing.B) {
	const n, c, h, w = 128, 3, 96, 96
	src := randomBatch(n, c, h, w, 1)
	dst := make([]float32, len(src))
	p := SimCLRSTL10()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Augment(dst, src, n, c, h, w, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
