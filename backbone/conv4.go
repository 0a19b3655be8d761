package backbone

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// Conv4Network is the encoder of the Keras SimCLR and NNCLR examples on STL-10 (see
// Conv4x128). Its methods implement ssl.Backbone.
type Conv4Network struct {
	cfg config
}

var _ ssl.Backbone = (*Conv4Network)(nil)

// conv4Width is the filter count and feature width of the Keras examples' encoder.
const conv4Width = 128

// Conv4x128 returns the encoder of the Keras SimCLR ("Semi-supervised image
// classification using contrastive pretraining with SimCLR") and NNCLR examples, which
// the seed's STL-10 runs used: four 3×3 convolutions of 128 filters with stride 2, no
// padding, bias and ReLU (no batch norm), then Flatten and Dense(128) with ReLU; features
// [N, 128]. Weights start as Keras' defaults (glorot_uniform kernels, zero biases), with
// no L2 penalty. On 96×96 images the maps are 47, 23, 11 and 5 pixels wide, and the
// dense layer has 3,200 inputs; the input must be at least 31×31.
//
// Parameter names are "conv{i}/kernel", "conv{i}/bias", "dense/kernel", "dense/bias".
// Options: L2 (none), KernelInit (nn.GlorotUniform), InputChannels. Name is "conv4x128".
func Conv4x128(opts ...Option) (*Conv4Network, error) {
	cfg := config{kernelInit: nn.GlorotUniform}
	if err := configure("Conv4x128", &cfg, optL2|optKernelInit|optInputChannels, opts); err != nil {
		return nil, err
	}
	return &Conv4Network{cfg: cfg}, nil
}

// Name is "conv4x128".
func (c *Conv4Network) Name() string { return "conv4x128" }

// Features is the width of the features Build returns, 128.
func (c *Conv4Network) Features() int { return conv4Width }

// Build adds the encoder to s's graph for the NCHW float32 batch x and returns its
// features [N, 128]; see ResNet.Build for parameters, training and errors.
func (c *Conv4Network) Build(s *nn.Scope, x *G.Node) *G.Node {
	if !checkInput(s, c.Name(), x, c.cfg.inChannels) {
		return nil
	}
	h := x
	for i := range 4 {
		if sz := h.Shape(); sz[2] < 3 || sz[3] < 3 {
			s.Fail(fmt.Errorf("backbone %s: input %v is too small: convolution %d sees %dx%d maps (the input must be at least 31x31)", c.Name(), x.Shape(), i+1, sz[2], sz[3]))
			return nil
		}
		h = nn.ReLU(s, nn.Conv2D(s.In(fmt.Sprintf("conv%d", i)), h, conv4Width, c.cfg.convOpts(3, 2)...))
	}
	return nn.ReLU(s, nn.Dense(s.In("dense"), nn.Flatten(s, h), conv4Width, c.cfg.denseOpts()...))
}
