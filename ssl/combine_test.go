package ssl_test

import (
	"context"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

func TestCombineGivesOneRowPerMethodOverTheSameRuns(t *testing.T) {
	pool, test := newSynth(256, 2, 8, 1), newSynth(100, 2, 8, 2)
	budgets := folds.Stratified(16, 32).WithRuns(2).WithSeed(3)
	base := func() *ssl.Pipeline {
		return ssl.New(tinyNet{}, ssl.Seed(3), ssl.BatchSize(32), ssl.ConstantLR()).Transfer(ssl.FineTune(ssl.Epochs(2)))
	}
	ctx := context.Background()
	rot, err := base().Pretrain(pretext.Rotation(), pool, ssl.Epochs(2)).CompareSupervised().Evaluate(ctx, pool, test, budgets)
	if err != nil {
		t.Fatal(err)
	}
	all, err := base().Pretrain(pretext.Rotation(pretext.AllRotations()), pool, ssl.Epochs(2)).Evaluate(ctx, pool, test, budgets)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssl.Combine(ssl.NamedReport{Name: "rotation", Report: rot}, ssl.NamedReport{Name: "rotation-all", Report: all})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ssl.MethodSL, "rotation+SL", "rotation-all+SL"}; strings.Join(c.Methods, ",") != strings.Join(want, ",") {
		t.Fatalf("methods %v, want %v", c.Methods, want)
	}
	if len(c.Runs) != 12 || !c.Complete || c.Pretrains["rotation-all+SL"] == nil || c.Pretrains["rotation-all+SL"].Task != "rotation-all" {
		t.Fatalf("%d runs, complete %v, pretrains %v", len(c.Runs), c.Complete, c.Pretrains)
	}
	// The rows carry the numbers of the reports they come from.
	for _, m := range []struct {
		from   *ssl.Report
		method string
		row    string
	}{{rot, ssl.MethodSL, ssl.MethodSL}, {rot, ssl.MethodSSL, "rotation+SL"}, {all, ssl.MethodSSL, "rotation-all+SL"}} {
		want, _ := m.from.Summary(m.method, 32)
		got, ok := c.Summary(m.row, 32)
		if !ok || got.MeanAccuracy != want.MeanAccuracy || got.Runs != 2 {
			t.Fatalf("%s: %+v, want the mean %v of %s", m.row, got, want.MeanAccuracy, m.method)
		}
	}
	var md strings.Builder
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| rotation-all+SL |", "| gain of rotation+SL |", "| gain of rotation-all+SL |", "rotation-all+SL: Pretext task rotation-all"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("Markdown lacks %q:\n%s", s, md.String())
		}
	}
	files, err := c.PlotCurves(t.TempDir())
	if err != nil || !strings.Contains(strings.Join(files, " "), "pretext_rotation-all_loss.png") {
		t.Fatalf("plots %v, %v", files, err)
	}
	// Reports of other settings do not combine.
	other, err := base().Pretrain(pretext.Rotation(), pool, ssl.Epochs(1)).Evaluate(ctx, pool, test, folds.Stratified(16).WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssl.Combine(ssl.NamedReport{Name: "a", Report: rot}, ssl.NamedReport{Name: "b", Report: other}); err == nil || !strings.Contains(err.Error(), "budgets") {
		t.Fatalf("different budgets: %v", err)
	}
	if _, err := ssl.Combine(ssl.NamedReport{Name: "a", Report: rot}, ssl.NamedReport{Name: "a", Report: all}); err == nil {
		t.Fatal("two reports of one name combined")
	}
}
