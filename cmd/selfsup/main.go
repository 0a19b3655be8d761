// Command selfsup runs selfsup's experiments and tools.
//
//	selfsup run [flags]      pretrain on a pretext task, transfer to few labels, compare with supervised training
//	selfsup pretrain [flags] the pretraining stage of a grid run on a cluster scheduler
//	selfsup shard [flags]    one shard of the downstream runs (SLURM array task, Kubernetes Indexed Job)
//	selfsup report [flags]   merge the finished runs of the shards into the report
//	selfsup folds [flags]    write the label-budget splits (stratified k-fold runs) for use elsewhere
//	selfsup bench [flags]    time training and inference steps, optionally beside the PyTorch peer
//
// With no flags, "selfsup run" runs the whole experiment on the small dataset embedded in the
// module (16x16 CIFAR-10, 5,000 training and 1,000 test images) in a few minutes and prints the
// comparison table: test accuracy of SL (supervised from random initialisation) and SSL+SL
// (rotation pretraining, then fine-tuning) for each label budget n_labels. Given --data it runs
// on CIFAR-10, STL-10 or a folder of images. Results go to --out (report.md, report.csv,
// report.json, PNG curves and checkpoints); Ctrl-C (SIGINT) or SIGTERM (sent by timeout,
// Docker, Kubernetes, SLURM) stops cleanly, keeping finished runs and writing the partial
// report, with exit status 130 or 143; a second signal kills the program at once.
// "selfsup run --out DIR --resume" continues.
//
// Run "selfsup <command> -h" for a command's flags. A mistyped flag is reported on one line
// with the closest known flags. The exit status is 0 on success, 2 for a mistake in the
// command line (unknown command or flag, bad flag value), 130 after Ctrl-C, 143 after
// SIGTERM and 1 for any other failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "pretrain, transfer to few labels and compare with supervised training (the main experiment)", runRun},
	{"pretrain", "stage 1 of a grid on a cluster: pretraining only (selfsup run --pretrain-only, continued when re-run)", runPretrain},
	{"shard", "stage 2: one shard of the downstream runs (--shard i/n, SLURM array or Kubernetes Indexed Job index)", runShard},
	{"report", "stage 3: merge the finished runs into the report files and list the missing ones", runReport},
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

func main() {
	ctx, stop := withStopSignals(context.Background())
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	code := exitStatus(ctx, err)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return
	case ctx.Err() != nil && code != 1 && code != exitUsage:
		fmt.Fprintf(os.Stderr, "selfsup: %v (%v)\n", err, context.Cause(ctx))
	default:
		fmt.Fprintln(os.Stderr, "selfsup:", err)
	}
	os.Exit(code)
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
