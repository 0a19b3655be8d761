package ssl

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
)

// noise is a labeled dataset of random 6x6 images.
type noise struct {
	pix    []float32
	labels []int
}

func newNoise(n int, seed uint64) *noise {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &noise{pix: make([]float32, n*3*36), labels: make([]int, n)}
	for i := range d.pix {
		d.pix[i] = float32(rng.IntN(256)) / 255
	}
	for i := range d.labels {
		d.labels[i] = rng.IntN(3)
	}
	return d
}

func (d *noise) Len() int              { return len(d.labels) }
func (d *noise) Label(i int) int       { return d.labels[i] }
func (d *noise) Classes() []string     { return []string{"a", "b", "c"} }
func (d *noise) Image(int) image.Image { return nil }
func (d *noise) Shape() (c, h, w int)  { return 3, 6, 6 }
func (d *noise) FillBatch(dst []float32, idx []int) error {
	if len(dst) != len(idx)*108 {
		return fmt.Errorf("dst has %d values, want %d", len(dst), len(idx)*108)
	}
	for k, i := range idx {
		copy(dst[k*108:(k+1)*108], d.pix[i*108:(i+1)*108])
	}
	return nil
}

type convNet struct{}

func (convNet) Name() string { return "conv" }
func (convNet) Build(s *nn.Scope, x *G.Node) *G.Node {
	h := nn.ReLU(s, nn.BatchNorm(s.In("bn"), nn.Conv2D(s.In("conv"), x, 4, nn.Kernel(3), nn.Init(nn.HeNormal))))
	return nn.GlobalAvgPool(s, h)
}

// TestTestCoversEveryImage evaluates 203 test images in padded batches of 32 and in one
// batch of 203: accuracy and loss must agree, so the padding is ignored and no image is
// left out.
func TestTestCoversEveryImage(t *testing.T) {
	pool, test := newNoise(60, 1), newNoise(203, 2)
	b := Budgets(Budget{NLabels: 6, Runs: [][]int{{0, 1, 2, 3, 4, 5}}})
	pl, err := New(convNet{}).CompareSupervised().plan(context.Background(), pool, test, b)
	if err != nil {
		t.Fatal(err)
	}
	ps := nn.NewParams(4)
	mean := make([]float32, 108)
	for i := range mean {
		mean[i] = 0.5
	}
	eval := func(batch int) (float64, float64) {
		g, err := train.Compile(train.Spec{Params: ps, Input: []int{batch, 3, 6, 6}, Build: pl.classifierBuild(false)})
		if err != nil {
			t.Fatal(err)
		}
		// Make the moving statistics something other than the identity.
		for _, p := range ps.All() {
			if p.Name == "backbone/bn/moving_mean" {
				for i := range p.Data() {
					p.Data()[i] = 0.1 * float32(i)
				}
			}
		}
		acc, loss, err := pl.test1(context.Background(), g, mean)
		if err != nil {
			t.Fatal(err)
		}
		return acc, loss
	}
	a32, l32 := eval(32)
	aAll, lAll := eval(203)
	if a32 != aAll || math.Abs(l32-lAll) > 1e-6*math.Abs(lAll) {
		t.Fatalf("batches of 32: accuracy %v, loss %v; one batch: %v, %v", a32, l32, aAll, lAll)
	}
	if k := a32 * 203; math.Abs(k-math.Round(k)) > 1e-9 {
		t.Fatalf("accuracy %v is not a multiple of 1/203", a32)
	}
}

func TestPadRows(t *testing.T) {
	buf := []float32{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	padRows(buf, 2, 2)
	if want := []float32{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2}; !slices.Equal(buf, want) {
		t.Fatalf("padRows: %v, want %v", buf, want)
	}
}

func TestAccuracyAndCrossEntropy(t *testing.T) {
	logits := []float32{2, 1, 0, 0, 0, 3}
	if got := Accuracy(logits, []float32{0, 2}, Geometry{N: 2, Views: 1, Valid: 2}); got != 1 {
		t.Fatalf("accuracy %v, want 1", got)
	}
	if got := Accuracy(logits, []float32{1, 2}, Geometry{N: 2, Views: 1, Valid: 2}); got != 0.5 {
		t.Fatalf("accuracy %v, want 0.5", got)
	}
	if got := Accuracy(logits, []float32{1, 2}, Geometry{N: 2, Views: 1, Valid: 0}); got != 0 {
		t.Fatalf("accuracy of no rows %v, want 0", got)
	}
	want := -math.Log(math.Exp(2) / (math.Exp(2) + math.Exp(1) + 1))
	if got := crossEntropy(logits[:3], 0); math.Abs(got-want) > 1e-12 {
		t.Fatalf("cross-entropy %v, want %v", got, want)
	}
	if got := crossEntropy([]float32{1000, 0}, 1); math.Abs(got-1000) > 1e-9 {
		t.Fatalf("cross-entropy of large logits %v, want 1000", got)
	}
}

func TestFingerprintDiffNamesTheSetting(t *testing.T) {
	a := fingerprint{"epochs": 4, "lr": 0.001, "task": "rotation-random"}.encode()
	b := fingerprint{"epochs": 5, "lr": 0.001, "task": "rotation-all"}.encode()
	got := diffFingerprints(a, b)
	if want := `epochs 4 there, 5 now; task "rotation-random" there, "rotation-all" now`; got != want {
		t.Fatalf("diff %q, want %q", got, want)
	}
}

func TestDerivedStreamsDiffer(t *testing.T) {
	seen := map[uint64]bool{}
	for _, parts := range [][]uint64{{tagSplit}, {tagRunParams, 16, 0}, {tagRunParams, 16, 1}, {tagRunParams, 0, 16}, {tagRunShuffle, 16, 0, 0}} {
		v := derive(1, parts...)
		if seen[v] {
			t.Fatalf("derive(1, %v) repeats a seed", parts)
		}
		seen[v] = true
	}
	if derive(1, 2) == derive(2, 2) {
		t.Fatal("the seed does not change the derived stream")
	}
}
