package ssl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
)

// embedBatch is the batch size of Embed and Predict. Inference batch norm treats every
// image on its own, so it changes speed, not the numbers.
const embedBatch = 128

// Metadata keys the pipeline writes into its checkpoints besides the architecture.
const (
	metaInputShape = "input_shape" // "CxHxW"
	metaClasses    = "classes"     // classifier files
	metaClassNames = "class_names" // classifier files, comma-separated when known
)

// Encoder turns images into representations: a backbone with trained weights and the
// per-pixel mean image it was trained with, so that images are normalised exactly as in
// training. Get one from a pipeline (Pipeline.Encoder), from a saved file (LoadEncoder,
// with backbone.ForCheckpoint when only the file is at hand) or from a saved classifier
// (Classifier.Encoder). An Encoder is safe for concurrent use.
type Encoder struct {
	backbone Backbone
	params   *nn.Params
	mean     []float32
	c, h, w  int

	mu sync.Mutex
	g  *train.Graph
}

// newEncoder returns an encoder holding copies of the backbone weights and mean.
func newEncoder(b Backbone, weights map[string][]float32, mean []float32, c, h, w int) (*Encoder, error) {
	e := &Encoder{backbone: b, params: nn.NewParams(0), mean: append([]float32(nil), mean...), c: c, h: h, w: w}
	if err := buildParams(e.params, b, c, h, w, 0); err != nil {
		return nil, err
	}
	if err := restore(e.params, BackboneScope, weights); err != nil {
		return nil, err
	}
	return e, nil
}

// buildParams creates in ps the parameters of b for c×h×w images, and those of a dense
// classifier head of classes outputs when classes > 0.
func buildParams(ps *nn.Params, b Backbone, c, h, w, classes int) error {
	_, _, err := checkBuildOn(ps, false, []int{1, c, h, w}, nil, func(s *nn.Scope, x, _ *G.Node) (*G.Node, *G.Node) {
		if classes > 0 {
			return nil, classifier(s, b, x, classes, false)
		}
		return nil, b.Build(s.In(BackboneScope), x)
	})
	return err
}

// LoadEncoder reads the backbone weights and mean image of a file the pipeline wrote
// (PretrainedFile, or a downstream classifier in RunsDir) into an Encoder for b, which
// must be the architecture the file was saved for (backbone.ForCheckpoint builds it from
// the file).
func LoadEncoder(path string, b Backbone) (*Encoder, error) {
	f, err := loadFile(path, b)
	if err != nil {
		return nil, fmt.Errorf("ssl: LoadEncoder: %w", err)
	}
	return newEncoder(b, snapshot(f.params, BackboneScope), f.mean, f.c, f.h, f.w)
}

// savedNet is a network file the pipeline wrote, read back: a backbone (with a
// classifier head when classes > 0) and the mean image.
type savedNet struct {
	meta    checkpoint.Meta
	params  *nn.Params
	mean    []float32
	c, h, w int
	classes int
}

// loadFile reads a pretrained backbone or a classifier file for backbone b.
func loadFile(path string, b Backbone) (*savedNet, error) {
	if b == nil {
		return nil, errors.New("nil backbone")
	}
	f := &savedNet{params: nn.NewParams(0)}
	var err error
	if f.meta, err = checkpoint.ReadMeta(path); err != nil {
		return nil, err
	}
	if f.c, f.h, f.w, err = inputShape(path, f.meta); err != nil {
		return nil, err
	}
	if v, ok := f.meta.Extra[metaClasses]; ok {
		if f.classes, err = strconv.Atoi(v); err != nil || f.classes < 2 {
			return nil, fmt.Errorf("%s: bad %s %q", path, metaClasses, v)
		}
	}
	if err := buildParams(f.params, b, f.c, f.h, f.w, f.classes); err != nil {
		return nil, fmt.Errorf("building %s: %w", b.Name(), err)
	}
	meanP, err := f.params.Variable(PixelMeanParam, []int{f.c, f.h, f.w}, nil, false)
	if err != nil {
		return nil, err
	}
	if _, err := checkpoint.Load(path, f.params.All(), checkpoint.RequireArchitecture(b.Name())); err != nil {
		return nil, err
	}
	f.mean = append([]float32(nil), meanP.Data()...)
	return f, nil
}

// inputShape reads the "CxHxW" image shape a pipeline file records.
func inputShape(path string, meta checkpoint.Meta) (c, h, w int, err error) {
	v, ok := meta.Extra[metaInputShape]
	if !ok {
		return 0, 0, 0, fmt.Errorf("%s records no input shape (written by an older version?)", path)
	}
	if _, err := fmt.Sscanf(strings.ReplaceAll(v, "x", " "), "%d %d %d", &c, &h, &w); err != nil || c < 1 || h < 1 || w < 1 {
		return 0, 0, 0, fmt.Errorf("%s: bad %s %q", path, metaInputShape, v)
	}
	return c, h, w, nil
}

// Backbone is the encoder's architecture.
func (e *Encoder) Backbone() Backbone { return e.backbone }

// Shape is the channels, height and width of the images the encoder takes.
func (e *Encoder) Shape() (c, h, w int) { return e.c, e.h, e.w }

// Mean returns a copy of the per-pixel mean image (C*H*W) subtracted from every image.
func (e *Encoder) Mean() []float32 { return append([]float32(nil), e.mean...) }

