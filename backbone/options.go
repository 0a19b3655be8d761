package backbone

import (
	"fmt"
	"strings"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// Option configures a backbone constructor. Each constructor documents the options it
// takes; passing one it does not take is an error from the constructor, so a mistyped
// configuration never goes unnoticed.
type Option func(*config)

type optKind uint8

const (
	optBaseFilters optKind = 1 << iota
	optL2
	optInputChannels
	optKernelInit
	optFilters
)

var optNames = []struct {
	k    optKind
	name string
}{{optBaseFilters, "BaseFilters"}, {optL2, "L2"}, {optInputChannels, "InputChannels"},
	{optKernelInit, "KernelInit"}, {optFilters, "Filters"}}

type config struct {
	set         optKind
	baseFilters int
	l2          float32
	inChannels  int
	kernelInit  nn.Initializer
	filters     []int
	err         error
}

func (c *config) fail(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, a...)
	}
}

// BaseFilters sets the width of the first stage; later stages scale with it. The
// defaults are Keras': 16 for ResNetV1 (stages of 16, 32, 64 filters) and ResNetV2
// (bottleneck stages of 16→64, 64→128, 128→256), 64 for ResNet50V2 (64, 128, 256, 512 ×4).
// A non-default width is part of the backbone's Name ("resnet20v1-w32"). Not for ConvNet
// (use Filters).
func BaseFilters(f int) Option {
	return func(c *config) {
		c.set |= optBaseFilters
		if f < 1 {
			c.fail("BaseFilters(%d): want at least 1", f)
		}
		c.baseFilters = f
	}
}

// L2 sets the coefficient of the L2 penalty on every convolution kernel, Keras'
// kernel_regularizer=l2(coef); the ssl pipeline adds the penalty to the loss it trains,
// and a training loop of your own adds it with nn.L2Penalty. The default is 1e-4 for
// ResNetV1, ResNetV2 and ConvNet (the Keras CIFAR-10 example's value) and 0 for
// ResNet50V2 (Keras applications regularize nothing). 0 turns it off.
func L2(coef float32) Option {
	return func(c *config) {
		c.set |= optL2
		if !(coef >= 0) {
			c.fail("L2(%g): coefficient must be non-negative", coef)
		}
		c.l2 = coef
	}
}

// InputChannels makes Build check that its input has ch channels (3 for RGB, 1 for
// grayscale). Without it any channel count is accepted, and the first Build on a
// Params fixes it through the stem kernel's shape.
func InputChannels(ch int) Option {
	return func(c *config) {
		c.set |= optInputChannels
		if ch < 1 {
			c.fail("InputChannels(%d): want at least 1", ch)
		}
		c.inChannels = ch
	}
}

// KernelInit sets the initializer of every convolution kernel. The default is nn.HeNormal
// (Keras' he_normal, as the CIFAR-10 example uses) for ResNetV1, ResNetV2 and ConvNet and
// nn.GlorotUniform (Keras' default) for ResNet50V2. Biases start at zero.
func KernelInit(init nn.Initializer) Option {
	return func(c *config) {
		c.set |= optKernelInit
		if init == nil {
			c.fail("KernelInit(nil)")
		}
		c.kernelInit = init
	}
}

// Filters sets the number of filters of each ConvNet block, one block per value
// (default 32, 64, 128). ConvNet only.
func Filters(f ...int) Option {
	return func(c *config) {
		c.set |= optFilters
		if len(f) == 0 {
			c.fail("Filters(): want at least one block")
		}
		for i, v := range f {
			if v < 1 {
				c.fail("Filters(%v): block %d has %d filters, want at least 1", f, i, v)
			}
		}
		c.filters = append([]int(nil), f...)
	}
}

// configure applies opts over the defaults in c and checks that only allowed options
// were given.
func configure(ctor string, c *config, allowed optKind, opts []Option) error {
	for i, o := range opts {
		if o == nil {
			return fmt.Errorf("backbone.%s: option %d is nil", ctor, i)
		}
		o(c)
	}
	if c.err != nil {
		return fmt.Errorf("backbone.%s: %w", ctor, c.err)
	}
	if extra := c.set &^ allowed; extra != 0 {
		var names []string
		for _, o := range optNames {
			if extra&o.k != 0 {
				names = append(names, o.name)
			}
		}
		return fmt.Errorf("backbone.%s does not take option(s) %s", ctor, strings.Join(names, ", "))
	}
	return nil
}

// convOpts are the nn options of a convolution with the backbone's initializer and L2.
func (c *config) convOpts(kernel, stride int, more ...nn.Option) []nn.Option {
	o := []nn.Option{nn.Kernel(kernel), nn.Init(c.kernelInit)}
	if stride != 1 {
		o = append(o, nn.Stride(stride))
	}
	if c.l2 > 0 {
		o = append(o, nn.L2(c.l2))
	}
	return append(o, more...)
}

// denseOpts are the nn options of a dense layer with the backbone's initializer and L2.
func (c *config) denseOpts() []nn.Option {
	o := []nn.Option{nn.Init(c.kernelInit)}
	if c.l2 > 0 {
		o = append(o, nn.L2(c.l2))
	}
	return o
}

// Must returns b, and panics if err is not nil. It is for examples and tests, where a
// constant configuration cannot fail:
//
//	bb := backbone.Must(backbone.ResNetV1(20))
func Must[B ssl.Backbone](b B, err error) B {
	if err != nil {
		panic(err)
	}
	return b
}
