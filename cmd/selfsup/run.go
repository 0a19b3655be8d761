package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/optim"
	"github.com/selfsup/selfsup/ssl"
)

// Files and folders of a results directory (--out).
const (
	configFile     = "config.json"
	checkpointsDir = "checkpoints"
	plotsDir       = "plots"
	reportMD       = "report.md"
	reportCSV      = "report.csv"
	reportJSON     = "report.json"
	defaultOut     = "selfsup-results"
	budgetsFolds   = "folds"
)

// runConfig is every setting that shapes the results of "selfsup run". It is saved as
// config.json in the results directory, and --resume starts from it.
type runConfig struct {
	Data           string  `json:"data"`
	Size           string  `json:"size,omitempty"`
	Model          string  `json:"model"`
	Task           string  `json:"task"`
	PretrainEpochs int     `json:"pretrain_epochs"`
	FinetuneEpochs int     `json:"finetune_epochs"`
	Budgets        string  `json:"budgets"`
	Runs           int     `json:"runs"`
	Seed           uint64  `json:"seed"`
	Batch          int     `json:"batch"`
	FinetuneBatch  int     `json:"finetune_batch"`
	LR             float64 `json:"lr"`
	Probe          bool    `json:"probe"`
	LimitUnlabeled int     `json:"limit_unlabeled,omitempty"`
	// Fields added later are omitted when unset, so configurations saved before them
	// resume unchanged.
	Transfer        string  `json:"transfer,omitempty"`
	Augment         string  `json:"augment,omitempty"`
	FinetuneAugment string  `json:"finetune_augment,omitempty"`
	ValFraction     float64 `json:"val_fraction,omitempty"`
	Snapshots       int     `json:"snapshots,omitempty"`
	MonitorKNN      bool    `json:"monitor_knn,omitempty"`
	Pretrained      string  `json:"pretrained,omitempty"`
	PretrainOnly    bool    `json:"pretrain_only,omitempty"`
	PretrainOpt     string  `json:"pretrain_optimizer,omitempty"`
	PretrainLR      float64 `json:"pretrain_lr,omitempty"`
	WeightDecay     float64 `json:"weight_decay,omitempty"`
	PretrainSched   string  `json:"pretrain_schedule,omitempty"`
	AllowUnbalanced bool    `json:"allow_unbalanced,omitempty"`
}

// preset holds the defaults that depend on the data source.
type preset struct {
	model                          string
	pretrainEpochs, finetuneEpochs int
	budgets                        string
	runs                           int
	batch, finetuneBatch           int
}

// presets are the defaults per data source. The embedded default set's are tuned so that
// "selfsup run" finishes in a few minutes on two cores and shows the gain of pretraining at
// the smallest budgets; the others follow the seed experiment (ResNet20 v1) at a scale a
// CPU can do in hours.
var presets = map[string]preset{
	dataDefault: {model: "convnet", pretrainEpochs: 40, finetuneEpochs: 30, budgets: "50,100,250,500", runs: 2, batch: 128, finetuneBatch: 16},
	dataCIFAR10: {model: "resnet20", pretrainEpochs: 30, finetuneEpochs: 40, budgets: "100,250,1000", runs: 1, batch: 128, finetuneBatch: 32},
	dataSTL10:   {model: "resnet20", pretrainEpochs: 30, finetuneEpochs: 40, budgets: budgetsFolds, runs: 1, batch: 128, finetuneBatch: 32},
	dataFolder:  {model: "resnet20", pretrainEpochs: 30, finetuneEpochs: 40, budgets: "100,250,1000", runs: 1, batch: 128, finetuneBatch: 32},
}

// runOptions are the settings of "selfsup run" that do not change its results.
type runOptions struct {
	out      string
	resume   bool
	threads  int
	progress string
	// changed lists the flags given on the command line that change the results (all
	// but --out, --resume, --threads and --progress), for the hints of a failed resume.
	changed []string
	// stage is the command: stageRun ("selfsup run"), stagePretrain, stageShard or
	// stageReport.
	stage string
}

const runUsage = `usage: selfsup run [flags]

Pretrains a backbone on a pretext task (rotation prediction) over the unlabeled images,
fine-tunes it on a few labels (SSL+SL) and compares it with the same network trained on the
same labels from random initialisation (SL), for each label budget n_labels: the labeled
images of a run are one held-out fold of scikit-learn's StratifiedKFold(n_splits =
N/n_labels, shuffle=True, random_state=--seed) over the N training labels. Every run is
tested on every test image.

With no flags it runs on the small dataset embedded in the module. It prints the
comparison table (rows SL and SSL+SL, one column per n_labels) and writes report.md,
report.csv, report.json, PNG curves (plots/) and checkpoints (checkpoints/) to --out.
Ctrl-C (SIGINT, exit status 130) or SIGTERM (143; what timeout, Docker, Kubernetes and SLURM
send) stops after the current step, keeping what finished and writing the partial report; a
second signal kills at once. --resume continues.

Flags left at 0 or "" take the default of the data source:
  default: --model %s --pretrain-epochs %d --finetune-epochs %d --budgets %s --runs %d --finetune-batch %d
  cifar10, folder: --model %s --pretrain-epochs %d --finetune-epochs %d --budgets %s --runs %d --finetune-batch %d
  stl10: the same, with --budgets folds (the 10 predefined folds of 1,000 labels)

Flags:
`

