package ssl

import (
	"fmt"
	"math"
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
	knn   bool
	k     int
	t     float64
	opts  []Option
}

// FineTune transfers by training the whole network, backbone included, on the labels.
func FineTune(opts ...Option) Transfer { return Transfer{opts: opts} }

// LinearProbe transfers by training only the new head: the backbone is built in inference
// mode (batch norm on its moving statistics) and its weights are not updated.
func LinearProbe(opts ...Option) Transfer { return Transfer{probe: true, opts: opts} }

// KNNProbe transfers without training: the frozen backbone embeds the run's labeled
// images and every test image, and each test image takes the class of a weighted vote
// of its k nearest labeled images by cosine similarity, weights exp(similarity/t)
// (embedding.KNN; lightly's and solo-learn's benchmarks use k = 200, t = 0.1, the
// defaults embedding.DefaultNeighbors and embedding.DefaultTemperature). It is the
// standard way self-supervised methods are compared. Its runs have no training
// history and no test loss (0); the supervised baseline still fine-tunes, with opts.
func KNNProbe(k int, t float64, opts ...Option) Transfer {
	return Transfer{knn: true, k: k, t: t, opts: opts}
}

// Name is "fine-tune", "linear-probe" or "knn-k<k>-t<t>".
func (t Transfer) Name() string {
	switch {
	case t.knn:
		return fmt.Sprintf("knn-k%d-t%g", t.k, t.t)
	case t.probe:
		return "linear-probe"
	}
	return "fine-tune"
}

// Frozen reports whether the backbone stays frozen (LinearProbe, KNNProbe).
func (t Transfer) Frozen() bool { return t.probe || t.knn }

// check validates the transfer's own settings.
func (t Transfer) check() error {
	if t.knn {
		if t.k < 1 {
			return fmt.Errorf("ssl: KNNProbe: k = %d, want at least 1", t.k)
		}
		if !(t.t > 0) || math.IsInf(t.t, 0) {
			return fmt.Errorf("ssl: KNNProbe: temperature %v, want a finite value > 0", t.t)
		}
	}
	return nil
}

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
