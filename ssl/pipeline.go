package ssl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files a pipeline with a CheckpointDir keeps there.
const (
	// PretrainedFile holds the kept (best) pretrained backbone: the "backbone/..."
	// parameters and the per-pixel mean image "input/pixel_mean", with the backbone's Name
	// as the checkpoint architecture. FromPretrained reads it.
	PretrainedFile = "pretrained.safetensors"
	// PretrainLastFile holds the pretext network and optimizer state after the last
	// finished pretraining epoch, to resume from.
	PretrainLastFile = "pretrain-last.safetensors"
	// PretrainResultFile marks pretraining as finished and holds its PretrainResult.
	PretrainResultFile = "pretrain.json"
	// RunsDir holds one JSON file per finished downstream run.
	RunsDir = "runs"
)

// PixelMeanParam is the name of the per-pixel mean image in checkpoints.
const PixelMeanParam = "input/pixel_mean"

// Pipeline composes the stages of an experiment: pretraining a backbone on a pretext
// task, transferring it to a classifier, and comparing it with a supervised baseline over
// label budgets. Build one with New and the methods below, each of which returns a new
// Pipeline (the receiver is not changed, so a base pipeline can be extended several
// ways); nothing runs until Evaluate. Configuration errors are reported by Evaluate (or
// Check) before any training.
type Pipeline struct {
	backbone   Backbone
	opts       []Option
	task       PretextTask
	unlabeled  Dataset
	preOpts    []Option
	pretrained string
	transfer   Transfer
	compare    bool
	errs       []error
}

// New starts a pipeline for backbone. opts are pipeline options (Seed, Logger,
// OnProgress, CheckpointDir) and defaults for both stages (Epochs, BatchSize, ...).
func New(backbone Backbone, opts ...Option) *Pipeline {
	p := &Pipeline{backbone: backbone, opts: slices.Clone(opts)}
	if backbone == nil {
		p.errs = append(p.errs, fmt.Errorf("ssl: New: nil backbone: %w", ErrNoBackbone))
	}
	return p
}

// ErrNoBackbone is matched (errors.Is) by the error of a Pipeline that has no backbone:
// a zero or nil Pipeline (not made by New), or New(nil). Evaluate, Check and Encoder
// return it; the builder methods never panic on such a pipeline.
var ErrNoBackbone = errors.New("ssl: the pipeline has no backbone; start it with ssl.New(backbone)")

// check returns the first configuration error recorded while building p, or
// ErrNoBackbone for a nil or zero Pipeline.
func (p *Pipeline) check() error {
	if p == nil || (p.backbone == nil && len(p.errs) == 0) {
		return ErrNoBackbone
	}
	if len(p.errs) > 0 {
		return p.errs[0]
	}
	return nil
}

func (p *Pipeline) clone() *Pipeline {
	if p == nil {
		p = &Pipeline{}
	}
	c := *p
	c.opts = slices.Clone(p.opts)
	c.preOpts = slices.Clone(p.preOpts)
	c.errs = slices.Clone(p.errs)
	return &c
}

// Pretrain adds self-supervised pretraining: the backbone learns task on the images of
// unlabeled (their labels, if any, are ignored), with opts for this stage (Epochs,
// BatchSize, ValidationFraction, ...). The weights of the epoch with the best validation
// score (or loss) are kept, and their backbone is what the transfer starts from.
func (p *Pipeline) Pretrain(task PretextTask, unlabeled Dataset, opts ...Option) *Pipeline {
	c := p.clone()
	switch {
	case task == nil:
		c.errs = append(c.errs, errors.New("ssl: Pretrain: nil pretext task"))
	case unlabeled == nil:
		c.errs = append(c.errs, errors.New("ssl: Pretrain: nil dataset"))
	case c.task != nil:
		c.errs = append(c.errs, errors.New("ssl: Pretrain: given twice"))
	}
	c.task, c.unlabeled, c.preOpts = task, unlabeled, slices.Clone(opts)
	return c
}

