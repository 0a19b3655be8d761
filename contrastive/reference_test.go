package contrastive

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// reference is testdata/reference.json, written by testdata/gen_reference.py with PyTorch.
type reference struct {
	Tau []struct {
		Base, Final float64
		Steps       int64
		Taus        []float64
	}
	EMA struct {
		Base, Final float64
		Steps       int64
		Shape       []int
		Target0     []float32
		Online      [][]float32
		Taus        []float64
		Targets     [][]float64
	}
	MoCo struct {
		Q, D   int
		Queue0 []float32
		Ptr0   int
		Keys   [][]float32
		Queues [][]float64
		Ptrs   []int
	} `json:"moco"`
	MoCoHead struct {
		N, H, D, Q     int
		T              float32
		X              []float32
		XShape         []int `json:"x_shape"`
		W1, B1, W2, B2 []float32
		Queue          []float32
		Loss           float64
	} `json:"moco_head"`
	NNCLR struct {
		Q, D               int
		Ptr0               int `json:"ptr0"`
		Support0           []float32
		Za, Zb             []float32
		Support1, Support2 []float64
		Ptr1, Ptr2         int
		Queries            []float32
		NNIndex            []int     `json:"nn_index"`
		NNRows             []float64 `json:"nn_rows"`
	} `json:"nnclr"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("testdata/reference.json: %v", err)
	}
	return r
}

// relClose reports the first index where got and want differ by more than tol relative
// (to max(1, |want|)), or -1.
func relClose(got []float32, want []float64, tol float64) int {
	if len(got) != len(want) {
		return 0
	}
	for i, w := range want {
		if math.Abs(float64(got[i])-w) > tol*max(1, math.Abs(w)) {
			return i
		}
	}
	return -1
}

func param(t *testing.T, ps *nn.Params, name string, shape []int, trainable bool, data []float32) *nn.Param {
	t.Helper()
	p, err := ps.Variable(name, shape, nil, trainable)
	if err != nil {
		t.Fatal(err)
	}
	if data != nil {
		copy(p.Data(), data)
	}
	return p
}

func TestTauAgainstPyTorch(t *testing.T) {
	ref := loadReference(t)
	if len(ref.Tau) == 0 {
		t.Fatal("no tau cases")
	}
	for _, c := range ref.Tau {
		for k := int64(1); k <= c.Steps; k++ {
			got := Tau(c.Base, c.Final, k-1, c.Steps)
			if w := c.Taus[k-1]; math.Abs(got-w) > 1e-12 {
				t.Errorf("Tau(%g, %g, %d, %d) = %v, solo-learn's schedule gives %v", c.Base, c.Final, k-1, c.Steps, got, w)
			}
		}
		if got := Tau(c.Base, c.Final, c.Steps, c.Steps); got != c.Final {
			t.Errorf("Tau at the last step = %v, want final %v", got, c.Final)
		}
	}
}

// BYOL's AfterStep on fixed tensors: the target follows the EMA of the online values
// PyTorch computes; the moving statistics of the target are left alone.
func TestBYOLUpdateAgainstPyTorch(t *testing.T) {
	e := loadReference(t).EMA
	ps := nn.NewParams(1)
	online := param(t, ps, "backbone/conv/kernel", e.Shape, true, nil)
	mm := param(t, ps, "pretext/projector/bn1/moving_mean", []int{2}, false, []float32{5, 6})
	target := param(t, ps, TargetScope+"/backbone/conv/kernel", e.Shape, false, e.Target0)
	tmm := param(t, ps, TargetScope+"/projector/bn1/moving_mean", []int{2}, false, []float32{1, 2})
	task := BYOL(Momentum(e.Base, e.Final))
	for k := int64(1); k <= e.Steps; k++ {
		copy(online.Data(), e.Online[k-1])
		if err := task.AfterStep(&ssl.StepInfo{Params: ps, Step: k, Steps: e.Steps}); err != nil {
			t.Fatal(err)
		}
		if i := relClose(target.Data(), e.Targets[k-1], 1e-4); i >= 0 {
			t.Fatalf("step %d: target[%d] = %v, PyTorch %v", k, i, target.Data()[i], e.Targets[k-1][i])
		}
	}
	if tmm.Data()[0] != 1 || tmm.Data()[1] != 2 || mm.Data()[0] != 5 {
		t.Errorf("moving statistics changed: target %v, online %v", tmm.Data(), mm.Data())
	}
	// InitParams copies everything, moving statistics included.
	if err := task.InitParams(ps); err != nil {
		t.Fatal(err)
	}
	if maxDiff(target.Data(), online.Data()) != 0 || maxDiff(tmm.Data(), mm.Data()) != 0 {
		t.Error("InitParams did not copy the online network into the target")
	}
	// A target parameter without an online counterpart is an error naming it.
	param(t, ps, TargetScope+"/projector/extra/kernel", []int{2}, false, nil)
	var m momentum
	if err := m.init(ps); err == nil {
		t.Error("a target parameter without counterpart was accepted")
	}
}

// MoCo's AfterStep on fixed keys: the queue and its pointer after each step, wrapping
// around a queue whose size is not a multiple of the 2N keys per step, as PyTorch's FIFO.
func TestMoCoQueueAgainstPyTorch(t *testing.T) {
	r := loadReference(t).MoCo
	ps := nn.NewParams(1)
	param(t, ps, "backbone/w", []int{2}, true, []float32{1, 1})
	param(t, ps, TargetScope+"/backbone/w", []int{2}, false, nil)
	queue := param(t, ps, QueueParam, []int{r.Q, r.D}, false, r.Queue0)
	ptr := param(t, ps, QueuePointerParam, []int{1}, false, []float32{float32(r.Ptr0)})
	task := MoCoV2(QueueSize(r.Q), Projector(8, r.D))
	wrapped := false
	for k, keys := range r.Keys {
		if err := task.afterStep(ps, int64(k+1), int64(len(r.Keys)), keys); err != nil {
			t.Fatal(err)
		}
		if i := relClose(queue.Data(), r.Queues[k], 1e-6); i >= 0 {
			t.Fatalf("step %d: queue value %d = %v, PyTorch %v", k+1, i, queue.Data()[i], r.Queues[k][i])
		}
		if int(ptr.Data()[0]) != r.Ptrs[k] {
			t.Fatalf("step %d: pointer %v, PyTorch %d", k+1, ptr.Data()[0], r.Ptrs[k])
		}
		wrapped = wrapped || (k > 0 && r.Ptrs[k] < r.Ptrs[k-1])
	}
	if !wrapped {
		t.Fatal("the reference never wraps around")
	}
	// A pointer outside the queue (a corrupt checkpoint) is an error, not a panic.
	ptr.Data()[0] = float32(r.Q)
	if err := task.afterStep(ps, 1, 1, r.Keys[0]); err == nil {
		t.Error("pointer outside the queue accepted")
	}
}

// NNCLR's support set on fixed projections: the FIFO update and the nearest neighbour of
// each query (nn.NearestNeighbor on the updated support set), as PyTorch finds them.
func TestNNCLRSupportAgainstPyTorch(t *testing.T) {
	r := loadReference(t).NNCLR
	ps := nn.NewParams(1)
	support := param(t, ps, QueueParam, []int{r.Q, r.D}, false, r.Support0)
	ptr := param(t, ps, QueuePointerParam, []int{1}, false, []float32{float32(r.Ptr0)})
	if err := pushQueue(ps, r.Za); err != nil {
		t.Fatal(err)
	}
	if i := relClose(support.Data(), r.Support1, 1e-6); i >= 0 || int(ptr.Data()[0]) != r.Ptr1 {
		t.Fatalf("after the first update: support %v (pointer %v), PyTorch %v (pointer %d)", support.Data(), ptr.Data()[0], r.Support1, r.Ptr1)
	}

	nq := len(r.Queries) / r.D
	g, err := train.Compile(train.Spec{Params: ps, Input: []int{nq, r.D}, Build: func(s *nn.Scope, x, _ *G.Node) (*G.Node, *G.Node) {
		q := s.In(ssl.PretextScope).Variable("queue", []int{r.Q, r.D}, nil, false)
		return nil, nn.NearestNeighbor(s, x, q)
	}})
	if err != nil {
		t.Fatal(err)
	}
	copy(g.Input(), r.Queries)
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := g.Output()
	if err != nil {
		t.Fatal(err)
	}
	if i := relClose(rows, r.NNRows, 1e-6); i >= 0 {
		t.Fatalf("nearest neighbours %v, PyTorch's %v (rows %v)", rows, r.NNRows, r.NNIndex)
	}

	if err := pushQueue(ps, r.Zb); err != nil {
		t.Fatal(err)
	}
	if i := relClose(support.Data(), r.Support2, 1e-6); i >= 0 || int(ptr.Data()[0]) != r.Ptr2 {
		t.Fatalf("after the second update: support %v (pointer %v), PyTorch %v (pointer %d)", support.Data(), ptr.Data()[0], r.Support2, r.Ptr2)
	}
	if err := pushQueue(ps, r.Zb[:r.D+1]); err == nil {
		t.Error("a partial row was enqueued")
	}
}

// flat is a backbone without parameters whose features are its input [N, F].
type flat struct{}

func (flat) Name() string                         { return "flat" }
func (flat) Build(s *nn.Scope, x *G.Node) *G.Node { return nn.Flatten(s, x) }

// MoCo v2's whole head on fixed features, projector weights and queue, the key encoder
// set by InitParams: the loss PyTorch computes.
func TestMoCoHeadAgainstPyTorch(t *testing.T) {
	r := loadReference(t).MoCoHead
	task := MoCoV2(Projector(r.H, r.D), QueueSize(r.Q), Temperature(r.T))
	ps := nn.NewParams(1)
	g, err := train.Compile(train.Spec{Params: ps, Input: r.XShape, Build: func(s *nn.Scope, x, _ *G.Node) (*G.Node, *G.Node) {
		loss, _ := task.Head(&ssl.HeadInput{Scope: s.In(ssl.PretextScope), Features: x, Input: x, Backbone: flat{}, N: r.N, Views: 2})
		return loss, loss
	}})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]float32{"dense1/kernel": r.W1, "dense1/bias": r.B1, "dense2/kernel": r.W2, "dense2/bias": r.B2} {
		p := ps.Get("pretext/projector/" + name)
		if p == nil || len(p.Data()) != len(v) {
			t.Fatalf("projector parameter %s: %v", name, p)
		}
		copy(p.Data(), v)
	}
	copy(ps.Get(QueueParam).Data(), r.Queue)
	if err := task.InitParams(ps); err != nil {
		t.Fatal(err)
	}
	copy(g.Input(), r.X)
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	loss, err := g.Loss()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-r.Loss) > 1e-4*math.Abs(r.Loss) {
		t.Errorf("MoCo head loss %v, PyTorch %v", loss, r.Loss)
	}
}
