package ssl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/selfsup/selfsup/checkpoint"
	"github.com/selfsup/selfsup/embedding"
	"github.com/selfsup/selfsup/internal/train"
	"github.com/selfsup/selfsup/nn"
)

// plan is a validated configuration, ready to run.
type plan struct {
	p              *Pipeline
	cfg, pre, down config

	c, h, w     int
	classes     int
	train, test Dataset
	trainLabels []int
	testLabels  []int

	sizes    []int
	runs     [][][]int
	methods  []string
	warnings []string

	// Pretraining: the unlabeled indices trained on, the validation set and its indices.
	preTrain []int
	preValDS Dataset
	preVal   []int
	preFP    string

	// preData and runData are the content hashes (contentHash) of what pretraining and
	// the downstream runs read: the unlabeled images (and validation set), and the
	// labeled pool with the test set. Computed only with a CheckpointDir.
	preData, runData string

	// loaded is the backbone read by FromPretrained.
	loaded *pretrained

	// gather is set for Gather: nothing is trained, per-epoch checkpoints are not read.
	gather bool

	// knnTrain and knnTest cache the embeddings of every training and test image for
	// KNNProbe runs, computed once from the pretrained backbone.
	knnTrain, knnTest *embedding.Matrix
}

// pretrained is the outcome of pretraining: the kept backbone weights and the mean image
// the network was trained with.
type pretrained struct {
	backbone map[string][]float32
	mean     []float32
	result   PretrainResult
	fp       string
}

// runFile is what a finished downstream run leaves in RunsDir. Data and Start, the
// content hashes of its data and of the weights it started from, are empty in files
// written before they were recorded.
type runFile struct {
	Fingerprint string    `json:"fingerprint"`
	Data        string    `json:"data,omitempty"`
	Start       string    `json:"start,omitempty"`
	Result      RunResult `json:"result"`
}

// pretrainFile is what finished pretraining leaves in PretrainResultFile. Data, the
// content hash of the images it read, is empty in files written before it was recorded.
type pretrainFile struct {
	Fingerprint string         `json:"fingerprint"`
	Data        string         `json:"data,omitempty"`
	Result      PretrainResult `json:"result"`
}

// plan validates the configuration against the data and resolves every setting.
func (p *Pipeline) plan(ctx context.Context, trainDS, testDS Dataset, budgets LabelBudgets) (*plan, error) {
	return p.planFor(ctx, trainDS, testDS, budgets, false)
}

