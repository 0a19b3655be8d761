package ssl_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/nn"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

// fixture is a small experiment: 512 unlabeled (and labeled) 8x8 images of 2 classes, 200
// test images, budgets of 16 and 64 labels with 2 runs each.
type fixture struct {
	pool, test *synth
	budgets    folds.StratifiedBudgets
}

func newFixture() fixture {
	return fixture{pool: newSynth(512, 2, 8, 1), test: newSynth(200, 2, 8, 2), budgets: folds.Stratified(16, 64).WithRuns(2).WithSeed(5)}
}

// pipeline is the fixture's pipeline: rotation pretraining for 4 epochs, fine-tuning for
// 6, with the baseline.
func (f fixture) pipeline(opts ...ssl.Option) *ssl.Pipeline {
	base := []ssl.Option{ssl.Seed(3), ssl.BatchSize(32), ssl.ConstantLR()}
	return ssl.New(tinyNet{}, append(base, opts...)...).
		Pretrain(pretext.Rotation(), f.pool, ssl.Epochs(4), ssl.LearningRate(3e-3)).
		Transfer(ssl.FineTune(ssl.Epochs(6), ssl.LearningRate(3e-3))).
		CompareSupervised()
}

func (f fixture) evaluate(ctx context.Context, p *ssl.Pipeline) (*ssl.Report, error) {
	return p.Evaluate(ctx, f.pool, f.test, f.budgets)
}

// numbers are the results of a report without its timings.
type numbers struct {
	pretrain [][4]float64
	runs     [][3]float64
}

func numbersOf(r *ssl.Report) numbers {
	var n numbers
	if r.Pretrain != nil {
		for _, e := range r.Pretrain.Epochs {
			n.pretrain = append(n.pretrain, [4]float64{e.Loss, e.Accuracy, e.ValLoss, e.ValScore})
		}
	}
	for _, run := range r.Runs {
		last := run.Epochs[len(run.Epochs)-1]
		n.runs = append(n.runs, [3]float64{run.TestAccuracy, run.TestLoss, last.Loss})
	}
	return n
}

func equalNumbers(t *testing.T, what string, a, b numbers) {
	t.Helper()
	if len(a.pretrain) != len(b.pretrain) || len(a.runs) != len(b.runs) {
		t.Fatalf("%s: %d pretrain epochs and %d runs against %d and %d", what, len(a.pretrain), len(a.runs), len(b.pretrain), len(b.runs))
	}
	for i := range a.pretrain {
		if a.pretrain[i] != b.pretrain[i] {
			t.Fatalf("%s: pretrain epoch %d: %v against %v", what, i, a.pretrain[i], b.pretrain[i])
		}
	}
	for i := range a.runs {
		if a.runs[i] != b.runs[i] {
			t.Fatalf("%s: run %d: %v against %v", what, i, a.runs[i], b.runs[i])
		}
	}
}

