package datasets

import (
	"fmt"
	"strings"
)

// Split selects a part of a dataset.
type Split int

const (
	// Train is the labelled training part.
	Train Split = iota
	// Test is the held-out test part.
	Test
	// Unlabeled is the unlabelled part (STL-10 only).
	Unlabeled
)

// String returns "train", "test" or "unlabeled".
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	case Unlabeled:
		return "unlabeled"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// Option tunes a loader. Each option names the loaders that accept it; passing it to another
// loader is an error rather than being silently ignored.
type Option func(*config)

type config struct {
	h, w   int
	coarse bool
	set    []string // names of the options given, to reject those a loader does not take
}

// Resize makes ImageFolder scale every image to h x w pixels (Catmull-Rom; the aspect ratio is
// not kept). Without it every image must already have the size of the first one.
func Resize(h, w int) Option {
	return func(c *config) {
		c.h, c.w = h, w
		c.set = append(c.set, "Resize")
	}
}

// CoarseLabels makes CIFAR100 label images with the 20 superclasses
// (coarse_label_names.txt) instead of the 100 classes (fine_label_names.txt).
func CoarseLabels() Option {
	return func(c *config) {
		c.coarse = true
		c.set = append(c.set, "CoarseLabels")
	}
}

// applyOptions runs opts and fails if one of them is not among allowed.
func applyOptions(loader string, opts []Option, allowed ...string) (config, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("datasets: %s: nil Option", loader)
		}
		o(&c)
	}
	for _, name := range c.set {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			take := "takes no options"
			if len(allowed) > 0 {
				take = "takes only " + strings.Join(allowed, ", ")
			}
			return c, fmt.Errorf("datasets: %s does not take option %s (it %s)", loader, name, take)
		}
	}
	return c, nil
}
