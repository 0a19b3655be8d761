package optim

import (
	"fmt"

	"github.com/selfsup/selfsup/internal/device"
	"github.com/selfsup/selfsup/nn"
)

// SGD is stochastic gradient descent with optional momentum, in Keras' form:
//
//	u = momentum*u - lr*g
//	w = w + u                      (or w + momentum*u - lr*g with Nesterov)
//
// With a constant learning rate this is the same as torch.optim.SGD (whose buffer holds
// -u/lr); when the rate changes, Keras' velocity keeps the old rate's steps and PyTorch's
// buffer does not. Without momentum it is w -= lr*g and keeps no state.
//
// Options: Momentum (default 0), Nesterov, WeightDecay (decoupled: w *= 1-lr*wd before the
// update, Keras 3's weight_decay), L2 (coupled: g += l2*w, torch.optim.SGD's
// weight_decay), Exclude.
type SGD struct {
	cfg   config
	slots slots
	data  [][]float32
	sl    []*slot
	kern  device.OptimizerKernels
}

// NewSGD returns an SGD optimizer.
func NewSGD(opts ...Option) (*SGD, error) {
	s := &SGD{}
	if err := build("SGD", &s.cfg, []string{"Momentum", "Nesterov", "WeightDecay", "L2", "Exclude", "OnBackend"}, opts); err != nil {
		return nil, err
	}
	if s.cfg.momentum > 0 {
		s.slots = newSlots(s.cfg.backend, "sgd", "momentum")
	} else {
		s.slots = newSlots(s.cfg.backend, "sgd")
	}
	s.kern = s.slots.be.NewOptimizerKernels()
	return s, nil
}

// Name returns "sgd".
func (s *SGD) Name() string { return "sgd" }

// Iterations returns the number of steps taken.
func (s *SGD) Iterations() int64 { return s.slots.iter }

// State returns the velocities as "sgd/momentum/<param>" (none without momentum).
func (s *SGD) State() State { return s.slots.state() }

// LoadState replaces the velocities and the iteration count; see Optimizer.
func (s *SGD) LoadState(params []*nn.Param, st State) error { return s.slots.load(params, st) }

// Step applies one SGD update with learning rate lr; see Optimizer.
func (s *SGD) Step(lr float32, params []*nn.Param, grads [][]float32) error {
	if err := checkLR("sgd", lr); err != nil {
		return err
	}
	var err error
	s.data, s.sl, err = s.slots.prepare(params, grads, s.data, s.sl)
	if err != nil {
		return err
	}
	c := &s.cfg
	for i, p := range params {
		d := s.data[i]
		if d == nil {
			continue
		}
		keep, l2 := float32(1), float32(0)
		if c.exclude == nil || !c.exclude(p) {
			keep = float32(1 - float64(lr)*c.weightDecay)
			l2 = float32(c.l2)
		}
		var err error
		if c.momentum > 0 {
			err = s.kern.SGDMomentum(d, grads[i], s.sl[i].bufs[0], float32(c.momentum), lr, keep, l2, c.nesterov)
		} else {
			err = s.kern.SGDPlain(d, grads[i], lr, keep, l2)
		}
		if err != nil {
			return fmt.Errorf("optim: sgd: parameter %q: %w", p.Name, err)
		}
	}
	s.slots.iter++
	return nil
}