func TestEvaluateLearnsAndReports(t *testing.T) {
	f := newFixture()
	rep, err := f.evaluate(context.Background(), f.pipeline())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete {
		t.Fatal("a finished evaluation is not marked complete")
	}
	p := rep.Pretrain
	if p == nil || len(p.Epochs) != 4 || p.Task != "rotation-random" || p.Metric != ssl.MetricValScore {
		t.Fatalf("pretraining result %+v", p)
	}
	if p.Images+p.ValidationImages != 512 || p.ValidationImages != 51 {
		t.Fatalf("pretext split %d + %d, want 461 + 51", p.Images, p.ValidationImages)
	}
	last := p.Epochs[len(p.Epochs)-1]
	if last.ValScore < 0.6 || last.Accuracy < 0.6 {
		t.Fatalf("rotation accuracy after training: train %.3f, validation %.3f; want both above 0.6 (chance 0.25)", last.Accuracy, last.ValScore)
	}
	if p.Epochs[0].Loss <= last.Loss {
		t.Fatalf("pretext loss did not fall: %.3f then %.3f", p.Epochs[0].Loss, last.Loss)
	}
	bestScore := -1.0
	for _, e := range p.Epochs {
		bestScore = math.Max(bestScore, e.ValScore)
	}
	if p.Best != bestScore || p.Epochs[p.BestEpoch].ValScore != bestScore {
		t.Fatalf("kept epoch %d with %v, the best validation score is %v", p.BestEpoch, p.Best, bestScore)
	}

	// 2 budgets x 2 runs x 2 methods, in budget, run, method order.
	if len(rep.Runs) != 8 {
		t.Fatalf("%d runs, want 8", len(rep.Runs))
	}
	want := []struct {
		m     string
		nl, r int
	}{{"SL", 16, 0}, {"SSL+SL", 16, 0}, {"SL", 16, 1}, {"SSL+SL", 16, 1}, {"SL", 64, 0}, {"SSL+SL", 64, 0}, {"SL", 64, 1}, {"SSL+SL", 64, 1}}
	for i, run := range rep.Runs {
		if run.Method != want[i].m || run.NLabels != want[i].nl || run.Run != want[i].r {
			t.Fatalf("run %d is %s n=%d r=%d, want %+v", i, run.Method, run.NLabels, run.Run, want[i])
		}
		if len(run.Epochs) != 6 || run.TestAccuracy < 0 || run.TestAccuracy > 1 || !(run.TestLoss > 0) {
			t.Fatalf("run %d: %d epochs, accuracy %v, loss %v", i, len(run.Epochs), run.TestAccuracy, run.TestLoss)
		}
		// Fine-tuning trains every weight, for both methods.
		if i%2 == 1 && run.TrainedParams != rep.Runs[i-1].TrainedParams {
			t.Fatalf("fine-tuning trains %d scalars, the baseline %d", run.TrainedParams, rep.Runs[i-1].TrainedParams)
		}
	}
	s, ok := rep.Summary(ssl.MethodSL, 64)
	if !ok || s.Runs != 2 {
		t.Fatalf("summary of SL at 64: %+v, %v", s, ok)
	}
	if wantMean := (rep.Runs[4].TestAccuracy + rep.Runs[6].TestAccuracy) / 2; math.Abs(s.MeanAccuracy-wantMean) > 1e-12 {
		t.Fatalf("mean accuracy %v, want %v", s.MeanAccuracy, wantMean)
	}
	wantStd := math.Abs(rep.Runs[4].TestAccuracy-rep.Runs[6].TestAccuracy) / math.Sqrt2
	if math.Abs(s.StdAccuracy-wantStd) > 1e-12 {
		t.Fatalf("std %v, want the sample standard deviation %v", s.StdAccuracy, wantStd)
	}
	g, ok := rep.Gain(64)
	ss, _ := rep.Summary(ssl.MethodSSL, 64)
	if !ok || g != ss.MeanAccuracy-s.MeanAccuracy {
		t.Fatalf("gain %v, %v", g, ok)
	}

	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	text := md.String()
	for _, line := range []string{"| n_labels | 16 | 64 |", "|---|---|---|"} {
		if !strings.Contains(text, line+"\n") {
			t.Fatalf("markdown lacks the line %q:\n%s", line, text)
		}
	}
	rows := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 5 { // "", label, 16, 64, ""
			rows[strings.TrimSpace(cells[1])]++
		}
	}
	if rows["SL"] != 3 || rows["SSL+SL"] != 3 || rows["gain"] != 1 {
		t.Fatalf("markdown rows %v: want SL and SSL+SL in each of the 3 tables, gain once:\n%s", rows, text)
	}
	if !strings.Contains(text, "± ") || !strings.Contains(text, " pp |") {
		t.Fatalf("markdown lacks mean ± std or the gain in pp:\n%s", text)
	}

	var cb bytes.Buffer
	if err := rep.WriteCSV(&cb); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 9 || strings.Join(recs[0], ",") != strings.Join(ssl.CSVHeader, ",") || recs[2][0] != "SSL+SL" || recs[2][1] != "16" {
		t.Fatalf("CSV: %v", recs)
	}

	var jb bytes.Buffer
	if err := rep.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	back, err := ssl.ReadReportJSON(&jb)
	if err != nil {
		t.Fatal(err)
	}
	equalNumbers(t, "JSON round trip", numbersOf(rep), numbersOf(back))
	if back.Backbone != "tiny" || back.Task != "rotation-random" || back.Transfer != "fine-tune" || len(back.Budgets) != 2 {
		t.Fatalf("JSON round trip: %+v", back)
	}

	dir := t.TempDir()
	files, err := rep.PlotCurves(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"pretext_loss.png", "pretext_acc.png", "pretext_collapse.png", "downstream_loss_n16.png", "downstream_acc_n16.png", "downstream_loss_n64.png", "downstream_acc_n64.png"}
	if len(files) != len(wantFiles) {
		t.Fatalf("PlotCurves wrote %v, want %v", files, wantFiles)
	}
	for i, name := range wantFiles {
		if files[i] != filepath.Join(dir, name) {
			t.Fatalf("file %d is %s, want %s", i, files[i], name)
		}
		fh, err := os.Open(files[i])
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 100 {
			t.Fatalf("%s is %v", name, b)
		}
	}
}

