//go:build ignore

// gen_kernels writes the amd64 micro-kernels (kernels_amd64.s) and their Go declarations
// (kernels_decl_amd64.go). Run it with `go generate ./internal/blas/`.
//
// Every kernel computes one MR×NR tile of C from a k-long strip of A and B:
//
//	acc[i][j] = sum_p A(i,p) * B(p,j)
//	C(i,j)    = alpha*acc[i][j]                 if beta is +0 (C is not read)
//	C(i,j)    = alpha*acc[i][j] + beta*C(i,j)   otherwise
//
// with B(p,j) = b[p*ldb+j] (vectors along j; "I" kernels: b[off[p]+j], the row offsets read
// from an []int32 passed in ldb's place), C(i,j) = c[i*ldc+j], and A either row-major
// ("R" kernels: A(i,p) = a[i*lda+p], the rows of an untransposed A read in place) or column-major
// ("C" kernels: A(i,p) = a[p*lda+i], a transposed A read in place, or a packed panel).
// Elements of A are broadcast; B and C are loaded as whole vectors, so the NR columns are
// always full (the Go driver pads B and routes partial tiles through a scratch tile).
//
// Software prefetch, chosen by measurement on a Zen 5 EPYC (each roughly 1.3-1.5x on the
// out-of-cache shapes it targets): "R" kernels walk the next row panel of A (rows
// mr..2mr-1) at the pace they read the current one; "C" kernels, which serve the deep
// weight-gradient products, fetch A and B 16 k-steps ahead.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
)

type isa struct {
	name   string // Go identifier infix
	vreg   string // register prefix: Y or Z
	vl     int    // float32 lanes per vector
	nregs  int    // vector registers available
	embBC  bool   // FMA takes an embedded broadcast memory operand
	zeroOp string // instruction that zeroes a register: op R, R, R
}

var (
	avx2   = isa{"Avx2", "Y", 8, 16, false, "VXORPS"}
	avx512 = isa{"Avx512", "Z", 16, 32, true, "VPXORD"}
)

type kernel struct {
	isa  isa
	mr   int
	nv   int // vectors per row: NR = nv*vl
	rowA bool
	// indirect: B(p,j) = b[off[p]+j] with off an []int32 passed in place of ldb (row
	// kernels only): the rows of B are anywhere in b, as an indirect convolution needs.
	indirect bool
}

func (k kernel) nr() int { return k.nv * k.isa.vl }

// ldbParam is the fifth parameter of the kernel's Go declaration.
func (k kernel) ldbParam() string {
	if k.indirect {
		return "off *int32"
	}
	return "ldb int"
}

func (k kernel) name() string {
	mode := "C"
	switch {
	case k.indirect:
		mode = "I"
	case k.rowA:
		mode = "R"
	}
	return fmt.Sprintf("sgemm%s%s%dx%d", k.isa.name, mode, k.mr, k.nr())
}

// configs lists the tiles generated, per ISA in the driver's order of preference when
// several fit a problem equally well (see pickTile). The AVX-512 set covers NR = 16, 32,
// 48, 64 (the skinny channel counts of the convolutions); the AVX2 set NR = 8, 16, 24.
// The shapes were chosen by measurement on a Zen 5 EPYC: 16x16 beat 24x16, 20x16, 12x16
// and 8x16 on 131072×144·144×16; 12x32 and 6x64 were best or tied for N = 32 and 64.
var configs = []struct {
	isa    isa
	mr, nv int
}{
	{avx512, 8, 3},
	{avx512, 16, 1},
	{avx512, 12, 2},
	{avx512, 6, 4},
	{avx2, 6, 2},
	{avx2, 4, 3},
	{avx2, 12, 1},
}

// The prefetch settings below can be overridden for experiments with the environment
// variables PREFETCH_NEXT (an instruction or empty), PREFETCH_B (k-steps) and
// PREFETCH_COLA (empty disables).

