package optim

import (
	"fmt"
	"math"

	"github.com/selfsup/selfsup/internal/device"

	"github.com/selfsup/selfsup/nn"
)

// Adam is the Adam optimizer with Keras' defaults and Keras' update.
//
// With t the iteration number (1 at the first step), beta1 = 0.9, beta2 = 0.999 and
// epsilon = 1e-7 by default, each step computes, per element,
//
//	m = m + (g - m)*(1 - beta1)
//	v = v + (g² - v)*(1 - beta2)
//	w = w - lr*sqrt(1-beta2^t)/(1-beta1^t) * m/(sqrt(v) + epsilon)
//
// which is keras.optimizers.Adam (and TensorFlow's ApplyAdam): epsilon is the "epsilon hat"
// of Kingma and Ba, added to the root of the uncorrected second moment. torch.optim.Adam
// instead computes w -= lr/(1-beta1^t) * m/(sqrt(v)/sqrt(1-beta2^t) + epsilon): the two agree
// when Keras' epsilon equals PyTorch's times sqrt(1-beta2^t), so they differ in the first
// steps and wherever sqrt(v) is near epsilon. PyTorchEpsilon selects PyTorch's form.
//
// The iteration count t is global, as Keras' optimizer.iterations: a parameter first seen
// at a later step uses that step's bias correction.
//
// Options: Beta1, Beta2, Epsilon, PyTorchEpsilon, WeightDecay (decoupled: AdamW), L2
// (coupled: torch.optim.Adam's weight_decay), Exclude.
type Adam struct {
	cfg   config
	slots slots
	data  [][]float32
	sl    []*slot
	kern  device.OptimizerKernels
}

// NewAdam returns an Adam optimizer.
func NewAdam(opts ...Option) (*Adam, error) {
	a := &Adam{cfg: config{beta1: 0.9, beta2: 0.999, eps: 1e-7}}
	if err := build("Adam", &a.cfg, []string{"Beta1", "Beta2", "Epsilon", "PyTorchEpsilon", "WeightDecay", "L2", "Exclude", "OnBackend"}, opts); err != nil {
		return nil, err
	}
	a.slots = newSlots(a.cfg.backend, "adam", "m", "v")
	a.kern = a.slots.be.NewOptimizerKernels()
	return a, nil
}

// Name returns "adam".
func (a *Adam) Name() string { return "adam" }

// Iterations returns the number of steps taken.
func (a *Adam) Iterations() int64 { return a.slots.iter }

// State returns the moments as "adam/m/<param>" and "adam/v/<param>".
func (a *Adam) State() State { return a.slots.state() }

// LoadState replaces the moments and the iteration count; see Optimizer.
func (a *Adam) LoadState(params []*nn.Param, s State) error { return a.slots.load(params, s) }

// Step applies one Adam update with learning rate lr; see Optimizer.
func (a *Adam) Step(lr float32, params []*nn.Param, grads [][]float32) error {
	if err := checkLR("adam", lr); err != nil {
		return err
	}
	var err error
	a.data, a.sl, err = a.slots.prepare(params, grads, a.data, a.sl)
	if err != nil {
		return err
	}
	t := float64(a.slots.iter + 1)
	c := &a.cfg
	bc1 := 1 - math.Pow(c.beta1, t)
	bc2 := 1 - math.Pow(c.beta2, t)
	for i, p := range params {
		d := a.data[i]
		if d == nil {
			continue
		}
		keep, l2 := float32(1), float32(0)
		if c.exclude == nil || !c.exclude(p) {
			keep = float32(1 - float64(lr)*c.weightDecay)
			l2 = float32(c.l2)
		}
		s := a.sl[i]
		var err error
		if c.torchEps {
			err = a.kern.AdamTorch(d, grads[i], s.bufs[0], s.bufs[1],
				float32(c.beta1), float32(1-c.beta1), float32(c.beta2), float32(1-c.beta2),
				float32(float64(lr)/bc1), float32(1/math.Sqrt(bc2)), float32(c.eps), keep, l2)
		} else {
			err = a.kern.AdamKeras(d, grads[i], s.bufs[0], s.bufs[1],
				float32(1-c.beta1), float32(1-c.beta2), float32(float64(lr)*math.Sqrt(bc2)/bc1), float32(c.eps), keep, l2)
		}
		if err != nil {
			return fmt.Errorf("optim: adam: parameter %q: %w", p.Name, err)
		}
	}
	a.slots.iter++
	return nil
}