// Save writes the encoder (backbone weights and mean image) to path, atomically, in the
// format of PretrainedFile.
func (e *Encoder) Save(path string) error {
	meanP := &nn.Param{Name: PixelMeanParam, Value: tensorOf(e.mean, e.c, e.h, e.w)}
	meta := checkpoint.Meta{Architecture: e.backbone.Name(), Extra: map[string]string{metaInputShape: shapeString(e.c, e.h, e.w)}}
	return checkpoint.Save(path, append(e.params.All(), meanP), meta)
}

// Embed returns the representations of every image of ds, in index order: the backbone's
// features [ds.Len(), F], computed in inference mode (batch norm on its moving
// statistics) from the images scaled to [0, 1] minus the mean image, as in training.
func (e *Encoder) Embed(ctx context.Context, ds Dataset) (embedding.Matrix, error) {
	if err := checkShapeOf(ds, e.c, e.h, e.w); err != nil {
		return embedding.Matrix{}, fmt.Errorf("ssl: Embed: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.g == nil {
		build := func(s *nn.Scope, x, _ *G.Node) (*G.Node, *G.Node) {
			return nil, e.backbone.Build(s.In(BackboneScope), x)
		}
		g, err := train.Compile(train.Spec{Params: e.params, Input: []int{embedBatch, e.c, e.h, e.w}, Build: build})
		if err != nil {
			return embedding.Matrix{}, fmt.Errorf("ssl: Embed: compiling %s: %w", e.backbone.Name(), err)
		}
		e.g = g
	}
	rows, dim, err := inferAll(ctx, e.g, ds, e.mean)
	if err != nil {
		return embedding.Matrix{}, fmt.Errorf("ssl: Embed: %w", err)
	}
	return embedding.NewMatrix(ds.Len(), dim, rows)
}

// inferAll runs every image of ds through the inference graph g, centred with mean, and
// returns the output rows in index order. The last batch is padded with copies of its
// images; inference batch norm treats each image on its own, so the padding changes
// nothing and is dropped.
func inferAll(ctx context.Context, g *train.Graph, ds Dataset, mean []float32) ([]float32, int, error) {
	per := len(mean)
	fd := &feeder{ds: ds, mean: mean, per: per}
	B, n := g.BatchSize(), ds.Len()
	shape := g.OutputShape()
	if len(shape) != 2 {
		return nil, 0, fmt.Errorf("the network's output has shape %v, want [N, features]", shape)
	}
	dim := shape[1]
	out := make([]float32, n*dim)
	idx := make([]int, B)
	for first := 0; first < n; first += B {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		m := min(B, n-first)
		for k := range m {
			idx[k] = first + k
		}
		if err := fd.fill(g.Input()[:m*per], idx[:m]); err != nil {
			return nil, 0, err
		}
		padRows(g.Input(), per, m)
		if err := g.Run(ctx); err != nil {
			return nil, 0, err
		}
		y, err := g.Output()
		if err != nil {
			return nil, 0, err
		}
		if i := firstNonFinite(y[:m*dim]); i >= 0 {
			return nil, 0, fmt.Errorf("the features of image %d are not finite (%v): %w", first+i/dim, y[i], ErrNonFinite)
		}
		copy(out[first*dim:(first+m)*dim], y[:m*dim])
	}
	return out, dim, nil
}

func shapeString(c, h, w int) string { return fmt.Sprintf("%dx%dx%d", c, h, w) }

// tensorOf returns a float32 tensor of the given shape holding a copy of data.
func tensorOf(data []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), data...)))
}

// checkShapeOf checks that ds has images of c×h×w.
func checkShapeOf(ds Dataset, c, h, w int) error {
	if ds == nil || ds.Len() == 0 {
		return errors.New("the dataset is nil or empty")
	}
	dc, dh, dw, err := Shape(ds)
	if err != nil {
		return err
	}
	if dc != c || dh != h || dw != w {
		return fmt.Errorf("the dataset has %dx%dx%d images, the network takes %dx%dx%d", dc, dh, dw, c, h, w)
	}
	return nil
}

// RandomEncoder returns an encoder of b with freshly initialised weights (drawn from
// seed, as a pipeline with that seed initialises its networks) and the per-pixel mean
// image of ds: the baseline a pretrained encoder is measured against (a random
// ResNet20's kNN accuracy on CIFAR-10 is far above chance).
func RandomEncoder(ctx context.Context, b Backbone, ds Dataset, seed uint64) (*Encoder, error) {
	if b == nil {
		return nil, errors.New("ssl: RandomEncoder: nil backbone")
	}
	c, h, w, err := Shape(ds)
	if err != nil {
		return nil, fmt.Errorf("ssl: RandomEncoder: %w", err)
	}
	mean, err := PixelMean(ctx, ds)
	if err != nil {
		return nil, fmt.Errorf("ssl: RandomEncoder: %w", err)
	}
	ps := nn.NewParams(derive(seed, tagPretrainParams))
	if err := buildParams(ps, b, c, h, w, 0); err != nil {
		return nil, fmt.Errorf("ssl: RandomEncoder: building %s: %w", b.Name(), err)
	}
	return newEncoder(b, snapshot(ps, BackboneScope), mean, c, h, w)
}
