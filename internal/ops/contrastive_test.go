package ops

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
)

// spreadColumns returns [n,d] values whose column j is uniform with half-width
// scales[j%len(scales)] around a column offset, so column standard deviations fall on
// both sides of 1 (VICReg's hinge).
func spreadColumns(rng *rand.Rand, n, d int, scales ...float32) *tensor.Dense {
	t := randTensor(rng, -1, 1, n, d)
	x := t.Float32s()
	for i := range n {
		for j := range d {
			x[i*d+j] = x[i*d+j]*scales[j%len(scales)] + 0.3*float32(j)
		}
	}
	return t
}

func TestGradContrastiveOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	// Row 3's label has no other row: that row adds nothing.
	labels := tensor.New(tensor.WithShape(6), tensor.WithBacking([]float32{0, 1, 0, 2, 1, 0}))
	checks := []struct {
		name string
		f    builder
		vals []*tensor.Dense
		wrt  []int
	}{
		{"rows", func(in []*G.Node) (*G.Node, error) { return Rows(in[0], 1, 3) },
			ts(randTensor(rng, -1, 1, 4, 2, 3)), []int{0}},
		{"splitRows", func(in []*G.Node) (*G.Node, error) {
			p, err := SplitRows(in[0], 3)
			if err != nil {
				return nil, err
			}
			return Concat(p[2], p[0], p[1], p[0])
		}, ts(randTensor(rng, -1, 1, 6, 4)), []int{0}},
		{"supCon", func(in []*G.Node) (*G.Node, error) { return SupConLoss(in[0], in[1]) },
			ts(randTensor(rng, -3, 3, 6, 6), labels), []int{0}},
		{"infoNCE", func(in []*G.Node) (*G.Node, error) { return InfoNCELoss(in[0], in[1], 2) },
			ts(randTensor(rng, -1, 1, 4), randTensor(rng, -1, 1, 4, 5)), []int{0, 1}},
		{"diagonalCE", func(in []*G.Node) (*G.Node, error) { return DiagonalCrossEntropy(in[0]) },
			ts(randTensor(rng, -3, 3, 5, 5)), []int{0}},
		{"standardize", func(in []*G.Node) (*G.Node, error) { return Standardize(in[0], 1e-5) },
			ts(spreadColumns(rng, 6, 4, 0.5, 2)), []int{0}},
		{"crossCorrelation", func(in []*G.Node) (*G.Node, error) { return CrossCorrelationLoss(in[0], 0.3) },
			ts(randTensor(rng, -1, 1, 4, 4)), []int{0}},
		{"mse", func(in []*G.Node) (*G.Node, error) { return MeanSquaredError(in[0], in[1]) },
			ts(randTensor(rng, -1, 1, 3, 4), randTensor(rng, -1, 1, 3, 4)), []int{0, 1}},
		{"varianceHinge", func(in []*G.Node) (*G.Node, error) { return VarianceHinge(in[0], 1e-4) },
			ts(spreadColumns(rng, 7, 6, 0.4, 3, 1)), []int{0}},
		{"covarianceOffDiagonal", func(in []*G.Node) (*G.Node, error) { return CovarianceOffDiagonal(in[0]) },
			ts(spreadColumns(rng, 6, 5, 0.5, 1.5)), []int{0}},
	}
	for _, c := range checks {
		if err := gradCheck(12, c.f, c.vals, c.wrt, 1e-2, 1e-2); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestContrastiveOpsForward checks each loss op against a float64 evaluation of its
// formula written out here.
func TestContrastiveOpsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	lv := []float32{3, 1, 3, 7, 1, 3}
	x := randTensor(rng, -3, 3, 6, 6)
	xd := x.Float32s()
	var want float64
	for i := range 6 {
		var den, pos float64
		cnt := 0
		for k := range 6 {
			if k == i {
				continue
			}
			den += math.Exp(float64(xd[i*6+k]))
			if lv[k] == lv[i] {
				pos += float64(xd[i*6+k])
				cnt++
			}
		}
		if cnt > 0 {
			want += math.Log(den) - pos/float64(cnt)
		}
	}
	got := forward(t, func(in []*G.Node) (*G.Node, error) { return SupConLoss(in[0], in[1]) },
		x, tensor.New(tensor.WithShape(6), tensor.WithBacking(lv)))
	assertClose(t, "supCon", got, []float64{want / 6}, 1e-6)

	pos, neg := randTensor(rng, -1, 1, 3), randTensor(rng, -1, 1, 3, 4)
	want = 0
	for i := range 3 {
		p := 3 * float64(pos.Float32s()[i])
		den := math.Exp(p)
		for _, v := range neg.Float32s()[i*4 : (i+1)*4] {
			den += math.Exp(3 * float64(v))
		}
		want += (math.Log(den) - p) / 3
	}
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return InfoNCELoss(in[0], in[1], 3) }, pos, neg)
	assertClose(t, "infoNCE", got, []float64{want}, 1e-6)

	c := randTensor(rng, -1, 1, 3, 3)
	want = 0
	for i, v := range c.Float32s() {
		if i%4 == 0 {
			want += (1 - float64(v)) * (1 - float64(v))
		} else {
			want += 0.25 * float64(v) * float64(v)
		}
	}
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return CrossCorrelationLoss(in[0], 0.25) }, c)
	assertClose(t, "crossCorrelation", got, []float64{want}, 1e-6)

	// Standardize, the variance hinge and the covariance from column statistics in float64.
	z := spreadColumns(rng, 5, 3, 0.3, 2)
	zd := z.Float32s()
	mean, v := make([]float64, 3), make([]float64, 3)
	for i := range 5 {
		for j := range 3 {
			mean[j] += float64(zd[i*3+j]) / 5
		}
	}
	for i := range 5 {
		for j := range 3 {
			e := float64(zd[i*3+j]) - mean[j]
			v[j] += e * e
		}
	}
	var std []float64
	var hinge float64
	for j := range 3 {
		std = append(std, math.Sqrt(v[j]/5+1e-5))
		hinge += max(0, 1-math.Sqrt(v[j]/4+1e-4)) / 3
	}
	var wantStd []float64
	for i := range 5 {
		for j := range 3 {
			wantStd = append(wantStd, (float64(zd[i*3+j])-mean[j])/std[j])
		}
	}
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return Standardize(in[0], 1e-5) }, z)
	assertClose(t, "standardize", got, wantStd, 1e-5)
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return VarianceHinge(in[0], 1e-4) }, z)
	if hinge == 0 {
		t.Fatal("degenerate test: no column under the hinge")
	}
	assertClose(t, "varianceHinge", got, []float64{hinge}, 1e-5)
	var cov float64
	for a := range 3 {
		for b := range 3 {
			if a == b {
				continue
			}
			var s float64
			for i := range 5 {
				s += (float64(zd[i*3+a]) - mean[a]) * (float64(zd[i*3+b]) - mean[b])
			}
			cov += (s / 4) * (s / 4) / 3
		}
	}
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return CovarianceOffDiagonal(in[0]) }, z)
	assertClose(t, "covarianceOffDiagonal", got, []float64{cov}, 1e-5)

	d := randTensor(rng, -3, 3, 4, 4)
	want = 0
	for i := range 4 {
		row := d.Float32s()[i*4 : (i+1)*4]
		var den float64
		for _, v := range row {
			den += math.Exp(float64(v))
		}
		want += (math.Log(den) - float64(row[i])) / 4
	}
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return DiagonalCrossEntropy(in[0]) }, d)
	assertClose(t, "diagonalCE", got, []float64{want}, 1e-6)
}