// bindRunFlags defines the flags of "selfsup run" on fs, storing into cfg and o; the
// current values of cfg are the defaults.
func bindRunFlags(fs *flag.FlagSet, cfg *runConfig, o *runOptions) {
	fs.StringVar(&cfg.Data, "data", cfg.Data, dataHelp)
	fs.StringVar(&cfg.Size, "size", cfg.Size, "HxW: resize folder:PATH images to H x W pixels (default: keep their size, which must be the same for all)")
	fs.StringVar(&cfg.Model, "model", cfg.Model, modelHelp)
	fs.StringVar(&cfg.Task, "task", cfg.Task, taskHelp)
	fs.IntVar(&cfg.PretrainEpochs, "pretrain-epochs", cfg.PretrainEpochs, "epochs of pretext training")
	fs.IntVar(&cfg.FinetuneEpochs, "finetune-epochs", cfg.FinetuneEpochs, "epochs of each downstream run (fine-tuning, linear probe or the SL baseline)")
	fs.StringVar(&cfg.Budgets, "budgets", cfg.Budgets, "label budgets n_labels, comma-separated (each must divide the training set and its class counts), or folds (STL-10's predefined folds); n_labels:runs gives one budget its own number of runs, e.g. 100:3,250:3,5000:1")
	fs.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs per budget (disjoint folds) where --budgets gives none; the table shows mean ± std")
	fs.BoolVar(&cfg.AllowUnbalanced, "allow-unbalanced", cfg.AllowUnbalanced, "accept budgets whose runs cannot hold exactly the same number of each class (scikit-learn's nearly balanced folds, e.g. 625 of CIFAR-10's 50,000)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of all randomness and the folds' random_state (at most 2^32-1)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size of pretext training")
	fs.IntVar(&cfg.FinetuneBatch, "finetune-batch", cfg.FinetuneBatch, "batch size of the downstream runs (a budget smaller than it trains on one batch of all its labels)")
	fs.Float64Var(&cfg.LR, "lr", cfg.LR, "Adam learning rate of both stages")
	fs.BoolVar(&cfg.Probe, "probe", cfg.Probe, "transfer by a linear probe (train only a new head on the frozen backbone) instead of fine-tuning")
	fs.IntVar(&cfg.LimitUnlabeled, "limit-unlabeled", cfg.LimitUnlabeled, "pretrain on only the first N unlabeled images (0: all)")
	fs.StringVar(&cfg.Transfer, "transfer", cfg.Transfer, "how the pretrained backbone is evaluated: fine-tune (default), linear-probe, or knn (k=200, t=0.1 votes of the labeled images' embeddings; no training)")
	fs.StringVar(&cfg.Augment, "augment", cfg.Augment, "augmentation of the pretraining images before the pretext task: "+augmentNames)
	fs.StringVar(&cfg.FinetuneAugment, "finetune-augment", cfg.FinetuneAugment, "augmentation of the downstream training images, the same for SL and SSL+SL: "+augmentNames)
	fs.Float64Var(&cfg.ValFraction, "val-fraction", cfg.ValFraction, "fraction of the unlabeled images held out to choose the kept pretraining epoch (default 0.1; -1 for none: keep the last epoch)")
	fs.IntVar(&cfg.Snapshots, "snapshots", cfg.Snapshots, "save the pretrained backbone every N epochs as checkpoints/pretrained-eNNNN.safetensors (0: none)")
	fs.BoolVar(&cfg.MonitorKNN, "monitor-knn", cfg.MonitorKNN, "after every pretraining epoch, log the kNN accuracy of the test images voted on by the training images' embeddings (a diagnostic; it chooses nothing)")
	fs.StringVar(&cfg.Pretrained, "pretrained", cfg.Pretrained, "start the transfer from this pretrained backbone file (pretrained*.safetensors of an earlier run) instead of pretraining")
	fs.BoolVar(&cfg.PretrainOnly, "pretrain-only", cfg.PretrainOnly, "run only the pretraining (and its snapshots); later runs take its file with --pretrained")
	fs.StringVar(&cfg.PretrainOpt, "pretrain-optimizer", cfg.PretrainOpt, "optimizer of pretraining: adam (default, the seed's), sgd (momentum 0.9) or lars (momentum 0.9, eta 0.02; biases and batch norm excluded), as solo-learn's CIFAR recipes")
	fs.Float64Var(&cfg.PretrainLR, "pretrain-lr", cfg.PretrainLR, "learning rate of pretraining (default: --lr); solo-learn's SimCLR recipe with SGD: 0.06 x batch/128")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", cfg.WeightDecay, "weight decay of the sgd or lars pretraining optimizer (e.g. 5e-4)")
	fs.StringVar(&cfg.PretrainSched, "pretrain-schedule", cfg.PretrainSched, "learning-rate schedule of pretraining: step (default: the seed's x0.1 after epoch 80, ...), cosine (decay to 0 over the run, per step) or constant")
	fs.StringVar(&o.out, "out", o.out, "results directory; it must be new or empty unless --resume")
	fs.BoolVar(&o.resume, "resume", o.resume, "continue the run saved in --out: its settings (config.json) are the defaults, finished stages and runs are read back")
	fs.IntVar(&o.threads, "threads", o.threads, "CPU threads (0: all)")
	fs.StringVar(&o.progress, "progress", o.progress, "auto (a progress bar on a terminal, log lines otherwise), bar or log")
}

