package backbone

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// family tells the ResNet layouts apart.
type family uint8

const (
	cifarV1    family = iota + 1 // Keras' cifar10_resnet resnet_v1
	cifarV2                      // Keras' cifar10_resnet resnet_v2
	imagenetV2                   // keras.applications ResNet50V2
)

// ResNet is a residual network backbone: ResNetV1 and ResNetV2 build the CIFAR-10
// networks of the Keras example, ResNet50V2 the ImageNet-style network of Keras
// applications. Its methods implement ssl.Backbone. A ResNet holds only its
// configuration; the weights live in the nn.Params of the scope it is built in.
type ResNet struct {
	fam    family
	depth  int
	blocks []int // residual blocks per stage
	cfg    config
	name   string
}

var _ ssl.Backbone = (*ResNet)(nil)

// ResNetV1 returns Keras' resnet_v1 from the cifar10_resnet example (He et al. 2015,
// CIFAR variant) of the given depth, which must be 6n+2 (8, 14, 20, 32, 44, 56, 110, ...).
//
// Layout, all convolutions 3×3 with "same" padding (TensorFlow's split: the odd pixel
// after), bias, he_normal kernels and L2 1e-4:
//
//	stem        conv(16) BN ReLU
//	stack0..2   n blocks each, 16, 32, 64 filters; block0 of stack1 and stack2 has stride 2
//	  block     conv1 BN1 ReLU conv2 BN2, plus a 1×1 conv "shortcut" (bias, no BN) on
//	            the input when the stride or the width changes; add; ReLU
//	features    global average pooling: [N, 64]
//
// (The Keras example ends with AveragePooling2D(8), the same thing on 32×32 images;
// global pooling also serves other sizes.) BatchNorm has Keras' momentum 0.99 and
// epsilon 1e-3. Parameter names are "stem/conv/kernel", "stem/bn/gamma", ...,
// "stack{s}/block{b}/conv1/kernel", "stack{s}/block{b}/bn1/moving_mean", ...,
// "stack{s}/block{b}/shortcut/bias". ResNetV1(20) has 272,416 trainable and 1,376
// non-trainable parameters; with a 10-class Dense head, 273,066 trainable, as Keras
// counts them.
//
// Options: BaseFilters (16), L2 (1e-4), KernelInit (nn.HeNormal), InputChannels.
// Name is "resnet{depth}v1", with "-w{filters}" for a non-default BaseFilters.
func ResNetV1(depth int, opts ...Option) (*ResNet, error) {
	cfg := config{baseFilters: 16, l2: 1e-4, kernelInit: nn.HeNormal}
	if err := configure("ResNetV1", &cfg, optBaseFilters|optL2|optKernelInit|optInputChannels, opts); err != nil {
		return nil, err
	}
	if depth < 8 || (depth-2)%6 != 0 {
		return nil, fmt.Errorf("backbone.ResNetV1: depth %d is not 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...)", depth)
	}
	n := (depth - 2) / 6
	r := &ResNet{fam: cifarV1, depth: depth, blocks: []int{n, n, n}, cfg: cfg}
	r.name = fmt.Sprintf("resnet%dv1", depth)
	if cfg.baseFilters != 16 {
		r.name += fmt.Sprintf("-w%d", cfg.baseFilters)
	}
	return r, nil
}

