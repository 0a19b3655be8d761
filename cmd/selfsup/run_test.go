package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/ssl"
)

// tinyArgs are the flags of a run on the tiny folder of makeFolder(root, 4, 10, 5, 8): 40
// training images (10 per class), so budgets 8 (n_splits 5) and 20 (n_splits 2) are exact.
func tinyArgs(root, out string, more ...string) []string {
	args := []string{"run", "--data", "folder:" + root, "--model", "convnet:4-8", "--pretrain-epochs", "1",
		"--finetune-epochs", "1", "--budgets", "8,20", "--runs", "2", "--batch", "8", "--finetune-batch", "8",
		"--out", out, "--progress", "log", "--threads", "1"}
	return append(args, more...)
}

// accuracyTable returns the first Markdown table of out (the test accuracy table).
func accuracyTable(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "Test accuracy")
	if !ok {
		t.Fatalf("no accuracy table in the output:\n%s", out)
	}
	rest, _, _ = strings.Cut(rest, "\n\nTest loss")
	return rest
}

func TestRunEndToEndAndResume(t *testing.T) {
	root, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	makeFolder(t, root, 4, 10, 5, 8)
	stdout, stderr, err := run(context.Background(), tinyArgs(root, out)...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	table := accuracyTable(t, stdout)
	if !strings.Contains(table, "| n_labels | 8 | 20 |") {
		t.Errorf("accuracy table has no n_labels columns 8 and 20:\n%s", table)
	}
	for _, row := range []string{"SL", "SSL+SL"} {
		re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(row) + ` \| \d+\.\d\d% ± \d+\.\d\d \| \d+\.\d\d% ± \d+\.\d\d \|$`)
		if !re.MatchString(table) {
			t.Errorf("accuracy table has no %s row with two cells:\n%s", row, table)
		}
	}
	if !strings.Contains(stderr, "msg=epoch") || !strings.Contains(stderr, `msg="run done"`) {
		t.Errorf("log lines missing from standard error:\n%s", stderr)
	}
	if !strings.Contains(stderr, "8 of 8 downstream runs trained in this session") {
		t.Errorf("no summary of 8 trained runs:\n%s", stderr)
	}
	for _, f := range []string{"report.md", "report.csv", "report.json", "config.json",
		"plots/pretext_loss.png", "plots/pretext_acc.png", "plots/downstream_acc_n8.png",
		"checkpoints/pretrained.safetensors", "checkpoints/runs/ssl-sl-n20-r1.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if accuracyTable(t, string(md)) != table {
		t.Errorf("report.md's table differs from the printed one")
	}
	f, err := os.Open(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ssl.ReadReportJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || len(rep.Runs) != 8 || rep.Backbone != "convnet-4-8" || rep.TrainImages != 40 || rep.TestImages != 20 {
		t.Errorf("report.json: complete %v, %d runs, backbone %s, %d/%d images", rep.Complete, len(rep.Runs), rep.Backbone, rep.TrainImages, rep.TestImages)
	}

	// Resuming a finished run trains nothing and prints the same table.
	stdout2, stderr2, err := run(context.Background(), "run", "--resume", "--out", out, "--progress", "log")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr2)
	}
	if got := accuracyTable(t, stdout2); got != table {
		t.Errorf("resumed table differs:\n%s\nwant\n%s", got, table)
	}
	if strings.Contains(stderr2, "msg=epoch") {
		t.Errorf("resuming a finished run trained epochs:\n%s", stderr2)
	}
	if !strings.Contains(stderr2, "0 of 8 downstream runs trained in this session, 8 read back") ||
		!strings.Contains(stderr2, "pretraining read back") {
		t.Errorf("resume summary missing:\n%s", stderr2)
	}

	// Without --resume the same directory is refused; with another architecture too.
	if _, _, err := run(context.Background(), tinyArgs(root, out)...); err == nil ||
		!strings.Contains(err.Error(), "--resume") || !strings.Contains(err.Error(), "already holds results") {
		t.Errorf("rerun into a full --out: err = %v", err)
	}
	_, _, err = run(context.Background(), "run", "--resume", "--out", out, "--model", "convnet:4-16", "--progress", "log")
	if err == nil || !strings.Contains(err.Error(), "--resume") || !strings.Contains(err.Error(), "convnet-4-8") {
		t.Errorf("resume with another model: err = %v", err)
	}
	if _, _, err = run(context.Background(), "run", "--resume", "--out", out, "--finetune-epochs", "2", "--progress", "log"); err == nil ||
		!strings.Contains(err.Error(), "other settings") || !strings.Contains(err.Error(), "leave out --finetune-epochs") {
		t.Errorf("resume with other epochs: err = %v", err)
	}

	// A failed resume (the pretrained weights deleted) leaves the complete report as it
	// was, and its hint does not blame flags that were not given.
	reportBefore, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := os.Remove(filepath.Join(out, "checkpoints", ssl.PretrainedFile)); err != nil {
		t.Fatal(err)
	}
	_, stderr3, err := run(context.Background(), "run", "--resume", "--out", out, "--progress", "log")
	if err == nil || !strings.Contains(err.Error(), ssl.PretrainedFile) || strings.Contains(err.Error(), "leave") || strings.Contains(err.Error(), "these settings") {
		t.Errorf("resume without the pretrained weights: err = %v\n%s", err, stderr3)
	}
	if reportAfter, _ := os.ReadFile(filepath.Join(out, "report.json")); string(reportAfter) != string(reportBefore) {
		t.Errorf("a failed resume rewrote report.json:\n%s", reportAfter)
	}
}

