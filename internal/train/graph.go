package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/exec"
	"github.com/selfsup/selfsup/nn"
)

// BuildFunc adds a model and its loss to a scope. x is the input batch and targets the
// target tensor (nil when the Spec has no Targets). It returns the scalar task loss (nil
// for an inference graph without one) and the node whose value a caller reads after a run
// (logits, features, ...).
type BuildFunc func(s *nn.Scope, x, targets *G.Node) (loss, output *G.Node)

// Spec describes a graph to compile.
type Spec struct {
	// Params holds the weights; graphs compiled on the same Params share them.
	Params *nn.Params
	// Training selects training mode: batch statistics in batch norm, gradients computed.
	Training bool
	// Input is the batch shape, e.g. [N, C, H, W].
	Input []int
	// Targets is the shape of the target tensor, nil for none.
	Targets []int
	// Build adds the model and its loss.
	Build BuildFunc
	// Trainable selects the parameters a training graph differentiates and the optimizer
	// updates, among the trainable parameters the graph uses; nil selects them all.
	Trainable func(*nn.Param) bool
	// NoL2 leaves the layers' L2 penalty out of the differentiated loss.
	NoL2 bool
	// Keep, when set, is called after Build and returns further nodes whose values must
	// stay readable after a run (Value): what a step hook or a monitor reads.
	Keep func() []*G.Node
}

// Graph is a compiled model: bound input buffers, an executor, and for training graphs
// the gradient of the total loss (task loss plus L2 penalty) with respect to each
// selected parameter.
type Graph struct {
	spec             Spec
	g                *G.ExprGraph
	x, t             *tensor.Dense
	loss, total, out *G.Node
	params           []*nn.Param
	grads            []*G.Node
	gradData         [][]float32
	m                *exec.Machine
}

// Compile builds spec into a runnable graph.
func Compile(spec Spec) (*Graph, error) {
	if spec.Params == nil || spec.Build == nil {
		return nil, errors.New("train: Spec needs Params and Build")
	}
	if len(spec.Input) == 0 {
		return nil, errors.New("train: Spec.Input (the batch shape) is empty")
	}
	for _, d := range append(append([]int{}, spec.Input...), spec.Targets...) {
		if d <= 0 {
			return nil, fmt.Errorf("train: batch shape %v / targets %v has a non-positive dimension", spec.Input, spec.Targets)
		}
	}
	gr := &Graph{spec: spec, g: G.NewGraph()}
	gr.x = tensor.New(tensor.WithShape(spec.Input...), tensor.Of(tensor.Float32))
	xn := G.NodeFromAny(gr.g, gr.x, G.WithName("input"))
	var tn *G.Node
	if spec.Targets != nil {
		gr.t = tensor.New(tensor.WithShape(spec.Targets...), tensor.Of(tensor.Float32))
		tn = G.NodeFromAny(gr.g, gr.t, G.WithName("targets"))
	}
	s := nn.NewScope(gr.g, spec.Params, spec.Training)
	gr.loss, gr.out = spec.Build(s, xn, tn)
	if err := s.Err(); err != nil {
		return nil, err
	}
	if gr.out == nil && gr.loss == nil {
		return nil, errors.New("train: Build returned neither a loss nor an output")
	}
	keep := []*G.Node{}
	for _, n := range []*G.Node{gr.loss, gr.out} {
		if n != nil {
			keep = append(keep, n)
		}
	}
	if spec.Training {
		if gr.loss == nil {
			return nil, errors.New("train: a training graph needs a loss")
		}
		gr.total = gr.loss
		if !spec.NoL2 {
			pen := nn.L2Penalty(s)
			gr.total = nn.Add(s, gr.loss, pen)
			if err := s.Err(); err != nil {
				return nil, err
			}
		}
		var wrt []*G.Node
		for _, p := range s.Used() {
			if p.Trainable && (spec.Trainable == nil || spec.Trainable(p)) {
				gr.params = append(gr.params, p)
				wrt = append(wrt, s.Node(p))
			}
		}
		if len(wrt) == 0 {
			return nil, errors.New("train: a training graph selects no trainable parameter")
		}
		grads, err := G.Grad(gr.total, wrt...)
		if err != nil {
			return nil, fmt.Errorf("train: differentiating the loss: %w", err)
		}
		gr.grads = grads
		keep = append(keep, gr.total)
		keep = append(keep, grads...)
	}
	if spec.Keep != nil {
		for _, n := range spec.Keep() {
			if n != nil {
				keep = append(keep, n)
			}
		}
	}
	m, err := exec.New(gr.g, exec.Outputs(keep...))
	if err != nil {
		return nil, fmt.Errorf("train: planning the graph: %w", err)
	}
	gr.m = m
	return gr, nil
}

// Input is the input batch buffer, in the shape of Spec.Input: write the batch here.
func (gr *Graph) Input() []float32 { return gr.x.Float32s() }

// Targets is the target buffer, in the shape of Spec.Targets; nil without targets.
func (gr *Graph) Targets() []float32 {
	if gr.t == nil {
		return nil
	}
	return gr.t.Float32s()
}

// BatchSize is the first dimension of the input.
func (gr *Graph) BatchSize() int { return gr.spec.Input[0] }

// Run executes the graph on the current contents of Input and Targets.
func (gr *Graph) Run(ctx context.Context) error { return gr.m.Run(ctx) }

// Loss is the task loss of the last run (without the L2 penalty).
func (gr *Graph) Loss() (float64, error) {
	if gr.loss == nil {
		return math.NaN(), errors.New("train: graph has no loss")
	}
	return gr.m.Scalar(gr.loss)
}

// TotalLoss is the differentiated loss of the last run of a training graph: task loss
// plus L2 penalty.
func (gr *Graph) TotalLoss() (float64, error) {
	if gr.total == nil {
		return gr.Loss()
	}
	return gr.m.Scalar(gr.total)
}

// Output is the value of the output node after the last run.
func (gr *Graph) Output() ([]float32, error) {
	if gr.out == nil {
		return nil, errors.New("train: graph has no output node")
	}
	return gr.m.Float32s(gr.out)
}

// Value is the value of node n after the last run: the output, or a node kept with
// Spec.Keep. The slice aliases the executor's memory and changes at the next run.
func (gr *Graph) Value(n *G.Node) ([]float32, error) { return gr.m.Float32s(n) }

// OutputShape is the shape of the output node.
func (gr *Graph) OutputShape() []int { return gr.out.Shape().Clone() }

// Params are the parameters a training graph differentiates, in Params order.
func (gr *Graph) Params() []*nn.Param { return gr.params }

// Grads returns the gradients of the last run, aligned with Params. The slices alias the
// executor's buffers and change at the next run.
func (gr *Graph) Grads() ([][]float32, error) {
	if gr.gradData == nil {
		gr.gradData = make([][]float32, len(gr.grads))
	}
	for i, n := range gr.grads {
		d, err := gr.m.Float32s(n)
		if err != nil {
			return nil, fmt.Errorf("train: gradient of %s: %w", gr.params[i].Name, err)
		}
		gr.gradData[i] = d
	}
	return gr.gradData, nil
}

// PlannedBytes is the memory the executor planned for the graph's values.
func (gr *Graph) PlannedBytes() int64 { return gr.m.PlannedBytes() }
