//go:build !amd64 || purego

package ops

// useAVX2 is false: the elementwise kernels run their Go loops.
var useAVX2 = false

func reluAVX2(x, y *float32, n int)                            { panic("ops: no AVX2") }
func reluGradAVX2(y, dy, dx *float32, n int)                   { panic("ops: no AVX2") }
func affineAVX2(x, y *float32, n int, a, b float32, relu bool) { panic("ops: no AVX2") }
func addAVX2(a, b, y *float32, n int, relu bool)               { panic("ops: no AVX2") }
func sumsAVX2(x *float32, n int, shift float32) (sum, sq float32) {
	panic("ops: no AVX2")
}
func bnDotAVX2(dy, x *float32, n int, mu float32) (sdy, sdx float32) {
	panic("ops: no AVX2")
}
func bnGradInAVX2(dy, x, dx *float32, n int, k, a, b float32) { panic("ops: no AVX2") }
func transpose8AVX2(a *float32, lda int, t *float32, ldt int, rb, cb int) {
	panic("ops: no AVX2")
}
func reluGradAddAVX2(y, a, b, dx *float32, n int) { panic("ops: no AVX2") }
func evensAVX2(src, dst *float32, n int)          { panic("ops: no AVX2") }
func winogradInputAVX2(xp *float32, wp int, v *float32, plane, tw, th int) {
	panic("ops: no AVX2")
}
func winogradOutputAVX2(m *float32, plane int, y *float32, w, tw, th int, bias, scale, shift float32, mode int) {
	panic("ops: no AVX2")
}
func padCopyAVX2(src *float32, w, h int, dst *float32, wp int)          { panic("ops: no AVX2") }
func winogradInputTAVX2(xt *float32, c int, v *float32, vs, th, tw int) { panic("ops: no AVX2") }
func winogradGradTAVX2(dyt *float32, o int, d *float32, ds, th, tw int) { panic("ops: no AVX2") }