// FromPretrained starts the transfer from a pretrained backbone saved in the file at path
// (a PretrainedFile written by an earlier pipeline) instead of pretraining. The file must
// be for the same architecture (the backbone's Name) and hold every backbone parameter.
func (p *Pipeline) FromPretrained(path string) *Pipeline {
	c := p.clone()
	if path == "" {
		c.errs = append(c.errs, errors.New("ssl: FromPretrained: empty path"))
	}
	c.pretrained = path
	return c
}

// Transfer sets how the pretrained backbone becomes a classifier and the downstream
// training options: FineTune(opts...) (the default) or LinearProbe(opts...).
func (p *Pipeline) Transfer(t Transfer) *Pipeline {
	c := p.clone()
	c.transfer = t
	return c
}

// CompareSupervised adds the supervised baseline (MethodSL): the same classifier trained
// from random initialisation on the same labels, with the same options and seed.
func (p *Pipeline) CompareSupervised() *Pipeline {
	c := p.clone()
	c.compare = true
	return c
}

// Check validates the whole configuration against the data without training: everything
// Evaluate checks before it starts (options, dataset shapes and labels, label budgets,
// that the networks build, saved checkpoints and results). It returns the first problem
// found, naming the parameter.
func (p *Pipeline) Check(ctx context.Context, train, test Dataset, budgets LabelBudgets) error {
	_, err := p.plan(ctx, train, test, budgets)
	return err
}

// Evaluate runs the pipeline: pretraining (or loading the pretrained backbone), then for
// every run of every label budget the transfer (MethodSSL) and, with CompareSupervised, the
// baseline (MethodSL), each trained on the run's labeled images of train and tested on
// every image of test. train is the labeled pool the budgets index (for the seed's
// experiment, the same 50,000 CIFAR-10 training images that are pretrained on); budgets is
// typically folds.Stratified(100, 250, ...).WithRuns(r).WithSeed(s).
//
// The configuration is validated first; a problem there returns a nil report. Once
// training has started, an error (a cancelled ctx, a non-finite loss, a failed write)
// stops the evaluation between steps and returns the report of what had finished
// (Report.Complete false) with the error. With a CheckpointDir, running Evaluate again
// continues where it stopped.
func (p *Pipeline) Evaluate(ctx context.Context, train, test Dataset, budgets LabelBudgets) (*Report, error) {
	start := time.Now()
	pl, err := p.plan(ctx, train, test, budgets)
	if err != nil {
		return nil, err
	}
	rep := pl.newReport()
	for _, w := range pl.warnings {
		pl.cfg.logger.Warn(w)
	}
	err = pl.run(ctx, rep)
	rep.Seconds = time.Since(start).Seconds()
	rep.Complete = err == nil
	if pl.cfg.selectRun != nil {
		rep.Missing = pl.missingOf(rep)
	}
	if err != nil {
		pl.cfg.logger.Error("evaluation stopped", "err", err)
	} else {
		pl.cfg.logger.Info("evaluation done", "seconds", short(rep.Seconds))
	}
	return rep, err
}

func (pl *plan) newReport() *Report {
	r := &Report{
		Backbone:    pl.p.backbone.Name(),
		Transfer:    pl.p.transfer.Name(),
		Seed:        pl.cfg.seed,
		Classes:     pl.classes,
		TrainImages: pl.train.Len(),
		TestImages:  pl.test.Len(),
		Budgets:     slices.Clone(pl.sizes),
		Methods:     slices.Clone(pl.methods),
		Warnings:    slices.Clone(pl.warnings),
		Runs:        []RunResult{},
	}
	if pl.p.task != nil {
		r.Task = pl.p.task.Name()
	}
	return r
}

