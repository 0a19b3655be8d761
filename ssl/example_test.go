package ssl_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// flipTask is a pretext task written outside the library: predict whether the image was
// mirrored left to right. It is all a new task needs: a name, how many network inputs an
// image becomes, the targets' shape, how to make inputs and targets, and a head with a loss
// (plus, optionally, a score for choosing the best epoch).
type flipTask struct{}

func (flipTask) Name() string            { return "flip" }
func (flipTask) Views() int              { return 1 }
func (flipTask) TargetShape(n int) []int { return []int{n} }

// Prepare mirrors a random half of the images; the target says which. The images come
// raw, in [0, 1]; Normalize centres each input as the network expects.
func (flipTask) Prepare(b *ssl.Batch) error {
	for i := 0; i < b.N; i++ {
		src, dst := b.Image(i), b.Input(0, i)
		flip := b.Rand.IntN(2)
		for row := 0; row < b.C*b.H; row++ {
			s, d := src[row*b.W:(row+1)*b.W], dst[row*b.W:(row+1)*b.W]
			for x := range d {
				if flip == 1 {
					d[x] = s[b.W-1-x]
				} else {
					d[x] = s[x]
				}
			}
		}
		b.NormalizeImage(i, dst)
		b.Targets[i] = float32(flip)
	}
	return nil
}

// Head is a two-way classifier on the backbone's features.
func (flipTask) Head(h *ssl.HeadInput) (loss, output *G.Node) {
	logits := nn.Dense(h.Scope.In("flip"), h.Features, 2)
	return nn.SoftmaxCrossEntropy(h.Scope, logits, h.Targets), logits
}

// Score is the accuracy of the flip predictions.
func (flipTask) Score(output, targets []float32, g ssl.Geometry) float64 {
	return ssl.Accuracy(output, targets, g)
}

// ramps is a toy dataset of 8x8 images: a horizontal ramp, bright on the left, in red
// (class 0) or blue (class 1), over grey noise.
type ramps struct {
	n    int
	seed uint64
}

func (d ramps) Len() int          { return d.n }
func (d ramps) Label(i int) int   { return i % 2 }
func (d ramps) Classes() []string { return []string{"red", "blue"} }
func (d ramps) Image(i int) image.Image {
	rng := rand.New(rand.NewPCG(d.seed, uint64(i)))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			g := uint8(rng.IntN(60))
			c := color.RGBA{g, g, g, 255}
			if i%2 == 0 {
				c.R = uint8(255 - 30*x)
			} else {
				c.B = uint8(255 - 30*x)
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// smallNet is a toy backbone: conv, batch norm, ReLU, pooling, dense.
type smallNet struct{}

func (smallNet) Name() string { return "smallnet" }
func (smallNet) Build(s *nn.Scope, x *G.Node) *G.Node {
	h := nn.Conv2D(s.In("conv"), x, 8, nn.Kernel(3), nn.Padding("same"), nn.Init(nn.HeNormal))
	h = nn.MaxPool2D(s, nn.ReLU(s, nn.BatchNorm(s.In("bn"), h)), 2, 2)
	return nn.ReLU(s, nn.Dense(s.In("fc"), nn.Flatten(s, h), 16, nn.Init(nn.HeNormal)))
}

// A caller's own pretext task, pretrained, transferred and compared with the supervised
// baseline over two label budgets.
func Example_customPretextTask() {
	unlabeled, test := ramps{n: 256, seed: 1}, ramps{n: 100, seed: 2}
	report, err := ssl.New(smallNet{}, ssl.Seed(1), ssl.BatchSize(32)).
		Pretrain(flipTask{}, unlabeled, ssl.Epochs(3), ssl.ConstantLR(), ssl.LearningRate(3e-3)).
		Transfer(ssl.FineTune(ssl.Epochs(3))).
		CompareSupervised().
		Evaluate(context.Background(), unlabeled, test, folds.Stratified(16, 32).WithRuns(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	last := report.Pretrain.Epochs[len(report.Pretrain.Epochs)-1]
	fmt.Println("pretext task:", report.Task)
	fmt.Println("flips recognised well above chance:", last.ValScore > 0.75)
	fmt.Println("runs:", len(report.Runs))

	var md strings.Builder
	if err := report.WriteMarkdown(&md); err != nil {
		fmt.Println(err)
		return
	}
	lines := strings.Split(md.String(), "\n")
	fmt.Println(lines[2])
	for _, l := range lines[4:7] {
		fmt.Println("row:", strings.TrimSpace(strings.Split(l, "|")[1]))
	}
	// Output:
	// pretext task: flip
	// flips recognised well above chance: true
	// runs: 8
	// | n_labels | 16 | 32 |
	// row: SL
	// row: SSL+SL
	// row: gain
}
