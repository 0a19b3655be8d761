//go:build !purego

#include "textflag.h"

// The transforms of Winograd's F(2×2, 3×3) (see winograd.go), 8 tiles to a group, AVX2,
// and a last group of 4 on 128-bit registers when a row has 8k+4 tiles. A group of 8's
// tiles sit in the lanes of a vector in the order 0 1 4 5 | 2 3 6 7: the order
// VSHUFPS leaves the even and odd columns of 16 consecutive values in, which VUNPCKLPS and
// VUNPCKHPS undo on the way out. The matrix products in between treat every tile alike,
// so the order never shows outside these two functions. The adds and subtracts are those
// of winogradInputGo and winogradOutputGo, in the same order, so both give the same bits.

// XROW loads the 18 values of padded row R from offset 0 and transforms the group's 8
// patch rows along x: e0 = d0-d2, e1 = d1+d2, e2 = d2-d1, e3 = d1-d3, with d_j the value
// j columns right of each tile's left edge. A, B are clobbered; the results go to C..F.
#define XROW(R, A, B, C, D, E, F) \
	VMOVUPS (R), A; \
	VMOVUPS 32(R), B; \
	VMOVUPS 8(R), C; \
	VMOVUPS 40(R), D; \
	VSHUFPS $0x88, B, A, E; \
	VSHUFPS $0xDD, B, A, F; \
	VSHUFPS $0x88, D, C, A; \
	VSHUFPS $0xDD, D, C, B; \
	VSUBPS  A, E, C; \
	VADDPS  A, F, D; \
	VSUBPS  F, A, E; \
	VSUBPS  B, F, F

// XROW4 is XROW for a group of 4 tiles (10 values), in natural order, on X registers.
#define XROW4(R, A, B, C, D, E, F) \
	VMOVUPS (R), A; \
	VMOVUPS 16(R), B; \
	VMOVUPS 8(R), C; \
	VMOVUPS 24(R), D; \
	VSHUFPS $0x88, B, A, E; \
	VSHUFPS $0xDD, B, A, F; \
	VSHUFPS $0x88, D, C, A; \
	VSHUFPS $0xDD, D, C, B; \
	VSUBPS  A, E, C; \
	VADDPS  A, F, D; \
	VSUBPS  F, A, E; \
	VSUBPS  B, F, F

// func winogradInputAVX2(xp *float32, wp int, v *float32, plane, tw, th int)
// Transforms one channel: xp is its zero-padded plane (rows of wp values, the image at
// row 1, column 1), v its row of V[0] (tiles th·tw, row-major); V[ξ] is plane values on.
// tw is a multiple of 4 (groups of 8 tiles, then one of 4).
TEXT ·winogradInputAVX2(SB), NOSPLIT, $0-48
	MOVQ xp+0(FP), SI
	MOVQ wp+8(FP), AX
	MOVQ v+16(FP), DI
	MOVQ plane+24(FP), BX
	MOVQ tw+32(FP), R13
	MOVQ th+40(FP), R14
	SHLQ $2, AX              // row stride, bytes
	SHLQ $2, BX              // ξ stride, bytes
	LEAQ (AX)(AX*2), R12     // 3 rows
	LEAQ (BX)(BX*2), R11     // 3 ξ planes

rowLoop:
	TESTQ R14, R14
	JZ    done
	MOVQ  SI, DX             // this tile row's patch: padded rows 2ty..2ty+3
	MOVQ  DI, R8             // ξ = 0..3
	LEAQ  (DI)(BX*4), R9     // ξ = 4..7
	LEAQ  (R9)(BX*4), R10    // ξ = 8..11
	LEAQ  (R10)(BX*4), R15   // ξ = 12..15
	MOVQ  R13, CX

