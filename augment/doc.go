// Package augment implements seeded batch image augmentations on raw pixels: the
// ssl.Augmentation contract, for the supervised recipes and for the views of the
// self-supervised methods. It depends on the standard library only.
//
// # Values
//
// Batches are float32 NCHW (n images of c channels, h rows, w columns, row-major), with
// raw pixel values in [0, 1], before any mean subtraction or normalisation: colour jitter,
// grayscale and solarize are defined on those values, as in torchvision. The output has
// the shape of the input; crops are resized back to the input size.
//
// # Transforms
//
// A Transform is one per-image step, with the semantics of torchvision 0.14's tensor
// transforms (or of Keras' ImageDataGenerator for KerasShift), and a probability where
// torchvision has one:
//
//   - KerasShift(widthFrac, heightFrac): a random real translation, bilinear, edges
//     repeated (Keras' width_shift_range/height_shift_range, fill_mode "nearest");
//   - HorizontalFlip(p);
//   - RandomCrop(pad): zero-pad and crop back at a random offset (CIFAR's pad-4 crop);
//   - RandomResizedCrop(scale, ratio): a random box resized back bilinearly;
//   - ColorJitter(brightness, contrast, saturation, hue, p): the four adjustments in a
//     random order, with probability p;
//   - RandomGrayscale(p), GaussianBlur(kernelSize, sigmaMin, sigmaMax, p),
//     Solarize(threshold, p).
//
// ColorJitter and RandomGrayscale need RGB images (c = 3); the others work on any number of
// channels. Each constructor documents its exact formula. An invalid parameter is reported
// by Compose, naming the transform and the parameter; a batch a transform cannot handle
// (wrong channel count, image smaller than a blur kernel, buffers of the wrong length) is
// an error from Augment. Nothing panics on bad input.
//
// # Sequences and presets
//
// Compose(ts...) builds a Sequence applying the transforms in order; it implements
// ssl.Augmentation, and its Name lists the transforms and their parameters (fingerprints
// record it, so a run is not resumed with another augmentation). The presets reproduce
// published recipes; their doc comments say where each setting comes from:
//
//   - KerasShiftFlip: the seed's Keras recipe (shift 0.1, flip), for supervised training
//     and fine-tuning, given to the ssl pipeline as the augmentation of a stage's training
//     batches;
//   - CIFARCrop: the pad-4 crop and flip of torchvision's CIFAR examples;
//   - SimCLRCIFAR: SimCLR's views at 32 px, also for SimSiam and NNCLR (two views of the
//     same sequence, different seeds);
//   - BYOLCIFAR: BYOL's two asymmetric views at 32 px (the second solarizes);
//   - SimCLRSTL10: the full SimCLR recipe with Gaussian blur at STL-10's 96 px.
//
// # Seeding
//
// Augment(dst, src, n, c, h, w, seed) gives image i its own random source, a PCG
// (math/rand/v2) seeded from (seed, i) by a SplitMix64 mix; the transforms draw from it in
// order. So the output depends only on seed and the pixels: it is bit for bit the same
// whatever the number of goroutines (Augment uses runtime.GOMAXPROCS of them), and image i
// comes out the same in any batch where it is image i. Two views of one batch need two
// different seeds. The random numbers are not torch's: a sequence samples from the same
// distributions as torchvision, not the same values.
//
// Augment reuses per-goroutine scratch buffers between calls (a sync.Pool per sequence),
// so a training loop allocates almost nothing per batch; dst may be src.
//
// # Example
//
//	views := make([]float32, 2*len(batch))   // two views, view-major
//	p := augment.SimCLRCIFAR()
//	if err := p.Augment(views[:len(batch)], batch, n, 3, 32, 32, seed); err != nil { ... }
//	if err := p.Augment(views[len(batch):], batch, n, 3, 32, 32, seed+1); err != nil { ... }
//
// A custom sequence:
//
//	p, err := augment.Compose(
//		augment.RandomCrop(4),
//		augment.HorizontalFlip(0.5),
//		augment.ColorJitter(0.2, 0.2, 0, 0, 0.5),
//	)
package augment
