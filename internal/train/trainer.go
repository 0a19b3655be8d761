package train

import (
	"context"
	"errors"
	"fmt"

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
// NaN or Inf in the loss or a gradient stops with an error naming the step, and leaves
// the parameters as they were.
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
	if err := optim.CheckFinite(t.Steps, float32(total), g.params, grads); err != nil {
		return 0, err
	}
	lr := t.Schedule.LR(epoch, int(t.Steps))
	if err := t.Optimizer.Step(lr, g.params, grads); err != nil {
		return 0, fmt.Errorf("train: step %d: %w", t.Steps, err)
	}
	t.Steps++
	return g.Loss()
}