// ResNetV2 returns Keras' resnet_v2 from the cifar10_resnet example (He et al. 2016,
// "Identity Mappings", pre-activation bottleneck blocks) of the given depth, which must
// be 9n+2 (11, 20, 29, 56, 110, 164, ...). It is meant for small (32×32) images; see
// ResNet50V2 for larger ones.
//
// Layout, with f = BaseFilters (16), "same" padding, bias, he_normal kernels, L2 1e-4:
//
//	stem        conv3×3(f) BN ReLU
//	stack0..2   n bottleneck blocks each; the block's inner width is f, 4f, 8f and its
//	            output 4f, 8f, 16f; block0 of stack1 and stack2 has stride 2 (on conv1)
//	  block     bn1 ReLU conv1 (1×1), bn2 ReLU conv2 (3×3), bn3 ReLU conv3 (1×1); block0
//	            adds a 1×1 conv "shortcut" (bias, no BN) of the block's input, the others
//	            the input itself. Block0 of stack0 has no bn1/ReLU: the stem's come just
//	            before it.
//	post_bn     BN ReLU
//	features    global average pooling: [N, 16f] = [N, 256]
//
// Parameter names are "stem/conv/kernel", "stack{s}/block{b}/bn1/gamma", ...,
// "stack{s}/block{b}/conv3/kernel", "stack{s}/block{b}/shortcut/kernel",
// "post_bn/moving_variance". ResNetV2(56) with a 10-class Dense head has 1,663,338
// trainable and 10,400 non-trainable parameters (1,673,738 in all).
//
// Options: BaseFilters (16), L2 (1e-4), KernelInit (nn.HeNormal), InputChannels.
// Name is "resnet{depth}v2", with "-w{filters}" for a non-default BaseFilters.
func ResNetV2(depth int, opts ...Option) (*ResNet, error) {
	cfg := config{baseFilters: 16, l2: 1e-4, kernelInit: nn.HeNormal}
	if err := configure("ResNetV2", &cfg, optBaseFilters|optL2|optKernelInit|optInputChannels, opts); err != nil {
		return nil, err
	}
	if depth < 11 || (depth-2)%9 != 0 {
		return nil, fmt.Errorf("backbone.ResNetV2: depth %d is not 9n+2 with n >= 1 (11, 20, 29, 56, 110, 164, ...)", depth)
	}
	n := (depth - 2) / 9
	r := &ResNet{fam: cifarV2, depth: depth, blocks: []int{n, n, n}, cfg: cfg}
	r.name = fmt.Sprintf("resnet%dv2", depth)
	if cfg.baseFilters != 16 {
		r.name += fmt.Sprintf("-w%d", cfg.baseFilters)
	}
	return r, nil
}

// ResNet50V2 returns the ResNet50V2 of Keras applications without its top (include_top=False,
// pooling="avg"): the pre-activation bottleneck ResNet-50 for ImageNet-sized images, used
// here for 96×96 STL-10 images.
//
// Layout, with f = BaseFilters (64):
//
//	stem        conv7×7(f), stride 2, padding 3, bias; max pool 3×3, stride 2, padding 1
//	stack0..3   3, 4, 6, 3 bottleneck blocks of inner width f, 2f, 4f, 8f and output 4× that;
//	            the last block of stack0..2 has stride 2 (on conv2), stack3 keeps its size
//	  block     preact_bn ReLU, then conv1 (1×1, no bias) bn1 ReLU, conv2 (3×3, padding 1,
//	            no bias) bn2 ReLU, conv3 (1×1, bias); block0 adds a 1×1 conv "shortcut"
//	            (bias) of the pre-activated input, a strided block the input subsampled
//	            (a 1×1 max pool), the others the input itself
//	post_bn     BN ReLU
//	features    global average pooling: [N, 32f] = [N, 2048]
//
// BatchNorm epsilon is 1.001e-5, as in Keras applications. Kernels are glorot_uniform
// and not regularized by default (Keras' defaults). It has 23,519,360 trainable and
// 45,440 non-trainable parameters, 23,564,800 in all, as Keras' ResNet50V2(include_top=False).
// On 96×96 inputs the last feature map is 3×3; on 32×32 it is 1×1.
//
// One difference from Keras: the stem's max pool never lets a padded position win, where
// Keras pads with zeros before pooling (so a zero wins over a window of negative
// values at the border). It changes no parameter and only border values.
//
// Parameter names are "stem/conv/kernel", "stack{s}/block{b}/preact_bn/gamma",
// "stack{s}/block{b}/conv1/kernel", "stack{s}/block{b}/bn1/beta", ...,
// "stack{s}/block{b}/shortcut/bias", "post_bn/gamma".
//
// Options: BaseFilters (64), L2 (0), KernelInit (nn.GlorotUniform), InputChannels.
// Name is "resnet50v2", with "-w{filters}" for a non-default BaseFilters.
func ResNet50V2(opts ...Option) (*ResNet, error) {
	cfg := config{baseFilters: 64, l2: 0, kernelInit: nn.GlorotUniform}
	if err := configure("ResNet50V2", &cfg, optBaseFilters|optL2|optKernelInit|optInputChannels, opts); err != nil {
		return nil, err
	}
	r := &ResNet{fam: imagenetV2, depth: 50, blocks: []int{3, 4, 6, 3}, cfg: cfg, name: "resnet50v2"}
	if cfg.baseFilters != 64 {
		r.name += fmt.Sprintf("-w%d", cfg.baseFilters)
	}
	return r, nil
}