func TestRunInterruptKeepsFinishedRuns(t *testing.T) {
	root, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	makeFolder(t, root, 4, 10, 5, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testProgress = func(p ssl.Progress) {
		// Stop in the first SSL+SL run: pretraining and the first SL run have finished.
		if p.Stage == ssl.MethodSSL {
			cancel()
		}
	}
	defer func() { testProgress = nil }()
	stdout, stderr, err := run(ctx, tinyArgs(root, out)...)
	testProgress = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "selfsup run --resume --out "+out) {
		t.Errorf("no hint how to resume:\n%s", stderr)
	}
	runs, _ := filepath.Glob(filepath.Join(out, "checkpoints", "runs", "*.json"))
	if len(runs) != 1 {
		t.Errorf("%d finished runs kept, want 1: %v", len(runs), runs)
	}
	// The partial table: the first SL cell is filled, the SSL+SL row is not.
	if table := accuracyTable(t, stdout); !regexp.MustCompile(`(?m)^\| SL \| \d+\.\d\d% ± 0\.00 \| – \|$`).MatchString(table) ||
		!strings.Contains(table, "| SSL+SL | – | – |") {
		t.Errorf("partial table:\n%s", table)
	}
	f, err := os.Open(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("no partial report: %v", err)
	}
	rep, err := ssl.ReadReportJSON(f)
	f.Close()
	if err != nil || rep.Complete || len(rep.Runs) != 1 || rep.Runs[0].Method != ssl.MethodSL {
		t.Errorf("partial report: %+v, %v", rep, err)
	}

	// The summaries count finished runs: the one stopped in flight is not one.
	if !strings.Contains(stderr, "1 of 1 downstream runs trained in this session, 0 read back") || !strings.Contains(stderr, "1 stopped in flight") ||
		!strings.Contains(stderr, "interrupted: 1 of 8 downstream runs finished") {
		t.Errorf("interrupted summary:\n%s", stderr)
	}

	stdout, stderr, err = run(context.Background(), "run", "--resume", "--out", out, "--progress", "log")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "7 of 8 downstream runs trained in this session, 1 read back") || !strings.Contains(stderr, "pretraining read back") {
		t.Errorf("resume summary:\n%s", stderr)
	}
	if !strings.Contains(accuracyTable(t, stdout), "| SSL+SL |") {
		t.Errorf("no table after resuming:\n%s", stdout)
	}
}