func newRunFlags(cfg *runConfig, o *runOptions, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bindRunFlags(fs, cfg, o)
	d, c := presets[dataDefault], presets[dataCIFAR10]
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), runUsage, d.model, d.pretrainEpochs, d.finetuneEpochs, d.budgets, d.runs, d.finetuneBatch,
			c.model, c.pretrainEpochs, c.finetuneEpochs, c.budgets, c.runs, c.finetuneBatch)
		fs.PrintDefaults()
	}
	return fs
}

// parseRunArgs parses the flags of "selfsup run". With --resume, the settings saved in the
// results directory are the defaults and the flags given override them.
func parseRunArgs(args []string, stderr io.Writer) (runConfig, runOptions, error) {
	cfg := runConfig{Data: dataDefault, Task: taskRotation, Seed: ssl.DefaultSeed, LR: ssl.DefaultLearningRate}
	o := runOptions{out: defaultOut, progress: progressAuto}
	fs := newRunFlags(&cfg, &o, stderr)
	if err := parseFlags(fs, args); err != nil {
		return cfg, o, err
	}
	if fs.NArg() > 0 {
		return cfg, o, &usageError{fmt.Sprintf("run: unexpected argument %q (flags only; see selfsup run -h)", fs.Arg(0))}
	}
	if o.resume {
		saved, err := readConfig(filepath.Join(o.out, configFile))
		if err != nil {
			return cfg, o, fmt.Errorf("--resume: %w", err)
		}
		cfg = saved
		fs = newRunFlags(&cfg, &o, io.Discard)
		if err := fs.Parse(args); err != nil {
			return cfg, o, err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "out", "resume", "threads", "progress":
		default:
			o.changed = append(o.changed, "--"+f.Name)
		}
	})
	return cfg, o, nil
}

// readConfig reads a saved runConfig.
func readConfig(path string) (runConfig, error) {
	var cfg runConfig
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, fmt.Errorf("%s does not exist: %s holds no run to resume", path, filepath.Dir(path))
	}
	if err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// resolved is a checked configuration, ready to run.
type resolved struct {
	cfg                      runConfig
	augment, finetuneAugment ssl.Augmentation
	src                      dataSource
	h, w                     int
	budgets                  []int // nil for predefined folds
	budgetRuns               []int // runs of each budget (--budgets n:runs, else --runs)
	backbone                 ssl.Backbone
	tasks                    []namedTask // --task, in order
}

// namedTask is a pretext task and the --task name it was given by.
type namedTask struct {
	name string
	task ssl.PretextTask
}

