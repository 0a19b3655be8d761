// Package train compiles models into graphs that run on the project's executor and steps
// them with an optimizer: the loop under pretraining, transfer and the benchmark.
//
// A Graph is built once for a fixed batch shape. Its input and target tensors are bound
// once; a step copies the batch into them, runs the graph (forward and, for a training
// graph, backward), checks the loss and gradients for NaN and Inf, and hands the
// gradients to the optimizer, which updates the parameters in place. Every graph built on
// the same nn.Params sees the new weights at its next run.
package train
