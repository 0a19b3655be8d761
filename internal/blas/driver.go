package blas

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// kernFunc computes one full mr×nr tile (see gen_kernels.go for the contract):
// C = alpha*A*B (beta == +0, C not read) or C = alpha*A*B + beta*C, with
// B(p,j) = b[p*ldb+j] and A(i,p) = a[i*lda+p] for row kernels, a[p*lda+i] for column ones.
type kernFunc func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// indFunc is kernFunc for a row-major A and a B whose row p starts at b[off[p]]
// (see SgemmIndirect).
type indFunc func(k int, a *float32, lda int, b *float32, off *int32, c *float32, ldc int, alpha, beta float32)

// tile is a register-blocked micro-kernel of mr rows by nr columns in both A layouts,
// and with indirect B rows where the backend has that variant (nil otherwise).
type tile struct {
	mr, nr     int
	rowA, colA kernFunc
	indirect   indFunc
}

// engine is the blocked, threaded driver around a family of tiles.
type engine struct {
	// pick chooses the tile for a problem.
	pick func(m, n, k int) *tile
}

// Blocking parameters. They are variables so tests can shrink them and exercise every
// blocking path on small matrices.
var (
	kcMax     = 384       // k up to this is one block
	kcBlock   = 256       // otherwise blocks of about this depth
	l2Floats  = 96 * 1024 // budget of one K×N block of B, in floats
	minSplit  = 1 << 21   // multiply-adds below which one thread does the work
	forcePack = false     // pack B even when it could be read in place (benchmarks)
)

type workspace struct {
	bpack []float32 // packed B block, strips of kc×nr
	aedge []float32 // packed partial row block of A, kc×mr column-major
	tile  []float32 // mr×nr scratch for partial tiles
	kbuf  []float32 // private C for a K-split part
}

