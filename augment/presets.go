package augment

// KerasShiftFlip is the seed's supervised recipe, the ImageDataGenerator of the Keras CIFAR-10
// ResNet example (width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True,
// fill_mode "nearest"): KerasShift(0.1, 0.1) then HorizontalFlip(0.5), in Keras' order
// (the affine transform before the flip). It works on any number of channels.
func KerasShiftFlip() *Pipeline {
	return mustCompose("keras-shift-flip", KerasShift(0.1, 0.1), HorizontalFlip(0.5))
}

// CIFARCrop is the classic CIFAR supervised recipe of torchvision examples
// (RandomCrop(32, padding=4) and RandomHorizontalFlip()): RandomCrop(4) then
// HorizontalFlip(0.5). It works on any number of channels.
func CIFARCrop() *Pipeline {
	return mustCompose("cifar-crop-flip", RandomCrop(4), HorizontalFlip(0.5))
}