func TestDeterministicAndSeedMatters(t *testing.T) {
	f := newFixture()
	f.budgets = folds.Stratified(64)
	run := func(seed uint64, ds *synth) numbers {
		p := ssl.New(tinyNet{}, ssl.Seed(seed), ssl.BatchSize(32), ssl.Epochs(2)).
			Pretrain(pretext.Rotation(pretext.AllRotations()), ds).CompareSupervised()
		rep, err := p.Evaluate(context.Background(), ds, f.test, f.budgets)
		if err != nil {
			t.Fatal(err)
		}
		return numbersOf(rep)
	}
	a, b := run(7, f.pool), run(7, f.pool)
	equalNumbers(t, "same seed", a, b)
	d := run(8, f.pool)
	if a.pretrain[0] == d.pretrain[0] || a.runs[0] == d.runs[0] {
		t.Fatalf("seeds 7 and 8 gave the same numbers: %v, %v", a.pretrain[0], a.runs[0])
	}
}

func TestImagePathMatchesFiller(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	p := ssl.New(tinyNet{}, ssl.Seed(2), ssl.BatchSize(32), ssl.Epochs(1)).Pretrain(pretext.Rotation(), f.pool)
	a, err := p.Evaluate(ctx, f.pool, f.test, folds.Stratified(64))
	if err != nil {
		t.Fatal(err)
	}
	slow := withoutFiller{f.pool}
	if _, ok := ssl.Dataset(slow).(ssl.BatchFiller); ok {
		t.Fatal("withoutFiller still offers FillBatch")
	}
	p = ssl.New(tinyNet{}, ssl.Seed(2), ssl.BatchSize(32), ssl.Epochs(1)).Pretrain(pretext.Rotation(), slow)
	b, err := p.Evaluate(ctx, slow, withoutFiller{f.test}, folds.Stratified(64))
	if err != nil {
		t.Fatal(err)
	}
	equalNumbers(t, "image.Image path against FillBatch", numbersOf(a), numbersOf(b))
}