group:
	CMPQ CX, $8
	JL   group4
	LEAQ (DX)(AX*1), R14
	XROW(R14, Y8, Y9, Y0, Y1, Y2, Y3)       // e1
	LEAQ (DX)(AX*2), R14
	XROW(R14, Y8, Y9, Y4, Y5, Y6, Y7)       // e2
	VADDPS  Y4, Y0, Y8                      // v1j = e1j + e2j
	VADDPS  Y5, Y1, Y9
	VADDPS  Y6, Y2, Y10
	VADDPS  Y7, Y3, Y11
	VMOVUPS Y8, (R9)
	VMOVUPS Y9, (R9)(BX*1)
	VMOVUPS Y10, (R9)(BX*2)
	VMOVUPS Y11, (R9)(R11*1)
	VSUBPS  Y0, Y4, Y8                      // v2j = e2j - e1j
	VSUBPS  Y1, Y5, Y9
	VSUBPS  Y2, Y6, Y10
	VSUBPS  Y3, Y7, Y11
	VMOVUPS Y8, (R10)
	VMOVUPS Y9, (R10)(BX*1)
	VMOVUPS Y10, (R10)(BX*2)
	VMOVUPS Y11, (R10)(R11*1)
	XROW(DX, Y8, Y9, Y10, Y11, Y12, Y13)    // e0
	VSUBPS  Y4, Y10, Y10                    // v0j = e0j - e2j
	VSUBPS  Y5, Y11, Y11
	VSUBPS  Y6, Y12, Y12
	VSUBPS  Y7, Y13, Y13
	VMOVUPS Y10, (R8)
	VMOVUPS Y11, (R8)(BX*1)
	VMOVUPS Y12, (R8)(BX*2)
	VMOVUPS Y13, (R8)(R11*1)
	LEAQ (DX)(R12*1), R14
	XROW(R14, Y8, Y9, Y10, Y11, Y12, Y13)   // e3
	VSUBPS  Y10, Y0, Y10                    // v3j = e1j - e3j
	VSUBPS  Y11, Y1, Y11
	VSUBPS  Y12, Y2, Y12
	VSUBPS  Y13, Y3, Y13
	VMOVUPS Y10, (R15)
	VMOVUPS Y11, (R15)(BX*1)
	VMOVUPS Y12, (R15)(BX*2)
	VMOVUPS Y13, (R15)(R11*1)
	ADDQ $64, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R15
	SUBQ $8, CX
	JMP  group

group4:
	TESTQ CX, CX
	JZ    rowDone
	LEAQ (DX)(AX*1), R14
	XROW4(R14, X8, X9, X0, X1, X2, X3)
	LEAQ (DX)(AX*2), R14
	XROW4(R14, X8, X9, X4, X5, X6, X7)
	VADDPS  X4, X0, X8
	VADDPS  X5, X1, X9
	VADDPS  X6, X2, X10
	VADDPS  X7, X3, X11
	VMOVUPS X8, (R9)
	VMOVUPS X9, (R9)(BX*1)
	VMOVUPS X10, (R9)(BX*2)
	VMOVUPS X11, (R9)(R11*1)
	VSUBPS  X0, X4, X8
	VSUBPS  X1, X5, X9
	VSUBPS  X2, X6, X10
	VSUBPS  X3, X7, X11
	VMOVUPS X8, (R10)
	VMOVUPS X9, (R10)(BX*1)
	VMOVUPS X10, (R10)(BX*2)
	VMOVUPS X11, (R10)(R11*1)
	XROW4(DX, X8, X9, X10, X11, X12, X13)
	VSUBPS  X4, X10, X10
	VSUBPS  X5, X11, X11
	VSUBPS  X6, X12, X12
	VSUBPS  X7, X13, X13
	VMOVUPS X10, (R8)
	VMOVUPS X11, (R8)(BX*1)
	VMOVUPS X12, (R8)(BX*2)
	VMOVUPS X13, (R8)(R11*1)
	LEAQ (DX)(R12*1), R14
	XROW4(R14, X8, X9, X10, X11, X12, X13)
	VSUBPS  X10, X0, X10
	VSUBPS  X11, X1, X11
	VSUBPS  X12, X2, X12
	VSUBPS  X13, X3, X13
	VMOVUPS X10, (R15)
	VMOVUPS X11, (R15)(BX*1)
	VMOVUPS X12, (R15)(BX*2)
	VMOVUPS X13, (R15)(R11*1)

