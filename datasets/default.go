package datasets

import (
	_ "embed"
	"fmt"

	"github.com/selfsup/selfsup/datasets/internal/defaultset"
)

//go:generate go run ./internal/mkdefault -out default.bin.gz

//go:embed default.bin.gz
var defaultData []byte

// Default returns a split (Train or Test) of the small dataset embedded in the module, the one
// the quick start and the examples run on, so that they need no download.
//
// It is a 16x16 RGB version of CIFAR-10 (each 2x2 block of pixels averaged, rounded),
// class-balanced: the first 500 training images of each class in official order (5,000) and
// the first 100 test images of each class (1,000), in official order, with the 10 CIFAR-10
// class names. It was built from a copy of CIFAR-10 rebuilt from JPEGs (pixels within about
// 6/255 of the original on average; labels and order exact) by the generator in
// datasets/internal/mkdefault (go generate).
//
// Each call decodes a fresh copy (about 4.6 MB of pixels for both splits).
func Default(split Split) (*Images, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("datasets: the default set has no %v split (only Train and Test)", split)
	}
	s, err := defaultset.Decode(defaultData)
	if err != nil {
		return nil, fmt.Errorf("datasets: embedded default set: %w", err)
	}
	first, n := 0, s.NTrain
	if split == Test {
		first, n = s.NTrain, len(s.Labels)-s.NTrain
	}
	per := Channels * s.H * s.W
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(s.Labels[first+i])
	}
	return &Images{
		pix:    s.Pix[first*per : (first+n)*per : (first+n)*per],
		labels: labels, classes: s.Classes, n: n, h: s.H, w: s.W,
		source: "datasets.Default(" + split.String() + ")",
	}, nil
}