// prefetchNext is the prefetch instruction the row-A kernels apply to the next row panel,
// or "" for none.
var prefetchNext = "PREFETCHT0"

// prefetchB is how many k-steps ahead the column-A kernels prefetch B; 0 disables it.
var prefetchB = 16

// prefetchColA makes the column-A kernels prefetch A as far ahead as B.
var prefetchColA = true

// Argument frame shared by all kernels:
// func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)
const frame = "$0-64"

var aPtrs = []string{"SI", "R8", "R9", "R10", "R14", "R15"}

type gen struct {
	buf bytes.Buffer
}

func (g *gen) p(format string, args ...any) {
	fmt.Fprintf(&g.buf, "\t"+format+"\n", args...)
}

func (g *gen) label(l string) { fmt.Fprintf(&g.buf, "%s:\n", l) }

// idx returns the address suffix selecting element offset q (0..3) of a stride held in
// s1 (stride) and s3 (3*stride), relative to base.
func idx(base string, q int, s1, s3 string) string {
	switch q {
	case 0:
		return fmt.Sprintf("(%s)", base)
	case 1:
		return fmt.Sprintf("(%s)(%s*1)", base, s1)
	case 2:
		return fmt.Sprintf("(%s)(%s*2)", base, s1)
	default:
		return fmt.Sprintf("(%s)(%s*1)", base, s3)
	}
}

func (k kernel) acc(i, v int) string { return fmt.Sprintf("%s%d", k.isa.vreg, i*k.nv+v) }

func (k kernel) breg(v int) string { return fmt.Sprintf("%s%d", k.isa.vreg, k.mr*k.nv+v) }

// tmp returns the t-th scratch vector register after the accumulators and B registers.
func (k kernel) tmp(t int) string { return fmt.Sprintf("%s%d", k.isa.vreg, k.mr*k.nv+k.nv+t) }

func (k kernel) ntmp() int { return k.isa.nregs - k.mr*k.nv - k.nv }

// aAddr is the address of A(i, p0+u) for the current loop position.
func (k kernel) aAddr(i, u int) string {
	if k.rowA {
		return fmt.Sprintf("%d%s", 4*u, idx(aPtrs[i/4], i%4, "DX", "R11"))
	}
	return fmt.Sprintf("%d%s", 4*i, idx("SI", u, "DX", "R11"))
}

func (k kernel) bAddr(u, v int) string {
	if k.indirect {
		return fmt.Sprintf("%d(BX)(R13*4)", 4*k.isa.vl*v)
	}
	return fmt.Sprintf("%d%s", 4*k.isa.vl*v, idx("BX", u, "R12", "R13"))
}

// step emits the rank-1 update for k-offset u within the current loop position.
func (g *gen) step(k kernel, u int) {
	if k.indirect {
		g.p("MOVLQSX %d(R12), R13", 4*u) // off[p], sign-extended
	}
	for v := 0; v < k.nv; v++ {
		g.p("VMOVUPS %s, %s", k.bAddr(u, v), k.breg(v))
	}
	for i := 0; i < k.mr; i++ {
		if k.isa.embBC {
			for v := 0; v < k.nv; v++ {
				g.p("VFMADD231PS.BCST %s, %s, %s", k.aAddr(i, u), k.breg(v), k.acc(i, v))
			}
			continue
		}
		t := k.tmp(i % min(k.ntmp(), 2))
		g.p("VBROADCASTSS %s, %s", k.aAddr(i, u), t)
		for v := 0; v < k.nv; v++ {
			g.p("VFMADD231PS %s, %s, %s", k.breg(v), t, k.acc(i, v))
		}
	}
}

// advance moves A and B forward by n k-steps (n is 1 or 4).
func (g *gen) advance(k kernel, n int) {
	if k.rowA {
		for r := 0; r < (k.mr+3)/4; r++ {
			g.p("ADDQ $%d, %s", 4*n, aPtrs[r])
		}
	} else if n == 1 {
		g.p("ADDQ DX, SI")
	} else {
		g.p("LEAQ (SI)(DX*4), SI")
	}
	switch {
	case k.indirect:
		g.p("ADDQ $%d, R12", 4*n)
	case n == 1:
		g.p("ADDQ R12, BX")
	default:
		g.p("LEAQ (BX)(R12*4), BX")
	}
}

