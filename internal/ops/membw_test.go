package ops

import "testing"

func BenchmarkMemcpy8MB(b *testing.B) {
	src, dst := make([]float32, 2<<20), make([]float32, 2<<20)
	b.SetBytes(16 << 20)
	for b.Loop() {
		parFor(len(src), elemChunk, func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
	}
}
