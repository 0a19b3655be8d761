package main

import (
	"fmt"

	"github.com/selfsup/selfsup/augment"
	"github.com/selfsup/selfsup/backbone"
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

// parseTask returns the pretext task named name.
func parseTask(name string) (ssl.PretextTask, error) {
	switch name {
	case taskRotation:
		return pretext.Rotation(), nil
	case taskRotationAll:
		return pretext.Rotation(pretext.AllRotations()), nil
	}
	return nil, fmt.Errorf("%q: unknown pretext task; want %s (one random rotation per image) or %s (all four)", name, taskRotation, taskRotationAll)
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
