package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/device"
	"github.com/selfsup/selfsup/internal/exec"
	"github.com/selfsup/selfsup/internal/ops"
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
	// Backend is where the graph's buffers live and its kernels run; nil is the CPU
	// (device.CPU). The parameters (Params) and the trainer's optimizer (optim.OnBackend)
	// must be on the same backend.
	Backend device.Backend
}

// Graph is a compiled model: bound input buffers, an executor, and for training graphs
// the gradient of the total loss (task loss plus L2 penalty) with respect to each
// selected parameter.
type Graph struct {
	spec             Spec
	be               device.Backend
	g                *G.ExprGraph
	x, t             *tensor.Dense
	xHost, tHost     []float32 // host staging of the batch when the backend's memory is not the host's
	outHost          []float32 // host copy of a value read with Output or Value, likewise
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
	gr := &Graph{spec: spec, be: spec.Backend, g: G.NewGraph()}
	if gr.be == nil {
		gr.be = device.CPU{}
	}
	var err error
	if gr.x, gr.xHost, err = gr.batchBuffer(spec.Input); err != nil {
		return nil, err
	}
	xn := G.NodeFromAny(gr.g, gr.x, G.WithName("input"))
	var tn *G.Node
	if spec.Targets != nil {
		if gr.t, gr.tHost, err = gr.batchBuffer(spec.Targets); err != nil {
			return nil, err
		}
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
	if _, err := ops.SetKernels(gr.g, gr.be); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m, err := exec.New(gr.g, exec.Outputs(keep...), exec.WithAllocator(gr.be))
	if err != nil {
		return nil, fmt.Errorf("train: planning the graph: %w", err)
	}
	gr.m = m
	return gr, nil
}

// batchBuffer allocates a batch tensor of shape in the backend's memory and, when that
// is not host memory, the host staging slice the caller writes.
func (gr *Graph) batchBuffer(shape []int) (*tensor.Dense, []float32, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data, err := device.AllocFloat32(gr.be, n)
	if err != nil {
		return nil, nil, fmt.Errorf("train: allocating a batch of shape %v: %w", shape, err)
	}
	var host []float32
	if !gr.be.Host() {
		host = make([]float32, n)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), host, nil
}

// Input is the input batch buffer, in the shape of Spec.Input: write the batch here.
// On the CPU it is the graph's own input tensor; on a backend whose memory is not the
// host's it is a host buffer that Run copies in.
func (gr *Graph) Input() []float32 {
	if gr.xHost != nil {
		return gr.xHost
	}
	return gr.x.Float32s()
}

// Targets is the target buffer, in the shape of Spec.Targets; nil without targets. Like
// Input, Run copies it in when the backend's memory is not the host's.
func (gr *Graph) Targets() []float32 {
	if gr.t == nil {
		return nil
	}
	if gr.tHost != nil {
		return gr.tHost
	}
	return gr.t.Float32s()
}

// Backend is the backend the graph runs on.
func (gr *Graph) Backend() device.Backend { return gr.be }

// BatchSize is the first dimension of the input.
func (gr *Graph) BatchSize() int { return gr.spec.Input[0] }

// Run executes the graph on the current contents of Input and Targets (copying them in
// first when the backend's memory is not the host's).
func (gr *Graph) Run(ctx context.Context) error {
	if gr.xHost != nil {
		if err := gr.be.CopyIn(gr.x.Float32s(), gr.xHost); err != nil {
			return fmt.Errorf("train: copying the input batch in: %w", err)
		}
	}
	if gr.tHost != nil {
		if err := gr.be.CopyIn(gr.t.Float32s(), gr.tHost); err != nil {
			return fmt.Errorf("train: copying the targets in: %w", err)
		}
	}
	return gr.m.Run(ctx)
}

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
	return gr.Value(gr.out)
}

// Value is the value of node n after the last run: the output, or a node kept with
// Spec.Keep. The slice aliases the executor's memory (on the CPU) or a host copy of it
// (reused by the next Output or Value call), and changes at the next run: reading it is
// host traffic the caller asks for explicitly.
func (gr *Graph) Value(n *G.Node) ([]float32, error) {
	d, err := gr.m.Float32s(n)
	if err != nil || gr.be.Host() {
		return d, err
	}
	if cap(gr.outHost) < len(d) {
		gr.outHost = make([]float32, len(d))
	}
	h := gr.outHost[:len(d)]
	if err := gr.be.CopyOut(h, d); err != nil {
		return nil, fmt.Errorf("train: copying the value of %q out: %w", n.Name(), err)
	}
	return h, nil
}

// OutputShape is the shape of the output node.
func (gr *Graph) OutputShape() []int { return gr.out.Shape().Clone() }

// Params are the parameters a training graph differentiates, in Params order.
func (gr *Graph) Params() []*nn.Param { return gr.params }

// Grads returns the gradients of the last run, aligned with Params. The slices alias the
// executor's buffers (backend memory: handles for the optimizer's kernels when the
// backend's memory is not the host's) and change at the next run.
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

// PeakLiveBytes is the most memory the graph's values hold at once in execution order,
// the floor under PlannedBytes (exec.Stats.PeakLiveBytes).
func (gr *Graph) PeakLiveBytes() int64 { return gr.m.Stats().PeakLiveBytes }

// Close releases the graph's buffers (the executor's and the batch's) to the backend.
// The graph must not be used afterwards.
func (gr *Graph) Close() {
	if gr.m != nil {
		gr.m.Close()
	}
	ops.Release(gr.g)
	for _, t := range []*tensor.Dense{gr.x, gr.t} {
		if t != nil {
			gr.be.Free(t.Float32s())
		}
	}
	gr.x, gr.t = nil, nil
}
