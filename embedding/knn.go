package embedding

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/selfsup/selfsup/internal/blas"
)

// Defaults of the kNN classifier, those of lightly's benchmarks (after InstDisc, Wu et al.
// 2018).
const (
	DefaultNeighbors   = 200
	DefaultTemperature = 0.1
)

// Option changes a setting of NewKNN. A bad value or a nil Option is an error from NewKNN
// naming the option.
type Option func(*knnConfig) error

type knnConfig struct {
	k       int
	t       float64
	workers int
}

// Neighbors sets k, the number of nearest training rows that vote (default
// DefaultNeighbors, 200). k must be at least 1; a k above the number of training rows is
// clamped to it, so every training row votes.
func Neighbors(k int) Option {
	return func(c *knnConfig) error {
		if k < 1 {
			return fmt.Errorf("Neighbors(%d): k must be at least 1", k)
		}
		c.k = k
		return nil
	}
}

// Temperature sets t, the temperature of the vote weights exp(similarity/t) (default
// DefaultTemperature, 0.1): a small t lets the closest neighbours dominate, a large one
// makes the vote a plain count. t must be positive and finite.
func Temperature(t float64) Option {
	return func(c *knnConfig) error {
		if !(t > 0) || math.IsInf(t, 0) {
			return fmt.Errorf("Temperature(%v): t must be positive and finite", t)
		}
		c.t = t
		return nil
	}
}

// Workers sets the number of goroutines Predict uses (default 0: runtime.GOMAXPROCS(0) at
// the time of the call). The predictions do not depend on it. n must not be negative.
func Workers(n int) Option {
	return func(c *knnConfig) error {
		if n < 0 {
			return fmt.Errorf("Workers(%d): n must not be negative", n)
		}
		c.workers = n
		return nil
	}
}

// KNN is a weighted k-nearest-neighbour classifier over a bank of labeled training
// embeddings, the kNN evaluation of lightly's benchmarks (knn_predict in
// lightly.utils.benchmarking). See the package documentation for the rule. A KNN holds its
// own normalised copy of the training rows and is safe for concurrent use.
type KNN struct {
	n, dim, classes int
	k               int // clamped to n
	t               float64
	workers         int
	bank            []float32 // dim×n: column j is training row j, L2-normalised
	labels          []int32
}

// NewKNN returns a classifier over the rows of train, row i having class labels[i] in
// [0, classes). It normalises a copy of the rows (train is not modified and may change
// afterwards). Options: Neighbors (default 200, clamped to train.Rows()), Temperature
// (default 0.1), Workers. It returns an error naming the problem when train has no rows,
// len(labels) != train.Rows(), a label is outside [0, classes) (naming its index), classes
// < 1, or an option is invalid.
func NewKNN(train Matrix, labels []int, classes int, opts ...Option) (*KNN, error) {
	cfg := knnConfig{k: DefaultNeighbors, t: DefaultTemperature}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("embedding: NewKNN: option %d is nil", i)
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("embedding: NewKNN: %w", err)
		}
	}
	n, d := train.rows, train.dim
	switch {
	case n == 0:
		return nil, fmt.Errorf("embedding: NewKNN: train has no rows")
	case classes < 1:
		return nil, fmt.Errorf("embedding: NewKNN: classes = %d < 1", classes)
	case classes > math.MaxInt32:
		return nil, fmt.Errorf("embedding: NewKNN: classes = %d is above %d", classes, math.MaxInt32)
	case len(labels) != n:
		return nil, fmt.Errorf("embedding: NewKNN: len(labels) = %d, train has %d rows", len(labels), n)
	case n > math.MaxInt32:
		return nil, fmt.Errorf("embedding: NewKNN: train has %d rows, at most %d are supported", n, math.MaxInt32)
	}
	lab := make([]int32, n)
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("embedding: NewKNN: labels[%d] = %d is outside [0, classes=%d)", i, l, classes)
		}
		lab[i] = int32(l)
	}
	bank := make([]float32, d*n)
	for i := range n {
		row := train.data[i*d : (i+1)*d]
		s := invNorm(row)
		for j, v := range row {
			bank[j*n+i] = float32(float64(v) * s)
		}
	}
	return &KNN{n: n, dim: d, classes: classes, k: min(cfg.k, n), t: cfg.t, workers: cfg.workers,
		bank: bank, labels: lab}, nil
}

