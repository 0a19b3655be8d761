package ops

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// parFor splits [0, n) into at most runtime.GOMAXPROCS(0) contiguous ranges of at least
// minChunk items each and runs fn on them concurrently, the first range on the calling
// goroutine. It returns when all ranges are done.
func parFor(n, minChunk int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if minChunk < 1 {
		minChunk = 1
	}
	workers := runtime.GOMAXPROCS(0)
	if max := n / minChunk; max < workers {
		workers = max
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/workers)
	wg.Wait()
}

// parDyn hands the items 0..n-1 out one at a time to at most runtime.GOMAXPROCS(0)
// goroutines (the calling one among them), each running worker, which pulls items with
// next until it reports false. Which goroutine gets which item depends on timing, so
// worker must not let the order of items it sees change its results.
func parDyn(n int, worker func(next func() (int, bool))) {
	if n <= 0 {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	var ctr atomic.Int64
	next := func() (int, bool) {
		i := int(ctr.Add(1) - 1)
		return i, i < n
	}
	if workers <= 1 {
		worker(next)
		return
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			worker(next)
		}()
	}
	worker(next)
	wg.Wait()
}

// planeGroups is the number of fixed groups of images a per-channel reduction over
// [n, c, s] is split into (see reducePlanes).
func planeGroups(n int) int { return min(n, 16) }

// reducePlanes returns, for every channel ch, the two float64 sums over the n planes
// (i, ch) of the pairs f(i, ch), as sums[2·ch] and sums[2·ch+1] (the slice comes from
// scratch64: give it back with put). Images are split into planeGroups fixed groups;
// each group is walked in memory order (image by image, channel by channel) by one
// goroutine into its own partial sums, and the partial sums are added in group order, so
// the result depends neither on the number of goroutines nor on their scheduling.
func reducePlanes(n, c int, f func(i, ch int) (float64, float64)) []float64 {
	groups := planeGroups(n)
	parts := scratch64.get(groups * 2 * c)
	parDyn(groups, func(next func() (int, bool)) {
		for {
			gi, ok := next()
			if !ok {
				return
			}
			part := parts[gi*2*c : (gi+1)*2*c]
			clear(part)
			for i := gi * n / groups; i < (gi+1)*n/groups; i++ {
				for ch := 0; ch < c; ch++ {
					a, b := f(i, ch)
					part[2*ch] += a
					part[2*ch+1] += b
				}
			}
		}
	})
	sums := parts[:2*c]
	for gi := 1; gi < groups; gi++ {
		for j, v := range parts[gi*2*c : (gi+1)*2*c] {
			sums[j] += v
		}
	}
	return sums
}

// workspace is a pool of float32 scratch buffers in power-of-two size classes. Ops take a
// buffer for the duration of one call and give it back, so a graph whose ops run one after
// another needs one set of buffers (not one per op), and a training step in steady state
// allocates nothing. Concurrent callers get distinct buffers.
type workspace[T float32 | float64] struct {
	mu   sync.Mutex
	free [64][][]T
}

var (
	scratch   workspace[float32]
	scratch64 workspace[float64]
)

// get returns a buffer of length n (contents undefined).
func (w *workspace[T]) get(n int) []T {
	if n <= 0 {
		return nil
	}
	class := bits.Len(uint(n - 1))
	w.mu.Lock()
	if l := len(w.free[class]); l > 0 {
		b := w.free[class][l-1]
		w.free[class][l-1] = nil
		w.free[class] = w.free[class][:l-1]
		w.mu.Unlock()
		return b[:n]
	}
	w.mu.Unlock()
	return make([]T, n, 1<<class)
}

// put returns a buffer obtained from get.
func (w *workspace[T]) put(b []T) {
	if cap(b) == 0 {
		return
	}
	class := bits.Len(uint(cap(b) - 1))
	if 1<<class != cap(b) {
		return // not ours
	}
	w.mu.Lock()
	w.free[class] = append(w.free[class], b[:cap(b)])
	w.mu.Unlock()
}