func TestSupConRejectsNaNLabel(t *testing.T) {
	g := G.NewGraph()
	l := G.NodeFromAny(g, randTensor(rand.New(rand.NewPCG(1, 1)), -1, 1, 3, 3), G.WithName("l"))
	y := G.NodeFromAny(g, tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{0, float32(math.NaN()), 1})), G.WithName("y"))
	if _, err := SupConLoss(l, y); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Fatalf("a NaN label gave %v, want an error naming row 1", err)
	}
}

// TestNearestNeighbor compares with a brute-force search in float64, across several
// support blocks, and checks that no gradient flows through it.
func TestNearestNeighbor(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	const n, q, d = 3, 2100, 5 // q spans several blocks of the kernel's scan
	z, sup := randTensor(rng, -1, 1, n, d), randTensor(rng, -1, 1, q, d)
	sd := sup.Float32s()
	clear(sd[7*d : 8*d]) // a zero row
	// Scale some rows: the cosine, not the dot product, must decide.
	for j := 0; j < q; j += 3 {
		for k := range d {
			sd[j*d+k] *= 5
		}
	}
	got := forward(t, func(in []*G.Node) (*G.Node, error) { return NearestNeighbor(in[0], in[1]) }, z, sup)
	for i := range n {
		zr := z.Float32s()[i*d : (i+1)*d]
		best, bi := math.Inf(-1), -1
		for j := range q {
			var dot, nn float64
			for k := range d {
				dot += float64(zr[k]) * float64(sd[j*d+k])
				nn += float64(sd[j*d+k]) * float64(sd[j*d+k])
			}
			if nn > 0 {
				if c := dot / math.Sqrt(nn); c > best {
					best, bi = c, j
				}
			}
		}
		if !slices.Equal(got[i*d:(i+1)*d], sd[bi*d:(bi+1)*d]) {
			t.Fatalf("row %d: got %v, want support row %d %v", i, got[i*d:(i+1)*d], bi, sd[bi*d:(bi+1)*d])
		}
	}

	// Every cosine negative: the zero row (cosine undefined) must not win.
	got = forward(t, func(in []*G.Node) (*G.Node, error) { return NearestNeighbor(in[0], in[1]) },
		tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, 0})),
		tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{-1, 0.1, 0, 0, -1, -0.5})))
	if !slices.Equal(got, []float32{-1, -0.5}) {
		t.Fatalf("all cosines negative: got %v, want row 2 [-1 -0.5]", got)
	}

	// loss = mean(z + NN(z)): dz = 1/size through z alone.
	g := G.NewGraph()
	zn := G.NodeFromAny(g, z, G.WithName("z"))
	sn := G.NodeFromAny(g, sup, G.WithName("s"))
	nb, err := NearestNeighbor(zn, sn)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Add(zn, nb)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := Mean(sum)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, zn)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, v := range grads[0].Value().(*tensor.Dense).Float32s() {
		if v != 1.0/(n*d) {
			t.Fatalf("grad[%d] = %v, want %v (nothing through the neighbour)", i, v, 1.0/(n*d))
		}
	}
}

