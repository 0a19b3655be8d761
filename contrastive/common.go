package contrastive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// Parameter names of the state the methods keep in the "pretext" scope, where the
// pipeline's checkpoints carry it.
const (
	// QueueParam is the queue of MoCo's negative keys and of NNCLR's support set, [Q, D]:
	// L2-normalised rows, non-trainable, filled in AfterStep.
	QueueParam = ssl.PretextScope + "/queue"
	// QueuePointerParam is the row [1] where the next enqueued row goes (a float32, exact
	// for queues of up to 2^24 rows).
	QueuePointerParam = ssl.PretextScope + "/queue_ptr"
	// TargetScope is the scope of BYOL's target and MoCo's key network, inside "pretext":
	// its backbone is TargetScope+"/backbone/...", its projector TargetScope+"/projector/...".
	TargetScope = ssl.PretextScope + "/target"
)

// pytorchBN makes the projector's batch norms PyTorch's BatchNorm1d (momentum 0.1, i.e. a
// moving average keeping 0.9, and epsilon 1e-5), as the reference implementations use.
var pytorchBN = []nn.Option{nn.Momentum(0.9), nn.Epsilon(1e-5)}

// base is what every method shares: its settings, the two-view Prepare and the checks.
type base struct {
	method string
	name   string
	cfg    config
	err    error
}

func newBase(method string, def config, allowed optKind, opts []Option) base {
	c, err := configure(method, def, allowed|optAugment, opts)
	return base{method: method, cfg: c, err: err}
}

// augName is the name of the views' augmentation(s) for Name: a preset's label
// ("simclr-cifar" of "simclr-cifar: rrc(...)+..."), otherwise the full name.
func (b *base) augName() string {
	v := b.cfg.views
	if v[0] == nil || v[1] == nil {
		return "none"
	}
	n1, n2 := shortName(v[0]), shortName(v[1])
	if n1 == n2 {
		return n1
	}
	return n1 + "+" + n2
}

func shortName(a ssl.Augmentation) string {
	n := a.Name()
	if label, _, ok := strings.Cut(n, ": "); ok && label != "" {
		return label
	}
	return n
}

// Name identifies the method and its settings.
func (b *base) Name() string { return b.name }

// Err reports an invalid or inapplicable option given to the constructor, or nil. The
// pipeline reports it too, before any training.
func (b *base) Err() error { return b.err }

// Views is 2: every method contrasts two augmented views of each image.
func (b *base) Views() int { return 2 }

// TargetShape is nil: the self-supervised methods have no targets (SupCon overrides it).
func (b *base) TargetShape(int) []int { return nil }

// CheckShape reports an option error, and checks that the views' augmentations accept
// c×h×w images (the colour transforms of the presets need RGB) by augmenting one blank
// image.
func (b *base) CheckShape(c, h, w int) error {
	if b.err != nil {
		return b.err
	}
	img := make([]float32, c*h*w)
	for v, a := range b.cfg.views {
		if err := a.Augment(img, img, 1, c, h, w, 1); err != nil {
			return fmt.Errorf("contrastive: %s: view %d: augmentation %s on %dx%dx%d images: %w", b.method, v+1, a.Name(), c, h, w, err)
		}
	}
	return nil
}

// Prepare writes the two views of every image, view-major: view v of image i is the
// image augmented by the view's augmentation with a seed drawn from b.Rand (one seed per
// view and batch; the augmentation derives each image's randomness from it), then
// centred with Batch.Normalize.
func (b *base) Prepare(bt *ssl.Batch) error {
	if b.err != nil {
		return b.err
	}
	if bt.Views != 2 {
		return fmt.Errorf("contrastive: %s: batch has %d views, want 2", b.method, bt.Views)
	}
	seeds := [2]uint64{bt.Rand.Uint64(), bt.Rand.Uint64()}
	for v, a := range b.cfg.views {
		dst := bt.View(v)
		if err := a.Augment(dst, bt.Images, bt.N, bt.C, bt.H, bt.W, seeds[v]); err != nil {
			return fmt.Errorf("contrastive: %s: view %d: augmentation %s: %w", b.method, v+1, a.Name(), err)
		}
		bt.Normalize(dst)
	}
	return nil
}