// planFor is plan, for Gather when gather is set.
func (p *Pipeline) planFor(ctx context.Context, trainDS, testDS Dataset, budgets LabelBudgets, gather bool) (*plan, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	pl := &plan{p: p, train: trainDS, test: testDS, gather: gather}
	pl.cfg = defaultConfig()
	if err := pl.cfg.apply("New", func(where) bool { return true }, p.opts); err != nil {
		return nil, err
	}
	pl.pre, pl.down = pl.cfg, pl.cfg
	if err := pl.pre.apply("Pretrain", func(w where) bool { return w != pipelineOnly }, p.preOpts); err != nil {
		return nil, err
	}
	if err := pl.down.apply(p.transfer.Name(), func(w where) bool { return w == anywhere }, p.transfer.opts); err != nil {
		return nil, err
	}

	if err := p.transfer.check(); err != nil {
		return nil, err
	}
	switch {
	case gather && pl.cfg.ckptDir == "":
		return nil, errors.New("ssl: Gather: the pipeline has no CheckpointDir to gather finished runs from")
	case pl.cfg.selectRun != nil && pl.cfg.ckptDir == "":
		return nil, errors.New("ssl: New: Shard or SelectRuns needs a CheckpointDir, shared by the shards, holding finished pretraining")
	}
	// Methods.
	if p.task != nil && p.pretrained != "" {
		return nil, errors.New("ssl: both Pretrain and FromPretrained were given; use one")
	}
	if p.compare {
		pl.methods = append(pl.methods, MethodSL)
	}
	if p.task != nil || p.pretrained != "" {
		pl.methods = append(pl.methods, MethodSSL)
	}
	if len(pl.methods) == 0 {
		return nil, errors.New("ssl: nothing to evaluate: add Pretrain, FromPretrained or CompareSupervised")
	}

	// Data.
	if trainDS == nil || trainDS.Len() == 0 {
		return nil, errors.New("ssl: Evaluate: the training (labeled pool) dataset is nil or empty")
	}
	if testDS == nil || testDS.Len() == 0 {
		return nil, errors.New("ssl: Evaluate: the test dataset is nil or empty")
	}
	var err error
	if pl.c, pl.h, pl.w, err = Shape(trainDS); err != nil {
		return nil, fmt.Errorf("ssl: Evaluate: training dataset: %w", err)
	}
	if pl.c < 1 || pl.h < 1 || pl.w < 1 {
		return nil, fmt.Errorf("ssl: Evaluate: training images have shape %dx%dx%d", pl.c, pl.h, pl.w)
	}
	if err := pl.sameShape("test dataset", testDS); err != nil {
		return nil, err
	}
	if err := pl.checkLabels(); err != nil {
		return nil, err
	}

	// Budgets.
	if budgets == nil {
		return nil, errors.New("ssl: Evaluate: nil label budgets")
	}
	if pl.warnings, err = budgets.Check(pl.trainLabels); err != nil {
		return nil, fmt.Errorf("ssl: Evaluate: label budgets: %w", err)
	}
	pl.sizes = budgets.Sizes()
	if pl.runs, err = budgets.LabeledRuns(pl.trainLabels); err != nil {
		return nil, fmt.Errorf("ssl: Evaluate: label budgets: %w", err)
	}
	if len(pl.runs) != len(pl.sizes) || len(pl.sizes) == 0 {
		return nil, fmt.Errorf("ssl: Evaluate: label budgets: %d sizes but %d lists of runs", len(pl.sizes), len(pl.runs))
	}
	for bi, runs := range pl.runs {
		if len(runs) == 0 {
			return nil, fmt.Errorf("ssl: Evaluate: label budget n_labels=%d has no runs", pl.sizes[bi])
		}
		for r, run := range runs {
			if len(run) != pl.sizes[bi] {
				return nil, fmt.Errorf("ssl: Evaluate: label budget n_labels=%d, run %d holds %d indices", pl.sizes[bi], r, len(run))
			}
			for _, i := range run {
				if i < 0 || i >= trainDS.Len() {
					return nil, fmt.Errorf("ssl: Evaluate: label budget n_labels=%d, run %d: index %d is out of range [0, %d)", pl.sizes[bi], r, i, trainDS.Len())
				}
			}
		}
	}

	// Networks.
	if p.task != nil {
		if err := pl.planPretrain(); err != nil {
			return nil, err
		}
	}
	for _, frozen := range []bool{false, p.transfer.probe} {
		batch := min(pl.down.batch, slices.Min(pl.sizes))
		_, _, err := checkBuild(true, []int{batch, pl.c, pl.h, pl.w}, []int{batch}, pl.classifierBuild(frozen))
		if err != nil {
			return nil, fmt.Errorf("ssl: Evaluate: building the classifier (%s on %dx%dx%d images, %d classes): %w", p.backbone.Name(), pl.c, pl.h, pl.w, pl.classes, err)
		}
	}

	// Saved state.
	if p.pretrained != "" {
		if pl.loaded, err = pl.loadPretrained(p.pretrained); err != nil {
			return nil, fmt.Errorf("ssl: FromPretrained: %w", err)
		}
	}
	if err := pl.hashData(ctx, true); err != nil {
		return nil, err
	}
	if err := pl.checkSaved(); err != nil {
		return nil, err
	}
	switch {
	case gather:
		if err := pl.checkPretrained("Gather"); err != nil {
			return nil, err
		}
	case pl.cfg.selectRun != nil:
		if err := pl.checkPretrained("Shard/SelectRuns"); err != nil {
			return nil, err
		}
	}
	return pl, ctx.Err()
}

