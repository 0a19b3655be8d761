package ssl_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

// A zero or nil Pipeline (not made by New) is an error from Evaluate, Check and Encoder,
// never a panic, whichever builder methods were called on it.
func TestZeroPipelineIsAnError(t *testing.T) {
	f := newFixture()
	var zero ssl.Pipeline
	var nilp *ssl.Pipeline
	budgets := folds.Stratified(64)
	for name, p := range map[string]*ssl.Pipeline{
		"zero.Pretrain":          zero.Pretrain(pretext.Rotation(), f.pool),
		"zero.CompareSupervised": zero.CompareSupervised(),
		"zero":                   &zero,
		"nil.Pretrain":           nilp.Pretrain(pretext.Rotation(), f.pool).Transfer(ssl.FineTune()).CompareSupervised(),
		"nil.FromPretrained":     nilp.FromPretrained("x.safetensors"),
		"nil":                    nilp,
		"New(nil)":               ssl.New(nil).CompareSupervised(),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := p.Evaluate(context.Background(), f.pool, f.test, budgets); !errors.Is(err, ssl.ErrNoBackbone) {
				t.Errorf("Evaluate: %v, want ErrNoBackbone", err)
			}
			if err := p.Check(context.Background(), f.pool, f.test, budgets); !errors.Is(err, ssl.ErrNoBackbone) {
				t.Errorf("Check: %v, want ErrNoBackbone", err)
			}
			if _, err := p.Encoder(context.Background()); !errors.Is(err, ssl.ErrNoBackbone) {
				t.Errorf("Encoder: %v, want ErrNoBackbone", err)
			}
		})
	}
}

// nanImage is a dataset whose image bad has a NaN pixel, as a damaged file decoded by a
// caller's own reader might give.
type nanImage struct {
	*synth
	bad int
}

func (d nanImage) FillBatch(dst []float32, idx []int) error {
	if err := d.synth.FillBatch(dst, idx); err != nil {
		return err
	}
	per := 3 * d.size * d.size
	for k, i := range idx {
		if i == d.bad {
			dst[k*per+5] = float32(math.NaN())
		}
	}
	return nil
}

// A test loss that is NaN stops the run with an error naming the stage and the image;
// it is not stored as 0, the report is incomplete and no run file is written.
func TestNonFiniteTestLossIsAnError(t *testing.T) {
	f := newFixture()
	dir := t.TempDir()
	rep, err := ssl.New(tinyNet{}, ssl.Seed(3), ssl.BatchSize(32), ssl.Epochs(1), ssl.CheckpointDir(dir)).CompareSupervised().
		Evaluate(context.Background(), f.pool, nanImage{f.test, 17}, folds.Stratified(64))
	var nf *ssl.NonFiniteError
	if !errors.As(err, &nf) || !errors.Is(err, ssl.ErrNonFinite) {
		t.Fatalf("error %v, want a *NonFiniteError", err)
	}
	if nf.Stage != ssl.MethodSL || nf.NLabels != 64 || nf.Run != 0 || !strings.Contains(err.Error(), "test image 17") {
		t.Errorf("error %q does not name the run and the image", err)
	}
	if rep == nil || rep.Complete || len(rep.Runs) != 0 {
		t.Errorf("report %+v, want an incomplete one without runs", rep)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, ssl.RunsDir, "*.json")); len(files) != 0 {
		t.Errorf("run files written: %v", files)
	}
}

// A NaN validation loss stops pretraining at its epoch.
func TestNonFiniteValidationLossIsAnError(t *testing.T) {
	f := newFixture()
	_, err := ssl.New(tinyNet{}, ssl.Seed(3), ssl.BatchSize(32), ssl.Epochs(2)).
		Pretrain(pretext.Rotation(), f.pool, ssl.ValidationSet(nanImage{f.test, 3})).CompareSupervised().
		Evaluate(context.Background(), f.pool, f.test, folds.Stratified(64))
	var nf *ssl.NonFiniteError
	if !errors.As(err, &nf) || nf.Stage != "pretrain" || nf.Epoch != 1 || !strings.Contains(nf.What, "validation loss") {
		t.Fatalf("error %v, want a *NonFiniteError for the validation loss of pretraining epoch 1", err)
	}
}

// A learning rate far too high is reported as divergence, not as chance-level results.
func TestDivergenceIsAnError(t *testing.T) {
	f := newFixture()
	rep, err := ssl.New(tinyNet{}, ssl.Seed(3), ssl.BatchSize(16), ssl.Epochs(4), ssl.LearningRate(10), ssl.ConstantLR()).CompareSupervised().
		Evaluate(context.Background(), f.pool, f.test, folds.Stratified(64))
	var de *ssl.DivergedError
	if !errors.As(err, &de) || !errors.Is(err, ssl.ErrDiverged) {
		t.Fatalf("error %v, want a *DivergedError", err)
	}
	if de.Stage != ssl.MethodSL || de.Loss <= de.Limit || !strings.Contains(err.Error(), "lower the learning rate") {
		t.Errorf("error %+v", de)
	}
	if len(rep.Runs) != 0 {
		t.Errorf("the diverged run was reported: %+v", rep.Runs)
	}
}

// A report holding a non-finite number (made by hand) is not written as a number and its
// run is left out of the means.
func TestReportWritersRefuseNonFinite(t *testing.T) {
	r := &ssl.Report{Budgets: []int{10}, Methods: []string{ssl.MethodSL}, Runs: []ssl.RunResult{
		{Method: ssl.MethodSL, NLabels: 10, Run: 0, TestAccuracy: 0.5, TestLoss: 1},
		{Method: ssl.MethodSL, NLabels: 10, Run: 1, TestAccuracy: 0.1, TestLoss: math.NaN()},
	}}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); !errors.Is(err, ssl.ErrNonFinite) || !strings.Contains(err.Error(), "test loss") {
		t.Errorf("WriteJSON: %v", err)
	}
	if err := r.WriteCSV(&b); !errors.Is(err, ssl.ErrNonFinite) {
		t.Errorf("WriteCSV: %v", err)
	}
	if s, _ := r.Summary(ssl.MethodSL, 10); s.Runs != 1 || s.MeanAccuracy != 0.5 {
		t.Errorf("summary %+v counts the NaN run", s)
	}
}
