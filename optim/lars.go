package optim

import (
	"math"

	"github.com/selfsup/selfsup/nn"
)

// LARS is layer-wise adaptive rate scaling as SimCLR implements it (classic momentum).
// For each parameter w with gradient g:
//
//	g' = g + wd*w                                  (not for excluded parameters)
//	r  = eta*||w|| / ||g'||                        (1 for excluded parameters, or if a norm is 0)
//	v  = momentum*v + lr*r*g'
//	w  = w - v                                     (or w - (momentum*v + lr*r*g') with Nesterov)
//
// Note that SimCLR's denominator ||g + wd*w|| differs from the LARS paper's
// ||g|| + wd*||w||, which PaperTrustRatio selects. Norms are accumulated in float64.
//
// Defaults: Momentum 0.9, Eta 0.001, WeightDecay 0, Exclude(ExcludeRank1) (biases and
// batch-norm parameters get neither weight decay nor adaptation, as in SimCLR).
// Options: Momentum, Nesterov, WeightDecay, Eta, PaperTrustRatio, Exclude.
type LARS struct {
	cfg   config
	slots slots
	data  [][]float32
	sl    []*slot
	run   runner
}

// NewLARS returns a LARS optimizer.
func NewLARS(opts ...Option) (*LARS, error) {
	l := &LARS{cfg: config{momentum: 0.9, eta: 0.001, exclude: ExcludeRank1}}
	if err := build("LARS", &l.cfg, []string{"Momentum", "Nesterov", "WeightDecay", "Eta", "PaperTrustRatio", "Exclude"}, opts); err != nil {
		return nil, err
	}
	l.slots = newSlots("lars", "momentum")
	return l, nil
}

// Name returns "lars".
func (l *LARS) Name() string { return "lars" }

// Iterations returns the number of steps taken.
func (l *LARS) Iterations() int64 { return l.slots.iter }

// State returns the velocities as "lars/momentum/<param>".
func (l *LARS) State() State { return l.slots.state() }

// LoadState replaces the velocities and the iteration count; see Optimizer.
func (l *LARS) LoadState(params []*nn.Param, s State) error { return l.slots.load(params, s) }

// TrustRatio returns the trust ratio LARS would use for a parameter with values w and
// gradient g, excluded or not (1 if excluded), for logging and tests. It returns NaN if w
// and g differ in length.
func (l *LARS) TrustRatio(w, g []float32, excluded bool) float64 {
	if excluded {
		return 1
	}
	if len(w) != len(g) {
		return math.NaN()
	}
	ww, gg, wg := l.run.dots(w, g)
	return l.trust(ww, gg, wg)
}

func (l *LARS) trust(ww, gg, wg float64) float64 {
	c := &l.cfg
	wn := math.Sqrt(ww)
	var den float64
	if c.paperTrust {
		den = math.Sqrt(gg) + c.weightDecay*wn
	} else {
		// ||g + wd*w||² = ||g||² + 2wd<w,g> + wd²||w||²
		den = math.Sqrt(max(0, gg+2*c.weightDecay*wg+c.weightDecay*c.weightDecay*ww))
	}
	if wn > 0 && den > 0 {
		return c.eta * wn / den
	}
	return 1
}

// Step applies one LARS update with learning rate lr; see Optimizer.
func (l *LARS) Step(lr float32, params []*nn.Param, grads [][]float32) error {
	if err := checkLR("lars", lr); err != nil {
		return err
	}
	var err error
	l.data, l.sl, err = l.slots.prepare(params, grads, l.data, l.sl)
	if err != nil {
		return err
	}
	c := &l.cfg
	for i, p := range params {
		d := l.data[i]
		if d == nil {
			continue
		}
		excluded := c.exclude != nil && c.exclude(p)
		wd, r := float32(0), 1.0
		if !excluded {
			wd = float32(c.weightDecay)
			ww, gg, wg := l.run.dots(d, grads[i])
			r = l.trust(ww, gg, wg)
		}
		l.run.run(task{op: kLARS, p: d, g: grads[i], a: l.sl[i].bufs[0], f: [10]float32{float32(c.momentum), float32(float64(lr) * r), wd}, flag: c.nesterov}, len(d))
	}
	l.slots.iter++
	return nil
}