func TestContrastiveShapeErrors(t *testing.T) {
	g := G.NewGraph()
	m := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	x, sq, v4, v3 := m("x", 4, 3), m("sq", 4, 4), m("v4", 4), m("v3", 3)
	cases := []struct {
		name string
		f    func() (*G.Node, error)
	}{
		{"rows empty", func() (*G.Node, error) { return Rows(x, 2, 2) }},
		{"rows past end", func() (*G.Node, error) { return Rows(x, 1, 5) }},
		{"split uneven", func() (*G.Node, error) { _, err := SplitRows(x, 3); return nil, err }},
		{"supCon non-square", func() (*G.Node, error) { return SupConLoss(x, v4) }},
		{"supCon labels", func() (*G.Node, error) { return SupConLoss(sq, v3) }},
		{"infoNCE rows", func() (*G.Node, error) { return InfoNCELoss(v3, x, 1) }},
		{"infoNCE scale", func() (*G.Node, error) { return InfoNCELoss(v4, x, 0) }},
		{"diagonalCE", func() (*G.Node, error) { return DiagonalCrossEntropy(x) }},
		{"nearest width", func() (*G.Node, error) { return NearestNeighbor(x, sq) }},
		{"standardize rank", func() (*G.Node, error) { return Standardize(v4, 1e-5) }},
		{"crossCorrelation", func() (*G.Node, error) { return CrossCorrelationLoss(x, 1) }},
		{"crossCorrelation lambda", func() (*G.Node, error) { return CrossCorrelationLoss(sq, -1) }},
		{"mse", func() (*G.Node, error) { return MeanSquaredError(x, sq) }},
		{"varianceHinge eps", func() (*G.Node, error) { return VarianceHinge(x, 0) }},
		{"covariance one row", func() (*G.Node, error) { return CovarianceOffDiagonal(m("r", 1, 3)) }},
	}
	for _, c := range cases {
		if _, err := c.f(); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestContrastiveOpsOnExecutor runs every loss with its gradients on the project's
// executor and on the TapeMachine: same values, the row slices and the stop-gradient are
// views, nothing runs through an allocating Do, and a steady-state run allocates no
// tensors (only the scalar results' few bytes).
func TestContrastiveOpsOnExecutor(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	// Sizes where one tensor is larger than what a run may allocate (closures of the
	// parallel loops and scalar results allocate a few bytes per op), and where the row
	// loops split over goroutines.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const n, d, q = 512, 96, 2048
	g := G.NewGraph()
	z := G.NodeFromAny(g, spreadColumns(rng, n, d, 0.5, 2), G.WithName("z"))
	queue := G.NodeFromAny(g, randTensor(rng, -1, 1, q, d), G.WithName("queue"))
	lv := make([]float32, n)
	for i := range lv {
		lv[i] = float32(i % 13)
	}
	lv[5] = 99 // a row without positives
	labels := G.NodeFromAny(g, tensor.New(tensor.WithShape(n), tensor.WithBacking(lv)), G.WithName("labels"))
	must := func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	views, err := SplitRows(z, 2)
	if err != nil {
		t.Fatal(err)
	}
	z1, z2 := views[0], views[1]
	zn := must(L2Normalize(z, 1e-12))
	supcon := must(SupConLoss(must(MatMul(zn, zn, nil, false, true, 2)), labels))
	q1, k2 := must(Rows(zn, 0, n/2)), must(Rows(zn, n/2, n))
	neg := must(MatMul(q1, must(StopGradient(queue)), nil, false, true, 1))
	moco := must(InfoNCELoss(must(RowDot(q1, k2)), neg, 5))
	nn := must(NearestNeighbor(z1, queue))
	nnclr := must(DiagonalCrossEntropy(must(MatMul(must(L2Normalize(nn, 1e-12)), k2, nil, false, true, 10))))
	c := must(MatMul(must(Standardize(z1, 1e-5)), must(Standardize(z2, 1e-5)), nil, true, false, 2.0/n))
	barlow := must(CrossCorrelationLoss(c, 0.005))
	vic := must(Add(must(Add(must(MeanSquaredError(z1, z2)), must(VarianceHinge(z1, 1e-4)))), must(CovarianceOffDiagonal(z2))))
	losses := []*G.Node{supcon, moco, nnclr, barlow, vic}
	total := losses[0]
	for _, l := range losses[1:] {
		total = must(Add(total, l))
	}
	grads, err := G.Grad(total, z)
	if err != nil {
		t.Fatal(err)
	}
	outs := append(append([]*G.Node(nil), losses...), grads...)
	m, err := exec.New(g, exec.Outputs(outs...))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	// z1, z2, q1, k2, the stop-gradient and the two parts of InfoNCE's gradient are views.
	if st.Views < 7 || st.Copy != 0 || st.Copies != 0 {
		t.Fatalf("plan %+v: want at least 7 views and no copies", st)
	}
	tm := G.NewTapeMachine(g)
	defer tm.Close()
	if err := tm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, n := range outs {
		v, err := m.Value(n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := valueData(v, n.Shape())
		if err != nil {
			t.Fatal(err)
		}
		want, err := valueData(n.Value(), n.Shape())
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*math.Max(1e-2, math.Abs(float64(want[i]))) {
				t.Fatalf("%v [%d]: executor %v, TapeMachine %v", n, i, got[i], want[i])
			}
		}
	}
	// A second run gives the same values (no stale state), and allocates only the
	// scalar results.
	first := fmt.Sprint(m.Float32s(grads[0]))
	allocs := testing.AllocsPerRun(5, func() {
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if again := fmt.Sprint(m.Float32s(grads[0])); again != first {
		t.Fatal("a second run changed the gradient")
	}
	// AllocsPerRun ran on one goroutine; with several, the parallel loops and the matrix
	// products take per-worker scratch as workers first meet each size, and a collection
	// empties the matrix products' sync.Pools, both at times that depend on scheduling.
	// The smallest figure of a few windows is the steady state; a run that allocated its
	// tensors would show in every window.
	perRun := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 4 {
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		perRun = min(perRun, (after.TotalAlloc-before.TotalAlloc)/4)
	}
	t.Logf("%v allocations, %d bytes per run; planned %d bytes", allocs, perRun, st.PlannedBytes)
	if perRun > 16<<10 && !raceEnabled {
		t.Fatalf("a steady-state run allocates %d bytes (%v allocations)", perRun, allocs)
	}

	// The same values bit for bit on one goroutine (per-row results are summed in order).
	snapshot := func() string {
		var sb strings.Builder
		for _, n := range outs {
			v, err := m.Value(n)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := valueData(v, n.Shape())
			for _, x := range d {
				fmt.Fprintf(&sb, "%x,", math.Float32bits(x))
			}
		}
		return sb.String()
	}
	many := snapshot()
	runtime.GOMAXPROCS(1)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if snapshot() != many {
		t.Fatal("the losses or gradients differ between 1 and several goroutines")
	}
}
