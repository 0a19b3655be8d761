package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/contrastive"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

const modelHelp = `backbone: resnet<6n+2> (Keras CIFAR ResNet v1: resnet20, resnet32, resnet56, ...),
resnet<9n+2>v2 (CIFAR ResNet v2, e.g. resnet56v2), resnet50v2 (ImageNet ResNet50 v2),
convnet (3 conv blocks of 32, 64, 128 filters), convnet:F1-F2-... (your filter counts) or
conv4x128 (the Keras SimCLR/NNCLR STL-10 examples' encoder: four stride-2 convolutions of 128 filters, Dense(128))`

// parseModel builds the backbone named name (backbone.FromName).
func parseModel(name string) (ssl.Backbone, error) { return backbone.FromName(name) }

// Pretext task names of --task.
const (
	taskRotation    = "rotation"
	taskRotationAll = "rotation-all"
)

// taskHelp describes the values of --task.
const taskHelp = `pretext task: rotation (one random rotation per image per epoch), rotation-all (all four),
or a contrastive method with its CIFAR defaults (package contrastive; with --data stl10 its
views use the 96-pixel STL-10 recipe): simclr, simsiam, nnclr, byol, mocov2, barlowtwins,
vicreg, supcon (uses the pretraining images' labels); several, comma-separated, give one
table with a row per method`

// tasks builds the pretext task of each --task name; a contrastive method takes opts.
var tasks = map[string]func(opts ...contrastive.Option) ssl.PretextTask{
	taskRotation:    func(...contrastive.Option) ssl.PretextTask { return pretext.Rotation() },
	taskRotationAll: func(...contrastive.Option) ssl.PretextTask { return pretext.Rotation(pretext.AllRotations()) },
	"simclr":        func(o ...contrastive.Option) ssl.PretextTask { return contrastive.SimCLR(o...) },
	"simsiam":       func(o ...contrastive.Option) ssl.PretextTask { return contrastive.SimSiam(o...) },
	"nnclr":         func(o ...contrastive.Option) ssl.PretextTask { return contrastive.NNCLR(o...) },
	"byol":          func(o ...contrastive.Option) ssl.PretextTask { return contrastive.BYOL(o...) },
	"mocov2":        func(o ...contrastive.Option) ssl.PretextTask { return contrastive.MoCoV2(o...) },
	"barlowtwins":   func(o ...contrastive.Option) ssl.PretextTask { return contrastive.BarlowTwins(o...) },
	"vicreg":        func(o ...contrastive.Option) ssl.PretextTask { return contrastive.VICReg(o...) },
	"supcon":        func(o ...contrastive.Option) ssl.PretextTask { return contrastive.SupCon(o...) },
}

// parseTask returns the pretext task named name. With stl10 the contrastive methods make
// their views with the 96-pixel STL-10 recipe (augment.SimCLRSTL10, Gaussian blur
// included) instead of their CIFAR one.
func parseTask(name string, stl10 bool) (ssl.PretextTask, error) {
	if f, ok := tasks[name]; ok {
		if stl10 {
			a := augment.SimCLRSTL10()
			return f(contrastive.AugmentViews(a, a)), nil
		}
		return f(), nil
	}
	names := make([]string, 0, len(tasks))
	for n := range tasks {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("%q: unknown pretext task; want one of %s", name, strings.Join(names, ", "))
}

// augmentNames lists the values of --augment and --finetune-augment.
const augmentNames = "none (default), keras (the seed's random shifts of up to 10% and horizontal flips), crop (pad-4 random crop and flip), simclr (SimCLR's CIFAR recipe), simclr-stl10 (its 96-pixel STL-10 recipe with blur)"

// parseAugment returns the augmentation preset named name, nil for none.
func parseAugment(name string) (ssl.Augmentation, error) {
	switch name {
	case "", "none":
		return nil, nil
	case "keras":
		return augment.KerasShiftFlip(), nil
	case "crop":
		return augment.CIFARCrop(), nil
	case "simclr":
		return augment.SimCLRCIFAR(), nil
	case "simclr-stl10":
		return augment.SimCLRSTL10(), nil
	}
	return nil, fmt.Errorf("%q: unknown augmentation; want %s", name, augmentNames)
}