// hashData computes the content hashes of the data the stages read, when there is a
// checkpoint directory to compare them with (they cost one pass over the images); with
// runs, also those of the labeled pool and the test set.
func (pl *plan) hashData(ctx context.Context, runs bool) error {
	if pl.cfg.ckptDir == "" {
		return nil
	}
	if pl.p.task != nil {
		h, err := contentHash(ctx, pl.p.unlabeled, nil)
		if err != nil {
			return fmt.Errorf("ssl: Pretrain: hashing the unlabeled images: %w", err)
		}
		if vs := pl.pre.valSet; vs != nil {
			v, err := contentHash(ctx, vs, nil)
			if err != nil {
				return fmt.Errorf("ssl: Pretrain: hashing the ValidationSet: %w", err)
			}
			h += " validation " + v
		}
		pl.preData = h
	}
	if runs {
		tr, err := contentHash(ctx, pl.train, nil)
		if err != nil {
			return fmt.Errorf("ssl: Evaluate: hashing the training images: %w", err)
		}
		te, err := contentHash(ctx, pl.test, nil)
		if err != nil {
			return fmt.Errorf("ssl: Evaluate: hashing the test images: %w", err)
		}
		pl.runData = "train " + tr + " test " + te
	}
	return nil
}

// ErrMismatch is matched (errors.Is) by the error of a checkpoint directory whose files
// do not fit the configuration: see MismatchError.
var ErrMismatch = errors.New("the checkpoint directory does not fit this configuration")

// Kinds of MismatchError.
const (
	// MismatchSettings: the file was written with other settings (options, sizes, labeled
	// indices, task or backbone names).
	MismatchSettings = "settings"
	// MismatchData: the file was computed from other images or labels (same sizes and
	// shapes, other content), by the content hash.
	MismatchData = "data"
	// MismatchArchitecture: the file is a checkpoint of another backbone.
	MismatchArchitecture = "architecture"
)

// MismatchError reports a file of the checkpoint directory that was written for another
// configuration. Evaluate, Check and Encoder return it before any training and change
// nothing on disk.
type MismatchError struct {
	// Path is the file; Kind one of MismatchSettings, MismatchData, MismatchArchitecture.
	Path, Kind string
	// Detail says what differs: the settings ("epochs 4 there, 5 now"), the content
	// hashes, or the architectures.
	Detail string
}

// Error names the file and what differs.
func (e *MismatchError) Error() string {
	switch e.Kind {
	case MismatchData:
		return fmt.Sprintf("ssl: CheckpointDir: %s was computed from other images or labels (%s); use another directory or remove the file", e.Path, e.Detail)
	case MismatchArchitecture:
		return fmt.Sprintf("ssl: CheckpointDir: %s is a checkpoint of %s", e.Path, e.Detail)
	}
	return fmt.Sprintf("ssl: CheckpointDir: %s was written with other settings (%s); use another directory or remove the file", e.Path, e.Detail)
}

// Is makes a MismatchError match ErrMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// checkData compares the content hash stored with a file (empty when it was written
// before hashes were recorded) with want. A missing hash is accepted with a warning, so
// that directories written by earlier versions still resume.
func (pl *plan) checkData(path, stored, want string) error {
	switch {
	case want == "" || stored == want:
		return nil
	case stored == "":
		pl.warnings = append(pl.warnings, fmt.Sprintf("%s was written before content hashes were recorded: the images it was computed from cannot be checked; it is resumed as it is", path))
		return nil
	}
	return &MismatchError{Path: path, Kind: MismatchData, Detail: fmt.Sprintf("content hash %s there, %s now", stored, want)}
}

// sameShape checks that ds has the shape of the training images.
func (pl *plan) sameShape(what string, ds Dataset) error {
	c, h, w, err := Shape(ds)
	if err != nil {
		return fmt.Errorf("ssl: %s: %w", what, err)
	}
	if c != pl.c || h != pl.h || w != pl.w {
		return fmt.Errorf("ssl: %s has %dx%dx%d images, the training dataset %dx%dx%d", what, c, h, w, pl.c, pl.h, pl.w)
	}
	return nil
}

// checkLabels sets the number of classes and checks every label of train and test.
func (pl *plan) checkLabels() error {
	pl.trainLabels = Labels(pl.train)
	pl.testLabels = Labels(pl.test)
	pl.classes = len(pl.train.Classes())
	if pl.classes == 0 {
		for _, l := range pl.trainLabels {
			pl.classes = max(pl.classes, l+1)
		}
	}
	if pl.classes < 2 {
		return fmt.Errorf("ssl: Evaluate: the training dataset has %d classes, need at least 2", pl.classes)
	}
	if tc := len(pl.test.Classes()); tc != 0 && tc != pl.classes {
		return fmt.Errorf("ssl: Evaluate: the test dataset has %d classes, the training dataset %d", tc, pl.classes)
	}
	for what, labels := range map[string][]int{"training": pl.trainLabels, "test": pl.testLabels} {
		for i, l := range labels {
			if l < 0 || l >= pl.classes {
				if l == NoLabel {
					return fmt.Errorf("ssl: Evaluate: %s image %d has no label", what, i)
				}
				return fmt.Errorf("ssl: Evaluate: %s image %d has label %d, outside [0, %d)", what, i, l, pl.classes)
			}
		}
	}
	return nil
}