// resolve fills the defaults of cfg's data source and checks every value, naming the flag.
func resolve(cfg runConfig) (*resolved, error) {
	r := &resolved{}
	var err error
	if r.src, err = parseDataSource(cfg.Data); err != nil {
		return nil, fmt.Errorf("--data %w", err)
	}
	p := presets[r.src.kind]
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.Model == "" {
		cfg.Model = p.model
	}
	if cfg.Budgets == "" {
		cfg.Budgets = p.budgets
	}
	def(&cfg.PretrainEpochs, p.pretrainEpochs)
	def(&cfg.FinetuneEpochs, p.finetuneEpochs)
	def(&cfg.Runs, p.runs)
	def(&cfg.Batch, p.batch)
	def(&cfg.FinetuneBatch, p.finetuneBatch)
	for _, f := range []struct {
		name string
		v    int
	}{{"pretrain-epochs", cfg.PretrainEpochs}, {"finetune-epochs", cfg.FinetuneEpochs}, {"runs", cfg.Runs},
		{"batch", cfg.Batch}, {"finetune-batch", cfg.FinetuneBatch}} {
		if f.v < 1 {
			return nil, fmt.Errorf("--%s %d: want at least 1", f.name, f.v)
		}
	}
	if cfg.LimitUnlabeled < 0 {
		return nil, fmt.Errorf("--limit-unlabeled %d: want 0 (all) or a positive count", cfg.LimitUnlabeled)
	}
	if !(cfg.LR > 0) || cfg.LR > 10 {
		return nil, fmt.Errorf("--lr %v: want a learning rate in (0, 10]", cfg.LR)
	}
	if cfg.Seed > 1<<32-1 {
		return nil, fmt.Errorf("--seed %d: want at most 2^32-1 (scikit-learn's random_state range)", cfg.Seed)
	}
	if cfg.Size != "" {
		hs, ws, ok := strings.Cut(strings.ToLower(cfg.Size), "x")
		h, err1 := strconv.Atoi(hs)
		w, err2 := strconv.Atoi(ws)
		if !ok || err1 != nil || err2 != nil || h < 1 || w < 1 {
			return nil, fmt.Errorf("--size %q: want HxW, e.g. 32x32", cfg.Size)
		}
		if r.src.kind != dataFolder {
			return nil, fmt.Errorf("--size %s: only folder:PATH images are resized, not --data %s", cfg.Size, r.src)
		}
		r.h, r.w = h, w
	}
	if cfg.Budgets != budgetsFolds {
		var runs []int
		if r.budgets, runs, err = parseBudgets(cfg.Budgets); err != nil {
			return nil, fmt.Errorf("--budgets %w", err)
		}
		for i, n := range runs {
			if n == 0 {
				runs[i] = cfg.Runs
			}
		}
		r.budgetRuns = runs
	} else if cfg.AllowUnbalanced {
		return nil, errors.New("--allow-unbalanced with --budgets folds: predefined folds are used as they are")
	}
	if r.backbone, err = parseModel(cfg.Model); err != nil {
		return nil, fmt.Errorf("--model %w", err)
	}
	seenTask := map[string]bool{}
	for _, name := range strings.Split(cfg.Task, ",") {
		name = strings.TrimSpace(name)
		task, err := parseTask(name, r.src.kind == dataSTL10)
		if err != nil {
			return nil, fmt.Errorf("--task %w", err)
		}
		if seenTask[name] {
			return nil, fmt.Errorf("--task %s: %q is given twice", cfg.Task, name)
		}
		seenTask[name] = true
		r.tasks = append(r.tasks, namedTask{name, task})
	}
	if len(r.tasks) > 1 && cfg.Pretrained != "" {
		return nil, fmt.Errorf("--task %s with --pretrained: a pretrained file stands for one method; give one --task or leave --pretrained out", cfg.Task)
	}
	switch cfg.Transfer {
	case "", transferFineTune, transferLinearProbe, transferKNN:
	default:
		return nil, fmt.Errorf("--transfer %q: want fine-tune, linear-probe or knn", cfg.Transfer)
	}
	if cfg.Probe && cfg.Transfer != "" && cfg.Transfer != transferLinearProbe {
		return nil, fmt.Errorf("--probe and --transfer %s contradict each other; use --transfer alone", cfg.Transfer)
	}
	if r.augment, err = parseAugment(cfg.Augment); err != nil {
		return nil, fmt.Errorf("--augment %w", err)
	}
	if r.finetuneAugment, err = parseAugment(cfg.FinetuneAugment); err != nil {
		return nil, fmt.Errorf("--finetune-augment %w", err)
	}
	if cfg.ValFraction != -1 && !(cfg.ValFraction >= 0 && cfg.ValFraction < 1) {
		return nil, fmt.Errorf("--val-fraction %v: want a fraction in [0, 1), or -1 for none", cfg.ValFraction)
	}
	switch cfg.PretrainOpt {
	case "", "adam", "sgd", "lars":
	default:
		return nil, fmt.Errorf("--pretrain-optimizer %q: want adam, sgd or lars", cfg.PretrainOpt)
	}
	switch cfg.PretrainSched {
	case "", "step", "cosine", "constant":
	default:
		return nil, fmt.Errorf("--pretrain-schedule %q: want step, cosine or constant", cfg.PretrainSched)
	}
	if cfg.PretrainLR < 0 || cfg.PretrainLR > 10 {
		return nil, fmt.Errorf("--pretrain-lr %v: want a learning rate in (0, 10], or 0 for --lr", cfg.PretrainLR)
	}
	if !(cfg.WeightDecay >= 0 && cfg.WeightDecay < 1) {
		return nil, fmt.Errorf("--weight-decay %v: want a value in [0, 1)", cfg.WeightDecay)
	}
	if cfg.WeightDecay > 0 && (cfg.PretrainOpt == "" || cfg.PretrainOpt == "adam") {
		return nil, fmt.Errorf("--weight-decay %v applies to --pretrain-optimizer sgd or lars, not adam (whose penalty is the layers' L2)", cfg.WeightDecay)
	}
	if cfg.Snapshots < 0 {
		return nil, fmt.Errorf("--snapshots %d: want 0 (none) or a positive number of epochs", cfg.Snapshots)
	}
	if cfg.Pretrained != "" && cfg.PretrainOnly {
		return nil, errors.New("--pretrained and --pretrain-only contradict each other: the first skips pretraining, the second does only that")
	}
	r.cfg = cfg
	return r, nil
}

// parseBudgets parses "100,250,1000" or, with per-budget run counts, "100:3,250:3,1000";
// runs[i] is 0 where a budget gives no count.
func parseBudgets(s string) (sizes, runs []int, err error) {
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		size, count, hasCount := strings.Cut(strings.TrimSpace(f), ":")
		n, err := strconv.Atoi(size)
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("%q: %q is not a positive whole number; want n_labels values like 100,250,1000 (or 100:3 for 3 runs of 100 labels) or folds", s, f)
		}
		r := 0
		if hasCount {
			if r, err = strconv.Atoi(count); err != nil || r < 1 {
				return nil, nil, fmt.Errorf("%q: %q: the runs after the colon must be a positive whole number", s, f)
			}
		}
		if seen[n] {
			return nil, nil, fmt.Errorf("%q: n_labels=%d is given twice", s, n)
		}
		seen[n] = true
		sizes, runs = append(sizes, n), append(runs, r)
	}
	return sizes, runs, nil
}

// labelBudgets returns the label budgets of r over d, checked against the training labels
// (errors name the flag at fault), and the number of labeled runs (budgets x runs).
func (r *resolved) labelBudgets(d *experimentData) (ssl.LabelBudgets, int, error) {
	cfg := r.cfg
	if r.budgets == nil {
		if d.folds == nil {
			return nil, 0, fmt.Errorf("--budgets folds: --data %s has no predefined folds (only stl10 does); give n_labels values such as 100,250,1000", r.src)
		}
		if cfg.Runs > len(d.folds) {
			return nil, 0, fmt.Errorf("--runs %d: --data %s has %d predefined folds", cfg.Runs, r.src, len(d.folds))
		}
		n := len(d.folds[0])
		for i, f := range d.folds[:cfg.Runs] {
			if len(f) != n {
				return nil, 0, fmt.Errorf("--budgets folds: predefined fold %d holds %d images, fold 0 %d", i, len(f), n)
			}
		}
		b := ssl.Budgets(ssl.Budget{NLabels: n, Runs: d.folds[:cfg.Runs]})
		if _, err := b.Check(ssl.Labels(d.train)); err != nil {
			return nil, 0, fmt.Errorf("--budgets folds: %w", err)
		}
		return b, cfg.Runs, nil
	}
	labels := ssl.Labels(d.train)
	b := folds.Stratified(r.budgets...).WithSeed(int64(cfg.Seed))
	if cfg.AllowUnbalanced {
		b = b.AllowUnbalanced()
	}
	if _, err := b.Check(labels); err != nil {
		return nil, 0, fmt.Errorf("--budgets %s (over the %d training images of --data %s): %w", cfg.Budgets, len(labels), r.src, err)
	}
	b, total := withRuns(b.WithRuns(cfg.Runs), r.budgets, r.budgetRuns)
	if _, err := b.Check(labels); err != nil {
		return nil, 0, fmt.Errorf("--runs %d or --budgets %s: %w", cfg.Runs, cfg.Budgets, err)
	}
	return b, total, nil
}

