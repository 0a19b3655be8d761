// Package contrastive holds the two-view self-supervised methods as ssl.PretextTasks:
// SimCLR, SimSiam, NNCLR, SupCon, BYOL, MoCo v2, Barlow Twins and VICReg. Each turns every
// unlabeled image into two augmented views, puts a projector (and for some a predictor
// or a momentum network) on the backbone, and trains the backbone so that the two views
// of an image get related representations without the representations collapsing to a
// constant. After pretraining the heads are dropped and the backbone is what transfers.
//
// # Use
//
// A method is a value built with its constructor and functional options, handed to the
// pipeline like any pretext task:
//
//	task := contrastive.SimCLR()                          // or SimCLR(contrastive.Temperature(0.1), ...)
//	enc, err := ssl.New(backbone.Must(backbone.ResNetV1(20)), ssl.Seed(1), ssl.BatchSize(256)).
//		Pretrain(task, unlabeled, ssl.Epochs(200), ssl.LearningRate(0.4),
//			ssl.Optimizer("lars", func() (optim.Optimizer, error) {
//				return optim.NewLARS(optim.WeightDecay(1e-4), optim.Eta(0.02))
//			}),
//			ssl.Schedule("warmup-cosine", func(lr float32, epochs, steps int) (optim.Schedule, error) {
//				return optim.Cosine(lr, 10*steps, epochs*steps, 0)
//			})).
//		Encoder(ctx)
//	bank, err := enc.Embed(ctx, labeled)               // features of the labeled images
//	queries, err := enc.Embed(ctx, test)
//	knn, err := embedding.NewKNN(bank, ssl.Labels(labeled), 10) // k = 200, t = 0.1
//	acc, err := knn.Accuracy(queries, ssl.Labels(test))
//
// or, to compare with supervised training over label budgets,
// ssl.New(...).Pretrain(task, ...).Transfer(ssl.FineTune(...)).CompareSupervised().Evaluate(...).
// The package example runs the SimCLR-to-kNN path above on toy data in a second.
//
// An invalid option (Temperature(0), or an option the method does not take, such as
// Predictor for SimCLR) is an error naming it: the task's Err method reports it at once
// and the pipeline reports it before any training. CheckShape also refuses images the
// augmentation cannot take (the colour presets need RGB).
//
// # What each method optimises
//
//   - SimCLR (Chen et al. 2020): NT-Xent. Each projection must pick out the other view of
//     its image among the 2N-1 other projections of the batch (cosine similarity over a
//     temperature): views of one image attract, everything else repels. Needs large
//     batches for many negatives.
//   - MoCo v2 (He et al. 2020; Chen et al. 2020): the same contrast (InfoNCE), but the
//     negatives come from a queue of keys of earlier batches, made by a momentum copy of
//     the encoder; many negatives at small batch sizes.
//   - NNCLR (Dwibedi et al. 2021): SimCLR whose positive is the nearest neighbour of the
//     other view in a support set of earlier projections, so that different images of
//     the same kind become positives.
//   - SupCon (Khosla et al. 2020): SimCLR with labels: all views of all images of a class
//     attract. Supervised; it needs labels for every pretraining image.
//   - BYOL (Grill et al. 2020): no negatives. A predictor on the online network regresses
//     the projection a slowly moving target copy gives the other view (2 - 2 cos).
//   - SimSiam (Chen and He 2021): BYOL without the momentum target: the other view's
//     projection, behind a stop-gradient, is the target (negative cosine).
//   - Barlow Twins (Zbontar et al. 2021): the cross-correlation matrix of the two views'
//     standardised projections is pushed to the identity: invariance on the diagonal,
//     decorrelated dimensions off it.
//   - VICReg (Bardes et al. 2022): mean squared distance between the views' projections
//     (invariance), a hinge keeping every dimension's standard deviation up (variance),
//     and decorrelated dimensions (covariance).
//
// # Which to pick
//
// lightly's kNN benchmark on CIFAR-10 (ResNet-18, 200 epochs, k = 200,
// t = 0.1): BYOL 0.868, SimCLR 0.848, MoCo 0.847, Barlow Twins 0.819, NNCLR 0.815,
// SimSiam 0.764. solo-learn's linear accuracies after 1000 epochs are closer together
// (MoCo v2+ 92.94, BYOL 92.58, Barlow Twins 92.10, VICReg 92.07, NNCLR 91.88, SimCLR
// 90.74, SimSiam 90.51). A rough guide:
//
//   - a first try, or small batches: BYOL or MoCo v2 (neither needs a large batch; BYOL
//     costs a second forward pass and its target's memory);
//   - the simplest, cheapest per step: SimCLR (with batches of a few hundred) or SimSiam
//     (no negatives, no second network, but watch embedding.Collapse: it can collapse
//     with a wrong learning rate);
//   - no augmentation-sensitive negatives, a wide projector at hand: Barlow Twins or
//     VICReg (their losses grow with the projector's width; both like 2048 dimensions or
//     more);
//   - labels for all pretraining images: SupCon, then ssl.LinearProbe on the frozen
//     encoder.
//
// Short runs rank the methods differently. On CIFAR-10 with ResNet20 v1, 2 epochs, batch
// 256 (results/cifar10-contrastive in the repository), kNN accuracies after the last epoch
// were SimCLR 48.1%, VICReg 47.7%, NNCLR 41.5%, MoCo v2 40.6%, Barlow Twins 37.9%, BYOL 36.7%,
// SimSiam 35.6% (random weights 28.5%): the methods with negatives start fastest. There,
// SGD at learning rate 0.12 made VICReg diverge and Barlow Twins collapse, while LARS at
// 0.3 (their solo-learn optimizer, below) trained both: give the redundancy-reduction
// losses LARS. Compare methods on your own data with ssl.MonitorKNN and watch
// embedding.Collapse.
//
// # Defaults and their sources
//
// The defaults are the CIFAR settings of solo-learn (scripts/pretrain/cifar/*.yaml and
// solo/methods/*.py) unless a constructor says otherwise; each constructor's
// documentation lists them with their sources. In short:
//
//	method        projector (hidden-out)   predictor  loss settings              augmentation
//	SimCLR        2048-BN-256              -          temperature 0.2            SimCLRCIFAR, both views
//	SimSiam       2048-2048-2048 (BN)      512        -                          SimCLRCIFAR
//	NNCLR         2048-2048-256 (BN)       4096       temperature 0.2, queue 4096 BYOLCIFAR pair
//	SupCon        2048-256                 -          temperature 0.05           SimCLRCIFAR
//	BYOL          4096-BN-256              4096       tau 0.99 -> 1 (cosine)     BYOLCIFAR pair
//	MoCo v2       2048-256                 -          t 0.2, queue 4096, tau 0.99 -> 0.999  SimCLRCIFAR
//	Barlow Twins  2048-2048-2048 (BN)      -          lambda 0.0051, scale 0.1   BYOLCIFAR pair
//	VICReg        2048-2048-2048 (BN)      -          weights 25/25/1            VICRegCIFAR
//
// Projector is the option for the widths (small values for toy runs and tests),
// Predictor for the predictor, Temperature, QueueSize, Momentum, Lambda, LossScale and
// VICRegWeights for the rest. The queues default to 4096 rows (lightly's CIFAR-10
// benchmark) instead of solo-learn's 32768-65536: ample for small data sets, and a queue
// longer than the data set only repeats stale entries. The batch norms of the heads are
// PyTorch's (momentum 0.1, epsilon 1e-5); their dense layers keep the project's
// glorot_uniform initialisation (PyTorch draws from U(±1/sqrt(fan_in))).
//
// Augmentations: the presets of package augment, augment.SimCLRCIFAR() for 32×32 images
// (SimCLR's colour distortion at strength 0.5, no blur) and augment.BYOLCIFAR()'s
// asymmetric pair (solarization on the second view), and this package's VICRegCIFAR().
// For 96×96 STL-10 pass Augment(augment.SimCLRSTL10()). Augment sets one augmentation
// for both views, AugmentViews one per view. Prepare draws one seed per view from the
// batch's random source (so the pipeline's Seed fixes the views), augments the raw
// pixels and only then subtracts the mean image. An ssl.Augment option given to Pretrain
// would be applied before, to the source images: leave it out with these methods.
//
// # Optimizers
//
// solo-learn trains on CIFAR with batch 256 for 1000 epochs, a warm-up of 10 epochs and
// a cosine decay (optim.Cosine), and these optimizers (learning rates for batch 256;
// solo-learn scales them linearly with the batch size):
//
//	SimCLR        LARS  lr 0.4  weight decay 1e-4      optim.NewLARS(optim.WeightDecay(1e-4), optim.Eta(0.02))
//	BYOL          LARS  lr 1.0  weight decay 1e-5      optim.NewLARS(optim.WeightDecay(1e-5), optim.Eta(0.02))
//	Barlow Twins  LARS  lr 0.3  weight decay 1e-4      optim.NewLARS(optim.WeightDecay(1e-4), optim.Eta(0.02))
//	VICReg        LARS  lr 0.3  weight decay 1e-4      optim.NewLARS(optim.WeightDecay(1e-4), optim.Eta(0.02))
//	NNCLR         LARS  lr 0.4  weight decay 1e-5      optim.NewLARS(optim.WeightDecay(1e-5), optim.Eta(0.02))
//	SimSiam       SGD   lr 0.5  weight decay 1e-5      optim.NewSGD(optim.Momentum(0.9), optim.L2(1e-5))
//	MoCo v2       SGD   lr 0.3  weight decay 1e-4      optim.NewSGD(optim.Momentum(0.9), optim.L2(1e-4))
//	SupCon        SGD   lr 0.4  weight decay 1e-5      optim.NewSGD(optim.Momentum(0.9), optim.L2(1e-5))
//
// given to Pretrain (or ssl.New) as ssl.Optimizer(name, factory), ssl.LearningRate(lr)
// and ssl.Schedule("warmup-cosine", ...) as in the example above. optim.NewLARS excludes
// biases and batch-norm parameters from weight decay and adaptation by default, as
// solo-learn's exclude_bias_n_norm; solo-learn's clip_lr has no counterpart. The
// pipeline's default, Adam at 1e-3 with the rotation experiment's step schedule, also
// trains these methods on small runs, but is not what their figures were obtained with.
//
// # State and checkpoints
//
// Everything a method keeps between steps is a non-trainable parameter of the pretext
// network, so the pipeline's checkpoints carry it and a resumed run continues exactly:
// BYOL's target and MoCo's key encoder in TargetScope ("pretext/target/backbone/...",
// "pretext/target/projector/..."), set equal to the online network by InitParams and
// moved after every step by AfterStep (an exponential moving average of the weights,
// biases and batch-norm scales and offsets; the target's batch-norm moving statistics
// follow its own batches, as in solo-learn); the queue of MoCo and NNCLR in QueueParam
// with its write position in QueuePointerParam, filled in AfterStep from the values the
// head exposes (ssl.HeadInput.Expose). The heads ("pretext/projector/...",
// "pretext/predictor/...") are dropped after pretraining with the rest of the pretext
// network.
//
// None of the methods implements ssl.Scorer: pretraining keeps the epoch with the lowest
// validation loss (or the last epoch without validation). The losses of MoCo and NNCLR
// depend on their queues, and BYOL's on its target, so their validation losses compare
// epochs only roughly; MonitorKNN gives a better signal.
package contrastive
