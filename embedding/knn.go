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

// KNNOption changes a setting of NewKNN.
type KNNOption func(*knnConfig) error

type knnConfig struct {
	k       int
	t       float64
	workers int
}

// Neighbors sets k, the number of nearest training rows that vote (default
// DefaultNeighbors, 200). k must be at least 1; a k above the number of training rows is
// clamped to it, so every training row votes.
func Neighbors(k int) KNNOption {
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
func Temperature(t float64) KNNOption {
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
func Workers(n int) KNNOption {
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
func NewKNN(train Matrix, labels []int, classes int, opts ...KNNOption) (*KNN, error) {
	cfg := knnConfig{k: DefaultNeighbors, t: DefaultTemperature}
	for _, o := range opts {
		if o == nil {
			continue
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
	q      []float32     // blockRows×dim normalised test rows
	sims   []float32     // blockRows×cols similarities
	heaps  [][]neighbour // per test row, a min-heap of the best so far (root: the worst)
	scores []float64
}

func (c *KNN) newWorker() *worker {
	cols := c.chunkCols()
	w := &worker{c: c, cols: cols, q: make([]float32, blockRows*c.dim), sims: make([]float32, blockRows*cols),
		heaps: make([][]neighbour, blockRows), scores: make([]float64, c.classes)}
	store := make([]neighbour, blockRows*c.k)
	for r := range w.heaps {
		w.heaps[r] = store[r*c.k : r*c.k : (r+1)*c.k]
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
		w.heaps[r] = w.heaps[r][:0]
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
			w.heaps[r] = pushChunk(w.heaps[r], c.k, w.sims[r*cols:(r+1)*cols], int32(c0))
		}
	}
	for r := range rows {
		out[r] = w.vote(w.heaps[r])
	}
}

// pushChunk offers the similarities sims of training rows base, base+1, ... to the heap h
// of capacity k. Rows arrive in increasing index order, so a newcomer with the same
// similarity as the worst kept row is never better than it (ties keep the lower index).
func pushChunk(h []neighbour, k int, sims []float32, base int32) []neighbour {
	j := 0
	for ; j < len(sims) && len(h) < k; j++ {
		h = append(h, neighbour{sims[j], base + int32(j)})
		siftUp(h, len(h)-1)
	}
	if len(h) < k {
		return h
	}
	worst := h[0].sim
	for ; j < len(sims); j++ {
		if s := sims[j]; s > worst {
			h[0] = neighbour{s, base + int32(j)}
			siftDown(h, 0)
			worst = h[0].sim
		}
	}
	return h
}

// worse reports whether a ranks below b: a lower similarity, or the same and a higher
// index.
func worse(a, b neighbour) bool {
	return a.sim < b.sim || (a.sim == b.sim && a.idx > b.idx)
}

func siftUp(h []neighbour, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown(h []neighbour, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// vote returns the class with the highest sum of weights exp(sim/t) over the neighbours in
// h (reordered here: best first), the lowest class index among equal sums. The weights are
// computed as exp((sim-best)/t), which multiplies every class's sum by the same factor
// exp(-best/t) and so changes no comparison, but cannot overflow for small t.
func (w *worker) vote(h []neighbour) int {
	slices.SortFunc(h, func(a, b neighbour) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
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