// withRuns gives each budget of b the run count parseBudgets found for it (0: b's Runs),
// and returns the total number of runs.
func withRuns(b folds.StratifiedBudgets, sizes, runs []int) (folds.StratifiedBudgets, int) {
	total := 0
	for i, n := range sizes {
		if runs[i] > 0 && runs[i] != b.Runs() {
			b = b.WithRunsOf(n, runs[i])
		}
		total += b.RunsOf(n)
	}
	return b, total
}

// testProgress, when set by a test, sees every progress report of "selfsup run".
var testProgress func(ssl.Progress)

// runRun is "selfsup run".
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, o, err := parseRunArgs(args, stderr)
	if err != nil {
		return err
	}
	return execute(ctx, cfg, o, stageOptions{}, stdout, stderr)
}

// execute runs the experiment of cfg, or the stage o.stage of it.
func execute(ctx context.Context, cfg runConfig, o runOptions, so stageOptions, stdout, stderr io.Writer) error {
	shard, shards, shardFrom := 0, 0, ""
	if o.stage == stageShard {
		var err error
		if shard, shards, shardFrom, err = shardOf(so.shard, so.shards, os.Getenv); err != nil {
			return err
		}
	}
	r, err := resolve(cfg)
	if err != nil {
		return err
	}
	cfg = r.cfg
	switch o.progress {
	case progressAuto, progressBar, progressLog:
	default:
		return fmt.Errorf("--progress %q: want auto, bar or log", o.progress)
	}
	if o.threads < 0 {
		return fmt.Errorf("--threads %d: want 0 (all CPUs) or a positive count", o.threads)
	}
	if o.out == "" {
		return errors.New("--out: empty directory name")
	}
	if err := checkOutDir(o.out, o.resume); err != nil {
		return err
	}
	if o.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.threads))
	}

	// Output: a bar with compact log lines on a terminal, structured log lines otherwise.
	width, isTerm := terminalWidth(stderr)
	useBar := o.progress == progressBar || (o.progress == progressAuto && isTerm)
	var (
		log *slog.Logger
		b   *bar
	)
	if useBar {
		b = newBar(stderr, width)
		log = slog.New(&lineHandler{print: b.println})
	} else {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	say := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		if b != nil {
			b.println(msg)
		} else {
			fmt.Fprintln(stderr, msg)
		}
	}

	// Data and budgets: every problem is reported here, before any training.
	t0 := time.Now()
	data, err := openData(r.src, openOptions{h: r.h, w: r.w})
	if err != nil {
		return fmt.Errorf("--data %s: %w", r.src, err)
	}
	defer data.Close()
	unlabeled := data.unlabeled
	if n := cfg.LimitUnlabeled; n > 0 {
		if n > unlabeled.Len() {
			return fmt.Errorf("--limit-unlabeled %d: --data %s has only %d unlabeled images", n, r.src, unlabeled.Len())
		}
		if unlabeled, err = limitDataset(unlabeled, n); err != nil {
			return err
		}
	}
	budgets, totalRuns, err := r.labelBudgets(data)
	if err != nil {
		return err
	}
	methods := 1 + len(r.tasks)
	if b != nil {
		b.totalRuns = totalRuns * methods
		if !slices.ContainsFunc(r.budgetRuns, func(n int) bool { return n != cfg.Runs }) {
			b.runsPerBudget = cfg.Runs
		}
	}
	ckpt := filepath.Join(o.out, checkpointsDir)
	tr := newTracker()
	onProgress := func(p ssl.Progress) {
		if testProgress != nil {
			testProgress(p)
		}
		tr.observe(p)
		if b != nil {
			b.update(p)
		}
	}
	// One pipeline per --task, each in its own checkpoint folder when there are several;
	// the supervised baseline belongs to the first.
	taskDir := func(i int) string {
		if len(r.tasks) == 1 {
			return ckpt
		}
		return filepath.Join(ckpt, r.tasks[i].name)
	}
	offsets := gridOffsets(len(r.tasks), totalRuns)
	opts := func(i int) []ssl.Option {
		o := []ssl.Option{ssl.Seed(cfg.Seed), ssl.Logger(log), ssl.OnProgress(onProgress),
			ssl.CheckpointDir(taskDir(i)), ssl.LearningRate(float32(cfg.LR))}
		if shards > 0 {
			off := offsets[i]
			o = append(o, ssl.SelectRuns(func(k ssl.RunKey) bool { return (off+k.Index)%shards == shard }))
		}
		return o
	}
	if shards > 0 && b != nil {
		// The bar counts the shard's runs.
		b.totalRuns = (totalRuns*methods + shards - 1 - shard) / shards
	}
	down := []ssl.Option{ssl.Epochs(cfg.FinetuneEpochs), ssl.BatchSize(cfg.FinetuneBatch)}
	if r.finetuneAugment != nil {
		down = append(down, ssl.Augment(r.finetuneAugment))
	}
	var transfer ssl.Transfer
	switch {
	case cfg.Transfer == transferKNN:
		transfer = ssl.KNNProbe(embedding.DefaultNeighbors, embedding.DefaultTemperature, down...)
	case cfg.Probe || cfg.Transfer == transferLinearProbe:
		transfer = ssl.LinearProbe(down...)
	default:
		transfer = ssl.FineTune(down...)
	}
	pre := append([]ssl.Option{ssl.Epochs(cfg.PretrainEpochs), ssl.BatchSize(cfg.Batch)}, pretrainOptimizer(cfg)...)
	if r.augment != nil {
		pre = append(pre, ssl.Augment(r.augment))
	}
	switch {
	case cfg.ValFraction == -1:
		pre = append(pre, ssl.ValidationFraction(0))
	case cfg.ValFraction > 0:
		pre = append(pre, ssl.ValidationFraction(cfg.ValFraction))
	}
	if cfg.Snapshots > 0 {
		pre = append(pre, ssl.Snapshots(cfg.Snapshots))
	}
	if cfg.MonitorKNN {
		pre = append(pre, ssl.MonitorKNN(data.train, data.test))
	}
	pipes := make([]*ssl.Pipeline, len(r.tasks))
	for i, t := range r.tasks {
		pipes[i] = ssl.New(r.backbone, opts(i)...)
		if cfg.Pretrained != "" {
			pipes[i] = pipes[i].FromPretrained(cfg.Pretrained)
		} else {
			pipes[i] = pipes[i].Pretrain(t.task, unlabeled, pre...)
		}
		pipes[i] = pipes[i].Transfer(transfer)
		if i == 0 {
			pipes[i] = pipes[i].CompareSupervised()
		}
	}
	if cfg.PretrainOnly {
		return pretrainOnly(ctx, pipes, taskDir, o, cfg, say, b, t0)
	}
	for _, pipe := range pipes {
		if err := pipe.Check(ctx, data.train, data.test, budgets); err != nil {
			if errors.Is(err, ssl.ErrNotPretrained) {
				return fmt.Errorf("--out %s: %w; run selfsup pretrain --out %s first, and start the shards once it has finished", o.out, err, o.out)
			}
			return configError(err, o)
		}
	}
	if o.stage == stageShard || o.stage == stageReport {
		e := &expt{train: data.train, test: data.test, budgets: budgets, out: o.out, ckpt: ckpt, o: o, say: say,
			closeBar: func() {
				if b != nil {
					b.close()
				}
			}}
		if o.stage == stageReport {
			names := make([]string, len(r.tasks))
			for i, t := range r.tasks {
				names[i] = t.name
			}
			return reportRun(ctx, pipes, names, e, so.partial, stdout)
		}
		runs := (totalRuns*methods + shards - 1 - shard) / shards
		log.Info("selfsup shard", "shard", shard, "shards", shards, "from", shardFrom, "runs", runs, "of", totalRuns*methods,
			"data", r.src.String(), "out", o.out)
		return shardRun(ctx, pipes, e, shard, shards, runs)
	}
	if err := writeConfig(o.out, cfg); err != nil {
		return err
	}
	log.Info("selfsup run", "data", r.src.String(), "train", data.train.Len(), "test", data.test.Len(),
		"unlabeled", unlabeled.Len(), "model", r.backbone.Name(), "task", cfg.Task, "transfer", transfer.Name(),
		"budgets", cfg.Budgets, "runs", cfg.Runs, "out", o.out, "resume", o.resume, "load_seconds", time.Since(t0).Seconds())

	// Training, method after method.
	onDisk := map[string]bool{}
	for i := range pipes {
		for f := range runFilesOnDisk(taskDir(i)) {
			onDisk[filepath.Join(taskDir(i), f)] = true
		}
	}
	var (
		parts           []ssl.NamedReport
		trained         = map[stageKey]bool{} // runs finished in this session
		stoppedInFlight int
		pretrainedNow   bool
	)
	for i, pipe := range pipes {
		tr = newTracker()
		var part *ssl.Report
		part, err = pipe.Evaluate(ctx, data.train, data.test, budgets)
		if part == nil {
			break
		}
		parts = append(parts, ssl.NamedReport{Name: r.tasks[i].name, Report: part})
		pre, _ := tr.trained()
		for _, run := range part.Runs {
			k := stageKey{run.Method, run.NLabels, run.Run}
			if !onDisk[filepath.Join(taskDir(i), runFileName(k))] {
				trained[stageKey{r.tasks[i].name + "/" + run.Method, run.NLabels, run.Run}] = true
			}
		}
		for _, k := range tr.stages() {
			if k.stage != "pretrain" && !slices.ContainsFunc(part.Runs, func(x ssl.RunResult) bool {
				return x.Method == k.stage && x.NLabels == k.nLabels && x.Run == k.run
			}) {
				stoppedInFlight++
			}
		}
		pretrainedNow = pretrainedNow || pre
		if err != nil {
			break
		}
	}
	if b != nil {
		b.close()
	}
	if len(parts) == 0 {
		// Only a configuration problem (found again by Evaluate) leaves no report.
		return configError(err, o)
	}
	rep := parts[0].Report
	if len(r.tasks) > 1 {
		var cerr error
		if rep, cerr = ssl.Combine(parts...); cerr != nil {
			return errors.Join(err, cerr)
		}
		rep.Complete = rep.Complete && len(parts) == len(pipes) && err == nil
	}
	// The summary counts what is on disk: the finished runs whose files were there before
	// this session are read back, the others finished in it; a run stopped in flight is
	// not a finished one.
	summary := fmt.Sprintf("%d of %d downstream runs trained in this session, %d read back from %s",
		len(trained), len(rep.Runs), len(rep.Runs)-len(trained), ckpt)
	if stoppedInFlight > 0 {
		summary += fmt.Sprintf("; %d stopped in flight (its last finished epoch is kept)", stoppedInFlight)
	}
	switch {
	case pretrainedNow:
		summary += "; pretraining ran in this session"
	case rep.Pretrain != nil || len(rep.Pretrains) > 0:
		summary += "; pretraining read back"
	}
	var (
		files []string
		werr  error
	)
	if keep, why := keepReport(o.out, rep, err); keep {
		// A failed resume never replaces a report holding more finished work.
		say("%s left as it was: %s", filepath.Join(o.out, reportJSON), why)
	} else {
		files, werr = writeReport(o.out, rep)
	}
	// The table, partial after an interruption (its cells without finished runs read "–").
	if perr := rep.WriteMarkdown(stdout); perr != nil && werr == nil {
		werr = perr
	}
	say("%s", summary)
	if werr != nil {
		return errors.Join(err, werr)
	}
	if err != nil {
		// What is kept is what is on disk: the run files, whichever session wrote them.
		fin := 0
		for i := range pipes {
			fin += finishedOnDisk(taskDir(i))
		}
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			say("interrupted: %d of %d downstream runs finished; they are kept in %s.", fin, totalRuns*methods, ckpt)
			say("The partial report is in %s. Continue with:\n  selfsup run --resume --out %s", o.out, o.out)
			return fmt.Errorf("interrupted after %s (%w)", time.Since(t0).Round(time.Second), context.Canceled)
		}
		say("stopped: %d of %d downstream runs finished, kept in %s; the partial report is in %s", fin, totalRuns*methods, ckpt, o.out)
		return err
	}
	say("wrote %s", strings.Join(files, ", "))
	say("done in %s", time.Since(t0).Round(time.Second))
	return nil
}

