package optim

import (
	"fmt"
	"math"
)

// Mode says whether a monitored metric improves by going down (Min, e.g. a loss) or up
// (Max, e.g. an accuracy).
type Mode int

const (
	// Min: lower is better.
	Min Mode = iota
	// Max: higher is better.
	Max
)

// PlateauOption sets a parameter of a Plateau schedule.
type PlateauOption func(*Plateau) error

// Factor sets the factor the rate is multiplied by on a plateau, in (0, 1). Default 0.1.
func Factor(f float64) PlateauOption {
	return func(p *Plateau) error {
		if !(f > 0 && f < 1) {
			return fmt.Errorf("optim: NewPlateau: Factor(%v): want a value in (0, 1)", f)
		}
		p.factor = f
		return nil
	}
}

// Patience sets the number of epochs without improvement after which the rate drops,
// >= 0. Default 10.
func Patience(n int) PlateauOption {
	return func(p *Plateau) error {
		if n < 0 {
			return fmt.Errorf("optim: NewPlateau: Patience(%d): want a value >= 0", n)
		}
		p.patience = n
		return nil
	}
}

// MinDelta sets how much the metric must beat the best value by to count as an
// improvement, >= 0. Default 1e-4.
func MinDelta(d float64) PlateauOption {
	return func(p *Plateau) error {
		if !(d >= 0) || math.IsInf(d, 0) {
			return fmt.Errorf("optim: NewPlateau: MinDelta(%v): want a finite value >= 0", d)
		}
		p.minDelta = d
		return nil
	}
}

// Cooldown sets the number of epochs after a drop during which no further drop happens
// and epochs without improvement are not counted, >= 0. Default 0.
func Cooldown(n int) PlateauOption {
	return func(p *Plateau) error {
		if n < 0 {
			return fmt.Errorf("optim: NewPlateau: Cooldown(%d): want a value >= 0", n)
		}
		p.cooldown = n
		return nil
	}
}

// MinLR sets the lower bound of the rate, >= 0. Default 0.
func MinLR(lr float32) PlateauOption {
	return func(p *Plateau) error {
		if !finite32(lr) || lr < 0 {
			return fmt.Errorf("optim: NewPlateau: MinLR(%v): want a finite value >= 0", lr)
		}
		p.minLR = lr
		return nil
	}
}

// Monitor sets the direction of improvement. Default Min.
func Monitor(m Mode) PlateauOption {
	return func(p *Plateau) error {
		if m != Min && m != Max {
			return fmt.Errorf("optim: NewPlateau: Monitor(%d): want Min or Max", m)
		}
		p.mode = m
		return nil
	}
}

// Plateau is Keras' ReduceLROnPlateau as a schedule: the rate starts at base and is
// multiplied by the factor (not below the minimum rate) when the metric passed to Observe
// has not improved by more than min delta for patience epochs; a cooldown then suspends
// counting. It follows keras.callbacks.ReduceLROnPlateau step by step, including that a
// metric is an improvement only if it is below best-minDelta (Min) or above best+minDelta
// (Max), that the wait counter is reset during cooldown, and that a NaN metric counts as
// no improvement.
type Plateau struct {
	factor, minDelta   float64
	patience, cooldown int
	minLR              float32
	mode               Mode

	st PlateauState
}

// PlateauState is the part of a Plateau that changes during training; save it with a
// checkpoint to resume.
type PlateauState struct {
	LR       float32 // current rate
	Best     float64 // best metric seen (±Inf before any)
	Wait     int     // epochs without improvement
	Cooldown int     // epochs of cooldown left
	Drops    int     // number of drops so far
}

// NewPlateau returns a Plateau schedule starting at base, with Keras' defaults (factor
// 0.1, patience 10, min delta 1e-4, cooldown 0, min rate 0, mode Min) unless set by options.
func NewPlateau(base float32, opts ...PlateauOption) (*Plateau, error) {
	if !finite32(base) || base < 0 {
		return nil, fmt.Errorf("optim: Plateau: base rate %v is not finite and >= 0", base)
	}
	p := &Plateau{factor: 0.1, patience: 10, minDelta: 1e-4}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("optim: NewPlateau: option %d is nil", i)
		}
		if err := o(p); err != nil {
			return nil, err
		}
	}
	p.st = PlateauState{LR: base, Best: math.Inf(1)}
	if p.mode == Max {
		p.st.Best = math.Inf(-1)
	}
	return p, nil
}

// LR returns the current rate; epoch and step are ignored.
func (p *Plateau) LR(epoch, step int) float32 { return p.st.LR }

// Observe feeds the metric of the epoch that just ended and reports whether the rate
// dropped.
func (p *Plateau) Observe(metric float64) (dropped bool) {
	s := &p.st
	if s.Cooldown > 0 {
		s.Cooldown--
		s.Wait = 0
	}
	better := metric < s.Best-p.minDelta
	if p.mode == Max {
		better = metric > s.Best+p.minDelta
	}
	if better {
		s.Best, s.Wait = metric, 0
		return false
	}
	if s.Cooldown > 0 {
		return false
	}
	s.Wait++
	if s.Wait < p.patience || !(s.LR > p.minLR) {
		return false
	}
	s.LR = float32(max(float64(s.LR)*p.factor, float64(p.minLR)))
	s.Cooldown, s.Wait = p.cooldown, 0
	s.Drops++
	return true
}

// State returns the schedule's changing state.
func (p *Plateau) State() PlateauState { return p.st }

// SetState restores a state returned by State, e.g. from a checkpoint.
func (p *Plateau) SetState(s PlateauState) error {
	if !finite32(s.LR) || s.LR < 0 || math.IsNaN(s.Best) || s.Wait < 0 || s.Cooldown < 0 || s.Drops < 0 {
		return fmt.Errorf("optim: Plateau: invalid state %+v", s)
	}
	p.st = s
	return nil
}
