package optim

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/internal/device"
	"github.com/selfsup/selfsup/nn"
)

// Optimizer updates parameters in place from their gradients.
//
// Step applies one update with learning rate lr to every trainable parameter in params,
// using grads[i] as the gradient of params[i]; grads[i] must have exactly as many elements
// as params[i]. Parameters whose Trainable is false are skipped and their gradient may be
// nil. Step checks every length before it changes anything, so an error leaves parameters
// and optimizer state untouched. The optimizer keeps its per-parameter state (moments,
// velocities) keyed by parameter name, created on the first Step that sees the parameter.
//
// State and LoadState expose that state for checkpoints, as tensors named
// "<optimizer>/<slot>/<parameter name>" (see the package documentation).
//
// An optimizer is not safe for concurrent use; different optimizers may step at once.
type Optimizer interface {
	// Name is the optimizer's kind ("adam", "sgd", "lars"), the prefix of its state tensors.
	Name() string
	// Step applies one update; see the interface documentation.
	Step(lr float32, params []*nn.Param, grads [][]float32) error
	// Iterations is the number of successful Step calls so far (Keras' optimizer.iterations).
	Iterations() int64
	// State returns the optimizer state. Its tensors alias the optimizer's buffers: they
	// are valid until the next Step and must not be modified.
	State() State
	// LoadState replaces the optimizer state with a copy of s, checking that every tensor
	// names a trainable parameter of params with the same number of elements and that
	// each parameter with state has all its slots. A trainable parameter without state
	// gets fresh (zero) state at its first Step, as a new variable does in Keras.
	LoadState(params []*nn.Param, s State) error
}

// Tensor is one named float32 array of optimizer state.
type Tensor struct {
	// Name is "<optimizer>/<slot>/<parameter name>", e.g. "adam/m/conv1/kernel".
	Name string
	// Shape is the shape of the parameter the tensor belongs to.
	Shape []int
	// Data holds the values, row-major.
	Data []float32
}

// State is an optimizer's resumable state: its iteration count and its per-parameter slots.
type State struct {
	// Iterations is the number of steps taken (Adam's bias correction depends on it).
	Iterations int64
	// Tensors are the slots, in the order of the parameters they were first created for.
	Tensors []Tensor
}

// paramData returns the float32 data of p or an error naming it.
func paramData(p *nn.Param, i int) ([]float32, error) {
	if p == nil {
		return nil, fmt.Errorf("optim: parameter %d is nil", i)
	}
	if p.Value == nil {
		return nil, fmt.Errorf("optim: parameter %q has no value", p.Name)
	}
	if dt := p.Value.Dtype(); dt != tensor.Float32 {
		return nil, fmt.Errorf("optim: parameter %q holds %v, not float32", p.Name, dt)
	}
	// Float32s aliases the backing array without the two allocations of Dense.Data.
	return p.Value.Float32s(), nil
}

// slots is the per-parameter state shared by the optimizers: k float32 buffers per
// parameter, each as long as the parameter.
type slots struct {
	be    device.Backend // where the buffers live and the kernels run
	kind  string         // optimizer name
	names []string       // slot names, e.g. {"m", "v"}
	byKey map[string]*slot
	order []*slot // creation order, for State
	iter  int64
	gen   int64 // counts prepare calls, to stamp slots
}

type slot struct {
	param string
	shape []int
	bufs  [][]float32
	seen  int64 // iteration at which the slot was last used, to catch duplicate names
}

func newSlots(be device.Backend, kind string, names ...string) slots {
	if be == nil {
		be = device.CPU{}
	}
	return slots{be: be, kind: kind, names: names, byKey: map[string]*slot{}}
}

// alloc returns n zeroed elements of the backend's memory.
func (s *slots) alloc(n int) ([]float32, error) {
	b, err := device.AllocFloat32(s.be, n)
	if err != nil {
		return nil, fmt.Errorf("optim: %s: allocating optimizer state: %w", s.kind, err)
	}
	return b, nil
}

// free returns a slot's buffers to the backend.
func (s *slots) free(st *slot) {
	for _, b := range st.bufs {
		if b != nil {
			s.be.Free(b)
		}
	}
}

