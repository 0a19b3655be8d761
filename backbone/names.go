package backbone

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/ssl"
)

// FromName builds the backbone a name describes: every Name this package gives
// ("resnet20v1", "resnet56v2-w32", "resnet50v2", "convnet-32-64-128") and the short forms
// of the command line ("resnet20" for ResNetV1(20), "convnet" for the default ConvNet,
// "convnet:32-64" for ConvNet(Filters(32, 64))), and "conv4x128" (Conv4x128). A checkpoint records its backbone's Name
// as its architecture, so FromName(meta.Architecture) rebuilds the network a saved file
// belongs to; ForCheckpoint does that in one call. Options the name does not record (L2,
// KernelInit) are left at their defaults, which changes nothing for loading weights.
func FromName(name string) (ssl.Backbone, error) {
	unknown := fmt.Errorf("backbone: %q: unknown name; want resnet<6n+2>[v1] (e.g. resnet20), resnet<9n+2>v2, resnet50v2, an optional -w<width> suffix, conv4x128, convnet, convnet-F1-F2-... or convnet:F1-F2-...", name)
	var opts []Option
	base := name
	if i := strings.LastIndex(name, "-w"); i > 0 && strings.HasPrefix(name, "resnet") {
		w, err := strconv.Atoi(name[i+2:])
		if err != nil {
			return nil, unknown
		}
		base, opts = name[:i], []Option{BaseFilters(w)}
	}
	var (
		b   ssl.Backbone
		err error
	)
	switch {
	case base == "conv4x128":
		b, err = Conv4x128()
	case base == "convnet":
		b, err = ConvNet()
	case strings.HasPrefix(base, "convnet:"), strings.HasPrefix(base, "convnet-"):
		parts := strings.Split(base[len("convnet:"):], "-")
		filters := make([]int, len(parts))
		for i, p := range parts {
			if filters[i], err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("backbone: %q: filter count %q is not a number", name, p)
			}
		}
		b, err = ConvNet(Filters(filters...))
	case base == "resnet50v2":
		b, err = ResNet50V2(opts...)
	case strings.HasPrefix(base, "resnet"):
		depth, v2 := strings.TrimPrefix(base, "resnet"), false
		switch {
		case strings.HasSuffix(depth, "v2"):
			depth, v2 = strings.TrimSuffix(depth, "v2"), true
		case strings.HasSuffix(depth, "v1"):
			depth = strings.TrimSuffix(depth, "v1")
		}
		d, perr := strconv.Atoi(depth)
		if perr != nil {
			return nil, unknown
		}
		if v2 {
			b, err = ResNetV2(d, opts...)
		} else {
			b, err = ResNetV1(d, opts...)
		}
	default:
		return nil, unknown
	}
	if err != nil {
		return nil, fmt.Errorf("backbone: %q: %w", name, err)
	}
	return b, nil
}

// ForCheckpoint builds the backbone a checkpoint file was saved for (its architecture
// name, see FromName): with ssl.LoadEncoder or ssl.LoadClassifier it turns a saved file
// alone back into a working network.
func ForCheckpoint(path string) (ssl.Backbone, error) {
	meta, err := checkpoint.ReadMeta(path)
	if err != nil {
		return nil, err
	}
	if meta.Architecture == "" {
		return nil, fmt.Errorf("backbone: %s records no architecture", path)
	}
	b, err := FromName(meta.Architecture)
	if err != nil {
		return nil, fmt.Errorf("backbone: %s: %w", path, err)
	}
	return b, nil
}
