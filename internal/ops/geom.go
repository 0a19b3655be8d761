package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// ConvGeom is the geometry of a 2-D convolution in NCHW layout with a kernel laid out
// [O, C, KH, KW]. Padding may be asymmetric (Keras' "same" pads the extra row or column at
// the bottom/right).
type ConvGeom struct {
	N, C, H, W             int // input batch, channels, height, width
	O, KH, KW              int // output channels, kernel height and width
	SH, SW                 int // strides
	PadT, PadL, PadB, PadR int // zero padding on each side
	OH, OW                 int // output height and width
}

// Padding2D is explicit padding on the four sides of an image.
type Padding2D struct{ Top, Left, Bottom, Right int }

// SamePadding returns the padding Keras/TensorFlow use for padding="same" along one axis:
// the output has ceil(in/stride) positions and the odd pixel, if any, goes after.
func SamePadding(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := (out-1)*stride + k - in
	if total < 0 {
		total = 0
	}
	return total / 2, total - total/2
}

// NewConvGeom checks x [N,C,H,W] and w [O,C,KH,KW] and returns the geometry of their
// convolution with the given strides and padding.
func NewConvGeom(x, w tensor.Shape, sh, sw int, pad Padding2D) (ConvGeom, error) {
	if len(x) != 4 {
		return ConvGeom{}, fmt.Errorf("conv2d: input must be 4-D [N,C,H,W], got shape %v", x)
	}
	if len(w) != 4 {
		return ConvGeom{}, fmt.Errorf("conv2d: kernel must be 4-D [O,C,KH,KW], got shape %v", w)
	}
	if x[1] != w[1] {
		return ConvGeom{}, fmt.Errorf("conv2d: input has %d channels but kernel %v expects %d", x[1], w, w[1])
	}
	if sh < 1 || sw < 1 {
		return ConvGeom{}, fmt.Errorf("conv2d: strides must be positive, got %dx%d", sh, sw)
	}
	if pad.Top < 0 || pad.Left < 0 || pad.Bottom < 0 || pad.Right < 0 {
		return ConvGeom{}, fmt.Errorf("conv2d: negative padding %+v", pad)
	}
	for _, d := range append(x.Clone(), w...) {
		if d <= 0 {
			return ConvGeom{}, fmt.Errorf("conv2d: non-positive dimension in input %v or kernel %v", x, w)
		}
	}
	g := ConvGeom{N: x[0], C: x[1], H: x[2], W: x[3], O: w[0], KH: w[2], KW: w[3], SH: sh, SW: sw,
		PadT: pad.Top, PadL: pad.Left, PadB: pad.Bottom, PadR: pad.Right}
	hp, wp := g.H+g.PadT+g.PadB, g.W+g.PadL+g.PadR
	if hp < g.KH || wp < g.KW {
		return ConvGeom{}, fmt.Errorf("conv2d: kernel %dx%d larger than padded input %dx%d", g.KH, g.KW, hp, wp)
	}
	g.OH = (hp-g.KH)/g.SH + 1
	g.OW = (wp-g.KW)/g.SW + 1
	return g, nil
}

// XShape, WShape and YShape are the shapes of the input, kernel and output.
func (g *ConvGeom) XShape() tensor.Shape { return tensor.Shape{g.N, g.C, g.H, g.W} }

// WShape is the kernel shape [O, C, KH, KW].
func (g *ConvGeom) WShape() tensor.Shape { return tensor.Shape{g.O, g.C, g.KH, g.KW} }

// YShape is the output shape [N, O, OH, OW].
func (g *ConvGeom) YShape() tensor.Shape { return tensor.Shape{g.N, g.O, g.OH, g.OW} }

func (g *ConvGeom) String() string {
	return fmt.Sprintf("%dx%d/%dx%d pad(%d,%d,%d,%d)", g.KH, g.KW, g.SH, g.SW, g.PadT, g.PadL, g.PadB, g.PadR)
}

// PoolGeom is the geometry of a 2-D max pooling in NCHW layout; padded positions never win.
type PoolGeom struct {
	N, C, H, W             int
	KH, KW, SH, SW         int
	PadT, PadL, PadB, PadR int
	OH, OW                 int
}

// NewPoolGeom checks x [N,C,H,W] and returns the geometry of a kh×kw pooling.
func NewPoolGeom(x tensor.Shape, kh, kw, sh, sw int, pad Padding2D) (PoolGeom, error) {
	if len(x) != 4 {
		return PoolGeom{}, fmt.Errorf("maxpool2d: input must be 4-D [N,C,H,W], got shape %v", x)
	}
	if kh < 1 || kw < 1 || sh < 1 || sw < 1 {
		return PoolGeom{}, fmt.Errorf("maxpool2d: pool %dx%d and strides %dx%d must be positive", kh, kw, sh, sw)
	}
	if pad.Top < 0 || pad.Left < 0 || pad.Bottom < 0 || pad.Right < 0 || pad.Top >= kh || pad.Bottom >= kh || pad.Left >= kw || pad.Right >= kw {
		return PoolGeom{}, fmt.Errorf("maxpool2d: padding %+v must be non-negative and smaller than the pool %dx%d", pad, kh, kw)
	}
	for _, d := range x {
		if d <= 0 {
			return PoolGeom{}, fmt.Errorf("maxpool2d: non-positive dimension in input %v", x)
		}
	}
	g := PoolGeom{N: x[0], C: x[1], H: x[2], W: x[3], KH: kh, KW: kw, SH: sh, SW: sw,
		PadT: pad.Top, PadL: pad.Left, PadB: pad.Bottom, PadR: pad.Right}
	hp, wp := g.H+g.PadT+g.PadB, g.W+g.PadL+g.PadR
	if hp < kh || wp < kw {
		return PoolGeom{}, fmt.Errorf("maxpool2d: pool %dx%d larger than padded input %dx%d", kh, kw, hp, wp)
	}
	g.OH = (hp-kh)/sh + 1
	g.OW = (wp-kw)/sw + 1
	return g, nil
}

func (g *PoolGeom) String() string {
	return fmt.Sprintf("%dx%d/%dx%d pad(%d,%d,%d,%d)", g.KH, g.KW, g.SH, g.SW, g.PadT, g.PadL, g.PadB, g.PadR)
}
