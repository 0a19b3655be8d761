package device

import (
	"runtime"
	"sync"
)

// The CPU optimizer kernels: big parameters are updated by several goroutines: the range of elements is cut into
// contiguous chunks of whole blocks, one per core (at most maxChunks), the caller running
// the first chunk itself and package-level workers the others. Elementwise kernels give
// the same bits however the range is cut. Reductions (LARS' norms) are summed per block
// and the block sums added in block order, so they too are the same whatever GOMAXPROCS is.
const (
	block     = 1 << 15 // elements per block
	maxChunks = 8
)

var workers struct {
	once sync.Once
	n    int // number of worker goroutines; a call uses at most GOMAXPROCS-1 of them
	ch   chan *task
}

func startWorkers() {
	workers.once.Do(func() {
		n := maxChunks - 1
		workers.n = n
		workers.ch = make(chan *task, n)
		for range n {
			go func() {
				for t := range workers.ch {
					t.run()
					t.wg.Done()
				}
			}()
		}
	})
}

type kernel uint8

const (
	kAdamKeras kernel = iota
	kAdamTorch
	kSGDMomentum
	kSGDPlain
	kDots
	kLARS
)

// task is one chunk of one kernel call. It is a plain struct (no closure) so handing it
// to a worker allocates nothing.
type task struct {
	op      kernel
	lo, hi  int
	p, g    []float32
	a, b    []float32
	f       [10]float32
	flag    bool
	partial []float64 // kDots: 3 sums per block, indexed by absolute block number
	wg      *sync.WaitGroup
}

func (t *task) run() {
	lo, hi := t.lo, t.hi
	p, g := t.p[lo:hi], t.g[lo:hi]
	f := &t.f
	switch t.op {
	case kAdamKeras:
		adamKeras(p, g, t.a[lo:hi], t.b[lo:hi], f[0], f[1], f[2], f[3], f[4], f[5])
	case kAdamTorch:
		adamTorch(p, g, t.a[lo:hi], t.b[lo:hi], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8])
	case kSGDMomentum:
		sgdMomentum(p, g, t.a[lo:hi], f[0], f[1], f[2], f[3], t.flag)
	case kSGDPlain:
		sgdPlain(p, g, f[0], f[1], f[2])
	case kLARS:
		larsMomentum(p, g, t.a[lo:hi], f[0], f[1], f[2], t.flag)
	case kDots:
		for b := lo / block; b*block < hi; b++ {
			s, e := b*block, min((b+1)*block, hi)
			ww, gg, wg := dots(t.p[s:e], t.g[s:e])
			t.partial[3*b], t.partial[3*b+1], t.partial[3*b+2] = ww, gg, wg
		}
	}
}

// runner cuts kernel calls into chunks and runs them; each optimizer's kernels own one
// (see CPU.NewOptimizerKernels), so its scratch is reused from step to step.
type runner struct {
	tasks   []task
	wg      sync.WaitGroup
	partial []float64
}

// run executes proto over [0, n).
func (r *runner) run(proto task, n int) {
	startWorkers()
	blocks := (n + block - 1) / block
	nc := min(runtime.GOMAXPROCS(0), workers.n+1, blocks)
	if nc <= 1 {
		proto.lo, proto.hi = 0, n
		proto.run()
		return
	}
	if len(r.tasks) < nc {
		r.tasks = make([]task, nc)
	}
	per := (blocks + nc - 1) / nc
	k := 0
	for start := 0; start < n; start += per * block {
		t := &r.tasks[k]
		*t = proto
		t.lo, t.hi, t.wg = start, min(start+per*block, n), &r.wg
		k++
	}
	r.wg.Add(k - 1)
	for i := 1; i < k; i++ {
		workers.ch <- &r.tasks[i]
	}
	r.tasks[0].run()
	r.wg.Wait()
	for i := range k {
		r.tasks[i] = task{} // drop references to the caller's slices
	}
}

// dots returns sum(w²), sum(g²) and sum(w*g) over blocks summed in order.
func (r *runner) dots(w, g []float32) (ww, gg, wg float64) {
	blocks := (len(w) + block - 1) / block
	if blocks <= 1 {
		return dots(w, g)
	}
	if cap(r.partial) < 3*blocks {
		r.partial = make([]float64, 3*blocks)
	}
	r.partial = r.partial[:3*blocks]
	r.run(task{op: kDots, p: w, g: g, partial: r.partial}, len(w))
	for b := range blocks {
		ww += r.partial[3*b]
		gg += r.partial[3*b+1]
		wg += r.partial[3*b+2]
	}
	return ww, gg, wg
}
