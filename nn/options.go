package nn

import (
	"fmt"
	"strings"
)

// Option configures a layer. Each layer documents the options it honours; passing one it
// does not honour is recorded as an error on the scope, so a typo'd configuration never
// goes unnoticed.
type Option func(*config)

type optKind uint16

const (
	optKernel optKind = 1 << iota
	optStride
	optPadding
	optNoBias
	optL2
	optInit
	optBiasInit
	optMomentum
	optEpsilon
)

var optNames = map[optKind]string{optKernel: "Kernel", optStride: "Stride", optPadding: "Padding",
	optNoBias: "NoBias", optL2: "L2", optInit: "Init", optBiasInit: "BiasInit", optMomentum: "Momentum", optEpsilon: "Epsilon"}

type config struct {
	set            optKind
	kh, kw         int
	sh, sw         int
	padMode        string // "same", "valid" or "explicit"
	padT, padL     int
	padB, padR     int
	noBias         bool
	l2             float32
	init, biasInit Initializer
	momentum       float32
	epsilon        float32
	err            error
}

func (c *config) fail(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, a...)
	}
}

// Kernel sets a square k×k convolution kernel (Conv2D).
func Kernel(k int) Option { return KernelHW(k, k) }

// KernelHW sets a kh×kw convolution kernel (Conv2D).
func KernelHW(kh, kw int) Option {
	return func(c *config) {
		c.set |= optKernel
		if kh < 1 || kw < 1 {
			c.fail("Kernel(%d, %d): sizes must be positive", kh, kw)
		}
		c.kh, c.kw = kh, kw
	}
}

// Stride sets equal strides along height and width (Conv2D, MaxPool2D).
func Stride(s int) Option { return StrideHW(s, s) }

// StrideHW sets the strides along height and width (Conv2D, MaxPool2D).
func StrideHW(sh, sw int) Option {
	return func(c *config) {
		c.set |= optStride
		if sh < 1 || sw < 1 {
			c.fail("Stride(%d, %d): strides must be positive", sh, sw)
		}
		c.sh, c.sw = sh, sw
	}
}

// Padding selects Keras' padding mode, "valid" (no padding, the default) or "same"
// (output size ceil(input/stride); an odd total pad puts the extra row/column at the
// bottom/right) (Conv2D, MaxPool2D).
func Padding(mode string) Option {
	return func(c *config) {
		c.set |= optPadding
		switch m := strings.ToLower(mode); m {
		case "same", "valid":
			c.padMode = m
		default:
			c.fail("Padding(%q): want \"same\" or \"valid\"", mode)
		}
	}
}

// ExplicitPadding pads with zeros by the given amounts (Conv2D, MaxPool2D).
func ExplicitPadding(top, left, bottom, right int) Option {
	return func(c *config) {
		c.set |= optPadding
		if top < 0 || left < 0 || bottom < 0 || right < 0 {
			c.fail("ExplicitPadding(%d, %d, %d, %d): amounts must be non-negative", top, left, bottom, right)
		}
		c.padMode = "explicit"
		c.padT, c.padL, c.padB, c.padR = top, left, bottom, right
	}
}

// NoBias leaves out the bias (Conv2D, Dense), as Keras' use_bias=False.
func NoBias() Option { return func(c *config) { c.set |= optNoBias; c.noBias = true } }

// L2 adds coef·Σ kernel² to L2Penalty, as Keras' kernel_regularizer=l2(coef) (Conv2D, Dense).
// The ssl pipeline adds L2Penalty to the loss it trains; a loop of your own must add it.
func L2(coef float32) Option {
	return func(c *config) {
		c.set |= optL2
		if !(coef >= 0) {
			c.fail("L2(%g): coefficient must be non-negative", coef)
		}
		c.l2 = coef
	}
}

// Init sets the kernel initializer (Conv2D, Dense); the default is GlorotUniform, as in Keras.
func Init(init Initializer) Option {
	return func(c *config) {
		c.set |= optInit
		if init == nil {
			c.fail("Init(nil)")
		}
		c.init = init
	}
}

// BiasInit sets the bias initializer (Conv2D, Dense); the default is Zeros.
func BiasInit(init Initializer) Option {
	return func(c *config) {
		c.set |= optBiasInit
		if init == nil {
			c.fail("BiasInit(nil)")
		}
		c.biasInit = init
	}
}

// Momentum sets the moving-average momentum of BatchNorm (default 0.99, as Keras).
func Momentum(m float32) Option {
	return func(c *config) {
		c.set |= optMomentum
		if !(m >= 0 && m <= 1) {
			c.fail("Momentum(%g): want a value in [0, 1]", m)
		}
		c.momentum = m
	}
}

// Epsilon sets the variance epsilon of BatchNorm (default 1e-3, as Keras).
func Epsilon(e float32) Option {
	return func(c *config) {
		c.set |= optEpsilon
		if !(e > 0) {
			c.fail("Epsilon(%g): want a positive value", e)
		}
		c.epsilon = e
	}
}

// configure applies opts over defaults and checks that only allowed options were given.
func configure(layer string, allowed optKind, opts []Option) (*config, error) {
	c := &config{sh: 1, sw: 1, padMode: "valid", init: GlorotUniform, biasInit: Zeros, momentum: 0.99, epsilon: 1e-3}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%s: nil option", layer)
		}
		o(c)
	}
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", layer, c.err)
	}
	if extra := c.set &^ allowed; extra != 0 {
		var names []string
		for k := optKind(1); k <= optEpsilon; k <<= 1 {
			if extra&k != 0 {
				names = append(names, optNames[k])
			}
		}
		return nil, fmt.Errorf("%s does not take option(s) %s", layer, strings.Join(names, ", "))
	}
	return c, nil
}
