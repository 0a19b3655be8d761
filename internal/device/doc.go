// Package device is the seam between the project's training code and the hardware it
// runs on: a Backend owns the memory of a graph's values and runs every piece of
// per-step math on it. CPU, the only backend today, is the project's existing code
// behind the seam (ops.CPU's kernels, Go memory, the optimizers' parallel loops), bit
// for bit.
//
// Who uses what:
//
//   - internal/exec allocates a machine's planned buffers from the backend
//     (exec.WithAllocator); internal/ops runs each op's math through the backend's
//     ops.Kernels (ops.SetKernels) and allocates the state an op keeps between its
//     forward and gradient runs (batch norm's statistics) from it.
//   - package optim runs the updates of Adam, SGD and LARS through the backend's
//     OptimizerKernels and keeps their moments in its memory (optim.OnBackend).
//   - internal/train compiles a graph on a backend (train.Spec.Backend), copies the
//     batch in, reads the losses and one finite flag out (Backend.AllFinite), and copies
//     values out only when a caller asks for them (see train's "Host traffic").
//
// # What a CUDA backend implements
//
// Memory. Alloc(dt, n) returns n zeroed elements of device memory as a Go slice of
// length n whose data pointer is the device address (unsafe.Slice over the CUdeviceptr):
// the slice is a handle that Go code passes around, slices (sub-slices are offsets into
// the allocation, which the executor uses for views) and never dereferences. Free
// releases an allocation by its handle. CopyIn and CopyOut are the only host<->device
// transfers; Host() returns false so that callers use them. Managed memory
// (cuMemAllocManaged) satisfies the same contract and also lets the host read values
// for debugging. Allocations are made once per graph (buffers are planned once) and
// once per parameter (optimizer state), never per step.
//
// Kernels (ops.Kernels): every method of that interface. Grouped by what a ResNet and
// the self-supervised losses need:
//
//   - convolution: ConvForward, ConvForwardAffine (inference conv+BN(+ReLU)),
//     ConvBackwardData, ConvBackwardFilter, ConvBackward (dx, dw, db together);
//   - per-channel: ChannelSum, AddChannel, ChannelMoments, ScaleShift, ScaleShiftReLU,
//     BatchNormGradParams, BatchNormGradInput, and batch norm's state: BatchNormUpdate
//     (moving statistics and 1/std), BatchNormFixed, BatchNormAffine;
//   - elementwise: ReLU, ReLUGrad, ReLUGradAdd, Add, AddReLU, Scale, ScaleBy, SubScale,
//     Fill, FillBy, Copy;
//   - pooling: GlobalAvgPool(Grad), MaxPool(Grad); MatMul (alpha·op(a)·op(b) + bias,
//     cuBLAS Sgemm with the row-major/column-major swap);
//   - losses and scalar reductions, which write their one-element result into device
//     memory and whose gradients read the one-element upstream gradient g from device
//     memory: SoftmaxCrossEntropy(Grad), Softmax(Grad), NTXent(Grad), SupCon(Grad),
//     InfoNCE(Grad), DiagonalCrossEntropy(Grad), CrossCorrelationLoss(Grad),
//     MeanSquaredError, VarianceHinge(Grad), CovarianceOffDiagonal(Grad), Mean,
//     L2Penalty; and L2Normalize(Grad), RowDot, RowScale, Standardize(Grad),
//     NearestRows.
//
// A kernel may return an error (a bad label, a negative moving variance); a device
// backend that checks such conditions asynchronously reports them at its next
// synchronising call (AllFinite or a CopyOut). Kernels are launched in order on one
// stream per graph, so Run's order is the data dependency order.
//
// Optimizer kernels (NewOptimizerKernels, one set per optimizer, e.g. one stream):
// AdamKeras, AdamTorch, SGDMomentum, SGDPlain, and LARS, which computes the norms of p
// and g on the device and the trust ratio from them (LARSTrust's formula) without a
// round trip. The scalar coefficients (bias corrections, learning rate) are computed on
// the host from the step count and passed by value.
//
// The finite check: AllFinite(xs...) reduces all gradients to one flag.
//
// Determinism: the CPU backend is bit for bit deterministic for a seed, whatever the
// number of threads. A CUDA backend is compared with it within a tolerance, not bit for
// bit (cuBLAS and atomics reorder sums); it should be run-to-run deterministic where the
// libraries allow it.
//
// # What still assumes host memory
//
//   - nn.Params allocates the parameters and batch norm's moving statistics as Go
//     tensors; a device backend needs them allocated from Backend.Alloc (an allocator
//     hook in nn), with package checkpoint reading and writing them through CopyOut and
//     CopyIn. Until then the optimizer's p and batch norm's moving statistics are Go
//     memory.
//   - The executor adopts scalar outputs as gorgonia scalars (*gorgonia.F32) that Do
//     allocates in Go memory, and constants (such as the seed 1 of gorgonia.Grad) are Go
//     values: the losses' one-element outputs and the gradient seed must become planned
//     one-element buffers of the backend (with constants copied in once) for a device.
//   - Stock gorgonia ops that the executor runs through Do or UnsafeDo (Stats: Copy,
//     InPlace, Adopt) compute on the host; graphs built from the project's ops have none
//     on the per-step path except the scalar constants above, and a device backend should
//     refuse graphs that do.
//   - The scratch pools and the goroutine split of ops.CPU are CPU-only by nature.
package device