func (g *gen) kernel(k kernel) {
	if k.ntmp() < 1 || k.nv+k.ntmp() < 3 {
		log.Fatalf("%s: not enough vector registers", k.name())
	}
	name := k.name()
	fmt.Fprintf(&g.buf, "\n// func %s(k int, a *float32, lda int, b *float32, %s, c *float32, ldc int, alpha, beta float32)\n", name, k.ldbParam())
	fmt.Fprintf(&g.buf, "TEXT ·%s(SB), NOSPLIT, %s\n", name, frame)
	g.p("MOVQ k+0(FP), CX")
	g.p("MOVQ a+8(FP), SI")
	g.p("MOVQ lda+16(FP), DX")
	g.p("SHLQ $2, DX")
	g.p("LEAQ (DX)(DX*2), R11")
	g.p("MOVQ b+24(FP), BX")
	if k.indirect {
		g.p("MOVQ off+32(FP), R12")
	} else {
		g.p("MOVQ ldb+32(FP), R12")
		g.p("SHLQ $2, R12")
		g.p("LEAQ (R12)(R12*2), R13")
	}
	if k.rowA {
		for r := 1; r < (k.mr+3)/4; r++ {
			g.p("LEAQ (%s)(DX*4), %s", aPtrs[r-1], aPtrs[r])
		}
		if prefetchNext != "" {
			g.p("MOVQ $%d, AX", k.mr)
			g.p("IMULQ DX, AX")
			g.p("ADDQ SI, AX")
		}
	} else if prefetchB > 0 {
		g.p("MOVQ $%d, R14", prefetchB)
		g.p("IMULQ R12, R14")
		g.p("ADDQ BX, R14")
		if prefetchColA {
			g.p("MOVQ $%d, R15", prefetchB)
			g.p("IMULQ DX, R15")
			g.p("ADDQ SI, R15")
		}
	}
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			a := k.acc(i, v)
			g.p("%s %s, %s, %s", k.isa.zeroOp, a, a, a)
		}
	}
	g.p("CMPQ CX, $4")
	g.p("JL %s_tail", name)
	g.label(name + "_loop4")
	for u := 0; u < 4; u++ {
		g.step(k, u)
	}
	if k.rowA && prefetchNext != "" {
		// Walk the next row panel (rows mr..2mr-1, contiguous when lda equals the depth)
		// at the pace this one is consumed.
		for q := 0; q < (k.mr+3)/4; q++ {
			g.p("%s %d(AX)", prefetchNext, 64*q)
		}
		g.p("ADDQ $%d, AX", 16*k.mr)
	}
	if !k.rowA && prefetchB > 0 {
		// B rows prefetchB steps ahead: column-A products are the deep ones (weight
		// gradients) whose B streams from memory once.
		for u := 0; u < 4; u++ {
			for off := 0; off < 4*k.nr(); off += 64 {
				g.p("PREFETCHT0 %d%s", off, idx("R14", u, "R12", "R13"))
			}
		}
		g.p("LEAQ (R14)(R12*4), R14")
		if prefetchColA {
			for u := 0; u < 4; u++ {
				for off := 0; off < 4*k.mr; off += 64 {
					g.p("PREFETCHT0 %d%s", off, idx("R15", u, "DX", "R11"))
				}
			}
			g.p("LEAQ (R15)(DX*4), R15")
		}
	}
	g.advance(k, 4)
	g.p("SUBQ $4, CX")
	g.p("CMPQ CX, $4")
	g.p("JGE %s_loop4", name)
	g.label(name + "_tail")
	g.p("TESTQ CX, CX")
	g.p("JZ %s_store", name)
	g.label(name + "_loop1")
	g.step(k, 0)
	g.advance(k, 1)
	g.p("DECQ CX")
	g.p("JNZ %s_loop1", name)

	g.label(name + "_store")
	g.p("MOVQ c+40(FP), DI")
	g.p("MOVQ ldc+48(FP), AX")
	g.p("SHLQ $2, AX")
	g.p("MOVL beta+60(FP), CX")
	g.p("TESTL CX, CX")
	g.p("JZ %s_nobeta", name)
	// C = alpha*acc + beta*C, with alpha, beta and a temporary in the B/scratch registers.
	spare := []string{}
	for v := 0; v < k.nv; v++ {
		spare = append(spare, k.breg(v))
	}
	for t := 0; t < k.ntmp(); t++ {
		spare = append(spare, k.tmp(t))
	}
	al, be, t := spare[0], spare[1], spare[2]
	g.p("VBROADCASTSS alpha+56(FP), %s", al)
	g.p("VBROADCASTSS beta+60(FP), %s", be)
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			off := 4 * k.isa.vl * v
			g.p("VMULPS %d(DI), %s, %s", off, be, t)
			g.p("VFMADD231PS %s, %s, %s", k.acc(i, v), al, t)
			g.p("VMOVUPS %s, %d(DI)", t, off)
		}
		g.p("ADDQ AX, DI")
	}
	g.p("VZEROUPPER")
	g.p("RET")
	g.label(name + "_nobeta")
	g.p("VBROADCASTSS alpha+56(FP), %s", al)
	for i := 0; i < k.mr; i++ {
		for v := 0; v < k.nv; v++ {
			a := k.acc(i, v)
			g.p("VMULPS %s, %s, %s", al, a, a)
			g.p("VMOVUPS %s, %d(DI)", a, 4*k.isa.vl*v)
		}
		g.p("ADDQ AX, DI")
	}
	g.p("VZEROUPPER")
	g.p("RET")
}

