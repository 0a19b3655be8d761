// Package ssl holds the contracts of selfsup and the fluent pipeline that composes them:
// pretrain a backbone on a self-supervised pretext task, transfer it to a classifier, and
// compare it with a supervised baseline over label budgets.
//
// # Concepts
//
// A Dataset is a set of RGB images with optional labels. Every dataset in package datasets
// implements it, and so can a caller's own type. Training reads images through the fast path
// BatchFiller when a dataset offers it and through Image otherwise; FillBatch hides the
// difference.
//
// A Backbone (package backbone: ResNet v1/v2, small conv nets) turns a batch of images into
// features [N, F]. A PretextTask (package pretext: Rotation; package contrastive: SimCLR,
// SimSiam, NNCLR, BYOL, MoCo v2, SupCon, Barlow Twins, VICReg; or a caller's own) turns
// raw images into network inputs and targets and puts a head and a loss on the features.
// An Augmentation (package augment) transforms raw images before a stage uses them. A
// Transfer (FineTune, LinearProbe or KNNProbe) says how the pretrained backbone becomes a
// classifier. LabelBudgets (folds.Stratified, or Budgets for fixed folds) say which
// labeled images each downstream run trains on.
//
// # Pipeline
//
//	report, err := ssl.New(backbone.Must(backbone.ResNetV1(20)), ssl.Seed(1), ssl.CheckpointDir("run1")).
//		Pretrain(pretext.Rotation(), unlabeled, ssl.Epochs(30)).
//		Transfer(ssl.FineTune(ssl.Epochs(40))).
//		CompareSupervised().
//		Evaluate(ctx, unlabeled, test, folds.Stratified(100, 250, 1000).WithRuns(5))
//	if err != nil { ... }
//	report.WriteMarkdown(os.Stdout) // | n_labels | 100 | 250 | 1000 |, rows SL, SSL+SL, gain
//	report.PlotCurves("plots")      // pretext_loss.png, pretext_acc.png, ...
//
// Evaluate first validates the whole configuration against the data (options, shapes,
// labels and classes, label budgets through their Check, that every network builds, saved
// checkpoints) and returns an error naming the parameter before any training. Then:
//
//  1. Pretraining. Every training batch of unlabeled images is read raw, augmented (the
//     Augment option) and handed to the task, which makes its views and centres them with
//     the per-pixel mean image of the unlabeled images (the seed's preprocessing); reading
//     and preparing the next batch overlaps the current step. A fraction of the
//     unlabeled images (ValidationFraction, 0.1) or a ValidationSet validates the task after
//     each epoch; the weights of the epoch with the best validation score (Scorer) or loss are
//     kept, as the seed's best-by-validation checkpoint. Snapshots saves the backbone
//     every n epochs on top.
//  2. For every run of every budget, in budget, run, method order: the supervised baseline
//     (CompareSupervised; MethodSL) trains the classifier (the backbone and a new
//     Dense(classes) head) from random initialisation; the transfer (MethodSSL) trains the
//     same classifier starting from the pretrained backbone, all of it (FineTune) or only the
//     head on the frozen backbone (LinearProbe). Both use the same labels, options, schedule,
//     initial head and shuffling. Each run is then tested on every test image.
//
// The Report holds per-run test accuracy and loss, per-epoch histories and timings; Summary
// gives mean and sample standard deviation per budget and method, Gain the difference of
// the means; WriteMarkdown, WriteCSV and WriteJSON write it and PlotCurves draws it.
//
// # Training details
//
// Defaults follow the seed: Adam with learning rate 1e-3 and optim.ResNetCIFAR's step
// schedule, batch size 128, 10 epochs per stage; the backbone sets its own L2 penalties
// and initialisation. Every stage builds its graphs once for a fixed batch size: the last
// partial batch of each training epoch is dropped (the order is reshuffled every epoch);
// validation and test batches are padded and the padding ignored (inference batch norm
// treats each image on its own). All randomness (weights, shuffles, the validation split,
// the pretext task's draws) derives from Seed, so a seed fixes the numbers on a given
// machine. The supervised baseline always fine-tunes the whole network, also when the
// transfer is a linear probe.
//
// Options are functional: those given to New (Seed, Logger, OnProgress, CheckpointDir,
// and defaults such as Epochs) apply to the whole pipeline; those given to Pretrain or to a
// Transfer override them for that stage. A context cancels Evaluate between steps; it then
// returns the report of what finished with the error. With CheckpointDir, Evaluate
// resumes: finished pretraining and finished runs are read back, and pretraining
// continues from its last finished epoch with its optimizer state; files written with other
// settings or for another architecture are refused before any training.
//
// # Representations out
//
// Pipeline.Encoder runs only the pretraining and returns an Encoder, whose Embed gives
// the backbone's features of any dataset, normalised exactly as in training; those
// features feed embedding.KNN (the kNN accuracy by which self-supervised methods are
// compared) or a caller's own model. With a CheckpointDir the kept backbone is in
// PretrainedFile and every downstream run leaves its classifier in RunsDir
// (ClassifierFile); a program that has only such a file rebuilds the network with
// backbone.ForCheckpoint and loads it with LoadEncoder or LoadClassifier, whose Predict
// labels new images. MonitorKNN records the kNN accuracy after every pretraining epoch
// and EpochStats.Collapse the collapse metric of the validation features (about 1
// healthy, near 0 collapsed), in the log, the report and the plots.
//
// # Scaling out
//
// The downstream runs of an experiment form a grid (RunKey: budget x run x method, each
// run independent), which a cluster scheduler can run as separate processes over one
// shared CheckpointDir: pretraining first (Pipeline.Encoder), then any number of shards at
// once, each an Evaluate with Shard(i, n) (grid indices g with g mod n = i) or SelectRuns
// for a dealing of one's own, then Gather, which evaluates nothing and returns the report
// of the finished runs, equal number for number to a single Evaluate's, listing the runs
// still missing in Report.Missing. A shard writes only its runs' files, refuses to start
// without finished pretraining (ErrNotPretrained), and run again continues its own runs.
//
//	// pipe builds the same pipeline in every process, with these options added to New's.
//	_, err := pipe(ssl.CheckpointDir(dir)).Encoder(ctx)                                    // once
//	shard, err := pipe(ssl.CheckpointDir(dir), ssl.Shard(i, n)).Evaluate(ctx, train, test, budgets) // i = 0..n-1
//	report, err := pipe(ssl.CheckpointDir(dir)).Gather(ctx, train, test, budgets)          // any time
//
// # Writing a pretext task
//
// A task implements PretextTask: Name, Views (network inputs per source image),
// TargetShape, Prepare and Head. Prepare receives a Batch of N raw source images in
// [0, 1] (Images, with their Labels and the Mean image) and writes N*Views network inputs,
// view-major (input v*N+i is view v of image i), centred with Batch.Normalize (a view)
// or NormalizeImage (one image), plus the
// targets; all randomness comes from Batch.Rand. Head receives a HeadInput: the backbone's
// Features [N*Views, F] (nn.SplitRows gives the views), the network Input, the Targets,
// the Backbone and the batch geometry; it returns a scalar loss built from package nn and
// an output node for Scorer. The pipeline adds the layers' L2 penalty itself. Here is
// "was the image mirrored?" in full:
//
//	type flipTask struct{}
//
//	func (flipTask) Name() string            { return "flip" }
//	func (flipTask) Views() int              { return 1 }
//	func (flipTask) TargetShape(n int) []int { return []int{n} } // one class index per input
//
//	func (flipTask) Prepare(b *ssl.Batch) error {
//		for i := 0; i < b.N; i++ {
//			src, dst := b.Image(i), b.Input(0, i)
//			flip := b.Rand.IntN(2)
//			for row := 0; row < b.C*b.H; row++ {
//				s, d := src[row*b.W:(row+1)*b.W], dst[row*b.W:(row+1)*b.W]
//				for x := range d {
//					if flip == 1 {
//						d[x] = s[b.W-1-x]
//					} else {
//						d[x] = s[x]
//					}
//				}
//			}
//			b.NormalizeImage(i, dst)
//			b.Targets[i] = float32(flip)
//		}
//		return nil
//	}
//
//	func (flipTask) Head(h *ssl.HeadInput) (loss, output *gorgonia.Node) {
//		logits := nn.Dense(h.Scope.In("flip"), h.Features, 2)
//		return nn.SoftmaxCrossEntropy(h.Scope, logits, h.Targets), logits
//	}
//
//	// Score makes pretraining keep the epoch with the best validation accuracy.
//	func (flipTask) Score(output, targets []float32, g ssl.Geometry) float64 {
//		return ssl.Accuracy(output, targets, g)
//	}
//
// Optional interfaces add what the contrastive methods need: ShapeChecker and
// DataChecker reject unsuitable data before training (rotation needs square images,
// SupCon labels); a second network that the optimizer must not update (BYOL's and MoCo's
// momentum target) is built with HeadInput.BuildBackbone in Scope.In(name).Frozen(),
// set up by ParamsInitializer and moved after every step by StepHook, which also fills
// queues from nodes the head exposed (HeadInput.Expose, StepInfo.Value). State kept in
// non-trainable parameters is saved with the checkpoints, so resuming is exact. The last
// validation batch is padded with copies of real images so the layout never changes;
// Geometry says which rows are real.
package ssl
