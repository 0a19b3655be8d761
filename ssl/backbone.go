package ssl

import (
	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
)

// Backbone is a feature extractor: the network a pretext task trains and a downstream
// classifier reuses. Implementations live in package backbone; a caller can write their own.
type Backbone interface {
	// Name identifies the architecture and its size, e.g. "resnet20v1". Checkpoints record
	// it, and loading one into another architecture is an error.
	Name() string
	// Build adds the backbone to the scope's graph for input x, an NCHW float32 batch, and
	// returns the feature node, shaped [N, Features]. Building twice on one nn.Params (a
	// training graph and an inference graph) shares the weights. Errors are recorded in s.
	Build(s *nn.Scope, x *G.Node) *G.Node
}
