package selfsup_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"

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

// Example_representations gets the representations out of a pipeline and back from its
// files alone: the pretrained backbone of a checkpoint directory, rebuilt from the file
// (backbone.ForCheckpoint and ssl.LoadEncoder), embeds images exactly as the pipeline's
// encoder does, bit for bit, and the classifier a downstream run saved predicts the labels
// its test pass scored.
func Example_representations() {
	ctx := context.Background()
	unlabeled, _ := datasets.Default(datasets.Train)
	test, _ := datasets.Default(datasets.Test)
	dir, err := os.MkdirTemp("", "selfsup-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pipe := ssl.New(backbone.Must(backbone.ConvNet(backbone.Filters(16, 32))), ssl.Seed(1), ssl.BatchSize(50), ssl.CheckpointDir(dir)).
		Pretrain(pretext.Rotation(), unlabeled, ssl.Epochs(1)).
		Transfer(ssl.FineTune(ssl.Epochs(2)))
	report, err := pipe.Evaluate(ctx, unlabeled, test, folds.Stratified(100))
	if err != nil {
		log.Fatal(err)
	}

	// The pipeline's own encoder (pretraining is read back from dir, not redone).
	enc, err := pipe.Encoder(ctx)
	if err != nil {
		log.Fatal(err)
	}
	want, err := enc.Embed(ctx, test)
	if err != nil {
		log.Fatal(err)
	}

	// A program that has only the file.
	file := filepath.Join(dir, ssl.PretrainedFile)
	net, err := backbone.ForCheckpoint(file)
	if err != nil {
		log.Fatal(err)
	}
	loaded, err := ssl.LoadEncoder(file, net)
	if err != nil {
		log.Fatal(err)
	}
	got, err := loaded.Embed(ctx, test)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("architecture:", net.Name())
	fmt.Println("embeddings:", got.Rows(), "x", got.Dim(), "equal bit for bit:", slices.Equal(got.Data(), want.Data()))

	// The classifier of the SSL+SL run.
	clf, err := ssl.LoadClassifier(filepath.Join(dir, ssl.RunsDir, ssl.ClassifierFile(ssl.MethodSSL, 100, 0)), net)
	if err != nil {
		log.Fatal(err)
	}
	pred, err := clf.Predict(ctx, test)
	if err != nil {
		log.Fatal(err)
	}
	correct := 0
	for i, p := range pred {
		if p == test.Label(i) {
			correct++
		}
	}
	acc := float64(correct) / float64(len(pred))
	fmt.Println("classifier accuracy equals the run's:", acc == report.Runs[0].TestAccuracy)
	// Output:
	// architecture: convnet-16-32
	// embeddings: 1000 x 32 equal bit for bit: true
	// classifier accuracy equals the run's: true
}