// Name identifies the architecture: "resnet20v1", "resnet56v2", "resnet50v2", with
// "-w{filters}" appended for a non-default BaseFilters.
func (r *ResNet) Name() string { return r.name }

// Depth is the number of weighted layers the name counts (20 for ResNetV1(20)).
func (r *ResNet) Depth() int { return r.depth }

// Features is the width F of the [N, F] features Build returns: 4·BaseFilters for
// ResNetV1 (64), 16·BaseFilters for ResNetV2 (256), 32·BaseFilters for ResNet50V2 (2048).
func (r *ResNet) Features() int {
	switch r.fam {
	case cifarV1:
		return 4 * r.cfg.baseFilters
	case cifarV2:
		return 16 * r.cfg.baseFilters
	default:
		return 32 * r.cfg.baseFilters
	}
}

// Build adds the network to s's graph for the NCHW float32 batch x and returns its
// features, [N, Features()]. Parameters are created in s's Params on first use (named
// as the constructor documents, under s's prefix) and shared by later builds. In a
// training scope BatchNorm uses batch statistics and updates its moving statistics
// each time the graph runs; in an inference scope it uses the moving statistics.
// An input that is not [N,C,H,W], or whose C differs from InputChannels, is recorded as
// an error in s, as is any error of the layers; Build then returns nil.
func (r *ResNet) Build(s *nn.Scope, x *G.Node) *G.Node {
	if !checkInput(s, r.name, x, r.cfg.inChannels) {
		return nil
	}
	switch r.fam {
	case cifarV1:
		return r.buildV1(s, x)
	case cifarV2:
		return r.buildCIFARV2(s, x)
	default:
		return r.buildImageNetV2(s, x)
	}
}

// checkInput records an error in s unless x is a 4-D float32 node with the expected
// number of channels (any when want is 0).
func checkInput(s *nn.Scope, name string, x *G.Node, want int) bool {
	if s.Failed(x) {
		return false
	}
	sh := x.Shape()
	if sh.Dims() != 4 {
		s.Fail(fmt.Errorf("backbone %s: input must be an NCHW batch [N,C,H,W], got shape %v", name, sh))
		return false
	}
	if x.Dtype() != tensor.Float32 {
		s.Fail(fmt.Errorf("backbone %s: input has dtype %v, want float32", name, x.Dtype()))
		return false
	}
	for i, d := range sh {
		if d < 1 {
			s.Fail(fmt.Errorf("backbone %s: input shape %v has a non-positive dimension %d", name, sh, i))
			return false
		}
	}
	if want > 0 && sh[1] != want {
		s.Fail(fmt.Errorf("backbone %s: input has %d channels (shape %v), want %d (InputChannels)", name, sh[1], sh, want))
		return false
	}
	return true
}

func blockScope(s *nn.Scope, stack, block int) *nn.Scope {
	return s.In(fmt.Sprintf("stack%d", stack)).In(fmt.Sprintf("block%d", block))
}

func (r *ResNet) buildV1(s *nn.Scope, x *G.Node) *G.Node {
	c := &r.cfg
	same := nn.Padding("same")
	st := s.In("stem")
	h := nn.ReLU(s, nn.BatchNorm(st.In("bn"), nn.Conv2D(st.In("conv"), x, c.baseFilters, c.convOpts(3, 1, same)...)))
	width := c.baseFilters
	for stack, n := range r.blocks {
		filters := c.baseFilters << stack
		for block := range n {
			stride := 1
			if stack > 0 && block == 0 {
				stride = 2
			}
			b := blockScope(s, stack, block)
			y := nn.Conv2D(b.In("conv1"), h, filters, c.convOpts(3, stride, same)...)
			y = nn.ReLU(s, nn.BatchNorm(b.In("bn1"), y))
			y = nn.Conv2D(b.In("conv2"), y, filters, c.convOpts(3, 1, same)...)
			y = nn.BatchNorm(b.In("bn2"), y)
			shortcut := h
			if stride != 1 || width != filters {
				shortcut = nn.Conv2D(b.In("shortcut"), h, filters, c.convOpts(1, stride, same)...)
			}
			h = nn.ReLU(s, nn.Add(s, shortcut, y))
			width = filters
		}
	}
	return nn.GlobalAvgPool(s, h)
}