// configError names the flag behind a problem the pipeline found before training. A
// checkpoint folder that does not fit gets the hint that applies: the flags given with
// --resume when there were some, other data when the data differ.
func configError(err error, o runOptions) error {
	if err == nil {
		return nil
	}
	var me *ssl.MismatchError
	if errors.As(err, &me) {
		cfgPath := filepath.Join(o.out, configFile)
		switch {
		case me.Kind == ssl.MismatchData && o.resume:
			return fmt.Errorf("--resume: the results in %s were computed from other images or labels than --data gives now: %w; resume with the data they were computed from, or use another --out", o.out, err)
		case me.Kind == ssl.MismatchData:
			return fmt.Errorf("--out %s: %w", o.out, err)
		case o.resume && len(o.changed) > 0:
			return fmt.Errorf("--resume: the checkpoints in %s do not fit these settings: %w; resume with the settings of %s (leave out %s) or use another --out",
				o.out, err, cfgPath, strings.Join(o.changed, " "))
		case o.resume:
			return fmt.Errorf("--resume: the checkpoints in %s do not fit the settings saved in %s, as this version of selfsup reads them: %w; use another --out", o.out, cfgPath, err)
		}
		return fmt.Errorf("--out %s: %w", o.out, err)
	}
	// A diverged stage is a setting to change, named with the flags that change it.
	var nonFinite *ssl.NonFiniteError
	var diverged *ssl.DivergedError
	stage := ""
	switch {
	case errors.As(err, &nonFinite):
		stage = nonFinite.Stage
	case errors.As(err, &diverged):
		stage = diverged.Stage
	}
	switch {
	case stage == "pretrain":
		return fmt.Errorf("pretraining diverged: %w; lower --pretrain-lr (or --lr), or use --pretrain-optimizer lars, which bounds every layer's step by its weights' norm", err)
	case stage != "":
		return fmt.Errorf("a downstream run diverged: %w; lower --lr", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "CheckpointDir") {
		if o.resume {
			return fmt.Errorf("--resume: the checkpoints in %s cannot be resumed: %w", o.out, err)
		}
		return fmt.Errorf("--out %s: %w", o.out, err)
	}
	for _, m := range []struct{ in, flag string }{
		{"Pretrain: BatchSize", "--batch"}, {"label budgets", "--budgets"}, {"building", "--model"},
		{"Pretrain: the unlabeled dataset", "--data"}, {"test dataset", "--data"}, {"classes", "--data"},
	} {
		if strings.Contains(msg, m.in) {
			return fmt.Errorf("bad configuration (%s): %w", m.flag, err)
		}
	}
	return fmt.Errorf("bad configuration: %w", err)
}

// keepReport reports whether the report files in out must be left as they are instead of
// being replaced by rep, the outcome of a session that ended with err, and why: a failed
// session never replaces a complete report, nor one holding more finished runs.
func keepReport(out string, rep *ssl.Report, err error) (bool, string) {
	if err == nil {
		return false, ""
	}
	f, ferr := os.Open(filepath.Join(out, reportJSON))
	if ferr != nil {
		return false, ""
	}
	defer f.Close()
	old, rerr := ssl.ReadReportJSON(f)
	if rerr != nil {
		return false, ""
	}
	switch {
	case old.Complete:
		return true, "it is complete and this session failed"
	case len(old.Runs) > len(rep.Runs):
		return true, fmt.Sprintf("it holds %d finished runs, this session's report %d", len(old.Runs), len(rep.Runs))
	}
	return false, ""
}

// finishedOnDisk counts the finished downstream runs kept in the checkpoint folder ckpt:
// their result files.
func finishedOnDisk(ckpt string) int { return len(runFilesOnDisk(ckpt)) }

// runFilesOnDisk returns the names of the result files of finished downstream runs in
// the checkpoint folder ckpt.
func runFilesOnDisk(ckpt string) map[string]bool {
	files, _ := filepath.Glob(filepath.Join(ckpt, ssl.RunsDir, "*.json"))
	out := map[string]bool{}
	for _, f := range files {
		out[filepath.Base(f)] = true
	}
	return out
}

// runFileName is the name of the result file of the downstream run k.
func runFileName(k stageKey) string {
	return strings.TrimSuffix(ssl.ClassifierFile(k.stage, k.nLabels, k.run), ".safetensors") + ".json"
}

// checkOutDir checks that out can take a new run (missing or empty) or, with resume, holds
// one.
func checkOutDir(out string, resume bool) error {
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if resume {
			return fmt.Errorf("--resume: %s does not exist: there is nothing to resume", out)
		}
		return nil
	case err != nil:
		return fmt.Errorf("--out: %w", err)
	case !st.IsDir():
		return fmt.Errorf("--out %s: not a directory", out)
	}
	if resume {
		return nil
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("--out %s already holds results: pass --resume to continue that run, or choose another --out", out)
	}
	return nil
}