// planPretrain validates the pretext task and splits the unlabeled images.
func (pl *plan) planPretrain() error {
	task, ds := pl.p.task, pl.p.unlabeled
	if ds.Len() == 0 {
		return errors.New("ssl: Pretrain: the unlabeled dataset is empty")
	}
	if err := pl.sameShape("Pretrain: the unlabeled dataset", ds); err != nil {
		return err
	}
	if sc, ok := task.(ShapeChecker); ok {
		if err := sc.CheckShape(pl.c, pl.h, pl.w); err != nil {
			return fmt.Errorf("ssl: Pretrain: task %s: %w", task.Name(), err)
		}
	}
	if dc, ok := task.(DataChecker); ok {
		if err := dc.CheckData(ds); err != nil {
			return fmt.Errorf("ssl: Pretrain: task %s: %w", task.Name(), err)
		}
	}
	v := task.Views()
	if v < 1 {
		return fmt.Errorf("ssl: Pretrain: task %s has %d views per image, need at least 1", task.Name(), v)
	}
	if ts := task.TargetShape(pl.pre.batch * v); ts != nil {
		if len(ts) == 0 || ts[0] != pl.pre.batch*v || slices.Min(ts) < 1 {
			return fmt.Errorf("ssl: Pretrain: task %s: TargetShape(%d) = %v, want positive dimensions with %d first", task.Name(), pl.pre.batch*v, ts, pl.pre.batch*v)
		}
	}
	n := ds.Len()
	if vs := pl.pre.valSet; vs != nil {
		if err := pl.sameShape("Pretrain: ValidationSet", vs); err != nil {
			return err
		}
		pl.preTrain = indices(n)
		pl.preValDS, pl.preVal = vs, indices(vs.Len())
	} else {
		nVal := int(pl.pre.valFrac * float64(n))
		if pl.pre.valFrac > 0 && nVal == 0 {
			nVal = 1
		}
		perm := indices(n)
		newRand(pl.cfg.seed, tagSplit).Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		pl.preVal, pl.preTrain = perm[:nVal], perm[nVal:]
		slices.Sort(pl.preVal)
		slices.Sort(pl.preTrain)
		pl.preValDS = ds
	}
	if ref, q := pl.pre.monitorRef, pl.pre.monitorQuery; ref != nil {
		if err := pl.sameShape("Pretrain: MonitorKNN reference set", ref); err != nil {
			return err
		}
		if err := pl.sameShape("Pretrain: MonitorKNN query set", q); err != nil {
			return err
		}
		classes := len(ref.Classes())
		for k, ds := range []Dataset{ref, q} {
			for i, l := range Labels(ds) {
				if l < 0 || (classes > 0 && l >= classes) {
					return fmt.Errorf("ssl: Pretrain: MonitorKNN: image %d of the %s set has label %d; every image needs one of the reference set's %d classes", i, []string{"reference", "query"}[k], l, classes)
				}
			}
		}
	}
	if pl.pre.snapshotEvery > 0 && pl.cfg.ckptDir == "" {
		return errors.New("ssl: Pretrain: Snapshots needs a CheckpointDir to write into")
	}
	if pl.pre.batch > len(pl.preTrain) {
		return fmt.Errorf("ssl: Pretrain: BatchSize(%d) is more than the %d pretext training images", pl.pre.batch, len(pl.preTrain))
	}
	b := pl.pre.batch * v
	var targets []int
	if ts := task.TargetShape(b); ts != nil {
		targets = ts
	}
	loss, out, err := checkBuild(true, []int{b, pl.c, pl.h, pl.w}, targets, pl.pretextBuild(nil))
	if err != nil {
		return fmt.Errorf("ssl: Pretrain: building %s with task %s on %dx%dx%d images: %w", pl.p.backbone.Name(), task.Name(), pl.c, pl.h, pl.w, err)
	}
	if loss == nil || loss.Shape().TotalSize() != 1 {
		return fmt.Errorf("ssl: Pretrain: task %s: Head must return a scalar loss", task.Name())
	}
	if _, ok := task.(Scorer); ok && out == nil {
		return fmt.Errorf("ssl: Pretrain: task %s is a Scorer but its Head returns no output node", task.Name())
	}
	valName := strconv.FormatFloat(pl.pre.valFrac, 'g', -1, 64)
	if pl.pre.valSet != nil {
		valName = fmt.Sprintf("set of %d images", pl.pre.valSet.Len())
	}
	fp := fingerprint{
		"stage": "pretrain", "backbone": pl.p.backbone.Name(), "task": task.Name(),
		"unlabeled_images": n, "shape": []int{pl.c, pl.h, pl.w}, "validation": valName,
		"epochs": pl.pre.epochs, "batch": pl.pre.batch, "lr": pl.pre.lr, "optimizer": pl.pre.optName,
		"schedule": pl.pre.schedName, "seed": pl.cfg.seed,
	}
	if pl.pre.augment != nil {
		// Only with an augmentation, so that directories written before it existed resume.
		fp["augment"] = pl.pre.augmentName()
	}
	pl.preFP = fp.encode()
	return nil
}

