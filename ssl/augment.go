package ssl

// Augmentation transforms a batch of images on raw pixels in [0, 1], before the per-pixel
// mean is subtracted: colour jitter, grayscale and solarize are defined on those values.
// Package augment implements it (augment.Compose and its presets); a caller can write
// their own.
//
// The pipeline applies the augmentation given with the Augment option to every training
// batch of a stage (not to validation or test batches), and a pretext task that makes
// its own views (the contrastive methods) calls one from Prepare with a seed drawn from
// Batch.Rand.
type Augmentation interface {
	// Name identifies the augmentation and its settings ("simclr-32", say): fingerprints
	// and reports record it, so a run is not resumed with another augmentation.
	Name() string
	// Augment writes into dst the n images of src (NCHW, c*h*w values each, in [0, 1])
	// transformed, with the same shape. All randomness derives from seed, and image i's
	// draws depend only on seed and i, so the result does not depend on how many
	// goroutines do the work. dst and src have n*c*h*w values and may be the same slice.
	Augment(dst, src []float32, n, c, h, w int, seed uint64) error
}
