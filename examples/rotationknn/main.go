// Command rotationknn compares the kNN accuracy (k = 200, t = 0.1) of a randomly
// initialised ConvNet with that of the same network after rotation pretraining, on the
// embedded default data (16x16 CIFAR-10: 5,000 training images vote for the classes of
// 1,000 test images), for seeds 1 and 2:
//
//	go run ./examples/rotationknn 40    # 40 pretraining epochs
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strconv"

	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

func main() {
	ctx := context.Background()
	epochs := 40
	if len(os.Args) > 1 {
		var err error
		if epochs, err = strconv.Atoi(os.Args[1]); err != nil || epochs < 1 {
			log.Fatalf("epochs %q: want a positive whole number", os.Args[1])
		}
	}
	train, err := datasets.Default(datasets.Train)
	check(err)
	test, err := datasets.Default(datasets.Test)
	check(err)
	b := backbone.Must(backbone.ConvNet())
	knn := func(enc *ssl.Encoder) float64 {
		tr, err := enc.Embed(ctx, train)
		check(err)
		te, err := enc.Embed(ctx, test)
		check(err)
		k, err := embedding.NewKNN(tr, ssl.Labels(train), len(train.Classes()))
		check(err)
		a, err := k.Accuracy(te, ssl.Labels(test))
		check(err)
		return a
	}
	quiet := ssl.Logger(slog.New(slog.DiscardHandler))
	for seed := uint64(1); seed <= 2; seed++ {
		r, err := ssl.RandomEncoder(ctx, b, train, seed)
		check(err)
		enc, err := ssl.New(b, ssl.Seed(seed), quiet).Pretrain(pretext.Rotation(), train, ssl.Epochs(epochs)).Encoder(ctx)
		check(err)
		fmt.Printf("seed %d: kNN accuracy random %.4f, after %d epochs of rotation pretraining %.4f\n", seed, knn(r), epochs, knn(enc))
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
