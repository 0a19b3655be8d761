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

// func transpose8AVX2(a *float32, lda int, t *float32, ldt int, rb, cb int)
// t[j*ldt+i] = a[i*lda+j] for i < 8·rb, j < 8·cb, in 8×8 blocks held in registers.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), AX
	SHLQ $2, AX
	MOVQ t+16(FP), DI
	MOVQ ldt+24(FP), BX
	SHLQ $2, BX
	MOVQ rb+32(FP), R8
	MOVQ cb+40(FP), R9
	LEAQ (AX)(AX*2), R10
	LEAQ (BX)(BX*2), R11

trRows:
	TESTQ R8, R8
	JZ    trDone
	MOVQ  SI, R12
	MOVQ  DI, R13
	MOVQ  R9, CX

trCols:
	TESTQ      CX, CX
	JZ         trNextRows
	VMOVUPS    (R12), Y0
	VMOVUPS    (R12)(AX*1), Y1
	VMOVUPS    (R12)(AX*2), Y2
	VMOVUPS    (R12)(R10*1), Y3
	LEAQ       (R12)(AX*4), R14
	VMOVUPS    (R14), Y4
	VMOVUPS    (R14)(AX*1), Y5
	VMOVUPS    (R14)(AX*2), Y6
	VMOVUPS    (R14)(R10*1), Y7
	VUNPCKLPS  Y1, Y0, Y8
	VUNPCKHPS  Y1, Y0, Y9
	VUNPCKLPS  Y3, Y2, Y10
	VUNPCKHPS  Y3, Y2, Y11
	VUNPCKLPS  Y5, Y4, Y12
	VUNPCKHPS  Y5, Y4, Y13
	VUNPCKLPS  Y7, Y6, Y14
	VUNPCKHPS  Y7, Y6, Y15
	VSHUFPS    $0x44, Y10, Y8, Y0
	VSHUFPS    $0xEE, Y10, Y8, Y1
	VSHUFPS    $0x44, Y11, Y9, Y2
	VSHUFPS    $0xEE, Y11, Y9, Y3
	VSHUFPS    $0x44, Y14, Y12, Y4
	VSHUFPS    $0xEE, Y14, Y12, Y5
	VSHUFPS    $0x44, Y15, Y13, Y6
	VSHUFPS    $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (R13)
	VMOVUPS    Y9, (R13)(BX*1)
	VMOVUPS    Y10, (R13)(BX*2)
	VMOVUPS    Y11, (R13)(R11*1)
	LEAQ       (R13)(BX*4), R14
	VMOVUPS    Y12, (R14)
	VMOVUPS    Y13, (R14)(BX*1)
	VMOVUPS    Y14, (R14)(BX*2)
	VMOVUPS    Y15, (R14)(R11*1)
	ADDQ       $32, R12
	LEAQ       (R13)(BX*8), R13
	DECQ       CX
	JMP        trCols

trNextRows:
	LEAQ (SI)(AX*8), SI
	ADDQ $32, DI
	DECQ R8
	JMP  trRows

trDone:
	VZEROUPPER
	RET

// func reluGradAddAVX2(y, a, b, dx *float32, n int)
// dx = a + b where y > 0 (as int32), else 0.
TEXT ·reluGradAddAVX2(SB), NOSPLIT, $0-40
	MOVQ  y+0(FP), SI
	MOVQ  a+8(FP), DX
	MOVQ  b+16(FP), BX
	MOVQ  dx+24(FP), DI
	MOVQ  n+32(FP), CX
	VPXOR Y15, Y15, Y15

rga32:
	CMPQ     CX, $32
	JL       rga8
	VMOVUPS  (DX), Y0
	VMOVUPS  32(DX), Y1
	VMOVUPS  64(DX), Y2
	VMOVUPS  96(DX), Y3
	VADDPS   (BX), Y0, Y0
	VADDPS   32(BX), Y1, Y1
	VADDPS   64(BX), Y2, Y2
	VADDPS   96(BX), Y3, Y3
	VMOVDQU  (SI), Y4
	VMOVDQU  32(SI), Y5
	VMOVDQU  64(SI), Y6
	VMOVDQU  96(SI), Y7
	VPCMPGTD Y15, Y4, Y4
	VPCMPGTD Y15, Y5, Y5
	VPCMPGTD Y15, Y6, Y6
	VPCMPGTD Y15, Y7, Y7
	VPAND    Y0, Y4, Y0
	VPAND    Y1, Y5, Y1
	VPAND    Y2, Y6, Y2
	VPAND    Y3, Y7, Y3
	VMOVUPS  Y0, (DI)
	VMOVUPS  Y1, 32(DI)
	VMOVUPS  Y2, 64(DI)
	VMOVUPS  Y3, 96(DI)
	ADDQ     $128, SI
	ADDQ     $128, DX
	ADDQ     $128, BX
	ADDQ     $128, DI
	SUBQ     $32, CX
	JMP      rga32

rga8:
	CMPQ     CX, $8
	JL       rgaDone
	VMOVUPS  (DX), Y0
	VADDPS   (BX), Y0, Y0
	VMOVDQU  (SI), Y4
	VPCMPGTD Y15, Y4, Y4
	VPAND    Y0, Y4, Y0
	VMOVUPS  Y0, (DI)
	ADDQ     $32, SI
	ADDQ     $32, DX
	ADDQ     $32, BX
	ADDQ     $32, DI
	SUBQ     $8, CX
	JMP      rga8

rgaDone:
	VZEROUPPER
	RET

// func evensAVX2(src, dst *float32, n int)
// dst[i] = src[2i] for i < n (n a multiple of 8). Each block of 8 loads src[16k : 16k+8]
// and src[16k+7 : 16k+15] and takes elements 0, 2 of each lane of the first and 1, 3 of
// the second, so it never reads past src[2n-2].
TEXT ·evensAVX2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ n+16(FP), CX

ev8:
	CMPQ    CX, $8
	JL      evDone
	VMOVUPS (SI), Y0
	VMOVUPS 28(SI), Y1
	VSHUFPS $0xD8, Y1, Y0, Y2
	VPERMPD $0xD8, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ    $64, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     ev8

evDone:
	VZEROUPPER
	RET