rowDone:
	LEAQ (SI)(AX*2), SI      // two padded rows down
	LEAQ (DI)(R13*4), DI     // tw tiles on
	MOVQ th+40(FP), R14
	DECQ R14
	MOVQ R14, th+40(FP)
	JMP  rowLoop

done:
	VZEROUPPER
	RET

// func winogradOutputAVX2(m *float32, plane int, y *float32, w, tw, th int, bias, scale, shift float32, mode int)
// Transforms one output channel back: m is its row of M[0] (tiles th·tw, row-major),
// M[ξ] plane values on; y its plane, rows of w = 2·tw values. tw is a multiple of 4.
// On the way out, convOutput's steps with its roundings, as mode's bits say: 4 adds the
// bias (v + bias, one rounding, as FMA(1, v, bias) in affineAVX2), 1 computes
// scale·v + shift (one rounding), 2 a ReLU (reluAVX2's sign-bit trick).
TEXT ·winogradOutputAVX2(SB), NOSPLIT, $0-72
	MOVQ m+0(FP), SI
	MOVQ plane+8(FP), BX
	MOVQ y+16(FP), DI
	MOVQ w+24(FP), DX
	MOVQ tw+32(FP), R13
	MOVQ th+40(FP), R14
	VBROADCASTSS bias+48(FP), Y14
	VBROADCASTSS scale+52(FP), Y12
	VBROADCASTSS shift+56(FP), Y13
	MOVQ         mode+64(FP), AX
	SHLQ $2, BX
	SHLQ $2, DX
	LEAQ (BX)(BX*2), R11

oRowLoop:
	TESTQ R14, R14
	JZ    oDone
	MOVQ  SI, R8
	LEAQ  (SI)(BX*4), R9
	LEAQ  (R9)(BX*4), R10
	LEAQ  (R10)(BX*4), R15
	MOVQ  DI, R12
	MOVQ  R13, CX

oGroup:
	CMPQ CX, $8
	JL   oGroup4
	// s0j = m0j + m1j + m2j, s1j = m1j - m2j - m3j, column by column.
	VMOVUPS (R8), Y8
	VMOVUPS (R9), Y9
	VMOVUPS (R10), Y10
	VMOVUPS (R15), Y11
	VADDPS  Y9, Y8, Y0
	VADDPS  Y10, Y0, Y0
	VSUBPS  Y10, Y9, Y4
	VSUBPS  Y11, Y4, Y4
	VMOVUPS (R8)(BX*1), Y8
	VMOVUPS (R9)(BX*1), Y9
	VMOVUPS (R10)(BX*1), Y10
	VMOVUPS (R15)(BX*1), Y11
	VADDPS  Y9, Y8, Y1
	VADDPS  Y10, Y1, Y1
	VSUBPS  Y10, Y9, Y5
	VSUBPS  Y11, Y5, Y5
	VMOVUPS (R8)(BX*2), Y8
	VMOVUPS (R9)(BX*2), Y9
	VMOVUPS (R10)(BX*2), Y10
	VMOVUPS (R15)(BX*2), Y11
	VADDPS  Y9, Y8, Y2
	VADDPS  Y10, Y2, Y2
	VSUBPS  Y10, Y9, Y6
	VSUBPS  Y11, Y6, Y6
	VMOVUPS (R8)(R11*1), Y8
	VMOVUPS (R9)(R11*1), Y9
	VMOVUPS (R10)(R11*1), Y10
	VMOVUPS (R15)(R11*1), Y11
	VADDPS  Y9, Y8, Y3
	VADDPS  Y10, Y3, Y3
	VSUBPS  Y10, Y9, Y7
	VSUBPS  Y11, Y7, Y7
	// Row 2ty: left s00+s01+s02, right s01-s02-s03; row 2ty+1 from s1.
	VADDPS    Y1, Y0, Y8
	VADDPS    Y2, Y8, Y8
	VSUBPS    Y2, Y1, Y9
	VSUBPS    Y3, Y9, Y9
	VUNPCKLPS Y9, Y8, Y10
	VUNPCKHPS Y9, Y8, Y11
	TESTQ       $4, AX
	JZ          oEpi1a
	VADDPS      Y14, Y10, Y10
	VADDPS      Y14, Y11, Y11