// prepare validates a Step's arguments and returns, for each parameter, its data and its
// slot (nil for a parameter that is skipped). The two result slices are reused between
// calls through the scratch arguments, so a steady-state Step allocates nothing.
func (s *slots) prepare(params []*nn.Param, grads [][]float32, data [][]float32, sl []*slot) ([][]float32, []*slot, error) {
	if len(params) != len(grads) {
		return nil, nil, fmt.Errorf("optim: %s: %d parameters but %d gradients", s.kind, len(params), len(grads))
	}
	data, sl = data[:0], sl[:0]
	s.gen++
	stamp := s.gen
	for i, p := range params {
		d, err := paramData(p, i)
		if err != nil {
			return nil, nil, err
		}
		if !p.Trainable {
			data, sl = append(data, nil), append(sl, nil)
			continue
		}
		if grads[i] == nil {
			return nil, nil, fmt.Errorf("optim: %s: parameter %q is trainable but has no gradient", s.kind, p.Name)
		}
		if len(grads[i]) != len(d) {
			return nil, nil, fmt.Errorf("optim: %s: parameter %q has %d elements but its gradient has %d",
				s.kind, p.Name, len(d), len(grads[i]))
		}
		st := s.byKey[p.Name]
		if st != nil {
			if len(st.bufs) > 0 && len(st.bufs[0]) != len(d) {
				return nil, nil, fmt.Errorf("optim: %s: parameter %q has %d elements but its optimizer state has %d",
					s.kind, p.Name, len(d), len(st.bufs[0]))
			}
			if st.seen == stamp {
				return nil, nil, fmt.Errorf("optim: %s: parameter %q appears twice in one step", s.kind, p.Name)
			}
			st.seen = stamp
		}
		data, sl = append(data, d), append(sl, st)
	}
	// Create missing slots only once every argument is known to be valid.
	var created map[string]*slot
	for i, p := range params {
		if data[i] != nil && sl[i] == nil {
			if created[p.Name] != nil {
				return nil, nil, fmt.Errorf("optim: %s: parameter %q appears twice in one step", s.kind, p.Name)
			}
			if created == nil {
				created = map[string]*slot{}
			}
			st := &slot{param: p.Name, shape: append([]int(nil), p.Value.Shape()...), seen: stamp}
			for range s.names {
				b, err := s.alloc(len(data[i]))
				if err != nil {
					s.free(st)
					for _, c := range created {
						s.free(c)
					}
					return nil, nil, err
				}
				st.bufs = append(st.bufs, b)
			}
			created[p.Name] = st
			sl[i] = st
		}
	}
	for i, p := range params {
		if st := created[p.Name]; st != nil && sl[i] == st {
			s.byKey[p.Name] = st
			s.order = append(s.order, st)
		}
	}
	return data, sl, nil
}

// state returns the slots, aliasing the buffers on a host backend and as host copies
// otherwise (an error of such a copy leaves the tensor's Data nil).
func (s *slots) state() State {
	st := State{Iterations: s.iter}
	for _, sl := range s.order {
		for k, n := range s.names {
			data := sl.bufs[k]
			if !s.be.Host() {
				data = make([]float32, len(sl.bufs[k]))
				if err := s.be.CopyOut(data, sl.bufs[k]); err != nil {
					data = nil
				}
			}
			st.Tensors = append(st.Tensors, Tensor{Name: s.kind + "/" + n + "/" + sl.param, Shape: sl.shape, Data: data})
		}
	}
	return st
}

func (s *slots) load(params []*nn.Param, in State) error {
	if in.Iterations < 0 {
		return fmt.Errorf("optim: %s: negative iteration count %d", s.kind, in.Iterations)
	}
	byName := map[string]*nn.Param{}
	for i, p := range params {
		if _, err := paramData(p, i); err != nil {
			return err
		}
		if p.Trainable {
			byName[p.Name] = p
		}
	}
	fresh := map[string]*slot{}
	var order []*slot
	for _, t := range in.Tensors {
		var slotIdx = -1
		var pname string
		for k, n := range s.names {
			prefix := s.kind + "/" + n + "/"
			if len(t.Name) > len(prefix) && t.Name[:len(prefix)] == prefix {
				slotIdx, pname = k, t.Name[len(prefix):]
				break
			}
		}
		if slotIdx < 0 {
			return fmt.Errorf("optim: %s: state tensor %q is not one of this optimizer's slots", s.kind, t.Name)
		}
		p := byName[pname]
		if p == nil {
			return fmt.Errorf("optim: %s: state tensor %q belongs to no trainable parameter of the model", s.kind, t.Name)
		}
		n := p.Value.Shape().TotalSize()
		if len(t.Data) != n {
			return fmt.Errorf("optim: %s: state tensor %q has %d elements, parameter %q has %d", s.kind, t.Name, len(t.Data), pname, n)
		}
		for _, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("optim: %s: state tensor %q holds a non-finite value", s.kind, t.Name)
			}
		}
		st := fresh[pname]
		if st == nil {
			st = &slot{param: pname, shape: append([]int(nil), p.Value.Shape()...), bufs: make([][]float32, len(s.names))}
			fresh[pname] = st
			order = append(order, st)
		}
		if st.bufs[slotIdx] != nil {
			return fmt.Errorf("optim: %s: state tensor %q given twice", s.kind, t.Name)
		}
		st.bufs[slotIdx] = t.Data // the caller's; copied below once all is checked
	}
	for _, st := range order {
		for k, b := range st.bufs {
			if b == nil {
				return fmt.Errorf("optim: %s: state for parameter %q lacks slot %q", s.kind, st.param, s.names[k])
			}
		}
	}
	for i, st := range order {
		for k, src := range st.bufs {
			b, err := s.alloc(len(src))
			if err == nil {
				if err = s.be.CopyIn(b, src); err != nil {
					s.be.Free(b)
				}
			}
			if err != nil {
				for _, done := range order[:i] {
					s.free(done)
				}
				for j := range k {
					s.be.Free(st.bufs[j])
				}
				return err
			}
			st.bufs[k] = b
		}
	}
	for _, old := range s.order {
		s.free(old)
	}
	s.byKey, s.order, s.iter = fresh, order, in.Iterations
	return nil
}

func checkLR(kind string, lr float32) error {
	if math.IsNaN(float64(lr)) || math.IsInf(float64(lr), 0) || lr < 0 {
		return fmt.Errorf("optim: %s: learning rate %v is not finite and >= 0", kind, lr)
	}
	return nil
}
