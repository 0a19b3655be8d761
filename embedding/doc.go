// Package embedding evaluates learned representations without training anything: the
// weighted kNN accuracy by which self-supervised methods are compared, and the collapse
// metric by which a run is watched.
//
// Both work on a Matrix, n embeddings (rows) of dim float32 values, row-major, typically
// the backbone's pooled features of a data set's images. NewMatrix wraps a slice without
// copying it; FromRows copies [][]float32. Values must be finite.
//
// # kNN accuracy
//
// A self-supervised method learns features without labels; the kNN accuracy asks how well
// those features, untouched, separate the classes. NewKNN takes the features of the
// labeled training images (the "feature bank"), Predict classifies each test image by its
// neighbours in the bank, and Accuracy returns the fraction classified correctly. Nothing
// is trained, so it is cheap enough to run after every epoch. The rule is that of
// lightly's benchmarks (knn_predict in lightly.utils.benchmarking, from InstDisc and MoCo):
//
//  1. every row of both sets is L2-normalised: divided by max(‖row‖, 1e-12) as PyTorch's
//     F.normalize does, so a zero row stays zero (and is at similarity 0 from everything);
//  2. the similarity of a test row to a training row is their dot product, the cosine;
//  3. the k most similar training rows vote (k = 200 by default, Neighbors to change; a k
//     above the number of training rows is clamped to it, where PyTorch's topk would fail),
//     each with weight exp(similarity/t) (t = 0.1 by default, Temperature to change) for its
//     class;
//  4. the predicted class is the one with the highest sum of weights.
//
// Ties are broken deterministically, where PyTorch's topk and argsort leave them open: of
// training rows with equal similarity the lower index is nearer (at the k-th place this
// decides which row votes), and of classes with equal sums the lower class wins. The
// similarities are float32 (as in lightly's float32 benchmark), the weights and sums
// float64.
//
// Predict is memory-bounded and parallel: it normalises a transposed copy of the bank once
// (4·n·dim bytes), then each of GOMAXPROCS goroutines (Workers to change) takes 32 test rows
// at a time, multiplies them with chunks of the bank by the project's Sgemm into a small
// buffer (4 MB divided by the dimension: 64 KB at dimension 64), and keeps the k best of
// each row by a partial selection; the full test×train similarity matrix is never built.
// The block shapes depend on the data's sizes only, so the predictions are identical for
// any number of goroutines or BLAS threads. For 50,000 bank rows, 10,000 test rows of
// dimension 64 and k = 200, a full evaluation (NewKNN and Accuracy) took 0.6 s on two cores
// shared with other work (BenchmarkKNN50k), against 1.6 s for PyTorch 1.13 doing the same
// on batches of 512 test rows with two threads (testdata/peer_knn.py).
//
// What the accuracy tells: it measures the structure of the features as they are, with
// cosine similarity, so it rewards representations whose classes are tight, separate
// clusters on the sphere. It is usually lower than a linear probe or fine-tuning on the
// same features, depends on k, t and the bank, and does not always rank methods as a linear
// probe does. Published figures for comparison, lightly's kNN benchmark on CIFAR-10
// (ResNet-18, 200 epochs, batch 512, k = 200, t = 0.1, the 50,000 training images as bank,
// the 10,000 test images evaluated): BYOL 0.868, SimCLR 0.848, MoCo 0.847, Barlow Twins
// 0.819, NNCLR 0.815, SimSiam 0.764 (solo-learn's linear accuracies after 1000 epochs put
// SimSiam, 90.51, close to SimCLR, 90.74). A fully collapsed representation scores the
// frequency of one class: every test row is equally similar to every bank row and gets the
// same prediction.
//
// # Collapse
//
// Methods without negative pairs (SimSiam, BYOL) can collapse: every image maps to the same
// vector, which minimises their loss and is useless. Collapse(m) detects it, following
// SimSiam (Chen and He, 2020) and lightly's SimSiam example: the rows are L2-normalised, the
// unbiased standard deviation of each dimension over the rows is averaged over the
// dimensions and multiplied by sqrt(dim). For rows spread uniformly over the unit sphere each
// dimension has deviation 1/sqrt(dim), so Collapse is about 1 for healthy representations;
// it is about 0 when all rows point the same way. It says nothing about whether the
// representation is useful beyond that; lightly reports the "collapse level"
// max(0, 1-Collapse). Compute it on a batch of at least a few hundred rows (it is NaN for
// fewer than 2).
//
// # Errors
//
// Everything a caller can get wrong (shapes, lengths, labels outside [0, classes),
// non-finite values, invalid options) is an error naming the parameter, index or option;
// nothing panics except Matrix.Row with an index out of range, like a slice.
package embedding