func TestRunBadConfigurationFailsBeforeTraining(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	full := filepath.Join(tmp, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(tmp, "imgs")
	makeFolder(t, folder, 2, 4, 2, 8)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--model", "vgg16"}, []string{"--model", "unknown name"}},
		{[]string{"--model", "resnet21"}, []string{"--model", "resnet21"}},
		{[]string{"--model", "convnet:8-x"}, []string{"--model", "not a number"}},
		{[]string{"--task", "jigsaw"}, []string{"--task", "unknown pretext task"}},
		{[]string{"--task", "simclr,simclr"}, []string{"--task", "given twice"}},
		{[]string{"--pretrain-optimizer", "rmsprop"}, []string{"--pretrain-optimizer", "adam, sgd or lars"}},
		{[]string{"--pretrain-schedule", "poly"}, []string{"--pretrain-schedule", "step, cosine or constant"}},
		{[]string{"--weight-decay", "5e-4"}, []string{"--weight-decay", "not adam"}},
		{[]string{"--pretrain-lr", "-1"}, []string{"--pretrain-lr"}},
		{[]string{"--data", "imagenet:/x"}, []string{"--data", "unknown data source"}},
		{[]string{"--data", "cifar10:"}, []string{"--data", "cifar10:PATH"}},
		{[]string{"--data", "cifar10:" + filepath.Join(tmp, "nope.tar.gz")}, []string{"--data cifar10:", "nope.tar.gz"}},
		{[]string{"--data", "stl10:" + filepath.Join(tmp, "nope")}, []string{"--data stl10:", "nope"}},
		{[]string{"--data", "folder:" + filepath.Join(tmp, "nope")}, []string{"--data folder:", "nope"}},
		{[]string{"--data", "folder:" + full}, []string{"--data folder:", "train"}},
		{[]string{"--budgets", "6000"}, []string{"--budgets", "more than the N=5000"}},
		{[]string{"--budgets", "70"}, []string{"--budgets", "does not divide N=5000"}},
		{[]string{"--budgets", "625"}, []string{"--budgets", "not a multiple of n_splits"}},
		{[]string{"--budgets", "50,x"}, []string{"--budgets", "not a positive whole number"}},
		{[]string{"--budgets", "folds"}, []string{"--budgets folds", "no predefined folds"}},
		{[]string{"--budgets", "50", "--runs", "101"}, []string{"--runs 101", "n_splits"}},
		{[]string{"--data", "folder:" + folder, "--budgets", "4", "--runs", "3"}, []string{"--runs 3"}},
		{[]string{"--pretrain-epochs", "-1"}, []string{"--pretrain-epochs -1"}},
		{[]string{"--finetune-batch", "-2"}, []string{"--finetune-batch -2"}},
		{[]string{"--limit-unlabeled", "5001"}, []string{"--limit-unlabeled 5001", "5000"}},
		{[]string{"--size", "8x8"}, []string{"--size", "folder"}},
		{[]string{"--data", "folder:" + folder, "--size", "8by8"}, []string{"--size", "HxW"}},
		{[]string{"--seed", "4294967296"}, []string{"--seed"}},
		{[]string{"--lr", "0"}, []string{"--lr"}},
		{[]string{"--progress", "fancy"}, []string{"--progress"}},
		{[]string{"--threads", "-1"}, []string{"--threads"}},
		{[]string{"--batch", "5000"}, []string{"bad configuration (--batch)", "BatchSize(5000)"}},
		{[]string{"extra"}, []string{"unexpected argument"}},
		{[]string{"--nope"}, []string{"unknown flag --nope", "selfsup run -h"}},
		{[]string{"--out", full}, []string{"--out", "already holds results", "--resume"}},
		{[]string{"--resume"}, []string{"--resume", "no run to resume"}},
		{[]string{"--resume", "--out", full}, []string{"--resume", "config.json", "no run to resume"}},
	} {
		args := append([]string{"run", "--out", out, "--progress", "log"}, c.args...)
		_, stderr, err := run(context.Background(), args...)
		if err == nil {
			t.Errorf("%v: no error", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", c.args, err, w)
			}
		}
		if strings.Contains(stderr, "msg=epoch") {
			t.Errorf("%v: trained before failing", c.args)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: created %s before failing", c.args, out)
			os.RemoveAll(out)
		}
	}
}