func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// pretextNet records what building a pretext network exposed: the backbone's features
// and the nodes the head exposed for a StepHook.
type pretextNet struct {
	features *G.Node
	exposed  map[string]*G.Node
}

// keep lists the recorded nodes, for train.Spec.Keep.
func (n *pretextNet) keep() []*G.Node {
	out := []*G.Node{n.features}
	names := make([]string, 0, len(n.exposed))
	for name := range n.exposed {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, n.exposed[name])
	}
	return out
}

// value returns StepInfo's reader of the exposed nodes of g.
func (n *pretextNet) value(g *train.Graph) func(string) ([]float32, error) {
	return func(name string) ([]float32, error) {
		node, ok := n.exposed[name]
		if !ok {
			return nil, fmt.Errorf("ssl: StepInfo.Value(%q): the head exposed no node of that name", name)
		}
		return g.Value(node)
	}
}

// pretextBuild returns the pretext network: backbone, then the task's head. net, when
// not nil, records the features and the exposed nodes.
func (pl *plan) pretextBuild(net *pretextNet) train.BuildFunc {
	b, task := pl.p.backbone, pl.p.task
	V := task.Views()
	return func(s *nn.Scope, x, t *G.Node) (*G.Node, *G.Node) {
		f := b.Build(s.In(BackboneScope), x)
		if s.Failed(f) {
			return nil, nil
		}
		if f.Shape().Dims() != 2 {
			s.Fail(fmt.Errorf("backbone %s returns features of shape %v, want [N, features]", b.Name(), f.Shape()))
			return nil, nil
		}
		h := &HeadInput{Scope: s.In(PretextScope), Features: f, Input: x, Targets: t, Backbone: b, N: x.Shape()[0] / V, Views: V}
		loss, out := task.Head(h)
		if net != nil {
			net.features, net.exposed = f, h.exposed
		}
		return loss, out
	}
}

// classifierBuild returns the downstream network and its cross-entropy loss; without
// targets, the logits only.
func (pl *plan) classifierBuild(frozen bool) train.BuildFunc {
	b, classes := pl.p.backbone, pl.classes
	return func(s *nn.Scope, x, t *G.Node) (*G.Node, *G.Node) {
		logits := classifier(s, b, x, classes, frozen)
		if t == nil || s.Failed(logits) {
			return nil, logits
		}
		return nn.SoftmaxCrossEntropy(s, logits, t), logits
	}
}

// checkBuild builds a network on scratch parameters, without compiling it, to find shape
// and construction errors before any training.
func checkBuild(training bool, input, targets []int, build train.BuildFunc) (loss, out *G.Node, err error) {
	return checkBuildOn(nn.NewParams(0), training, input, targets, build)
}

