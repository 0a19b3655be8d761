package ssl

import (
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/selfsup/selfsup/optim"
)

// Option sets a setting of the pipeline or of one of its stages, in the functional-option
// style. Options given to New apply to the whole pipeline and are the defaults of both
// stages; options given to Pretrain or to a Transfer (FineTune, LinearProbe) apply to that
// stage and override the pipeline's. Each option says where it may be given; a misplaced
// or invalid option makes Evaluate fail before any training, naming the option.
type Option struct {
	name  string
	where where
	apply func(*config) error
}

type where uint8

const (
	// anywhere: a training setting (New, Pretrain, FineTune/LinearProbe).
	anywhere where = iota
	// pipelineOnly: New only.
	pipelineOnly
	// pretrainOnly: New or Pretrain.
	pretrainOnly
)

// Defaults of the stage settings.
const (
	DefaultEpochs             = 10
	DefaultBatchSize          = 128
	DefaultLearningRate       = 1e-3
	DefaultValidationFraction = 0.1
	DefaultSeed               = 1
)

// OptimizerFunc returns a fresh optimizer: every training run (pretraining, each
// downstream run) gets its own.
type OptimizerFunc func() (optim.Optimizer, error)

// ScheduleFunc returns a fresh learning-rate schedule for a run with base learning rate lr,
// epochs epochs and stepsPerEpoch optimizer steps per epoch.
type ScheduleFunc func(lr float32, epochs, stepsPerEpoch int) (optim.Schedule, error)

// config is the resolved settings of one stage plus the pipeline's own.
type config struct {
	epochs    int
	batch     int
	lr        float32
	newOpt    OptimizerFunc
	newSched  ScheduleFunc
	optName   string // for fingerprints: "adam" unless Optimizer was given
	schedName string // for fingerprints: "resnet-cifar" unless Schedule was given

	valFrac float64
	valSet  Dataset
	augment Augmentation

	monitorRef, monitorQuery Dataset
	snapshotEvery            int

	seed     uint64
	logger   *slog.Logger
	progress func(Progress)
	ckptDir  string

	// selectRun, when set (Shard, SelectRuns), chooses the downstream runs to evaluate.
	selectRun func(RunKey) bool
}

func defaultConfig() config {
	return config{
		epochs:    DefaultEpochs,
		batch:     DefaultBatchSize,
		lr:        DefaultLearningRate,
		newOpt:    func() (optim.Optimizer, error) { return optim.NewAdam() },
		optName:   "adam",
		schedName: "resnet-cifar",
		newSched: func(lr float32, _, _ int) (optim.Schedule, error) {
			return optim.ResNetCIFAR(lr), nil
		},
		valFrac: DefaultValidationFraction,
		seed:    DefaultSeed,
		logger:  slog.Default(),
	}
}

// apply applies opts given at stage (a name for errors) where only the kinds allowed may be.
func (c *config) apply(stage string, allowed func(where) bool, opts []Option) error {
	for _, o := range opts {
		if o.apply == nil {
			return fmt.Errorf("ssl: %s: a zero Option was given", stage)
		}
		if !allowed(o.where) {
			switch o.where {
			case pipelineOnly:
				return fmt.Errorf("ssl: %s: option %s belongs to the whole pipeline: pass it to ssl.New", stage, o.name)
			case pretrainOnly:
				return fmt.Errorf("ssl: %s: option %s is a pretraining setting: pass it to Pretrain or ssl.New", stage, o.name)
			}
			return fmt.Errorf("ssl: %s: option %s is not allowed here", stage, o.name)
		}
		if err := o.apply(c); err != nil {
			return fmt.Errorf("ssl: %s: %s: %w", stage, o.name, err)
		}
	}
	return nil
}

// Epochs sets the number of training epochs of a stage, at least 1. Default 10.
func Epochs(n int) Option {
	return Option{"Epochs", anywhere, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("epochs = %d, want at least 1", n)
		}
		c.epochs = n
		return nil
	}}
}

// BatchSize sets the number of source images per training step, at least 1. Default 128.
// Training graphs have a fixed batch size, so the last partial batch of an epoch is
// dropped (every image is still seen over the epochs, as the order is reshuffled each
// epoch). A downstream budget smaller than the batch size trains on batches of all its
// labels. Evaluation covers every image: its last batch is padded and the padding ignored.
func BatchSize(n int) Option {
	return Option{"BatchSize", anywhere, func(c *config) error {
		if n < 1 {
			return fmt.Errorf("batch size = %d, want at least 1", n)
		}
		c.batch = n
		return nil
	}}
}

