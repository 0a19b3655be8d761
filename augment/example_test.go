package augment_test

import (
	"fmt"

	"github.com/selfsup/selfsup/augment"
)

// Two SimCLR views of a batch of 32×32 RGB images, each drawn with its own seed; then a
// custom pipeline.
func Example() {
	const n, c, h, w = 4, 3, 32, 32
	batch := make([]float32, n*c*h*w) // raw pixels in [0, 1]
	for i := range batch {
		batch[i] = float32(i%256) / 255
	}

	p := augment.SimCLRCIFAR()
	views := make([]float32, 2*len(batch)) // view-major: all first views, then all second
	if err := p.Augment(views[:len(batch)], batch, n, c, h, w, 100); err != nil {
		fmt.Println(err)
		return
	}
	if err := p.Augment(views[len(batch):], batch, n, c, h, w, 101); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name())

	custom, err := augment.Compose(augment.RandomCrop(4), augment.HorizontalFlip(0.5))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(custom.Name())

	_, err = augment.Compose(augment.ColorJitter(0.4, 0.4, 0.4, 0.7, 0.8))
	fmt.Println(err)
	// Output:
	// simclr-cifar: rrc(scale=0.08-1,ratio=0.75-1.33333)+jitter(b=0.4,c=0.4,s=0.4,h=0.1,p=0.8)+gray(p=0.2)+hflip(p=0.5)
	// crop(pad=4)+hflip(p=0.5)
	// augment: ColorJitter: hue = 0.7, want a value in [0, 0.5] (transform 0 of Compose)
}