// writeConfig saves cfg as out/config.json.
func writeConfig(out string, cfg runConfig) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(out, configFile)
	if err := checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeReport writes the report files and plots into out and returns their paths.
func writeReport(out string, rep *ssl.Report) ([]string, error) {
	var files []string
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{reportMD, rep.WriteMarkdown}, {reportCSV, rep.WriteCSV}, {reportJSON, rep.WriteJSON}} {
		path := filepath.Join(out, f.name)
		if err := checkpoint.WriteFileAtomic(path, f.write); err != nil {
			return files, fmt.Errorf("%s: %w", path, err)
		}
		files = append(files, path)
	}
	plots, err := rep.PlotCurves(filepath.Join(out, plotsDir))
	if len(plots) > 0 {
		files = append(files, fmt.Sprintf("%d plots in %s", len(plots), filepath.Join(out, plotsDir)))
	}
	return files, err
}

// Values of --transfer.
const (
	transferFineTune    = "fine-tune"
	transferLinearProbe = "linear-probe"
	transferKNN         = "knn"
)

// pretrainOnly runs --pretrain-only: the pretraining stage of each method (resumable)
// and its snapshots, written to the checkpoint folders of out.
func pretrainOnly(ctx context.Context, pipes []*ssl.Pipeline, dirs func(int) string, o runOptions, cfg runConfig, say func(string, ...any), b *bar, t0 time.Time) error {
	if err := writeConfig(o.out, cfg); err != nil {
		return err
	}
	var err error
	for i, pipe := range pipes {
		if _, err = pipe.Encoder(ctx); err != nil {
			break
		}
		file := filepath.Join(dirs(i), ssl.PretrainedFile)
		say("pretraining done (%s): %s; transfer from it with --pretrained %s", time.Since(t0).Round(time.Second), file, file)
	}
	if b != nil {
		b.close()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			say("interrupted; the last finished epoch is kept in %s. Continue with:\n  selfsup run --resume --out %s", filepath.Join(o.out, checkpointsDir), o.out)
			return fmt.Errorf("interrupted after %s (%w)", time.Since(t0).Round(time.Second), context.Canceled)
		}
		return configError(err, o)
	}
	return nil
}