// TestCancelAndResume stops an evaluation twice (inside pretraining, then inside the
// downstream runs) and resumes it from its checkpoint directory; the final numbers must be
// those of an uninterrupted evaluation, and finished work must not be redone.
func TestCancelAndResume(t *testing.T) {
	f := newFixture()
	ref, err := f.evaluate(context.Background(), f.pipeline())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// 1: cancel in the middle of pretraining epoch 3.
	ctx, cancel := context.WithCancel(context.Background())
	rep, err := f.evaluate(ctx, f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(p ssl.Progress) {
		if p.Stage == "pretrain" && p.Epoch == 2 && p.Step == 3 {
			cancel()
		}
	})))
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled evaluation returned %v", err)
	}
	if rep == nil || rep.Complete || rep.Pretrain == nil || len(rep.Pretrain.Epochs) != 2 || len(rep.Runs) != 0 {
		t.Fatalf("partial report after cancelling in epoch 3: %+v", rep)
	}
	for _, name := range []string{ssl.PretrainLastFile, ssl.PretrainedFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("no %s after two epochs: %v", name, err)
		}
	}

	// 2: resume; cancel when the SSL+SL run 0 of budget 64 starts.
	ctx, cancel = context.WithCancel(context.Background())
	firstPretrainEpoch := -1
	rep, err = f.evaluate(ctx, f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(p ssl.Progress) {
		if p.Stage == "pretrain" && firstPretrainEpoch < 0 {
			firstPretrainEpoch = p.Epoch
		}
		if p.Stage == ssl.MethodSSL && p.NLabels == 64 && p.Run == 0 {
			cancel()
		}
	})))
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("second evaluation returned %v", err)
	}
	if firstPretrainEpoch != 2 {
		t.Fatalf("resumed pretraining started at epoch %d, want 2 (0-based)", firstPretrainEpoch)
	}
	if len(rep.Runs) != 5 || rep.Complete {
		t.Fatalf("second evaluation finished %d runs (complete %v), want 5", len(rep.Runs), rep.Complete)
	}

	// 3: resume to the end; only the 3 unfinished runs train.
	trained := map[string]bool{}
	rep, err = f.evaluate(context.Background(), f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(p ssl.Progress) {
		trained[p.Stage+" "+string(rune('0'+p.Run))+" "+strings.Repeat("x", p.NLabels/16)] = true
	})))
	if err != nil {
		t.Fatal(err)
	}
	if len(trained) != 3 || !trained["SSL+SL 0 xxxx"] || !trained["SL 1 xxxx"] || !trained["SSL+SL 1 xxxx"] {
		t.Fatalf("the final resume trained %v, want only the 3 unfinished runs of budget 64", trained)
	}
	equalNumbers(t, "resumed against uninterrupted", numbersOf(ref), numbersOf(rep))
	if !rep.Complete || rep.Pretrain.BestEpoch != ref.Pretrain.BestEpoch {
		t.Fatalf("resumed report: complete %v, best epoch %d (uninterrupted %d)", rep.Complete, rep.Pretrain.BestEpoch, ref.Pretrain.BestEpoch)
	}

	// 4: everything is done: nothing trains.
	steps := 0
	rep2, err := f.evaluate(context.Background(), f.pipeline(ssl.CheckpointDir(dir), ssl.OnProgress(func(ssl.Progress) { steps++ })))
	if err != nil || steps != 0 {
		t.Fatalf("a finished evaluation trained %d steps again (err %v)", steps, err)
	}
	equalNumbers(t, "finished against uninterrupted", numbersOf(ref), numbersOf(rep2))

	// Other settings or another architecture are refused before training.
	p := ssl.New(tinyNet{}, ssl.Seed(3), ssl.BatchSize(32), ssl.ConstantLR(), ssl.CheckpointDir(dir), ssl.OnProgress(func(ssl.Progress) { steps++ })).
		Pretrain(pretext.Rotation(), f.pool, ssl.Epochs(5), ssl.LearningRate(3e-3)).
		Transfer(ssl.FineTune(ssl.Epochs(6), ssl.LearningRate(3e-3))).CompareSupervised()
	if _, err := f.evaluate(context.Background(), p); err == nil || !strings.Contains(err.Error(), `epochs 4 there, 5 now`) {
		t.Fatalf("resuming with other epochs: %v", err)
	}
	p = ssl.New(tinyNet{name: "tiny-v2"}, ssl.Seed(3), ssl.BatchSize(32), ssl.ConstantLR(), ssl.CheckpointDir(dir), ssl.OnProgress(func(ssl.Progress) { steps++ })).
		Pretrain(pretext.Rotation(), f.pool, ssl.Epochs(4), ssl.LearningRate(3e-3)).CompareSupervised()
	if _, err := f.evaluate(context.Background(), p); err == nil || !strings.Contains(err.Error(), `"tiny"`) || !strings.Contains(err.Error(), `"tiny-v2"`) {
		t.Fatalf("resuming with another architecture: %v", err)
	}
	if steps != 0 {
		t.Fatalf("refused configurations trained %d steps", steps)
	}
}