// checkBuildOn builds a network on ps without compiling it: to check it, or to create
// its parameters (to load a checkpoint into).
func checkBuildOn(ps *nn.Params, training bool, input, targets []int, build train.BuildFunc) (loss, out *G.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("building the network panicked: %v", r)
		}
	}()
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(input...), tensor.Of(tensor.Float32)), G.WithName("input"))
	var t *G.Node
	if targets != nil {
		t = G.NodeFromAny(g, tensor.New(tensor.WithShape(targets...), tensor.Of(tensor.Float32)), G.WithName("targets"))
	}
	s := nn.NewScope(g, ps, training)
	loss, out = build(s, x, t)
	if err := s.Err(); err != nil {
		return nil, nil, err
	}
	if loss == nil && out == nil {
		return nil, nil, errors.New("the network has neither a loss nor an output")
	}
	return loss, out, nil
}

// backboneParams returns scratch parameters holding the backbone's weights and the mean
// image: what PretrainedFile stores.
func (pl *plan) backboneParams() ([]*nn.Param, error) {
	ps := nn.NewParams(0)
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(1, pl.c, pl.h, pl.w), tensor.Of(tensor.Float32)), G.WithName("input"))
	s := nn.NewScope(g, ps, false)
	pl.p.backbone.Build(s.In(BackboneScope), x)
	if err := s.Err(); err != nil {
		return nil, err
	}
	if _, err := ps.Variable(PixelMeanParam, []int{pl.c, pl.h, pl.w}, nil, false); err != nil {
		return nil, err
	}
	return ps.All(), nil
}

// loadPretrained reads a PretrainedFile into a pretrained backbone.
func (pl *plan) loadPretrained(path string) (*pretrained, error) {
	params, err := pl.backboneParams()
	if err != nil {
		return nil, err
	}
	meta, err := checkpoint.Load(path, params, checkpoint.RequireArchitecture(pl.p.backbone.Name()))
	if err != nil {
		return nil, err
	}
	pre := &pretrained{backbone: map[string][]float32{}}
	for _, q := range params {
		if q.Name == PixelMeanParam {
			pre.mean = append([]float32(nil), q.Data()...)
		} else {
			pre.backbone[q.Name] = append([]float32(nil), q.Data()...)
		}
	}
	pre.result = PretrainResult{Task: meta.Extra["task"], BestEpoch: meta.Epoch, Metric: meta.Extra["metric"], Checkpoint: path}
	pre.result.Best, _ = strconv.ParseFloat(meta.Extra["best"], 64)
	pre.fp = meta.Extra["fingerprint"]
	if pre.fp == "" {
		pre.fp = fmt.Sprintf("file %s, epoch %d", path, meta.Epoch)
	}
	return pre, nil
}

// runFingerprint is the fingerprint of one downstream run.
func (pl *plan) runFingerprint(method string, nLabels, run int, idx []int, pre *pretrained) string {
	h := fnv.New64a()
	for _, i := range idx {
		h.Write(strconv.AppendInt(nil, int64(i), 10))
		h.Write([]byte{','})
	}
	fp := fingerprint{
		"stage": "downstream", "method": method, "backbone": pl.p.backbone.Name(),
		"n_labels": nLabels, "run": run, "labels": strconv.FormatUint(h.Sum64(), 16),
		"train_images": pl.train.Len(), "test_images": pl.test.Len(), "classes": pl.classes,
		"shape": []int{pl.c, pl.h, pl.w}, "epochs": pl.down.epochs, "batch": pl.down.batch, "lr": pl.down.lr,
		"optimizer": pl.down.optName, "schedule": pl.down.schedName, "seed": pl.cfg.seed,
		"transfer": "none", "pretrain": "none",
	}
	if pl.down.augment != nil {
		fp["augment"] = pl.down.augmentName()
	}
	if method == MethodSSL {
		fp["transfer"] = pl.p.transfer.Name()
		switch {
		case pre != nil:
			fp["pretrain"] = pre.fp
		case pl.loaded != nil:
			fp["pretrain"] = pl.loaded.fp
		default:
			fp["pretrain"] = pl.preFP
		}
	}
	return fp.encode()
}

// runPath is the file of a finished downstream run.
func (pl *plan) runPath(method string, nLabels, run int) string {
	return filepath.Join(pl.cfg.ckptDir, RunsDir, runBase(method, nLabels, run)+".json")
}

