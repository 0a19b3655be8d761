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
// features [N, F]. A PretextTask (package pretext: Rotation; package contrastive: SimSiam,
// SimCLR, NNCLR; or a caller's own) turns unlabeled images into network inputs and targets
// and puts a head and a loss on the features. A Transfer (FineTune or LinearProbe) says how
// the pretrained backbone becomes a classifier. LabelBudgets (folds.Stratified, or Budgets
// for fixed folds) say which labeled images each downstream run trains on.
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
//  1. Pretraining. The per-pixel mean image of the unlabeled images is subtracted from every
//     batch before the pretext transform (the seed's preprocessing). A fraction of the
//     unlabeled images (ValidationFraction, 0.1) or a ValidationSet validates the task after
//     each epoch; the weights of the epoch with the best validation score (Scorer) or loss are
//     kept, as the seed's best-by-validation checkpoint.
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
// # Writing a pretext task
//
// Implement PretextTask: Name, Views (network inputs per image), TargetShape, Prepare
// (fill Batch.Inputs and Batch.Targets from Batch.Images, drawing randomness from
// Batch.Rand) and Head (a head and a loss from package nn); add Scorer to choose the
// kept epoch by a score rather than the loss. The package example does it for "was the
// image flipped?" in about 40 lines.
package ssl
