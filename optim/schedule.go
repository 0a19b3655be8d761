package optim

import (
	"fmt"
	"math"
	"slices"
)

// Schedule gives the learning rate of a training step. epoch is the 0-based index of the
// current epoch (Keras' LearningRateScheduler argument) and step the 0-based number of
// optimizer steps taken before this one, counted over the whole run.
type Schedule interface {
	LR(epoch, step int) float32
}

// Observer is a Schedule that reacts to a monitored metric, such as Plateau. The training
// loop calls Observe once at the end of every epoch with the epoch's metric; Observe
// reports whether the rate changed.
type Observer interface {
	Schedule
	Observe(metric float64) (changed bool)
}

// Constant is a schedule that always returns the same rate.
type Constant float32

// LR returns c.
func (c Constant) LR(epoch, step int) float32 { return float32(c) }

// Drop is one step of a step schedule: from the epoch after After on (0-based epoch index
// > After), the rate is base*Factor.
type Drop struct {
	After  int
	Factor float32
}

// StepSchedule is a piecewise-constant schedule over epochs; see Steps.
type StepSchedule struct {
	base  float32
	drops []Drop
}

// Steps returns a schedule that starts at base and, for each drop, uses base*Factor for
// epochs whose 0-based index is greater than After, the drop with the largest such After
// winning. Factors are relative to base, not cumulative. It is an error if two drops share
// an After, if an After is negative, or if base or a factor is negative or not finite.
func Steps(base float32, drops ...Drop) (*StepSchedule, error) {
	if !finite32(base) || base < 0 {
		return nil, fmt.Errorf("optim: Steps: base rate %v is not finite and >= 0", base)
	}
	ds := slices.Clone(drops)
	slices.SortFunc(ds, func(a, b Drop) int { return a.After - b.After })
	for i, d := range ds {
		if d.After < 0 {
			return nil, fmt.Errorf("optim: Steps: drop after epoch %d is negative", d.After)
		}
		if !finite32(d.Factor) || d.Factor < 0 {
			return nil, fmt.Errorf("optim: Steps: factor %v after epoch %d is not finite and >= 0", d.Factor, d.After)
		}
		if i > 0 && ds[i-1].After == d.After {
			return nil, fmt.Errorf("optim: Steps: two drops after epoch %d", d.After)
		}
	}
	return &StepSchedule{base: base, drops: ds}, nil
}

// LR returns the rate for epoch; step is ignored.
func (s *StepSchedule) LR(epoch, step int) float32 {
	f := float32(1)
	for _, d := range s.drops {
		if epoch > d.After {
			f = d.Factor
		}
	}
	return s.base * f
}

// ResNetCIFAR returns the step schedule of Keras' ResNet-on-CIFAR-10 example, which the
// rotation-prediction experiment trains with: base (1e-3 there) until epoch 80, then
// base*0.1 for 0-based epochs 81..120, base*0.01 for 121..160, base*0.001 for 161..180 and
// base*0.0005 from 181 on.
func ResNetCIFAR(base float32) *StepSchedule {
	s, err := Steps(base, Drop{80, 1e-1}, Drop{120, 1e-2}, Drop{160, 1e-3}, Drop{180, 0.5e-3})
	if err != nil {
		// Only a bad base can fail; keep the caller's value visible in the result.
		return &StepSchedule{base: base}
	}
	return s
}

// CosineSchedule is a linear warm-up followed by a cosine decay; see Cosine.
type CosineSchedule struct {
	base          float32
	warmup, total int
	alpha         float64
}

// Cosine returns SimCLR's schedule, per step: base*step/warmup for step < warmup, then
// base*(alpha + (1-alpha)*(1+cos(pi*min(step-warmup, decay)/decay))/2) with decay =
// total-warmup, so the rate reaches base*alpha at step total and stays there. alpha in
// [0, 1] is the final fraction of base (Keras' CosineDecay alpha). warmup may be 0.
func Cosine(base float32, warmup, total int, alpha float64) (*CosineSchedule, error) {
	switch {
	case !finite32(base) || base < 0:
		return nil, fmt.Errorf("optim: Cosine: base rate %v is not finite and >= 0", base)
	case warmup < 0 || total <= warmup:
		return nil, fmt.Errorf("optim: Cosine: need 0 <= warmup < total, got warmup %d, total %d", warmup, total)
	case !(alpha >= 0 && alpha <= 1):
		return nil, fmt.Errorf("optim: Cosine: alpha %v is not in [0, 1]", alpha)
	}
	return &CosineSchedule{base: base, warmup: warmup, total: total, alpha: alpha}, nil
}

// LR returns the rate for step; epoch is ignored.
func (c *CosineSchedule) LR(epoch, step int) float32 {
	step = max(step, 0)
	if step < c.warmup {
		return float32(float64(c.base) * float64(step) / float64(c.warmup))
	}
	decay := float64(c.total - c.warmup)
	s := min(float64(step-c.warmup), decay)
	f := c.alpha + (1-c.alpha)*0.5*(1+math.Cos(math.Pi*s/decay))
	return float32(float64(c.base) * f)
}

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
