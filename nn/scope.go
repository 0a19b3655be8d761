package nn

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
)

// Scope is where layers are built: one gorgonia graph, the Params its weights live in, a
// name prefix, and whether the graph is for training (batch statistics, dropout) or for
// inference. Layer functions take a Scope first, as GoMLX's layers take a context.
//
// A Scope records the first error any layer meets (a shape that does not fit, a name
// already used with another shape); from then on layer functions return nil and do
// nothing, and Err reports the error. Check Err once after building.
type Scope struct {
	graph    *G.ExprGraph
	params   *Params
	training bool
	frozen   bool
	prefix   string
	shared   *scopeState
}

type scopeState struct {
	nodes map[*Param]*G.Node
	err   error
}

// NewScope returns the root scope of graph g, with weights in ps.
func NewScope(g *G.ExprGraph, ps *Params, training bool) *Scope {
	return &Scope{graph: g, params: ps, training: training, shared: &scopeState{nodes: map[*Param]*G.Node{}}}
}

// In returns a sub-scope whose parameter names are prefixed with name and a slash.
func (s *Scope) In(name string) *Scope {
	c := *s
	if s.prefix == "" {
		c.prefix = name
	} else {
		c.prefix = s.prefix + "/" + name
	}
	return &c
}

// Graph is the gorgonia graph the scope builds into.
func (s *Scope) Graph() *G.ExprGraph { return s.graph }

// Params is the parameter set the scope's weights live in.
func (s *Scope) Params() *Params { return s.params }

// Training reports whether the graph is built for training.
func (s *Scope) Training() bool { return s.training }

// Name returns the full name of a parameter called name in this scope.
func (s *Scope) Name(name string) string {
	if s.prefix == "" {
		return name
	}
	return s.prefix + "/" + name
}

// Err returns the first error met while building, or nil.
func (s *Scope) Err() error { return s.shared.err }

// Fail records err as the scope's error unless one is recorded already. Layer functions
// call it instead of panicking; custom layers should too.
func (s *Scope) Fail(err error) {
	if err != nil && s.shared.err == nil {
		s.shared.err = fmt.Errorf("%s: %w", s.prefixOr("nn"), err)
	}
}

func (s *Scope) prefixOr(def string) string {
	if s.prefix == "" {
		return def
	}
	return s.prefix
}

// Failed reports whether building must stop: an error is recorded or one of nodes is nil
// (the result of an earlier failed layer).
func (s *Scope) Failed(nodes ...*G.Node) bool {
	if s.shared.err != nil {
		return true
	}
	for _, n := range nodes {
		if n == nil {
			s.Fail(errors.New("nil input node"))
			return true
		}
	}
	return false
}

// Variable returns the graph node of the parameter called name in this scope, creating the
// parameter (with init) on first use. The node is bound to the parameter's tensor, so the
// graph reads and the optimizer writes the same memory.
func (s *Scope) Variable(name string, shape []int, init Initializer, trainable bool) *G.Node {
	if s.Failed() {
		return nil
	}
	p, err := s.params.Variable(s.Name(name), shape, init, trainable && !s.frozen)
	if err != nil {
		s.Fail(err)
		return nil
	}
	return s.Node(p)
}

// Node returns the graph node bound to p, creating it the first time p is used in this
// scope's graph.
func (s *Scope) Node(p *Param) *G.Node {
	if n, ok := s.shared.nodes[p]; ok {
		return n
	}
	n := G.NodeFromAny(s.graph, p.Value, G.WithName(p.Name))
	s.shared.nodes[p] = n
	return n
}

// ParamOf returns the parameter a node of this scope's graph is bound to, or nil.
func (s *Scope) ParamOf(n *G.Node) *Param {
	for p, m := range s.shared.nodes {
		if m == n {
			return p
		}
	}
	return nil
}

// WithTraining returns a copy of the scope, building into the same graph and Params, whose
// layers are in training mode when training is true. A linear probe builds the frozen
// backbone with WithTraining(false) (batch norm on its moving statistics) and the head in
// a training scope.
func (s *Scope) WithTraining(training bool) *Scope {
	c := *s
	c.training = training
	return &c
}

// Frozen returns a copy of the scope whose parameters are created non-trainable and
// without an L2 penalty: a second network that no gradient updates, such as the
// momentum target of BYOL or MoCo, whose weights a step hook sets instead. Layers keep
// the scope's training mode (a frozen network in a training scope still normalises with
// batch statistics).
func (s *Scope) Frozen() *Scope {
	c := *s
	c.frozen = true
	return &c
}

// IsFrozen reports whether parameters created in the scope are non-trainable (Frozen).
func (s *Scope) IsFrozen() bool { return s.frozen }

// Used returns the parameters bound to nodes of this scope's graph, in the order of the
// Params they belong to: the weights a loss built here can depend on.
func (s *Scope) Used() []*Param {
	var out []*Param
	for _, p := range s.params.list {
		if _, ok := s.shared.nodes[p]; ok {
			out = append(out, p)
		}
	}
	return out
}
