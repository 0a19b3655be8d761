// Package selfsup is a library for self-supervised learning on images, in Go.
//
// A caller composes a pretext task (rotation prediction, a contrastive method such as
// SimCLR, or a task of their own) with a backbone (a ResNet) on unlabeled images,
// transfers the pretrained backbone to a
// classifier trained on a few labels, and compares it honestly with the same network
// trained on those labels alone, over stratified K-fold label budgets:
//
//	unlabeled, _ := datasets.CIFAR10(dir, datasets.Train)
//	test, _ := datasets.CIFAR10(dir, datasets.Test)
//	report, err := ssl.New(backbone.Must(backbone.ResNetV1(20)), ssl.Seed(1)).
//		Pretrain(pretext.Rotation(), unlabeled, ssl.Epochs(30)).
//		Transfer(ssl.FineTune(ssl.Epochs(40))).
//		CompareSupervised().
//		Evaluate(ctx, unlabeled, test, folds.Stratified(100, 250, 1000).WithRuns(3))
//	report.WriteMarkdown(os.Stdout) // rows SL and SSL+SL, a column per n_labels
//
// or takes the representations out (an ssl.Encoder) and measures them with a kNN
// classifier, the way self-supervised methods are usually compared:
//
//	enc, err := ssl.New(backbone.Must(backbone.ResNetV1(20)), ssl.Seed(1)).
//		Pretrain(contrastive.SimCLR(), unlabeled, ssl.Epochs(4)).
//		Encoder(ctx)
//	trainEmb, _ := enc.Embed(ctx, unlabeled)
//	testEmb, _ := enc.Embed(ctx, test)
//	knn, _ := embedding.NewKNN(trainEmb, ssl.Labels(unlabeled), 10)
//	acc, _ := knn.Accuracy(testEmb, ssl.Labels(test))
//
// The packages, from the contracts outwards:
//
//   - ssl: the contracts (Dataset, Backbone, PretextTask, Transfer, LabelBudgets) and the
//     fluent pipeline that returns a Report (Markdown, CSV, JSON, PNG curves).
//   - datasets: CIFAR-10/100 and STL-10 in their official binary formats, image folders,
//     downloads with resume and checksums, and the embedded default set (16x16 CIFAR-10
//     images) that the examples and the command's default run use.
//   - folds: scikit-learn-exact StratifiedKFold and KFold, predefined folds, label budgets.
//   - backbone: ResNet v1 and v2 (Keras' CIFAR layouts, ResNet50 v2), a small ConvNet and
//     the Keras STL-10 examples' Conv4x128; FromName and ForCheckpoint rebuild one from
//     its name or a saved file.
//   - augment: batch augmentations on raw pixels (crops, Keras shifts, flips, colour
//     jitter, grayscale, blur, solarize), seeded per image, with the methods' recipes.
//   - pretext: rotation prediction (one random rotation per image, or all four).
//   - contrastive: the two-view methods SimCLR, SimSiam, NNCLR, SupCon, BYOL, MoCo v2,
//     Barlow Twins and VICReg, with their papers' and solo-learn's CIFAR defaults.
//   - embedding: kNN classification of representations (lightly's benchmark rule) and
//     the collapse metric.
//   - nn: the layers and losses heads and custom tasks are built from, as gorgonia nodes;
//     optim: Adam, SGD, LARS and learning-rate schedules; checkpoint: safetensors files.
//
// Models are gorgonia expression graphs (gorgonia.org/gorgonia); the hot operations are
// the project's own ops with their own gradients, run by an executor that plans every
// buffer once, over a matrix multiply with AVX-512/AVX2 kernels (pure Go elsewhere).
// Given a seed, results are deterministic on a given machine.
//
// The command cmd/selfsup runs the experiment and the benchmark against PyTorch.
//
// # Options
//
// Optional settings are functional options in every package. A package's option type is
// named Option (ssl, nn, backbone, pretext, datasets, optim, embedding, checkpoint); a
// package with a second, unrelated set of settings names that one after what it
// configures (datasets.DownloadOption, optim.PlateauOption). Options are made only by the
// package's functions, named after the setting (ssl.Epochs(30), nn.Kernel(3),
// datasets.Resize(32, 32)), and are checked by the call that receives them, not when
// made: a bad value, a nil (or zero) option or an option that call does not take is an
// error it returns, whose text names the option as called ("backbone.ResNetV1: BaseFilters(0):
// want at least 1"). Two places report later than the call: nn layers record the error on
// the Scope (Scope.Err), and the pipeline's options are checked by Pipeline.Check and
// Evaluate before any training. (pretext.Rotation and checkpoint's Save and Load, whose
// options have no invalid value, skip a nil option and return no option error.) Immutable
// values that are refined step by step use With... methods that return a modified copy
// instead (folds.Stratified(100, 250).WithRuns(3)).
package selfsup
