package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

const modelHelp = `backbone: resnet<6n+2> (Keras CIFAR ResNet v1: resnet20, resnet32, resnet56, ...),
resnet<9n+2>v2 (CIFAR ResNet v2, e.g. resnet56v2), resnet50v2 (ImageNet ResNet50 v2),
convnet (3 conv blocks of 32, 64, 128 filters) or convnet:F1-F2-... (your filter counts)`

// parseModel builds the backbone named name.
func parseModel(name string) (ssl.Backbone, error) {
	unknown := func() error {
		return fmt.Errorf("%q: unknown model; want resnet<6n+2> (e.g. resnet20), resnet<9n+2>v2, resnet50v2, convnet or convnet:F1-F2-...", name)
	}
	var (
		b   ssl.Backbone
		err error
	)
	switch {
	case name == "convnet":
		b, err = backbone.ConvNet()
	case strings.HasPrefix(name, "convnet:"):
		parts := strings.Split(strings.TrimPrefix(name, "convnet:"), "-")
		filters := make([]int, len(parts))
		for i, p := range parts {
			if filters[i], err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("%q: filter count %q is not a number", name, p)
			}
		}
		b, err = backbone.ConvNet(backbone.Filters(filters...))
	case name == "resnet50v2":
		b, err = backbone.ResNet50V2()
	case strings.HasPrefix(name, "resnet"):
		depth, v2 := strings.TrimPrefix(name, "resnet"), false
		switch {
		case strings.HasSuffix(depth, "v2"):
			depth, v2 = strings.TrimSuffix(depth, "v2"), true
		case strings.HasSuffix(depth, "v1"):
			depth = strings.TrimSuffix(depth, "v1")
		}
		d, perr := strconv.Atoi(depth)
		if perr != nil {
			return nil, unknown()
		}
		if v2 {
			b, err = backbone.ResNetV2(d)
		} else {
			b, err = backbone.ResNetV1(d)
		}
	default:
		return nil, unknown()
	}
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	return b, nil
}

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
