package exec

import (
	G "gorgonia.org/gorgonia"
)

// Option configures New.
type Option func(*config)

type config struct {
	outputs   []*G.Node
	keep      []*G.Node
	keepAll   bool
	noFusion  bool
	noReplace bool
	alloc     Allocator
}

// Outputs restricts execution to the given nodes and their ancestors (for
// example the loss and the gradients of the parameters, or only the logits
// for an inference pass that skips the backward nodes) and keeps the given
// nodes readable after Run. Without Outputs, New plans every node of the
// graph, as gorgonia's TapeMachine does. Outputs may be given more than once;
// the node sets are joined.
func Outputs(nodes ...*G.Node) Option {
	return func(c *config) { c.outputs = append(c.outputs, nodes...) }
}

// Keep marks nodes whose values must stay readable through Machine.Value
// after Run, without pruning anything. A kept node gets a buffer of its own
// that no other node shares.
func Keep(nodes ...*G.Node) Option {
	return func(c *config) { c.keep = append(c.keep, nodes...) }
}

// KeepAll gives every node a buffer of its own, so that every node's value
// can be read after Run. It costs the memory that liveness-based sharing
// saves; use it for debugging or to compare intermediate values.
func KeepAll() Option {
	return func(c *config) { c.keepAll = true }
}

// NoFusion runs every node with its own op, so that no node is computed fused
// into its consumer (see Fuser): for comparing fused and unfused results, or
// to read every intermediate value together with KeepAll.
func NoFusion() Option {
	return func(c *config) { c.noFusion = true }
}

// NoReplacement runs every node with its own op, ignoring the replacements
// registered with RegisterReplacer.
func NoReplacement() Option {
	return func(c *config) { c.noReplace = true }
}