oEpi1a:
	TESTQ       $1, AX
	JZ          oEpi1b
	VFMADD213PS Y13, Y12, Y10
	VFMADD213PS Y13, Y12, Y11

oEpi1b:
	TESTQ       $2, AX
	JZ          oEpi1c
	VPSRAD      $31, Y10, Y15
	VPANDN      Y10, Y15, Y10
	VPSRAD      $31, Y11, Y15
	VPANDN      Y11, Y15, Y11

oEpi1c:
	VMOVUPS   Y10, (R12)
	VMOVUPS   Y11, 32(R12)
	VADDPS    Y5, Y4, Y8
	VADDPS    Y6, Y8, Y8
	VSUBPS    Y6, Y5, Y9
	VSUBPS    Y7, Y9, Y9
	VUNPCKLPS Y9, Y8, Y10
	VUNPCKHPS Y9, Y8, Y11
	TESTQ       $4, AX
	JZ          oEpi2a
	VADDPS      Y14, Y10, Y10
	VADDPS      Y14, Y11, Y11

oEpi2a:
	TESTQ       $1, AX
	JZ          oEpi2b
	VFMADD213PS Y13, Y12, Y10
	VFMADD213PS Y13, Y12, Y11

oEpi2b:
	TESTQ       $2, AX
	JZ          oEpi2c
	VPSRAD      $31, Y10, Y15
	VPANDN      Y10, Y15, Y10
	VPSRAD      $31, Y11, Y15
	VPANDN      Y11, Y15, Y11

oEpi2c:
	VMOVUPS   Y10, (R12)(DX*1)
	VMOVUPS   Y11, 32(R12)(DX*1)
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R15
	ADDQ $64, R12
	SUBQ $8, CX
	JMP  oGroup

oGroup4:
	TESTQ CX, CX
	JZ    oRowDone
	VMOVUPS (R8), X8
	VMOVUPS (R9), X9
	VMOVUPS (R10), X10
	VMOVUPS (R15), X11
	VADDPS  X9, X8, X0
	VADDPS  X10, X0, X0
	VSUBPS  X10, X9, X4
	VSUBPS  X11, X4, X4
	VMOVUPS (R8)(BX*1), X8
	VMOVUPS (R9)(BX*1), X9
	VMOVUPS (R10)(BX*1), X10
	VMOVUPS (R15)(BX*1), X11
	VADDPS  X9, X8, X1
	VADDPS  X10, X1, X1
	VSUBPS  X10, X9, X5
	VSUBPS  X11, X5, X5
	VMOVUPS (R8)(BX*2), X8
	VMOVUPS (R9)(BX*2), X9
	VMOVUPS (R10)(BX*2), X10
	VMOVUPS (R15)(BX*2), X11
	VADDPS  X9, X8, X2
	VADDPS  X10, X2, X2
	VSUBPS  X10, X9, X6
	VSUBPS  X11, X6, X6
	VMOVUPS (R8)(R11*1), X8
	VMOVUPS (R9)(R11*1), X9
	VMOVUPS (R10)(R11*1), X10
	VMOVUPS (R15)(R11*1), X11
	VADDPS  X9, X8, X3
	VADDPS  X10, X3, X3
	VSUBPS  X10, X9, X7
	VSUBPS  X11, X7, X7
	VADDPS    X1, X0, X8
	VADDPS    X2, X8, X8
	VSUBPS    X2, X1, X9
	VSUBPS    X3, X9, X9
	VUNPCKLPS X9, X8, X10
	VUNPCKHPS X9, X8, X11
	TESTQ       $4, AX
	JZ          oEpi3a
	VADDPS      X14, X10, X10
	VADDPS      X14, X11, X11

oEpi3a:
	TESTQ       $1, AX
	JZ          oEpi3b
	VFMADD213PS X13, X12, X10
	VFMADD213PS X13, X12, X11