// headErr records the constructor's error in the scope, so that building fails with it.
func (b *base) headErr(s *nn.Scope) bool {
	if b.err != nil {
		s.Fail(b.err)
		return true
	}
	return false
}

// bnKind says whether a layer of an MLP ends with a batch norm, with or without learned
// scale and offset.
type bnKind int

const (
	noBN     bnKind = iota
	affineBN        // BatchNorm1d
	plainBN         // BatchNorm1d(affine=False): gamma 1 and beta 0, not trained
)

// layer is one Dense layer of a projector or predictor and what follows it.
type layer struct {
	units  int
	noBias bool
	bn     bnKind
	relu   bool
}

// mlp builds Dense layers "dense1", "dense2", ... (with "bn1", ... after them) in s.
// Dense kernels are glorot_uniform and biases zero (the project's Keras defaults);
// PyTorch's nn.Linear draws both from U(±1/sqrt(fan_in)). A batch norm without affine
// parameters is one whose gamma and beta live in a frozen scope: 1 and 0 for good.
func mlp(s *nn.Scope, x *G.Node, layers []layer) *G.Node {
	for i, l := range layers {
		var opts []nn.Option
		if l.noBias {
			opts = append(opts, nn.NoBias())
		}
		x = nn.Dense(s.In(fmt.Sprintf("dense%d", i+1)), x, l.units, opts...)
		switch l.bn {
		case affineBN:
			x = nn.BatchNorm(s.In(fmt.Sprintf("bn%d", i+1)), x, pytorchBN...)
		case plainBN:
			x = nn.BatchNorm(s.In(fmt.Sprintf("bn%d", i+1)).Frozen(), x, pytorchBN...)
		}
		if l.relu {
			x = nn.ReLU(s, x)
		}
	}
	return x
}

// perView applies f (a projector or predictor: the same weights) to each view's rows
// separately, as the reference implementations do, so that batch-norm statistics are
// those of one view.
func perView(s *nn.Scope, x *G.Node, f func(*G.Node) *G.Node) (a, b *G.Node) {
	v := nn.SplitRows(s, x, 2)
	if s.Failed() || len(v) != 2 {
		return nil, nil
	}
	return f(v[0]), f(v[1])
}

// Tau is the momentum of the exponential moving average after step of steps: it rises
// from base (at step 0) to final (at step steps) along a half cosine,
//
//	tau = final - (final - base)·(cos(pi·step/steps) + 1)/2,
//
// BYOL's schedule (Grill et al. 2020, section 3.2, with final 1) as solo-learn's
// MomentumUpdater computes it. step is clamped to [0, steps]; with steps <= 0 it is base.
func Tau(base, final float64, step, steps int64) float64 {
	if steps <= 0 {
		return base
	}
	frac := min(max(float64(step)/float64(steps), 0), 1)
	return final - (final-base)*(math.Cos(math.Pi*frac)+1)/2
}

// momentum is the momentum-target mechanism of BYOL and MoCo: a copy of the backbone and
// the projector in TargetScope, set equal to the online network by InitParams and moved
// towards it after every step.
type momentum struct {
	pairs  []emaPair
	params *nn.Params
}

type emaPair struct{ target, online *nn.Param }

// onlineName is the name of the online parameter a target parameter follows:
// TargetScope/backbone/X follows backbone/X, TargetScope/X follows pretext/X.
func onlineName(target string) (string, bool) {
	rest, ok := strings.CutPrefix(target, TargetScope+"/")
	if !ok {
		return "", false
	}
	if strings.HasPrefix(rest, ssl.BackboneScope+"/") {
		return rest, true
	}
	return ssl.PretextScope + "/" + rest, true
}

// pairsOf returns every target parameter of ps with its online counterpart.
func (m *momentum) pairsOf(ps *nn.Params) ([]emaPair, error) {
	if m.params == ps && m.pairs != nil {
		return m.pairs, nil
	}
	var pairs []emaPair
	for _, t := range ps.All() {
		name, ok := onlineName(t.Name)
		if !ok {
			continue
		}
		o := ps.Get(name)
		if o == nil {
			return nil, fmt.Errorf("target parameter %s has no online counterpart %s", t.Name, name)
		}
		if len(o.Data()) != len(t.Data()) {
			return nil, fmt.Errorf("target parameter %s has %d values, its online counterpart %s %d", t.Name, len(t.Data()), name, len(o.Data()))
		}
		pairs = append(pairs, emaPair{target: t, online: o})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no parameter under %s/: was the target network built?", TargetScope)
	}
	m.params, m.pairs = ps, pairs
	return pairs, nil
}

