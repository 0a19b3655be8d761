package ssl

import (
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
)

// Scope names of the parts of every network the pipeline builds: parameters are named
// "backbone/...", "pretext/..." (the pretext head) and "classifier/..." (the downstream
// head), and checkpoints use those names.
const (
	BackboneScope   = "backbone"
	PretextScope    = "pretext"
	ClassifierScope = "classifier"
)

// Transfer says how the pretrained backbone becomes a classifier: the pretext head is
// dropped, a new head (Dense(classes), he_normal, as the seed's Keras model) is put on the
// backbone's features, and either everything is fine-tuned (FineTune, the seed) or only
// the head trains on the frozen backbone (LinearProbe). Its options (Epochs, BatchSize,
// LearningRate, ...) set the downstream training and override those given to New.
//
// The supervised baseline (CompareSupervised) always trains the whole network from random
// initialisation, with the transfer's options, the same labels, schedule and seed.
type Transfer struct {
	probe bool
	opts  []Option
}

// FineTune transfers by training the whole network, backbone included, on the labels.
func FineTune(opts ...Option) Transfer { return Transfer{opts: opts} }

// LinearProbe transfers by training only the new head: the backbone is built in inference
// mode (batch norm on its moving statistics) and its weights are not updated.
func LinearProbe(opts ...Option) Transfer { return Transfer{probe: true, opts: opts} }

// Name is "fine-tune" or "linear-probe".
func (t Transfer) Name() string {
	if t.probe {
		return "linear-probe"
	}
	return "fine-tune"
}

// Frozen reports whether the backbone stays frozen (LinearProbe).
func (t Transfer) Frozen() bool { return t.probe }

// Options returns the downstream options the transfer was made with.
func (t Transfer) Options() []Option { return append([]Option(nil), t.opts...) }

// classifier builds the downstream network: backbone (frozen: in inference mode) and a new
// dense head. It returns the logits [N, classes].
func classifier(s *nn.Scope, b Backbone, x *G.Node, classes int, frozen bool) *G.Node {
	bs := s.In(BackboneScope)
	if frozen {
		bs = bs.WithTraining(false)
	}
	f := b.Build(bs, x)
	return nn.Dense(s.In(ClassifierScope), f, classes, nn.Init(nn.HeNormal))
}

// inScope reports whether parameter p lives in the top-level scope name.
func inScope(p *nn.Param, name string) bool { return strings.HasPrefix(p.Name, name+"/") }
