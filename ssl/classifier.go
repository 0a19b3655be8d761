package ssl

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
)

// Classifier is a trained downstream network: the backbone, its dense head and the mean
// image, as a downstream run saved it (ClassifierFile). It predicts the classes of new
// images exactly as the run's test pass did. Load one with LoadClassifier; it is safe for
// concurrent use.
type Classifier struct {
	backbone Backbone
	params   *nn.Params
	mean     []float32
	c, h, w  int
	classes  int
	names    []string

	mu sync.Mutex
	g  *train.Graph
}

// ClassifierFile is the name, in RunsDir, of the classifier a downstream run saves next
// to its result: method "SL" or "SSL+SL", n_labels and the run's index, e.g.
// "ssl-sl-n250-r0.safetensors".
func ClassifierFile(method string, nLabels, run int) string {
	return runBase(method, nLabels, run) + ".safetensors"
}

// runBase is the file name of a run without extension.
func runBase(method string, nLabels, run int) string {
	m := "sl"
	if method == MethodSSL {
		m = "ssl-sl"
	}
	return fmt.Sprintf("%s-n%d-r%d", m, nLabels, run)
}

// saveClassifier writes the downstream network on ps (backbone and head) and the mean
// image to path, atomically.
func saveClassifier(path string, b Backbone, ps *nn.Params, mean []float32, c, h, w, classes int, names []string, seed uint64) error {
	var params []*nn.Param
	for _, p := range ps.All() {
		if inScope(p, BackboneScope) || inScope(p, ClassifierScope) {
			params = append(params, p)
		}
	}
	params = append(params, &nn.Param{Name: PixelMeanParam, Value: tensorOf(mean, c, h, w)})
	extra := map[string]string{metaInputShape: shapeString(c, h, w), metaClasses: strconv.Itoa(classes)}
	if len(names) == classes {
		extra[metaClassNames] = strings.Join(names, "\n")
	}
	return checkpoint.Save(path, params, checkpoint.Meta{Architecture: b.Name(), Seed: seed, Extra: extra})
}

// LoadClassifier reads a classifier a downstream run saved (ClassifierFile) for backbone
// b, the architecture it was saved for (backbone.ForCheckpoint builds it from the file).
func LoadClassifier(path string, b Backbone) (*Classifier, error) {
	f, err := loadFile(path, b)
	if err != nil {
		return nil, fmt.Errorf("ssl: LoadClassifier: %w", err)
	}
	if f.classes == 0 {
		return nil, fmt.Errorf("ssl: LoadClassifier: %s is not a classifier (it records no %s): a pretrained backbone? LoadEncoder reads it", path, metaClasses)
	}
	cl := &Classifier{backbone: b, params: f.params, mean: f.mean, c: f.c, h: f.h, w: f.w, classes: f.classes}
	if v := f.meta.Extra[metaClassNames]; v != "" {
		if names := strings.Split(v, "\n"); len(names) == f.classes {
			cl.names = names
		}
	}
	return cl, nil
}

// Classes is the number of classes.
func (cl *Classifier) Classes() int { return cl.classes }

// ClassNames are the names of the classes, when the training data named them (nil
// otherwise).
func (cl *Classifier) ClassNames() []string { return append([]string(nil), cl.names...) }

// Encoder returns the classifier's backbone and mean image as an Encoder: the
// representations the fine-tuned network computes.
func (cl *Classifier) Encoder() (*Encoder, error) {
	return newEncoder(cl.backbone, snapshot(cl.params, BackboneScope), cl.mean, cl.c, cl.h, cl.w)
}

// Logits returns the classifier's logits for every image of ds, [ds.Len()*Classes()]
// row-major.
func (cl *Classifier) Logits(ctx context.Context, ds Dataset) ([]float32, error) {
	if err := checkShapeOf(ds, cl.c, cl.h, cl.w); err != nil {
		return nil, fmt.Errorf("ssl: Classifier: %w", err)
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.g == nil {
		build := func(s *nn.Scope, x, _ *G.Node) (*G.Node, *G.Node) {
			return nil, classifier(s, cl.backbone, x, cl.classes, false)
		}
		g, err := train.Compile(train.Spec{Params: cl.params, Input: []int{embedBatch, cl.c, cl.h, cl.w}, Build: build})
		if err != nil {
			return nil, fmt.Errorf("ssl: Classifier: compiling %s: %w", cl.backbone.Name(), err)
		}
		cl.g = g
	}
	out, _, err := inferAll(ctx, cl.g, ds, cl.mean)
	if err != nil {
		return nil, fmt.Errorf("ssl: Classifier: %w", err)
	}
	return out, nil
}

// Predict returns the predicted class of every image of ds, in index order (the largest
// logit; the first on ties).
func (cl *Classifier) Predict(ctx context.Context, ds Dataset) ([]int, error) {
	logits, err := cl.Logits(ctx, ds)
	if err != nil {
		return nil, err
	}
	out := make([]int, ds.Len())
	for i := range out {
		out[i] = argmax(logits[i*cl.classes : (i+1)*cl.classes])
	}
	return out, nil
}