// init copies every online parameter, batch-norm moving statistics included, into its
// target (solo-learn's initialize_momentum_params copies the parameters; the moving
// statistics start equal anyway).
func (m *momentum) init(ps *nn.Params) error {
	pairs, err := m.pairsOf(ps)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		copy(p.target.Data(), p.online.Data())
	}
	return nil
}

// update moves every target parameter whose online counterpart is trainable towards it,
// target = tau·target + (1-tau)·online. Batch-norm moving statistics are left out, as
// solo-learn's MomentumUpdater (which walks module.parameters(), not the buffers) leaves
// them: the target's batch norms keep their own moving statistics from their forward
// passes.
func (m *momentum) update(ps *nn.Params, tau float64) error {
	pairs, err := m.pairsOf(ps)
	if err != nil {
		return err
	}
	ema(pairs, float32(tau))
	return nil
}

func ema(pairs []emaPair, tau float32) {
	for _, p := range pairs {
		if !p.online.Trainable {
			continue
		}
		t, o := p.target.Data(), p.online.Data()
		for i := range t {
			t[i] = tau*t[i] + (1-tau)*o[i]
		}
	}
}

// normalRows is the queues' initial value: rows drawn from a standard normal and
// L2-normalised, as solo-learn initialises MoCo's queue and NNCLR's support set.
func normalRows(data []float32, shape []int, rng *rand.Rand) {
	d := shape[len(shape)-1]
	for r := 0; r+d <= len(data); r += d {
		var ss float64
		for i := r; i < r+d; i++ {
			v := rng.NormFloat64()
			data[i] = float32(v)
			ss += v * v
		}
		inv := float32(1 / max(math.Sqrt(ss), 1e-12))
		for i := r; i < r+d; i++ {
			data[i] *= inv
		}
	}
}

// queueNodes creates (or finds) the queue [q, d] and its pointer in the pretext scope s.
func queueNodes(s *nn.Scope, q, d int) *G.Node {
	n := s.Variable("queue", []int{q, d}, normalRows, false)
	if _, err := s.Params().Variable(s.Name("queue_ptr"), []int{1}, nn.Zeros, false); err != nil {
		s.Fail(err)
		return nil
	}
	return n
}

// enqueue writes the rows of rows (each d values) into queue (q rows of d) from row ptr
// on, wrapping around at the end, first in first out, and returns the new pointer.
func enqueue(queue []float32, q, d, ptr int, rows []float32) int {
	k := len(rows) / d
	// More rows than the queue holds: only the last q can survive.
	if k > q {
		ptr = (ptr + k - q) % q
		rows = rows[(k-q)*d:]
		k = q
	}
	for i := 0; i < k; i++ {
		copy(queue[ptr*d:(ptr+1)*d], rows[i*d:(i+1)*d])
		ptr = (ptr + 1) % q
	}
	return ptr
}

// pushQueue enqueues rows into the QueueParam of ps, moving QueuePointerParam.
func pushQueue(ps *nn.Params, rows []float32) error {
	qp, pp := ps.Get(QueueParam), ps.Get(QueuePointerParam)
	if qp == nil || pp == nil {
		return fmt.Errorf("no %s or %s parameter", QueueParam, QueuePointerParam)
	}
	sh := qp.Value.Shape()
	q, d := sh[0], sh[1]
	if len(rows)%d != 0 {
		return fmt.Errorf("%d values to enqueue are not rows of %d", len(rows), d)
	}
	ptr := int(pp.Data()[0])
	if ptr < 0 || ptr >= q || float32(ptr) != pp.Data()[0] {
		return fmt.Errorf("%s = %g is not a row of the %d-row queue", QueuePointerParam, pp.Data()[0], q)
	}
	pp.Data()[0] = float32(enqueue(qp.Data(), q, d, ptr, rows))
	return nil
}
