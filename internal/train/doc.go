// Package train compiles models into graphs that run on the project's executor and steps
// them with an optimizer: the loop under pretraining, transfer and the benchmark.
//
// A Graph is built once for a fixed batch shape on a backend (Spec.Backend, the CPU by
// default; see internal/device): its buffers come from the backend's allocator, its ops
// run the backend's kernels. Its input and target tensors are bound once; a step writes
// the batch into them, runs the graph (forward and, for a training graph, backward),
// checks the loss and gradients for NaN and Inf, and hands the gradients to the
// optimizer, which updates the parameters in place with the backend's kernels. Every
// graph built on the same nn.Params sees the new weights at its next run.
//
// # Host traffic
//
// Everything a step computes stays in the backend's memory except what crosses this
// list, which is all a training step moves between host and backend:
//
//   - in: the batch. Input and Targets are the graph's own tensors on the CPU (no copy);
//     on a backend whose memory is not the host's they are host buffers that Run copies
//     in (Backend.CopyIn), once each per run.
//   - out: the losses (TotalLoss, Loss: one scalar each) and one flag, whether every
//     gradient is finite (Backend.AllFinite, a reduction on the backend). The gradients
//     themselves reach the host only when that flag is false, to name the bad value in
//     the error.
//   - out, when the caller asks: Output and Value (a hook, a score, features), copied out
//     (Backend.CopyOut) on a backend whose memory is not the host's; metrics computed
//     from them on the host are the caller's.
//
// Batch norm's moving statistics, the optimizer's moments and the parameters' updates
// never leave the backend. (Today the parameters themselves, nn.Params, are Go memory:
// a backend whose memory is not the host's also needs them allocated in its memory;
// see internal/device.)
package train