// Neighbors returns the number of neighbours that vote: the k asked for, clamped to the
// number of training rows.
func (c *KNN) Neighbors() int { return c.k }

// Predict returns the predicted class of each row of test. test must have the training
// rows' dimension; a test without rows gives an empty result.
func (c *KNN) Predict(test Matrix) ([]int, error) {
	return c.PredictContext(context.Background(), test)
}

// PredictContext is Predict with a context: when ctx is cancelled the work stops within a
// block of test rows and ctx's error is returned.
func (c *KNN) PredictContext(ctx context.Context, test Matrix) ([]int, error) {
	if test.dim != c.dim {
		return nil, fmt.Errorf("embedding: KNN.Predict: test has dimension %d, the training rows %d", test.dim, c.dim)
	}
	out := make([]int, test.rows)
	if test.rows == 0 {
		return out, nil
	}
	workers := c.workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	blocks := (test.rows + blockRows - 1) / blockRows
	workers = min(workers, blocks)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := c.newWorker()
			for !failed.Load() {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				if ctx.Err() != nil {
					failed.Store(true)
					return
				}
				r0 := b * blockRows
				r1 := min(test.rows, r0+blockRows)
				w.block(test.data[r0*c.dim:r1*c.dim], out[r0:r1])
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); failed.Load() && err != nil {
		return nil, fmt.Errorf("embedding: KNN.Predict: %w", err)
	}
	return out, nil
}

// Accuracy returns the fraction of the rows of test whose predicted class equals labels[i].
// It returns an error when test has no rows, len(labels) != test.Rows(), or a label is
// outside [0, classes) (naming its index), as well as Predict's errors.
func (c *KNN) Accuracy(test Matrix, labels []int) (float64, error) {
	return c.AccuracyContext(context.Background(), test, labels)
}

// AccuracyContext is Accuracy with a context, which cancels it as it does PredictContext.
func (c *KNN) AccuracyContext(ctx context.Context, test Matrix, labels []int) (float64, error) {
	if test.rows == 0 {
		return 0, fmt.Errorf("embedding: KNN.Accuracy: test has no rows")
	}
	if len(labels) != test.rows {
		return 0, fmt.Errorf("embedding: KNN.Accuracy: len(labels) = %d, test has %d rows", len(labels), test.rows)
	}
	for i, l := range labels {
		if l < 0 || l >= c.classes {
			return 0, fmt.Errorf("embedding: KNN.Accuracy: labels[%d] = %d is outside [0, classes=%d)", i, l, c.classes)
		}
	}
	pred, err := c.PredictContext(ctx, test)
	if err != nil {
		return 0, err
	}
	correct := 0
	for i, p := range pred {
		if p == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(pred)), nil
}

// Blocking of Predict. Each worker takes blockRows test rows at a time and multiplies them
// with the bank in chunks of training columns and of at most maxDepth dimensions, each
// chunk about targetMACs multiply-adds: small enough that blas.Sgemm runs it on the calling
// goroutine (below its threading threshold, so workers do not nest threads), and never
// split along the depth, so every similarity is summed in the same order whatever the
// number of workers or blas threads. The shapes depend only on the data's sizes. They are
// variables so tests can shrink them.
var (
	blockRows  = 32
	maxDepth   = 512
	targetMACs = 1 << 20
)

// chunkCols returns the number of training columns per Sgemm call.
func (c *KNN) chunkCols() int {
	kc := min(c.dim, maxDepth)
	cols := targetMACs / (blockRows * kc) / 64 * 64
	return min(max(cols, 64), c.n)
}

// neighbour is a training row kept as a candidate: its similarity and index.
type neighbour struct {
	sim float32
	idx int32
}

// worker holds the buffers of one Predict goroutine.
type worker struct {
	c      *KNN
	cols   int
	q      []float32 // blockRows×dim normalised test rows
	sims   []float32 // blockRows×cols similarities
	top    []topK    // per test row, the best training rows so far
	scores []float64
}

func (c *KNN) newWorker() *worker {
	cols := c.chunkCols()
	w := &worker{c: c, cols: cols, q: make([]float32, blockRows*c.dim), sims: make([]float32, blockRows*cols),
		top: make([]topK, blockRows), scores: make([]float64, c.classes)}
	store := make([]neighbour, blockRows*2*c.k)
	for r := range w.top {
		w.top[r] = topK{c: store[2*r*c.k : 2*r*c.k : 2*(r+1)*c.k], k: c.k}
	}
	return w
}

