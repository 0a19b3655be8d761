package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/selfsup/selfsup/internal/device"
	"github.com/selfsup/selfsup/nn"
)

// Option sets a hyper-parameter of an optimizer. Each option documents the optimizers it
// applies to; giving an optimizer an option that does not apply to it is an error.
type Option struct {
	name  string
	apply func(*config) error
}

type config struct {
	beta1, beta2, eps float64
	torchEps          bool
	momentum          float64
	nesterov          bool
	weightDecay       float64 // decoupled (Adam, SGD) or SimCLR-style (LARS)
	l2                float64 // coupled: added to the gradient (Adam, SGD)
	eta               float64
	paperTrust        bool
	exclude           func(*nn.Param) bool
	excludeSet        bool
	backend           device.Backend
}

// OnBackend makes an optimizer keep its state in b's memory and run its updates with
// b's kernels; the parameters and gradients handed to Step must then be b's memory too.
// The default is the CPU backend. It applies to Adam, SGD and LARS; State then returns
// host copies of the state when b's memory is not host memory.
func OnBackend(b device.Backend) Option {
	return Option{"OnBackend", func(c *config) error {
		if b == nil {
			return fmt.Errorf("optim: OnBackend: nil backend")
		}
		c.backend = b
		return nil
	}}
}

func finiteNonNeg(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("optim: %s must be finite and >= 0, got %v", name, v)
	}
	return nil
}

// Beta1 sets Adam's decay rate of the first moment, in [0, 1). Default 0.9.
func Beta1(b float64) Option {
	return Option{"Beta1", func(c *config) error {
		if !(b >= 0 && b < 1) {
			return fmt.Errorf("optim: Beta1 must be in [0, 1), got %v", b)
		}
		c.beta1 = b
		return nil
	}}
}

// Beta2 sets Adam's decay rate of the second moment, in [0, 1). Default 0.999.
func Beta2(b float64) Option {
	return Option{"Beta2", func(c *config) error {
		if !(b >= 0 && b < 1) {
			return fmt.Errorf("optim: Beta2 must be in [0, 1), got %v", b)
		}
		c.beta2 = b
		return nil
	}}
}

// Epsilon sets Adam's epsilon, > 0. Default 1e-7 (Keras). Where it is added depends on
// PyTorchEpsilon; see Adam.
func Epsilon(e float64) Option {
	return Option{"Epsilon", func(c *config) error {
		if !(e > 0) || math.IsInf(e, 0) {
			return fmt.Errorf("optim: Epsilon must be finite and > 0, got %v", e)
		}
		c.eps = e
		return nil
	}}
}

// PyTorchEpsilon makes Adam add epsilon to the bias-corrected root of the second moment,
// as torch.optim.Adam does, instead of to the uncorrected root as Keras does. Use it,
// with Epsilon(1e-8), to reproduce a PyTorch recipe.
func PyTorchEpsilon() Option {
	return Option{"PyTorchEpsilon", func(c *config) error { c.torchEps = true; return nil }}
}

// Momentum sets the momentum of SGD and LARS, in [0, 1). Default 0 for SGD, 0.9 for LARS.
func Momentum(m float64) Option {
	return Option{"Momentum", func(c *config) error {
		if !(m >= 0 && m < 1) {
			return fmt.Errorf("optim: Momentum must be in [0, 1), got %v", m)
		}
		c.momentum = m
		return nil
	}}
}

// Nesterov switches SGD and LARS to Nesterov momentum.
func Nesterov() Option {
	return Option{"Nesterov", func(c *config) error { c.nesterov = true; return nil }}
}

// WeightDecay sets a weight decay coefficient wd >= 0 (default 0).
//
// For Adam and SGD it is decoupled weight decay (Keras 3's weight_decay, PyTorch's AdamW):
// before the update every non-excluded parameter is multiplied by 1 - lr*wd, outside the
// gradient and the moments. For LARS it is SimCLR's: wd*w is added to the gradient before
// the trust ratio and the momentum (an L2 penalty inside the optimizer).
func WeightDecay(wd float64) Option {
	return Option{"WeightDecay", func(c *config) error {
		if err := finiteNonNeg("WeightDecay", wd); err != nil {
			return err
		}
		c.weightDecay = wd
		return nil
	}}
}

// L2 sets a coupled L2 coefficient for Adam and SGD (default 0): l2*w is added to the
// gradient of every non-excluded parameter before the update, as PyTorch's weight_decay
// argument of torch.optim.Adam and torch.optim.SGD does. (The models' own L2 penalties,
// nn.Param.L2, are part of the loss and reach the optimizer inside the gradients already.)
func L2(l2 float64) Option {
	return Option{"L2", func(c *config) error {
		if err := finiteNonNeg("L2", l2); err != nil {
			return err
		}
		c.l2 = l2
		return nil
	}}
}

// Eta sets LARS' trust coefficient (SimCLR's eeta), > 0. Default 0.001.
func Eta(eta float64) Option {
	return Option{"Eta", func(c *config) error {
		if !(eta > 0) || math.IsInf(eta, 0) {
			return fmt.Errorf("optim: Eta must be finite and > 0, got %v", eta)
		}
		c.eta = eta
		return nil
	}}
}

// PaperTrustRatio makes LARS use the trust ratio of the LARS paper (You et al. 2017),
// eta*||w|| / (||g|| + wd*||w||), instead of SimCLR's eta*||w|| / ||g + wd*w||.
func PaperTrustRatio() Option {
	return Option{"PaperTrustRatio", func(c *config) error { c.paperTrust = true; return nil }}
}

// Exclude sets the predicate that picks parameters excluded from weight decay and L2
// (all optimizers) and from LARS' layer adaptation (their trust ratio is 1). nil excludes
// nothing. The default is nil for Adam and SGD and ExcludeRank1 for LARS, which like
// SimCLR exempts biases and batch-norm parameters.
func Exclude(pred func(*nn.Param) bool) Option {
	return Option{"Exclude", func(c *config) error { c.exclude, c.excludeSet = pred, true; return nil }}
}

// ExcludeRank1 reports whether p has at most one dimension: biases and batch-norm
// scales, offsets and moving statistics, which SimCLR exempts from weight decay and
// layer adaptation.
func ExcludeRank1(p *nn.Param) bool { return p.Value != nil && p.Value.Dims() <= 1 }

// ExcludeNames returns a predicate that is true for parameters whose name contains any
// of the substrings, like SimCLR's exclude_from_weight_decay list.
func ExcludeNames(substrings ...string) func(*nn.Param) bool {
	subs := append([]string(nil), substrings...)
	return func(p *nn.Param) bool {
		for _, s := range subs {
			if strings.Contains(p.Name, s) {
				return true
			}
		}
		return false
	}
}

func build(kind string, c *config, allowed []string, opts []Option) error {
	for _, o := range opts {
		if o.apply == nil {
			return fmt.Errorf("optim: %s: zero Option", kind)
		}
		ok := false
		for _, a := range allowed {
			if a == o.name {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("optim: option %s does not apply to %s", o.name, kind)
		}
		if err := o.apply(c); err != nil {
			return fmt.Errorf("%w (%s)", err, kind)
		}
	}
	return nil
}