oEpi3b:
	TESTQ       $2, AX
	JZ          oEpi3c
	VPSRAD      $31, X10, X15
	VPANDN      X10, X15, X10
	VPSRAD      $31, X11, X15
	VPANDN      X11, X15, X11

oEpi3c:
	VMOVUPS   X10, (R12)
	VMOVUPS   X11, 16(R12)
	VADDPS    X5, X4, X8
	VADDPS    X6, X8, X8
	VSUBPS    X6, X5, X9
	VSUBPS    X7, X9, X9
	VUNPCKLPS X9, X8, X10
	VUNPCKHPS X9, X8, X11
	TESTQ       $4, AX
	JZ          oEpi4a
	VADDPS      X14, X10, X10
	VADDPS      X14, X11, X11

oEpi4a:
	TESTQ       $1, AX
	JZ          oEpi4b
	VFMADD213PS X13, X12, X10
	VFMADD213PS X13, X12, X11

oEpi4b:
	TESTQ       $2, AX
	JZ          oEpi4c
	VPSRAD      $31, X10, X15
	VPANDN      X10, X15, X10
	VPSRAD      $31, X11, X15
	VPANDN      X11, X15, X11

oEpi4c:
	VMOVUPS   X10, (R12)(DX*1)
	VMOVUPS   X11, 16(R12)(DX*1)

oRowDone:
	LEAQ (SI)(R13*4), SI
	LEAQ (DI)(DX*2), DI
	DECQ R14
	JMP  oRowLoop

oDone:
	VZEROUPPER
	RET

