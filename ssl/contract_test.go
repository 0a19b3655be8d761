package ssl_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// pairTask feeds every image twice, unchanged, as views 0 and 1, and scores whether the
// backbone's features of row i and row N+i are equal: they are exactly when the two
// rows hold the same image, which the view-major layout promises also for a partial
// last validation batch.
type pairTask struct {
	partial bool // a validation batch with padding was seen
}

func (*pairTask) Name() string          { return "pairs" }
func (*pairTask) Views() int            { return 2 }
func (*pairTask) TargetShape(int) []int { return nil }
func (t *pairTask) Prepare(b *ssl.Batch) error {
	if b.Valid < b.N {
		t.partial = true
	}
	for v := 0; v < 2; v++ {
		for i := 0; i < b.N; i++ {
			copy(b.Input(v, i), b.Image(i))
		}
		b.Normalize(b.View(v))
	}
	return nil
}
func (*pairTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	views := nn.SplitRows(h.Scope, h.Features, 2)
	if views == nil {
		return nil, nil
	}
	return nn.NegCosine(h.Scope, views[0], views[1]), h.Features
}
func (*pairTask) Score(out, _ []float32, g ssl.Geometry) float64 {
	f := len(out) / (g.N * g.Views)
	for i := 0; i < g.Valid; i++ {
		if !slices.Equal(out[i*f:(i+1)*f], out[(g.N+i)*f:(g.N+i+1)*f]) {
			return 0
		}
	}
	return 1
}

