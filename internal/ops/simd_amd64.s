//go:build !purego

#include "textflag.h"

// AVX2/FMA loops over float32 vectors for the elementwise kernels (see simd.go). Each
// handles n elements, n a multiple of 8; the callers do the remainder in Go. ReLU is the
// bit trick of the Go kernels (clear a value whose sign bit is set), so -0 and NaNs with
// the sign bit set give +0 exactly as there.

// func reluAVX2(x, y *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX

relu32:
	CMPQ CX, $32
	JL   relu8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VPSRAD  $31, Y0, Y4
	VPSRAD  $31, Y1, Y5
	VPSRAD  $31, Y2, Y6
	VPSRAD  $31, Y3, Y7
	VPANDN  Y0, Y4, Y0
	VPANDN  Y1, Y5, Y1
	VPANDN  Y2, Y6, Y2
	VPANDN  Y3, Y7, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     relu32

relu8:
	CMPQ CX, $8
	JL   reluDone
	VMOVUPS (SI), Y0
	VPSRAD  $31, Y0, Y4
	VPANDN  Y0, Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     relu8

reluDone:
	VZEROUPPER
	RET

// func reluGradAVX2(y, dy, dx *float32, n int)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ   y+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   dx+16(FP), DI
	MOVQ   n+24(FP), CX
	VPXOR  Y15, Y15, Y15

rg32:
	CMPQ      CX, $32
	JL        rg8
	VMOVDQU   (SI), Y0
	VMOVDQU   32(SI), Y1
	VMOVDQU   64(SI), Y2
	VMOVDQU   96(SI), Y3
	VPCMPGTD  Y15, Y0, Y0
	VPCMPGTD  Y15, Y1, Y1
	VPCMPGTD  Y15, Y2, Y2
	VPCMPGTD  Y15, Y3, Y3
	VPAND     (DX), Y0, Y0
	VPAND     32(DX), Y1, Y1
	VPAND     64(DX), Y2, Y2
	VPAND     96(DX), Y3, Y3
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, 32(DI)
	VMOVDQU   Y2, 64(DI)
	VMOVDQU   Y3, 96(DI)
	ADDQ      $128, SI
	ADDQ      $128, DX
	ADDQ      $128, DI
	SUBQ      $32, CX
	JMP       rg32

rg8:
	CMPQ     CX, $8
	JL       rgDone
	VMOVDQU  (SI), Y0
	VPCMPGTD Y15, Y0, Y0
	VPAND    (DX), Y0, Y0
	VMOVDQU  Y0, (DI)
	ADDQ     $32, SI
	ADDQ     $32, DX
	ADDQ     $32, DI
	SUBQ     $8, CX
	JMP      rg8

rgDone:
	VZEROUPPER
	RET

// func affineAVX2(x, y *float32, n int, a, b float32, relu bool)
// y = a*x + b, then ReLU when relu is set.
TEXT ·affineAVX2(SB), NOSPLIT, $0-33
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y14
	VBROADCASTSS b+28(FP), Y15
	MOVBLZX      relu+32(FP), AX
	TESTQ        AX, AX
	JNZ          afr32

af32:
	CMPQ        CX, $32
	JL          af8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VMOVUPS     64(SI), Y2
	VMOVUPS     96(SI), Y3
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VFMADD213PS Y15, Y14, Y2
	VFMADD213PS Y15, Y14, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         af32

af8:
	CMPQ        CX, $8
	JL          afDone
	VMOVUPS     (SI), Y0
	VFMADD213PS Y15, Y14, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         af8

afr32:
	CMPQ        CX, $32
	JL          afr8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VMOVUPS     64(SI), Y2
	VMOVUPS     96(SI), Y3
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VFMADD213PS Y15, Y14, Y2
	VFMADD213PS Y15, Y14, Y3
	VPSRAD      $31, Y0, Y4
	VPSRAD      $31, Y1, Y5
	VPSRAD      $31, Y2, Y6
	VPSRAD      $31, Y3, Y7
	VPANDN      Y0, Y4, Y0
	VPANDN      Y1, Y5, Y1
	VPANDN      Y2, Y6, Y2
	VPANDN      Y3, Y7, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         afr32

afr8:
	CMPQ        CX, $8
	JL          afDone
	VMOVUPS     (SI), Y0
	VFMADD213PS Y15, Y14, Y0
	VPSRAD      $31, Y0, Y4
	VPANDN      Y0, Y4, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         afr8

afDone:
	VZEROUPPER
	RET

// func addAVX2(a, b, y *float32, n int, relu bool)
// y = a + b, then ReLU when relu is set.
TEXT ·addAVX2(SB), NOSPLIT, $0-33
	MOVQ    a+0(FP), SI
	MOVQ    b+8(FP), DX
	MOVQ    y+16(FP), DI
	MOVQ    n+24(FP), CX
	MOVBLZX relu+32(FP), AX
	TESTQ   AX, AX
	JNZ     addr32

add32:
	CMPQ    CX, $32
	JL      add8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VADDPS  64(DX), Y2, Y2
	VADDPS  96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     add32

add8:
	CMPQ    CX, $8
	JL      addDone
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     add8