// LearningRate sets the base learning rate handed to the schedule, finite and > 0.
// Default 1e-3 (the seed's Adam rate).
func LearningRate(lr float32) Option {
	return Option{"LearningRate", anywhere, func(c *config) error {
		if !(lr > 0) || math.IsInf(float64(lr), 0) {
			return fmt.Errorf("learning rate %v, want a finite value > 0", lr)
		}
		c.lr = lr
		return nil
	}}
}

// Optimizer sets the optimizer factory. Default: optim.NewAdam() with Keras' defaults.
// name is recorded in checkpoints: a run is not resumed with another optimizer.
func Optimizer(name string, f OptimizerFunc) Option {
	return Option{"Optimizer", anywhere, func(c *config) error {
		if f == nil || name == "" {
			return errors.New("need a name and a non-nil factory")
		}
		c.newOpt, c.optName = f, name
		return nil
	}}
}

// Schedule sets the learning-rate schedule factory. Default: optim.ResNetCIFAR(lr), the
// seed's step schedule (x0.1 after epoch 80, x0.01 after 120, ...). name is recorded in
// checkpoints: a run is not resumed with another schedule. A schedule that
// implements optim.Observer (optim.Plateau) observes, at the end of every epoch, the
// validation score while pretraining with a Scorer task, the validation loss while
// pretraining without one, and the epoch's training loss downstream.
func Schedule(name string, f ScheduleFunc) Option {
	return Option{"Schedule", anywhere, func(c *config) error {
		if f == nil || name == "" {
			return errors.New("need a name and a non-nil factory")
		}
		c.newSched, c.schedName = f, name
		return nil
	}}
}

// Augment transforms the images of every training batch of the stage with a before they
// are normalised (package augment has the transforms and the recipes, e.g.
// augment.KerasShiftFlip() for the seed's shifts and flips). Given to a Transfer (or to
// New) it applies to the downstream training of both methods, SL and SSL+SL, alike;
// given to Pretrain (or New) it applies to the source images before the pretext task
// makes its views. Validation and test images are never augmented. The augmentation's
// Name is part of the settings a checkpoint is resumed under. Default: none.
func Augment(a Augmentation) Option {
	return Option{"Augment", anywhere, func(c *config) error {
		if a == nil {
			return errors.New("nil augmentation")
		}
		c.augment = a
		return nil
	}}
}

// augmentName is the augmentation's name for fingerprints and reports, "none" without one.
func (c *config) augmentName() string {
	if c.augment == nil {
		return "none"
	}
	return c.augment.Name()
}

// ConstantLR makes the stage train at its learning rate throughout (optim.Constant).
func ConstantLR() Option {
	o := Schedule("constant", func(lr float32, _, _ int) (optim.Schedule, error) { return optim.Constant(lr), nil })
	o.name = "ConstantLR"
	return o
}

// ValidationFraction sets the fraction of the unlabeled images held out to validate the
// pretext task, in [0, 1). Default 0.1. With 0 nothing is held out and pretraining keeps
// the weights of its last epoch. Pretraining only.
func ValidationFraction(f float64) Option {
	return Option{"ValidationFraction", pretrainOnly, func(c *config) error {
		if !(f >= 0 && f < 1) {
			return fmt.Errorf("fraction %v, want a value in [0, 1)", f)
		}
		c.valFrac = f
		return nil
	}}
}

// ValidationSet validates the pretext task on ds (the test images, say) instead of
// holding out part of the unlabeled images; the pretext task then trains on all of them.
// Pretraining only.
func ValidationSet(ds Dataset) Option {
	return Option{"ValidationSet", pretrainOnly, func(c *config) error {
		if ds == nil || ds.Len() == 0 {
			return errors.New("validation set is nil or empty")
		}
		c.valSet = ds
		return nil
	}}
}

