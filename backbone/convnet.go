package backbone

import (
	"fmt"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// ConvNetwork is a small plain convolutional encoder (see ConvNet). Its methods implement
// ssl.Backbone.
type ConvNetwork struct {
	cfg  config
	name string
}

var _ ssl.Backbone = (*ConvNetwork)(nil)

// ConvNet returns a small, fast encoder for small images and quick experiments: one
// block per filter count (default 32, 64, 128), each a 3×3 "same" convolution (bias,
// he_normal, L2 1e-4), BatchNorm and ReLU, with a 2×2 max pool of stride 2 ("same":
// odd sizes round up) between blocks, then global average pooling: features
// [N, last filter count]. The default has 93,696 trainable and 448 non-trainable
// parameters; on 32×32 images its last block sees 8×8 maps.
//
// Parameter names are "block{i}/conv/kernel", "block{i}/conv/bias", "block{i}/bn/gamma", ...
//
// Options: Filters (32, 64, 128), L2 (1e-4), KernelInit (nn.HeNormal), InputChannels.
// Name is "convnet-" and the filter counts joined by "-": "convnet-32-64-128".
func ConvNet(opts ...Option) (*ConvNetwork, error) {
	cfg := config{l2: 1e-4, kernelInit: nn.HeNormal, filters: []int{32, 64, 128}}
	if err := configure("ConvNet", &cfg, optFilters|optL2|optKernelInit|optInputChannels, opts); err != nil {
		return nil, err
	}
	parts := make([]string, len(cfg.filters))
	for i, f := range cfg.filters {
		parts[i] = strconv.Itoa(f)
	}
	return &ConvNetwork{cfg: cfg, name: "convnet-" + strings.Join(parts, "-")}, nil
}

// Name is "convnet-" and the filter counts, e.g. "convnet-32-64-128".
func (c *ConvNetwork) Name() string { return c.name }

// Features is the width of the features Build returns: the last block's filter count.
func (c *ConvNetwork) Features() int { return c.cfg.filters[len(c.cfg.filters)-1] }

// Build adds the encoder to s's graph for the NCHW float32 batch x and returns its
// features [N, Features()]; see ResNet.Build for parameters, training and errors.
func (c *ConvNetwork) Build(s *nn.Scope, x *G.Node) *G.Node {
	if !checkInput(s, c.name, x, c.cfg.inChannels) {
		return nil
	}
	h := x
	for i, f := range c.cfg.filters {
		if i > 0 {
			h = nn.MaxPool2D(s, h, 2, 2, nn.Padding("same"))
		}
		b := s.In(fmt.Sprintf("block%d", i))
		h = nn.Conv2D(b.In("conv"), h, f, c.cfg.convOpts(3, 1, nn.Padding("same"))...)
		h = nn.ReLU(s, nn.BatchNorm(b.In("bn"), h))
	}
	return nn.GlobalAvgPool(s, h)
}
