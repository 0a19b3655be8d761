// Command contrastiveknn pretrains ResNet20 v1 with a contrastive method on the 50,000
// CIFAR-10 training images (labels ignored) and reports the kNN accuracy (k = 200,
// t = 0.1) of the 10,000 test images voted on by the training images' embeddings, the
// evaluation of lightly's and solo-learn's benchmarks. The recipe is solo-learn's CIFAR
// one: SGD with momentum 0.9 and weight decay 5e-4, learning rate 0.06 x batch/128 with a
// cosine decay over the run, batch 256, the method's own augmentation (SimCLR's: crop
// 0.08-1, colour jitter 0.4/0.4/0.4/0.1 at 0.8, grayscale 0.2, flip).
//
//	go run ./examples/contrastiveknn -data ../shared/data/cifar-10-binary.tar.gz -method simclr -epochs 4
//
// It also prints the kNN accuracy of the same network with random weights, and writes the
// encoder to -out (a PretrainedFile that ssl.LoadEncoder reads).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/contrastive"
	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/optim"
	"github.com/selfsup/selfsup/ssl"
)

var methods = map[string]func() ssl.PretextTask{
	"simclr":      func() ssl.PretextTask { return contrastive.SimCLR() },
	"simsiam":     func() ssl.PretextTask { return contrastive.SimSiam() },
	"byol":        func() ssl.PretextTask { return contrastive.BYOL() },
	"nnclr":       func() ssl.PretextTask { return contrastive.NNCLR() },
	"mocov2":      func() ssl.PretextTask { return contrastive.MoCoV2() },
	"barlowtwins": func() ssl.PretextTask { return contrastive.BarlowTwins() },
	"vicreg":      func() ssl.PretextTask { return contrastive.VICReg() },
}

func main() {
	data := flag.String("data", "../shared/data/cifar-10-binary.tar.gz", "CIFAR-10 binary archive or folder")
	method := flag.String("method", "simclr", "simclr, simsiam, byol, nnclr, mocov2, barlowtwins or vicreg")
	epochs := flag.Int("epochs", 4, "pretraining epochs")
	batch := flag.Int("batch", 256, "source images per step")
	seed := flag.Uint64("seed", 1, "seed")
	out := flag.String("out", "", "checkpoint directory (resumable; empty: none)")
	flag.Parse()
	mk, ok := methods[*method]
	if !ok {
		log.Fatalf("-method %q: unknown", *method)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	train, test, err := datasets.CIFAR10TrainTest(*data)
	check(err)
	b := backbone.Must(backbone.ResNetV1(20))
	lr := float32(0.06 * float64(*batch) / 128)
	opts := []ssl.Option{ssl.Seed(*seed), ssl.BatchSize(*batch), ssl.LearningRate(lr),
		ssl.Optimizer("sgd-m0.9-wd5e-4", func() (optim.Optimizer, error) {
			return optim.NewSGD(optim.Momentum(0.9), optim.WeightDecay(5e-4))
		}),
		ssl.Schedule("cosine", func(lr float32, epochs, steps int) (optim.Schedule, error) {
			return optim.Cosine(lr, 0, epochs*steps, 0)
		}),
		ssl.Logger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	if *out != "" {
		opts = append(opts, ssl.CheckpointDir(*out))
	}
	enc, err := ssl.New(b, opts...).Pretrain(mk(), train, ssl.Epochs(*epochs), ssl.ValidationFraction(0)).Encoder(ctx)
	check(err)
	pre := time.Since(t0)
	random, err := ssl.RandomEncoder(ctx, b, train, *seed)
	check(err)
	fmt.Printf("%s, %d epochs, batch %d: kNN accuracy %.4f (random weights %.4f); pretraining %s, in all %s\n",
		*method, *epochs, *batch, knn(ctx, enc, train, test), knn(ctx, random, train, test), pre.Round(time.Second), time.Since(t0).Round(time.Second))
}

// knn is the kNN accuracy of test voted on by train, both embedded by enc.
func knn(ctx context.Context, enc *ssl.Encoder, train, test ssl.Dataset) float64 {
	tr, err := enc.Embed(ctx, train)
	check(err)
	te, err := enc.Embed(ctx, test)
	check(err)
	k, err := embedding.NewKNN(tr, ssl.Labels(train), len(train.Classes()))
	check(err)
	acc, err := k.AccuracyContext(ctx, te, ssl.Labels(test))
	check(err)
	return acc
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
