// Package optim holds the training internals that do not live in the graph: optimizers
// that update nn.Params in place from gradient slices, learning-rate schedules, and a
// guard against NaN or infinite losses and gradients.
//
// # Optimizers
//
// Adam, SGD and LARS implement Optimizer. A training step hands the optimizer the
// parameters and one gradient slice per parameter, of the same length as its data:
//
//	opt, err := optim.NewAdam() // Keras defaults: beta1 0.9, beta2 0.999, epsilon 1e-7
//	...
//	if err := optim.CheckFinite(step, loss, params, grads); err != nil { return err }
//	if err := opt.Step(sched.LR(epoch, step), params, grads); err != nil { return err }
//
// The update formulas follow Keras (Adam, SGD) and SimCLR (LARS); each type's
// documentation gives its formula and where it differs from PyTorch. Hyper-parameters are
// functional options (Beta1, Momentum, WeightDecay, Exclude, ...); an option that does not
// apply to an optimizer is an error, not silently ignored.
//
// The updates run as kernels of a backend (internal/device; the CPU unless OnBackend
// says otherwise), which also holds the optimizer's state.
//
// Non-trainable parameters (batch-norm moving statistics) are skipped. Step checks all
// lengths before touching anything and its errors name the parameter. After the first
// step a Step allocates nothing. Parameters of more than 32,768 elements are split over
// up to GOMAXPROCS goroutines (at most 8); the result is bit-identical whatever the
// number of cores, because the elementwise updates are independent and LARS' norms are
// summed per fixed block of 32,768 elements, the block sums added in order.
//
// # State tensors
//
// An optimizer's state, for checkpoints and resuming, is State: the iteration count and
// one float32 tensor per slot and trainable parameter, with the parameter's shape, named
//
//	adam/m/<parameter name>         Adam's first moment
//	adam/v/<parameter name>         Adam's second moment
//	sgd/momentum/<parameter name>   SGD's velocity (only with Momentum > 0)
//	lars/momentum/<parameter name>  LARS' velocity
//
// The iteration count is an integer, not a tensor (a float32 holds integers exactly only
// up to 2^24); package checkpoint stores it in the file's metadata.
//
// # Schedules
//
// A Schedule gives the rate for (epoch, step): Constant; Steps, a piecewise-constant
// schedule over epochs, with ResNetCIFAR the one of Keras' ResNet CIFAR-10 example that
// the rotation experiment uses (x0.1 after epoch 80, x0.01 after 120, x0.001 after 160,
// x0.0005 after 180); Cosine, SimCLR's linear warm-up and cosine decay per step; and
// Plateau, Keras' ReduceLROnPlateau, which also implements Observer and learns from the
// metric the training loop passes to Observe after each epoch.
package optim
