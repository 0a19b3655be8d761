package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/selfsup/selfsup/optim"
)

// Trainer steps a training graph with an optimizer and a learning-rate schedule.
type Trainer struct {
	Graph     *Graph
	Optimizer optim.Optimizer
	Schedule  optim.Schedule
	// Steps is the number of optimizer steps taken so far over the whole run.
	Steps int64
}

// NewTrainer returns a trainer for a training graph.
func NewTrainer(g *Graph, opt optim.Optimizer, sched optim.Schedule) (*Trainer, error) {
	if g == nil || g.grads == nil {
		return nil, errors.New("train: NewTrainer needs a training graph")
	}
	if opt == nil || sched == nil {
		return nil, errors.New("train: NewTrainer needs an optimizer and a schedule")
	}
	return &Trainer{Graph: g, Optimizer: opt, Schedule: sched}, nil
}

// Step runs the graph on the batch already written to its Input and Targets and applies
// one optimizer update with the schedule's rate for epoch. It returns the task loss. A
// NaN or Inf in the loss or a gradient stops with an error naming the step (an
// *optim.NonFiniteStepError), and leaves the parameters as they were.
//
// Host traffic: the batch in (none on the CPU, where Input is the graph's tensor), the
// total and task losses and one flag (all gradients finite, a reduction on the backend)
// out. The gradients reach the host only when that flag is false, to name the bad one.
func (t *Trainer) Step(ctx context.Context, epoch int) (float64, error) {
	g := t.Graph
	if err := g.Run(ctx); err != nil {
		return 0, fmt.Errorf("train: step %d: %w", t.Steps, err)
	}
	total, err := g.TotalLoss()
	if err != nil {
		return 0, err
	}
	grads, err := g.Grads()
	if err != nil {
		return 0, err
	}
	ok, err := g.be.AllFinite(grads...)
	if err != nil {
		return 0, fmt.Errorf("train: step %d: checking the gradients: %w", t.Steps, err)
	}
	if !ok || !finite(total) {
		return 0, t.nonFinite(float32(total), grads)
	}
	lr := t.Schedule.LR(epoch, int(t.Steps))
	if err := t.Optimizer.Step(lr, g.params, grads); err != nil {
		return 0, fmt.Errorf("train: step %d: %w", t.Steps, err)
	}
	t.Steps++
	if g.total == g.loss {
		return total, nil
	}
	return g.Loss()
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// nonFinite returns the error naming the step and the first bad value, reading the
// gradients on the host (copies of them when the backend's memory is not the host's).
func (t *Trainer) nonFinite(total float32, grads [][]float32) error {
	g := t.Graph
	host := grads
	if !g.be.Host() {
		host = make([][]float32, len(grads))
		for i, d := range grads {
			host[i] = make([]float32, len(d))
			if err := g.be.CopyOut(host[i], d); err != nil {
				return fmt.Errorf("train: step %d: a loss or gradient is not finite; copying gradient %d out: %w", t.Steps, i, err)
			}
		}
	}
	if err := optim.CheckFinite(t.Steps, total, g.params, host); err != nil {
		return err
	}
	return fmt.Errorf("train: step %d: the backend found a non-finite gradient that the host copy does not hold", t.Steps)
}
