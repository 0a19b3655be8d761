package ssl_test

import (
	"context"
	"errors"
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
	budgets := folds.LabelBudgets(64)
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
