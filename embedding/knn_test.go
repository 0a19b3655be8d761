package embedding

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/internal/blas"
)

// clustered returns n rows of dim values around classes random centres plus a shared
// offset, with their labels, drawn from seed.
func clustered(seed uint64, n, dim, classes int, spread float64) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, classes*dim)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	data := make([]float32, n*dim)
	labels := make([]int, n)
	for i := range n {
		labels[i] = rng.IntN(classes)
		for j := range dim {
			data[i*dim+j] = float32(centres[labels[i]*dim+j] + 0.3 + spread*rng.NormFloat64())
		}
	}
	return data, labels
}

// split returns a function that splits rows (of dim values) and labels into the first n
// and the rest.
func split(data []float32, labels []int) func(n, dim int) ([]float32, []int, []float32, []int) {
	return func(n, dim int) ([]float32, []int, []float32, []int) {
		return data[: n*dim : n*dim], labels[:n:n], data[n*dim:], labels[n:]
	}
}

func TestKNNErrors(t *testing.T) {
	train := mustMatrix(t, 3, 2, []float32{1, 0, 0, 1, 1, 1})
	labels := []int{0, 1, 1}
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"no rows", func() error { _, err := NewKNN(Matrix{}, nil, 2); return err }, "train has no rows"},
		{"classes", func() error { _, err := NewKNN(train, labels, 0); return err }, "classes = 0"},
		{"len labels", func() error { _, err := NewKNN(train, labels[:2], 2); return err }, "len(labels) = 2, train has 3 rows"},
		{"label high", func() error { _, err := NewKNN(train, []int{0, 2, 1}, 2); return err }, "labels[1] = 2 is outside [0, classes=2)"},
		{"label negative", func() error { _, err := NewKNN(train, []int{0, 1, -1}, 2); return err }, "labels[2] = -1"},
		{"k", func() error { _, err := NewKNN(train, labels, 2, Neighbors(0)); return err }, "Neighbors(0)"},
		{"t zero", func() error { _, err := NewKNN(train, labels, 2, Temperature(0)); return err }, "Temperature(0)"},
		{"t NaN", func() error { _, err := NewKNN(train, labels, 2, Temperature(math.NaN())); return err }, "Temperature(NaN)"},
		{"t inf", func() error { _, err := NewKNN(train, labels, 2, Temperature(math.Inf(1))); return err }, "Temperature(+Inf)"},
		{"workers", func() error { _, err := NewKNN(train, labels, 2, Workers(-1)); return err }, "Workers(-1)"},
		{"nil option", func() error { _, err := NewKNN(train, labels, 2, Neighbors(1), nil); return err }, "embedding: NewKNN: option 1 is nil"},
	}
	knn, err := NewKNN(train, labels, 2)
	if err != nil {
		t.Fatal(err)
	}
	test3 := mustMatrix(t, 2, 3, make([]float32, 6))
	test2 := mustMatrix(t, 2, 2, []float32{1, 0, 0, 1})
	cases = append(cases,
		struct {
			name string
			err  func() error
			want string
		}{"predict dim", func() error { _, err := knn.Predict(test3); return err }, "test has dimension 3, the training rows 2"},
		struct {
			name string
			err  func() error
			want string
		}{"accuracy len", func() error { _, err := knn.Accuracy(test2, []int{0}); return err }, "len(labels) = 1, test has 2 rows"},
		struct {
			name string
			err  func() error
			want string
		}{"accuracy label", func() error { _, err := knn.Accuracy(test2, []int{0, 5}); return err }, "labels[1] = 5 is outside [0, classes=2)"},
		struct {
			name string
			err  func() error
			want string
		}{"accuracy empty", func() error { _, err := knn.Accuracy(mustMatrix(t, 0, 2, nil), nil); return err }, "test has no rows"},
	)
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// An empty test set has no predictions but no error.
	pred, err := knn.Predict(mustMatrix(t, 0, 2, nil))
	if err != nil || len(pred) != 0 {
		t.Errorf("empty test: %v, %v", pred, err)
	}
}