func TestFromPretrainedLinearProbe(t *testing.T) {
	f := newFixture()
	dir := t.TempDir()
	if _, err := ssl.New(tinyNet{}, ssl.BatchSize(32), ssl.CheckpointDir(dir)).
		Pretrain(pretext.Rotation(), f.pool, ssl.Epochs(2)).
		Evaluate(context.Background(), f.pool, f.test, folds.Stratified(64)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ssl.PretrainedFile)
	rep, err := ssl.New(tinyNet{}, ssl.BatchSize(32)).FromPretrained(path).
		Transfer(ssl.LinearProbe(ssl.Epochs(3), ssl.LearningRate(1e-2))).
		CompareSupervised().
		Evaluate(context.Background(), f.pool, f.test, folds.Stratified(64))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Transfer != "linear-probe" || rep.Task != "rotation-random" || rep.Pretrain.Checkpoint != path {
		t.Fatalf("report: transfer %q, task %q, pretrained %+v", rep.Transfer, rep.Task, rep.Pretrain)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs, want SL and SSL+SL", len(rep.Runs))
	}
	// The report says where the backbone came from, not "0 images, 0 epochs".
	var md strings.Builder
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if md := md.String(); !strings.Contains(md, "Pretrained backbone read from "+path+" (pretext task rotation-random, kept epoch") || strings.Contains(md, "0 epochs") {
		t.Errorf("report does not name the pretrained file:\n%s", md)
	}
	// The probe trains the 16x2 dense head and its 2 biases; the baseline everything.
	if sl, probe := rep.Runs[0], rep.Runs[1]; probe.Method != ssl.MethodSSL || probe.TrainedParams != 16*2+2 || sl.TrainedParams <= probe.TrainedParams {
		t.Fatalf("trained scalars: SL %d, linear probe %d (want 34)", sl.TrainedParams, probe.TrainedParams)
	}

	for _, tc := range []struct {
		b    tinyNet
		want string
	}{
		{tinyNet{name: "other"}, "checkpoint is for tiny, model is other"},
		{tinyNet{features: 8}, "shape"},
	} {
		_, err := ssl.New(tc.b).FromPretrained(path).Evaluate(context.Background(), f.pool, f.test, folds.Stratified(64))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%+v: error %v, want one naming %s and %q", tc.b, err, path, tc.want)
		}
	}
}

// brokenNet returns 4-D features, which no head can take.
type brokenNet struct{}

func (brokenNet) Name() string { return "broken" }
func (brokenNet) Build(s *nn.Scope, x *G.Node) *G.Node {
	return nn.Conv2D(s.In("conv"), x, 4, nn.Kernel(3))
}