func (r *ResNet) buildCIFARV2(s *nn.Scope, x *G.Node) *G.Node {
	c := &r.cfg
	same := nn.Padding("same")
	st := s.In("stem")
	h := nn.ReLU(s, nn.BatchNorm(st.In("bn"), nn.Conv2D(st.In("conv"), x, c.baseFilters, c.convOpts(3, 1, same)...)))
	in := c.baseFilters // the bottleneck width of the current stack
	for stack, n := range r.blocks {
		out := 2 * in
		if stack == 0 {
			out = 4 * in
		}
		for block := range n {
			stride := 1
			if stack > 0 && block == 0 {
				stride = 2
			}
			b := blockScope(s, stack, block)
			y := h
			if stack > 0 || block > 0 {
				y = nn.ReLU(s, nn.BatchNorm(b.In("bn1"), y))
			}
			y = nn.Conv2D(b.In("conv1"), y, in, c.convOpts(1, stride, same)...)
			y = nn.ReLU(s, nn.BatchNorm(b.In("bn2"), y))
			y = nn.Conv2D(b.In("conv2"), y, in, c.convOpts(3, 1, same)...)
			y = nn.ReLU(s, nn.BatchNorm(b.In("bn3"), y))
			y = nn.Conv2D(b.In("conv3"), y, out, c.convOpts(1, 1, same)...)
			shortcut := h
			if block == 0 {
				shortcut = nn.Conv2D(b.In("shortcut"), h, out, c.convOpts(1, stride, same)...)
			}
			h = nn.Add(s, shortcut, y)
		}
		in = out
	}
	h = nn.ReLU(s, nn.BatchNorm(s.In("post_bn"), h))
	return nn.GlobalAvgPool(s, h)
}

// imagenetEps is the BatchNorm epsilon of Keras applications' ResNets.
const imagenetEps = 1.001e-5

func (r *ResNet) buildImageNetV2(s *nn.Scope, x *G.Node) *G.Node {
	c := &r.cfg
	bn := func(sc *nn.Scope, h *G.Node) *G.Node { return nn.BatchNorm(sc, h, nn.Epsilon(imagenetEps)) }
	h := nn.Conv2D(s.In("stem").In("conv"), x, c.baseFilters, c.convOpts(7, 2, nn.ExplicitPadding(3, 3, 3, 3))...)
	h = nn.MaxPool2D(s, h, 3, 2, nn.ExplicitPadding(1, 1, 1, 1))
	for stack, n := range r.blocks {
		filters := c.baseFilters << stack
		for block := range n {
			stride := 1
			if block == n-1 && stack < len(r.blocks)-1 {
				stride = 2
			}
			b := blockScope(s, stack, block)
			pre := nn.ReLU(s, bn(b.In("preact_bn"), h))
			var shortcut *G.Node
			switch {
			case block == 0:
				shortcut = nn.Conv2D(b.In("shortcut"), pre, 4*filters, c.convOpts(1, stride)...)
			case stride > 1:
				shortcut = nn.MaxPool2D(s, h, 1, stride)
			default:
				shortcut = h
			}
			y := nn.Conv2D(b.In("conv1"), pre, filters, c.convOpts(1, 1, nn.NoBias())...)
			y = nn.ReLU(s, bn(b.In("bn1"), y))
			y = nn.Conv2D(b.In("conv2"), y, filters, c.convOpts(3, stride, nn.NoBias(), nn.ExplicitPadding(1, 1, 1, 1))...)
			y = nn.ReLU(s, bn(b.In("bn2"), y))
			y = nn.Conv2D(b.In("conv3"), y, 4*filters, c.convOpts(1, 1)...)
			h = nn.Add(s, shortcut, y)
		}
	}
	h = nn.ReLU(s, bn(s.In("post_bn"), h))
	return nn.GlobalAvgPool(s, h)
}