// block predicts the classes of the test rows in x (rows×dim) into out.
func (w *worker) block(x []float32, out []int) {
	c := w.c
	d, n := c.dim, c.n
	rows := len(out)
	for r := range rows {
		row := x[r*d : (r+1)*d]
		s := invNorm(row)
		for j, v := range row {
			w.q[r*d+j] = float32(float64(v) * s)
		}
		w.top[r].reset()
	}
	for c0 := 0; c0 < n; c0 += w.cols {
		cols := min(w.cols, n-c0)
		for p0 := 0; p0 < d; p0 += maxDepth {
			kc := min(maxDepth, d-p0)
			beta := float32(1)
			if p0 == 0 {
				beta = 0
			}
			blas.Sgemm(false, false, rows, cols, kc, 1, w.q[p0:], d, c.bank[p0*n+c0:], n, beta, w.sims, cols)
		}
		for r := range rows {
			w.top[r].push(w.sims[r*cols:(r+1)*cols], int32(c0))
		}
	}
	for r := range rows {
		out[r] = w.vote(w.top[r].best())
	}
}

// topK keeps the k best training rows seen so far of one test row: the candidates in
// c[:len(c)] hold them plus newcomers, at most 2k; a newcomer is admitted only when its
// similarity is above thr, the similarity of the k-th best kept at the last compaction
// (-Inf until k are kept). When c is full, compaction moves the k best to c[:k] (a
// partial selection, linear on average) and drops the rest. A newcomer with the same
// similarity as the k-th best is not admitted: rows arrive in increasing index order, so
// it is worse under the tie-break.
type topK struct {
	c   []neighbour
	k   int
	thr float32
}

func (t *topK) reset() {
	t.c = t.c[:0]
	t.thr = float32(math.Inf(-1))
}

// push offers the similarities sims of training rows base, base+1, ...
func (t *topK) push(sims []float32, base int32) {
	c, thr := t.c, t.thr
	for j, s := range sims {
		if s > thr {
			c = append(c, neighbour{s, base + int32(j)})
			if len(c) == cap(c) {
				selectBest(c, t.k)
				c = c[:t.k]
				thr = c[t.k-1].sim
			}
		}
	}
	t.c, t.thr = c, thr
}

// best returns the (at most k) best, in no particular order.
func (t *topK) best() []neighbour {
	if len(t.c) > t.k {
		selectBest(t.c, t.k)
		t.c = t.c[:t.k]
	}
	return t.c
}

// better reports whether a ranks above b: a higher similarity, or the same and a lower
// index. Candidates have distinct indices, so this is a strict total order.
func better(a, b neighbour) bool {
	return a.sim > b.sim || (a.sim == b.sim && a.idx < b.idx)
}

// selectBest reorders c so that c[:k] holds its k best elements and c[k-1] is the k-th
// best (Hoare's selection with a median-of-three pivot), 1 <= k <= len(c).
func selectBest(c []neighbour, k int) {
	lo, hi, target := 0, len(c)-1, k-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if better(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if better(c[hi], c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if better(c[hi], c[mid]) {
			c[hi], c[mid] = c[mid], c[hi]
		}
		p := c[mid]
		i, j := lo, hi
		for i <= j {
			for better(c[i], p) {
				i++
			}
			for better(p, c[j]) {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case target <= j:
			hi = j
		case target >= i:
			lo = i
		default:
			return
		}
	}
}

// vote returns the class with the highest sum of weights exp(sim/t) over the neighbours in
// h (sorted here, best first, so the sums are added in a fixed order), the lowest class index among equal sums. The weights are
// computed as exp((sim-best)/t), which multiplies every class's sum by the same factor
// exp(-best/t) and so changes no comparison, but cannot overflow for small t.
func (w *worker) vote(h []neighbour) int {
	slices.SortFunc(h, func(a, b neighbour) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
	clear(w.scores)
	best := float64(h[0].sim)
	for _, nb := range h {
		w.scores[w.c.labels[nb.idx]] += math.Exp((float64(nb.sim) - best) / w.c.t)
	}
	arg := 0
	for cl, s := range w.scores {
		if s > w.scores[arg] {
			arg = cl
		}
	}
	return arg
}