func TestBadConfigurationsFailBeforeTraining(t *testing.T) {
	f := newFixture()
	three := newSynth(512, 3, 8, 4) // class counts 171, 171, 170
	small := newSynth(40, 2, 6, 5)
	budgets := folds.Stratified(64)
	rot := pretext.Rotation()
	cases := []struct {
		name string
		p    *ssl.Pipeline
		pool ssl.Dataset
		test ssl.Dataset
		b    ssl.LabelBudgets
		want string
	}{
		{"budget larger than the data", ssl.New(tinyNet{}).CompareSupervised(), f.pool, f.test, folds.Stratified(1024), "n_labels=1024 is more than the N=512"},
		{"n_labels not dividing the class counts", ssl.New(tinyNet{}).CompareSupervised(), three, newSynth(30, 3, 8, 6), budgets, "class label 0 has 171 samples"},
		{"n_labels not dividing N", ssl.New(tinyNet{}).CompareSupervised(), f.pool, f.test, folds.Stratified(100), "n_labels=100 does not divide N=512"},
		{"too many runs", ssl.New(tinyNet{}).CompareSupervised(), f.pool, f.test, folds.Stratified(256).WithRuns(3), "runs=3"},
		{"fixed run out of range", ssl.New(tinyNet{}).CompareSupervised(), f.pool, f.test, ssl.Budgets(ssl.Budget{NLabels: 2, Runs: [][]int{{0, 600}}}), "index 600 is out of range"},
		{"fixed run of the wrong length", ssl.New(tinyNet{}).CompareSupervised(), f.pool, f.test, ssl.Budgets(ssl.Budget{NLabels: 3, Runs: [][]int{{0, 1}}}), "holds 2 indices"},
		{"nil budgets", ssl.New(tinyNet{}).CompareSupervised(), f.pool, f.test, nil, "nil label budgets"},
		{"test images of another shape", ssl.New(tinyNet{}).CompareSupervised(), f.pool, small, budgets, "test dataset has 3x6x6 images"},
		{"no labels", ssl.New(tinyNet{}).CompareSupervised(), unlabeledView{f.pool}, f.test, budgets, "training image 0 has no label"},
		{"nothing to do", ssl.New(tinyNet{}), f.pool, f.test, budgets, "nothing to evaluate"},
		{"nil backbone", ssl.New(nil).CompareSupervised(), f.pool, f.test, budgets, "nil backbone"},
		{"zero epochs", ssl.New(tinyNet{}, ssl.Epochs(0)).CompareSupervised(), f.pool, f.test, budgets, "New: Epochs: epochs = 0"},
		{"pretext batch larger than the data", ssl.New(tinyNet{}).Pretrain(rot, f.pool, ssl.BatchSize(1000)), f.pool, f.test, budgets, "BatchSize(1000) is more than the 461"},
		{"seed given to a stage", ssl.New(tinyNet{}).Pretrain(rot, f.pool, ssl.Seed(1)), f.pool, f.test, budgets, "Pretrain: option Seed belongs to the whole pipeline"},
		{"pretraining option given downstream", ssl.New(tinyNet{}).Transfer(ssl.FineTune(ssl.ValidationFraction(0.2))).CompareSupervised(), f.pool, f.test, budgets, "fine-tune: option ValidationFraction is a pretraining setting"},
		{"bad validation fraction", ssl.New(tinyNet{}).Pretrain(rot, f.pool, ssl.ValidationFraction(1)), f.pool, f.test, budgets, "ValidationFraction: fraction 1"},
		{"bad learning rate", ssl.New(tinyNet{}, ssl.LearningRate(float32(math.NaN()))).CompareSupervised(), f.pool, f.test, budgets, "LearningRate"},
		{"zero option", ssl.New(tinyNet{}, ssl.Option{}).CompareSupervised(), f.pool, f.test, budgets, "zero Option"},
		{"missing checkpoint", ssl.New(tinyNet{}).FromPretrained("/nonexistent/pretrained.safetensors"), f.pool, f.test, budgets, "/nonexistent/pretrained.safetensors"},
		{"pretrain and load", ssl.New(tinyNet{}).Pretrain(rot, f.pool).FromPretrained("x"), f.pool, f.test, budgets, "both Pretrain and FromPretrained"},
		{"features of the wrong rank", ssl.New(brokenNet{}).Pretrain(rot, f.pool), f.pool, f.test, budgets, "want [N, features]"},
		{"unlabeled images of another shape", ssl.New(tinyNet{}).Pretrain(rot, small), f.pool, f.test, budgets, "unlabeled dataset has 3x6x6 images"},
		{"checkpoint dir is a file", ssl.New(tinyNet{}, ssl.CheckpointDir("pipeline_test.go")).CompareSupervised(), f.pool, f.test, budgets, "not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			if err := p.Check(context.Background(), tc.pool, tc.test, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: error %v, want one containing %q", err, tc.want)
			}
			rep, err := p.Evaluate(context.Background(), tc.pool, tc.test, tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Evaluate: error %v, want one containing %q", err, tc.want)
			}
			if rep != nil {
				t.Fatal("a bad configuration returned a report: it got past validation")
			}
		})
	}
}