func TestResolveDefaults(t *testing.T) {
	r, err := resolve(runConfig{Data: dataDefault, Task: taskRotation, LR: 1e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := presets[dataDefault]
	if r.cfg.Model != p.model || r.cfg.PretrainEpochs != p.pretrainEpochs || r.cfg.Runs != p.runs || r.cfg.Budgets != p.budgets {
		t.Errorf("defaults not applied: %+v", r.cfg)
	}
	// Explicit values win.
	r, err = resolve(runConfig{Data: "cifar10:x", Model: "resnet8", Task: taskRotationAll, PretrainEpochs: 3, LR: 0.01, Budgets: "10"})
	if err != nil {
		t.Fatal(err)
	}
	if r.backbone.Name() != "resnet8v1" || r.tasks[0].task.Name() != "rotation-all" || r.cfg.PretrainEpochs != 3 || r.cfg.FinetuneEpochs != presets[dataCIFAR10].finetuneEpochs {
		t.Errorf("resolved %+v, backbone %s, task %s", r.cfg, r.backbone.Name(), r.tasks[0].task.Name())
	}
}

// The default budgets of every preset over the embedded data must be exactly balanced,
// with the default number of runs available.
func TestDefaultBudgetsAreBalanced(t *testing.T) {
	train, err := datasets.Default(datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	labels := ssl.Labels(train)
	p := presets[dataDefault]
	sizes, _, err := parseBudgets(p.budgets)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		if err := folds.CheckBalanced(labels, n); err != nil {
			t.Error(err)
		}
		if len(labels)/n < p.runs {
			t.Errorf("n_labels=%d has %d folds, fewer than %d runs", n, len(labels)/n, p.runs)
		}
	}
}

func TestParseModel(t *testing.T) {
	for name, want := range map[string]string{
		"resnet20": "resnet20v1", "resnet20v1": "resnet20v1", "resnet56v2": "resnet56v2",
		"resnet50v2": "resnet50v2", "convnet": "convnet-32-64-128", "convnet:8-16": "convnet-8-16",
	} {
		b, err := parseModel(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b.Name() != want {
			t.Errorf("%s: Name %q, want %q", name, b.Name(), want)
		}
	}
	for _, name := range []string{"", "resnet", "resnetx", "resnet22", "resnet57v2", "convnet:", "convnet:0", "alexnet"} {
		if _, err := parseModel(name); err == nil {
			t.Errorf("%q: no error", name)
		}
	}
}

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := runConfig{Data: "folder:/x", Size: "8x8", Model: "convnet", Task: taskRotationAll, PretrainEpochs: 2,
		FinetuneEpochs: 3, Budgets: "4,8", Runs: 2, Seed: 7, Batch: 16, FinetuneBatch: 8, LR: 0.01, Probe: true, LimitUnlabeled: 9}
	if err := writeConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := readConfig(filepath.Join(dir, configFile))
	if err != nil || got != cfg {
		t.Fatalf("read %+v, %v; want %+v", got, err, cfg)
	}
	// --resume takes the saved settings and lets flags override them.
	got2, o, err := parseRunArgs([]string{"--resume", "--out", dir, "--runs", "1"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := cfg
	want.Runs = 1
	if got2 != want || !o.resume || o.out != dir {
		t.Errorf("resume config %+v, want %+v", got2, want)
	}
	b, _ := json.Marshal(map[string]any{"data": "default", "modle": "x"})
	os.WriteFile(filepath.Join(dir, configFile), b, 0o644)
	if _, err := readConfig(filepath.Join(dir, configFile)); err == nil || !strings.Contains(err.Error(), "modle") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

func TestLimitDataset(t *testing.T) {
	train, err := datasets.Default(datasets.Train)
	if err != nil {
		t.Fatal(err)
	}
	d, err := limitDataset(train, 10)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10 || d.Label(9) != train.Label(9) {
		t.Fatalf("Len %d, label %d", d.Len(), d.Label(9))
	}
	bf, ok := d.(ssl.BatchFiller)
	if !ok {
		t.Fatal("the fast path was lost")
	}
	c, h, w := bf.Shape()
	dst := make([]float32, c*h*w)
	if err := bf.FillBatch(dst, []int{10}); err == nil {
		t.Error("index 10 of 10 images filled")
	}
	if err := bf.FillBatch(dst, []int{9}); err != nil {
		t.Error(err)
	}
	if d, _ := limitDataset(train, 5000); d != ssl.Dataset(train) {
		t.Error("a limit of all images wrapped the set")
	}
}

// TestFolderUnlabeledFlat checks folder:PATH with a flat PATH/unlabeled (images, no class
// subfolders): it becomes the pretraining set, while a flat PATH/train is refused by name.
func TestFolderUnlabeledFlat(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, 2, 4, 2, 8)
	unl := filepath.Join(root, "unlabeled")
	if err := os.MkdirAll(unl, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "train", "class0", "000.png"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := os.WriteFile(filepath.Join(unl, fmt.Sprintf("u%d.png", i)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := openData(dataSource{kind: dataFolder, path: root}, openOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.unlabeled.Len() != 5 || d.train.Len() != 8 || d.unlabeled.Label(0) != ssl.NoLabel {
		t.Fatalf("unlabeled %d images (label %d), train %d; want 5 unlabeled images and 8 training images",
			d.unlabeled.Len(), d.unlabeled.Label(0), d.train.Len())
	}

	flat := t.TempDir()
	for _, part := range []string{"train", "test"} {
		if err := os.MkdirAll(filepath.Join(flat, part), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(flat, part, "a.png"), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = openData(dataSource{kind: dataFolder, path: flat}, openOptions{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(flat, "train")) || !strings.Contains(err.Error(), "no class subfolders") {
		t.Fatalf("flat train folder: err = %v, want one naming %s and the missing class subfolders", err, filepath.Join(flat, "train"))
	}
}

// Several --task values give one table with a row per method over the same folds, and
// the combined run resumes.
func TestRunSeveralTasksOneTable(t *testing.T) {
	root, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	makeFolder(t, root, 4, 10, 5, 8)
	args := append(tinyArgs(root, out), "--task", "rotation,simclr")
	stdout, stderr, err := run(context.Background(), args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	table := accuracyTable(t, stdout)
	for _, row := range []string{"| SL |", "| rotation+SL |", "| simclr+SL |", "| gain of simclr+SL |"} {
		if !strings.Contains(table, row) {
			t.Errorf("no row %q in\n%s", row, table)
		}
	}
	for _, dir := range []string{"rotation", "simclr"} {
		if _, err := os.Stat(filepath.Join(out, checkpointsDir, dir, ssl.PretrainedFile)); err != nil {
			t.Errorf("checkpoints of %s: %v", dir, err)
		}
	}
	again, stderr, err := run(context.Background(), "run", "--resume", "--out", out, "--progress", "log")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if accuracyTable(t, again) != table {
		t.Errorf("resumed table differs:\n%s\nwant\n%s", accuracyTable(t, again), table)
	}
	if !strings.Contains(stderr, "0 of") {
		t.Errorf("the resumed session trained again:\n%s", stderr)
	}
}

// solo-learn's recipes through the command line: SGD or LARS with weight decay and a cosine
// schedule for pretraining; the downstream runs keep the seed's Adam.
func TestRunPretrainOptimizerFlags(t *testing.T) {
	root := t.TempDir()
	makeFolder(t, root, 4, 10, 5, 8)
	for _, o := range []string{"sgd", "lars"} {
		out := filepath.Join(t.TempDir(), "r")
		args := tinyArgs(root, out, "--task", "simclr", "--pretrain-optimizer", o, "--pretrain-lr", "0.06",
			"--weight-decay", "5e-4", "--pretrain-schedule", "cosine", "--budgets", "8", "--runs", "1")
		if _, stderr, err := run(context.Background(), args...); err != nil {
			t.Fatalf("--pretrain-optimizer %s: %v\n%s", o, err, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, configFile))
		if err != nil || !strings.Contains(string(b), `"pretrain_optimizer": "`+o+`"`) {
			t.Fatalf("config.json does not record the optimizer: %v\n%s", err, b)
		}
	}
}