// func padCopyAVX2(src *float32, w, h int, dst *float32, wp int)
// Copies h rows of w values (w a multiple of 8) from src, rows packed, to dst, rows wp
// apart.
TEXT ·padCopyAVX2(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ w+8(FP), BX
	MOVQ h+16(FP), DX
	MOVQ dst+24(FP), DI
	MOVQ wp+32(FP), AX
	SHLQ $2, AX

pcRow:
	TESTQ DX, DX
	JZ    pcDone
	MOVQ  DI, R8
	MOVQ  BX, CX

pc32:
	CMPQ    CX, $32
	JL      pc8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMOVUPS Y0, (R8)
	VMOVUPS Y1, 32(R8)
	VMOVUPS Y2, 64(R8)
	VMOVUPS Y3, 96(R8)
	ADDQ    $128, SI
	ADDQ    $128, R8
	SUBQ    $32, CX
	JMP     pc32

pc8:
	TESTQ   CX, CX
	JZ      pcNext
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (R8)
	ADDQ    $32, SI
	ADDQ    $32, R8
	SUBQ    $8, CX
	JMP     pc8

pcNext:
	ADDQ AX, DI
	DECQ DX
	JMP  pcRow

pcDone:
	VZEROUPPER
	RET

// The transforms of winograd_grad.go on images transposed to [position][channel], eight
// channels to a vector; the same operations in the same order as the Go loops there.

// TROW loads d0..d3, the values of four consecutive positions of a padded row from R
// (positions AX bytes apart, DI = 3·AX), and transforms them along x:
// e0 = d0-d2 into E, e1 = d1+d2 into F, e2 = d2-d1 into A, e3 = d1-d3 into B.
#define TROW(R, A, B, C, D, E, F) \
	VMOVUPS (R), A; \
	VMOVUPS (R)(AX*1), B; \
	VMOVUPS (R)(AX*2), C; \
	VMOVUPS (R)(DI*1), D; \
	VSUBPS  C, A, E; \
	VADDPS  C, B, F; \
	VSUBPS  B, C, A; \
	VSUBPS  D, B, B

// func winogradInputTAVX2(xt *float32, c int, v *float32, vs, th, tw int)
// xt is the padded image, [(2·th+2)·(2·tw+2)][c]; tile t's row of plane ξ goes to
// v[ξ·vs + t·c]. c is a multiple of 8.
TEXT ·winogradInputTAVX2(SB), NOSPLIT, $0-48
	MOVQ xt+0(FP), SI
	MOVQ c+8(FP), AX
	MOVQ v+16(FP), R8
	MOVQ vs+24(FP), BX
	MOVQ th+32(FP), R14
	SHLQ $2, AX                  // position stride, bytes
	SHLQ $2, BX                  // plane stride, bytes
	LEAQ (AX)(AX*2), DI
	LEAQ (BX)(BX*2), R11
	MOVQ tw+40(FP), DX
	LEAQ 2(DX)(DX*1), DX         // wp = 2·tw + 2
	IMULQ AX, DX                 // row stride, bytes
	LEAQ (R8)(BX*4), R9          // ξ = 4..7
	LEAQ (R9)(BX*4), R10         // ξ = 8..11
	LEAQ (R10)(BX*4), R15        // ξ = 12..15

itRow:
	TESTQ R14, R14
	JZ    itDone
	MOVQ  tw+40(FP), R13

itTile:
	TESTQ R13, R13
	JZ    itRowDone
	MOVQ  c+8(FP), CX

itChan:
	TESTQ CX, CX
	JZ    itTileDone
	LEAQ  (SI)(DX*1), R12
	TROW(R12, Y0, Y1, Y2, Y3, Y4, Y5)       // e1: Y4 Y5 Y0 Y1
	LEAQ  (R12)(DX*1), R12
	TROW(R12, Y6, Y7, Y8, Y9, Y10, Y11)     // e2: Y10 Y11 Y6 Y7
	VADDPS  Y10, Y4, Y12                    // v1j = e1j + e2j
	VADDPS  Y11, Y5, Y13
	VADDPS  Y6, Y0, Y14
	VADDPS  Y7, Y1, Y15
	VMOVUPS Y12, (R9)
	VMOVUPS Y13, (R9)(BX*1)
	VMOVUPS Y14, (R9)(BX*2)
	VMOVUPS Y15, (R9)(R11*1)
	VSUBPS  Y4, Y10, Y12                    // v2j = e2j - e1j
	VSUBPS  Y5, Y11, Y13
	VSUBPS  Y0, Y6, Y14
	VSUBPS  Y1, Y7, Y15
	VMOVUPS Y12, (R10)
	VMOVUPS Y13, (R10)(BX*1)
	VMOVUPS Y14, (R10)(BX*2)
	VMOVUPS Y15, (R10)(R11*1)
	TROW(SI, Y2, Y3, Y8, Y9, Y12, Y13)      // e0: Y12 Y13 Y2 Y3
	VSUBPS  Y10, Y12, Y12                   // v0j = e0j - e2j
	VSUBPS  Y11, Y13, Y13
	VSUBPS  Y6, Y2, Y2
	VSUBPS  Y7, Y3, Y3
	VMOVUPS Y12, (R8)
	VMOVUPS Y13, (R8)(BX*1)
	VMOVUPS Y2, (R8)(BX*2)
	VMOVUPS Y3, (R8)(R11*1)
	LEAQ  (R12)(DX*1), R12
	TROW(R12, Y2, Y3, Y8, Y9, Y12, Y13)     // e3: Y12 Y13 Y2 Y3
	VSUBPS  Y12, Y4, Y12                    // v3j = e1j - e3j
	VSUBPS  Y13, Y5, Y13
	VSUBPS  Y2, Y0, Y2
	VSUBPS  Y3, Y1, Y3
	VMOVUPS Y12, (R15)
	VMOVUPS Y13, (R15)(BX*1)
	VMOVUPS Y2, (R15)(BX*2)
	VMOVUPS Y3, (R15)(R11*1)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R15
	SUBQ $8, CX
	JMP  itChan

itTileDone:
	ADDQ AX, SI                  // the next tile starts two positions on
	DECQ R13
	JMP  itTile

itRowDone:
	// Two padded rows down from the row's start: SI is now 2·tw positions on.
	LEAQ (SI)(DX*2), SI
	MOVQ tw+40(FP), R13
	SHLQ $1, R13
	IMULQ AX, R13
	SUBQ R13, SI
	DECQ R14
	JMP  itRow

itDone:
	VZEROUPPER
	RET

// func winogradGradTAVX2(dyt *float32, o int, d *float32, ds, th, tw int)
// dyt is the output gradient, [(2·th)·(2·tw)][o]; tile t's row of plane ξ of
// A·dy_t·Aᵀ goes to d[ξ·ds + t·o]. o is a multiple of 8.
TEXT ·winogradGradTAVX2(SB), NOSPLIT, $0-48
	MOVQ dyt+0(FP), SI
	MOVQ o+8(FP), AX
	MOVQ d+16(FP), R8
	MOVQ ds+24(FP), BX
	MOVQ th+32(FP), R14
	SHLQ $2, AX                  // position stride, bytes
	SHLQ $2, BX                  // plane stride, bytes
	LEAQ (BX)(BX*2), R11
	MOVQ tw+40(FP), DX
	SHLQ $1, DX                  // ow = 2·tw
	IMULQ AX, DX                 // row stride, bytes
	LEAQ (R8)(BX*4), R9
	LEAQ (R9)(BX*4), R10
	LEAQ (R10)(BX*4), R15
	VPCMPEQD Y15, Y15, Y15
	VPSLLD   $31, Y15, Y15       // the sign bit: negation is an exact flip

gtRow:
	TESTQ R14, R14
	JZ    gtDone
	MOVQ  tw+40(FP), R13

gtTile:
	TESTQ R13, R13
	JZ    gtRowDone
	MOVQ  o+8(FP), CX

gtChan:
	TESTQ CX, CX
	JZ    gtTileDone
	LEAQ    (SI)(DX*1), R12
	VMOVUPS (SI), Y0             // d00
	VMOVUPS (SI)(AX*1), Y1       // d01
	VMOVUPS (R12), Y2            // d10
	VMOVUPS (R12)(AX*1), Y3      // d11
	// i = 0: r = (d00, d01)
	VADDPS  Y1, Y0, Y6
	VSUBPS  Y1, Y0, Y7
	VXORPS  Y15, Y1, Y8
	VMOVUPS Y0, (R8)
	VMOVUPS Y6, (R8)(BX*1)
	VMOVUPS Y7, (R8)(BX*2)
	VMOVUPS Y8, (R8)(R11*1)
	// i = 1: r = (d00+d10, d01+d11)
	VADDPS  Y2, Y0, Y4
	VADDPS  Y3, Y1, Y5
	VADDPS  Y5, Y4, Y6
	VSUBPS  Y5, Y4, Y7
	VXORPS  Y15, Y5, Y8
	VMOVUPS Y4, (R9)
	VMOVUPS Y6, (R9)(BX*1)
	VMOVUPS Y7, (R9)(BX*2)
	VMOVUPS Y8, (R9)(R11*1)
	// i = 2: r = (d00-d10, d01-d11)
	VSUBPS  Y2, Y0, Y4
	VSUBPS  Y3, Y1, Y5
	VADDPS  Y5, Y4, Y6
	VSUBPS  Y5, Y4, Y7
	VXORPS  Y15, Y5, Y8
	VMOVUPS Y4, (R10)
	VMOVUPS Y6, (R10)(BX*1)
	VMOVUPS Y7, (R10)(BX*2)
	VMOVUPS Y8, (R10)(R11*1)
	// i = 3: r = (-d10, -d11)
	VXORPS  Y15, Y2, Y4
	VXORPS  Y15, Y3, Y5
	VADDPS  Y5, Y4, Y6
	VSUBPS  Y5, Y4, Y7
	VXORPS  Y15, Y5, Y8
	VMOVUPS Y4, (R15)
	VMOVUPS Y6, (R15)(BX*1)
	VMOVUPS Y7, (R15)(BX*2)
	VMOVUPS Y8, (R15)(R11*1)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R15
	SUBQ $8, CX
	JMP  gtChan

gtTileDone:
	ADDQ AX, SI                  // the next tile starts two positions on
	DECQ R13
	JMP  gtTile

gtRowDone:
	ADDQ DX, SI                  // SI is one row on from the row's start: one more
	DECQ R14
	JMP  gtRow

gtDone:
	VZEROUPPER
	RET