func TestTwoViewHeadPairsTheSameImagesInAPartialBatch(t *testing.T) {
	task := &pairTask{}
	pool := newSynth(100, 2, 8, 1)
	// 25 validation images in batches of 8: the last one holds a single real image.
	rep, err := ssl.New(tinyNet{}, ssl.Seed(1), ssl.BatchSize(8)).
		Pretrain(task, pool, ssl.Epochs(1), ssl.ValidationFraction(0.25)).
		CompareSupervised().
		Evaluate(context.Background(), pool, newSynth(20, 2, 8, 2), ssl.Budgets(ssl.Budget{NLabels: 8, Runs: [][]int{{0, 1, 2, 3, 4, 5, 6, 7}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !task.partial {
		t.Fatal("no validation batch was padded: the test does not test the partial batch")
	}
	e := rep.Pretrain.Epochs[0]
	if e.ValScore != 1 {
		t.Fatalf("validation score %v: some row i and row N+i held different images", e.ValScore)
	}
	if e.ValLoss > -0.999 {
		t.Fatalf("validation loss %v: the two views' features are not pairwise equal (want -1)", e.ValLoss)
	}
}

// emaTask is BYOL's mechanism without BYOL: a frozen copy of the backbone on the same
// input, initialised from the online weights and then moved towards them after every
// step by target = tau*target + (1-tau)*online.
type emaTask struct {
	tau     float32
	initial map[string][]float32   // online weights when the network was built
	after   []map[string][]float32 // online weights after each step
	steps   []int64
	total   int64
	params  *nn.Params
}

const targetPrefix = ssl.PretextScope + "/target/"

func (*emaTask) Name() string          { return "ema" }
func (*emaTask) Views() int            { return 1 }
func (*emaTask) TargetShape(int) []int { return nil }
func (*emaTask) Prepare(b *ssl.Batch) error {
	copy(b.Inputs, b.Images)
	b.Normalize(b.Inputs)
	return nil
}
func (*emaTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	target := h.BuildBackbone(h.Scope.In("target").Frozen())
	return nn.NegCosine(h.Scope, h.Features, nn.StopGradient(h.Scope, target)), nil
}

// online returns the trainable backbone parameters and their targets.
func (t *emaTask) pairs(ps *nn.Params) (online, target []*nn.Param) {
	for _, p := range ps.All() {
		if rest, ok := strings.CutPrefix(p.Name, ssl.BackboneScope+"/"); ok && p.Trainable {
			online = append(online, p)
			target = append(target, ps.Get(targetPrefix+rest))
		}
	}
	return online, target
}

func (t *emaTask) InitParams(ps *nn.Params) error {
	t.params, t.initial = ps, map[string][]float32{}
	online, target := t.pairs(ps)
	for i, p := range online {
		if target[i] == nil {
			return errors.New("no target for " + p.Name)
		}
		copy(target[i].Data(), p.Data())
		t.initial[p.Name] = slices.Clone(p.Data())
	}
	return nil
}

func (t *emaTask) AfterStep(s *ssl.StepInfo) error {
	online, target := t.pairs(s.Params)
	snap := map[string][]float32{}
	for i, p := range online {
		snap[p.Name] = slices.Clone(p.Data())
		d := target[i].Data()
		for j, w := range p.Data() {
			d[j] = t.tau*d[j] + (1-t.tau)*w
		}
	}
	t.after = append(t.after, snap)
	t.steps, t.total = append(t.steps, s.Step), s.Steps
	return nil
}

func TestTargetNetworkFollowsTheOnlineWeightsByEMA(t *testing.T) {
	task := &emaTask{tau: 0.9}
	pool := newSynth(64, 2, 8, 3)
	if _, err := ssl.New(tinyNet{}, ssl.Seed(2), ssl.BatchSize(16)).
		Pretrain(task, pool, ssl.Epochs(2), ssl.ValidationFraction(0)).Encoder(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(task.steps, want) || task.total != 8 {
		t.Fatalf("hook saw steps %v of %d, want %v of 8", task.steps, task.total, want)
	}
	online, target := task.pairs(task.params)
	if len(online) == 0 {
		t.Fatal("no online parameters")
	}
	for i, p := range online {
		if target[i].Trainable || target[i].L2 != 0 {
			t.Fatalf("target %s is trainable (%v) or penalised (%v)", target[i].Name, target[i].Trainable, target[i].L2)
		}
		// The recursion, recomputed from the online weights recorded after each step.
		want := slices.Clone(task.initial[p.Name])
		for _, snap := range task.after {
			for j, w := range snap[p.Name] {
				want[j] = task.tau*want[j] + (1-task.tau)*w
			}
		}
		if !slices.Equal(target[i].Data(), want) {
			t.Fatalf("target %s is not the EMA of the online weights (optimizer or a run changed it)", target[i].Name)
		}
		if slices.Equal(want, p.Data()) || slices.Equal(task.initial[p.Name], p.Data()) {
			t.Fatalf("%s: online weights did not train or the target caught up exactly: the test tests nothing", p.Name)
		}
	}
}

// colourLabels is a labeled dataset whose label is written into the image: pixel (0, 0)
// of the red channel is 40*label/255, so a task can check the labels it is given.
type colourLabels struct{ *synth }

func (d colourLabels) FillBatch(dst []float32, idx []int) error {
	if err := d.synth.FillBatch(dst, idx); err != nil {
		return err
	}
	per := 3 * d.size * d.size
	for k, i := range idx {
		dst[k*per] = float32(40*d.labels[i]) / 255
	}
	return nil
}

// labelTask is SupCon's plumbing: labels into targets for both views, a supervised
// contrastive loss, and the targets exposed to a hook that checks what reached the graph.
type labelTask struct {
	mu      sync.Mutex
	sent    [][]float32 // targets written by Prepare for training batches, in order
	checked int
	bad     string
}

func (*labelTask) Name() string            { return "labels" }
func (*labelTask) Views() int              { return 2 }
func (*labelTask) TargetShape(n int) []int { return []int{n} }
func (*labelTask) CheckData(ds ssl.Dataset) error {
	for i := 0; i < ds.Len(); i++ {
		if ds.Label(i) == ssl.NoLabel {
			return errors.New("supervised contrastive learning needs labels: image has none")
		}
	}
	return nil
}
func (t *labelTask) Prepare(b *ssl.Batch) error {
	for i := 0; i < b.N; i++ {
		if got := int(math.Round(float64(b.Image(i)[0]) * 255 / 40)); got != b.Labels[i] {
			t.bad = "Batch.Labels do not belong to Batch.Images"
		}
		for v := 0; v < 2; v++ {
			copy(b.Input(v, i), b.Image(i))
			b.Targets[v*b.N+i] = float32(b.Labels[i])
		}
	}
	b.Normalize(b.Inputs)
	if b.Training {
		t.mu.Lock()
		t.sent = append(t.sent, slices.Clone(b.Targets))
		t.mu.Unlock()
	}
	return nil
}
func (*labelTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	h.Expose("labels", h.Targets)
	return nn.SupConLoss(h.Scope, h.Features, h.Targets, 0.1), nil
}
func (t *labelTask) AfterStep(s *ssl.StepInfo) error {
	got, err := s.Value("labels")
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.sent) == 0 || !slices.Equal(got, t.sent[0]) {
		t.bad = "the graph's targets are not the labels Prepare wrote for this step"
	}
	t.sent = t.sent[1:]
	t.checked++
	return nil
}

func TestSupConStyleHeadReceivesTheTrueLabels(t *testing.T) {
	task := &labelTask{}
	pool := colourLabels{newSynth(48, 3, 8, 4)}
	if _, err := ssl.New(tinyNet{}, ssl.Seed(3), ssl.BatchSize(12)).
		Pretrain(task, pool, ssl.Epochs(2), ssl.ValidationFraction(0.25)).Encoder(context.Background()); err != nil {
		t.Fatal(err)
	}
	if task.bad != "" {
		t.Fatal(task.bad)
	}
	if task.checked != 6 {
		t.Fatalf("%d steps checked, want 6", task.checked)
	}
	_, err := ssl.New(tinyNet{}).Pretrain(&labelTask{}, unlabeledView{pool.synth}).Encoder(context.Background())
	if err == nil || !strings.Contains(err.Error(), "needs labels") {
		t.Fatalf("unlabeled pretraining images: %v, want the task's CheckData error", err)
	}
}

// centreProbe checks, in every augmented training batch, that the pixels a crop filled
// in (raw value exactly 0) are exactly 0 once centred: the augmented mean image leaves no
// trace of the mean's layout there.
type centreProbe struct {
	filled, leaked int
}

func (*centreProbe) Name() string          { return "centre-probe" }
func (*centreProbe) Views() int            { return 1 }
func (*centreProbe) TargetShape(int) []int { return nil }
func (t *centreProbe) Prepare(b *ssl.Batch) error {
	copy(b.Inputs, b.Images)
	b.Normalize(b.Inputs)
	if !b.Training {
		return nil
	}
	if b.Means == nil {
		return errors.New("an augmented batch has no Means")
	}
	for j, x := range b.Images {
		if x == 0 {
			t.filled++
			if b.Inputs[j] != 0 {
				t.leaked++
			}
		}
	}
	return nil
}
func (*centreProbe) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	return nn.Mean(h.Scope, h.Features), nil
}

func TestAugmentedImagesAreCentredWithTheAugmentedMean(t *testing.T) {
	pool := newSynth(64, 2, 8, 5)
	for i := range pool.pix {
		pool.pix[i] = max(pool.pix[i], 1) // no raw zero but the crop's padding
	}
	task := &centreProbe{}
	if _, err := ssl.New(tinyNet{}, ssl.Seed(4), ssl.BatchSize(16)).
		Pretrain(task, pool, ssl.Epochs(1), ssl.ValidationFraction(0.25), ssl.Augment(augment.CIFARCrop())).Encoder(context.Background()); err != nil {
		t.Fatal(err)
	}
	if task.filled == 0 {
		t.Fatal("the crop filled in no pixel: the test tests nothing")
	}
	if task.leaked != 0 {
		t.Fatalf("%d of %d filled-in pixels carry the mean image after centring", task.leaked, task.filled)
	}
}
