package contrastive

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/selfsup/selfsup/ssl"
)

// Option configures one of the methods (SimCLR, SimSiam, ...). Each constructor documents
// the options it honours and their defaults; an option a method does not take, or an
// invalid value, is an error that names the option: Err reports it at once, and the
// pipeline reports it before any training (from CheckShape).
type Option func(*config)

type optKind uint16

const (
	optTemperature optKind = 1 << iota
	optProjector
	optPredictor
	optQueue
	optMomentum
	optAugment
	optLambda
	optLossScale
	optVICRegWeights
)

var optNames = []struct {
	k    optKind
	name string
}{
	{optTemperature, "Temperature"}, {optProjector, "Projector"}, {optPredictor, "Predictor"},
	{optQueue, "QueueSize"}, {optMomentum, "Momentum"}, {optAugment, "Augment/AugmentViews"},
	{optLambda, "Lambda"}, {optLossScale, "LossScale"}, {optVICRegWeights, "VICRegWeights"},
}

// config holds every method's settings; each method reads the ones it uses.
type config struct {
	set              optKind
	temperature      float32
	projHidden       int
	projOut          int
	predHidden       int
	queue            int
	tauBase          float64
	tauFinal         float64
	views            [2]ssl.Augmentation
	lambda           float32
	scale            float32
	simW, varW, covW float32
	err              error
}

func (c *config) fail(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, a...)
	}
}

// Temperature sets the temperature of the softmax over cosine similarities (SimCLR's
// NT-Xent, NNCLR, SupCon, MoCo's InfoNCE); it must be positive.
func Temperature(t float32) Option {
	return func(c *config) {
		c.set |= optTemperature
		if !(t > 0) || math.IsInf(float64(t), 0) {
			c.fail("Temperature(%g): want a finite value > 0", t)
		}
		c.temperature = t
	}
}

// Projector sets the projector's hidden width and output dimension (every method has a
// projector; in SimSiam, Barlow Twins and VICReg every hidden layer has the hidden width).
// Small values make tests and toy runs fast; the defaults are the papers' and
// solo-learn's.
func Projector(hidden, out int) Option {
	return func(c *config) {
		c.set |= optProjector
		if hidden < 1 || out < 1 {
			c.fail("Projector(%d, %d): widths must be at least 1", hidden, out)
		}
		c.projHidden, c.projOut = hidden, out
	}
}

// Predictor sets the hidden width of the predictor MLP (SimSiam, BYOL, NNCLR); its output
// has the projector's output dimension.
func Predictor(hidden int) Option {
	return func(c *config) {
		c.set |= optPredictor
		if hidden < 1 {
			c.fail("Predictor(%d): width must be at least 1", hidden)
		}
		c.predHidden = hidden
	}
}

// QueueSize sets the number of rows of the queue: MoCo's negative keys, NNCLR's support
// set. It should be a multiple of the rows enqueued per step (the batch size for NNCLR,
// twice the batch size for MoCo), though any size works: the queue wraps around.
func QueueSize(q int) Option {
	return func(c *config) {
		c.set |= optQueue
		if q < 1 {
			c.fail("QueueSize(%d): want at least 1", q)
		}
		c.queue = q
	}
}

// Momentum sets the momentum of the exponential moving average that updates the target
// (BYOL) or key (MoCo) network: tau rises from base to final over the training along a
// half cosine (see Tau); Momentum(m, m) keeps it constant. 0 <= base <= final <= 1.
func Momentum(base, final float64) Option {
	return func(c *config) {
		c.set |= optMomentum
		if !(base >= 0 && base <= final && final <= 1) {
			c.fail("Momentum(%g, %g): want 0 <= base <= final <= 1", base, final)
		}
		c.tauBase, c.tauFinal = base, final
	}
}

// Augment makes both views with a (an augment preset such as augment.SimCLRCIFAR(), or
// the caller's own), each with its own seed.
func Augment(a ssl.Augmentation) Option {
	return func(c *config) {
		c.set |= optAugment
		if a == nil {
			c.fail("Augment(nil)")
		}
		c.views = [2]ssl.Augmentation{a, a}
	}
}

// AugmentViews makes the first view with a1 and the second with a2, as BYOL's asymmetric
// recipe does (augment.BYOLCIFAR returns such a pair).
func AugmentViews(a1, a2 ssl.Augmentation) Option {
	return func(c *config) {
		c.set |= optAugment
		if a1 == nil || a2 == nil {
			c.fail("AugmentViews: nil augmentation")
		}
		c.views = [2]ssl.Augmentation{a1, a2}
	}
}

// Lambda sets Barlow Twins' weight of the off-diagonal (redundancy-reduction) terms, >= 0.
func Lambda(l float32) Option {
	return func(c *config) {
		c.set |= optLambda
		if !(l >= 0) || math.IsInf(float64(l), 0) {
			c.fail("Lambda(%g): want a finite value >= 0", l)
		}
		c.lambda = l
	}
}

// LossScale multiplies Barlow Twins' loss by s > 0 (solo-learn's scale_loss).
func LossScale(s float32) Option {
	return func(c *config) {
		c.set |= optLossScale
		if !(s > 0) || math.IsInf(float64(s), 0) {
			c.fail("LossScale(%g): want a finite value > 0", s)
		}
		c.scale = s
	}
}

// VICRegWeights sets the weights of VICReg's invariance, variance and covariance terms,
// each >= 0.
func VICRegWeights(sim, variance, cov float32) Option {
	return func(c *config) {
		c.set |= optVICRegWeights
		for _, w := range []float32{sim, variance, cov} {
			if !(w >= 0) || math.IsInf(float64(w), 0) {
				c.fail("VICRegWeights(%g, %g, %g): want finite values >= 0", sim, variance, cov)
			}
		}
		c.simW, c.varW, c.covW = sim, variance, cov
	}
}

// configure applies opts over the defaults def of method, allowing only the kinds in
// allowed; the error names the method and the option.
func configure(method string, def config, allowed optKind, opts []Option) (config, error) {
	c := def
	c.set = 0
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("contrastive: %s: nil option", method)
		}
		o(&c)
	}
	if c.err != nil {
		return c, fmt.Errorf("contrastive: %s: %w", method, c.err)
	}
	if extra := c.set &^ allowed; extra != 0 {
		var names []string
		for _, n := range optNames {
			if extra&n.k != 0 {
				names = append(names, n.name)
			}
		}
		return c, fmt.Errorf("contrastive: %s does not take option(s) %s", method, strings.Join(names, ", "))
	}
	if c.views[0] == nil || c.views[1] == nil {
		return c, errors.New("contrastive: " + method + ": no augmentation")
	}
	return c, nil
}
