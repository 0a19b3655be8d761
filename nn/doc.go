// Package nn is what a model, a head or a custom pretext task is built from: layers and
// losses that add nodes to a gorgonia graph.
//
// A backbone (package backbone) is a stack of these layers; a pretext task that the
// library does not ship (say, "predict whether the image was flipped") needs a head and a
// loss, and writes them with this package. In its Head (ssl.PretextTask) it returns the
// task loss alone:
//
//	func (flipTask) Head(h *ssl.HeadInput) (loss, output *gorgonia.Node) {
//		logits := nn.Dense(h.Scope.In("flip"), h.Features, 2)
//		return nn.SoftmaxCrossEntropy(h.Scope, logits, h.Targets), logits // no L2Penalty: the pipeline adds it
//	}
//
// A model trained by a loop of your own (gorgonia.Grad and a machine, as the package
// example does) is built the same way, and there the loss must include L2Penalty:
//
//	ps := nn.NewParams(seed)                       // weights, shared by every graph built on them
//	s := nn.NewScope(gorgonia.NewGraph(), ps, true) // a training graph
//	h := nn.Conv2D(s.In("conv1"), x, 16, nn.Kernel(3), nn.Padding("same"), nn.Init(nn.HeNormal), nn.L2(1e-4))
//	h = nn.ReLU(s, nn.BatchNorm(s.In("bn1"), h))
//	logits := nn.Dense(s.In("head"), nn.GlobalAvgPool(s, h), 2)
//	loss := nn.Add(s, nn.SoftmaxCrossEntropy(s, logits, labels), nn.L2Penalty(s)) // own loop only
//	if err := s.Err(); err != nil { ... }
//	grads, err := gorgonia.Grad(loss, nodesOfTrainableParams...)
//
// Every layer function takes the Scope first (as GoMLX's layers take a context) and
// returns a *gorgonia.Node. A layer's parameters are named after the scope ("conv1/kernel",
// "conv1/bias", "bn1/gamma", "bn1/beta", "bn1/moving_mean", "bn1/moving_variance", as
// Keras names them) and created on first use with Keras' default initializers; asking a
// second graph (an inference graph, or the other branch of a siamese network) for the
// same names shares the same tensors. A layer that meets an error (a shape that does not
// fit, an unknown option) records it on the scope and returns nil; later layers then do
// nothing, so one check of Scope.Err after building suffices.
//
// Layout is NCHW ([batch, channels, height, width]); a conv kernel is [out, in, kh, kw]
// and a dense kernel [in, out]. Everything is float32.
//
// The nodes are the project's own gorgonia ops (internal/ops): each has its gradient as
// further ops, so gorgonia.Grad builds a backward pass that runs as fast as the forward
// one, and each writes into preallocated outputs, so the project's executor runs a
// training step without allocating. They also run on gorgonia's TapeMachine, and stock
// gorgonia ops may be mixed in.
//
// Layers: Conv2D, Dense, BatchNorm, ReLU, MaxPool2D, GlobalAvgPool, Add, Flatten,
// Reshape, Concat, Rows and SplitRows (row blocks, e.g. the views of a view-major batch;
// views of the input's memory under the executor), MatMul, Similarity, Scale, Mean,
// StopGradient, NearestNeighbor (NNCLR's support-set lookup, no gradient). Losses and
// heads: SoftmaxCrossEntropy (integer labels as a float32 [N] node), Softmax and Argmax
// for predictions, L2Normalize, CosineSimilarity, NegCosine (SimSiam; BYOL's 2-2cos is
// 2·NegCosine plus a constant), NTXent (SimCLR), SupConLoss (supervised contrastive),
// InfoNCE (MoCo v2, with a queue of negatives), DiagonalCrossEntropy (NNCLR, one
// direction), BarlowTwinsLoss, VICRegLoss, and L2Penalty (the sum of the L2 terms of the
// parameters used by the graph; see below for when to add it). Each loss's godoc gives its
// formula and the reference implementation it follows; nn/testdata/gen_contrastive_losses.py
// checks them against PyTorch.
//
// # The L2 penalty: who adds it
//
// The L2 option (and backbone.L2) only records a coefficient on a parameter; the penalty
// reaches the gradients when L2Penalty's node is added to the loss that is differentiated.
// Add it exactly once:
//
//   - In your own training loop, add L2Penalty(s) to the loss yourself; nothing else will.
//   - In anything the ssl pipeline trains (a pretext task's Head, a classifier head), return
//     the task loss only: the pipeline adds L2Penalty of the training graph (backbone and
//     head parameters alike) to the loss it differentiates, and reports the task loss
//     without it. A Head that adds it too doubles every penalty.
package nn
