package augment

// KerasShiftFlip is the seed's supervised recipe, the ImageDataGenerator of the Keras CIFAR-10
// ResNet example (width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True,
// fill_mode "nearest"): KerasShift(0.1, 0.1) then HorizontalFlip(0.5), in Keras' order
// (the affine transform before the flip). It works on any number of channels.
func KerasShiftFlip() *Sequence {
	return mustCompose("keras-shift-flip", KerasShift(0.1, 0.1), HorizontalFlip(0.5))
}

// CIFARCrop is the classic CIFAR supervised recipe of torchvision examples
// (RandomCrop(32, padding=4) and RandomHorizontalFlip()): RandomCrop(4) then
// HorizontalFlip(0.5). It works on any number of channels.
func CIFARCrop() *Sequence {
	return mustCompose("cifar-crop-flip", RandomCrop(4), HorizontalFlip(0.5))
}

// standardRatio is torchvision's default aspect-ratio range of RandomResizedCrop, used by
// every recipe here.
var standardRatio = [2]float64{3.0 / 4, 4.0 / 3}

// SimCLRCIFAR is the SimCLR recipe for 32×32 images (CIFAR-10/100), also the one to use for
// SimSiam (and NNCLR) on CIFAR. In order:
//
//   - RandomResizedCrop(scale 0.08–1, ratio 3/4–4/3), back to the input size;
//   - ColorJitter(0.4, 0.4, 0.4, 0.1) with probability 0.8;
//   - RandomGrayscale(0.2);
//   - HorizontalFlip(0.5);
//   - no Gaussian blur.
//
// The colour jitter is SimCLR's colour distortion at strength 0.5, the strength the SimCLR
// paper uses on CIFAR-10 (appendix B.9) and lightly's CIFAR-10 benchmark uses
// (SimCLRTransform(input_size=32, cj_strength=0.5, gaussian_blur=0.0)); it is also
// solo-learn's SimSiam CIFAR configuration (scripts/pretrain/cifar/augmentations/
// symmetric_weak.yaml). solo-learn's SimCLR CIFAR configuration (symmetric.yaml) uses the
// full strength 0.8/0.8/0.8/0.2 instead. Blur: the SimCLR paper and lightly's benchmark
// leave it out at 32 px, as solo-learn's CIFAR scripts did (--gaussian_prob 0.0) before
// its current YAML files set probability 0.5. solo-learn resizes crops bicubically;
// this resizes bilinearly, torchvision's default and lightly's. It needs RGB images.
func SimCLRCIFAR() *Sequence {
	return mustCompose("simclr-cifar",
		RandomResizedCrop([2]float64{0.08, 1}, standardRatio),
		ColorJitter(0.4, 0.4, 0.4, 0.1, 0.8),
		RandomGrayscale(0.2),
		HorizontalFlip(0.5))
}

// BYOLCIFAR is BYOL's pair of asymmetric views for 32×32 images, solo-learn's CIFAR
// configuration (scripts/pretrain/cifar/augmentations/asymmetric.yaml): both views are
//
//   - RandomResizedCrop(scale 0.08–1, ratio 3/4–4/3);
//   - ColorJitter(0.4, 0.4, 0.2, 0.1) with probability 0.8;
//   - RandomGrayscale(0.2);
//   - then, for view2 only, Solarize(0.5) with probability 0.2;
//   - HorizontalFlip(0.5).
//
// BYOL's Gaussian blur (probability 1.0 on the first view, 0.1 on the second) is dropped
// at 32 px, as solo-learn's CIFAR configuration (gaussian_blur prob 0.0) and lightly's
// CIFAR-10 benchmark (gaussian_blur=0.0) do. Apply view1 to one copy of the batch and
// view2 to the other, with different seeds. They need RGB images.
func BYOLCIFAR() (view1, view2 *Sequence) {
	common := func(solarize float64) []Transform {
		ts := []Transform{
			RandomResizedCrop([2]float64{0.08, 1}, standardRatio),
			ColorJitter(0.4, 0.4, 0.2, 0.1, 0.8),
			RandomGrayscale(0.2),
		}
		if solarize > 0 {
			ts = append(ts, Solarize(0.5, solarize))
		}
		return append(ts, HorizontalFlip(0.5))
	}
	return mustCompose("byol-cifar-view1", common(0)...), mustCompose("byol-cifar-view2", common(0.2)...)
}

// SimCLRSTL10 is the SimCLR paper's full recipe (its ImageNet augmentations) at STL-10's
// 96×96 px, which is also lightly's SimCLRTransform with its defaults at input_size=96.
// In order:
//
//   - RandomResizedCrop(scale 0.08–1, ratio 3/4–4/3);
//   - ColorJitter(0.8, 0.8, 0.8, 0.2) with probability 0.8 (strength 1);
//   - RandomGrayscale(0.2);
//   - GaussianBlur with a 9×9 kernel, sigma uniform in [0.1, 2], probability 0.5;
//   - HorizontalFlip(0.5).
//
// The kernel is the SimCLR code's 10% of the image side made odd (96/10 = 9 → radius 4,
// size 2·4+1 = 9). It needs RGB images of at least 5×5 pixels; on images of another size
// the kernel stays 9.
func SimCLRSTL10() *Sequence {
	return mustCompose("simclr-stl10",
		RandomResizedCrop([2]float64{0.08, 1}, standardRatio),
		ColorJitter(0.8, 0.8, 0.8, 0.2, 0.8),
		RandomGrayscale(0.2),
		GaussianBlur(9, 0.1, 2, 0.5),
		HorizontalFlip(0.5))
}