// MonitorKNN measures, after every pretraining epoch, how well the backbone's
// representations classify: the kNN accuracy (embedding.KNN with k = 200, t = 0.1, as in
// lightly's benchmark) of the images of query, each voted on by the labeled images of
// reference, both embedded by the backbone in inference mode. It goes into
// EpochStats.KNNAccuracy, the log, the report and the plots. Typically reference is a
// labeled training set and query the test set: the number then tracks, but never steers,
// the training (the kept epoch is still chosen on the pretext validation). It costs one
// inference pass over both sets per epoch. Pretraining only.
func MonitorKNN(reference, query Dataset) Option {
	return Option{"MonitorKNN", pretrainOnly, func(c *config) error {
		if reference == nil || reference.Len() == 0 || query == nil || query.Len() == 0 {
			return errors.New("reference or query set is nil or empty")
		}
		c.monitorRef, c.monitorQuery = reference, query
		return nil
	}}
}

// Snapshots makes pretraining save the backbone (with the mean image, like
// PretrainedFile) after every n-th epoch into the checkpoint directory as
// SnapshotFile(epoch), so that the transfer from several points of one long pretraining
// can be compared (FromPretrained or LoadEncoder read them). It needs CheckpointDir.
// Pretraining only.
func Snapshots(every int) Option {
	return Option{"Snapshots", pretrainOnly, func(c *config) error {
		if every < 1 {
			return fmt.Errorf("every %d epochs, want at least 1", every)
		}
		c.snapshotEvery = every
		return nil
	}}
}

// SnapshotFile is the name, in the checkpoint directory, of the backbone Snapshots saves
// after the 1-based epoch, e.g. "pretrained-e0050.safetensors".
func SnapshotFile(epoch int) string { return fmt.Sprintf("pretrained-e%04d.safetensors", epoch) }

// Seed sets the seed every random choice of the pipeline derives from: weight
// initialisation, shuffling, the validation split and the pretext task's randomness. The
// same seed gives the same numbers on the same machine. Default 1. Pipeline only.
func Seed(seed uint64) Option {
	return Option{"Seed", pipelineOnly, func(c *config) error { c.seed = seed; return nil }}
}

// Logger sends a structured line per epoch and per finished stage or run to l. Default:
// slog.Default() when Evaluate starts, so a program's slog.SetDefault
// decides; slog.New(slog.DiscardHandler) silences the pipeline. Pipeline only.
func Logger(l *slog.Logger) Option {
	return Option{"Logger", pipelineOnly, func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	}}
}

// OnProgress calls f after every training step and at the end of every epoch, from the
// goroutine running Evaluate; a progress bar draws from it. Pipeline only.
func OnProgress(f func(Progress)) Option {
	return Option{"OnProgress", pipelineOnly, func(c *config) error {
		if f == nil {
			return errors.New("nil progress function")
		}
		c.progress = f
		return nil
	}}
}

// CheckpointDir keeps the pipeline's state in dir (created if needed) and resumes from it:
// pretraining and every downstream run save their last finished epoch (weights, optimizer
// state, history; atomically), pretraining also its best weights, and each finished run its
// result. Evaluate run again with the same dir and the same settings skips the finished
// stages and runs and continues the others from their last saved epoch, so a kill loses at
// most the epoch in flight, and the numbers equal those of an uninterrupted evaluation.
// A file written with other settings, another architecture or other data is an error
// (a *MismatchError) before any training; the settings compared are the backbone's and
// task's names, the sizes and shape of the datasets, the labeled indices of each run, the
// options, and the names given to Optimizer and Schedule; the data are compared by a hash
// of the images and labels each stage reads (one pass over them before training: 0.2 s for
// CIFAR-10). Files written before content hashes were recorded are resumed with a warning.
// A finished run that started from other pretrained weights than the pipeline's (say,
// pretraining was redone) is trained again, with a warning. Pipeline only.
func CheckpointDir(dir string) Option {
	return Option{"CheckpointDir", pipelineOnly, func(c *config) error {
		if dir == "" {
			return errors.New("empty directory name")
		}
		c.ckptDir = dir
		return nil
	}}
}

// Progress is what OnProgress reports.
type Progress struct {
	// Stage is "pretrain", or the method of a downstream run: MethodSL or MethodSSL.
	Stage string
	// NLabels and Run identify a downstream run (0 while pretraining).
	NLabels, Run int
	// Epoch is the 0-based epoch, of Epochs.
	Epoch, Epochs int
	// Step is the number of steps done in the epoch, of Steps.
	Step, Steps int
	// Loss is the mean training loss of the epoch so far.
	Loss float64
	// Done is set at the end of an epoch, with the epoch's statistics.
	Done *EpochStats
}
