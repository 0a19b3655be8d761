package datasets_test

import (
	"context"
	"fmt"

	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/ssl"
)

// The embedded default set needs no download.
func ExampleDefault() {
	train, err := datasets.Default(datasets.Train)
	if err != nil {
		panic(err)
	}
	test, err := datasets.Default(datasets.Test)
	if err != nil {
		panic(err)
	}
	c, h, w := train.Shape()
	fmt.Println(train.Len(), "training and", test.Len(), "test images of", c, "x", h, "x", w)
	fmt.Println(train.Classes())

	// A batch of 4 images as float32 NCHW in [0, 1], the input of a network.
	batch := make([]float32, 4*c*h*w)
	if err := ssl.FillBatch(train, batch, []int{0, 1, 2, 3}); err != nil {
		panic(err)
	}
	fmt.Println(len(batch), "values")
	// Output:
	// 5000 training and 1000 test images of 3 x 16 x 16
	// [airplane automobile bird cat deer dog frog horse ship truck]
	// 3072 values
}

// Take a labelled subset and the statistics used to normalise inputs.
func ExampleImages_subsetAndStats() {
	train, err := datasets.Default(datasets.Train)
	if err != nil {
		panic(err)
	}
	// The first 10 images of class 3 ("cat").
	var cats []int
	for i := 0; i < train.Len() && len(cats) < 10; i++ {
		if train.Label(i) == 3 {
			cats = append(cats, i)
		}
	}
	sub, err := ssl.Subset(train, cats)
	if err != nil {
		panic(err)
	}
	_, fast := sub.(ssl.BatchFiller)
	fmt.Println(sub.Len(), "images, label", sub.Label(0), train.Classes()[sub.Label(0)], "fast path:", fast)

	st, err := ssl.ComputeStats(context.Background(), train)
	if err != nil {
		panic(err)
	}
	fmt.Printf("per-pixel mean: %d values; channel means %.2f\n", len(st.PixelMean), st.ChannelMean)
	// Output:
	// 10 images, label 3 cat fast path: true
	// per-pixel mean: 768 values; channel means [0.49 0.48 0.44]
}

// An unlabeled set from pixels already in memory (CHW per image).
func ExampleFromPixels() {
	pix := make([]byte, 2*3*4*4) // two black 4x4 images
	ds, err := datasets.FromPixels(pix, nil, nil, 4, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.Len(), ds.Label(0) == ssl.NoLabel)
	// Output: 2 true
}
