package contrastive

import (
	"context"
	"image"
	"image/color"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/ssl"
)

// blobs is a toy labeled dataset of 8×8 RGB images: a bright square in one of two
// corners (the class) over noise.
type blobs struct {
	n    int
	seed uint64
}

func (d blobs) Len() int          { return d.n }
func (d blobs) Label(i int) int   { return i % 2 }
func (d blobs) Classes() []string { return []string{"top-left", "bottom-right"} }
func (d blobs) Image(i int) image.Image {
	rng := rand.New(rand.NewPCG(d.seed, uint64(i)))
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			c := color.RGBA{uint8(rng.IntN(80)), uint8(rng.IntN(80)), uint8(rng.IntN(80)), 255}
			in := x < 4 && y < 4
			if i%2 == 1 {
				in = x >= 4 && y >= 4
			}
			if in {
				c.R, c.G = 200+uint8(rng.IntN(50)), uint8(100+10*(i%5))
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// unlabeled hides the labels of a dataset.
type unlabeled struct{ ssl.Dataset }

func (unlabeled) Label(int) int { return ssl.NoLabel }

// smallNet is a tiny backbone: conv, batch norm, ReLU, pooling, dense; 16 features.
type smallNet struct{}

func (smallNet) Name() string { return "smallnet" }
func (smallNet) Build(s *nn.Scope, x *G.Node) *G.Node {
	h := nn.Conv2D(s.In("conv"), x, 8, nn.Kernel(3), nn.Padding("same"), nn.Init(nn.HeNormal))
	h = nn.MaxPool2D(s, nn.ReLU(s, nn.BatchNorm(s.In("bn"), h)), 2, 2)
	return nn.ReLU(s, nn.Dense(s.In("fc"), nn.Flatten(s, h), 16, nn.Init(nn.HeNormal)))
}

// snapshot copies the values of the parameters of ps whose names start with prefix.
func snapshot(ps *nn.Params, prefix string) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range ps.All() {
		if strings.HasPrefix(p.Name, prefix) {
			out[p.Name] = slices.Clone(p.Data())
		}
	}
	return out
}

// recorder wraps a task and records, through the pipeline's own hooks, the parameters
// after InitParams and after every step (before the task's own AfterStep runs), and the
// step counters the task saw.
type recorder struct {
	ssl.PretextTask
	prefix  string                 // parameters to record
	initial map[string][]float32   // after InitParams
	steps   []map[string][]float32 // after each optimizer step, before the task's hook
	after   []map[string][]float32 // after each step and the task's hook
	info    [][2]int64             // Step, Steps of each hook call
	values  map[string][][]float32 // exposed values to record per step
	names   []string               // exposed names to record
}

func (r *recorder) InitParams(ps *nn.Params) error {
	if in, ok := r.PretextTask.(ssl.ParamsInitializer); ok {
		if err := in.InitParams(ps); err != nil {
			return err
		}
	}
	r.initial = snapshot(ps, r.prefix)
	return nil
}

func (r *recorder) AfterStep(s *ssl.StepInfo) error {
	r.steps = append(r.steps, snapshot(s.Params, r.prefix))
	r.info = append(r.info, [2]int64{s.Step, s.Steps})
	for _, n := range r.names {
		v, err := s.Value(n)
		if err != nil {
			return err
		}
		if r.values == nil {
			r.values = map[string][][]float32{}
		}
		r.values[n] = append(r.values[n], slices.Clone(v))
	}
	if h, ok := r.PretextTask.(ssl.StepHook); ok {
		if err := h.AfterStep(s); err != nil {
			return err
		}
	}
	r.after = append(r.after, snapshot(s.Params, r.prefix))
	return nil
}

func (r *recorder) CheckShape(c, h, w int) error {
	if sc, ok := r.PretextTask.(ssl.ShapeChecker); ok {
		return sc.CheckShape(c, h, w)
	}
	return nil
}

func (r *recorder) CheckData(ds ssl.Dataset) error {
	if dc, ok := r.PretextTask.(ssl.DataChecker); ok {
		return dc.CheckData(ds)
	}
	return nil
}

// pretrainRun is the outcome of a short pretraining through the real pipeline.
type pretrainRun struct {
	losses []float64 // the running mean loss after each step
	rec    *recorder
	enc    *ssl.Encoder
}

// pretrain runs task for epochs epochs on ds through ssl.New(...).Pretrain(...).Encoder,
// seed 1, batch 8, Adam at a constant 1e-3.
func pretrain(t *testing.T, task ssl.PretextTask, ds ssl.Dataset, epochs int, opts ...ssl.Option) pretrainRun {
	t.Helper()
	rec := &recorder{PretextTask: task, prefix: ""}
	var losses []float64
	opts = append([]ssl.Option{ssl.Epochs(epochs), ssl.ConstantLR()}, opts...)
	enc, err := ssl.New(smallNet{}, ssl.Seed(1), ssl.BatchSize(8), ssl.Logger(slog.New(slog.DiscardHandler)),
		ssl.OnProgress(func(p ssl.Progress) {
			if p.Done == nil {
				losses = append(losses, p.Loss)
			}
		})).
		Pretrain(rec, ds, opts...).Encoder(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", task.Name(), err)
	}
	return pretrainRun{losses: losses, rec: rec, enc: enc}
}

// maxDiff is the largest absolute difference between a and b (Inf on a length mismatch).
func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
