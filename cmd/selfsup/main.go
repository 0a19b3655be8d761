// Command selfsup runs selfsup's experiments and tools.
//
//	selfsup run [flags]     pretrain on a pretext task, transfer to few labels, compare with supervised training
//	selfsup folds [flags]   write the label-budget splits (stratified k-fold runs) for use elsewhere
//	selfsup bench [flags]   time training and inference steps, optionally beside the PyTorch peer
//
// With no flags, "selfsup run" runs the whole experiment on the small dataset embedded in the
// module (16x16 CIFAR-10, 5,000 training and 1,000 test images) in a few minutes and prints the
// comparison table: test accuracy of SL (supervised from random initialisation) and SSL+SL
// (rotation pretraining, then fine-tuning) for each label budget n_labels. Given --data it runs
// on CIFAR-10, STL-10 or a folder of images. Results go to --out (report.md, report.csv,
// report.json, PNG curves and checkpoints); Ctrl-C stops cleanly, keeping finished runs, and
// "selfsup run --out DIR --resume" continues.
//
// Run "selfsup <command> -h" for a command's flags. A mistyped flag is reported on one line
// with the closest known flags. The exit status is 0 on success, 2 for a mistake in the
// command line (unknown command or flag, bad flag value), 130 after Ctrl-C and 1 for any
// other failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "pretrain, transfer to few labels and compare with supervised training (the main experiment)", runRun},
	{"folds", "write label-budget splits (stratified k-fold runs) as JSON or CSV", runFolds},
	{"bench", "time training and inference steps of a model, optionally beside the PyTorch peer", runBench},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: selfsup <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"selfsup <command> -h\" for a command's flags.")
}

// exitInterrupted is the exit status after Ctrl-C (128 + SIGINT, as a shell reports it).
const exitInterrupted = 130

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		// After the first Ctrl-C, a second one kills the program the default way.
		<-ctx.Done()
		stop()
	}()
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "selfsup:", err)
		os.Exit(exitInterrupted)
	default:
		fmt.Fprintln(os.Stderr, "selfsup:", err)
		os.Exit(exitCode(err))
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return &usageError{fmt.Sprintf("unknown command %q", args[0])}
}
