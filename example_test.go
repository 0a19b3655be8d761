package selfsup_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/selfsup/selfsup/backbone"
	"github.com/selfsup/selfsup/datasets"
	"github.com/selfsup/selfsup/folds"
	"github.com/selfsup/selfsup/pretext"
	"github.com/selfsup/selfsup/ssl"
)

// Example runs the whole experiment in miniature on the embedded default data (16x16
// CIFAR-10 images): rotation pretraining of a small conv net on the 5,000 training images
// with their labels ignored, then fine-tuning on 100 labels, compared with the same
// network trained on those labels from random initialisation. The accuracies depend on
// the machine's floating-point summation order, so the example checks what ran and
// writes the table, with the numbers, to standard error.
func Example() {
	unlabeled, err := datasets.Default(datasets.Train)
	if err != nil {
		log.Fatal(err)
	}
	test, err := datasets.Default(datasets.Test)
	if err != nil {
		log.Fatal(err)
	}
	net, err := backbone.ConvNet(backbone.Filters(16, 32))
	if err != nil {
		log.Fatal(err)
	}
	report, err := ssl.New(net, ssl.Seed(1), ssl.BatchSize(50)).
		Pretrain(pretext.Rotation(), unlabeled, ssl.Epochs(1)).
		Transfer(ssl.FineTune(ssl.Epochs(2))).
		CompareSupervised().
		Evaluate(context.Background(), unlabeled, test, folds.Stratified(100))
	if err != nil {
		log.Fatal(err)
	}
	for _, method := range report.Methods {
		s, _ := report.Summary(method, 100)
		fmt.Printf("%s: %d run on %d labels, tested on %d images\n", method, s.Runs, s.NLabels, report.TestImages)
	}
	report.WriteMarkdown(os.Stderr) // the comparison table, with the accuracies
	// Output:
	// SL: 1 run on 100 labels, tested on 1000 images
	// SSL+SL: 1 run on 100 labels, tested on 1000 images
}
