// Package augment implements seeded batch image augmentations on raw pixels, the
// ssl.Augmentation contract: float32 NCHW images with values in [0, 1] (before any mean
// subtraction), transformed into a batch of the same shape.
//
// A Pipeline, made by Compose from Transforms or by a preset, applies its transforms in
// order to every image. Image i draws its randomness from its own PCG source seeded from
// (seed, i), so a batch augments identically on any number of goroutines.
//
// Presets: KerasShiftFlip (the seed's Keras supervised recipe), CIFARCrop (pad-4 crop and
// flip).
package augment