// TestKNNTies checks the documented tie-breaks on data whose similarities are exact.
func TestKNNTies(t *testing.T) {
	e0 := []float32{1, 0, 0}
	e1 := []float32{0, 2, 0}
	predict := func(rows [][]float32, labels []int, test [][]float32, k int, opts ...Option) []int {
		t.Helper()
		tr, err := FromRows(rows)
		if err != nil {
			t.Fatal(err)
		}
		te, err := FromRows(test)
		if err != nil {
			t.Fatal(err)
		}
		knn, err := NewKNN(tr, labels, 4, append(opts, Neighbors(k))...)
		if err != nil {
			t.Fatal(err)
		}
		p, err := knn.Predict(te)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Equal similarity: the lower training index is nearer.
	if p := predict([][]float32{e1, e0, e0}, []int{0, 2, 1}, [][]float32{e0}, 1); p[0] != 2 {
		t.Errorf("k=1, rows 1 and 2 equally near: predicted %d, want 2 (row 1's class)", p[0])
	}
	if p := predict([][]float32{e1, e0, e0}, []int{0, 1, 2}, [][]float32{e0}, 1); p[0] != 1 {
		t.Errorf("k=1, rows 1 and 2 equally near: predicted %d, want 1 (row 1's class)", p[0])
	}
	// A nearer row arriving after k tied ones evicts the tied row of highest index: rows
	// 0, 1 and 3 vote, class 0 gets two votes of about equal weight (t = 100) and class 1
	// one.
	if p := predict([][]float32{e1, e1, e1, e0}, []int{0, 1, 1, 0}, [][]float32{e0}, 3, Temperature(100)); p[0] != 0 {
		t.Errorf("k=3, rows 0-2 tied below row 3: predicted %d, want 0 (rows 0, 1, 3 vote)", p[0])
	}
	// Equal sums: the lower class.
	if p := predict([][]float32{e0, e1, e0}, []int{3, 0, 2}, [][]float32{e0}, 2); p[0] != 2 {
		t.Errorf("k=2, classes 3 and 2 tied: predicted %d, want 2", p[0])
	}
	// A zero test row is at similarity 0 from every row: the k lowest indices vote equally.
	zero := []float32{0, 0, 0}
	rows := [][]float32{e0, e1, e0, e1, e0}
	labels := []int{3, 3, 0, 0, 0}
	if p := predict(rows, labels, [][]float32{zero}, 2); p[0] != 3 {
		t.Errorf("zero row, k=2: predicted %d, want 3 (rows 0 and 1)", p[0])
	}
	if p := predict(rows, labels, [][]float32{zero}, 5); p[0] != 0 {
		t.Errorf("zero row, k=5: predicted %d, want 0 (three votes against two)", p[0])
	}
	// Collapsed embeddings (all rows along one direction): every test row gets the vote of
	// the k lowest-indexed bank rows, the same prediction for all.
	col := [][]float32{{1, 2, 3}, {2, 4, 6}, {0.5, 1, 1.5}, {1, 2, 3}, {4, 8, 12}} // power-of-two multiples: exactly equal once normalised
	if p := predict(col, []int{1, 2, 2, 0, 0}, [][]float32{{1, 2, 3}, {2, 4, 6}, {4, 8, 12}}, 3); !slices.Equal(p, []int{2, 2, 2}) {
		t.Errorf("collapsed rows, k=3: predicted %v, want [2 2 2] (rows 0-2 vote)", p)
	}
	// k above the number of rows: every row votes, as with k = n.
	p1 := predict(rows, labels, [][]float32{e0, e1, {1, 1, 0}}, 1000)
	p2 := predict(rows, labels, [][]float32{e0, e1, {1, 1, 0}}, 5)
	if !slices.Equal(p1, p2) {
		t.Errorf("k=1000 predicted %v, k=5 (all rows) %v", p1, p2)
	}
}

// TestKNNDeterministic checks that the predictions do not depend on the number of
// workers, GOMAXPROCS, blas threads or the blocking.
func TestKNNDeterministic(t *testing.T) {
	const n, dim, m, classes = 3000, 40, 523, 7
	data, labels, tdata, _ := split(clustered(3, n+m, dim, classes, 2.5))(n, dim)
	train := mustMatrix(t, n, dim, data)
	test := mustMatrix(t, m, dim, tdata)
	run := func(opts ...Option) []int {
		t.Helper()
		knn, err := NewKNN(train, labels, classes, append([]Option{Neighbors(50)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		p, err := knn.Predict(test)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := run(Workers(1))
	check := func(what string, got []int) {
		t.Helper()
		if !slices.Equal(got, want) {
			diff := 0
			for i := range got {
				if got[i] != want[i] {
					diff++
				}
			}
			t.Errorf("%s: %d of %d predictions differ from 1 worker's", what, diff, m)
		}
	}
	check("2 workers", run(Workers(2)))
	check("5 workers", run(Workers(5)))
	procs := runtime.GOMAXPROCS(1)
	check("GOMAXPROCS 1", run())
	runtime.GOMAXPROCS(2)
	check("GOMAXPROCS 2", run())
	runtime.GOMAXPROCS(procs)
	blas.SetThreads(1)
	check("blas 1 thread", run(Workers(2)))
	blas.SetThreads(4)
	check("blas 4 threads", run(Workers(2)))
	blas.SetThreads(0)
	// Fewer than a block of test rows with tiny blocks and a split depth: the same
	// predictions (the sums over the depth differ in rounding only, and the test data has
	// no row that close to a tie is likely; a difference here is a blocking bug).
	shrinkBlocks(t, 3, 16)
	check("tiny blocks", run(Workers(2)))
}

// TestKNNBruteForce compares Predict with a direct float64 evaluation of the rule on every
// test row whose decision is not within rounding of a tie.
func TestKNNBruteForce(t *testing.T) {
	const n, dim, m, classes, k, temp = 1500, 20, 300, 6, 30, 0.07
	data, labels, tdata, tlabels := split(clustered(11, n+m, dim, classes, 2))(n, dim)
	knn, err := NewKNN(mustMatrix(t, n, dim, data), labels, classes, Neighbors(k), Temperature(temp))
	if err != nil {
		t.Fatal(err)
	}
	pred, err := knn.Predict(mustMatrix(t, m, dim, tdata))
	if err != nil {
		t.Fatal(err)
	}
	norm := func(r []float32) []float64 {
		var s float64
		for _, v := range r {
			s += float64(v) * float64(v)
		}
		out := make([]float64, len(r))
		for i, v := range r {
			out[i] = float64(v) / math.Sqrt(s)
		}
		return out
	}
	bank := make([][]float64, n)
	for i := range n {
		bank[i] = norm(data[i*dim : (i+1)*dim])
	}
	checked, correct := 0, 0
	for r := range m {
		q := norm(tdata[r*dim : (r+1)*dim])
		idx := make([]int, n)
		sim := make([]float64, n)
		for i := range n {
			idx[i] = i
			for j := range dim {
				sim[i] += q[j] * bank[i][j]
			}
		}
		sort.SliceStable(idx, func(a, b int) bool { return sim[idx[a]] > sim[idx[b]] })
		scores := make([]float64, classes)
		for _, i := range idx[:k] {
			scores[labels[i]] += math.Exp(sim[i] / temp)
		}
		best := 0
		for c := range scores {
			if scores[c] > scores[best] {
				best = c
			}
		}
		second := math.Inf(-1)
		for c, s := range scores {
			if c != best {
				second = max(second, s)
			}
		}
		if sim[idx[k-1]]-sim[idx[k]] < 1e-5 || scores[best]-second < 1e-4*scores[best] {
			continue
		}
		checked++
		if pred[r] != best {
			t.Errorf("row %d: predicted %d, direct evaluation %d", r, pred[r], best)
		}
		if best == tlabels[r] {
			correct++
		}
	}
	t.Logf("%d of %d rows clear of ties, direct evaluation right on %d", checked, m, correct)
	if checked < m*9/10 {
		t.Errorf("only %d of %d rows clear of ties", checked, m)
	}
	// The data has structure: the rule must do much better than chance (1/6).
	if float64(correct) < 0.4*float64(checked) {
		t.Errorf("direct evaluation right on %d of %d rows", correct, checked)
	}
}

// TestKNNScaleAndCopy checks that the rows are normalised inside (scaling a row by a
// power of two changes nothing) and that the caller's data is neither modified nor kept.
func TestKNNScaleAndCopy(t *testing.T) {
	const n, dim, m, classes = 400, 12, 90, 4
	data, labels, tdata, _ := split(clustered(21, n+m, dim, classes, 1.5))(n, dim)
	dataCopy, tdataCopy := slices.Clone(data), slices.Clone(tdata)
	knn, err := NewKNN(mustMatrix(t, n, dim, data), labels, classes, Neighbors(25))
	if err != nil {
		t.Fatal(err)
	}
	want, err := knn.Predict(mustMatrix(t, m, dim, tdata))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data, dataCopy) || !slices.Equal(tdata, tdataCopy) {
		t.Fatal("NewKNN or Predict modified the caller's rows")
	}
	// Changing the caller's training data afterwards does not change the classifier.
	for i := range data {
		data[i] = -data[i]
	}
	got, _ := knn.Predict(mustMatrix(t, m, dim, tdata))
	if !slices.Equal(got, want) {
		t.Error("the classifier changed with the caller's slice")
	}
	// Scaling rows by powers of two: the normalised rows are bitwise the same.
	scaled, tscaled := slices.Clone(dataCopy), slices.Clone(tdataCopy)
	for i := range scaled {
		scaled[i] *= float32(math.Ldexp(1, (i/dim)%7-3))
	}
	for i := range tscaled {
		tscaled[i] *= 1024
	}
	knn2, err := NewKNN(mustMatrix(t, n, dim, scaled), labels, classes, Neighbors(25))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = knn2.Predict(mustMatrix(t, m, dim, tscaled))
	if !slices.Equal(got, want) {
		t.Error("scaling rows changed the predictions")
	}
}

func TestKNNContext(t *testing.T) {
	data, labels := clustered(5, 200, 8, 3, 1)
	knn, err := NewKNN(mustMatrix(t, 200, 8, data), labels, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = knn.PredictContext(ctx, mustMatrix(t, 200, 8, data))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
	_, err = knn.AccuracyContext(ctx, mustMatrix(t, 200, 8, data), labels)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: Accuracy error %v", err)
	}
	// On its own training rows with k=1 every row finds itself.
	knn1, _ := NewKNN(mustMatrix(t, 200, 8, data), labels, 3, Neighbors(1))
	acc, err := knn1.Accuracy(mustMatrix(t, 200, 8, data), labels)
	if err != nil || acc != 1 {
		t.Errorf("k=1 on the training rows: accuracy %v, %v", acc, err)
	}
}

// TestSelectBest checks the partial selection against a sort, on similarities with many
// ties, for every k.
func TestSelectBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for trial := range 200 {
		n := 1 + rng.IntN(60)
		c := make([]neighbour, n)
		for i := range c {
			c[i] = neighbour{float32(rng.IntN(1 + trial%7)), int32(rng.IntN(1000))*100 + int32(i)}
		}
		sorted := slices.Clone(c)
		slices.SortFunc(sorted, func(a, b neighbour) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		for k := 1; k <= n; k++ {
			got := slices.Clone(c)
			selectBest(got, k)
			if got[k-1] != sorted[k-1] {
				t.Fatalf("n=%d k=%d: k-th best %v, want %v", n, k, got[k-1], sorted[k-1])
			}
			for _, x := range got[:k] {
				if better(sorted[k-1], x) {
					t.Fatalf("n=%d k=%d: %v kept, worse than the k-th best %v", n, k, x, sorted[k-1])
				}
			}
		}
	}
}

// TestKNNMemoryBounded checks that Predict does not build the test×train similarity
// matrix: on 20,000 training and 2,000 test rows (160 MB of similarities) it allocates a
// small fraction of that.
func TestKNNMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n, m, dim, classes = 20000, 2000, 16, 10
	data, labels, tdata, _ := split(clustered(2, n+m, dim, classes, 2))(n, dim)
	knn, err := NewKNN(mustMatrix(t, n, dim, data), labels, classes, Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	test := mustMatrix(t, m, dim, tdata)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := knn.Predict(test); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	full := uint64(n) * m * 4
	if got := after.TotalAlloc - before.TotalAlloc; got > full/20 {
		t.Errorf("Predict allocated %d bytes; the full similarity matrix is %d", got, full)
	} else {
		t.Logf("Predict allocated %d bytes (the full similarity matrix: %d)", got, full)
	}
}
