package ssl_test

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
)

// synth is a synthetic labeled dataset of size×size RGB images in which orientation
// matters: every image has a bright bar along its top edge, over noise, and a colour
// patch that gives its class (red for class 0, green for 1, blue for 2, ...).
type synth struct {
	n, classes, size int
	pix              []uint8 // n × 3 × size × size, CHW
	labels           []int
	noFiller         bool
}

func newSynth(n, classes, size int, seed uint64) *synth {
	d := &synth{n: n, classes: classes, size: size, pix: make([]uint8, n*3*size*size), labels: make([]int, n)}
	rng := rand.New(rand.NewPCG(seed, 7))
	plane := size * size
	for i := 0; i < n; i++ {
		y := i % classes
		d.labels[i] = y
		img := d.pix[i*3*plane : (i+1)*3*plane]
		for k := range img {
			img[k] = uint8(rng.IntN(80))
		}
		// The orientation cue: a bright top bar, brighter at its left end.
		for x := 0; x < size; x++ {
			for c := 0; c < 3; c++ {
				img[c*plane+x] = uint8(255 - 10*x)
			}
		}
		// The class cue: a 3x3 patch of channel y%3 somewhere below the bar.
		py, px := 2+rng.IntN(size-4), rng.IntN(size-2)
		for dy := 0; dy < 3 && py+dy < size; dy++ {
			for dx := 0; dx < 3; dx++ {
				img[(y%3)*plane+(py+dy)*size+px+dx] = 230
			}
		}
	}
	return d
}

func (d *synth) Len() int        { return d.n }
func (d *synth) Label(i int) int { return d.labels[i] }
func (d *synth) Classes() []string {
	out := make([]string, d.classes)
	for i := range out {
		out[i] = fmt.Sprintf("class%d", i)
	}
	return out
}

func (d *synth) Image(i int) image.Image {
	s, plane := d.size, d.size*d.size
	img := image.NewRGBA(image.Rect(0, 0, s, s))
	p := d.pix[i*3*plane:]
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			k := y*s + x
			img.Set(x, y, color.RGBA{p[k], p[plane+k], p[2*plane+k], 255})
		}
	}
	return img
}

// withoutFiller hides the BatchFiller fast path, so that FillBatch goes through Image.
type withoutFiller struct{ d *synth }

func (w withoutFiller) Len() int                { return w.d.Len() }
func (w withoutFiller) Label(i int) int         { return w.d.Label(i) }
func (w withoutFiller) Classes() []string       { return w.d.Classes() }
func (w withoutFiller) Image(i int) image.Image { return w.d.Image(i) }

func (d *synth) Shape() (c, h, w int) { return 3, d.size, d.size }

func (d *synth) FillBatch(dst []float32, idx []int) error {
	per := 3 * d.size * d.size
	if len(dst) != len(idx)*per {
		return fmt.Errorf("synth: dst has %d values, want %d", len(dst), len(idx)*per)
	}
	for k, i := range idx {
		src := d.pix[i*per : (i+1)*per]
		out := dst[k*per : (k+1)*per]
		for j, v := range src {
			out[j] = float32(v) / 255
		}
	}
	return nil
}

// tinyNet is a small backbone for tests: conv-BN-ReLU-pool, then a dense layer.
type tinyNet struct {
	name     string
	features int
}

func (t tinyNet) Name() string {
	if t.name == "" {
		return "tiny"
	}
	return t.name
}

func (t tinyNet) Build(s *nn.Scope, x *G.Node) *G.Node {
	f := t.features
	if f == 0 {
		f = 16
	}
	h := nn.Conv2D(s.In("conv"), x, 8, nn.Kernel(3), nn.Padding("same"), nn.Init(nn.HeNormal), nn.L2(1e-4))
	h = nn.ReLU(s, nn.BatchNorm(s.In("bn"), h))
	h = nn.MaxPool2D(s, h, 2, 2)
	h = nn.Dense(s.In("fc"), nn.Flatten(s, h), f, nn.Init(nn.HeNormal))
	return nn.ReLU(s, nn.BatchNorm(s.In("fc_bn"), h))
}