// pretrainOptimizer returns the pretraining options of --pretrain-optimizer, --pretrain-lr,
// --weight-decay and --pretrain-schedule; none for the defaults (the seed's Adam and step
// schedule at --lr).
func pretrainOptimizer(cfg runConfig) []ssl.Option {
	var opts []ssl.Option
	if cfg.PretrainLR > 0 {
		opts = append(opts, ssl.LearningRate(float32(cfg.PretrainLR)))
	}
	wd := cfg.WeightDecay
	switch cfg.PretrainOpt {
	case "sgd":
		opts = append(opts, ssl.Optimizer(fmt.Sprintf("sgd-m0.9-wd%g", wd), func() (optim.Optimizer, error) {
			return optim.NewSGD(optim.Momentum(0.9), optim.WeightDecay(wd))
		}))
	case "lars":
		opts = append(opts, ssl.Optimizer(fmt.Sprintf("lars-m0.9-eta0.02-wd%g", wd), func() (optim.Optimizer, error) {
			return optim.NewLARS(optim.Momentum(0.9), optim.Eta(0.02), optim.WeightDecay(wd))
		}))
	}
	switch cfg.PretrainSched {
	case "cosine":
		opts = append(opts, ssl.Schedule("cosine", func(lr float32, epochs, steps int) (optim.Schedule, error) {
			return optim.Cosine(lr, 0, epochs*steps, 0)
		}))
	case "constant":
		opts = append(opts, ssl.ConstantLR())
	}
	return opts
}