func main() {
	if v, ok := os.LookupEnv("PREFETCH_NEXT"); ok {
		prefetchNext = v
	}
	if v, ok := os.LookupEnv("PREFETCH_B"); ok {
		fmt.Sscan(v, &prefetchB)
	}
	if v, ok := os.LookupEnv("PREFETCH_COLA"); ok {
		prefetchColA = v != ""
	}
	var kernels []kernel // R, C and I variants of each tile, in that order
	for _, c := range configs {
		kernels = append(kernels, kernel{c.isa, c.mr, c.nv, true, false}, kernel{c.isa, c.mr, c.nv, false, false},
			kernel{c.isa, c.mr, c.nv, true, true})
	}

	var s gen
	s.buf.WriteString("// Code generated by gen_kernels.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n")
	for _, k := range kernels {
		s.kernel(k)
	}
	if err := os.WriteFile("kernels_amd64.s", s.buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}

	var d bytes.Buffer
	d.WriteString("// Code generated by gen_kernels.go; DO NOT EDIT.\n\n//go:build !purego\n\npackage blas\n\n")
	for _, k := range kernels {
		fmt.Fprintf(&d, "//go:noescape\nfunc %s(k int, a *float32, lda int, b *float32, %s, c *float32, ldc int, alpha, beta float32)\n\n", k.name(), k.ldbParam())
	}
	d.WriteString("// generatedKernels lists every assembly tile, its R, C and I variants together.\nvar generatedKernels = []asmKernel{\n")
	for i := 0; i < len(kernels); i += 3 {
		r, c, ind := kernels[i], kernels[i+1], kernels[i+2]
		fmt.Fprintf(&d, "\t{isa: %q, mr: %d, nr: %d, rowA: %s, colA: %s, indirect: %s},\n", r.isa.name, r.mr, r.nr(), r.name(), c.name(), ind.name())
	}
	d.WriteString("}\n")
	src, err := format.Source(d.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("kernels_decl_amd64.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
