//go:build !purego

package blas

import "golang.org/x/sys/cpu"

//go:generate go run gen_kernels.go

// asmKernel is one generated assembly tile in its row- and column-A variants.
type asmKernel struct {
	isa        string
	mr, nr     int
	rowA, colA kernFunc
	indirect   indFunc
}

var (
	asmBackend     *backend
	asmUnavailable string
	asmTiles       []tile // tiles of the ISA in use
	asmBestISA     string // the ISA chosen at init
)

func init() {
	isa := ""
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		isa = "Avx512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		isa = "Avx2"
	default:
		asmUnavailable = "the CPU lacks AVX2 and FMA"
		return
	}
	asmBestISA = isa
	useAsmISA(isa)
	indirectPick = pickTile
}

// useAsmISA points the asm backend at the tiles of one instruction set ("Avx512" or
// "Avx2"); tests and benchmarks use it to compare them.
func useAsmISA(isa string) {
	var ts []tile
	for _, k := range generatedKernels {
		if k.isa == isa {
			ts = append(ts, tile{mr: k.mr, nr: k.nr, rowA: k.rowA, colA: k.colA, indirect: k.indirect})
		}
	}
	asmTiles = ts
	e := &engine{pick: pickTile}
	name := "asm-avx512"
	if isa == "Avx2" {
		name = "asm-avx2"
	}
	asmBackend = &backend{name: name, gemm: e.gemm, serial: e.serialGemm, indirect: true}
}

// pickTile chooses the asm tile for an n-column problem: the narrowest tile at least n
// wide when there is one, otherwise the one padding the fewest columns; ties go to the
// earlier tile in the generator's order of preference.
func pickTile(m, n, k int) *tile {
	ts := asmTiles
	best := -1
	for i := range ts {
		if ts[i].nr >= n && (best < 0 || ts[i].nr < ts[best].nr) {
			best = i
		}
	}
	if best >= 0 {
		return &ts[best]
	}
	waste := func(t *tile) int { return ceilDiv(n, t.nr)*t.nr - n }
	best = 0
	for i := range ts {
		if waste(&ts[i]) < waste(&ts[best]) {
			best = i
		}
	}
	return &ts[best]
}
