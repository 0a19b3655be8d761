package optim

import (
	"fmt"
	"math"

	"github.com/selfsup/selfsup/internal/device"

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
	kern  device.OptimizerKernels
}

// NewLARS returns a LARS optimizer.
func NewLARS(opts ...Option) (*LARS, error) {
	l := &LARS{cfg: config{momentum: 0.9, eta: 0.001, exclude: ExcludeRank1}}
	if err := build("LARS", &l.cfg, []string{"Momentum", "Nesterov", "WeightDecay", "Eta", "PaperTrustRatio", "Exclude", "OnBackend"}, opts); err != nil {
		return nil, err
	}
	l.slots = newSlots(l.cfg.backend, "lars", "momentum")
	l.kern = l.slots.be.NewOptimizerKernels()
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
	ww, gg, wg := device.Dots(w, g)
	return device.LARSTrust(ww, gg, wg, l.cfg.eta, l.cfg.weightDecay, l.cfg.paperTrust)
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
		lc := device.LARSConfig{LR: lr, Momentum: float32(c.momentum), WeightDecay: c.weightDecay, Eta: c.eta,
			PaperTrust: c.paperTrust, Nesterov: c.nesterov, Excluded: c.exclude != nil && c.exclude(p)}
		if err := l.kern.LARS(d, grads[i], l.sl[i].bufs[0], lc); err != nil {
			return fmt.Errorf("optim: lars: parameter %q: %w", p.Name, err)
		}
	}
	l.slots.iter++
	return nil
}