// checkSaved checks what a checkpoint directory already holds against this configuration:
// settings (fingerprints), architectures and content hashes of every file it would read
// back. It changes nothing on disk.
func (pl *plan) checkSaved() error {
	dir := pl.cfg.ckptDir
	if dir == "" {
		return nil
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("ssl: CheckpointDir: %s is not a directory", dir)
	}
	mismatch := func(path, stored, want string) error {
		return &MismatchError{Path: path, Kind: MismatchSettings, Detail: diffFingerprints(stored, want)}
	}
	if pl.p.task != nil {
		path := filepath.Join(dir, PretrainResultFile)
		if b, err := os.ReadFile(path); err == nil {
			var f pretrainFile
			if err := json.Unmarshal(b, &f); err != nil {
				return fmt.Errorf("ssl: CheckpointDir: %s: %w", path, err)
			}
			if f.Fingerprint != pl.preFP {
				return mismatch(path, f.Fingerprint, pl.preFP)
			}
			if err := pl.checkData(path, f.Data, pl.preData); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(dir, PretrainedFile)); err != nil {
				return fmt.Errorf("ssl: CheckpointDir: %s marks pretraining finished but its weights cannot be read (%w); restore %s, or remove %s to pretrain again",
					path, err, PretrainedFile, PretrainResultFile)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("ssl: CheckpointDir: %w", err)
		}
		for _, name := range []string{PretrainedFile, PretrainLastFile} {
			path := filepath.Join(dir, name)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			meta, err := checkpoint.ReadMeta(path)
			if err != nil {
				return fmt.Errorf("ssl: CheckpointDir: %w", err)
			}
			if meta.Architecture != pl.p.backbone.Name() {
				return &MismatchError{Path: path, Kind: MismatchArchitecture, Detail: fmt.Sprintf("%q, the backbone is %q", meta.Architecture, pl.p.backbone.Name())}
			}
			if fp := meta.Extra["fingerprint"]; fp != pl.preFP {
				return mismatch(path, fp, pl.preFP)
			}
			if err := pl.checkData(path, meta.Extra[metaData], pl.preData); err != nil {
				return err
			}
		}
	}
	for _, g := range pl.grid() {
		// Only the runs this process reads back or continues: those of other shards may
		// be in flight.
		if !pl.selected(g.key) {
			continue
		}
		m, nl, r, idx := g.key.Method, g.key.NLabels, g.key.Run, g.idx
		want := pl.runFingerprint(m, nl, r, idx, pl.loaded)
		path := pl.runPath(m, nl, r)
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			var f runFile
			if err := json.Unmarshal(b, &f); err != nil {
				return fmt.Errorf("ssl: CheckpointDir: %s: %w", path, err)
			}
			if f.Fingerprint != want {
				return mismatch(path, f.Fingerprint, want)
			}
			if err := pl.checkData(path, f.Data, pl.runData); err != nil {
				return err
			}
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("ssl: CheckpointDir: %w", err)
		}
		if pl.gather {
			// Gather reads no per-epoch checkpoint.
			continue
		}
		last := pl.runLastPath(m, nl, r)
		if _, err := os.Stat(last); err != nil {
			continue
		}
		meta, err := checkpoint.ReadMeta(last)
		if err != nil {
			return fmt.Errorf("ssl: CheckpointDir: %w", err)
		}
		if meta.Architecture != pl.p.backbone.Name() {
			return &MismatchError{Path: last, Kind: MismatchArchitecture, Detail: fmt.Sprintf("%q, the backbone is %q", meta.Architecture, pl.p.backbone.Name())}
		}
		if fp := meta.Extra["fingerprint"]; fp != want {
			return mismatch(last, fp, want)
		}
		if err := pl.checkData(last, meta.Extra[metaData], pl.runData); err != nil {
			return err
		}
	}
	return nil
}

// runLastPath is the checkpoint of a downstream run in progress: the network, optimizer
// state and history after its last finished epoch.
func (pl *plan) runLastPath(method string, nLabels, run int) string {
	return filepath.Join(pl.cfg.ckptDir, RunsDir, runBase(method, nLabels, run)+"-last.safetensors")
}

// Checkpoint metadata keys of the content hashes.
const (
	metaData  = "data"
	metaStart = "start"
)
