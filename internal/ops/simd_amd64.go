//go:build !purego

package ops

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2/FMA loops of simd_amd64.s for the elementwise kernels.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func reluAVX2(x, y *float32, n int)

//go:noescape
func reluGradAVX2(y, dy, dx *float32, n int)

//go:noescape
func affineAVX2(x, y *float32, n int, a, b float32, relu bool)

//go:noescape
func addAVX2(a, b, y *float32, n int, relu bool)

//go:noescape
func sumsAVX2(x *float32, n int, shift float32) (sum, sq float32)

//go:noescape
func bnDotAVX2(dy, x *float32, n int, mu float32) (sdy, sdx float32)

//go:noescape
func bnGradInAVX2(dy, x, dx *float32, n int, k, a, b float32)

//go:noescape
func transpose8AVX2(a *float32, lda int, t *float32, ldt int, rb, cb int)

//go:noescape
func reluGradAddAVX2(y, a, b, dx *float32, n int)

//go:noescape
func evensAVX2(src, dst *float32, n int)

//go:noescape
func winogradInputAVX2(xp *float32, wp int, v *float32, plane, tw, th int)

//go:noescape
func winogradOutputAVX2(m *float32, plane int, y *float32, w, tw, th int, bias, scale, shift float32, mode int)

//go:noescape
func padCopyAVX2(src *float32, w, h int, dst *float32, wp int)

//go:noescape
func winogradInputTAVX2(xt *float32, c int, v *float32, vs, th, tw int)

//go:noescape
func winogradGradTAVX2(dyt *float32, o int, d *float32, ds, th, tw int)