// startingPoint returns what the downstream runs start from: the pretrained backbone (read
// by FromPretrained, or pretrained now or read back, recorded in rep) and the mean image
// the inputs are centred with (the pretraining's, or without one the training images').
func (pl *plan) startingPoint(ctx context.Context, rep *Report) (*pretrained, []float32, error) {
	var pre *pretrained
	switch {
	case pl.loaded != nil:
		pre = pl.loaded
		res := pre.result
		rep.Pretrain = &res
		rep.Task = res.Task
	case pl.p.task != nil:
		var err error
		if pre, err = pl.pretrain(ctx, rep); err != nil {
			return nil, nil, err
		}
	}
	if pre != nil {
		return pre, pre.mean, nil
	}
	mean, err := PixelMean(ctx, pl.train)
	if err != nil {
		return nil, nil, fmt.Errorf("ssl: mean image of the training images: %w", err)
	}
	return nil, mean, nil
}

// run executes the planned stages into rep.
func (pl *plan) run(ctx context.Context, rep *Report) error {
	if d := pl.cfg.ckptDir; d != "" {
		if err := os.MkdirAll(filepath.Join(d, RunsDir), 0o755); err != nil {
			return fmt.Errorf("ssl: CheckpointDir: %w", err)
		}
	}
	pre, mean, err := pl.startingPoint(ctx, rep)
	if err != nil {
		return err
	}
	for _, g := range pl.grid() {
		if !pl.selected(g.key) {
			continue
		}
		res, err := pl.downstream(ctx, g.key.Method, g.key.NLabels, g.key.Run, g.idx, pre, mean)
		if err != nil {
			return err
		}
		rep.Runs = append(rep.Runs, res)
	}
	return nil
}

// Encoder runs only the pretraining of the pipeline (or reads the FromPretrained file)
// and returns the kept backbone as an Encoder, to embed images with: the representations
// without any downstream run. With a CheckpointDir it resumes or reads back finished
// pretraining, as Evaluate does. The pipeline needs Pretrain or FromPretrained; Transfer
// and CompareSupervised are ignored.
//
//	enc, err := ssl.New(b, ssl.Seed(1)).Pretrain(task, unlabeled, ssl.Epochs(20)).Encoder(ctx)
//	train, err := enc.Embed(ctx, labeled)   // embedding.Matrix, one row per image
func (p *Pipeline) Encoder(ctx context.Context) (*Encoder, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if p.task == nil && p.pretrained == "" {
		return nil, errors.New("ssl: Encoder: the pipeline has neither Pretrain nor FromPretrained")
	}
	if p.task != nil && p.pretrained != "" {
		return nil, errors.New("ssl: both Pretrain and FromPretrained were given; use one")
	}
	pl := &plan{p: p}
	pl.cfg = defaultConfig()
	if err := pl.cfg.apply("New", func(where) bool { return true }, p.opts); err != nil {
		return nil, err
	}
	pl.pre = pl.cfg
	if err := pl.pre.apply("Pretrain", func(w where) bool { return w != pipelineOnly }, p.preOpts); err != nil {
		return nil, err
	}
	if p.pretrained != "" {
		b, err := LoadEncoder(p.pretrained, p.backbone)
		if err != nil {
			return nil, fmt.Errorf("ssl: FromPretrained: %w", err)
		}
		return b, nil
	}
	var err error
	if pl.c, pl.h, pl.w, err = Shape(p.unlabeled); err != nil {
		return nil, fmt.Errorf("ssl: Pretrain: unlabeled dataset: %w", err)
	}
	if err := pl.planPretrain(); err != nil {
		return nil, err
	}
	if err := pl.hashData(ctx, false); err != nil {
		return nil, err
	}
	if err := pl.checkSaved(); err != nil {
		return nil, err
	}
	for _, w := range pl.warnings {
		pl.cfg.logger.Warn(w)
	}
	if d := pl.cfg.ckptDir; d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("ssl: CheckpointDir: %w", err)
		}
	}
	pre, err := pl.pretrain(ctx, &Report{})
	if err != nil {
		return nil, err
	}
	return newEncoder(p.backbone, pre.backbone, pre.mean, pl.c, pl.h, pl.w)
}
