// Package ops holds the project's gorgonia operations: the hot parts of a ResNet and of
// the self-supervised losses, each with its gradient written as further ops of this
// package, so that gorgonia.Grad produces a backward pass of fast, preallocating ops.
//
// Every op is float32 and statically shaped (the shapes are fixed when the node is built).
// Do allocates its output; UsePreallocDo writes into a given *tensor.Dense (or
// *gorgonia.F32 for a scalar) of the output shape, which is how the project's executor
// and gorgonia's TapeMachine after its first run call them. Both check every value and
// return an error, never panic, on a wrong shape or dtype; building a node with inputs
// of the wrong shapes is an error too.
//
// Forward ops and their gradients:
//
//	Conv2D(x, w, b)       conv2dGrads(x, w, dy) = [dx | dw | db], picked apart by part ops
//	                      (dx a view under the executor, see exec.Slicer)
//	AddBias(x, b)         dy, ChannelSum(dy)
//	BatchNorm(x, γ, β, mm, mv)  batchNormGradParams ([dγ; dβ] in one pass), batchNormGradInput
//	ReLU(x)               reluGrad(y, dy)             (0 at 0)
//	GlobalAvgPool(x)      globalAvgPoolGrad(dy)
//	MaxPool2D(x)          maxPool2DGrad(x, dy)        (first maximum of each window)
//	MatMul(a, b, bias)    MatMul, ChannelSum
//	Add, Scale, Mean, Reshape, Concat, StopGradient (no gradient; a view under the executor)
//	Rows(x, lo, hi), SplitRows  rowsGrad(dy) (dy scattered into zeros); the slices are views
//	                      under the executor (exec.Slicer)
//	SoftmaxCrossEntropy(logits, labels), Softmax, NTXentLoss(s), L2Normalize,
//	RowDot, RowScale, L2Penalty
//	SupConLoss(logits, labels), InfoNCELoss(pos, neg) (one gradient op, two views),
//	DiagonalCrossEntropy(logits), NearestNeighbor(z, support) (no gradient),
//	Standardize(x), CrossCorrelationLoss(c), MeanSquaredError(a, b), VarianceHinge(z),
//	CovarianceOffDiagonal(z): the contrastive losses, which leave their matrix products to
//	MatMul nodes (so to its gradient)
//
// All of an op's math lives behind the Kernels interface (CPU is the implementation in
// use), apart from the plumbing (shapes, hashing, differentiation), so that a device
// runtime can supply its own kernels for the same ops: SetKernels switches the ops of a
// graph to another implementation, and allocates the state ops keep (batch norm's
// statistics) from it when it is also an exec.Allocator (internal/device's Backend is
// both). Kernels see the ops' tensors as float32 slices, which for a device are handles
// to its memory: no op reads or writes an element on the host. That includes scalars: a
// loss kernel writes its one-element output, a gradient kernel reads the one-element
// upstream gradient, and batch norm's moving statistics are updated by a kernel.
//
// The CPU kernels split batches, channels or rows over runtime.GOMAXPROCS goroutines.
// Convolutions run image by image: each goroutine builds an image's im2col matrix in a
// buffer that stays in its core's cache and multiplies it at once with a single-threaded
// product (blas.SgemmSerial) that writes straight into the image's NCHW output. Three
// kinds of convolution take other paths, chosen by shape:
//
//   - 3×3 stride-1 convolutions of 8 input channels or more whose outputs have an even
//     height and width of 6 or more (ResNet20's and ResNet56's layers but their stem,
//     ResNet50 v2's on 24×24 to 6×6 maps) run by Winograd's F(2×2, 3×3) (winograd.go):
//     16 products of depth C over the transformed 2×2 tiles replace the product of depth
//     9·C over im2col's columns, 2.25× fewer multiplications, with the input and output
//     transforms in AVX2 assembly. Images whose rows of tiles do not fill groups of 4
//     (12×12 and 6×6 maps) go through in blocks laid side by side. The results are not
//     the direct sums' bits, but differ from them by a few roundings (TestConvWinograd),
//     and are deterministic. ConvBackward and ConvBackwardData compute dx this way too
//     where the transposed convolution qualifies, and ConvBackward the kernel gradient
//     when the channels on both sides are multiples of 8 (winograd_grad.go: the adjoint
//     of the transforms, 16 products over the tiles of images transposed to
//     [position][channel]), so those convolutions build no im2col matrix at all.
//   - Other forward stride-1 convolutions of 64 input channels or more skip the im2col
//     matrix: convIndirect copies the image once into a zero-padded buffer and
//     blas.SgemmIndirect reads each kernel tap's row from it through a table of offsets,
//     the same sums in the same order.
//   - Convolutions over maps whose positions leave a partial 16-wide tile (6×6 and 3×3)
//     run over blocks of images side by side, whole tiles wide (convImageBlocks: the
//     images themselves, or their im2col matrices): every pointwise one, and those with
//     larger kernels on maps of fewer than 16 positions. The same sums as one image at a
//     time.
//
// Maps of fewer than 8 positions (ResNet50's last stages: 1×1 and 2×2 maps of 512-2048
// channels) run batched instead (cpu_conv_batched.go): the im2col matrices of a block of
// images side by side in one GEMM, cut into fixed row pieces that the goroutines share,
// so the kernel is read once per block rather than once per image and the kernel
// gradient is one deep GEMM. The gradient of a stride-1 convolution's input is the
// convolution of dy with the flipped kernel, whose im2col matrix also gives the kernel
// gradient, so one op (conv2dGrads) computes dx, dw and the bias gradient together; it
// takes the images of small maps in chunks of about 256 positions side by side, so that
// the kernel gradient is a deep product rather than one 9- or 36-deep product per image.
// Sums over the batch (kernel gradients, per-channel reductions) are taken over fixed
// groups of images in a fixed order, and every block and chunk size depends on the shape
// only, so results do not depend on the number of goroutines. Elementwise loops use
// AVX2/FMA assembly on amd64 (Go elsewhere, or with the purego build tag). Scratch
// buffers come from a pool shared by all ops (power-of-two size classes), so a graph
// needs one set of them rather than one per op, and a training step in steady state
// does not allocate them again.
//
// # Where the time goes
//
// CPU profiles of `selfsup bench --model resnet50v2 --batch 16 --cpuprofile FILE` (the
// timed steps, labelled phase=train and phase=eval; 2-core AMD EPYC, AVX-512 GEMM),
// shares of the samples of each phase, before and after the batched convolutions, the
// contiguous group sums and the blocked flipKernel:
//
//   - 32×32 training, before (17 img/s): kernel-gradient partial sums 54% (ConvBackward
//     summed 16 kernel-sized partial sums with a loop striding a whole partial per
//     element), GEMM 26%, flipKernel 8%, goroutine preemption inside those loops 8%,
//     Adam 3%. After (about 4× the rate): GEMM about 40%, Adam's update of the 23.5 M
//     parameters 15% (the same work as the peer's), im2col and col2im 10%, memmove 7%,
//     max pooling 4%, the group sums' vector adds 2%.
//   - 32×32 inference: GEMM 88% before and about 55% after, the rest im2col (20%) and
//     the stem's 3×3 max pooling (10%).
//   - 96×96 training, before (11 img/s): GEMM 40%, partial sums 36%, flipKernel 6%,
//     memmove 5%, pooling 3%. After (about 1.8×): GEMM 67%, memmove 11% (im2col and
//     the batched blocks' gathers), the group sums 5%, flipKernel 3%, pooling 3%.
//   - 96×96 inference: GEMM 70-73% before and after, memmove 9-11%, pooling 7-8%.
//   - 96×96 training, session 4 (after the arena layout and the two-pass max pooling):
//     GEMM 77% of the phase, of which packing the partial last strip of B 12% and
//     merging partial tiles 3%: the 6×6 maps of the third stage have 36 positions, which
//     a 48-wide tile pads. Computing those products transposed (positions as rows,
//     channels as the columns, which are multiples of 16) gave the same bits and was
//     5% faster on two of the stage's three convolution shapes but 30% slower on the
//     1×1 expansion (256 to 1024 channels), with or without choosing a tile whose rows
//     divide 36; it was not kept. Nor was a 16-wide tile for the 36 positions (two full
//     strips and a partial one): 10-25% slower than the 48-wide tile on most of those
//     shapes, forward and backward.
//
// So what is left on ResNet50 v2 is mostly the GEMM itself (the 1×1 convolutions' wide,
// shallow products and the narrow N = 9..36 products of the 3×3 and 6×6 maps, where the
// tile pads N to 16 and packs a partial strip of B per call) and the optimizer.
// ResNet20 and ResNet56 (maps of 8×8 and more, 16-64 channels) keep the image-by-image
// path. ResNet20 at batch 128 (`selfsup bench --model resnet20 --cpuprofile FILE`):
// inference is GEMM 60% and im2col 30% (its copies and the zeroed padding columns), the
// fused batch norm, ReLU and residual additions 7%; training is GEMM 60%, im2col 22%
// (forward and the input gradient's), memmove 7%, the kernel gradients' transposes 2%,
// batch norm 3%. The GEMM itself runs near the core's peak on these shapes (about 80%),
// so what is left there is im2col: writing 9·C values per output position that the GEMM
// then reads once. Cutting im2col into chunks of output rows that stay in cache (tried
// with BenchmarkConv's shapes: 256 down to 32 KiB of columns per GEMM) was no faster at
// 256 KiB and up to 3× slower at 32 KiB, the narrower GEMMs losing more than the cache
// gains. The indirect convolution (convIndirect: the GEMM reads B's rows through a table
// of offsets into a zero-padded copy of the image) removes im2col, and wins on ResNet50
// v2's layers (25-34% at 96×96), but on ResNet20's and ResNet56's 16- and 32-channel
// layers it tied or lost in whole-network runs, so they keep im2col (indirectGeom);
// their inference stayed at 0.83-0.98x PyTorch's over session 4's runs.
//
// Session 5 took the 3×3 stride-1 convolutions to Winograd's F(2×2, 3×3) (forward, dx
// and dw, see above). BenchmarkConvWinograd, forward, CPU time of the path taken before
// over Winograd's: 1.13× for 8 channels of 32×32, 1.71× for 16 of 32×32, 1.55× for 32
// of 16×16, 2.23× for 64 of 8×8 (batch 128); ResNet50 v2's 64 of 24×24 1.98×, 128 of
// 12×12 1.82-1.87×, 256 of 6×6 1.70-1.87× (batch 16 and 32). It lost on ResNet20's stem
// (3 channels: 0.79-0.83×) and on 4×4 maps at batch 16 (0.75×; 1.29× at 32), which
// keep their paths; fusing the batch norm into the output transform gave nothing
// measurable while convolutions with a bias (Keras' default) still took convOutput's
// two passes, and 7-10% on ResNet20's inference once it took the bias too. The same
// session found the per-goroutine GEMMs cut into calls of 7 to 54 rows, to stay under
// blas' threading threshold, each packing a partial row block of A (blas.SgemmSerial
// removed the cut: ResNet50 v2 96² b16 training 39 to 45 img/s, inference 175 to 205),
// and the kernel gradient of 3×3 maps summed one 9-deep product per image into a 9.4 MB
// partial sum (now chunks of about 256 positions), while their forward product was 9
// columns wide and streamed the kernel once per image (now blocks of images: 1.65-2.03×
// on that layer). Choosing the widest tile without padding instead of the first (for
// products whose width is a multiple of 64) made ResNet50 v2's 1×1 convolutions mostly
// 2-8% slower, so pickTile's order stays. Profiles after these changes
// (phase=train and phase=eval samples): ResNet20 inference is GEMM about 50%, the
// Winograd transforms and the padded copies 21%, im2col (the stem and the stride-2
// layers) 11%, residual additions 4%; its training is GEMM 32%, the transforms 17%,
// im2col 10% and the rest the batch norm, ReLU and sums' memory-bound passes over
// activations that no longer fit the cache. ResNet50 v2 96² b32 is GEMM 58% of
// training and 64% of inference (the 1×1 convolutions and the 3×3 maps' products),
// with the transposes, the stem's pooling and Adam 2-3% each. What is left is spread
// thin: the 1×1 convolutions, the stride-2 layers' im2col, and elementwise passes that
// fusing with the convolutions could remove. BenchmarkConv (ResNet20's shapes),
// BenchmarkConvWinograd and BenchmarkConvSmallMaps (ResNet50 v2's, both paths in one
// loop with their ratio) measure the convolutions alone.
//
// Under the project's executor (internal/exec) some nodes run fused with their single
// consumer (exec.Fuser), bit for bit as the separate ops would compute them: a batch
// norm or a residual addition followed by a ReLU (Kernels.ScaleShiftReLU, AddReLU); an
// inference convolution followed by its batch norm and ReLU (ConvForwardAffine, on each
// image's output while it is in cache); a sum of two gradients followed by a ReLU's
// gradient (ReLUGradAdd). The package also registers an exec.Replacer that runs
// gorgonia's float32 addition (which gorgonia.Grad uses to sum gradients) as Add.
//
// State and hashing: gorgonia merges nodes whose ops hash equal over the same children.
// Stateless ops hash by their parameters (merging them is harmless common-subexpression
// elimination); BatchNorm, which keeps the batch statistics of its last forward run for
// its gradient ops and updates the moving statistics in place, hashes with a unique id.
// An op instance belongs to one node of one graph, and a graph must not be run by two
// machines at the same time.
package ops
