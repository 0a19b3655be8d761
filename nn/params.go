package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"gorgonia.org/tensor"
)

// Param is one named tensor of a model: a trainable weight or a piece of state such as a
// batch-norm moving mean. Its Value is shared by every graph built from the same Params, so
// an optimizer step or a checkpoint load is seen by all of them.
type Param struct {
	// Name is the slash-separated path of the parameter, e.g. "stage1/block0/conv1/kernel".
	Name string
	// Value holds the float32 data.
	Value *tensor.Dense
	// Trainable is false for state that gradients do not update (batch-norm moving statistics).
	Trainable bool
	// L2 is the coefficient of the L2 penalty L2*sum(w²) that the loss adds for this
	// parameter (Keras' kernel_regularizer=l2(L2)); 0 for none.
	L2 float32
}

// Data returns the parameter's values as a flat slice aliasing Value. It does not allocate
// (Dense.Data would, through reflection).
func (p *Param) Data() []float32 { return p.Value.Float32s() }

// Params is the set of parameters of a model, in creation order. Creating a parameter draws
// its initial values from the Params' own seeded source, so the same seed and the same
// construction order give the same weights.
type Params struct {
	list   []*Param
	byName map[string]*Param
	rng    *rand.Rand
}

// NewParams returns an empty parameter set whose initialisers draw from a source seeded with seed.
func NewParams(seed uint64) *Params {
	return &Params{byName: map[string]*Param{}, rng: rand.New(rand.NewPCG(seed, 0x5e1f5))}
}

// Variable returns the parameter called name, creating it with the given shape and initial
// values when it does not exist yet. Asking again for an existing name returns the same
// parameter, which is how two graphs (training and inference) share weights; it is an
// error if the shape or trainability differs.
func (ps *Params) Variable(name string, shape []int, init Initializer, trainable bool) (*Param, error) {
	if p, ok := ps.byName[name]; ok {
		if !slices.Equal(p.Value.Shape(), shape) || p.Trainable != trainable {
			return nil, fmt.Errorf("nn: parameter %q exists with shape %v (trainable %v), asked for %v (trainable %v)",
				name, p.Value.Shape(), p.Trainable, shape, trainable)
		}
		return p, nil
	}
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("nn: parameter %q: shape %v has a non-positive dimension", name, shape)
		}
		n *= d
	}
	data := make([]float32, n)
	if init != nil {
		init(data, shape, ps.rng)
	}
	p := &Param{Name: name, Value: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data)), Trainable: trainable}
	ps.list = append(ps.list, p)
	ps.byName[name] = p
	return p, nil
}

// Get returns the parameter called name, or nil.
func (ps *Params) Get(name string) *Param { return ps.byName[name] }

// All returns every parameter in creation order.
func (ps *Params) All() []*Param { return slices.Clone(ps.list) }

// Trainable returns the trainable parameters in creation order.
func (ps *Params) Trainable() []*Param {
	var out []*Param
	for _, p := range ps.list {
		if p.Trainable {
			out = append(out, p)
		}
	}
	return out
}

// Count returns the number of trainable and non-trainable scalars, as Keras' summary counts them.
func (ps *Params) Count() (trainable, nonTrainable int) {
	for _, p := range ps.list {
		if p.Trainable {
			trainable += p.Value.Shape().TotalSize()
		} else {
			nonTrainable += p.Value.Shape().TotalSize()
		}
	}
	return trainable, nonTrainable
}
