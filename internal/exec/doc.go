// Package exec runs a gorgonia expression graph (a model's forward nodes and
// the backward nodes that G.Grad added) again and again with buffers planned
// once, so that a training epoch neither reallocates per step nor grows in
// memory.
//
// Stock gorgonia's TapeMachine must be Reset between runs (without it a second
// RunAll silently returns the first run's values), and Reset drops every
// buffer, so each step allocates the whole graph anew. A Machine instead
// decides in New how every node is computed and where its value lives:
//
//   - Nodes without an op (inputs, parameters) are bound by the caller and
//     read at the start of every Run: rebind them with G.Let, or write into
//     the bound tensor in place. New binds a zero tensor to any that has no
//     value. The machine never writes into them.
//   - Every op node with a tensor output gets a buffer of its shape and
//     dtype: a window of one arena per dtype. Windows overlap only for nodes
//     whose lifetimes do not (liveness over the topological order); they are
//     laid out largest first, each at the lowest offset free for its
//     lifetime, which brings the arena close to the largest set of
//     simultaneously live values (Stats.PeakLiveBytes; within 0.1% on a
//     ResNet56 training step). Kept nodes are never shared, so they can be
//     read after Run.
//   - Ops implementing G.UsePreallocDoer write into their buffer; ops that
//     overwrite an input through G.UnsafeDoer (gorgonia's elementwise unary
//     ops) run in place on their buffer; reshape, G.Iop and ops implementing
//     Viewer are views over their input's memory; any other op runs through
//     Do, which allocates, and its result is copied into the buffer (Stats
//     counts these, and the bytes copied per Run). Ops implementing Slicer
//     are views of a contiguous part of an input (one of several results an
//     op packs into one tensor).
//   - Scalar outputs, constants and random nodes keep what Do returns.
//   - A package may register faster equivalents of ops (RegisterReplacer):
//     the project's ops package swaps gorgonia's elementwise float32 addition,
//     which G.Grad uses to sum the gradients of a node read twice, for its
//     own vectorised, parallel one.
//   - A node whose op implements Fuser and whose value only one node reads
//     (a batch norm or a residual addition followed by a ReLU, an inference
//     convolution followed by its batch norm) is computed by that consumer's
//     step in one pass, through the op FuseInto returns; it has no buffer and
//     no value of its own (Stats counts these as Fused; Keep or NoFusion
//     keeps such a node's value).
//
// A training step is then: bind or overwrite the batch, Run, read the loss
// (Scalar) and the gradients (Float32s or Tensor on the nodes G.Grad
// returned), update the parameters' bound tensors in place; the next Run
// sees the new weights:
//
//	grads, _ := G.Grad(loss, params...)
//	m, err := exec.New(g, exec.Outputs(append([]*G.Node{loss}, grads...)...))
//	for step := range steps {
//		copy(xData, batch(step))           // x's bound tensor, in place
//		if err := m.Run(ctx); err != nil { ... }
//		for i, p := range params {
//			gi, _ := m.Float32s(grads[i])
//			w := p.Value().Data().([]float32)
//			for j := range w {
//				w[j] -= lr * gi[j]
//			}
//		}
//	}
//
// Memory: the planned arenas come from an Allocator (WithAllocator; Go memory by
// default), so that a device runtime (internal/device) places them where its kernels
// run; Close returns them. The machine itself treats a buffer as a handle: it hands
// buffers and views of them (sub-slices) to ops and never reads their elements, except
// where Stats counts host work: Copy and InPlace steps (stock gorgonia ops, which compute
// on the host and whose results or inputs are copied with Go's copy) and Adopt steps
// (scalar outputs and constants, which stay gorgonia values in Go memory). A graph of the
// project's ops has only Prealloc and View steps apart from its scalars (losses, the
// gradient seed): on a backend whose memory is not the host's, those scalars are what
// still needs planning as one-element buffers (see internal/device).
//
// Ops that run under a Machine must not keep pointers to their input or
// output values past their own call: a buffer is reused as soon as the graph
// no longer reads it. Whatever a gradient op needs from the forward pass must
// be an input of that op in the graph. KeepAll disables sharing when in
// doubt.
package exec