addr32:
	CMPQ    CX, $32
	JL      addr8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VADDPS  64(DX), Y2, Y2
	VADDPS  96(DX), Y3, Y3
	VPSRAD  $31, Y0, Y4
	VPSRAD  $31, Y1, Y5
	VPSRAD  $31, Y2, Y6
	VPSRAD  $31, Y3, Y7
	VPANDN  Y0, Y4, Y0
	VPANDN  Y1, Y5, Y1
	VPANDN  Y2, Y6, Y2
	VPANDN  Y3, Y7, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     addr32

addr8:
	CMPQ    CX, $8
	JL      addDone
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VPSRAD  $31, Y0, Y4
	VPANDN  Y0, Y4, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     addr8

addDone:
	VZEROUPPER
	RET

// hsum8 reduces the 8 lanes of Y0 to a scalar in X0 (clobbers X1).
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X1, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1; \
	VADDSS       X1, X0, X0

// func sumsAVX2(x *float32, n int, shift float32) (sum, sq float32)
// sum = Σ (x-shift), sq = Σ (x-shift)², in 16 float32 lanes each.
TEXT ·sumsAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS shift+16(FP), Y15
	VXORPS       Y8, Y8, Y8
	VXORPS       Y9, Y9, Y9
	VXORPS       Y10, Y10, Y10
	VXORPS       Y11, Y11, Y11

sm16:
	CMPQ        CX, $16
	JL          sm8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VSUBPS      Y15, Y0, Y0
	VSUBPS      Y15, Y1, Y1
	VADDPS      Y0, Y8, Y8
	VADDPS      Y1, Y9, Y9
	VFMADD231PS Y0, Y0, Y10
	VFMADD231PS Y1, Y1, Y11
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         sm16

sm8:
	CMPQ        CX, $8
	JL          smDone
	VMOVUPS     (SI), Y0
	VSUBPS      Y15, Y0, Y0
	VADDPS      Y0, Y8, Y8
	VFMADD231PS Y0, Y0, Y10

smDone:
	VADDPS Y9, Y8, Y0
	HSUM8
	MOVSS  X0, sum+24(FP)
	VADDPS Y11, Y10, Y0
	HSUM8
	MOVSS  X0, sq+28(FP)
	VZEROUPPER
	RET

// func bnDotAVX2(dy, x *float32, n int, mu float32) (sdy, sdx float32)
// sdy = Σ dy, sdx = Σ dy·(x-mu).
TEXT ·bnDotAVX2(SB), NOSPLIT, $0-40
	MOVQ         dy+0(FP), DX
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS mu+24(FP), Y15
	VXORPS       Y8, Y8, Y8
	VXORPS       Y9, Y9, Y9
	VXORPS       Y10, Y10, Y10
	VXORPS       Y11, Y11, Y11

bd16:
	CMPQ        CX, $16
	JL          bd8
	VMOVUPS     (DX), Y0
	VMOVUPS     32(DX), Y1
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VSUBPS      Y15, Y2, Y2
	VSUBPS      Y15, Y3, Y3
	VADDPS      Y0, Y8, Y8
	VADDPS      Y1, Y9, Y9
	VFMADD231PS Y2, Y0, Y10
	VFMADD231PS Y3, Y1, Y11
	ADDQ        $64, DX
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         bd16

bd8:
	CMPQ        CX, $8
	JL          bdDone
	VMOVUPS     (DX), Y0
	VMOVUPS     (SI), Y2
	VSUBPS      Y15, Y2, Y2
	VADDPS      Y0, Y8, Y8
	VFMADD231PS Y2, Y0, Y10

bdDone:
	VADDPS Y9, Y8, Y0
	HSUM8
	MOVSS  X0, sdy+32(FP)
	VADDPS Y11, Y10, Y0
	HSUM8
	MOVSS  X0, sdx+36(FP)
	VZEROUPPER
	RET

// func bnGradInAVX2(dy, x, dx *float32, n int, k, a, b float32)
// dx = k·dy + a·x + b.
TEXT ·bnGradInAVX2(SB), NOSPLIT, $0-44
	MOVQ         dy+0(FP), DX
	MOVQ         x+8(FP), SI
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS k+32(FP), Y13
	VBROADCASTSS a+36(FP), Y14
	VBROADCASTSS b+40(FP), Y15

gi32:
	CMPQ        CX, $32
	JL          gi8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VMOVUPS     64(SI), Y2
	VMOVUPS     96(SI), Y3
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VFMADD213PS Y15, Y14, Y2
	VFMADD213PS Y15, Y14, Y3
	VFMADD231PS (DX), Y13, Y0
	VFMADD231PS 32(DX), Y13, Y1
	VFMADD231PS 64(DX), Y13, Y2
	VFMADD231PS 96(DX), Y13, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, DX
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         gi32

gi8:
	CMPQ        CX, $8
	JL          giDone
	VMOVUPS     (SI), Y0
	VFMADD213PS Y15, Y14, Y0
	VFMADD231PS (DX), Y13, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, DX
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         gi8

giDone:
	VZEROUPPER
	RET
