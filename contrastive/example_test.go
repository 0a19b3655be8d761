package contrastive_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"math/rand/v2"

	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/contrastive"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/ssl"
)

// squares is a toy data set of 16×16 RGB images: a bright square at a random place, red
// (class 0) or blue (class 1), over grey noise.
type squares struct {
	n    int
	seed uint64
}

func (d squares) Len() int          { return d.n }
func (d squares) Label(i int) int   { return i % 2 }
func (d squares) Classes() []string { return []string{"red", "blue"} }
func (d squares) Image(i int) image.Image {
	rng := rand.New(rand.NewPCG(d.seed, uint64(i)))
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	x0, y0 := rng.IntN(8), rng.IntN(8)
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			g := uint8(60 + rng.IntN(60))
			c := color.RGBA{g, g, g, 255}
			if x >= x0 && x < x0+8 && y >= y0 && y < y0+8 {
				if i%2 == 0 {
					c = color.RGBA{230, 40, 40, 255}
				} else {
					c = color.RGBA{40, 40, 230, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// SimCLR pretraining, then the kNN evaluation of the representations: embed the labeled
// images and the test images with the pretrained encoder and classify each test image by
// its nearest labeled neighbours. Nothing is fine-tuned.
func Example() {
	ctx := context.Background()
	unlabeled, labeled, test := squares{n: 256, seed: 1}, squares{n: 64, seed: 2}, squares{n: 64, seed: 3}

	net := backbone.Must(backbone.ConvNet(backbone.Filters(8, 16)))
	task := contrastive.SimCLR(contrastive.Projector(64, 32)) // small head for a toy run
	enc, err := ssl.New(net, ssl.Seed(1), ssl.BatchSize(32), ssl.Logger(slog.New(slog.DiscardHandler))).
		Pretrain(task, unlabeled, ssl.Epochs(3), ssl.ConstantLR(), ssl.LearningRate(3e-3)).
		Encoder(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	bank, err := enc.Embed(ctx, labeled) // one row of features per image
	if err != nil {
		fmt.Println(err)
		return
	}
	queries, err := enc.Embed(ctx, test)
	if err != nil {
		fmt.Println(err)
		return
	}
	knn, err := embedding.NewKNN(bank, ssl.Labels(labeled), 2, embedding.Neighbors(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	acc, err := knn.Accuracy(queries, ssl.Labels(test))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("task:", task.Name())
	fmt.Println("features per image:", bank.Dim())
	fmt.Println("kNN accuracy above 0.9:", acc > 0.9)
	// Output:
	// task: simclr-t0.2-proj64x32-simclr-cifar
	// features per image: 16
	// kNN accuracy above 0.9: true
}