var wsPool = sync.Pool{New: func() any { return new(workspace) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// kcFor splits k into blocks of nearly equal depth, a multiple of 4 where possible.
func kcFor(k int) int {
	if k <= kcMax {
		return k
	}
	nb := ceilDiv(k, kcBlock)
	return (ceilDiv(k, nb) + 3) &^ 3
}

// ncFor bounds the width of a B block so kc×nc floats stay within the L2 budget.
func ncFor(n, kc, nr int) int {
	ncMax := max(nr, l2Floats/kc/nr*nr)
	if n <= ncMax {
		return n
	}
	nb := ceilDiv(n, ncMax)
	return ceilDiv(ceilDiv(n, nb), nr) * nr
}

// serial runs one sub-problem on the calling goroutine.
func serial(t *tile, ws *workspace, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := t.mr, t.nr
	kc0 := kcFor(k)
	nc0 := ncFor(n, kc0, nr)
	pack := transB || forcePack
	ws.tile = grow(ws.tile, mr*nr)
	ws.aedge = grow(ws.aedge, mr*kc0)
	if pack {
		ws.bpack = grow(ws.bpack, kc0*ceilDiv(nc0, nr)*nr)
	} else {
		ws.bpack = grow(ws.bpack, kc0*nr) // the partial last strip only
	}
	for jc := 0; jc < n; jc += nc0 {
		nc := min(nc0, n-jc)
		strips := ceilDiv(nc, nr)
		for pc := 0; pc < k; pc += kc0 {
			kc := min(kc0, k-pc)
			betaEff := beta
			if pc > 0 {
				betaEff = 1
			}
			if pack {
				packB(ws.bpack, transB, b, ldb, pc, kc, jc, nc, nr)
			} else if nc%nr != 0 {
				packB(ws.bpack, false, b, ldb, pc, kc, jc+(strips-1)*nr, nc-(strips-1)*nr, nr)
			}
			for ir := 0; ir < m; ir += mr {
				mrr := min(mr, m-ir)
				var ap *float32
				alda := lda
				kern := t.rowA
				if mrr < mr {
					packAEdge(ws.aedge, transA, a, lda, ir, mrr, pc, kc, mr)
					ap, alda, kern = &ws.aedge[0], mr, t.colA
				} else if transA {
					ap, kern = &a[pc*lda+ir], t.colA
				} else {
					ap = &a[ir*lda+pc]
				}
				for s := 0; s < strips; s++ {
					j := jc + s*nr
					nrr := min(nr, n-j)
					var bp *float32
					bld := nr
					switch {
					case pack:
						bp = &ws.bpack[s*kc*nr]
					case nrr < nr:
						bp = &ws.bpack[0]
					default:
						bp, bld = &b[pc*ldb+j], ldb
					}
					if mrr == mr && nrr == nr {
						kern(kc, ap, alda, bp, bld, &c[ir*ldc+j], ldc, alpha, betaEff)
						continue
					}
					kern(kc, ap, alda, bp, bld, &ws.tile[0], nr, 1, 0)
					mergeTile(ws.tile, nr, mrr, nrr, alpha, betaEff, c[ir*ldc+j:], ldc)
				}
			}
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc:jc+nc] into strips of nr columns, kc×nr each, the last
// one padded with zeros.
func packB(dst []float32, transB bool, b []float32, ldb, pc, kc, jc, nc, nr int) {
	for s := 0; s*nr < nc; s++ {
		w := min(nr, nc-s*nr)
		strip := dst[s*kc*nr : (s+1)*kc*nr]
		j0 := jc + s*nr
		if !transB {
			for p := 0; p < kc; p++ {
				row := strip[p*nr : p*nr+nr]
				copy(row, b[(pc+p)*ldb+j0:(pc+p)*ldb+j0+w])
				clear(row[w:])
			}
			continue
		}
		if w < nr {
			clear(strip)
		}
		for j := 0; j < w; j++ {
			src := b[(j0+j)*ldb+pc : (j0+j)*ldb+pc+kc]
			for p, v := range src {
				strip[p*nr+j] = v
			}
		}
	}
}

// packAEdge copies rows ir..ir+mrr of op(A), columns pc..pc+kc, into dst column-major with
// leading dimension mr, padding the missing rows with zeros.
func packAEdge(dst []float32, transA bool, a []float32, lda, ir, mrr, pc, kc, mr int) {
	dst = dst[:kc*mr]
	clear(dst)
	for i := 0; i < mrr; i++ {
		if !transA {
			row := a[(ir+i)*lda+pc : (ir+i)*lda+pc+kc]
			for p, v := range row {
				dst[p*mr+i] = v
			}
			continue
		}
		for p := 0; p < kc; p++ {
			dst[p*mr+i] = a[(pc+p)*lda+ir+i]
		}
	}
}

// mergeTile writes the top-left mrr×nrr of the scratch tile t (leading dimension ldt)
// into c as alpha*t + beta*c, without reading c when beta is zero.
func mergeTile(t []float32, ldt, mrr, nrr int, alpha, beta float32, c []float32, ldc int) {
	for i := 0; i < mrr; i++ {
		src := t[i*ldt : i*ldt+nrr]
		dst := c[i*ldc : i*ldc+nrr]
		if beta == 0 {
			for j, v := range src {
				dst[j] = alpha * v
			}
			continue
		}
		for j, v := range src {
			dst[j] = alpha*v + beta*dst[j]
		}
	}
}

// call is one threaded Sgemm call, split into parts along M, N or K.
type call struct {
	t              *tile
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	split          byte // 'm', 'n' or 'k'
	chunk          int  // rows, columns or depth per part
	parts          int
	kbufs          [maxParts]*workspace
	wg             sync.WaitGroup
}

const maxParts = 64

var callPool = sync.Pool{New: func() any { return new(call) }}

type partTask struct {
	c *call
	p int
}

var (
	workCh      = make(chan partTask, maxParts)
	workersMu   sync.Mutex
	workerCount atomic.Int32
)

// ensureWorkers starts helper goroutines until n are running. They live for the process
// and block on workCh when idle.
func ensureWorkers(n int) {
	if int(workerCount.Load()) >= n {
		return
	}
	workersMu.Lock()
	defer workersMu.Unlock()
	for int(workerCount.Load()) < n {
		workerCount.Add(1)
		go func() {
			for t := range workCh {
				t.c.run(t.p)
				t.c.wg.Done()
			}
		}()
	}
}

// run computes part p of the call.
func (cl *call) run(p int) {
	ws := wsPool.Get().(*workspace)
	lo := p * cl.chunk
	switch cl.split {
	case 'm':
		hi := min(cl.m, lo+cl.chunk)
		ao := lo * cl.lda
		if cl.transA {
			ao = lo
		}
		a := cl.a[ao:]
		serial(cl.t, ws, cl.transA, cl.transB, hi-lo, cl.n, cl.k, cl.alpha, a, cl.lda, cl.b, cl.ldb, cl.beta, cl.c[lo*cl.ldc:], cl.ldc)
	case 'n':
		hi := min(cl.n, lo+cl.chunk)
		bo := lo
		if cl.transB {
			bo = lo * cl.ldb
		}
		b := cl.b[bo:]
		serial(cl.t, ws, cl.transA, cl.transB, cl.m, hi-lo, cl.k, cl.alpha, cl.a, cl.lda, b, cl.ldb, cl.beta, cl.c[lo:], cl.ldc)
	case 'k':
		hi := min(cl.k, lo+cl.chunk)
		ao, bo := lo, lo*cl.ldb
		if cl.transA {
			ao = lo * cl.lda
		}
		if cl.transB {
			bo = lo
		}
		a, b := cl.a[ao:], cl.b[bo:]
		if p == 0 {
			serial(cl.t, ws, cl.transA, cl.transB, cl.m, cl.n, hi-lo, cl.alpha, a, cl.lda, b, cl.ldb, cl.beta, cl.c, cl.ldc)
			break
		}
		ws.kbuf = grow(ws.kbuf, cl.m*cl.n)
		serial(cl.t, ws, cl.transA, cl.transB, cl.m, cl.n, hi-lo, cl.alpha, a, cl.lda, b, cl.ldb, 0, ws.kbuf, cl.n)
		cl.kbufs[p] = ws // returned to the pool after the reduction
		return
	}
	wsPool.Put(ws)
}

// gemm is the backend entry: it chooses a tile and a split, then runs the parts.
func (e *engine) gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	t := e.pick(m, n, k)
	threads := min(Threads(), maxParts)
	split, chunk, parts := byte(0), 0, 1
	if threads > 1 && m*n*k >= minSplit {
		split, chunk, parts = plan(t, threads, transB, m, n, k)
	}
	if parts <= 1 {
		ws := wsPool.Get().(*workspace)
		serial(t, ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		wsPool.Put(ws)
		return
	}
	cl := callPool.Get().(*call)
	*cl = call{t: t, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, split: split, chunk: chunk, parts: parts}
	ensureWorkers(threads - 1)
	cl.wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		workCh <- partTask{cl, p}
	}
	cl.run(0)
	cl.wg.Wait()
	if split == 'k' {
		for p := 1; p < parts; p++ {
			ws := cl.kbufs[p]
			for i := 0; i < m; i++ {
				row := c[i*ldc : i*ldc+n]
				for j, v := range ws.kbuf[i*n : i*n+n] {
					row[j] += v
				}
			}
			wsPool.Put(ws)
		}
	}
	*cl = call{}
	callPool.Put(cl)
}

// serialGemm is gemm on the calling goroutine: the one-thread path of gemm.
func (e *engine) serialGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := wsPool.Get().(*workspace)
	serial(e.pick(m, n, k), ws, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	wsPool.Put(ws)
}

// plan chooses how to split a problem over up to threads parts: along M when there are
// enough row blocks, else along N, else along K when it is deep. It returns the split
// axis, the extent per part and the number of parts.
func plan(t *tile, threads int, transB bool, m, n, k int) (byte, int, int) {
	rb, cs := ceilDiv(m, t.mr), ceilDiv(n, t.nr)
	split := func(axis byte, units, unit, extent int) (byte, int, int) {
		parts := min(threads, units)
		chunk := ceilDiv(units, parts) * unit
		return axis, chunk, ceilDiv(extent, chunk)
	}
	switch {
	case rb >= 2*threads && (rb >= cs || !transB):
		return split('m', rb, t.mr, m)
	case cs >= 2*threads:
		return split('n', cs, t.nr, n)
	case k >= 2*threads*kcBlock:
		return split('k', ceilDiv(k, 4), 4, k)
	case rb >= threads:
		return split('m', rb, t.mr, m)
	case cs >= threads:
		return split('n', cs, t.nr, n)
	}
	return 0, 0, 1
}

// goSlice views n float32s starting at p; used by the Go tile to index bounds-checked.
func goSlice(p *float32, n int) []float32 { return unsafe.Slice(p, n) }