// unlabeledView hides the labels of a dataset.
type unlabeledView struct{ *synth }

func (unlabeledView) Label(int) int { return ssl.NoLabel }

// nanTask is the rotation task whose inputs turn to NaN from the second epoch on.
type nanTask struct {
	*pretext.RotationTask
	batches int
}

func (t *nanTask) Prepare(b *ssl.Batch) error {
	if err := t.RotationTask.Prepare(b); err != nil {
		return err
	}
	if b.Training {
		t.batches++
		if t.batches > 14 { // 461/32 = 14 steps per epoch
			b.Inputs[0] = float32(math.NaN())
		}
	}
	return nil
}

func TestNonFiniteLossStopsWithPartialReport(t *testing.T) {
	f := newFixture()
	rep, err := ssl.New(tinyNet{}, ssl.BatchSize(32), ssl.Epochs(3)).
		Pretrain(&nanTask{RotationTask: pretext.Rotation()}, f.pool).
		Evaluate(context.Background(), f.pool, f.test, folds.Stratified(64))
	if err == nil || !strings.Contains(err.Error(), "epoch 2") {
		t.Fatalf("error %v, want one naming epoch 2", err)
	}
	if rep == nil || rep.Complete || len(rep.Pretrain.Epochs) != 1 {
		t.Fatalf("partial report %+v", rep)
	}
}

func TestValidationChoices(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	rep, err := ssl.New(tinyNet{}, ssl.BatchSize(32), ssl.Epochs(2)).
		Pretrain(pretext.Rotation(), f.pool, ssl.ValidationFraction(0)).
		Evaluate(ctx, f.pool, f.test, folds.Stratified(64))
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Pretrain; p.Metric != ssl.MetricLastEpoch || p.BestEpoch != 1 || p.ValidationImages != 0 || p.Images != 512 {
		t.Fatalf("without validation: %+v", p)
	}
	rep, err = ssl.New(tinyNet{}, ssl.BatchSize(32), ssl.Epochs(2)).
		Pretrain(pretext.Rotation(), f.pool, ssl.ValidationSet(f.test)).
		Evaluate(ctx, f.pool, f.test, folds.Stratified(64))
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Pretrain; p.Metric != ssl.MetricValScore || p.ValidationImages != 200 || p.Images != 512 {
		t.Fatalf("with a validation set: %+v", p)
	}
	// A validation set whose size is not a multiple of the batch is scored over every image:
	// 200 images in batches of 32 leave 8 in a padded batch, so the score is k/200.
	for _, e := range rep.Pretrain.Epochs {
		if k := e.ValScore * 200; math.Abs(k-math.Round(k)) > 1e-9 {
			t.Fatalf("validation score %v is not a multiple of 1/200", e.ValScore)
		}
	}
}

func TestFixedBudgets(t *testing.T) {
	f := newFixture()
	b := ssl.Budgets(ssl.Budget{NLabels: 4, Runs: [][]int{{0, 1, 2, 3}, {10, 11, 12, 13}}})
	rep, err := ssl.New(tinyNet{}, ssl.Epochs(1)).CompareSupervised().Evaluate(context.Background(), f.pool, f.test, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[1].Run != 1 || rep.Runs[1].NLabels != 4 || len(rep.Runs[1].Epochs) != 1 {
		t.Fatalf("runs %+v", rep.Runs)
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	if strings.Contains(md.String(), "SSL+SL") || strings.Contains(md.String(), "gain") {
		t.Fatalf("a baseline-only report has SSL+SL or gain rows:\n%s", md.String())
	}
}
